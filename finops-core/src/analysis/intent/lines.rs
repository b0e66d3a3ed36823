//! The statement line a question is about, when the line itself is its subject: held to a level ("is revenue
//! above $3M?", "is our equity negative?") or asked whether it moved ("did our cash go up?"). The answer then reads
//! the line's amounts rather than a ratio over it.

use rust_decimal::Decimal;

use super::phrases::{BETTER_WORDS, DOWN_WORDS, UP_WORDS, WORSE_WORDS};
use super::{Asked, Cues, at_word_start, fold, phrase_at};
use crate::metrics::{DerivedLine, MetricId};
use crate::statements::{Line, Statements};

/// What a question's line is: one the statements report, debt, which they report in two parts, or EBITDA, which
/// the SDK derives from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A reported line: revenue, net income, cash, equity, operating cash flow.
    Line(Line),
    /// Short-term and long-term debt together (`total_debt`).
    Debt,
    /// Earnings before interest, taxes, depreciation and amortization (`ebitda`), derived from the income
    /// statement.
    Ebitda,
}

impl Subject {
    /// Its amount in the period at `index`: `None` when the period reports none of it.
    pub fn amount(self, statements: &Statements, index: usize) -> Option<Decimal> {
        let period = statements.periods().get(index)?;
        match self {
            Subject::Line(line) => period.amount(line),
            Subject::Debt => {
                let (short, long) = (
                    period.amount(Line::ShortTermDebt),
                    period.amount(Line::LongTermDebt),
                );
                if short.is_none() && long.is_none() {
                    return None;
                }
                short
                    .unwrap_or_default()
                    .checked_add(long.unwrap_or_default())
            }
            // Revenue less the cost of goods sold and operating expenses: none without revenue.
            Subject::Ebitda => {
                period.amount(Line::Revenue)?;
                crate::metrics::derived_amount(statements, index, DerivedLine::Ebitda)
            }
        }
    }

    /// Whether more of it is better for the company: not for debt.
    pub fn more_is_better(self) -> bool {
        self != Subject::Debt
    }
}

/// Statement lines a question may hold to a level, with the phrases that name them (accent-folded, whole words),
/// the more specific first: "operating cash flow" is not cash, "net income" not revenue.
const LINE_PHRASES: &[(Line, &[&str])] = &[
    (
        Line::OperatingCashFlow,
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
        Line::NetIncome,
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
        Line::Revenue,
        &[
            "revenue",
            "revenues",
            "sales",
            "top line",
            "chiffre d affaires",
            "ventes",
            "revenus",
        ],
    ),
    (
        Line::TotalEquity,
        &["equity", "net worth", "capitaux propres", "fonds propres"],
    ),
    (
        Line::Cash,
        &["cash", "tresorerie", "encaisse", "liquidites"],
    ),
];

/// The statement line a level question is about, when no metric it names can be held to the level: an amount
/// ("is revenue above $3M?", « le résultat net dépasse-t-il 200 000 $ ? ») of the first line it names, or a sign
/// of net income, of equity ("is our equity negative?", which names debt to equity) or of a line the question
/// names no metric for (« la trésorerie est-elle positive ? »).
/// Not a movement ("did revenue grow more than $3M?" asks about the growth).
pub(super) fn level_line(question: &str, cues: &Cues) -> Option<Line> {
    let Some(Asked::Level(level)) = cues.asked else {
        return None;
    };
    let sign = level.threshold.is_zero() && level.unit.is_none();
    if sign && cues.metrics == [MetricId::DebtToEquity] {
        return Some(Line::TotalEquity);
    }
    let folded = format!(" {} ", fold(question));
    let moves = [UP_WORDS, DOWN_WORDS, BETTER_WORDS, WORSE_WORDS]
        .iter()
        .any(|words| words.iter().any(|w| at_word_start(&folded, w)));
    if moves {
        return None;
    }
    let line = LINE_PHRASES
        .iter()
        .find_map(|(line, phrases)| phrases.iter().any(|p| whole(&folded, p)).then_some(*line))?;
    let amount = level.unit == Some(crate::metrics::Unit::Amount)
        && !cues.metrics.iter().any(|m| level.fits(m.unit()));
    // A sign of net income (its margin and growth are what "net income" names), or of a line no metric stands for.
    (amount || sign && (line == Line::NetIncome || cues.metrics.is_empty())).then_some(line)
}

/// The statement line a yes/no question about a movement is about, when the line itself is its subject and no
/// catalogue metric measures it: cash ("did our cash go up?"), equity ("has equity increased?", which names debt
/// to equity only as a fallback) and operating cash flow ("did operating cash flow improve?", not its ratio).
/// Revenue and net income have their growth metrics, and a question that names a ratio, a margin or debt is the
/// metric's.
pub(super) fn movement_line(question: &str, cues: &Cues) -> Option<Subject> {
    if !matches!(
        cues.asked,
        Some(Asked::Up | Asked::Down | Asked::Better | Asked::Worse)
    ) {
        return None;
    }
    let folded = format!(" {} ", fold(question));
    let has = |words: &[&str]| words.iter().any(|w| whole(&folded, w));
    // Debt itself ("did we reduce our debt?", « avons-nous réduit notre dette ? »), not a ratio over it.
    const DEBT: &[&str] = &[
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
    if has(DEBT) {
        return (!has(DEBT_RATIO_WORDS)).then_some(Subject::Debt);
    }
    // EBITDA itself ("did EBITDA grow?"), not its margin.
    let metric_words = has(METRIC_WORDS);
    if has(&["ebitda", "baiia"]) {
        let own = cues.metrics.iter().all(|m| *m == MetricId::EbitdaMargin);
        return (!metric_words && own).then_some(Subject::Ebitda);
    }
    let line = LINE_PHRASES
        .iter()
        .find_map(|(line, phrases)| phrases.iter().any(|p| whole(&folded, p)).then_some(*line))?;
    // Words that make a ratio, a margin or another metric the subject.
    const METRIC_WORDS: &[&str] = &[
        "ratio",
        "ratios",
        "margin",
        "margins",
        "marge",
        "marges",
        "free",
        "disponible",
        "debt",
        "debts",
        "dette",
        "dettes",
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
    if METRIC_WORDS.iter().any(|w| whole(&folded, w)) {
        return None;
    }
    let fallback: &[MetricId] = match line {
        Line::Cash => &[],
        Line::TotalEquity => &[MetricId::DebtToEquity],
        Line::OperatingCashFlow => &[MetricId::OperatingCashFlowRatio],
        _ => return None,
    };
    cues.metrics
        .iter()
        .all(|m| fallback.contains(m))
        .then_some(Subject::Line(line))
}

/// Whether `phrase` occurs in `folded` (padded with spaces) as whole words: a byte scan, no allocation.
fn whole(folded: &str, phrase: &str) -> bool {
    phrase_at(folded, phrase, true, 0).is_some()
}
