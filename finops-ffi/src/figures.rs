//! Figures and the catalogue's computation for every period.

use super::*;

/// An input amount a figure used.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FigureInput {
    pub line: String,
    pub period: String,
    /// Exact decimal as text.
    pub value: String,
    /// The ledger accounts that made the amount (empty when the statements give it as a plain amount).
    pub accounts: Vec<crate::AccountAmountFfi>,
}

/// A computed metric with its provenance.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Figure {
    pub id: String,
    pub metric: String,
    pub period: String,
    /// Exact decimal as text (percentages as fractions), or null when not computable.
    pub value: Option<String>,
    pub unit: String,
    pub basis: String,
    pub formula: String,
    pub inputs: Vec<FigureInput>,
    pub reason: Option<String>,
}

pub(crate) fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) fn figure(f: &metrics::Figure) -> Figure {
    Figure {
        id: f.id.clone(),
        metric: f.metric.id().to_string(),
        period: f.period.to_string(),
        value: f.value.map(|v| v.to_string()),
        unit: word(&f.unit),
        basis: word(&f.basis),
        formula: f.formula.to_string(),
        inputs: f
            .inputs
            .iter()
            .map(|i| FigureInput {
                line: i.line.to_string(),
                period: i.period.to_string(),
                value: i.value.to_string(),
                accounts: i
                    .accounts
                    .iter()
                    .flat_map(|list| list.iter())
                    .map(|a| crate::AccountAmountFfi {
                        account: a.account.clone(),
                        name: a.name.clone(),
                        amount: a.amount.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        reason: f.reason.clone(),
    }
}

/// Every catalogue metric for every period of a `finops.statements/v1` JSON document.
#[uniffi::export]
pub fn compute_metrics(statements_json: String) -> Result<Vec<Figure>, FinopsError> {
    crate::runtime::guard(|| {
        let s = Statements::from_json_str(&statements_json)?;
        Ok(metrics::compute_all(&s).iter().map(figure).collect())
    })
}
