//! Trial balances: `finops.trial_balance/v1` as JSON or CSV, and (through [`super::fec`]) FEC files, all read into
//! periods of account balances and built with the chart.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::book::{Balance, BookPeriod};
use super::{Chart, CompanyFields, Format, ReadOptions, Source};
use crate::error::{Error, FieldIssue, Result};
use crate::statements::{Line, Section, Statements, json_kind, parse_amount, parse_date};

/// The schema identifier of a trial balance document.
pub const SCHEMA: &str = "finops.trial_balance/v1";

/// What one source gave: company fields, its chart (if it names one) and its periods.
pub(super) struct Parsed {
    pub company: CompanyFields,
    pub chart: Option<Chart>,
    pub periods: Vec<BookPeriod>,
}

pub(super) fn read(
    sources: &[Source<'_>],
    formats: &[Format],
    options: &ReadOptions,
) -> Result<Statements> {
    let mut company = CompanyFields::default();
    let mut chart: Option<(Chart, String)> = None;
    let mut periods = Vec::new();
    let mut issues = Vec::new();
    for (i, (source, format)) in sources.iter().zip(formats).enumerate() {
        let label = source.label(i);
        let parsed = match format {
            Format::TrialBalance => from_json(source.bytes, &label),
            Format::Csv => from_csv(source.bytes, &label),
            _ => super::fec::read(source.bytes, source.name, &label),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(Error::InvalidStatements {
                issues: mut found, ..
            }) => {
                issues.append(&mut found);
                continue;
            }
            Err(e) => return Err(e),
        };
        merge_company(&mut company, &parsed.company, &label, &mut issues);
        if let Some(c) = parsed.chart {
            match &chart {
                Some((known, from)) if *known != c && options.chart.is_none() => {
                    issues.push(FieldIssue::new(
                        format!("{label}: chart"),
                        format!(
                            "is {} while {from} uses {}; give one chart for all",
                            c.name(),
                            known.name()
                        ),
                    ))
                }
                Some(_) => {}
                None => chart = Some((c, label.clone())),
            }
        }
        periods.extend(parsed.periods);
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    let chart = match (&options.chart, chart) {
        (Some(c), _) => c.clone(),
        (None, Some((c, _))) => c,
        (None, None) => {
            return Err(Error::invalid_argument(
                "chart",
                "a CSV trial balance does not say which chart its accounts follow; give one (gifi, pcg or a custom chart)",
            ));
        }
    };
    let company = options.company.over(&company);
    let (statements, warnings) = super::book::to_statements(&company, periods, &chart, options)?;
    Ok(statements.with_warnings(warnings))
}

/// Two sources of one company must agree on what they both say.
fn merge_company(
    into: &mut CompanyFields,
    from: &CompanyFields,
    label: &str,
    issues: &mut Vec<FieldIssue>,
) {
    for (key, slot, value) in [
        ("name", &mut into.name, &from.name),
        ("sector", &mut into.sector, &from.sector),
        ("naics", &mut into.naics, &from.naics),
        ("jurisdiction", &mut into.jurisdiction, &from.jurisdiction),
        ("currency", &mut into.currency, &from.currency),
    ] {
        match (slot.as_ref(), value) {
            (Some(a), Some(b)) if a != b => issues.push(FieldIssue::new(
                format!("{label}: company.{key}"),
                format!(
                    "is \"{b}\" where an earlier input says \"{a}\"; {}",
                    if key == "currency" {
                        "mixed currencies cannot be added"
                    } else {
                        "the inputs must describe one company"
                    }
                ),
            )),
            (None, Some(b)) => *slot = Some(b.clone()),
            _ => {}
        }
    }
}

/// A `finops.trial_balance/v1` JSON document.
pub(super) fn from_json(bytes: &[u8], label: &str) -> Result<Parsed> {
    let value = crate::statements::decode_json(bytes, label)?;
    from_json_value(&value)
}

pub(super) fn from_json_value(value: &Value) -> Result<Parsed> {
    let mut issues = Vec::new();
    let Some(doc) = value.as_object() else {
        return Err(Error::invalid_statements(vec![FieldIssue::new(
            "$",
            format!(
                "a trial balance is a JSON object, found {}",
                json_kind(value)
            ),
        )]));
    };
    unknown_keys(
        doc,
        "",
        &["schema", "company", "chart", "periods"],
        &mut issues,
    );
    match doc.get("schema").and_then(Value::as_str) {
        Some(SCHEMA) => {}
        _ => issues.push(FieldIssue::new("schema", format!("must be \"{SCHEMA}\""))),
    }
    let company = match doc.get("company") {
        Some(Value::Object(c)) => company_fields(c, &mut issues),
        None | Some(Value::Null) => CompanyFields::default(),
        Some(other) => {
            issues.push(FieldIssue::new(
                "company",
                format!("must be an object, found {}", json_kind(other)),
            ));
            CompanyFields::default()
        }
    };
    let chart = match doc.get("chart") {
        None | Some(Value::Null) => None,
        Some(v) => match Chart::from_json_value(v) {
            Ok(c) => Some(c),
            Err(Error::InvalidStatements {
                issues: mut found, ..
            }) => {
                issues.append(&mut found);
                None
            }
            Err(e) => {
                issues.push(FieldIssue::new("chart", e.to_string()));
                None
            }
        },
    };
    let mut periods = Vec::new();
    match doc.get("periods") {
        Some(Value::Array(items))
            if !items.is_empty() && items.len() <= crate::statements::MAX_PERIODS =>
        {
            for (i, item) in items.iter().enumerate() {
                if let Some(p) = period(item, i, &mut issues) {
                    periods.push(p);
                }
            }
        }
        Some(Value::Array(items)) if !items.is_empty() => issues.push(FieldIssue::new(
            "periods",
            format!(
                "holds {} periods; at most {} are read",
                items.len(),
                crate::statements::MAX_PERIODS
            ),
        )),
        _ => issues.push(FieldIssue::new(
            "periods",
            "must be a non-empty array of periods",
        )),
    }
    if issues.is_empty() {
        Ok(Parsed {
            company,
            chart,
            periods,
        })
    } else {
        issues.truncate(100);
        Err(Error::invalid_statements(issues))
    }
}

fn unknown_keys(
    map: &Map<String, Value>,
    prefix: &str,
    known: &[&str],
    issues: &mut Vec<FieldIssue>,
) {
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let field = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            issues.push(FieldIssue::new(
                field,
                format!("unknown field; expected one of: {}", known.join(", ")),
            ));
        }
    }
}

fn company_fields(map: &Map<String, Value>, issues: &mut Vec<FieldIssue>) -> CompanyFields {
    unknown_keys(
        map,
        "company",
        &["name", "sector", "naics", "jurisdiction", "currency"],
        issues,
    );
    let mut text = |key: &str| match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(FieldIssue::new(
                format!("company.{key}"),
                format!("must be a string, found {}", json_kind(other)),
            ));
            None
        }
    };
    CompanyFields {
        name: text("name"),
        sector: text("sector"),
        naics: text("naics"),
        jurisdiction: text("jurisdiction"),
        currency: text("currency"),
    }
}

fn period(value: &Value, i: usize, issues: &mut Vec<FieldIssue>) -> Option<BookPeriod> {
    let path = format!("periods[{i}]");
    let Some(map) = value.as_object() else {
        issues.push(FieldIssue::new(path, "must be an object"));
        return None;
    };
    unknown_keys(
        map,
        &path,
        &["label", "start", "end", "accounts", "cash_flow"],
        issues,
    );
    let before = issues.len();
    let label = match map.get("label") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            issues.push(FieldIssue::new(
                format!("{path}.label"),
                "missing; a non-empty text such as \"FY2023\"",
            ));
            String::new()
        }
    };
    let mut date = |key: &str| {
        let d = map.get(key).and_then(Value::as_str).and_then(parse_date);
        if d.is_none() {
            issues.push(FieldIssue::new(
                format!("{path}.{key}"),
                "missing or not a date in the form YYYY-MM-DD",
            ));
        }
        d
    };
    let (start, end) = (date("start"), date("end"));
    let place = if label.is_empty() {
        path.clone()
    } else {
        format!("{path} ({label})")
    };
    let mut balances = Vec::new();
    match map.get("accounts") {
        Some(Value::Array(items)) if items.len() <= super::MAX_ACCOUNTS => {
            for (j, item) in items.iter().enumerate() {
                if let Some(b) = account(item, &format!("{path}.accounts[{j}]"), issues) {
                    balances.push(b);
                }
            }
        }
        Some(Value::Array(_)) => issues.push(FieldIssue::new(
            format!("{path}.accounts"),
            format!("holds more than {} accounts", super::MAX_ACCOUNTS),
        )),
        _ => issues.push(FieldIssue::new(
            format!("{path}.accounts"),
            "must be an array of accounts",
        )),
    }
    let cash_flow = match map.get("cash_flow") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(cf)) => {
            let known: Vec<&str> = Line::in_section(Section::CashFlow).map(Line::id).collect();
            unknown_keys(cf, &format!("{path}.cash_flow"), &known, issues);
            let mut lines = Vec::new();
            for line in Line::in_section(Section::CashFlow) {
                match cf.get(line.id()).map(parse_amount) {
                    Some(Ok(d)) => lines.push((line, d)),
                    Some(Err(reason)) => {
                        issues.push(FieldIssue::new(format!("{path}.cash_flow.{line}"), reason))
                    }
                    None => issues.push(FieldIssue::new(
                        format!("{path}.cash_flow.{line}"),
                        "missing; a cash flow statement gives its three lines",
                    )),
                }
            }
            lines
        }
        Some(other) => {
            issues.push(FieldIssue::new(
                format!("{path}.cash_flow"),
                format!("must be an object, found {}", json_kind(other)),
            ));
            Vec::new()
        }
    };
    if issues.len() > before {
        return None;
    }
    Some(BookPeriod {
        label,
        start: start?,
        end: end?,
        balances,
        cash_flow,
        place,
    })
}

fn account(value: &Value, path: &str, issues: &mut Vec<FieldIssue>) -> Option<Balance> {
    let Some(map) = value.as_object() else {
        issues.push(FieldIssue::new(
            path,
            "an account is an object with `account` and `debit`/`credit` or `balance`",
        ));
        return None;
    };
    unknown_keys(
        map,
        path,
        &["account", "name", "debit", "credit", "balance"],
        issues,
    );
    let number = match map.get("account") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => String::new(),
    };
    let before = issues.len();
    check_account_number(&number, &format!("{path}.account"), issues);
    let name = match map.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => check_name(s, &format!("{path}.name"), issues),
        Some(other) => {
            issues.push(FieldIssue::new(
                format!("{path}.name"),
                format!("must be a string, found {}", json_kind(other)),
            ));
            String::new()
        }
    };
    let amount = |key: &str, issues: &mut Vec<FieldIssue>| match map.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => match parse_amount(v) {
            Ok(d) => Some(d),
            Err(reason) => {
                issues.push(FieldIssue::new(format!("{path}.{key}"), reason));
                None
            }
        },
    };
    let debit = amount("debit", issues);
    let credit = amount("credit", issues);
    let balance = amount("balance", issues);
    if issues.len() > before {
        return None;
    }
    let has = |k: &str| map.get(k).is_some_and(|v| !v.is_null());
    let balance = sides(
        has("debit"),
        has("credit"),
        has("balance"),
        debit,
        credit,
        balance,
        path,
        issues,
    )?;
    Some(Balance {
        account: number,
        name,
        balance,
        place: path.to_string(),
    })
}

/// An account's balance from `debit` and `credit` (neither negative) or from a signed `balance`.
#[allow(clippy::too_many_arguments)]
fn sides(
    has_debit: bool,
    has_credit: bool,
    has_balance: bool,
    debit: Option<Decimal>,
    credit: Option<Decimal>,
    balance: Option<Decimal>,
    path: &str,
    issues: &mut Vec<FieldIssue>,
) -> Option<Decimal> {
    match (has_debit || has_credit, has_balance) {
        (true, true) => {
            issues.push(FieldIssue::new(
                path,
                "gives both debit/credit and balance; give one or the other",
            ));
            None
        }
        (false, false) => {
            issues.push(FieldIssue::new(
                path,
                "gives no amount; give debit and credit, or a signed balance",
            ));
            None
        }
        (false, true) => balance,
        (true, false) => {
            let (d, c) = (debit.unwrap_or_default(), credit.unwrap_or_default());
            for (key, v) in [("debit", d), ("credit", c)] {
                if v.is_sign_negative() && !v.is_zero() {
                    issues.push(FieldIssue::new(
                        format!("{path}.{key}"),
                        format!("{v} is negative; debits and credits are written as positive amounts in their own column"),
                    ));
                    return None;
                }
            }
            Some(d - c)
        }
    }
}

pub(super) fn check_account_number(number: &str, path: &str, issues: &mut Vec<FieldIssue>) {
    if number.is_empty() {
        issues.push(FieldIssue::new(
            path,
            "missing; the account number as the books hold it",
        ));
    } else if number.chars().count() > 40
        || number.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        issues.push(FieldIssue::new(
            path,
            "an account number is at most 40 characters, without spaces or control characters",
        ));
    }
}

pub(super) fn check_name(name: &str, path: &str, issues: &mut Vec<FieldIssue>) -> String {
    if name.chars().count() > crate::statements::MAX_TEXT_CHARS {
        issues.push(FieldIssue::new(
            path,
            format!(
                "is longer than {} characters",
                crate::statements::MAX_TEXT_CHARS
            ),
        ));
    } else if name.chars().any(char::is_control) {
        issues.push(FieldIssue::new(
            path,
            "must not contain control characters (line breaks, escapes, NUL…)",
        ));
    }
    name.trim().to_string()
}

/// An amount as written in CSV and FEC files: `1234.56`, `1234,56`, `-1 234,56` (spaces, no-break spaces as
/// groups), empty for zero.
pub(super) fn text_amount(text: &str) -> std::result::Result<Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let mut clean = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            ' ' | '\u{a0}' | '\u{202f}' => {}
            ',' => clean.push('.'),
            c => clean.push(c),
        }
    }
    if t.contains(',') && t.contains('.') {
        return Err(format!(
            "\"{t}\" mixes a decimal comma and a decimal point; write the amount with one of them and no other separator"
        ));
    }
    parse_amount(&Value::String(clean))
        .map_err(|_| format!("\"{t}\" is not an amount such as 1234.56 or 1234,56"))
}

/// The CSV columns of a trial balance, English or French.
#[derive(Default)]
struct Columns {
    period: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    account: Option<usize>,
    name: Option<usize>,
    debit: Option<usize>,
    credit: Option<usize>,
    balance: Option<usize>,
}

fn fold_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['é', 'è', 'ê'], "e")
        .replace('î', "i")
        .replace(['_', '-'], " ")
}

/// A trial balance as CSV: `period,start,end,account,name,debit,credit` (or `balance`), `,` or `;` separated.
pub(super) fn from_csv(bytes: &[u8], label: &str) -> Result<Parsed> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first.iter().filter(|b| **b == b';').count()
        > first.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(bytes);
    let issue = |field: String, reason: String| {
        Error::invalid_statements(vec![FieldIssue::new(field, reason)])
    };
    let headers = reader
        .headers()
        .map_err(|e| {
            issue(
                format!("{label}: line 1"),
                format!("unreadable CSV header: {e}"),
            )
        })?
        .clone();
    let mut cols = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        let slot = match fold_header(h).as_str() {
            "period" | "periode" | "exercice" | "fiscal year" => &mut cols.period,
            "start" | "debut" | "start date" | "date de debut" => &mut cols.start,
            "end" | "fin" | "end date" | "date de fin" => &mut cols.end,
            "account" | "compte" | "account number" | "numero de compte" | "gifi" | "gifi code"
            | "code gifi" => &mut cols.account,
            "name" | "libelle" | "intitule" | "account name" | "libelle du compte"
            | "description" => &mut cols.name,
            "debit" | "debits" => &mut cols.debit,
            "credit" | "credits" => &mut cols.credit,
            "balance" | "solde" | "net balance" | "solde net" => &mut cols.balance,
            other => {
                return Err(issue(
                    format!("{label}: line 1, column {}", i + 1),
                    format!(
                        "unknown column \"{other}\"; expected period, start, end, account, name, debit, credit or balance (or période, début, fin, compte, libellé, débit, crédit, solde)"
                    ),
                ));
            }
        };
        if slot.replace(i).is_some() {
            return Err(issue(
                format!("{label}: line 1"),
                format!("the column \"{h}\" appears twice"),
            ));
        }
    }
    let mut missing = Vec::new();
    for (name, col) in [
        ("period", cols.period),
        ("start", cols.start),
        ("end", cols.end),
        ("account", cols.account),
    ] {
        if col.is_none() {
            missing.push(name);
        }
    }
    let pair = cols.debit.is_some() && cols.credit.is_some();
    if !(pair ^ cols.balance.is_some())
        || (cols.balance.is_some() && (cols.debit.is_some() || cols.credit.is_some()))
    {
        missing.push("debit and credit, or balance (one or the other)");
    }
    if !missing.is_empty() {
        return Err(issue(
            format!("{label}: line 1"),
            format!("missing columns: {}", missing.join(", ")),
        ));
    }
    let mut issues = Vec::new();
    let mut periods: Vec<BookPeriod> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut line_no = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map(|p| p.line()).unwrap_or(line_no as u64 + 1);
                issues.push(FieldIssue::new(
                    format!("{label}: line {at}"),
                    format!("unreadable CSV: {e}"),
                ));
                break;
            }
        }
        line_no = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(line_no + 1);
        let at = format!("{label}: line {line_no}");
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
        let before = issues.len();
        let period = cell(cols.period).to_string();
        if period.is_empty() {
            issues.push(FieldIssue::new(format!("{at}, period"), "missing"));
        }
        let start = parse_date(cell(cols.start));
        let end = parse_date(cell(cols.end));
        if start.is_none() || end.is_none() {
            issues.push(FieldIssue::new(
                format!("{at}, start/end"),
                "dates are written YYYY-MM-DD",
            ));
        }
        let account = cell(cols.account).to_string();
        check_account_number(&account, &format!("{at}, account"), &mut issues);
        let name = check_name(cell(cols.name), &format!("{at}, name"), &mut issues);
        let amount = |c: Option<usize>, key: &str, issues: &mut Vec<FieldIssue>| match text_amount(
            cell(c),
        ) {
            Ok(d) => Some(d),
            Err(reason) => {
                issues.push(FieldIssue::new(format!("{at}, {key}"), reason));
                None
            }
        };
        let balance = if cols.balance.is_some() {
            amount(cols.balance, "balance", &mut issues)
        } else {
            let d = amount(cols.debit, "debit", &mut issues);
            let c = amount(cols.credit, "credit", &mut issues);
            match (d, c) {
                (Some(d), Some(c))
                    if (d.is_sign_negative() && !d.is_zero())
                        || (c.is_sign_negative() && !c.is_zero()) =>
                {
                    issues.push(FieldIssue::new(
                        at.clone(),
                        "debits and credits are written as positive amounts in their own column",
                    ));
                    None
                }
                (Some(d), Some(c)) => Some(d - c),
                _ => None,
            }
        };
        if issues.len() > before {
            if issues.len() >= 100 {
                break;
            }
            continue;
        }
        let (Some(start), Some(end), Some(balance)) = (start, end, balance) else {
            continue;
        };
        let slot = *index.entry(period.clone()).or_insert_with(|| {
            periods.push(BookPeriod {
                label: period.clone(),
                start,
                end,
                balances: Vec::new(),
                cash_flow: Vec::new(),
                place: format!("{label}: period {period}"),
            });
            periods.len() - 1
        });
        let p = &mut periods[slot];
        if p.start != start || p.end != end {
            issues.push(FieldIssue::new(
                format!("{at}, start/end"),
                format!(
                    "period {period} runs from {} to {} on its earlier lines, not {start} to {end}",
                    p.start, p.end
                ),
            ));
            continue;
        }
        if p.balances.len() >= super::MAX_ACCOUNTS {
            issues.push(FieldIssue::new(
                at,
                format!(
                    "period {period} holds more than {} accounts",
                    super::MAX_ACCOUNTS
                ),
            ));
            break;
        }
        p.balances.push(Balance {
            account,
            name,
            balance,
            place: at,
        });
    }
    if periods.is_empty() && issues.is_empty() {
        issues.push(FieldIssue::new(label, "holds no account lines"));
    }
    if periods.len() > crate::statements::MAX_PERIODS {
        issues.push(FieldIssue::new(
            label,
            format!("holds more than {} periods", crate::statements::MAX_PERIODS),
        ));
    }
    if issues.is_empty() {
        Ok(Parsed {
            company: CompanyFields::default(),
            chart: None,
            periods,
        })
    } else {
        Err(Error::invalid_statements(issues))
    }
}
