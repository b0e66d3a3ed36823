//! The metric engine (`spec/metrics-v1.md`): every catalogue metric for every period, exactly, with provenance.
//! Hosts can use it without any language model:
//!
//! ```
//! # let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! let statements = finops_core::Statements::from_json_str(&json)?;
//! let figures = finops_core::metrics::compute_all(&statements);
//! let margin = figures.iter().find(|f| f.id == "gross_margin@FY2023").unwrap();
//! assert_eq!(margin.value.unwrap().round_dp(4).to_string(), "0.6897");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catalogue;
mod engine;
pub mod expr;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use catalogue::{Basis, Category, MetricId, Unit};
pub(crate) use engine::value as engine_value;

use crate::statements::{AccountAmount, Statements};

/// One input amount a figure was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureInput {
    /// The statement line, e.g. `"revenue"`.
    pub line: Cow<'static, str>,
    /// The period the amount belongs to (the previous one for averages and growth).
    pub period: Arc<str>,
    /// The amount, exact.
    pub value: Decimal,
    /// The ledger accounts that made the amount, when the statements were read from a ledger (trial balance,
    /// FEC, QuickBooks, Xero) or built with accounts.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub accounts: Option<Arc<[AccountAmount]>>,
}

/// A computed metric for one period, with its provenance. A metric that cannot be computed has no `value` and a
/// `reason` instead — never a made-up number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// Stable id the LLM phases cite: `metric@period`, e.g. `gross_margin@FY2023`.
    pub id: String,
    /// The catalogue metric.
    pub metric: MetricId,
    /// The period label.
    pub period: Arc<str>,
    /// The exact value (percentages as fractions: 0.25 is 25 %), or `None` when not computable.
    pub value: Option<Decimal>,
    /// How the value reads: a ratio, a percentage (as a fraction), an amount or days.
    pub unit: Unit,
    /// Whether balance-sheet inputs are closing or averaged over two periods.
    pub basis: Basis,
    /// The formula in words of statement lines (`gross_profit / revenue`).
    pub formula: Cow<'static, str>,
    /// The amounts the value was computed from.
    pub inputs: Vec<FigureInput>,
    /// Why there is no value (a zero denominator, no previous period, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl Figure {
    /// The id of a metric's figure for a period.
    pub fn make_id(metric: MetricId, period: &str) -> String {
        // Built by hand rather than with format!: this runs for every figure and format! costs ~3x more.
        let mut id = String::with_capacity(metric.id().len() + 1 + period.len());
        id.push_str(metric.id());
        id.push('@');
        id.push_str(period);
        id
    }

    /// Whether a value was computed.
    pub fn is_computable(&self) -> bool {
        self.value.is_some()
    }
}

/// A line derived from the statement lines (`spec/metrics-v1.md`, "Derived lines").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DerivedLine {
    /// Revenue less the cost of goods sold.
    GrossProfit,
    /// Operating income before depreciation and amortization.
    Ebitda,
    /// Gross profit less operating expenses and depreciation.
    OperatingIncome,
    /// Operating income less interest, plus other income.
    IncomeBeforeTax,
    /// Short-term and long-term debt.
    TotalDebt,
    /// Current assets less current liabilities.
    WorkingCapital,
    /// Operating cash flow less capital expenditures.
    FreeCashFlow,
}

impl DerivedLine {
    /// Every derived line, in presentation order.
    pub const ALL: [DerivedLine; 7] = [
        DerivedLine::GrossProfit,
        DerivedLine::Ebitda,
        DerivedLine::OperatingIncome,
        DerivedLine::IncomeBeforeTax,
        DerivedLine::TotalDebt,
        DerivedLine::WorkingCapital,
        DerivedLine::FreeCashFlow,
    ];

    /// The stable id (`gross_profit`, …), as formulas and expressions name it.
    pub fn id(self) -> &'static str {
        match self {
            DerivedLine::GrossProfit => "gross_profit",
            DerivedLine::Ebitda => "ebitda",
            DerivedLine::OperatingIncome => "operating_income",
            DerivedLine::IncomeBeforeTax => "income_before_tax",
            DerivedLine::TotalDebt => "total_debt",
            DerivedLine::WorkingCapital => "working_capital",
            DerivedLine::FreeCashFlow => "free_cash_flow",
        }
    }
}

impl fmt::Display for DerivedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for DerivedLine {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DerivedLine::ALL
            .into_iter()
            .find(|d| d.id() == s)
            .ok_or_else(|| {
                crate::Error::invalid_argument("line", format!("unknown derived line `{s}`"))
            })
    }
}

/// Every catalogue metric for every period, periods oldest first, metrics in catalogue order.
pub fn compute_all(statements: &Statements) -> Vec<Figure> {
    let mut figures = Vec::with_capacity(statements.periods().len() * MetricId::ALL.len());
    for index in 0..statements.periods().len() {
        for metric in MetricId::ALL {
            figures.push(engine::compute(statements, index, *metric));
        }
    }
    figures
}

/// Selected metrics for selected periods (by label). Unknown labels are an error naming the label.
pub fn compute(
    statements: &Statements,
    metrics: &[MetricId],
    periods: &[String],
) -> crate::Result<Vec<Figure>> {
    let mut figures = Vec::with_capacity(metrics.len() * periods.len());
    for label in periods {
        let index = statements.period_index(label).ok_or_else(|| {
            crate::Error::invalid_argument(
                "periods",
                format!("no period labelled `{label}` in the statements"),
            )
        })?;
        for metric in metrics {
            figures.push(engine::compute(statements, index, *metric));
        }
    }
    Ok(figures)
}

/// A derived line's amount in the period at `index` (EBITDA, total debt, …), as expressions read it; `None` when
/// it cannot be computed there.
pub(crate) fn derived_amount(
    statements: &Statements,
    index: usize,
    line: DerivedLine,
) -> Option<Decimal> {
    statements.periods().get(index)?;
    engine::Ctx::new(statements, index).derived(line).ok()
}

/// One metric for one period.
pub fn compute_one(
    statements: &Statements,
    metric: MetricId,
    period: &str,
) -> crate::Result<Figure> {
    let index = statements.period_index(period).ok_or_else(|| {
        crate::Error::invalid_argument(
            "period",
            format!("no period labelled `{period}` in the statements"),
        )
    })?;
    Ok(engine::compute(statements, index, metric))
}

#[cfg(test)]
mod tests;
