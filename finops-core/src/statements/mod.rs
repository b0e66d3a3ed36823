//! The input document, `finops.statements/v1` (see `spec/statements-v1.md`): one client company and its fiscal
//! periods, parsed with exact decimals and validated rule by rule.
//!
//! ```
//! let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! let statements = finops_core::Statements::from_json_str(&json)?;
//! assert_eq!(statements.periods().len(), 3);
//! assert!(statements.warnings().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod canonical;
mod duplicates;
mod line;
mod parse;
pub mod schema;

pub use builder::{PeriodBuilder, StatementsBuilder};

pub use parse::{
    MAX_AMOUNT_DIGITS, MAX_AMOUNT_SCALE, MAX_DOCUMENT_BYTES, MAX_LABEL_CHARS, MAX_PERIODS,
    MAX_TEXT_CHARS,
};
pub(crate) use parse::{json_kind, parse_amount, parse_date, same_cents};

/// The path of the first key that appears twice in an object of this JSON text, if any.
pub(crate) fn first_duplicate_key(json: &[u8]) -> Option<String> {
    match duplicates::decode(json) {
        Err(duplicates::Refusal::Duplicate(path)) => Some(path),
        _ => None,
    }
}

/// JSON text decoded in one pass that refuses a repeated key; malformed text is named under `field`.
pub(crate) fn decode_json(json: &[u8], field: &str) -> Result<serde_json::Value> {
    duplicates::decode(json).map_err(|refusal| match refusal {
        duplicates::Refusal::Malformed(e) => {
            crate::error::Error::invalid_statements(vec![crate::error::FieldIssue::new(
                field,
                format!(
                    "malformed JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )])
        }
        duplicates::Refusal::Duplicate(path) => {
            crate::error::Error::invalid_statements(vec![crate::error::FieldIssue::new(
                path,
                "this key appears more than once in its object; only one value is allowed",
            )])
        }
    })
}

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

pub use line::{Line, Section};

use crate::error::Result;

/// The schema identifier this version of finops reads.
pub const SCHEMA_V1: &str = "finops.statements/v1";

/// The client company the statements describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    /// The company's name.
    pub name: String,
    /// Free-text sector such as `restaurants`; used to share analysis plans between similar clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// NAICS code (2 to 6 digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naics: Option<String>,
    /// Jurisdiction such as `CA-QC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// ISO 4217 currency code of every amount.
    pub currency: String,
}

/// One fiscal period and its amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Shared (not copied) by every figure and input amount of the period.
    pub label: Arc<str>,
    /// The first day of the period.
    pub start: NaiveDate,
    /// The last day of the period.
    pub end: NaiveDate,
    amounts: [Option<Decimal>; Line::COUNT],
    has_cash_flow: bool,
    /// Position of this period in the host's document, for error and warning paths.
    source_index: usize,
    /// For a period read from a ledger: the accounts that made each line (indexed like `amounts`).
    accounts: Option<LineAccounts>,
}

/// Each line's accounts, indexed like a period's amounts.
pub(crate) type LineAccounts = Arc<[Arc<[AccountAmount]>]>;

/// One ledger account's part in a statement line: the provenance a CPA follows from a figure to the books.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct AccountAmount {
    /// The account number as the books hold it (`"1001"`, `"512000"`, a QuickBooks or Xero account id).
    pub account: String,
    /// The account's name in the books.
    pub name: String,
    /// What the account adds to the line, in the line's own sign: a contra account (accumulated amortization,
    /// an allowance) is negative in its asset's line, a credit balance is positive in a liability's.
    pub amount: Decimal,
}

impl Period {
    /// The amount of a line, or `None` when the document left the (optional) line out.
    pub fn amount(&self, line: Line) -> Option<Decimal> {
        self.amounts[line.index()]
    }

    /// The amount of a line, counting an absent optional line as zero (as the spec says sums do).
    pub fn amount_or_zero(&self, line: Line) -> Decimal {
        self.amount(line).unwrap_or(Decimal::ZERO)
    }

    /// Whether the document has a cash flow statement for this period.
    pub fn has_cash_flow(&self) -> bool {
        self.has_cash_flow
    }

    /// Index of this period in the host's `periods` array (before ordering by end date).
    pub fn source_index(&self) -> usize {
        self.source_index
    }

    /// The accounts that made a line, when the period was read from a ledger (trial balance, FEC, QuickBooks,
    /// Xero) or built with accounts; `None` for a line given as a plain amount. A total's accounts are those of
    /// the lines it adds up.
    pub fn accounts(&self, line: Line) -> Option<&Arc<[AccountAmount]>> {
        self.accounts
            .as_ref()
            .and_then(|a| a.get(line.index()))
            .filter(|a| !a.is_empty())
    }

    /// Days in the period: 365 for a twelve-month period, otherwise calendar days from start to end inclusive.
    pub fn days(&self) -> i64 {
        let twelve_months = self
            .start
            .checked_add_months(chrono::Months::new(12))
            .and_then(|d| d.pred_opt());
        if twelve_months == Some(self.end) {
            365
        } else {
            (self.end - self.start).num_days() + 1
        }
    }
}

/// A problem that does not stop the analysis but that the host and the report must mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Warning {
    /// Stable code, e.g. `net_income_mismatch`.
    pub code: String,
    /// JSON path of the field concerned.
    pub field: String,
    /// What the reader should know.
    pub message: String,
}

/// A parsed and validated statements document. Periods are ordered by end date, oldest first.
#[derive(Debug, Clone)]
pub struct Statements {
    company: Company,
    periods: Vec<Period>,
    /// For each period (same order), the index of its previous consecutive period.
    previous: Vec<Option<usize>>,
    warnings: Vec<Warning>,
    fingerprint: String,
}

impl Statements {
    /// Parses and validates a JSON document given as text.
    pub fn from_json_str(json: &str) -> Result<Self> {
        parse::from_str(json)
    }

    /// Parses and validates a JSON document given as bytes (UTF-8).
    pub fn from_json_slice(json: &[u8]) -> Result<Self> {
        parse::from_slice(json)
    }

    /// Validates an already decoded JSON value. Numbers keep their exact decimal text.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self> {
        parse::from_value(value)
    }

    /// A builder for hosts that already hold statement lines: totals left out are computed from their lines, and
    /// the result is validated exactly as [`Statements::from_json_str`] validates a document.
    ///
    /// ```
    /// use finops_core::statements::{Company, Line, PeriodBuilder};
    /// use finops_core::{Decimal, Statements};
    ///
    /// let d = |s: &str| s.parse::<Decimal>().unwrap();
    /// let company = Company::new("Atelier Nord", "CAD");
    /// let period = PeriodBuilder::new("FY2024", "2024-01-01", "2024-12-31")
    ///     .line(Line::Revenue, d("1000")).line(Line::CostOfGoodsSold, d("400"))
    ///     .line(Line::OperatingExpenses, d("300")).line(Line::DepreciationAmortization, d("50"))
    ///     .line(Line::InterestExpense, d("10")).line(Line::IncomeTaxExpense, d("40"))
    ///     .line(Line::Cash, d("500")).line(Line::AccountsReceivable, d("200"))
    ///     .line(Line::OtherCurrentAssets, d("0")).line(Line::PropertyPlantEquipment, d("300"))
    ///     .line(Line::OtherNonCurrentAssets, d("0")).line(Line::AccountsPayable, d("100"))
    ///     .line(Line::ShortTermDebt, d("50")).line(Line::OtherCurrentLiabilities, d("50"))
    ///     .line(Line::LongTermDebt, d("300")).line(Line::OtherNonCurrentLiabilities, d("0"))
    ///     .line(Line::TotalEquity, d("500"));
    /// let statements = Statements::builder(company).period(period).build()?;
    /// assert_eq!(statements.latest().amount(Line::TotalAssets), Some(d("1000")));
    /// assert_eq!(statements.latest().amount(Line::NetIncome), Some(d("200")));
    /// # Ok::<(), finops_core::Error>(())
    /// ```
    pub fn builder(company: Company) -> StatementsBuilder {
        StatementsBuilder::new(company)
    }

    /// Replaces the warnings (a ledger reader that rebuilt the statements keeps the first reading's).
    pub(crate) fn with_warnings_replaced(mut self, warnings: Vec<Warning>) -> Self {
        self.warnings = warnings;
        self
    }

    /// Adds warnings found while reading a ledger.
    pub(crate) fn with_warnings(mut self, mut warnings: Vec<Warning>) -> Self {
        self.warnings.append(&mut warnings);
        self
    }

    /// Attaches the accounts of each line to the periods (given in the host's order, by source index) and
    /// recomputes the fingerprint, which covers them.
    pub(crate) fn with_accounts(mut self, accounts: Vec<Option<LineAccounts>>) -> Self {
        for period in &mut self.periods {
            period.accounts = accounts.get(period.source_index).cloned().flatten();
        }
        self.fingerprint = canonical::fingerprint(&self.company, &self.periods);
        self
    }

    pub(crate) fn assemble(
        company: Company,
        mut periods: Vec<Period>,
        mut warnings: Vec<Warning>,
    ) -> Self {
        periods.sort_by(|a, b| a.end.cmp(&b.end).then(a.start.cmp(&b.start)));
        let previous = periods
            .iter()
            .map(|p| {
                periods
                    .iter()
                    .position(|q| q.end.succ_opt() == Some(p.start))
            })
            .collect();
        for pair in periods.windows(2) {
            if pair[1].start <= pair[0].end {
                warnings.push(Warning {
                    code: "overlapping_periods".into(),
                    field: format!("periods[{}].start", pair[1].source_index),
                    message: format!(
                        "period {} starts on {} before period {} ends on {}",
                        pair[1].label, pair[1].start, pair[0].label, pair[0].end
                    ),
                });
            }
        }
        let fingerprint = canonical::fingerprint(&company, &periods);
        Statements {
            company,
            periods,
            previous,
            warnings,
            fingerprint,
        }
    }

    /// The client company.
    pub fn company(&self) -> &Company {
        &self.company
    }

    /// The periods, oldest first (ordered by end date whatever the document's order).
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// The period with this label.
    pub fn period(&self, label: &str) -> Option<&Period> {
        self.periods.iter().find(|p| &*p.label == label)
    }

    /// Position (in [`Statements::periods`]) of the period with this label.
    pub fn period_index(&self, label: &str) -> Option<usize> {
        self.periods.iter().position(|p| &*p.label == label)
    }

    /// The most recent period (a document always has at least one).
    pub fn latest(&self) -> &Period {
        // Parsing refuses a document without periods, so the vector is never empty.
        &self.periods[self.periods.len() - 1]
    }

    /// The period that ends the day before the period at `index` starts, if the document has it.
    pub fn previous_consecutive(&self, index: usize) -> Option<&Period> {
        self.previous
            .get(index)
            .copied()
            .flatten()
            .map(|i| &self.periods[i])
    }

    /// Non-fatal findings of validation (e.g. a net income that does not add up).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// SHA-256 (hex) of the document's canonical form: insensitive to key order, period order and number
    /// formatting (`"1200.50"`, `1200.5` and `"1200.500"` are the same amount). Caches key on it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The canonical JSON form the fingerprint is computed from.
    pub fn canonical_json(&self) -> String {
        canonical::canonical_json(&self.company, &self.periods)
    }

    /// The canonical form's size without the accounts behind the lines: what a model's prompt holds of the
    /// statements (figures, never the ledger's accounts).
    pub(crate) fn lines_json_len(&self) -> usize {
        canonical::canonical_lines_json(&self.company, &self.periods).len()
    }
}

impl Company {
    /// A company with its name and currency (ISO 4217) and no other field.
    pub fn new(name: impl Into<String>, currency: impl Into<String>) -> Self {
        Company {
            name: name.into(),
            sector: None,
            naics: None,
            jurisdiction: None,
            currency: currency.into(),
        }
    }
}

impl std::str::FromStr for Statements {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        Statements::from_json_str(s)
    }
}

#[cfg(test)]
mod tests;
