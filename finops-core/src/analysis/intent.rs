//! The offline analyst's deterministic rules: what a French or English question is about, and which periods it
//! names. The same rules later guard the caches (two questions share an answer only if their rules agree).

use super::{AnalysisPlan, Comparison, Intent, Language};
use crate::metrics::MetricId;
use crate::statements::{Period, Statements};

mod phrases;
#[cfg(test)]
mod tests;
use phrases::{
    BETTER_WORDS, CUSTOMER_WORDS, DOWN_WORDS, MARGIN_QUALIFIERS, MARGIN_WORDS, METRIC_PHRASES,
    NOT_YES_NO, PAY_WORDS, THAN_BEFORE, UP_WORDS, WORSE_WORDS,
};

/// Lower-case, accents removed (Unicode decomposition, combining marks dropped), apostrophes and punctuation
/// turned into spaces, whitespace collapsed.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    let letters = text
        .chars()
        .flat_map(char::to_lowercase)
        .flat_map(|c| match c {
            // Ligatures that do not decompose.
            'œ' => ['o', 'e'].into_iter().take(2),
            'æ' => ['a', 'e'].into_iter().take(2),
            c => [c, ' '].into_iter().take(1),
        })
        .nfd()
        .filter(|c| !is_combining_mark(*c));
    for c in letters {
        let c = if c.is_alphanumeric() { c } else { ' ' };
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Key phrases per intent, accent-folded. A phrase matches at a word start (`rentab` matches `rentabilite`).
const RULES: &[(Intent, &[&str])] = &[
    // Borrowing, read before anything else: a Quebec « marge de crédit » is a line of credit, not a margin.
    (
        Intent::Solvency,
        &[
            "marge de credit",
            "marges de credit",
            "ligne de credit",
            "lignes de credit",
            "line of credit",
            "lines of credit",
            "credit line",
            "credit facilit",
        ],
    ),
    (
        Intent::CashFlow,
        &[
            "cash flow",
            "cashflow",
            "flux de tresorerie",
            "flux monetaire",
            "free cash",
            "capex",
            "capital expenditure",
            "investissements",
            "liquidites generees",
            "autofinancement",
        ],
    ),
    (
        Intent::Profitability,
        &[
            "rentab",
            "profit",
            "marge",
            "margin",
            "benefice",
            "earning",
            "rendement",
            "return on",
            "roe",
            "roa",
            "ebitda",
            "baiia",
            "net income",
            "resultat net",
            "perte",
            "loss",
            "gagn",
            "perd",
            "make money",
            "making money",
            "lose money",
            "loses money",
            "losing money",
            "lost money",
        ],
    ),
    (
        Intent::Liquidity,
        &[
            "liquid",
            "working capital",
            "fonds de roulement",
            "current ratio",
            "quick ratio",
            "court terme",
            "short term",
            "tresorerie",
            "pay bills",
            "payer factures",
            "solvabilite court",
            "cash position",
            "cash",
            "encaisse",
            "runway",
        ],
    ),
    (
        Intent::Solvency,
        &[
            "debt",
            "indebted",
            "dette",
            "endett",
            "leverage",
            "levier",
            "solvab",
            "solvency",
            "solvent",
            "insolv",
            "bankrupt",
            "faillite",
            "going concern",
            "continuite d exploitation",
            "interest coverage",
            "couverture de interets",
            "emprunt",
            "borrow",
            "loan",
            "lender",
            "repay",
            "pay back",
            "rembours",
            "pret ",
            "prets ",
            "gearing",
            "capitaux propres negatifs",
            "negative equity",
        ],
    ),
    (
        Intent::Efficiency,
        &[
            "efficien",
            "efficac",
            "turnover",
            "rotation",
            "inventor",
            "stock",
            "receivable",
            "recevable",
            "comptes clients",
            "payable",
            "fournisseur",
            "recouvrement",
            "conversion cycle",
            "cycle de conversion",
            "dso",
            "dpo",
            "collect",
        ],
    ),
    (
        Intent::Growth,
        &["croissance", "grow", "chiffre d affaires", "sales increase"],
    ),
    (
        Intent::HealthCheck,
        &[
            "health",
            "sante",
            "overall",
            "global",
            "diagnostic",
            "overview",
            "vue d ensemble",
            "how are we doing",
            "how is company doing",
            "bilan de sante",
            "portrait",
        ],
    ),
];

/// Words of change, accent-folded: a question about growth when it names no other topic ("is it going up?"), only
/// a direction when it does ("l'évolution du fonds de roulement" is about working capital, not revenue growth).
const TREND_WORDS: &[&str] = &[
    "augment", "hausse", "evolu", "trend", "tendance", "progress", "declin", "baisse", "increas",
    "decreas", "diminu",
];

/// The intents a question expresses, in [`Intent`] order; a question with none is a health check.
pub fn intents(question: &str) -> Vec<Intent> {
    let found = named(question);
    if found.is_empty() || found.contains(&Intent::HealthCheck) {
        return vec![Intent::HealthCheck];
    }
    found
}

/// Whether the question names a topic these rules know (a health check asked for counts); when it does not
/// ("what is the weather tomorrow?"), [`intents`] falls back to a health check, and the memo says so.
pub fn recognises(question: &str) -> bool {
    !named(question).is_empty()
}

/// Whether `phrase` occurs in `text` (folded, padded with spaces) right after a space.
fn at_word_start(text: &str, phrase: &str) -> bool {
    phrase_at(text, phrase, false, 0).is_some()
}

/// Where `needle` first occurs in `text` at a word start, from byte `from` on (and, when `whole`, ending a word).
/// A byte scan: the rules try some 400 phrases on a short question, and building a substring searcher for each
/// cost more than the scan.
fn phrase_at(text: &str, needle: &str, whole: bool, from: usize) -> Option<usize> {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    let &first = n.first()?;
    // After a space, so `i` is a character boundary.
    (from.max(1)..t.len()).find(|&i| {
        t[i] == first
            && t[i - 1] == b' '
            && t[i..].starts_with(n)
            && (!whole || t.get(i + n.len()) == Some(&b' '))
    })
}

/// Takes every occurrence of `phrase` out of `text` (folded, padded with spaces), to the end of the word it ends
/// in, or, for a phrase ending in a space, only where it ends a word. Whether it occurred.
fn take(text: &mut String, phrase: &str) -> bool {
    let whole = phrase.ends_with(' ');
    let needle = phrase.trim_end();
    let mut found = false;
    let mut from = 0;
    while let Some(at) = phrase_at(text, needle, whole, from) {
        let after = at + needle.len();
        // The text ends with a space, so the word ends before it.
        let end = text[after..].find(' ').map_or(text.len(), |e| after + e);
        // The space before the phrase goes with it; the one after stays.
        text.replace_range(at - 1..end, "");
        found = true;
        from = at - 1;
    }
    found
}

/// Words that only point at a noun: articles and possessives. The rules read a question without them, so "return
/// on our assets", « le rendement de nos actifs » and « rendement des actifs » read alike; « des » and « du » read
/// as « de ».
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "our", "their", "its", "my", "your", "his", "her", "le", "la", "les", "l",
    "un", "une", "au", "aux", "nos", "notre", "vos", "votre", "leur", "leurs", "ses", "sa", "son",
    "mes", "ma", "mon",
];

/// A folded text without its determiners ([`DETERMINERS`]), padded with a space at each end: what the topic
/// rules and the metric phrases are matched against (and how their phrases are written).
fn plain(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        let word = match word {
            "des" | "du" => "de",
            w if DETERMINERS.contains(&w) => continue,
            w => w,
        };
        out.push_str(word);
        out.push(' ');
    }
    out
}

/// The catalogue metrics a question names ("our gross margin", « nos clients paient-ils plus lentement ? », "the
/// BFR"), in catalogue order. The offline memo answers about them first, and two questions share a cached answer
/// only if they name the same ones.
pub fn named_metrics(question: &str) -> Vec<MetricId> {
    let mut text = plain(&fold(question));
    take_metrics(&mut text)
}

/// What a yes/no question asks of a movement: whether it is bad news ("is working capital getting tighter?"),
/// good news, a rise or a fall ("did sales grow?").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asked {
    /// "Tighter", "worse", « se dégrade », "slower".
    Worse,
    /// "Better", "improving", « s'améliore », "faster".
    Better,
    /// "Rise", "grow", « hausse ».
    Up,
    /// "Fall", "decline", « baisse ».
    Down,
}

/// What the offline memo's direct answer takes from the question besides its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cues {
    /// The catalogue metrics it names ([`named_metrics`]): the answer speaks of them first.
    pub metrics: Vec<MetricId>,
    /// What it asks of a movement, if it is a yes/no question about one ([`asked`]): the answer starts with
    /// "Yes." or "No." when its figures agree.
    pub asked: Option<Asked>,
}

/// The metrics a question names and what it asks of their movement.
pub fn cues(question: &str) -> Cues {
    Cues {
        metrics: named_metrics(question),
        asked: asked(question),
    }
}

/// What a yes/no question asks of a movement: one kind of movement word ("is our working capital getting
/// tighter?", « nos clients paient-ils plus lentement ? », "did sales grow?"), and nothing that makes it another
/// kind of question (why or how much, what to do, a negation). `None` otherwise, and for two kinds at once.
pub fn asked(question: &str) -> Option<Asked> {
    let mut text = format!(" {} ", fold(question));
    let mut against_past = false;
    for past in THAN_BEFORE {
        while let Some(at) = phrase_at(&text, past, true, 0) {
            text.replace_range(at..at + past.len(), "");
            against_past = true;
        }
    }
    // "Higher than it was in 2021": against a year it names, not the planned periods' movement.
    if against_past && text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let folded = text.trim().to_string();
    // French compares with "que" ("plus élevé que l'an dernier"); "est-ce que" only asks.
    let comparative = text
        .replace(" est ce que ", " ")
        .replace(" est ce qu ", " ");
    if folded.split(' ').any(|w| NOT_YES_NO.contains(&w))
        || comparative.contains(" que ")
        || comparative.contains(" qu ")
        || asks_for_peers(question)
    {
        return None;
    }
    let kinds = [
        (Asked::Worse, WORSE_WORDS),
        (Asked::Better, BETTER_WORDS),
        (Asked::Up, UP_WORDS),
        (Asked::Down, DOWN_WORDS),
    ];
    let mut found = kinds
        .iter()
        .filter(|(_, words)| words.iter().any(|w| at_word_start(&text, w)))
        .map(|(kind, _)| *kind);
    let first = found.next()?;
    // "Better" and "up" together, or "worse" and "down", read as two kinds; one answer cannot serve both.
    found.next().is_none().then_some(first)
}

/// [`named_metrics`] on a folded, space-padded text, taking the phrases out of it.
fn take_metrics(text: &mut String) -> Vec<MetricId> {
    let margin = text.split(' ').any(|w| MARGIN_WORDS.contains(&w));
    let mut found = Vec::new();
    for (metrics, phrases) in METRIC_PHRASES {
        for phrase in *phrases {
            if take(text, phrase) {
                for m in *metrics {
                    if !found.contains(m) {
                        found.push(*m);
                    }
                }
            }
        }
    }
    let words: Vec<&str> = text.split(' ').collect();
    // A margin's qualifier apart from its word ("gross and net margins").
    if margin {
        for (word, m) in MARGIN_QUALIFIERS {
            if words.contains(word) && !found.contains(m) {
                found.push(*m);
            }
        }
    }
    // Customers and paying in one question, however far apart ("how many days do customers take to pay?").
    if words.iter().any(|w| CUSTOMER_WORDS.contains(w))
        && words.iter().any(|w| PAY_WORDS.contains(w))
        && !found.contains(&MetricId::DaysSalesOutstanding)
    {
        found.push(MetricId::DaysSalesOutstanding);
    }
    found.sort();
    found
}

/// The intents whose phrases the question contains, in [`Intent`] order, then growth for a question whose only
/// topic is a change. A metric the question names brings its family's intent, and its words are not read again
/// ("cash conversion cycle" is efficiency, not also cash; « flux de trésorerie disponible » is cash flow, not also
/// liquidity).
fn named(question: &str) -> Vec<Intent> {
    let mut text = plain(&fold(question));
    let mut found: Vec<Intent> = Vec::new();
    for m in take_metrics(&mut text) {
        if let Some(intent) = Intent::ALL
            .iter()
            .find(|i| i.category() == Some(m.category()))
            && !found.contains(intent)
        {
            found.push(*intent);
        }
    }
    for (intent, phrases) in RULES {
        for phrase in *phrases {
            // A cash-flow phrase must not also count as liquidity ("flux de trésorerie").
            if take(&mut text, phrase) && !found.contains(intent) {
                found.push(*intent);
            }
        }
    }
    if found.is_empty() && TREND_WORDS.iter().any(|w| at_word_start(&text, w)) {
        found.push(Intent::Growth);
    }
    found.sort();
    found
}

/// The catalogue metrics for a set of intents, in catalogue order.
pub fn metrics_for(intents: &[Intent]) -> Vec<MetricId> {
    MetricId::ALL
        .iter()
        .copied()
        .filter(|m| {
            intents
                .iter()
                .any(|i| i.category().is_none_or(|c| c == m.category()))
        })
        .collect()
}

const NUMBER_WORDS: &[(&str, usize)] = &[
    ("two", 2),
    ("deux", 2),
    ("three", 3),
    ("trois", 3),
    ("four", 4),
    ("quatre", 4),
    ("five", 5),
    ("cinq", 5),
];

/// Phrases that name the latest year of the statements (accent-folded): statements are history, so "this year"
/// and "last year" are both the latest period a document holds.
const LATEST_YEAR_WORDS: &[&str] = &[
    "last year",
    "this year",
    "past year",
    "latest year",
    "most recent year",
    "current year",
    "previous year",
    "prior year",
    "year over year",
    "year on year",
    "yoy",
    "l an dernier",
    "l annee derniere",
    "l an passe",
    "l annee passee",
    "cette annee",
    "annee en cours",
    "annee precedente",
    "dernier exercice",
    "exercice precedent",
    "exercice ecoule",
    "exercice en cours",
    "sur un an",
    "d une annee sur l autre",
];

/// The periods a question is about (labels, oldest first): the labels or years it names, its last N years, the
/// latest year ("last year", « l'an dernier ») with the one before it, or by default the latest three. A single period brings its previous consecutive period for comparison.
pub fn periods(question: &str, statements: &Statements) -> Vec<String> {
    let folded = fold(question);
    let words: Vec<&str> = folded.split(' ').collect();
    let all = statements.periods();
    let mut chosen: Vec<usize> = (0..all.len())
        .filter(|&i| {
            let label = fold(&all[i].label);
            let year = all[i].end.format("%Y").to_string();
            (!label.is_empty() && format!(" {folded} ").contains(&format!(" {label} ")))
                || words.contains(&year.as_str())
        })
        .collect();
    match chosen.as_slice() {
        // "Since 2021", « depuis 2022 », "2021 onwards": from that period to the latest.
        [one] if words.iter().any(|w| SINCE_WORDS.contains(w)) => {
            chosen = (*one..all.len()).collect();
        }
        // "From 2021 to 2023", « de 2021 à 2023 », "between FY2021 and FY2023": every period in between too, so a
        // turn in the middle is seen ("FY2021 vs FY2023" compares the two ends only).
        [first, .., last] if names_a_range(&words, &all[*first]) => {
            chosen = (*first..=*last).collect();
        }
        _ => {}
    }
    if chosen.is_empty() {
        let last_n = words.windows(2).find_map(|w| {
            let unit = matches!(
                w[1],
                "years" | "ans" | "annees" | "exercices" | "periods" | "periodes"
            );
            let n = w[0].parse::<usize>().ok().or_else(|| {
                NUMBER_WORDS
                    .iter()
                    .find(|(word, _)| *word == w[0])
                    .map(|(_, n)| *n)
            });
            if unit { n } else { None }
        });
        // "Last year", « l'an dernier », "year over year": the latest period, with the one before it.
        let padded = format!(" {folded} ");
        let latest = last_n.is_none()
            && LATEST_YEAR_WORDS.iter().any(|p| {
                padded.match_indices(p).any(|(i, _)| {
                    padded[..i].ends_with(' ') && padded[i + p.len()..].starts_with(' ')
                })
            });
        let n = if latest { 1 } else { last_n.unwrap_or(3) }.clamp(1, all.len().max(1));
        chosen = (all.len().saturating_sub(n)..all.len()).collect();
    }
    if chosen.len() == 1
        && let Some(prev) = statements.previous_consecutive(chosen[0])
        && let Some(idx) = statements.period_index(&prev.label)
    {
        chosen.insert(0, idx);
    }
    chosen.iter().map(|&i| all[i].label.to_string()).collect()
}

/// Words that make one period named the start of a run to the latest ("since 2021", « à partir de 2022 »).
const SINCE_WORDS: &[&str] = &[
    "since", "depuis", "partir", "starting", "onward", "onwards", "from",
];

/// Words that join two periods into a range, right after the first ("2021 to 2023", « 2021 à 2023 », « 2021
/// jusqu'en 2023 »), and words that make any two named periods one ("between", « entre »).
const RANGE_AFTER: &[&str] = &["to", "a", "au", "through", "thru", "until", "till", "jusqu"];
const RANGE_WORDS: &[&str] = &["between", "entre"];

/// Whether the question names a range that starts at `first` (the earliest period it names), rather than two
/// periods to compare.
fn names_a_range(words: &[&str], first: &Period) -> bool {
    let label = fold(&first.label);
    let year = first.end.format("%Y").to_string();
    let at = words.iter().position(|w| *w == label || *w == year);
    words.iter().any(|w| RANGE_WORDS.contains(w))
        || at
            .and_then(|i| words.get(i + 1))
            .is_some_and(|w| RANGE_AFTER.contains(w))
}

/// The offline analyst's plan for a question.
pub fn plan(question: &str, statements: &Statements, language: Language) -> AnalysisPlan {
    let intents = intents(question);
    let metrics = metrics_for(&intents);
    let periods = periods(question, statements);
    let comparisons = comparisons(&metrics, &periods);
    AnalysisPlan {
        intents,
        metrics,
        periods,
        comparisons,
        language,
        benchmark: asks_for_peers(question),
    }
}

/// Words that ask for peers by themselves (accent-folded, matched at a word start).
const PEER_WORDS: &[&str] = &[
    "peer",
    "benchmark",
    "quartile",
    "percentile",
    "centile",
    "competitor",
    "concurrent",
    "pairs",
];

/// Words of comparison, and of others, that together ask for peers ("how does our margin compare with the
/// firm's other restaurants", « comment se situe notre marge par rapport aux autres restaurants »).
const COMPARE_WORDS: &[&str] = &[
    "compar",
    "than",
    "better",
    "worse",
    "meilleur",
    "pire",
    "superieur",
    "inferieur",
    "versus",
    "vs",
    "relative to",
    "against",
    "rank",
    "stack up",
    "stand",
    "par rapport",
    "se situe",
    "se situent",
    "se classe",
    "position",
    "face aux",
];
const OTHERS_WORDS: &[&str] = &[
    "others",
    "sector",
    "industry",
    "similar",
    "portfolio",
    "the firm",
    "our firm",
    "secteur",
    "industrie",
    "similaires",
    "comparables",
    "cabinet",
    "portefeuille",
    "moyenne",
    "average",
];

/// Words after "other" / "autres" that name a line or a time, not other companies ("other income", « autres
/// charges »).
const NOT_OTHERS: &[&str] = &[
    "income",
    "current",
    "non",
    "liabilities",
    "assets",
    "expenses",
    "expense",
    "revenue",
    "revenues",
    "year",
    "years",
    "period",
    "periods",
    "produits",
    "charges",
    "actifs",
    "passifs",
    "annees",
    "exercices",
    "periodes",
    "revenus",
    "elements",
    "postes",
];

/// Whether a question asks how the company compares with the firm's other clients ("how does our margin compare
/// with other restaurants?", « par rapport aux autres clients du cabinet »): a peer word, or a comparison word
/// together with others (other companies, the sector, the firm's portfolio). "Other income" is a line, not a peer.
pub fn asks_for_peers(question: &str) -> bool {
    let folded = fold(question);
    let text = format!(" {folded} ");
    let has = |phrases: &[&str]| phrases.iter().any(|p| at_word_start(&text, p));
    if has(PEER_WORDS) {
        return true;
    }
    let words: Vec<&str> = folded.split(' ').collect();
    let other_companies = words
        .windows(2)
        .any(|w| matches!(w[0], "other" | "autres" | "autre") && !NOT_OTHERS.contains(&w[1]))
        || matches!(words.last(), Some(&"other" | &"autres"));
    has(COMPARE_WORDS) && (other_companies || has(OTHERS_WORDS))
}

/// First-to-last period comparisons for every metric (none with a single period).
pub fn comparisons(metrics: &[MetricId], periods: &[String]) -> Vec<Comparison> {
    match (periods.first(), periods.last()) {
        (Some(from), Some(to)) if from != to => metrics
            .iter()
            .map(|m| Comparison {
                metric: *m,
                from: from.clone(),
                to: to.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}
