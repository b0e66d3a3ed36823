//! A typed way in for hosts that already hold statement lines (and, optionally, the accounts behind them): totals
//! left out are computed from their lines with checked arithmetic, and the document is then validated by the same
//! code as a JSON document, so the two ways in accept and refuse exactly the same things.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{AccountAmount, Company, Line, LineAccounts, Section, Statements, parse};
use crate::error::{Error, FieldIssue, Result};

/// Builds a [`Statements`] from typed lines: see [`Statements::builder`].
#[derive(Debug, Clone)]
pub struct StatementsBuilder {
    company: Company,
    periods: Vec<PeriodBuilder>,
}

/// One period of a [`StatementsBuilder`]: its dates, line amounts and the accounts behind them.
#[derive(Debug, Clone)]
pub struct PeriodBuilder {
    label: String,
    start: String,
    end: String,
    amounts: [Option<Decimal>; Line::COUNT],
    accounts: Vec<Vec<AccountAmount>>,
}

/// The lines each computed total adds up, in the order the spec lists them.
pub(crate) const TOTALS: [(Line, &[Line]); 4] = [
    (
        Line::TotalCurrentAssets,
        &[
            Line::Cash,
            Line::MarketableSecurities,
            Line::AccountsReceivable,
            Line::Inventory,
            Line::OtherCurrentAssets,
        ],
    ),
    (
        Line::TotalAssets,
        &[
            Line::TotalCurrentAssets,
            Line::PropertyPlantEquipment,
            Line::OtherNonCurrentAssets,
        ],
    ),
    (
        Line::TotalCurrentLiabilities,
        &[
            Line::AccountsPayable,
            Line::ShortTermDebt,
            Line::OtherCurrentLiabilities,
        ],
    ),
    (
        Line::TotalLiabilities,
        &[
            Line::TotalCurrentLiabilities,
            Line::LongTermDebt,
            Line::OtherNonCurrentLiabilities,
        ],
    ),
];

/// The lines a total adds up (empty for a line that is not one of [`TOTALS`]).
pub(crate) fn parts_of(total: Line) -> &'static [Line] {
    TOTALS
        .iter()
        .find(|(t, _)| *t == total)
        .map_or(&[], |(_, parts)| *parts)
}

/// Net income's terms: each line with the sign it takes.
pub(crate) const NET_INCOME_TERMS: [(Line, bool); 7] = [
    (Line::Revenue, true),
    (Line::CostOfGoodsSold, false),
    (Line::OperatingExpenses, false),
    (Line::DepreciationAmortization, false),
    (Line::InterestExpense, false),
    (Line::OtherIncome, true),
    (Line::IncomeTaxExpense, false),
];

impl StatementsBuilder {
    pub(crate) fn new(company: Company) -> Self {
        StatementsBuilder {
            company,
            periods: Vec::new(),
        }
    }

    /// Adds a period (any order: the result orders periods by end date).
    pub fn period(mut self, period: PeriodBuilder) -> Self {
        self.periods.push(period);
        self
    }

    /// Adds a period in place (for hosts filling a builder in a loop).
    pub fn push_period(&mut self, period: PeriodBuilder) -> &mut Self {
        self.periods.push(period);
        self
    }

    /// Computes the missing totals and validates the whole document; errors name the JSON path the same lines
    /// would have in a `finops.statements/v1` document (`periods[0].balance_sheet.cash`).
    pub fn build(self) -> Result<Statements> {
        let mut issues = Vec::new();
        let mut periods = Vec::with_capacity(self.periods.len());
        let mut accounts = Vec::with_capacity(self.periods.len());
        for (i, p) in self.periods.into_iter().enumerate() {
            match p.complete(i) {
                Ok((value, lines)) => {
                    periods.push(value);
                    accounts.push(lines);
                }
                Err(mut found) => issues.append(&mut found),
            }
        }
        if !issues.is_empty() {
            return Err(Error::invalid_statements(issues));
        }
        let mut doc = Map::new();
        doc.insert("schema".into(), Value::String(super::SCHEMA_V1.into()));
        doc.insert("company".into(), company_value(&self.company));
        doc.insert("periods".into(), Value::Array(periods));
        Ok(parse::from_value(&Value::Object(doc))?.with_accounts(accounts))
    }
}

impl PeriodBuilder {
    /// A period from its label and its first and last days (`YYYY-MM-DD`, checked when the builder builds).
    pub fn new(label: impl Into<String>, start: impl Into<String>, end: impl Into<String>) -> Self {
        PeriodBuilder {
            label: label.into(),
            start: start.into(),
            end: end.into(),
            amounts: [None; Line::COUNT],
            accounts: vec![Vec::new(); Line::COUNT],
        }
    }

    /// Sets a line's amount. A total set here is checked against its lines; one left out is computed.
    pub fn line(mut self, line: Line, amount: Decimal) -> Self {
        self.set(line, amount);
        self
    }

    /// Sets a line's amount in place.
    pub fn set(&mut self, line: Line, amount: Decimal) -> &mut Self {
        self.amounts[line.index()] = Some(amount);
        self
    }

    /// Adds an account to a line. A line with accounts and no amount of its own is the sum of its accounts; with
    /// both, they must agree to the cent.
    pub fn account(mut self, line: Line, account: AccountAmount) -> Self {
        self.add_account(line, account);
        self
    }

    /// Adds an account to a line in place.
    pub fn add_account(&mut self, line: Line, account: AccountAmount) -> &mut Self {
        self.accounts[line.index()].push(account);
        self
    }

    /// The period as a JSON value of `finops.statements/v1`, and each line's accounts.
    fn complete(
        mut self,
        i: usize,
    ) -> std::result::Result<(Value, Option<LineAccounts>), Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let path = |line: Line| format!("periods[{i}].{}.{}", line.section().key(), line.id());
        for line in Line::ALL.iter().copied() {
            let list = &self.accounts[line.index()];
            if list.is_empty() {
                continue;
            }
            let mut sum = Decimal::ZERO;
            for a in list {
                match sum.checked_add(a.amount) {
                    Some(s) => sum = s,
                    None => {
                        issues.push(FieldIssue::new(
                            path(line),
                            format!("the sum of its accounts overflows at account {}", a.account),
                        ));
                        break;
                    }
                }
            }
            match self.amounts[line.index()] {
                None => self.amounts[line.index()] = Some(sum),
                Some(given) if parse::same_cents(given, sum) => {}
                Some(given) => issues.push(FieldIssue::new(
                    path(line),
                    format!("{given} does not equal the sum of its accounts ({sum})"),
                )),
            }
        }
        // Totals: computed when left out; their accounts are those of their lines either way.
        for (total, parts) in TOTALS {
            let mut sum = Some(Decimal::ZERO);
            let mut behind = Vec::new();
            for part in parts {
                sum =
                    sum.and_then(|s| s.checked_add(self.amounts[part.index()].unwrap_or_default()));
                behind.extend(self.accounts[part.index()].iter().cloned());
            }
            if self.accounts[total.index()].is_empty() {
                self.accounts[total.index()] = behind;
            }
            if self.amounts[total.index()].is_none() {
                match sum {
                    Some(s) => self.amounts[total.index()] = Some(s),
                    None => issues.push(FieldIssue::new(
                        path(total),
                        "the sum of its lines overflows",
                    )),
                }
            }
        }
        let mut net = Some(Decimal::ZERO);
        let mut behind = Vec::new();
        for (line, plus) in NET_INCOME_TERMS {
            let v = self.amounts[line.index()].unwrap_or_default();
            net = net.and_then(|n| {
                if plus {
                    n.checked_add(v)
                } else {
                    n.checked_sub(v)
                }
            });
            behind.extend(self.accounts[line.index()].iter().map(|a| AccountAmount {
                amount: if plus { a.amount } else { -a.amount },
                ..a.clone()
            }));
        }
        if self.accounts[Line::NetIncome.index()].is_empty() {
            self.accounts[Line::NetIncome.index()] = behind;
        }
        if self.amounts[Line::NetIncome.index()].is_none() {
            match net {
                Some(n) => self.amounts[Line::NetIncome.index()] = Some(n),
                None => issues.push(FieldIssue::new(
                    path(Line::NetIncome),
                    "the sum of its lines overflows",
                )),
            }
        }
        // A total's accounts are its lines' only when every line came from accounts: a partial list would not
        // add up to the total, and provenance that does not add up is worse than none.
        for total in TOTALS.iter().map(|(t, _)| *t).chain([Line::NetIncome]) {
            let sum = self.accounts[total.index()]
                .iter()
                .try_fold(Decimal::ZERO, |s, a| s.checked_add(a.amount));
            let amount = self.amounts[total.index()];
            if !matches!((sum, amount), (Some(s), Some(a)) if parse::same_cents(s, a)) {
                self.accounts[total.index()].clear();
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        let mut map = Map::new();
        map.insert("label".into(), Value::String(self.label));
        map.insert("start".into(), Value::String(self.start));
        map.insert("end".into(), Value::String(self.end));
        for section in Section::ALL {
            let mut lines = Map::new();
            for line in Line::in_section(section) {
                if let Some(v) = self.amounts[line.index()] {
                    lines.insert(line.id().into(), Value::String(v.to_string()));
                }
            }
            if section != Section::CashFlow || !lines.is_empty() {
                map.insert(section.key().into(), Value::Object(lines));
            }
        }
        let any = self.accounts.iter().any(|a| !a.is_empty());
        let accounts = any.then(|| {
            self.accounts
                .into_iter()
                .map(Arc::from)
                .collect::<Vec<Arc<[AccountAmount]>>>()
                .into()
        });
        Ok((Value::Object(map), accounts))
    }
}

fn company_value(c: &Company) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), Value::String(c.name.clone()));
    for (key, value) in [
        ("sector", &c.sector),
        ("naics", &c.naics),
        ("jurisdiction", &c.jurisdiction),
    ] {
        if let Some(v) = value {
            map.insert(key.into(), Value::String(v.clone()));
        }
    }
    map.insert("currency".into(), Value::String(c.currency.clone()));
    Value::Object(map)
}

impl StatementsBuilder {
    /// The builder's input as bindings pass it: `{"company": {…}, "periods": [{"label", "start", "end",
    /// "lines": {"cash": "1200.50", …}, "accounts": {"cash": [{"account": "1001", "name": "…", "amount": "…"}]}}]}`.
    /// Amounts are decimal strings or JSON numbers; errors name the field.
    pub fn from_json_value(value: &Value) -> Result<Statements> {
        let refuse = |field: String, reason: String| {
            Error::invalid_statements(vec![FieldIssue::new(field, reason)])
        };
        let doc = value.as_object().ok_or_else(|| {
            refuse(
                "$".into(),
                "must be an object with `company` and `periods`".into(),
            )
        })?;
        for key in doc.keys() {
            if key != "company" && key != "periods" {
                return Err(refuse(
                    key.clone(),
                    "unknown field; expected one of: company, periods".into(),
                ));
            }
        }
        let c = doc
            .get("company")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                refuse(
                    "company".into(),
                    "missing; an object with name and currency".into(),
                )
            })?;
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
        let company = Company {
            name: text("name").unwrap_or_default(),
            sector: text("sector"),
            naics: text("naics"),
            jurisdiction: text("jurisdiction"),
            currency: text("currency").unwrap_or_default(),
        };
        let mut builder = StatementsBuilder::new(company);
        let periods = doc
            .get("periods")
            .and_then(Value::as_array)
            .ok_or_else(|| refuse("periods".into(), "missing; an array of periods".into()))?;
        if periods.len() > super::MAX_PERIODS {
            return Err(refuse(
                "periods".into(),
                format!("at most {} periods are read", super::MAX_PERIODS),
            ));
        }
        for (i, p) in periods.iter().enumerate() {
            let at = format!("periods[{i}]");
            let p = p
                .as_object()
                .ok_or_else(|| refuse(at.clone(), "must be an object".into()))?;
            for key in p.keys() {
                if !["label", "start", "end", "lines", "accounts"].contains(&key.as_str()) {
                    return Err(refuse(
                        format!("{at}.{key}"),
                        "unknown field; expected one of: label, start, end, lines, accounts".into(),
                    ));
                }
            }
            let text = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let mut period = PeriodBuilder::new(text("label"), text("start"), text("end"));
            let line = |k: &str, field: &str| {
                k.parse::<Line>().map_err(|_| {
                    refuse(
                        field.to_string(),
                        format!("`{k}` is not a line of finops.statements/v1"),
                    )
                })
            };
            if let Some(lines) = p.get("lines") {
                let lines = lines.as_object().ok_or_else(|| {
                    refuse(
                        format!("{at}.lines"),
                        "must be an object of line → amount".into(),
                    )
                })?;
                for (k, v) in lines {
                    let field = format!("{at}.lines.{k}");
                    let l = line(k, &field)?;
                    let amount = parse::parse_amount(v).map_err(|r| refuse(field, r))?;
                    period.set(l, amount);
                }
            }
            if let Some(accounts) = p.get("accounts") {
                let accounts = accounts.as_object().ok_or_else(|| {
                    refuse(
                        format!("{at}.accounts"),
                        "must be an object of line → accounts".into(),
                    )
                })?;
                for (k, list) in accounts {
                    let field = format!("{at}.accounts.{k}");
                    let l = line(k, &field)?;
                    let list = list.as_array().ok_or_else(|| {
                        refuse(field.clone(), "must be an array of accounts".into())
                    })?;
                    for (j, a) in list.iter().enumerate() {
                        let here = format!("{field}[{j}]");
                        let get =
                            |key: &str| a.get(key).and_then(Value::as_str).map(str::to_string);
                        let account = get("account")
                            .filter(|s| !s.trim().is_empty())
                            .ok_or_else(|| refuse(format!("{here}.account"), "missing".into()))?;
                        let amount = a
                            .get("amount")
                            .ok_or_else(|| refuse(format!("{here}.amount"), "missing".into()))
                            .and_then(|v| {
                                parse::parse_amount(v)
                                    .map_err(|r| refuse(format!("{here}.amount"), r))
                            })?;
                        period.add_account(
                            l,
                            AccountAmount {
                                account,
                                name: get("name").unwrap_or_default(),
                                amount,
                            },
                        );
                    }
                }
            }
            builder.push_period(period);
        }
        builder.build()
    }
}
