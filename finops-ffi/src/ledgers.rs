//! Ledger inputs and the typed statements builder for Kotlin and Swift: records in, the core's readers behind,
//! canonical `finops.statements/v1` JSON (with each line's accounts) out.

use std::collections::HashMap;

use finops_core::ledger::{ReadOptions, Source, read};
use finops_core::statements::StatementsBuilder;
use serde_json::{Map, Value, json};

use crate::FinopsError;

/// One input: its bytes, and its file name when it has one (an FEC's name carries its closing date).
#[derive(Debug, Clone, uniffi::Record)]
pub struct LedgerSourceFfi {
    #[uniffi(default = None)]
    pub name: Option<String>,
    pub content: Vec<u8>,
}

/// Company fields a format does not hold (or overrides of the document's).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CompanyFieldsFfi {
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub sector: Option<String>,
    #[uniffi(default = None)]
    pub naics: Option<String>,
    #[uniffi(default = None)]
    pub jurisdiction: Option<String>,
    #[uniffi(default = None)]
    pub currency: Option<String>,
}

/// How to read ledger inputs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReadOptionsFfi {
    /// `auto` (detected from the content), `statements`, `trial-balance`, `csv`, `fec`, `quickbooks`, `xero`.
    #[uniffi(default = None)]
    pub format: Option<String>,
    /// `gifi`, `pcg`, a custom chart as JSON text (`{"name": …, "map": [{"accounts": …, "line": …}]}`), or the
    /// path of a file holding one.
    #[uniffi(default = None)]
    pub chart: Option<String>,
    #[uniffi(default = None)]
    pub company: Option<CompanyFieldsFfi>,
    /// Count accounts the chart cannot place as "other" of their class, with a warning, instead of refusing.
    #[uniffi(default = false)]
    pub unmapped_as_other: bool,
    /// Account number or id → statement line, ahead of the chart.
    #[uniffi(default = None)]
    pub overrides: Option<HashMap<String, String>>,
    /// Derive missing cash flow lines from consecutive balance sheets (indirect method; inputs list the terms).
    #[uniffi(default = false)]
    pub derive_cash_flow: bool,
}

/// An account's part in a line: exact decimal text, in the line's own sign.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AccountAmountFfi {
    pub account: String,
    pub name: String,
    pub amount: String,
}

/// One period's lines for [`build_statements`]: line id → exact decimal text, and optionally each line's accounts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PeriodLinesFfi {
    pub label: String,
    pub start: String,
    pub end: String,
    pub lines: HashMap<String, String>,
    #[uniffi(default = None)]
    pub accounts: Option<HashMap<String, Vec<AccountAmountFfi>>>,
}

fn company_value(c: &CompanyFieldsFfi) -> Value {
    json!({"name": c.name, "sector": c.sector, "naics": c.naics, "jurisdiction": c.jurisdiction, "currency": c.currency})
}

/// Statements from ledger inputs in any format finops reads, as canonical `finops.statements/v1` JSON whose
/// periods carry each line's accounts (ready for `computeMetrics` and analyses).
#[uniffi::export]
pub fn read_statements(
    sources: Vec<LedgerSourceFfi>,
    options: ReadOptionsFfi,
) -> Result<String, FinopsError> {
    crate::runtime::guard(|| {
        let mut o = Map::new();
        if let Some(f) = &options.format {
            o.insert("format".into(), Value::String(f.clone()));
        }
        if let Some(chart) = &options.chart {
            o.insert("chart".into(), Value::String(chart.clone()));
        }
        if let Some(c) = &options.company {
            o.insert("company".into(), company_value(c));
        }
        if options.unmapped_as_other {
            o.insert("unmapped".into(), Value::String("other".into()));
        }
        if options.derive_cash_flow {
            o.insert("derive_cash_flow".into(), Value::Bool(true));
        }
        if let Some(overrides) = &options.overrides {
            o.insert("overrides".into(), json!(overrides));
        }
        let options = ReadOptions::from_json_value(&Value::Object(o))?;
        let sources: Vec<Source<'_>> = sources
            .iter()
            .map(|s| match &s.name {
                Some(n) => Source::named(n, &s.content),
                None => Source::new(&s.content),
            })
            .collect();
        Ok(read(&sources, &options)?.canonical_json())
    })
}

/// Statements from typed lines: totals left out are computed, and the result is validated exactly as a JSON
/// document is. Returns canonical `finops.statements/v1` JSON.
#[uniffi::export]
pub fn build_statements(
    company: CompanyFieldsFfi,
    periods: Vec<PeriodLinesFfi>,
) -> Result<String, FinopsError> {
    crate::runtime::guard(|| {
        let periods: Vec<Value> = periods
            .iter()
            .map(|p| {
                let accounts: Map<String, Value> = p
                    .accounts
                    .iter()
                    .flatten()
                    .map(|(line, list)| {
                        let list = list
                            .iter()
                            .map(|a| json!({"account": a.account, "name": a.name, "amount": a.amount}))
                            .collect();
                        (line.clone(), Value::Array(list))
                    })
                    .collect();
                json!({"label": p.label, "start": p.start, "end": p.end, "lines": p.lines, "accounts": accounts})
            })
            .collect();
        let input = json!({"company": company_value(&company), "periods": periods});
        Ok(StatementsBuilder::from_json_value(&input)?.canonical_json())
    })
}
