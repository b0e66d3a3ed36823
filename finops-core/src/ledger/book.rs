//! From account balances to statements: every account placed by the chart, the period's result added to equity,
//! totals computed, the balance's own totals checked, and each line's accounts kept as its provenance.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::chart::{Chart, Check, Target, credit_positive};
use super::{CompanyFields, ReadOptions, Unmapped};
use crate::error::{Error, FieldIssue, Result};
use crate::statements::{AccountAmount, Company, Line, PeriodBuilder, Statements, Warning};

/// One account's balance in a period, debit positive.
#[derive(Debug, Clone)]
pub(crate) struct Balance {
    pub account: String,
    pub name: String,
    pub balance: Decimal,
    /// Where the account was read (`periods[0].accounts[3]`, `line 17`), for errors.
    pub place: String,
}

/// One period of a ledger: its dates, the balances of its accounts and, when given, its cash flow lines.
#[derive(Debug, Clone)]
pub(crate) struct BookPeriod {
    pub label: String,
    pub start: chrono::NaiveDate,
    pub end: chrono::NaiveDate,
    pub balances: Vec<Balance>,
    pub cash_flow: Vec<(Line, Decimal)>,
    /// Where the period was read (`periods[1]`, a file name), for errors.
    pub place: String,
}

/// Builds statements from periods of balances. Every problem found is reported at once.
pub(crate) fn to_statements(
    company: &CompanyFields,
    periods: Vec<BookPeriod>,
    chart: &Chart,
    options: &ReadOptions,
) -> Result<(Statements, Vec<Warning>)> {
    let company = company.resolve()?;
    let mut issues = Vec::new();
    let mut warnings = Vec::new();
    check_overlaps(&periods, &mut issues);
    let mut builder = Statements::builder(company);
    let mut checks = Vec::new();
    for p in &periods {
        match period(p, chart, options, &mut warnings) {
            Ok((built, found)) => {
                builder.push_period(built);
                checks.push((p, found));
            }
            Err(mut found) => issues.append(&mut found),
        }
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    let statements = builder.build().map_err(|e| relabel(e, &periods))?;
    for (p, found) in checks {
        verify_checks(&statements, p, &found, &mut issues);
    }
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    Ok((statements, warnings))
}

/// Periods of a ledger must not overlap: the same days counted twice would be silently doubled in any sum.
fn check_overlaps(periods: &[BookPeriod], issues: &mut Vec<FieldIssue>) {
    let mut order: Vec<&BookPeriod> = periods.iter().collect();
    order.sort_by_key(|p| (p.start, p.end));
    for pair in order.windows(2) {
        if pair[1].start <= pair[0].end {
            issues.push(FieldIssue::new(
                pair[1].place.clone(),
                format!(
                    "period {} ({} to {}) overlaps period {} ({} to {}) read from {}",
                    pair[1].label,
                    pair[1].start,
                    pair[1].end,
                    pair[0].label,
                    pair[0].start,
                    pair[0].end,
                    pair[0].place
                ),
            ));
        }
    }
}

/// A check account found in a period, compared once the statements are built.
struct Found {
    balance: Balance,
    check: Check,
    /// For checks on account ranges: the placed accounts' balances.
    placed: Vec<(String, Decimal)>,
}

fn period(
    p: &BookPeriod,
    chart: &Chart,
    options: &ReadOptions,
    warnings: &mut Vec<Warning>,
) -> std::result::Result<(PeriodBuilder, Vec<Found>), Vec<FieldIssue>> {
    let mut issues = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut out = PeriodBuilder::new(&p.label, p.start.to_string(), p.end.to_string());
    let mut lines: Vec<Vec<AccountAmount>> = vec![Vec::new(); Line::COUNT];
    let mut found = Vec::new();
    let mut placed = Vec::new();
    let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
    for b in &p.balances {
        if let Some(first) = seen.insert(&b.account, &b.place) {
            issues.push(FieldIssue::new(
                b.place.clone(),
                format!(
                    "account {} appears twice in period {} (first at {first}); each account is listed once per period",
                    b.account, p.label
                ),
            ));
            continue;
        }
        let overridden = options.overrides.get(&b.account).map(|l| {
            if super::chart::placeable(*l) {
                Target::Line(*l)
            } else {
                Target::Check(Check::Line(*l))
            }
        });
        let target = match overridden.or_else(|| chart.place(&b.account)) {
            Some(t) => t,
            None => match (options.unmapped, chart.other_of_class(&b.account)) {
                (Unmapped::Other, Some(t)) => {
                    warnings.push(Warning {
                        code: "unmapped_account".into(),
                        field: b.place.clone(),
                        message: format!(
                            "account {} ({}) is not in the {} chart; counted as {} as asked",
                            b.account,
                            b.name,
                            chart.name(),
                            target_name(&t, b.balance)
                        ),
                    });
                    t
                }
                _ => {
                    issues.push(FieldIssue::new(
                        b.place.clone(),
                        format!(
                            "account {} ({}) is not in the {} chart{}",
                            b.account,
                            b.name,
                            chart.name(),
                            if matches!(chart, Chart::Custom(_)) {
                                "; add a rule for it"
                            } else {
                                "; map it with a custom chart, or allow unmapped accounts as \"other\""
                            }
                        ),
                    ));
                    continue;
                }
            },
        };
        let line = match target {
            Target::Line(l) => l,
            Target::BySign { debit, credit } => {
                if b.balance.is_sign_negative() && !b.balance.is_zero() {
                    credit
                } else {
                    debit
                }
            }
            Target::Check(check) => {
                found.push(Found {
                    balance: b.clone(),
                    check,
                    placed: Vec::new(),
                });
                continue;
            }
            Target::Subtotal => continue,
        };
        let side = if b.balance.is_sign_negative() {
            credits.checked_sub(b.balance).map(|c| credits = c)
        } else {
            debits.checked_add(b.balance).map(|d| debits = d)
        };
        if side.is_none() {
            issues.push(FieldIssue::new(
                b.place.clone(),
                "the period's total overflows",
            ));
            continue;
        }
        placed.push((b.account.clone(), b.balance));
        let amount = if credit_positive(line) {
            -b.balance
        } else {
            b.balance
        };
        let entry = AccountAmount {
            account: b.account.clone(),
            name: b.name.clone(),
            amount,
        };
        if line.section() == crate::statements::Section::IncomeStatement {
            // Pre-closing: the period's result belongs to equity, made of the same accounts.
            let to_equity = if credit_positive(line) {
                amount
            } else {
                -amount
            };
            lines[Line::TotalEquity.index()].push(AccountAmount {
                amount: to_equity,
                ..entry.clone()
            });
        }
        lines[line.index()].push(entry);
    }
    if debits != credits {
        issues.push(FieldIssue::new(
            p.place.clone(),
            format!(
                "period {} does not balance: debits {} and credits {} differ by {}{}",
                p.label,
                debits,
                credits,
                debits - credits,
                post_closing_hint(&lines, debits - credits)
            ),
        ));
    }
    for line in Line::ALL.iter().copied() {
        let list = &lines[line.index()];
        if line.may_be_negative() || list.is_empty() {
            continue;
        }
        let total: Decimal = list.iter().map(|a| a.amount).sum();
        if total.is_sign_negative() && !total.is_zero() {
            issues.push(FieldIssue::new(
                format!("{}.{}", p.place, line.id()),
                format!(
                    "{line} comes to {total}, and it cannot be negative; its accounts: {}{}",
                    list.iter()
                        .take(10)
                        .map(|a| format!("{} {} ({})", a.account, a.name, a.amount))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if list.len() > 10 {
                        format!(" and {} more", list.len() - 10)
                    } else {
                        String::new()
                    }
                ),
            ));
        }
    }
    for f in &mut found {
        if matches!(f.check, Check::Accounts { .. }) {
            f.placed = placed.clone();
        }
    }
    for (i, list) in lines.into_iter().enumerate() {
        let line = Line::ALL[i];
        if list.is_empty() {
            // Required lines the balance has no account for are zero; optional ones stay absent.
            if !line.optional()
                && super::chart::placeable(line)
                && line.section() != crate::statements::Section::CashFlow
            {
                out.set(line, Decimal::ZERO);
            }
            continue;
        }
        for a in list {
            out.add_account(line, a);
        }
    }
    for (line, amount) in &p.cash_flow {
        out.set(*line, *amount);
    }
    if issues.is_empty() {
        Ok((out, found))
    } else {
        Err(issues)
    }
}

/// When a balance is off by exactly the period's result, it was most likely closed already (the result is in
/// retained earnings and the income statement accounts are still listed): say so.
fn post_closing_hint(lines: &[Vec<AccountAmount>], difference: Decimal) -> &'static str {
    let result: Decimal = Line::ALL
        .iter()
        .filter(|l| l.section() == crate::statements::Section::IncomeStatement)
        .flat_map(|l| {
            let sign = if credit_positive(*l) {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            lines[l.index()].iter().map(move |a| a.amount * sign)
        })
        .sum();
    if !result.is_zero() && (difference == result || difference == -result) {
        " — exactly the period's result: the trial balance looks post-closing (the result already in retained \
         earnings); finops reads pre-closing balances, so leave the result out of equity"
    } else {
        ""
    }
}

fn target_name(t: &Target, balance: Decimal) -> String {
    match t {
        Target::Line(l) => l.id().to_string(),
        Target::BySign { debit, credit } => if balance.is_sign_negative() {
            credit.id()
        } else {
            debit.id()
        }
        .to_string(),
        Target::Check(_) | Target::Subtotal => "a check".into(),
    }
}

fn verify_checks(
    statements: &Statements,
    p: &BookPeriod,
    found: &[Found],
    issues: &mut Vec<FieldIssue>,
) {
    let Some(built) = statements.period(&p.label) else {
        return;
    };
    for f in found {
        let (expected, credit, what) = match &f.check {
            Check::Line(line) => (
                built.amount_or_zero(*line),
                credit_positive(*line),
                line.id().to_string(),
            ),
            Check::LiabilitiesAndEquity => (
                built.amount_or_zero(Line::TotalLiabilities)
                    + built.amount_or_zero(Line::TotalEquity),
                true,
                "total_liabilities + total_equity".into(),
            ),
            Check::Accounts { ranges, credit } => {
                let in_range = |a: &str| {
                    ranges
                        .iter()
                        .any(|(lo, hi)| a.get(..lo.len()).is_some_and(|h| h >= *lo && h <= *hi))
                };
                let sum: Decimal = f
                    .placed
                    .iter()
                    .filter(|(a, _)| in_range(a))
                    .map(|(_, b)| *b)
                    .sum();
                let shown = ranges
                    .iter()
                    .map(|(lo, hi)| format!("{lo}-{hi}"))
                    .collect::<Vec<_>>()
                    .join(" and ");
                (
                    if *credit { -sum } else { sum },
                    *credit,
                    format!("the accounts {shown}"),
                )
            }
        };
        let given = if credit {
            -f.balance.balance
        } else {
            f.balance.balance
        };
        if !crate::statements::same_cents(given, expected) {
            issues.push(FieldIssue::new(
                f.balance.place.clone(),
                format!(
                    "account {} ({}) holds {given}, but {what} comes to {expected} in period {}; totals in a balance are checks, and this one fails",
                    f.balance.account, f.balance.name, p.label
                ),
            ));
        }
    }
}

/// The builder names fields as in a statements document (`periods[0].balance_sheet.cash`); for a ledger the
/// period's own place is clearer.
fn relabel(e: Error, periods: &[BookPeriod]) -> Error {
    match e {
        Error::InvalidStatements { issues, .. } => Error::invalid_statements(
            issues
                .into_iter()
                .map(|i| {
                    let field = periods
                        .iter()
                        .enumerate()
                        .find_map(|(n, p)| {
                            i.field
                                .strip_prefix(&format!("periods[{n}]"))
                                .map(|rest| format!("{}{rest}", p.place))
                        })
                        .unwrap_or(i.field);
                    FieldIssue::new(field, i.reason)
                })
                .collect(),
        ),
        other => other,
    }
}

impl CompanyFields {
    /// The company, every required field present.
    pub(crate) fn resolve(&self) -> Result<Company> {
        let mut issues = Vec::new();
        if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            issues.push(FieldIssue::new(
                "company.name",
                "missing; this format does not hold the company's name, so the caller gives it (--company-name)",
            ));
        }
        if self.currency.as_deref().is_none_or(|c| c.trim().is_empty()) {
            issues.push(FieldIssue::new(
                "company.currency",
                "missing; this format does not hold the currency, so the caller gives it (--currency)",
            ));
        }
        if !issues.is_empty() {
            return Err(Error::invalid_statements(issues));
        }
        Ok(Company {
            name: self.name.clone().unwrap_or_default(),
            sector: self.sector.clone(),
            naics: self.naics.clone(),
            jurisdiction: self.jurisdiction.clone(),
            currency: self.currency.clone().unwrap_or_default(),
        })
    }
}
