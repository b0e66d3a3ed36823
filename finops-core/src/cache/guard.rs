//! The deterministic guard of the semantic tiers. Similarity only proposes a candidate; two questions share an
//! answer only when their signatures are equal: the same intents (the offline analyst's rules), the same metric
//! qualifiers (gross ≠ net ≠ operating margin), the same direction (up ≠ down) and negation, the same periods, the
//! same numbers and the same named entities. Embeddings put "Why did margins go up?" and "…go down?" above 0.9;
//! this guard tells them apart.
//!
//! Every rule errs on the side of a miss: a word the guard does not understand never makes two questions equal.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::analysis::{Intent, intent};

/// What must match for two questions to share an answer or a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// What the question is about.
    pub intents: Vec<Intent>,
    /// Canonical metric and qualifier concepts the question names (`gross`, `net`, `current_ratio`, …).
    pub concepts: BTreeSet<String>,
    /// The catalogue metrics the question names ([`intent::named_metrics`]): the offline memo answers about
    /// them first. Absent from entries stored before it existed, which then match only questions naming none.
    #[serde(default)]
    pub metrics: Vec<crate::metrics::MetricId>,
    /// What a yes/no question asks of a movement ([`intent::asked`]): "is it getting tighter?" and "is it
    /// getting looser?" get opposite answers, and "why did it fall?" none.
    #[serde(default)]
    pub asked: Option<intent::Asked>,
    /// The statement line the question is about when the line itself is its subject ([`intent::subject`], by id:
    /// `cash`, `total_debt`): "how much cash do we have?" and "how much debt do we have?" get different amounts.
    /// Absent from entries stored before it existed, which then match only questions about no line.
    #[serde(default)]
    pub subject: Option<String>,
    /// `up`, `down`, `stable`.
    pub directions: BTreeSet<String>,
    /// Whether the question negates (`not`, `pas`): a negated question never reuses an affirmative one's answer.
    pub negated: bool,
    /// Years, quarters, months, relative periods (`last_year`, `last_3_years`, …).
    pub periods: BTreeSet<String>,
    /// Every number, normalized (`1 234,50` and `1234.5` are the same number).
    pub numbers: BTreeSet<String>,
    /// Capitalized words that are not the first word of a sentence, folded.
    pub entities: BTreeSet<String>,
}

/// Phrases (accent-folded, matched at word starts) and the concept they name; FR and EN meet on one concept.
const CONCEPTS: &[(&str, &str)] = &[
    ("gross", "gross"),
    ("brut", "gross"),
    ("net ", "net"),
    ("nette", "net"),
    ("nets ", "net"),
    ("nettes", "net"),
    ("operating", "operating"),
    ("d exploitation", "operating"),
    ("operationnel", "operating"),
    ("ebitda", "ebitda"),
    ("baiia", "ebitda"),
    ("current ratio", "current_ratio"),
    ("liquidite generale", "current_ratio"),
    ("quick ratio", "quick_ratio"),
    ("acid test", "quick_ratio"),
    ("liquidite immediate", "quick_ratio"),
    ("cash ratio", "cash_ratio"),
    ("ratio de tresorerie", "cash_ratio"),
    ("working capital", "working_capital"),
    ("fonds de roulement", "working_capital"),
    ("debt to equity", "debt_to_equity"),
    ("dette sur capitaux", "debt_to_equity"),
    ("debt to assets", "debt_to_assets"),
    ("dette sur actif", "debt_to_assets"),
    ("interest coverage", "interest_coverage"),
    ("couverture des interets", "interest_coverage"),
    ("tax", "tax"),
    ("impot", "tax"),
    ("return on assets", "roa"),
    ("roa", "roa"),
    ("rendement de l actif", "roa"),
    ("rendement des actifs", "roa"),
    ("return on equity", "roe"),
    ("roe", "roe"),
    ("rendement des capitaux propres", "roe"),
    ("inventor", "inventory"),
    ("stock", "inventory"),
    ("receivable", "receivables"),
    ("comptes clients", "receivables"),
    ("recevable", "receivables"),
    ("dso", "receivables"),
    ("payable", "payables"),
    ("fournisseur", "payables"),
    ("dpo", "payables"),
    ("revenue", "revenue"),
    ("sales", "revenue"),
    ("chiffre d affaires", "revenue"),
    ("ventes", "revenue"),
    ("free cash", "free_cash_flow"),
    ("flux de tresorerie disponible", "free_cash_flow"),
    ("capex", "capex"),
    ("investissement", "capex"),
    ("capital expenditure", "capex"),
    ("asset turnover", "asset_turnover"),
    ("rotation de l actif", "asset_turnover"),
    ("rotation des actifs", "asset_turnover"),
    ("conversion cycle", "cash_conversion_cycle"),
    ("cycle de conversion", "cash_conversion_cycle"),
    ("salaire", "payroll"),
    ("salaries", "payroll"),
    ("payroll", "payroll"),
    ("masse salariale", "payroll"),
    ("rent ", "rent"),
    ("rents ", "rent"),
    ("loyer", "rent"),
    ("cost", "costs"),
    ("cout", "costs"),
    ("charge", "costs"),
    ("expense", "costs"),
    ("depense", "costs"),
    ("budget", "budget"),
    ("forecast", "forecast"),
    ("prevision", "forecast"),
    ("projection", "forecast"),
    ("benchmark", "benchmark"),
    ("industry", "benchmark"),
    ("secteur", "benchmark"),
    ("sector", "benchmark"),
    ("peer", "benchmark"),
    ("concurren", "benchmark"),
    ("competitor", "benchmark"),
    ("dividend", "dividends"),
    ("loan", "loan"),
    ("pret", "loan"),
    ("emprunt", "loan"),
    ("bank", "loan"),
    ("banque", "loan"),
    ("equity", "equity"),
    ("capitaux propres", "equity"),
    ("turnover", "turnover"),
    ("turn over", "turnover"),
    ("rotation", "turnover"),
    ("days", "days"),
    ("jours", "days"),
    ("delai", "days"),
    ("how long", "days"),
    ("combien de temps", "days"),
    ("en combien", "days"),
    ("growth", "growth"),
    ("growing", "growth"),
    ("croissance", "growth"),
    ("croiss", "growth"),
    ("croit", "growth"),
    ("margin", "margin"),
    ("marge", "margin"),
    ("cycle", "cycle"),
    ("coverage", "coverage"),
    ("couverture", "coverage"),
    ("couvr", "coverage"),
    ("cover", "coverage"),
    ("tva", "sales_tax"),
    ("tps", "sales_tax"),
    ("gst", "sales_tax"),
    ("vat", "sales_tax"),
];

const DIRECTIONS: &[(&str, &str)] = &[
    ("up", "up"),
    ("rise", "up"),
    ("rose", "up"),
    ("risen", "up"),
    ("increas", "up"),
    ("grew", "up"),
    ("improv", "up"),
    ("higher", "up"),
    ("better", "up"),
    ("gain", "up"),
    ("hausse", "up"),
    ("augment", "up"),
    ("monte", "up"),
    ("ameliore", "up"),
    ("amelioration", "up"),
    ("meilleur", "up"),
    ("progresse", "up"),
    ("down", "down"),
    ("fall", "down"),
    ("fell", "down"),
    ("drop", "down"),
    ("decreas", "down"),
    ("declin", "down"),
    ("lower", "down"),
    ("worse", "down"),
    ("shrink", "down"),
    ("shrank", "down"),
    ("deteriorat", "down"),
    ("baisse", "down"),
    ("diminu", "down"),
    ("chute", "down"),
    ("recul", "down"),
    ("degrad", "down"),
    ("deterior", "down"),
    ("pire", "down"),
    ("high", "up"),
    ("eleve", "up"),
    ("low", "down"),
    ("faible", "down"),
    ("bas ", "down"),
    ("basse", "down"),
    ("stable", "stable"),
    ("flat", "stable"),
    ("unchanged", "stable"),
    ("inchange", "stable"),
];

/// Whole words that negate (after folding: « n'est » is `n est`).
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "isn", "aren", "wasn", "weren", "didn", "doesn", "don",
    "hasn", "haven", "won", "cannot", "can t", "ne", "n", "pas", "jamais", "sans", "aucun",
    "aucune", "non",
];

const MONTHS: &[(&str, &str)] = &[
    ("january", "m01"),
    ("janvier", "m01"),
    ("february", "m02"),
    ("fevrier", "m02"),
    ("march", "m03"),
    ("mars", "m03"),
    ("april", "m04"),
    ("avril", "m04"),
    ("may", "m05"),
    ("mai", "m05"),
    ("june", "m06"),
    ("juin", "m06"),
    ("july", "m07"),
    ("juillet", "m07"),
    ("august", "m08"),
    ("aout", "m08"),
    ("september", "m09"),
    ("septembre", "m09"),
    ("october", "m10"),
    ("octobre", "m10"),
    ("november", "m11"),
    ("novembre", "m11"),
    ("december", "m12"),
    ("decembre", "m12"),
];

/// Relative periods, matched as phrases in the folded text.
const RELATIVE: &[(&str, &str)] = &[
    ("last year", "last_year"),
    ("previous year", "last_year"),
    ("prior year", "last_year"),
    ("l an dernier", "last_year"),
    ("l annee derniere", "last_year"),
    ("annee precedente", "last_year"),
    ("exercice precedent", "last_year"),
    ("this year", "this_year"),
    ("cette annee", "this_year"),
    ("current year", "this_year"),
    ("annee en cours", "this_year"),
    ("exercice en cours", "this_year"),
    ("next year", "next_year"),
    ("l an prochain", "next_year"),
    ("annee prochaine", "next_year"),
    ("ytd", "ytd"),
    ("year to date", "ytd"),
    ("depuis le debut de l annee", "ytd"),
    ("quarter", "quarter"),
    ("trimestre", "quarter"),
    ("month", "month"),
    ("mois", "month"),
    ("semester", "half"),
    ("semestre", "half"),
    ("half year", "half"),
];

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("one", "1"),
    ("un", "1"),
    ("une", "1"),
    ("two", "2"),
    ("deux", "2"),
    ("three", "3"),
    ("trois", "3"),
    ("four", "4"),
    ("quatre", "4"),
    ("five", "5"),
    ("cinq", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("sept", "7"),
    ("eight", "8"),
    ("huit", "8"),
    ("nine", "9"),
    ("neuf", "9"),
    ("ten", "10"),
    ("dix", "10"),
    ("first", "first"),
    ("premier", "first"),
    ("premiere", "first"),
    ("second", "second"),
    ("deuxieme", "second"),
    ("third", "third"),
    ("troisieme", "third"),
    ("fourth", "fourth"),
    ("quatrieme", "fourth"),
    ("half", "half"),
    ("moitie", "half"),
    ("double", "double"),
    ("twice", "double"),
    ("percent", "%"),
    ("pourcent", "%"),
    ("pour cent", "%"),
];

/// Metric acronyms written in capitals that are concepts, not named entities.
const ACRONYMS: &[&str] = &[
    "roe", "roa", "ebitda", "baiia", "dso", "dpo", "dio", "tva", "tps", "tvq", "gst", "hst", "vat",
    "capex", "ytd", "cpa", "i", "q1", "q2", "q3", "q4", "t1", "t2", "t3", "t4",
];

/// The concepts of the phrases found in ` folded text `: at a word start, or as whole words with `whole`.
fn phrase_hits(padded: &str, table: &[(&str, &str)], whole: bool) -> BTreeSet<String> {
    table
        .iter()
        .filter(|(phrase, _)| {
            if whole {
                padded.contains(&format!(" {phrase} "))
            } else {
                padded.contains(&format!(" {phrase}"))
            }
        })
        .map(|(_, concept)| (*concept).to_string())
        .collect()
}

/// A number as written (`1 234,50`, `1,234.5`, `12.5`, `12,5`) → its canonical decimal text (`1234.5`).
fn canonical_number(raw: &str) -> String {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    // The last separator followed by 1–2 digits (or by ≠ 3 digits) is the decimal point; others group thousands.
    let last = digits.rfind([',', '.']);
    let (int, frac) = match last {
        Some(at) if digits.len() - at - 1 != 3 => (&digits[..at], &digits[at + 1..]),
        _ => (digits.as_str(), ""),
    };
    let int: String = int.chars().filter(char::is_ascii_digit).collect();
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

fn numbers(question: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = question.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || ((chars[i] == ','
                        || chars[i] == '.'
                        || chars[i] == ' '
                        || chars[i] == '\u{a0}'
                        || chars[i] == '\u{202f}')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            let raw: String = chars[start..i].iter().collect();
            let mut n = canonical_number(&raw);
            // A scale word or sign right after changes the number: 5 k$ ≠ 5 $, 5 % ≠ 5.
            let rest: String = chars[i..]
                .iter()
                .take(12)
                .collect::<String>()
                .to_lowercase();
            let rest = rest.trim_start();
            for (prefix, mark) in [
                ("%", "%"),
                ("k", "k"),
                ("m$", "m"),
                ("m ", "m"),
                ("million", "m"),
                ("milliard", "b"),
                ("billion", "b"),
                ("pt", "pt"),
                ("point", "pt"),
            ] {
                if rest.starts_with(prefix) {
                    n.push_str(mark);
                    break;
                }
            }
            out.insert(n);
        } else {
            i += 1;
        }
    }
    out
}

fn entities(question: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut sentence_start = true;
    for raw in question.split_whitespace() {
        let word: String = raw.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
        // « l'Outaouais »: the capital after an elided article still names something.
        let word = match word.split_once(['\'', '’']) {
            Some((_, rest)) if !rest.is_empty() => rest.to_string(),
            _ => word,
        };
        let capital = word.chars().next().is_some_and(char::is_uppercase);
        let folded = intent::fold(&word);
        if capital && !sentence_start && !folded.is_empty() && !ACRONYMS.contains(&folded.as_str())
        {
            out.insert(folded);
        }
        sentence_start = raw.ends_with(['.', '?', '!', ':']);
    }
    out
}

impl Signature {
    /// The signature of a question.
    pub fn of(question: &str) -> Signature {
        let folded = intent::fold(question);
        let padded = format!(" {folded} ");
        let words: BTreeSet<&str> = folded.split(' ').collect();
        let mut periods = phrase_hits(&padded, RELATIVE, true);
        periods.extend(phrase_hits(&padded, MONTHS, true));
        for w in &words {
            let years = w.len() == 4 && (w.starts_with("19") || w.starts_with("20"));
            let quarter = w.len() == 2
                && (w.starts_with('q') || w.starts_with('t'))
                && w[1..].parse::<u8>().is_ok_and(|n| (1..=4).contains(&n));
            let fiscal = w.len() >= 4
                && (w.starts_with("fy") || w.starts_with("ex"))
                && w[2..].chars().all(|c| c.is_ascii_digit());
            if (years && w.chars().all(|c| c.is_ascii_digit())) || fiscal {
                periods.insert(format!("y{}", &w[w.len() - 2..]));
            } else if quarter {
                periods.insert(format!("q{}", &w[1..]));
            }
        }
        let mut number_words = phrase_hits(&padded, NUMBER_WORDS, true);
        // Articles (« un », "one") read as numbers only next to a period unit; elsewhere they are grammar.
        if ![
            "year",
            " ans",
            " an ",
            "annee",
            "exercice",
            "period",
            "quarter",
            "trimestre",
            "mois",
            "month",
        ]
        .iter()
        .any(|u| padded.contains(u))
        {
            number_words.remove("1");
        }
        let mut numbers = numbers(question);
        numbers.extend(number_words);
        // Read once: the line the question is about is read from the same metrics and yes/no.
        let cues = intent::cues(question);
        let subject = intent::subject_of(question, &cues).map(|s| s.id().to_string());
        Signature {
            intents: intent::intents(question),
            concepts: phrase_hits(&padded, CONCEPTS, false),
            metrics: cues.metrics,
            asked: cues.asked,
            subject,
            directions: phrase_hits(&padded, DIRECTIONS, false),
            negated: NEGATIONS.iter().any(|n| padded.contains(&format!(" {n} "))),
            periods,
            numbers,
            entities: entities(question),
        }
    }

    /// Whether an answer to `self`'s question may answer `other`'s: every part equal.
    pub fn allows(&self, other: &Signature) -> bool {
        self == other
    }

    /// The first part that differs, for logs and tests.
    pub fn difference(&self, other: &Signature) -> Option<&'static str> {
        if self.intents != other.intents {
            Some("intent")
        } else if self.concepts != other.concepts
            || self.metrics != other.metrics
            || self.subject != other.subject
        {
            Some("metric")
        } else if self.directions != other.directions || self.asked != other.asked {
            Some("direction")
        } else if self.negated != other.negated {
            Some("negation")
        } else if self.periods != other.periods {
            Some("period")
        } else if self.numbers != other.numbers {
            Some("number")
        } else if self.entities != other.entities {
            Some("entity")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(canonical_number("1 234,50"), "1234.5");
        assert_eq!(canonical_number("1,234.50"), "1234.5");
        assert_eq!(canonical_number("1,234"), "1234");
        assert_eq!(canonical_number("12,5"), "12.5");
        assert_eq!(canonical_number("007"), "7");
        assert_eq!(
            numbers("Le seuil est de 50 000 $ ou 12,5 % et 5 k$"),
            ["50000", "12.5%", "5k"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
    }

    #[test]
    fn paraphrases_match_and_near_misses_do_not() {
        let a = Signature::of("Why did our gross margin go up in 2024?");
        let b = Signature::of("Why did the gross margin go up in 2024 ?");
        assert_eq!(a.difference(&b), None);
        let down = Signature::of("Why did our gross margin go down in 2024?");
        assert_eq!(a.difference(&down), Some("direction"));
        let net = Signature::of("Why did our net margin go up in 2024?");
        assert_eq!(a.difference(&net), Some("metric"));
        let year = Signature::of("Why did our gross margin go up in 2023?");
        assert_eq!(a.difference(&year), Some("period"));
        let not = Signature::of("Is the company not profitable?");
        let yes = Signature::of("Is the company profitable?");
        // Negated, the question asks no sign of net margin, which the affirmative one does: never shared.
        assert!(not.difference(&yes).is_some());
        assert_eq!(
            not.difference(&Signature::of("Is the company not profitable?")),
            None
        );
        let mtl = Signature::of("How profitable is the Montréal branch?");
        let qc = Signature::of("How profitable is the Québec branch?");
        assert_eq!(mtl.difference(&qc), Some("entity"));
    }
}
