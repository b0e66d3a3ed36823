//! QuickBooks Online and Xero report JSON (Balance Sheet, Profit and Loss, and QuickBooks's Cash Flow), one or more
//! period columns each. Accounts go to lines by the report section that holds them, a few account names refine
//! that (depreciation, interest, income tax, inventory, loans), and the caller's overrides by account id come
//! first. The reports' own totals are checks. `docs/ledgers.md` has the mapping tables.

mod quickbooks;
mod xero;

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

use super::chart::{credit_positive, placeable};
use super::{CompanyFields, Format, ReadOptions, Source};
use crate::error::{Error, FieldIssue, Result};
use crate::statements::{AccountAmount, Line, PeriodBuilder, Statements, parse_amount, same_cents};

pub(super) fn is_quickbooks(v: &Value) -> bool {
    let one = |r: &Value| r.pointer("/Header/ReportName").is_some() && r.get("Rows").is_some();
    match v {
        Value::Array(items) => !items.is_empty() && items.iter().all(one),
        v => one(v),
    }
}

pub(super) fn is_xero(v: &Value) -> bool {
    let one = |r: &Value| {
        (r.get("ReportType").is_some() || r.get("ReportID").is_some())
            && r.get("Rows").is_some_and(Value::is_array)
    };
    match v.get("Reports") {
        Some(Value::Array(items)) => !items.is_empty() && items.iter().all(one),
        _ => one(v),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BalanceSheet,
    ProfitAndLoss,
    CashFlow,
}

/// One period column of a report.
#[derive(Debug, Clone, Copy)]
struct Column {
    index: usize,
    start: Option<NaiveDate>,
    end: NaiveDate,
}

/// An account row: where it sits, what it is, its value in each column (as the report shows it).
#[derive(Debug, Clone)]
struct Row {
    sections: Vec<String>,
    id: Option<String>,
    name: String,
    values: Vec<Decimal>,
}

/// A total the report states, checked against the built statements.
#[derive(Debug, Clone)]
struct Total {
    check: TotalCheck,
    values: Vec<Decimal>,
    place: String,
}

#[derive(Debug, Clone, Copy)]
enum TotalCheck {
    Line(Line),
    LiabilitiesAndEquity,
    GrossProfit,
}

struct Report {
    kind: Kind,
    label: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    totals: Vec<Total>,
    currency: Option<String>,
    company: Option<String>,
}

pub(super) fn read(
    sources: &[Source<'_>],
    formats: &[Format],
    options: &ReadOptions,
) -> Result<Statements> {
    let mut reports = Vec::new();
    let mut issues = Vec::new();
    for (i, (s, f)) in sources.iter().zip(formats).enumerate() {
        let label = s.label(i);
        let value: Value = serde_json::from_slice(s.bytes).map_err(|e| {
            Error::invalid_statements(vec![FieldIssue::new(
                label.clone(),
                format!("malformed JSON: {e}"),
            )])
        })?;
        let found = match f {
            Format::QuickBooks => quickbooks::reports(&value, &label),
            _ => xero::reports(&value, &label),
        };
        match found {
            Ok(mut r) => reports.append(&mut r),
            Err(mut e) => issues.append(&mut e),
        }
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    build(reports, options)
}

/// A period's start (from its profit and loss) and its (report, column) pairs.
type PeriodParts = (Option<NaiveDate>, Vec<(usize, usize)>);

fn build(reports: Vec<Report>, options: &ReadOptions) -> Result<Statements> {
    let mut issues = Vec::new();
    let mut company = CompanyFields::default();
    for r in &reports {
        for (slot, value, key) in [
            (&mut company.currency, &r.currency, "currency"),
            (&mut company.name, &r.company, "name"),
        ] {
            match (slot.as_ref(), value) {
                (Some(a), Some(b)) if a != b => issues.push(FieldIssue::new(
                    format!("{}: company.{key}", r.label),
                    format!("is \"{b}\" where another report says \"{a}\""),
                )),
                (None, Some(b)) => *slot = Some(b.clone()),
                _ => {}
            }
        }
    }
    let company = options.company.over(&company).resolve()?;
    // Periods by end date: the balance sheet column and the profit and loss column that close on it.
    let mut periods: BTreeMap<NaiveDate, PeriodParts> = BTreeMap::new();
    for (r, report) in reports.iter().enumerate() {
        for (c, col) in report.columns.iter().enumerate() {
            let entry = periods.entry(col.end).or_default();
            if report.kind != Kind::BalanceSheet {
                match (entry.0, col.start) {
                    (Some(a), Some(b)) if a != b => issues.push(FieldIssue::new(
                        format!("{}: column {}", report.label, col.index),
                        format!(
                            "starts on {b} while another report's period ending {} starts on {a}",
                            col.end
                        ),
                    )),
                    (None, s) => entry.0 = s,
                    _ => {}
                }
            }
            if entry
                .1
                .iter()
                .any(|(other, _)| reports[*other].kind == report.kind)
            {
                issues.push(FieldIssue::new(
                    format!("{}: column {}", report.label, col.index),
                    format!(
                        "a second {:?} for the period ending {}",
                        report.kind, col.end
                    ),
                ));
            }
            entry.1.push((r, c));
        }
    }
    let mut builder = Statements::builder(company);
    let mut labels = Vec::new();
    for (end, (start, parts)) in &periods {
        let has = |k: Kind| parts.iter().any(|(r, _)| reports[*r].kind == k);
        for (kind, name) in [
            (Kind::BalanceSheet, "balance sheet"),
            (Kind::ProfitAndLoss, "profit and loss"),
        ] {
            if !has(kind) {
                issues.push(FieldIssue::new(
                    format!("period ending {end}"),
                    format!("has no {name}; give the balance sheet and the profit and loss of every period"),
                ));
            }
        }
        let start = start.unwrap_or_else(|| twelve_months_before(*end));
        let label = if twelve_months_before(*end) == start {
            format!("FY{}", chrono::Datelike::year(end))
        } else {
            format!("{start}..{end}")
        };
        let mut period = PeriodBuilder::new(&label, start.to_string(), end.to_string());
        let mut filled = [false; Line::COUNT];
        let mut cash_flow = [Decimal::ZERO; 3];
        let mut has_cash_flow = false;
        for (r, c) in parts {
            let report = &reports[*r];
            let column = *c;
            for row in &report.rows {
                let value = row.values[column];
                if report.kind == Kind::CashFlow {
                    has_cash_flow = true;
                    cash_flow_row(row, value, &mut cash_flow);
                    continue;
                }
                let (line, debit_nature) = match place(report.kind, row, options) {
                    Ok(p) => p,
                    Err(reason) => {
                        issues.push(FieldIssue::new(
                            format!("{}: {}", report.label, row_place(row)),
                            reason,
                        ));
                        continue;
                    }
                };
                if value.is_zero() {
                    continue;
                }
                filled[line as usize] = true;
                let balance = if debit_nature { value } else { -value };
                let amount = if credit_positive(line) {
                    -balance
                } else {
                    balance
                };
                period.add_account(
                    line,
                    AccountAmount {
                        account: row.id.clone().unwrap_or_default(),
                        name: row.name.clone(),
                        amount,
                    },
                );
            }
        }
        // Required lines no account made are zero (a company without receivables); optional ones stay absent.
        for line in Line::ALL.iter().copied() {
            if !filled[line as usize]
                && !line.optional()
                && placeable(line)
                && line.section() != crate::statements::Section::CashFlow
            {
                period.set(line, Decimal::ZERO);
            }
        }
        if has_cash_flow {
            period.set(Line::OperatingCashFlow, cash_flow[0]);
            period.set(Line::CapitalExpenditures, cash_flow[1]);
            period.set(Line::DividendsPaid, cash_flow[2]);
        }
        labels.push(label);
        builder.push_period(period);
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    let statements = builder.build()?;
    for report in &reports {
        for total in &report.totals {
            for (c, col) in report.columns.iter().enumerate() {
                let Some(p) = statements.periods().iter().find(|p| p.end == col.end) else {
                    continue;
                };
                let expected = match total.check {
                    TotalCheck::Line(l) => p.amount_or_zero(l),
                    TotalCheck::LiabilitiesAndEquity => {
                        p.amount_or_zero(Line::TotalLiabilities)
                            + p.amount_or_zero(Line::TotalEquity)
                    }
                    TotalCheck::GrossProfit => {
                        p.amount_or_zero(Line::Revenue) - p.amount_or_zero(Line::CostOfGoodsSold)
                    }
                };
                let given = total.values[c];
                if !same_cents(given, expected) {
                    issues.push(FieldIssue::new(
                        format!("{}: {}", report.label, total.place),
                        format!(
                            "the report states {given} for {}, but its accounts come to {expected}; a total that does not add up is refused",
                            p.label
                        ),
                    ));
                }
            }
        }
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    Ok(statements)
}

fn twelve_months_before(end: NaiveDate) -> NaiveDate {
    end.checked_sub_months(Months::new(12))
        .and_then(|d| d.succ_opt())
        .unwrap_or(end)
}

fn row_place(row: &Row) -> String {
    format!("{} > {}", row.sections.join(" > "), row.name)
}

fn words(s: &str) -> String {
    s.to_lowercase()
}

/// The line of an account row and whether the report shows it debit-positive (assets, expenses).
fn place(
    kind: Kind,
    row: &Row,
    options: &ReadOptions,
) -> std::result::Result<(Line, bool), String> {
    let sections: Vec<String> = row
        .sections
        .iter()
        .map(|s| words(s).replace([' ', '-'], ""))
        .collect();
    let within = |names: &[&'static str]| -> Option<&'static str> {
        sections
            .iter()
            .rev()
            .find_map(|s| names.iter().find(|n| s == *n).copied())
    };
    let name = words(&row.name);
    let named = |keys: &[&str]| keys.iter().any(|k| name.contains(k));
    let (line, debit_nature) = match kind {
        Kind::BalanceSheet => {
            let section = within(&[
                "bankaccounts", "bank", "ar", "accountsreceivable", "othercurrentassets", "currentassets",
                "fixedassets", "otherassets", "noncurrentassets", "ap", "accountspayable", "creditcards",
                "othercurrentliabilities", "currentliabilities", "longtermliabilities", "noncurrentliabilities",
                "equity",
            ])
            .ok_or("is in no balance sheet section finops knows (bank, receivable, current, fixed and other assets; payable, credit cards, current and long-term liabilities; equity)")?;
            match section {
                "bankaccounts" | "bank" => (Line::Cash, true),
                "ar" | "accountsreceivable" => (Line::AccountsReceivable, true),
                "othercurrentassets" | "currentassets"
                    if named(&["inventory", "stock on hand"]) =>
                {
                    (Line::Inventory, true)
                }
                "othercurrentassets" | "currentassets" if named(&["receivable"]) => {
                    (Line::AccountsReceivable, true)
                }
                "othercurrentassets" | "currentassets"
                    if named(&[
                        "short-term investment",
                        "short term investment",
                        "term deposit",
                        "marketable",
                    ]) =>
                {
                    (Line::MarketableSecurities, true)
                }
                "othercurrentassets" | "currentassets" if named(&["undeposited funds"]) => {
                    (Line::Cash, true)
                }
                "othercurrentassets" | "currentassets" => (Line::OtherCurrentAssets, true),
                "fixedassets" => (Line::PropertyPlantEquipment, true),
                "otherassets" | "noncurrentassets" => (Line::OtherNonCurrentAssets, true),
                "ap" | "accountspayable" => (Line::AccountsPayable, false),
                "creditcards" => (Line::ShortTermDebt, false),
                "othercurrentliabilities" | "currentliabilities"
                    if named(&["accounts payable", "trade payable"]) =>
                {
                    (Line::AccountsPayable, false)
                }
                "othercurrentliabilities" | "currentliabilities"
                    if named(&[
                        "loan",
                        "line of credit",
                        "current portion",
                        "overdraft",
                        "credit card",
                    ]) =>
                {
                    (Line::ShortTermDebt, false)
                }
                "othercurrentliabilities" | "currentliabilities" => {
                    (Line::OtherCurrentLiabilities, false)
                }
                "longtermliabilities" | "noncurrentliabilities"
                    if named(&["loan", "note", "mortgage", "debt", "lease", "bond"]) =>
                {
                    (Line::LongTermDebt, false)
                }
                "longtermliabilities" | "noncurrentliabilities" => {
                    (Line::OtherNonCurrentLiabilities, false)
                }
                _ => (Line::TotalEquity, false),
            }
        }
        Kind::ProfitAndLoss => {
            let section = within(&[
                "income", "tradingincome", "revenue", "cogs", "costofsales", "lesscostofsales", "costofgoodssold",
                "expenses", "operatingexpenses", "lessoperatingexpenses", "otherincome", "plusotherincome",
                "otherexpenses", "lessotherexpenses",
            ])
            .ok_or("is in no profit and loss section finops knows (income, cost of sales, expenses, other income, other expenses)")?;
            let special = if named(&["depreciation", "amortization", "amortisation"]) {
                Some(Line::DepreciationAmortization)
            } else if named(&[
                "interest expense",
                "interest paid",
                "loan interest",
                "interest on",
            ]) || name == "interest"
            {
                Some(Line::InterestExpense)
            } else if named(&["income tax", "corporate tax", "corporation tax"]) {
                Some(Line::IncomeTaxExpense)
            } else {
                None
            };
            match section {
                "income" | "tradingincome" | "revenue" => (Line::Revenue, false),
                "cogs" | "costofsales" | "lesscostofsales" | "costofgoodssold" => {
                    (Line::CostOfGoodsSold, true)
                }
                "otherincome" | "plusotherincome" => (Line::OtherIncome, false),
                "otherexpenses" | "lessotherexpenses" => {
                    (special.unwrap_or(Line::OtherIncome), true)
                }
                _ => (special.unwrap_or(Line::OperatingExpenses), true),
            }
        }
        Kind::CashFlow => return Err("cash flow rows are read separately".into()),
    };
    // The caller's override by account id comes first; the row keeps the side its section shows.
    if let Some(id) = &row.id
        && let Some(line) = options.overrides.get(id)
    {
        if !placeable(*line) {
            return Err(format!(
                "the override sends account {id} to `{line}`, which is computed, not added to"
            ));
        }
        return Ok((*line, debit_nature));
    }
    Ok((line, debit_nature))
}

/// QuickBooks's cash flow: operating activities' total, fixed asset purchases (negative investing rows) and
/// dividends or distributions paid (negative financing rows whose name says so).
fn cash_flow_row(row: &Row, value: Decimal, into: &mut [Decimal; 3]) {
    let section = row
        .sections
        .iter()
        .map(|s| words(s).replace([' ', '-'], ""))
        .collect::<Vec<_>>();
    let name = words(&row.name);
    if section.iter().any(|s| s == "operatingactivities") {
        into[0] += value;
    } else if section.iter().any(|s| s == "investingactivities") && value.is_sign_negative() {
        into[1] -= value;
    } else if section.iter().any(|s| s == "financingactivities")
        && value.is_sign_negative()
        && (name.contains("dividend") || name.contains("distribution"))
    {
        into[2] -= value;
    }
}

fn report_amount(v: Option<&Value>) -> std::result::Result<Decimal, String> {
    match v {
        None | Some(Value::Null) => Ok(Decimal::ZERO),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Decimal::ZERO),
        Some(Value::String(s)) => parse_amount(&Value::String(s.trim().replace(',', ""))),
        Some(other) => parse_amount(other),
    }
}

fn report_kind(name: &str) -> Option<Kind> {
    match name.to_lowercase().replace([' ', '_'], "").as_str() {
        "balancesheet" => Some(Kind::BalanceSheet),
        "profitandloss" | "profitloss" | "incomestatement" => Some(Kind::ProfitAndLoss),
        "cashflow" | "statementofcashflows" => Some(Kind::CashFlow),
        _ => None,
    }
}

/// The most rows (accounts and totals) one report may hold.
const MAX_ROWS: usize = 100_000;

/// A row's amounts in the report's period columns (`key` is the cell's value field: `value` or `Value`).
fn cells(
    cells: Option<&Value>,
    key: &str,
    report: &Report,
    at: &str,
    issues: &mut Vec<FieldIssue>,
) -> Option<Vec<Decimal>> {
    let cells = cells.and_then(Value::as_array)?;
    let mut values = Vec::new();
    for col in &report.columns {
        match report_amount(cells.get(col.index).and_then(|c| c.get(key))) {
            Ok(v) => values.push(v),
            Err(reason) => {
                issues.push(FieldIssue::new(
                    format!("{at}, column {}", col.index),
                    reason,
                ));
                return None;
            }
        }
    }
    Some(values)
}

/// Whether a report is past its bounds (sections nested too deep, too many rows), recorded as an issue.
fn past_bounds(depth: usize, report: &Report, here: &str, issues: &mut Vec<FieldIssue>) -> bool {
    if depth > MAX_DEPTH {
        issues.push(FieldIssue::new(
            here.to_string(),
            format!("sections nested more than {MAX_DEPTH} deep"),
        ));
        return true;
    }
    if report.rows.len() + report.totals.len() > MAX_ROWS {
        issues.push(FieldIssue::new(
            here.to_string(),
            format!("more than {MAX_ROWS} rows"),
        ));
        return true;
    }
    false
}

/// The deepest nesting of sections read.
const MAX_DEPTH: usize = 32;
