//! Parsing and validation of `finops.statements/v1`. Every problem is collected with its JSON path, so a host can
//! show them all at once; nothing is guessed (unknown keys are refused, so a misspelt optional line is not lost).

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value};

use super::{Company, Line, Period, SCHEMA_V1, Section, Statements, Warning};
use crate::error::{Error, FieldIssue, Result};

pub(super) fn from_str(json: &str) -> Result<Statements> {
    from_slice(json.as_bytes())
}

pub(super) fn from_slice(json: &[u8]) -> Result<Statements> {
    // Refused before any parsing: a host handing a huge file gets an answer at once.
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid_statements(vec![FieldIssue::new(
            "$",
            format!(
                "the document is {} bytes; at most {MAX_DOCUMENT_BYTES} are read",
                json.len()
            ),
        )]));
    }
    // One pass: decoded, and any repeated key noticed, together.
    from_value(&super::decode_json(json, "$")?)
}

pub(super) fn from_value(value: &Value) -> Result<Statements> {
    let mut v = Validator::default();
    let Some(doc) = value.as_object() else {
        return Err(Error::invalid_statements(vec![FieldIssue::new(
            "$",
            format!(
                "the document must be a JSON object, found {}",
                json_kind(value)
            ),
        )]));
    };
    v.unknown_keys(doc, "", &["schema", "company", "periods"]);
    match doc.get("schema") {
        None => v.issue("schema", format!("missing; expected \"{SCHEMA_V1}\"")),
        Some(Value::String(s)) if s == SCHEMA_V1 => {}
        Some(Value::String(s)) => {
            // An unknown schema means the rest cannot be read reliably: stop here.
            v.issue(
                "schema",
                format!("unknown schema \"{s}\"; this version reads \"{SCHEMA_V1}\""),
            );
            return Err(Error::invalid_statements(v.issues));
        }
        Some(other) => v.issue(
            "schema",
            format!(
                "must be the string \"{SCHEMA_V1}\", found {}",
                json_kind(other)
            ),
        ),
    }
    let company = v.company(doc.get("company"));
    let periods = v.periods(doc.get("periods"));
    match (company, periods) {
        (Some(company), Some(periods)) if v.issues.is_empty() => {
            Ok(Statements::assemble(company, periods, v.warnings))
        }
        _ => Err(Error::invalid_statements(v.issues)),
    }
}

#[derive(Default)]
struct Validator {
    issues: Vec<FieldIssue>,
    warnings: Vec<Warning>,
}

impl Validator {
    fn issue(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        // A hostile document can hold a million mistakes; the error reports the first ones.
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(FieldIssue::new(field, reason));
        } else if self.issues.len() == MAX_ISSUES {
            self.issues.push(FieldIssue::new(
                "$",
                format!("more than {MAX_ISSUES} problems; the first {MAX_ISSUES} are listed"),
            ));
        }
    }

    fn warn(&mut self, code: &str, field: String, message: String) {
        self.warnings.push(Warning {
            code: code.into(),
            field,
            message,
        });
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, prefix: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                self.issue(
                    join(prefix, key),
                    format!("unknown field; expected one of: {}", known.join(", ")),
                );
            }
        }
    }

    fn object<'a>(
        &mut self,
        value: Option<&'a Value>,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match value {
            None | Some(Value::Null) => {
                self.issue(path, "missing; this object is required");
                None
            }
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                self.issue(
                    path,
                    format!("must be a JSON object, found {}", json_kind(other)),
                );
                None
            }
        }
    }

    fn string(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        prefix: &str,
        required: bool,
    ) -> Option<String> {
        // The path is only written out for an issue: this runs for every text of every document.
        let path = || join(prefix, key);
        match map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.issue(path(), "missing; this text field is required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.issue(path(), "must not be empty");
                None
            }
            // Texts reach prompts, reports and terminals: bounded, and no control characters.
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => {
                self.issue(
                    path(),
                    format!("is longer than {MAX_TEXT_CHARS} characters"),
                );
                None
            }
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                self.issue(
                    path(),
                    "must not contain control characters (line breaks, escapes, NUL…)",
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.issue(
                    path(),
                    format!("must be a string, found {}", json_kind(other)),
                );
                None
            }
        }
    }

    fn company(&mut self, value: Option<&Value>) -> Option<Company> {
        let map = self.object(value, "company")?;
        self.unknown_keys(
            map,
            "company",
            &["name", "sector", "naics", "jurisdiction", "currency"],
        );
        let before = self.issues.len();
        let name = self.string(map, "name", "company", true);
        let sector = self.string(map, "sector", "company", false);
        let naics = self.string(map, "naics", "company", false);
        let jurisdiction = self.string(map, "jurisdiction", "company", false);
        let currency = self.string(map, "currency", "company", true);
        if let Some(n) = &naics
            && (!(2..=6).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            self.issue(
                "company.naics",
                format!("\"{n}\" is not a NAICS code (2 to 6 digits)"),
            );
        }
        if let Some(c) = &currency
            && (c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            self.issue(
                "company.currency",
                format!("\"{c}\" is not an ISO 4217 code (three capital letters such as CAD)"),
            );
        }
        if self.issues.len() > before {
            return None;
        }
        Some(Company {
            name: name?,
            sector,
            naics,
            jurisdiction,
            currency: currency?,
        })
    }

    fn periods(&mut self, value: Option<&Value>) -> Option<Vec<Period>> {
        let items = match value {
            None | Some(Value::Null) => {
                self.issue("periods", "missing; at least one period is required");
                return None;
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.issue("periods", "must hold at least one period");
                return None;
            }
            Some(Value::Array(items)) if items.len() > MAX_PERIODS => {
                self.issue(
                    "periods",
                    format!(
                        "holds {} periods; at most {MAX_PERIODS} are read",
                        items.len()
                    ),
                );
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.issue(
                    "periods",
                    format!("must be an array of periods, found {}", json_kind(other)),
                );
                return None;
            }
        };
        let mut labels = HashSet::new();
        let mut periods = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(p) = self.period(item, i) {
                if !labels.insert(p.label.clone()) {
                    self.issue(
                        format!("periods[{i}].label"),
                        format!(
                            "duplicate label \"{}\"; period labels must be unique",
                            p.label
                        ),
                    );
                }
                periods.push(p);
            }
        }
        (periods.len() == items.len()).then_some(periods)
    }

    fn period(&mut self, value: &Value, i: usize) -> Option<Period> {
        let prefix = format!("periods[{i}]");
        let map = self.object(Some(value), &prefix)?;
        self.unknown_keys(
            map,
            &prefix,
            &[
                "label",
                "start",
                "end",
                "income_statement",
                "balance_sheet",
                "cash_flow",
                "accounts",
            ],
        );
        let before = self.issues.len();
        let label = self.string(map, "label", &prefix, true);
        if let Some(l) = &label
            && l.chars().count() > MAX_LABEL_CHARS
        {
            self.issue(
                format!("{prefix}.label"),
                format!("is longer than {MAX_LABEL_CHARS} characters"),
            );
        }
        let start = self.date(map, "start", &prefix);
        let end = self.date(map, "end", &prefix);
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            self.issue(
                format!("{prefix}.start"),
                format!("start {s} is after end {e}"),
            );
        }
        let mut amounts = [None; Line::COUNT];
        let mut has_cash_flow = false;
        for section in Section::ALL {
            let path = format!("{prefix}.{}", section.key());
            let lines = match (section, map.get(section.key())) {
                (Section::CashFlow, None | Some(Value::Null)) => continue,
                (_, v) => self.object(v, &path),
            };
            let Some(lines) = lines else { continue };
            has_cash_flow |= section == Section::CashFlow;
            let known: Vec<&str> = Line::in_section(section).map(Line::id).collect();
            self.unknown_keys(lines, &path, &known);
            for line in Line::in_section(section) {
                amounts[line.index()] = self.amount(lines, line, &path);
            }
        }
        let accounts = match map.get("accounts") {
            None | Some(Value::Null) => None,
            Some(v) => self.accounts(v, &amounts, &prefix),
        };
        if self.issues.len() > before {
            return None;
        }
        let period = Period {
            label: label?.into(),
            start: start?,
            end: end?,
            amounts,
            has_cash_flow,
            source_index: i,
            accounts,
        };
        self.check_identities(&period, &prefix);
        Some(period)
    }

    /// A period's provenance: `{"cash": [{"account": "1001", "name": "Encaisse", "amount": "120523.09"}], …}`.
    /// Each line's accounts must add up to its amount, to the cent.
    fn accounts(
        &mut self,
        value: &Value,
        amounts: &[Option<Decimal>; Line::COUNT],
        prefix: &str,
    ) -> Option<super::LineAccounts> {
        let path = format!("{prefix}.accounts");
        let Some(map) = value.as_object() else {
            self.issue(
                path,
                format!(
                    "must be an object of line → accounts, found {}",
                    json_kind(value)
                ),
            );
            return None;
        };
        let mut lines: Vec<Vec<super::AccountAmount>> = vec![Vec::new(); Line::COUNT];
        for (key, list) in map {
            let here = join(&path, key);
            let Ok(line) = key.parse::<Line>() else {
                self.issue(here, "not a line of finops.statements/v1");
                continue;
            };
            let Some(list) = list.as_array().filter(|l| l.len() <= MAX_ACCOUNTS_PER_LINE) else {
                self.issue(
                    here,
                    format!("must be an array of at most {MAX_ACCOUNTS_PER_LINE} accounts"),
                );
                continue;
            };
            let mut sum = Decimal::ZERO;
            for (j, item) in list.iter().enumerate() {
                let at = format!("{here}[{j}]");
                let Some(a) = item.as_object() else {
                    self.issue(at, "must be an object with account, name and amount");
                    continue;
                };
                self.unknown_keys(a, &at, &["account", "name", "amount"]);
                // A report row without an account number (QuickBooks's "Net Income") has an empty one.
                let text = |v: &mut Self, key: &str, required: bool| match a.get(key) {
                    Some(Value::String(s)) if s.is_empty() => Some(String::new()),
                    _ => v.string(a, key, &at, required),
                };
                let account = text(self, "account", true);
                let name = text(self, "name", false);
                let amount = match a.get("amount").map(parse_amount) {
                    Some(Ok(d)) => Some(d),
                    Some(Err(reason)) => {
                        self.issue(join(&at, "amount"), reason);
                        None
                    }
                    None => {
                        self.issue(join(&at, "amount"), "missing");
                        None
                    }
                };
                if let (Some(account), Some(amount)) = (account, amount) {
                    sum += amount;
                    lines[line.index()].push(super::AccountAmount {
                        account,
                        name: name.unwrap_or_default(),
                        amount,
                    });
                }
            }
            let given = amounts[line.index()].unwrap_or_default();
            if !same_cents(sum, given) {
                self.issue(
                    join(&path, key),
                    format!("its accounts add up to {sum}, not to the line's {given}"),
                );
            }
        }
        Some(
            lines
                .into_iter()
                .map(std::sync::Arc::from)
                .collect::<Vec<_>>()
                .into(),
        )
    }

    fn date(&mut self, map: &Map<String, Value>, key: &str, prefix: &str) -> Option<NaiveDate> {
        let text = self.string(map, key, prefix, true)?;
        match parse_date(&text) {
            Some(d) => Some(d),
            None => {
                self.issue(
                    join(prefix, key),
                    format!("\"{text}\" is not a calendar date in the form YYYY-MM-DD"),
                );
                None
            }
        }
    }

    fn amount(&mut self, map: &Map<String, Value>, line: Line, prefix: &str) -> Option<Decimal> {
        let path = || join(prefix, line.id());
        let value = match map.get(line.id()) {
            None | Some(Value::Null) if line.optional() => return None,
            None | Some(Value::Null) => {
                self.issue(path(), "missing; this line is required");
                return None;
            }
            Some(v) => v,
        };
        let amount = match parse_amount(value) {
            Ok(d) => d,
            Err(reason) => {
                self.issue(path(), reason);
                return None;
            }
        };
        if amount.is_sign_negative() && !amount.is_zero() && !line.may_be_negative() {
            self.issue(path(), format!("{amount} is negative; this line cannot be"));
            return None;
        }
        Some(amount)
    }

    /// The spec's accounting identities: errors for the balance sheet totals, warnings for the rest.
    fn check_identities(&mut self, p: &Period, prefix: &str) {
        let bs = |l: Line| p.amount_or_zero(l);
        let sum = |lines: &[Line]| lines.iter().map(|l| bs(*l)).sum::<Decimal>();
        let field = |l: Line| format!("{prefix}.{}.{}", l.section().key(), l.id());

        // The lines each total adds up, and net income's terms, are the builder's (defined once).
        let parts = super::builder::parts_of;
        let current_assets = sum(parts(Line::TotalCurrentAssets));
        if !same_cents(current_assets, bs(Line::TotalCurrentAssets)) {
            self.issue(
                field(Line::TotalCurrentAssets),
                format!(
                    "{} does not equal the sum of the current asset lines ({current_assets})",
                    bs(Line::TotalCurrentAssets)
                ),
            );
        }
        let current_liabilities = sum(parts(Line::TotalCurrentLiabilities));
        if !same_cents(current_liabilities, bs(Line::TotalCurrentLiabilities)) {
            self.issue(
                field(Line::TotalCurrentLiabilities),
                format!(
                    "{} does not equal the sum of the current liability lines ({current_liabilities})",
                    bs(Line::TotalCurrentLiabilities)
                ),
            );
        }
        let liabilities_and_equity = bs(Line::TotalLiabilities) + bs(Line::TotalEquity);
        if !same_cents(liabilities_and_equity, bs(Line::TotalAssets)) {
            self.issue(
                field(Line::TotalAssets),
                format!(
                    "{} does not equal total_liabilities + total_equity ({liabilities_and_equity})",
                    bs(Line::TotalAssets)
                ),
            );
        }

        let assets = sum(parts(Line::TotalAssets));
        if !same_cents(assets, bs(Line::TotalAssets)) {
            self.warn(
                "total_assets_mismatch",
                field(Line::TotalAssets),
                format!(
                    "total_assets {} differs from current assets + PP&E + other non-current assets ({assets})",
                    bs(Line::TotalAssets)
                ),
            );
        }
        let liabilities = sum(parts(Line::TotalLiabilities));
        if !same_cents(liabilities, bs(Line::TotalLiabilities)) {
            self.warn(
                "total_liabilities_mismatch",
                field(Line::TotalLiabilities),
                format!(
                    "total_liabilities {} differs from current liabilities + long-term debt + other non-current liabilities ({liabilities})",
                    bs(Line::TotalLiabilities)
                ),
            );
        }
        let expected_net: Decimal = super::builder::NET_INCOME_TERMS
            .iter()
            .map(|(l, plus)| if *plus { bs(*l) } else { -bs(*l) })
            .sum();
        if !same_cents(expected_net, bs(Line::NetIncome)) {
            self.warn(
                "net_income_mismatch",
                field(Line::NetIncome),
                format!(
                    "net_income {} differs from revenue - COGS - operating expenses - D&A - interest + other income - tax ({expected_net})",
                    bs(Line::NetIncome)
                ),
            );
        }
    }
}

/// A calendar date written `YYYY-MM-DD` (exactly: no time, no other form).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// An amount is a JSON string holding a plain decimal (`"-1234.56"`) or a JSON number (its exact text is kept).
pub(crate) fn parse_amount(value: &Value) -> std::result::Result<Decimal, String> {
    match value {
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
            let plain = !int.is_empty()
                && !frac.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            if !plain {
                return Err(format!(
                    "\"{s}\" is not a plain decimal amount (digits, an optional leading minus and an optional decimal point, such as \"-1234.56\")"
                ));
            }
            let d = Decimal::from_str_exact(s)
                .map_err(|_| format!("\"{s}\" has more digits than an exact amount can hold"))?;
            within_bounds(d, s)
        }
        Value::Number(n) => {
            let text = n.to_string();
            let parsed = if text.contains(['e', 'E']) {
                Decimal::from_scientific(&text)
            } else {
                Decimal::from_str_exact(&text)
            };
            let d = parsed.map_err(|_| format!("{text} is out of the range of an exact amount"))?;
            within_bounds(d, &text)
        }
        other => Err(format!(
            "must be a decimal amount as a string (\"1234.56\") or a JSON number, found {}",
            json_kind(other)
        )),
    }
}

/// The largest document read: 4 MiB (a 120-period document with every line is about 100 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;
/// The most periods a document may hold: ten years of months.
pub const MAX_PERIODS: usize = 120;
/// The longest text field (a company name, a sector, a jurisdiction…), in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// The longest period label, in characters.
pub const MAX_LABEL_CHARS: usize = 40;
/// The most accounts one line's provenance may list.
const MAX_ACCOUNTS_PER_LINE: usize = 100_000;
/// The most problems one refusal lists.
const MAX_ISSUES: usize = 100;

/// Largest magnitude an amount may have: 10^15 (a quadrillion) currency units.
pub const MAX_AMOUNT_DIGITS: u32 = 15;
/// Most decimal places an amount may have.
pub const MAX_AMOUNT_SCALE: u32 = 6;

/// Bounding amounts keeps every catalogue formula inside `Decimal`'s range (sums stay under 10^17, the smallest
/// non-zero divisor is 10^-6, so no quotient exceeds 10^23 < 7.9 x 10^28): the engine's arithmetic cannot overflow.
fn within_bounds(d: Decimal, text: &str) -> std::result::Result<Decimal, String> {
    let n = d.normalize();
    if n.scale() > MAX_AMOUNT_SCALE {
        return Err(format!(
            "{text} has more than {MAX_AMOUNT_SCALE} decimal places"
        ));
    }
    if n.abs() >= Decimal::from(10u64.pow(MAX_AMOUNT_DIGITS)) {
        return Err(format!(
            "{text} is too large (amounts must be below 10^{MAX_AMOUNT_DIGITS})"
        ));
    }
    Ok(d)
}

pub(crate) fn same_cents(a: Decimal, b: Decimal) -> bool {
    let cents = |d: Decimal| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    cents(a) == cents(b)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
