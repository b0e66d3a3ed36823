//! What accounting software holds, read into `finops.statements/v1`: trial balances (`finops.trial_balance/v1` as
//! JSON or CSV) on the CRA's GIFI, the French PCG or the host's own chart; French FECs; QuickBooks Online and Xero
//! report JSON. Every line built from accounts keeps them ([`crate::statements::Period::accounts`]), so a figure's
//! inputs lead back to the ledger. See `docs/ledgers.md` for the formats and the mappings.
//!
//! ```
//! use finops_core::ledger::{self, ReadOptions, Source};
//! use finops_core::statements::Line;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.gifi.json");
//! let bytes = std::fs::read(path)?;
//! let statements = ledger::read(&[Source::named(path, &bytes)], &ReadOptions::default())?;
//! let fy2023 = statements.period("FY2023").unwrap();
//! let cash = fy2023.accounts(Line::Cash).unwrap();
//! assert!(cash.iter().any(|a| a.account == "1001"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod book;
mod cash_flow;
mod chart;
mod fec;
mod gifi;
mod pcg;
mod reports;
pub mod schema;
mod trial_balance;

use std::collections::HashMap;

use serde_json::Value;

pub use chart::{Chart, CustomChart};

use crate::error::{Error, FieldIssue, Result};
use crate::statements::{Line, Statements};

/// The largest ledger file read: 1 GiB (a million-line FEC is about 200 MB).
pub const MAX_LEDGER_BYTES: usize = 1 << 30;
/// The most accounts one period of a trial balance may hold.
pub const MAX_ACCOUNTS: usize = 1_000_000;

/// The formats finops reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detected from the content (never from the file name alone).
    #[default]
    Auto,
    /// `finops.statements/v1` JSON.
    Statements,
    /// `finops.trial_balance/v1` JSON.
    TrialBalance,
    /// A trial balance as CSV (`period,start,end,account,name,debit,credit` or `balance`; French headers too).
    Csv,
    /// A French FEC (fichier des écritures comptables).
    Fec,
    /// QuickBooks Online report JSON (Balance Sheet, Profit and Loss, Cash Flow).
    QuickBooks,
    /// Xero report JSON (Balance Sheet, Profit and Loss).
    Xero,
}

impl Format {
    /// The stable name (`trial-balance`, `fec`, …), as options and errors give it.
    pub fn id(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Statements => "statements",
            Format::TrialBalance => "trial-balance",
            Format::Csv => "csv",
            Format::Fec => "fec",
            Format::QuickBooks => "quickbooks",
            Format::Xero => "xero",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        let all = [
            Format::Auto,
            Format::Statements,
            Format::TrialBalance,
            Format::Csv,
            Format::Fec,
            Format::QuickBooks,
            Format::Xero,
        ];
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        all.into_iter().find(|f| f.id() == wanted).ok_or_else(|| {
            Error::invalid_argument(
                "format",
                format!(
                    "unknown format \"{s}\"; expected one of: {}",
                    all.map(Format::id).join(", ")
                ),
            )
        })
    }
}

/// What to do with an account the chart cannot place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Refuse the input, naming the account (the default: nothing is guessed).
    #[default]
    Error,
    /// Count it in the "other" line of its class, with a warning naming it.
    Other,
}

/// Company fields a format may not hold, given (or overridden) by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyFields {
    /// The company's name.
    pub name: Option<String>,
    /// Its industry in words.
    pub sector: Option<String>,
    /// NAICS code, 2 to 6 digits.
    pub naics: Option<String>,
    /// Such as `CA-QC` or `FR`.
    pub jurisdiction: Option<String>,
    /// ISO 4217 code of every amount.
    pub currency: Option<String>,
}

impl CompanyFields {
    /// These fields, each one given here replacing the one in `base`.
    fn over(&self, base: &CompanyFields) -> CompanyFields {
        CompanyFields {
            name: self.name.clone().or_else(|| base.name.clone()),
            sector: self.sector.clone().or_else(|| base.sector.clone()),
            naics: self.naics.clone().or_else(|| base.naics.clone()),
            jurisdiction: self
                .jurisdiction
                .clone()
                .or_else(|| base.jurisdiction.clone()),
            currency: self.currency.clone().or_else(|| base.currency.clone()),
        }
    }
}

/// How to read a ledger.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format; `Auto` detects it from the content.
    pub format: Format,
    /// The chart of accounts; replaces the one a trial balance names. Required for CSV trial balances.
    pub chart: Option<Chart>,
    /// Company fields supplied or overridden by the caller.
    pub company: CompanyFields,
    /// What to do with an account the chart cannot place: refuse, or count it as "other" of its class.
    pub unmapped: Unmapped,
    /// Lines for given accounts (account number or QuickBooks / Xero account id), ahead of the chart.
    pub overrides: HashMap<String, Line>,
    /// Derive the cash flow lines of periods without a cash flow statement from consecutive balance sheets (the
    /// indirect method; every derived figure lists its terms as inputs). Off by default: a ledger holds no cash
    /// movements, and the derivation assumes no disposals and no share issues.
    pub derive_cash_flow: bool,
}

/// One input: its bytes, and its name when it has one (a file name: FEC names carry the closing date).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file's name, which helps detection and names the source in errors.
    pub name: Option<&'a str>,
    /// The file's content.
    pub bytes: &'a [u8],
}

impl<'a> Source<'a> {
    /// A source without a name.
    pub fn new(bytes: &'a [u8]) -> Self {
        Source { name: None, bytes }
    }

    /// A source with its file's name.
    pub fn named(name: &'a str, bytes: &'a [u8]) -> Self {
        Source {
            name: Some(name),
            bytes,
        }
    }

    /// How errors name this source: its file name, or `sources[i]`.
    fn label(&self, i: usize) -> String {
        match self.name {
            Some(n) => n.rsplit(['/', '\\']).next().unwrap_or(n).to_string(),
            None => format!("sources[{i}]"),
        }
    }
}

/// Reads one input in any format finops knows.
pub fn read_one(bytes: &[u8], options: &ReadOptions) -> Result<Statements> {
    read(&[Source::new(bytes)], options)
}

/// Reads one company's statements from one or more inputs of the same format: one statements or trial balance
/// document, several trial balances or FEC files (one period or more each), or the QuickBooks / Xero reports
/// (balance sheet, profit and loss, cash flow) of the same periods.
pub fn read(sources: &[Source<'_>], options: &ReadOptions) -> Result<Statements> {
    if sources.is_empty() {
        return Err(Error::invalid_argument("sources", "no input given"));
    }
    let mut formats = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        if s.bytes.len() > MAX_LEDGER_BYTES {
            return Err(Error::invalid_statements(vec![FieldIssue::new(
                s.label(i),
                format!(
                    "the input is {} bytes; at most {MAX_LEDGER_BYTES} are read",
                    s.bytes.len()
                ),
            )]));
        }
        let format = match options.format {
            Format::Auto => detect(s.bytes).map_err(|reason| {
                Error::invalid_statements(vec![FieldIssue::new(s.label(i), reason)])
            })?,
            f => f,
        };
        formats.push(format);
    }
    let family = |f: Format| match f {
        Format::TrialBalance | Format::Csv | Format::Fec => Format::TrialBalance,
        f => f,
    };
    if let Some(i) = formats
        .iter()
        .position(|f| family(*f) != family(formats[0]))
    {
        return Err(Error::invalid_statements(vec![FieldIssue::new(
            sources[i].label(i),
            format!(
                "is {} while {} is {}; one company's inputs are read together only in one format",
                formats[i].id(),
                sources[0].label(0),
                formats[0].id()
            ),
        )]));
    }
    match family(formats[0]) {
        Format::Statements => {
            if sources.len() > 1 {
                return Err(Error::invalid_statements(vec![FieldIssue::new(
                    sources[1].label(1),
                    "a finops.statements/v1 document holds every period; give one",
                )]));
            }
            statements_with_overrides(sources[0].bytes, &options.company)
        }
        Format::QuickBooks | Format::Xero => {
            with_cash_flow(reports::read(sources, &formats, options)?, options)
        }
        _ => with_cash_flow(trial_balance::read(sources, &formats, options)?, options),
    }
}

fn with_cash_flow(statements: Statements, options: &ReadOptions) -> Result<Statements> {
    if options.derive_cash_flow {
        cash_flow::derive_missing(statements)
    } else {
        Ok(statements)
    }
}

/// A statements document, with the caller's company fields in place of the document's.
fn statements_with_overrides(bytes: &[u8], company: &CompanyFields) -> Result<Statements> {
    // Without overrides, or past the document size limit or with a duplicate key, the plain reader answers (and
    // refuses what it refuses).
    if *company == CompanyFields::default()
        || bytes.len() > crate::statements::MAX_DOCUMENT_BYTES
        || crate::statements::first_duplicate_key(bytes).is_some()
    {
        return Statements::from_json_slice(bytes);
    }
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid_statements(vec![FieldIssue::new("$", format!("malformed JSON: {e}"))])
    })?;
    if let Some(Value::Object(c)) = value.get_mut("company") {
        for (key, v) in [
            ("name", &company.name),
            ("sector", &company.sector),
            ("naics", &company.naics),
            ("jurisdiction", &company.jurisdiction),
            ("currency", &company.currency),
        ] {
            if let Some(v) = v {
                c.insert(key.into(), Value::String(v.clone()));
            }
        }
    }
    Statements::from_json_value(&value)
}

/// Which format these bytes are in, from their content; the reason when none fits.
pub fn detect(bytes: &[u8]) -> std::result::Result<Format, String> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err("is empty".into());
    };
    if matches!(text[start], b'{' | b'[') {
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        return detect_json(&value);
    }
    let first_line = text[start..]
        .split(|b| *b == b'\n')
        .next()
        .unwrap_or_default();
    let header = String::from_utf8_lossy(first_line).to_lowercase();
    if header.contains("journalcode")
        && header.contains("ecriturenum")
        && header.contains("comptenum")
    {
        return Ok(Format::Fec);
    }
    let has = |names: &[&str]| names.iter().any(|n| header.contains(n));
    if has(&["account", "compte"]) && has(&["debit", "débit", "balance", "solde"]) {
        return Ok(Format::Csv);
    }
    Err(
        "is in no format finops reads: not JSON (statements, trial balance, QuickBooks, Xero), not an FEC \
         (its header names JournalCode, EcritureNum, CompteNum…), not a trial balance CSV (its header names an \
         account column and debit/credit or balance columns)"
            .into(),
    )
}

fn detect_json(value: &Value) -> std::result::Result<Format, String> {
    match value.get("schema").and_then(Value::as_str) {
        Some(crate::statements::SCHEMA_V1) => return Ok(Format::Statements),
        Some(trial_balance::SCHEMA) => return Ok(Format::TrialBalance),
        Some(other) => {
            return Err(format!(
                "names the schema \"{other}\"; finops reads \"{}\" and \"{}\"",
                crate::statements::SCHEMA_V1,
                trial_balance::SCHEMA
            ));
        }
        None => {}
    }
    if reports::is_quickbooks(value) {
        return Ok(Format::QuickBooks);
    }
    if reports::is_xero(value) {
        return Ok(Format::Xero);
    }
    Err(
        "is JSON but no format finops reads: no \"schema\" (finops.statements/v1, finops.trial_balance/v1), not a \
         QuickBooks Online report (Header.ReportName and Rows.Row) nor a Xero report (Reports[].Rows with RowType)"
            .into(),
    )
}

impl ReadOptions {
    /// Options as bindings pass them: `{"format": "auto", "chart": "gifi" | "pcg" | {custom} | "path or JSON
    /// text of a custom chart", "company": {"name": …},
    /// "unmapped": "error" | "other", "overrides": {"account": "line"}, "derive_cash_flow": false}`, every key
    /// optional.
    pub fn from_json_value(value: &Value) -> Result<ReadOptions> {
        let bad = |field: &str, reason: String| Error::invalid_argument(field, reason);
        let Some(map) = value.as_object() else {
            return Err(bad("options", "must be an object".into()));
        };
        let mut options = ReadOptions::default();
        for (key, v) in map {
            if v.is_null() {
                continue;
            }
            match key.as_str() {
                "format" => {
                    options.format = v
                        .as_str()
                        .ok_or_else(|| bad("format", "must be a string".into()))?
                        .parse()?;
                }
                "chart" => {
                    options.chart = Some(match v {
                        Value::String(text) => Chart::from_argument(text)?,
                        other => Chart::from_json_value(other)?,
                    })
                }
                "company" => {
                    let c = v
                        .as_object()
                        .ok_or_else(|| bad("company", "must be an object".into()))?;
                    let mut fields = CompanyFields::default();
                    for (k, v) in c {
                        let slot = match k.as_str() {
                            "name" => &mut fields.name,
                            "sector" => &mut fields.sector,
                            "naics" => &mut fields.naics,
                            "jurisdiction" => &mut fields.jurisdiction,
                            "currency" => &mut fields.currency,
                            other => {
                                return Err(bad(
                                    &format!("company.{other}"),
                                    "unknown field; expected one of: name, sector, naics, jurisdiction, currency"
                                        .into(),
                                ));
                            }
                        };
                        match v {
                            Value::Null => {}
                            Value::String(s) => *slot = Some(s.clone()),
                            _ => {
                                return Err(bad(
                                    &format!("company.{k}"),
                                    "must be a string".into(),
                                ));
                            }
                        }
                    }
                    options.company = fields;
                }
                "unmapped" => {
                    options.unmapped = match v.as_str() {
                        Some("error") => Unmapped::Error,
                        Some("other") => Unmapped::Other,
                        _ => return Err(bad("unmapped", "must be \"error\" or \"other\"".into())),
                    }
                }
                "derive_cash_flow" => {
                    options.derive_cash_flow = v
                        .as_bool()
                        .ok_or_else(|| bad("derive_cash_flow", "must be true or false".into()))?;
                }
                "overrides" => {
                    let o = v.as_object().ok_or_else(|| {
                        bad("overrides", "must be an object of account → line".into())
                    })?;
                    for (account, line) in o {
                        let line = line
                            .as_str()
                            .and_then(|l| l.parse::<Line>().ok())
                            .ok_or_else(|| {
                                bad(
                                    &format!("overrides.{account}"),
                                    format!("{line} is not a line of finops.statements/v1"),
                                )
                            })?;
                        options.overrides.insert(account.clone(), line);
                    }
                }
                other => {
                    return Err(bad(
                        other,
                        "unknown option; expected one of: format, chart, company, unmapped, overrides, derive_cash_flow".into(),
                    ));
                }
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model's prompt is sized on the lines, never on the accounts behind them: statements read from a ledger cost
    /// the same to budget as the same numbers given plainly.
    #[test]
    fn prompt_size_ignores_provenance() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/");
        let plain = crate::Statements::from_json_str(
            &std::fs::read_to_string(format!("{dir}bistro-saint-denis.json")).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(format!("{dir}bistro-saint-denis.gifi.json")).unwrap_or_default();
        let read = read_one(&bytes, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(read.canonical_json().len() > 2 * plain.canonical_json().len());
        assert_eq!(read.lines_json_len(), plain.canonical_json().len());
    }
}
