//! The offline analyst's deterministic rules: what a French or English question is about, and which periods it
//! names. The same rules later guard the caches (two questions share an answer only if their rules agree).

use super::{AnalysisPlan, Comparison, Intent, Language};
use crate::metrics::MetricId;
use crate::statements::Statements;

mod level;
mod lines;
mod periods;
mod phrases;
#[cfg(test)]
mod tests;
pub use level::{Level, level, profit_sign};
pub use lines::Subject;
pub use periods::{periods, years_outside};
use phrases::{
    BETTER_WORDS, COMPARED, CUSTOMER_WORDS, DOWN_WORDS, FASTER_WORDS, MARGIN_QUALIFIERS,
    MARGIN_WORDS, METRIC_PHRASES, NEGATED_COMPARISONS, NOT_YES_NO, PAIRS, PAY_WORDS, SLOWER_WORDS,
    SUPPLIER_WORDS, THAN_BEFORE, UP_WORDS, WORSE_WORDS,
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
    "augment", "hausse", "evolu", "evolv", "trend", "tendance", "progress", "declin", "baisse",
    "increas", "decreas", "diminu",
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
    /// "Faster", "sooner", « plus vite »: fewer days for a number of days ("are we paying our suppliers faster?"),
    /// better for anything else.
    Faster,
    /// "Slower", "later", « plus tard », « ralentit »: more days for a number of days, worse for anything else ("is
    /// growth slowing?").
    Slower,
    /// Above or below a threshold the question names ("is the current ratio above 1.5?", « la marge brute
    /// dépasse-t-elle 60 % ? », "is free cash flow positive?"): the latest value of the metric it names.
    Level(Level),
}

/// What the offline memo's direct answer takes from the question besides its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cues {
    /// The catalogue metrics it names ([`named_metrics`]): the answer speaks of them first.
    pub metrics: Vec<MetricId>,
    /// What it asks of a movement, if it is a yes/no question about one ([`asked`]): the answer starts with
    /// "Yes." or "No." when its figures agree.
    pub asked: Option<Asked>,
    /// The years it names that the statements do not cover ([`years_outside`]; empty unless read with the
    /// statements by [`cues_for`]): the answer says so first, and gives no yes or no about them.
    pub outside: Vec<String>,
    /// A statement line ([`subject`]) a level question holds to its threshold, whose movement a yes/no question
    /// asks about, or whose amount a question asks for, with its amount by period label, when it is read with the
    /// statements ([`cues_for`]): "is revenue above $3M?", "is net income positive?", "is our equity negative?"
    /// (read as a sign of debt to equity, but answered by the equity line itself, which holds where debt to
    /// equity cannot be computed), "did our cash go up?", "did we reduce our debt?" (short- and long-term debt
    /// together), "did EBITDA grow?", "how much do customers owe us?". The answer is the line's, not a ratio's.
    pub line: Option<(Subject, Vec<(String, rust_decimal::Decimal)>)>,
}

impl Cues {
    /// The threshold a level question names, as written and as a fraction ("60 %" is 60 and 0.6), for the
    /// report to repeat; none for another question.
    pub fn thresholds(&self) -> Vec<rust_decimal::Decimal> {
        match self.asked {
            Some(Asked::Level(level)) => vec![
                level.threshold,
                level.threshold / rust_decimal::Decimal::ONE_HUNDRED,
            ],
            _ => Vec::new(),
        }
    }
}

/// The metrics a question names and what it asks of their movement.
pub fn cues(question: &str) -> Cues {
    Cues {
        metrics: named_metrics(question),
        asked: asked(question),
        outside: Vec::new(),
        line: None,
    }
}

/// The statement line (or debt, EBITDA, …) the question is about when the line itself is its subject: held to a
/// level, asked whether it moved, or asked for its amount ("how much cash do we have?"). `None` for a question
/// about a metric. Two questions share a cached answer only if they name the same one.
pub fn subject(question: &str) -> Option<Subject> {
    subject_of(question, &cues(question))
}

/// [`subject`] from cues already read from the question ([`cues`]), so its metrics and yes/no are not read twice.
pub fn subject_of(question: &str, cues: &Cues) -> Option<Subject> {
    lines::level_line(question, cues)
        .or_else(|| lines::movement_line(question, cues))
        .or_else(|| lines::amount_line(question, cues))
}

/// [`cues`] read against the statements: with the years the question names that they do not cover, and then no
/// yes or no, which would be about other years.
pub fn cues_for(question: &str, statements: &Statements) -> Cues {
    let mut cues = cues(question);
    cues.outside = years_outside(question, statements);
    if !cues.outside.is_empty() {
        cues.asked = None;
    }
    let subject = subject_of(question, &cues);
    if let Some(subject) = subject {
        let amounts = statements
            .periods()
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((p.label.to_string(), subject.amount(statements, i)?)))
            .collect();
        cues.line = Some((subject, amounts));
    }
    cues
}

/// What a yes/no question asks: a level ([`level`]: "is it above 1.5?"), else one kind of movement word ("is our
/// working capital getting tighter?", « nos clients paient-ils plus lentement ? », "did sales grow?"), and nothing
/// that makes it another kind of question (why or how much, what to do, a negation). `None` otherwise, and for two
/// kinds at once.
pub fn asked(question: &str) -> Option<Asked> {
    let folded = fold(question);
    if asks_for_peers(question) {
        return None;
    }
    if let Some(level) = level::level_folded(question, &folded) {
        let mut unnegated = format!(" {folded} ");
        for phrase in NEGATED_COMPARISONS {
            unnegated = unnegated.replace(&format!(" {phrase} "), " ");
        }
        return (!unnegated.split(' ').any(|w| NOT_YES_NO.contains(&w)))
            .then_some(Asked::Level(level));
    }
    if folded.split(' ').any(|w| NOT_YES_NO.contains(&w)) {
        return None;
    }
    let mut text = format!(" {folded} ");
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
    // French compares with "que" ("plus élevé que l'an dernier"); "est-ce que" only asks.
    let comparative = text
        .replace(" est ce que ", " ")
        .replace(" est ce qu ", " ");
    if comparative.contains(" que ")
        || comparative.contains(" qu ")
        || text.split(' ').any(|w| COMPARED.contains(&w))
    {
        return None;
    }
    let kinds = [
        (Asked::Worse, WORSE_WORDS),
        (Asked::Better, BETTER_WORDS),
        (Asked::Up, UP_WORDS),
        (Asked::Down, DOWN_WORDS),
        (Asked::Faster, FASTER_WORDS),
        (Asked::Slower, SLOWER_WORDS),
    ];
    let found: Vec<Asked> = kinds
        .iter()
        .filter(|(_, words)| words.iter().any(|w| at_word_start(&text, w)))
        .map(|(kind, _)| *kind)
        .collect();
    // "Did revenue grow faster?", « croissent-elles plus lentement ? »: the speed is what is asked of the movement.
    let speeds: Vec<Asked> = found
        .iter()
        .copied()
        .filter(|k| matches!(k, Asked::Faster | Asked::Slower))
        .collect();
    if let [speed] = speeds[..]
        && found
            .iter()
            .all(|k| matches!(k, Asked::Up | Asked::Down | Asked::Faster | Asked::Slower))
    {
        return Some(speed);
    }
    // "Better" and "up" together, or "worse" and "down", read as two kinds; one answer cannot serve both. With no
    // movement at all, "are we profitable?" holds net margin to zero.
    match found[..] {
        [one] => Some(one),
        [] => level::profit_sign_folded(&folded).map(Asked::Level),
        _ => None,
    }
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
    for (one, other, m) in PAIRS {
        if words.iter().any(|w| one.contains(w))
            && words.iter().any(|w| other.contains(w))
            && !found.contains(m)
        {
            found.push(*m);
        }
    }
    // Customers, or suppliers, and paying in one question, however far apart ("how many days do customers take to
    // pay?", "are we paying our suppliers faster?").
    let paying = words.iter().any(|w| PAY_WORDS.contains(w));
    for (who, days) in [
        (CUSTOMER_WORDS, MetricId::DaysSalesOutstanding),
        (SUPPLIER_WORDS, MetricId::DaysPayablesOutstanding),
    ] {
        if paying && words.iter().any(|w| who.contains(w)) && !found.contains(&days) {
            found.push(days);
        }
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

/// Adds to `plan` the catalogue metrics a question names when it holds none of them ("is our working capital
/// getting tighter?" planned with the current ratio alone), each with the family it belongs to and a first-to-last
/// comparison over the planned periods; returns the metrics added, in catalogue order. A model's plan, or a cached
/// one made for another wording, then still answers about what was asked. A plan that holds one of them is the
/// model's choice among the metrics a phrase can mean ("net income": its margin or its growth) and is kept.
pub fn include_named(plan: &mut AnalysisPlan, named: &[MetricId]) -> Vec<MetricId> {
    if named.iter().any(|m| plan.metrics.contains(m)) {
        return Vec::new();
    }
    let mut added: Vec<MetricId> = named.to_vec();
    if added.is_empty() {
        return added;
    }
    added.sort();
    added.dedup();
    for m in &added {
        let covered = plan
            .intents
            .iter()
            .any(|i| i.category().is_none_or(|c| c == m.category()));
        if !covered
            && let Some(family) = Intent::ALL
                .iter()
                .find(|i| i.category() == Some(m.category()))
        {
            plan.intents.push(*family);
        }
    }
    plan.intents.sort();
    plan.metrics.extend(added.iter().copied());
    plan.metrics.sort();
    plan.comparisons.extend(comparisons(&added, &plan.periods));
    added
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
