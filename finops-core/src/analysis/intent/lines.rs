//! The statement line a question is about, when the line itself is its subject: held to a level ("is revenue
//! above $3M?", "is our equity negative?") or asked whether it moved ("did our cash go up?"). The answer then reads
//! the line's amounts rather than a ratio over it.

use rust_decimal::Decimal;

use super::phrases::{BETTER_WORDS, DOWN_WORDS, UP_WORDS, WORSE_WORDS};
use super::{Asked, Cues, at_word_start, fold, phrase_at, plain};
use crate::metrics::{DerivedLine, MetricId};
use crate::statements::{Line, Statements};

/// What a question's line is: one the statements report, or one the SDK derives from them (debt, which they report
/// in two parts; EBITDA, gross profit, operating income, income before tax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A reported line: revenue, net income, cash, equity, operating cash flow, …
    Line(Line),
    /// A derived line (`total_debt`, `ebitda`, `gross_profit`, `operating_income`, `income_before_tax`), as the
    /// metrics' formulas compute it.
    Derived(DerivedLine),
}

impl Subject {
    /// Short-term and long-term debt together.
    pub const DEBT: Subject = Subject::Derived(DerivedLine::TotalDebt);
    /// Earnings before interest, taxes, depreciation and amortization.
    pub const EBITDA: Subject = Subject::Derived(DerivedLine::Ebitda);

    /// Its amount in the period at `index`: `None` when the period reports none of it, or it cannot be derived.
    pub fn amount(self, statements: &Statements, index: usize) -> Option<Decimal> {
        let period = statements.periods().get(index)?;
        match self {
            Subject::Line(line) => period.amount(line),
            Subject::Derived(line) => crate::metrics::derived_amount(statements, index, line),
        }
    }

    /// Its id: the line's (`"cash"`) or the derived line's (`"total_debt"`).
    pub fn id(self) -> &'static str {
        match self {
            Subject::Line(line) => line.id(),
            Subject::Derived(line) => line.id(),
        }
    }

    /// Whether more of it is better for the company: yes for revenue, profits, cash and equity; no for debt,
    /// costs, taxes and liabilities; `None` where it depends (inventory, receivables, assets, investment, dividends).
    pub fn more_is_better(self) -> Option<bool> {
        match self {
            Subject::Derived(DerivedLine::TotalDebt) => Some(false),
            Subject::Derived(_) => Some(true),
            Subject::Line(line) => match line {
                Line::Revenue
                | Line::NetIncome
                | Line::OtherIncome
                | Line::Cash
                | Line::MarketableSecurities
                | Line::TotalEquity
                | Line::OperatingCashFlow => Some(true),
                Line::CostOfGoodsSold
                | Line::OperatingExpenses
                | Line::InterestExpense
                | Line::IncomeTaxExpense
                | Line::AccountsPayable
                | Line::ShortTermDebt
                | Line::LongTermDebt
                | Line::OtherCurrentLiabilities
                | Line::TotalCurrentLiabilities
                | Line::OtherNonCurrentLiabilities
                | Line::TotalLiabilities => Some(false),
                _ => None,
            },
        }
    }
}

/// The lines, debt and EBITDA a question may name, with the phrases that name them (accent-folded, without
/// determiners, whole words). [`named_subject`] takes the one named first; on the same word, the earlier entry
/// here, so the more specific come first: "operating cash flow" is not cash, "cost of revenue" not revenue.
const SUBJECT_PHRASES: &[(Subject, &[&str])] = &[
    (
        Subject::Line(Line::OperatingCashFlow),
        &[
            "operating cash flow",
            "cash flow from operations",
            "cash from operations",
            "cash flow",
            "flux de tresorerie d exploitation",
            "tresorerie d exploitation",
            "flux de tresorerie",
        ],
    ),
    (
        Subject::Line(Line::CostOfGoodsSold),
        &[
            "cost of goods sold",
            "cost of sales",
            "cost of revenue",
            "cogs",
            "cout de ventes",
            "cout de marchandises vendues",
            "cout de biens vendus",
            "achats consommes",
        ],
    ),
    (
        Subject::Line(Line::OperatingExpenses),
        &[
            "operating expenses",
            "operating costs",
            "opex",
            "overhead",
            "overheads",
            "charges d exploitation",
            "frais generaux",
            "charges generales",
        ],
    ),
    (
        Subject::Line(Line::InterestExpense),
        &[
            "interest expense",
            "interest expenses",
            "interest",
            "cost of debt",
            "cost of borrowing",
            "frais financiers",
            "charges financieres",
            "charges d interet",
            "interets",
            "cout de dette",
        ],
    ),
    (
        Subject::Line(Line::IncomeTaxExpense),
        &[
            "income tax",
            "income taxes",
            "tax expense",
            "taxes",
            "tax",
            "impot sur resultat",
            "impots sur resultat",
            "impot sur benefices",
            "impots",
            "impot",
        ],
    ),
    (
        Subject::Line(Line::DepreciationAmortization),
        &[
            "depreciation and amortization",
            "depreciation",
            "amortization",
            "dotations aux amortissements",
            "amortissements",
            "amortissement",
        ],
    ),
    (
        Subject::Derived(DerivedLine::IncomeBeforeTax),
        &[
            "income before tax",
            "income before taxes",
            "income before income taxes",
            "earnings before tax",
            "earnings before taxes",
            "profit before tax",
            "profit before taxes",
            "pretax income",
            "pre tax income",
            "pretax profit",
            "pre tax profit",
            "resultat avant impot",
            "resultat avant impots",
            "benefice avant impot",
            "benefice avant impots",
        ],
    ),
    (
        Subject::Derived(DerivedLine::OperatingIncome),
        &[
            "operating income",
            "operating profit",
            "income from operations",
            "ebit",
            "resultat d exploitation",
            "resultat operationnel",
            "benefice d exploitation",
        ],
    ),
    (
        Subject::Derived(DerivedLine::GrossProfit),
        &[
            "gross profit",
            "gross profits",
            "benefice brut",
            "marge brute en valeur",
        ],
    ),
    (
        Subject::Line(Line::NetIncome),
        &[
            "net income",
            "net profit",
            "net earnings",
            "bottom line",
            "profit",
            "profits",
            "earnings",
            "resultat net",
            "benefice net",
            "benefice",
            "benefices",
        ],
    ),
    (
        Subject::Line(Line::Revenue),
        &[
            "revenue",
            "revenues",
            "sales",
            "top line",
            "turnover",
            "chiffre d affaires",
            "ventes",
            "revenus",
        ],
    ),
    (
        Subject::Line(Line::AccountsReceivable),
        &[
            "accounts receivable",
            "receivables",
            "receivable",
            "owe us",
            "owed to us",
            "owes us",
            "creances clients",
            "creances",
            "comptes clients",
            "nous doivent",
            "nous doit",
        ],
    ),
    (
        Subject::Line(Line::Inventory),
        &["inventory", "inventories", "stock", "stocks"],
    ),
    (
        Subject::Line(Line::TotalCurrentAssets),
        &[
            "total current assets",
            "current assets",
            "actif a court terme",
            "actifs a court terme",
            "actif circulant",
        ],
    ),
    (
        Subject::Line(Line::TotalAssets),
        &[
            "total assets",
            "assets",
            "total de actif",
            "actif total",
            "actifs",
            "actif",
        ],
    ),
    (
        Subject::Line(Line::AccountsPayable),
        &[
            "accounts payable",
            "payables",
            "payable",
            "owe suppliers",
            "owe vendors",
            "devons nous fournisseurs",
            "devons fournisseurs",
            "dettes fournisseurs",
            "comptes fournisseurs",
            "fournisseurs",
        ],
    ),
    (
        Subject::Line(Line::TotalCurrentLiabilities),
        &[
            "total current liabilities",
            "current liabilities",
            "passif a court terme",
            "passifs a court terme",
            "passif circulant",
        ],
    ),
    (
        Subject::Line(Line::LongTermDebt),
        &[
            "long term debt",
            "long term debts",
            "long term loans",
            "dette a long terme",
            "dettes a long terme",
            "emprunts a long terme",
        ],
    ),
    (
        Subject::Line(Line::ShortTermDebt),
        &[
            "short term debt",
            "short term debts",
            "short term loans",
            "dette a court terme",
            "dettes financieres a court terme",
            "emprunts a court terme",
        ],
    ),
    (
        Subject::DEBT,
        &[
            "owe bank",
            "owe lenders",
            "owe lender",
            "devons nous banque",
            "devons banque",
            "debt",
            "debts",
            "borrowing",
            "borrowings",
            "loans",
            "bank",
            "dette",
            "dettes",
            "emprunts",
            "banque",
        ],
    ),
    (
        Subject::Line(Line::TotalLiabilities),
        &[
            "total liabilities",
            "liabilities",
            "owe",
            "total de passif",
            "passif total",
            "passif",
            "devons",
        ],
    ),
    (
        Subject::Line(Line::TotalEquity),
        &["equity", "net worth", "capitaux propres", "fonds propres"],
    ),
    (
        Subject::Line(Line::CapitalExpenditures),
        &[
            "capital expenditures",
            "capital expenditure",
            "capital spending",
            "capex",
            "invest",
            "invested",
            "investi",
            "equipment",
            "equipement",
            "machinery",
            "investissements",
            "immobilisations acquises",
        ],
    ),
    (
        Subject::Line(Line::DividendsPaid),
        &["dividends", "dividend", "dividendes", "dividende"],
    ),
    (
        Subject::Line(Line::Cash),
        &[
            // What the cash ratio's words say of cash itself, and where it is kept.
            "cash position",
            "cash on hand",
            "cash balance",
            "cash reserve",
            "cash reserves",
            "cash in bank",
            "cash at bank",
            "money in bank",
            "money at bank",
            "bank balance",
            "bank account",
            "position de tresorerie",
            "niveau de tresorerie",
            "solde de tresorerie",
            "argent en banque",
            "in bank",
            "at bank",
            "en banque",
            "compte bancaire",
            "cash",
            "tresorerie",
            "encaisse",
            "liquidites",
        ],
    ),
    (Subject::EBITDA, &["ebitda", "baiia"]),
];

/// Phrases that look like a subject's and name none: a sales tax is not income tax or revenue, net debt and free
/// cash flow are metrics, working capital is not capital.
const NOT_SUBJECTS: &[&str] = &[
    "sales tax",
    "sales taxes",
    "taxe de vente",
    "taxes de vente",
    "taxe sur ventes",
    "gst",
    "hst",
    "tps",
    "tvq",
    "tva",
    "vat",
    "net debt",
    "dette nette",
    "endettement net",
    "free cash",
    "tresorerie disponible",
    "working capital",
    "fonds de roulement",
];

/// Words that make a ratio, a margin, a speed or another metric the subject, not the line they name.
const METRIC_WORDS: &[&str] = &[
    "ratio",
    "ratios",
    "margin",
    "margins",
    "marge",
    "marges",
    "free",
    "disponible",
    "leverage",
    "leveraged",
    "endettement",
    "endettes",
    "return",
    "rendement",
    "rentabilite",
    "conversion",
    "cycle",
    "coverage",
    "couverture",
    "turnover",
    "rotation",
    "per",
    "par",
];

/// Whether a metric word ([`METRIC_WORDS`]) occurs; « par rapport à » compares, it is not "per".
fn names_metric(plain: &str) -> bool {
    METRIC_WORDS
        .iter()
        .any(|w| match phrase_at(plain, w, true, 0) {
            Some(at) if *w == "par" => {
                // Another « par » further on may still be "per".
                plain[at..]
                    .split(' ')
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|p| p[0] == "par" && p[1] != "rapport")
            }
            Some(_) => true,
            None => false,
        })
}

/// The line, debt or EBITDA a question names first ([`SUBJECT_PHRASES`]), read from its plain text (folded,
/// without determiners, padded with spaces); none when it names something that only looks like one
/// ([`NOT_SUBJECTS`]).
fn named_subject(plain: &str) -> Option<Subject> {
    named_subject_at(plain).map(|(subject, _)| subject)
}

/// [`named_subject`] with the metrics its own phrases in the question name ("interest expense" names interest
/// coverage, "equipment" free cash flow): a question that names no other metric is about the line.
fn named_subject_phrase(plain: &str) -> Option<(Subject, Vec<MetricId>)> {
    let (subject, _) = named_subject_at(plain)?;
    let mut own = Vec::new();
    for (s, phrases) in SUBJECT_PHRASES {
        if *s == subject {
            for phrase in phrases.iter().filter(|p| whole(plain, p)) {
                own.extend(super::named_metrics(phrase));
            }
        }
    }
    Some((subject, own))
}

/// The subject named first, with the phrase that names it: at the earliest word start where a phrase matches, the
/// first such phrase in [`SUBJECT_PHRASES`]. One pass over the question's word starts.
fn named_subject_at(plain: &str) -> Option<(Subject, &'static str)> {
    if NOT_SUBJECTS.iter().any(|p| whole(plain, p)) {
        return None;
    }
    let t = plain.as_bytes();
    (1..t.len())
        .filter(|&i| t[i - 1] == b' ' && t[i] != b' ')
        .find_map(|i| {
            SUBJECT_PHRASES.iter().find_map(|(subject, phrases)| {
                phrases.iter().find_map(|phrase| {
                    let n = phrase.as_bytes();
                    (t[i..].starts_with(n) && t.get(i + n.len()) == Some(&b' '))
                        .then_some((*subject, *phrase))
                })
            })
        })
}

/// Whether the question moves ([`UP_WORDS`], [`DOWN_WORDS`], better or worse words) anywhere.
fn moves(folded: &str) -> bool {
    [UP_WORDS, DOWN_WORDS, BETTER_WORDS, WORSE_WORDS]
        .iter()
        .any(|words| words.iter().any(|w| at_word_start(folded, w)))
}

/// The statement line (or debt, EBITDA, …) a level question is about, when no metric it names can be held to the
/// level: an amount ("is revenue above $3M?", « le résultat net dépasse-t-il 200 000 $ ? », "is our debt under
/// $1M?") of the first line it names, or a sign of net income, of equity ("is our equity negative?", which names
/// debt to equity) or of a line the question names no metric for (« la trésorerie est-elle positive ? »).
/// Not a movement ("did revenue grow more than $3M?" asks about the growth).
pub(super) fn level_line(question: &str, cues: &Cues) -> Option<Subject> {
    let Some(Asked::Level(level)) = cues.asked else {
        return None;
    };
    let sign = level.threshold.is_zero() && level.unit.is_none();
    if sign && cues.metrics == [MetricId::DebtToEquity] {
        return Some(Subject::Line(Line::TotalEquity));
    }
    let folded = plain(&fold(question));
    if moves(&folded) {
        return None;
    }
    let subject = named_subject(&folded)?;
    let amount = level.unit == Some(crate::metrics::Unit::Amount)
        && !cues.metrics.iter().any(|m| level.fits(m.unit()));
    // A sign of net income (its margin and growth are what "net income" names), or of a line no metric stands for.
    let signed = subject == Subject::Line(Line::NetIncome) || cues.metrics.is_empty();
    (amount || sign && signed).then_some(subject)
}

/// The statement line a yes/no question about a movement is about, when the line itself is its subject and no
/// catalogue metric measures it: cash ("did our cash go up?"), equity ("has equity increased?", which names debt
/// to equity only as a fallback), operating cash flow ("did operating cash flow improve?", not its ratio), debt
/// ("did we reduce our debt?", not a ratio over it), EBITDA ("did EBITDA grow?", not its margin), a cost ("did
/// interest expense go up?", not interest coverage). Revenue and net income have their growth metrics, and a
/// question that names a ratio or a margin is the metric's.
pub(super) fn movement_line(question: &str, cues: &Cues) -> Option<Subject> {
    if !matches!(
        cues.asked,
        Some(Asked::Up | Asked::Down | Asked::Better | Asked::Worse)
    ) {
        return None;
    }
    let folded = plain(&fold(question));
    let has = |words: &[&str]| words.iter().any(|w| whole(&folded, w));
    const DEBT_WORDS: &[&str] = &[
        "debt",
        "debts",
        "borrowing",
        "borrowings",
        "loans",
        "dette",
        "dettes",
        "emprunts",
    ];
    const DEBT_RATIO_WORDS: &[&str] = &[
        "ratio",
        "ratios",
        "equity",
        "assets",
        "ebitda",
        "net",
        "nette",
        "leverage",
        "leveraged",
        "coverage",
        "couverture",
        "capitaux",
        "actifs",
        "baiia",
        "endettement",
        "service",
        "capacity",
        "capacite",
    ];
    let debt = has(DEBT_WORDS);
    if debt && has(DEBT_RATIO_WORDS) || names_metric(&folded) {
        return None;
    }
    let (subject, own) = named_subject_phrase(&folded)?;
    // Debt beside another line ("did cash rise against our debt?") makes neither the subject alone.
    let debts = [
        Subject::DEBT,
        Subject::Line(Line::LongTermDebt),
        Subject::Line(Line::ShortTermDebt),
    ];
    if debt && !debts.contains(&subject) {
        return None;
    }
    // Revenue and net income move with their growth metrics; cash, equity, operating cash flow, costs, EBITDA and
    // the other lines are answered from their amounts, when the question names no metric their own words do not
    // ("did interest expense go up?" names interest coverage, which moves the other way).
    let fallback: &[MetricId] = match subject {
        Subject::Line(Line::Revenue | Line::NetIncome) => return None,
        Subject::Line(Line::TotalEquity) => &[MetricId::DebtToEquity],
        Subject::Line(Line::OperatingCashFlow) => &[MetricId::OperatingCashFlowRatio],
        _ => &[],
    };
    cues.metrics
        .iter()
        .all(|m| fallback.contains(m) || own.contains(m))
        .then_some(subject)
}

/// Words that ask for an amount ("how much", "what was", « combien », « quel est », « à combien s'élève »), in
/// plain text.
const AMOUNT_WORDS: &[&str] = &[
    "how much",
    "how big",
    "how large",
    "how high",
    "what is",
    "what s",
    "whats",
    "what was",
    "what are",
    "what were",
    "what did",
    "what do we owe",
    "what we owe",
    "show me",
    "give me",
    "tell me",
    "combien",
    "quel est",
    "quel etait",
    "quel a ete",
    "quelle est",
    "quelle etait",
    "quelle a ete",
    "quels sont",
    "quels etaient",
    "quelles sont",
    "quelles etaient",
    "montant",
    "s eleve",
    "s elevent",
    "s elevait",
    "s elevaient",
];

/// Words that make a question about an amount ask for something else: a reason, advice, a share, a time, a
/// comparison, a forecast.
const NOT_AMOUNT_WORDS: &[&str] = &[
    "why",
    "pourquoi",
    "explain",
    "expliqu",
    "driv",
    "drove",
    "caus",
    "reason",
    "raison",
    "should",
    "could",
    "would",
    "devrions",
    "devrait",
    "pourrions",
    "improve",
    "ameliorer",
    "recommend",
    "recommand",
    "conseil",
    "do about",
    "faire",
    "much of",
    "share ",
    "part ",
    "proportion",
    "percent",
    "pourcent",
    "rate ",
    "rates ",
    "taux ",
    "days",
    "jours",
    "delai",
    "time ",
    "temps ",
    "how long",
    "growth",
    "grow",
    "croissance",
    "compar",
    "versus",
    "vs",
    "than",
    "relative",
    "par rapport",
    "average",
    "moyen",
    "peer",
    "forecast",
    "prevision",
    "next",
    "prochain",
    "budget",
    "need",
    "besoin",
    "enough",
    "suffisant",
    "afford",
];

/// The line (or debt, EBITDA, gross profit…) whose amount a question asks for ("how much cash do we have?", "what
/// was our revenue last year?", "how much do customers owe us?", « quel est notre chiffre d'affaires ? »,
/// « combien avons-nous payé d'intérêts ? »): a question that asks for an amount, names a line and no metric word
/// (a ratio, a margin, a turnover) nor metric its line's own words do not name ("debt to equity" is a ratio,
/// "revenue" names revenue growth by itself), and asks for no movement, reason, advice, share or comparison.
pub(super) fn amount_line(question: &str, cues: &Cues) -> Option<Subject> {
    if cues.asked.is_some() {
        return None;
    }
    let folded = plain(&fold(question));
    if !AMOUNT_WORDS.iter().any(|w| at_word_start(&folded, w))
        || NOT_AMOUNT_WORDS.iter().any(|w| at_word_start(&folded, w))
        || names_metric(&folded)
        || moves(&folded)
    {
        return None;
    }
    let (subject, own) = named_subject_phrase(&folded)?;
    cues.metrics
        .iter()
        .all(|m| own.contains(m))
        .then_some(subject)
}

/// Whether `phrase` occurs in `folded` (padded with spaces) as whole words: a byte scan, no allocation.
fn whole(folded: &str, phrase: &str) -> bool {
    phrase_at(folded, phrase, true, 0).is_some()
}
