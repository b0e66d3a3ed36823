//! Report languages: detection from a question, and how each language writes numbers.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::Unit;

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// French.
    Fr,
    /// English.
    En,
}

impl Language {
    /// The ISO 639-1 code (`fr`, `en`).
    pub fn id(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// Guesses the language of a question from the words only one of the two languages uses: grammar words
    /// (« nous », « que », the elided « l' » and « qu' », "we", "than", "did") and the vocabulary of the questions
    /// finops answers (« chiffre d'affaires », "revenue"); a French accent counts too. English on a tie, as for a
    /// question of figures alone ("EBITDA?").
    pub fn detect(question: &str) -> Language {
        const FRENCH: &[&str] = &[
            // Grammar.
            "le",
            "la",
            "les",
            "l",
            "des",
            "du",
            "de",
            "d",
            "au",
            "aux",
            "un",
            "une",
            "est",
            "sont",
            "sommes",
            "suis",
            "sera",
            "serons",
            "etait",
            "avons",
            "avez",
            "ont",
            "notre",
            "nos",
            "votre",
            "vos",
            "mon",
            "ma",
            "mes",
            "leur",
            "leurs",
            "ce",
            "cet",
            "cette",
            "ces",
            "quel",
            "quelle",
            "quels",
            "quelles",
            "que",
            "qu",
            "qui",
            "quoi",
            "comment",
            "pourquoi",
            "combien",
            "nous",
            "vous",
            "il",
            "ils",
            "elle",
            "elles",
            "et",
            "ou",
            "pour",
            "dans",
            "sur",
            "avec",
            "par",
            "entre",
            "depuis",
            "plus",
            "moins",
            "tres",
            "trop",
            "assez",
            "pas",
            "ne",
            "ni",
            "dernier",
            "derniere",
            "derniers",
            "dernieres",
            "precedent",
            "precedente",
            "faut",
            "doit",
            "devons",
            "peut",
            "pouvons",
            "va",
            "vont",
            "se",
            "y",
            "en",
            // What the questions are about.
            "ans",
            "annee",
            "annees",
            "exercice",
            "exercices",
            "analyse",
            "analyser",
            "chiffre",
            "affaires",
            "benefice",
            "benefices",
            "resultat",
            "marge",
            "marges",
            "rentabilite",
            "rentable",
            "rentables",
            "liquidite",
            "endettement",
            "endettes",
            "dette",
            "dettes",
            "tresorerie",
            "croissance",
            "fournisseurs",
            "charges",
            "couts",
            "depenses",
            "capitaux",
            "propres",
            "fonds",
            "roulement",
            "besoin",
            "sante",
            "entreprise",
            "societe",
            "evolution",
            "ventes",
            "interets",
            "actifs",
            "rendement",
            "delai",
            "jours",
            "solvabilite",
            "paient",
            "payons",
        ];
        const ENGLISH: &[&str] = &[
            // Grammar.
            "the",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "being",
            "our",
            "we",
            "us",
            "my",
            "your",
            "their",
            "it",
            "its",
            "this",
            "that",
            "these",
            "those",
            "what",
            "how",
            "why",
            "which",
            "when",
            "where",
            "did",
            "does",
            "do",
            "has",
            "have",
            "had",
            "can",
            "could",
            "should",
            "will",
            "would",
            "than",
            "last",
            "since",
            "over",
            "in",
            "to",
            "for",
            "from",
            "at",
            "by",
            "of",
            "and",
            "or",
            "not",
            "with",
            "much",
            "many",
            "more",
            "less",
            "enough",
            "too",
            "getting",
            "becoming",
            "any",
            "compared",
            "year",
            "years",
            "between",
            // What the questions are about.
            "analyse",
            "analyze",
            "margin",
            "margins",
            "company",
            "health",
            "cash",
            "growth",
            "debt",
            "debts",
            "sales",
            "revenue",
            "profit",
            "profits",
            "profitable",
            "profitability",
            "earnings",
            "income",
            "customers",
            "suppliers",
            "inventory",
            "costs",
            "expenses",
            "equity",
            "assets",
            "working",
            "liquidity",
            "leverage",
            "days",
            "pay",
            "paying",
            "interest",
            "return",
            "turnover",
            "business",
        ];
        let folded = crate::analysis::intent::fold(question);
        let mut fr = 0;
        let mut en = 0;
        for word in folded.split(' ') {
            if FRENCH.contains(&word) {
                fr += 2;
            }
            if ENGLISH.contains(&word) {
                en += 2;
            }
        }
        fr += question
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().any(|c| "éèêàâçùûôîïëœÉÈÊÀÂÇÙÛÔÎÏËŒ".contains(c)))
            .count();
        if fr > en { Language::Fr } else { Language::En }
    }

    /// Writes a number with `dp` decimal places in this language's style: `1,234.56` or `1 234,56`.
    pub fn number(self, value: Decimal, dp: u32) -> String {
        let rounded = value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        let text = format!("{:.*}", dp as usize, rounded.abs());
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let (group, decimal) = match self {
            Language::En => (',', '.'),
            Language::Fr => (' ', ','),
        };
        let mut out = String::with_capacity(text.len() + 8);
        if rounded.is_sign_negative() && !rounded.is_zero() {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(decimal);
            out.push_str(frac);
        }
        out
    }

    /// Writes a figure's value the way a report shows it: amounts with no decimals and the currency, percentages
    /// with two decimals, ratios with two, days with one.
    pub fn value(self, value: Decimal, unit: Unit, currency: &str) -> String {
        match (unit, self) {
            (Unit::Amount, _) => format!("{} {currency}", self.number(value, 0)),
            (Unit::Percent, Language::En) => {
                format!("{}%", self.number(value * Decimal::ONE_HUNDRED, 2))
            }
            (Unit::Percent, Language::Fr) => {
                format!("{} %", self.number(value * Decimal::ONE_HUNDRED, 2))
            }
            (Unit::Ratio, _) => self.number(value, 2),
            (Unit::Days, Language::En) => format!("{} days", self.number(value, 1)),
            (Unit::Days, Language::Fr) => format!("{} jours", self.number(value, 1)),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Language {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "fr-ca" | "fr-fr" | "french" | "français" => Ok(Language::Fr),
            "en" | "en-ca" | "en-us" | "en-gb" | "english" | "anglais" => Ok(Language::En),
            _ => Err(Error::invalid_argument(
                "language",
                format!("unsupported language `{s}`: expected fr or en"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_french_and_english_questions() {
        assert_eq!(
            Language::detect("Analyse la rentabilité du bistro sur trois ans"),
            Language::Fr
        );
        assert_eq!(
            Language::detect("Est-ce que notre trésorerie se resserre ?"),
            Language::Fr
        );
        assert_eq!(
            Language::detect("Is our working capital getting tighter?"),
            Language::En
        );
        assert_eq!(Language::detect("How profitable were we?"), Language::En);
        assert_eq!(Language::detect("???"), Language::En);
    }

    /// Questions with no accent and few of the commonest words: the elided article, the pronouns, the vocabulary
    /// of the books decide.
    #[test]
    fn detects_short_questions_without_accents() {
        for q in [
            "Sommes-nous plus rentables que l'an dernier ?",
            "Nos marges se reduisent-elles ?",
            "Payons-nous nos fournisseurs plus vite qu'avant ?",
            "Le chiffre d'affaires a-t-il baisse en 2022 ?",
            "Nos clients paient-ils plus tard que l'an dernier ?",
            "La croissance ralentit-elle ?",
            "Comment ont evolue nos charges ?",
            "Notre tresorerie fond-elle ?",
            "Marges ?",
            "Combien de temps nos stocks restent-ils en magasin ?",
            "Pouvons-nous rembourser un nouveau pret ?",
            "Faut-il s'inquieter pour la liquidite ?",
            "Quel est le BFR en 2023 ?",
        ] {
            assert_eq!(Language::detect(q), Language::Fr, "{q}");
        }
        for q in [
            "Are we more profitable than last year?",
            "Did net income fall?",
            "Can we take on a new loan?",
            "What's our DSO?",
            "Did sales grow in 2023?",
            "How did costs evolve?",
            "Should we worry about liquidity?",
            "Are customers paying us later than last year?",
            "EBITDA?",
            "Gross margin FY2021 vs FY2023",
            "Is our equity negative?",
            "Are our bank charges rising?",
        ] {
            assert_eq!(Language::detect(q), Language::En, "{q}");
        }
    }

    #[test]
    fn formats_numbers_per_language() {
        let v: Decimal = "-1234567.891".parse().unwrap();
        assert_eq!(Language::En.number(v, 2), "-1,234,567.89");
        assert_eq!(Language::Fr.number(v, 2), "-1 234 567,89");
        assert_eq!(Language::En.number(Decimal::new(5, 1), 0), "1");
        assert_eq!(Language::En.number(Decimal::new(-4, 3), 2), "0.00");
        assert_eq!(
            Language::Fr.value(Decimal::new(6897, 4), Unit::Percent, "CAD"),
            "68,97 %"
        );
        assert_eq!(
            Language::En.value(Decimal::new(6897, 4), Unit::Percent, "CAD"),
            "68.97%"
        );
        assert_eq!(
            Language::Fr.value(Decimal::new(1234, 0), Unit::Amount, "CAD"),
            "1 234 CAD"
        );
    }

    #[test]
    fn parses_language_names_and_refuses_others() {
        assert_eq!("FR".parse::<Language>().unwrap(), Language::Fr);
        assert_eq!("en-CA".parse::<Language>().unwrap(), Language::En);
        let e = "de".parse::<Language>().unwrap_err();
        assert_eq!(e.field(), Some("language"));
    }
}
