//! Charts of accounts: where each account of a trial balance goes in `finops.statements/v1`.
//!
//! A chart is an ordered list of rules (first match wins). A rule matches accounts by prefix range (`"1000-1099"`
//! matches every account whose first four characters lie between `1000` and `1099`), by prefix (`"512*"`) or by an
//! exact list (`["1001", "1002"]` or `"1001,1002"`), and sends them to a line, to one of two lines by the side of
//! their balance (a bank account in overdraft is debt), or to a check: a total present in the balance that is
//! compared with the computed figure and never added.

use std::fmt;

use serde_json::Value;

use crate::error::{Error, FieldIssue, Result};
use crate::statements::Line;

/// A chart of accounts: the CRA's GIFI, the French Plan comptable général, or the host's own mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chart {
    /// The CRA's General Index of Financial Information (guide RC4088): four-digit codes.
    Gifi,
    /// The French Plan comptable général (classes 1 to 7, by prefix).
    Pcg,
    /// A mapping given by the host.
    Custom(CustomChart),
}

/// A host's mapping from its account numbers to statement lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomChart {
    /// The chart's name.
    pub name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pattern: Pattern,
    pub(crate) target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Accounts whose first `lo.len()` characters lie in `lo..=hi` (same length, compared as text).
    Range(String, String),
    Prefix(String),
    Exact(Vec<String>),
}

/// Where a matched account goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A statement line; the account's balance is read in the line's own sign.
    Line(Line),
    /// `debit` when the account's balance is a debit, `credit` otherwise (bank accounts, French class-4 accounts).
    BySign { debit: Line, credit: Line },
    /// A total held in the balance: compared with the computed figure, never added.
    Check(Check),
    /// A subtotal whose parts a trial balance cannot tell apart: neither added nor checked.
    Subtotal,
}

/// What a check account is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// A line of the built statements (a total, net income or total equity).
    Line(Line),
    /// Total liabilities plus total equity.
    LiabilitiesAndEquity,
    /// The sum of the placed accounts in these prefix ranges, credit positive when `credit`.
    Accounts {
        ranges: &'static [(&'static str, &'static str)],
        credit: bool,
    },
}

/// Which side a line's amounts are read from: `true` for lines that grow with credits (liabilities, equity,
/// revenue, other income), `false` for debits (assets, expenses).
pub(crate) fn credit_positive(line: Line) -> bool {
    use Line::*;
    matches!(
        line,
        AccountsPayable
            | ShortTermDebt
            | OtherCurrentLiabilities
            | TotalCurrentLiabilities
            | LongTermDebt
            | OtherNonCurrentLiabilities
            | TotalLiabilities
            | TotalEquity
            | Revenue
            | OtherIncome
            | NetIncome
    )
}

/// Lines an account can be added to (the others are computed, or come from the period's cash flow statement).
pub(crate) fn placeable(line: Line) -> bool {
    use Line::*;
    !matches!(
        line,
        TotalCurrentAssets
            | TotalAssets
            | TotalCurrentLiabilities
            | TotalLiabilities
            | NetIncome
            | OperatingCashFlow
            | CapitalExpenditures
            | DividendsPaid
    )
}

impl Pattern {
    fn matches(&self, account: &str) -> bool {
        match self {
            Pattern::Range(lo, hi) => account
                .get(..lo.len())
                .is_some_and(|head| head >= lo.as_str() && head <= hi.as_str()),
            Pattern::Prefix(p) => account.starts_with(p.as_str()),
            Pattern::Exact(list) => list.iter().any(|a| a == account),
        }
    }

    /// `"1000-1099"`, `"512*"`, `"1001"` or `"1001,1002"`.
    fn parse(text: &str) -> std::result::Result<Pattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".into());
        }
        if let Some(prefix) = text.strip_suffix('*') {
            return if prefix.is_empty() || prefix.contains(['*', ',', '-']) {
                Err(format!("\"{text}\" is not a prefix such as \"512*\""))
            } else {
                Ok(Pattern::Prefix(prefix.to_string()))
            };
        }
        if text.contains(',') {
            let list: Vec<String> = text.split(',').map(|a| a.trim().to_string()).collect();
            if list.iter().any(|a| a.is_empty()) {
                return Err(format!("\"{text}\" has an empty account in its list"));
            }
            return Ok(Pattern::Exact(list));
        }
        if let Some((lo, hi)) = text.split_once('-') {
            let (lo, hi) = (lo.trim(), hi.trim());
            if lo.is_empty() || lo.len() != hi.len() || lo > hi {
                return Err(format!(
                    "\"{text}\" is not a range such as \"1000-1099\" (two bounds of the same length, low first)"
                ));
            }
            return Ok(Pattern::Range(lo.to_string(), hi.to_string()));
        }
        Ok(Pattern::Exact(vec![text.to_string()]))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Range(lo, hi) => write!(f, "{lo}-{hi}"),
            Pattern::Prefix(p) => write!(f, "{p}*"),
            Pattern::Exact(list) => f.write_str(&list.join(",")),
        }
    }
}

impl Chart {
    /// `"gifi"`, `"pcg"`, or a custom chart as JSON (`{"name": …, "map": [{"accounts": …, "line": …}]}`).
    pub fn from_json_value(value: &Value) -> Result<Chart> {
        match value {
            Value::String(s) => s.parse(),
            Value::Object(_) => CustomChart::from_json_value(value).map(Chart::Custom),
            other => Err(Error::invalid_statements(vec![FieldIssue::new(
                "chart",
                format!(
                    "must be \"gifi\", \"pcg\" or a custom chart object, found {}",
                    crate::statements::json_kind(other)
                ),
            )])),
        }
    }

    /// A chart as a caller names it (a command-line flag, a binding's option): `gifi`, `pcg`, a custom chart as
    /// JSON text, or the path of a JSON file holding one. (A document's own `chart` is never read as a path.)
    pub fn from_argument(text: &str) -> Result<Chart> {
        let trimmed = text.trim();
        if ["gifi", "pcg"].contains(&trimmed.to_ascii_lowercase().as_str()) {
            return trimmed.parse();
        }
        let json = if trimmed.starts_with('{') {
            trimmed.as_bytes().to_vec()
        } else {
            std::fs::read(trimmed).map_err(|e| {
                Error::invalid_argument(
                    "chart",
                    format!("neither gifi, pcg, a custom chart in JSON nor a readable chart file ({trimmed}: {e})"),
                )
            })?
        };
        let value: Value = serde_json::from_slice(&json).map_err(|e| {
            Error::invalid_argument("chart", format!("the custom chart is not JSON: {e}"))
        })?;
        Chart::from_json_value(&value)
    }

    /// Where an account goes, or `None` when the chart cannot place it.
    pub(crate) fn place(&self, account: &str) -> Option<Target> {
        match self {
            Chart::Gifi => {
                // GIFI codes are four digits; anything else is not a GIFI code.
                if account.len() != 4 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                first_match(super::gifi::RULES, account)
            }
            Chart::Pcg => {
                if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return None;
                }
                first_match(super::pcg::RULES, account)
            }
            Chart::Custom(c) => c
                .rules
                .iter()
                .find(|r| r.pattern.matches(account))
                .map(|r| r.target.clone()),
        }
    }

    /// With the "unmapped accounts as other" option: the "other" line of the account's class, when the chart
    /// says what the class is (a custom chart does not).
    pub(crate) fn other_of_class(&self, account: &str) -> Option<Target> {
        match self {
            Chart::Gifi => super::gifi::other_of_class(account),
            Chart::Pcg => super::pcg::other_of_class(account),
            Chart::Custom(_) => None,
        }
    }

    /// The chart's name (`gifi`, `pcg` or the custom chart's).
    pub fn name(&self) -> &str {
        match self {
            Chart::Gifi => "gifi",
            Chart::Pcg => "pcg",
            Chart::Custom(c) => &c.name,
        }
    }
}

/// A built-in rule: a prefix range (`lo == hi` for one prefix) and its target.
pub(crate) type BuiltIn = (&'static str, &'static str, Target);

fn first_match(rules: &[BuiltIn], account: &str) -> Option<Target> {
    rules
        .iter()
        .find(|(lo, hi, _)| {
            account
                .get(..lo.len())
                .is_some_and(|head| head >= *lo && head <= *hi)
        })
        .map(|(_, _, t)| t.clone())
}

impl std::str::FromStr for Chart {
    type Err = Error;

    fn from_str(s: &str) -> Result<Chart> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gifi" => Ok(Chart::Gifi),
            "pcg" => Ok(Chart::Pcg),
            _ => Err(Error::invalid_argument(
                "chart",
                format!("unknown chart \"{s}\"; expected \"gifi\", \"pcg\" or a custom chart"),
            )),
        }
    }
}

impl CustomChart {
    /// `{"name": "…", "map": [{"accounts": "1000-1099", "line": "cash"}, …]}`. A rule may add `"credit_line"`
    /// (the line for a credit balance). A `line` that is a total or net income makes the accounts checks.
    pub fn from_json_value(value: &Value) -> Result<CustomChart> {
        let mut issues = Vec::new();
        let Some(map) = value.as_object() else {
            return Err(Error::invalid_statements(vec![FieldIssue::new(
                "chart",
                "must be an object with `name` and `map`",
            )]));
        };
        for key in map.keys() {
            if key != "name" && key != "map" {
                issues.push(FieldIssue::new(
                    format!("chart.{key}"),
                    "unknown field; expected one of: name, map",
                ));
            }
        }
        let name = match map.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 200 => s.clone(),
            _ => {
                issues.push(FieldIssue::new(
                    "chart.name",
                    "must be a non-empty text of at most 200 characters",
                ));
                String::new()
            }
        };
        let mut rules = Vec::new();
        match map.get("map") {
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_RULES => {
                for (i, item) in items.iter().enumerate() {
                    match rule(item, i) {
                        Ok(r) => rules.push(r),
                        Err(mut found) => issues.append(&mut found),
                    }
                }
            }
            Some(Value::Array(items)) if items.len() > MAX_RULES => issues.push(FieldIssue::new(
                "chart.map",
                format!("holds {} rules; at most {MAX_RULES} are read", items.len()),
            )),
            _ => issues.push(FieldIssue::new(
                "chart.map",
                "must be a non-empty array of rules",
            )),
        }
        if issues.is_empty() {
            Ok(CustomChart { name, rules })
        } else {
            Err(Error::invalid_statements(issues))
        }
    }
}

/// The most rules a custom chart may hold.
const MAX_RULES: usize = 10_000;

fn rule(item: &Value, i: usize) -> std::result::Result<Rule, Vec<FieldIssue>> {
    let path = format!("chart.map[{i}]");
    let mut issues = Vec::new();
    let Some(map) = item.as_object() else {
        return Err(vec![FieldIssue::new(
            path,
            "must be an object with `accounts` and `line`",
        )]);
    };
    for key in map.keys() {
        if !["accounts", "line", "credit_line"].contains(&key.as_str()) {
            issues.push(FieldIssue::new(
                format!("{path}.{key}"),
                "unknown field; expected one of: accounts, line, credit_line",
            ));
        }
    }
    let pattern = match map.get("accounts") {
        Some(Value::String(s)) => Pattern::parse(s)
            .map_err(|reason| issues.push(FieldIssue::new(format!("{path}.accounts"), reason)))
            .ok(),
        Some(Value::Array(list)) if !list.is_empty() => {
            let accounts: Option<Vec<String>> = list
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                })
                .collect();
            if accounts.is_none() {
                issues.push(FieldIssue::new(
                    format!("{path}.accounts"),
                    "a list of accounts must hold non-empty texts",
                ));
            }
            accounts.map(Pattern::Exact)
        }
        _ => {
            issues.push(FieldIssue::new(
                format!("{path}.accounts"),
                "missing; a range (\"1000-1099\"), a prefix (\"512*\") or a list of accounts",
            ));
            None
        }
    };
    let line = |key: &str, issues: &mut Vec<FieldIssue>| -> Option<Line> {
        let text = map.get(key)?;
        let parsed = text.as_str().and_then(|s| s.parse::<Line>().ok());
        if parsed.is_none() {
            issues.push(FieldIssue::new(
                format!("{path}.{key}"),
                format!("{text} is not a line of finops.statements/v1"),
            ));
        }
        parsed
    };
    let debit = line("line", &mut issues);
    let credit = line("credit_line", &mut issues);
    if !map.contains_key("line") {
        issues.push(FieldIssue::new(
            format!("{path}.line"),
            "missing; the line these accounts go to",
        ));
    }
    for l in [debit, credit].into_iter().flatten() {
        if l.section() == crate::statements::Section::CashFlow {
            issues.push(FieldIssue::new(
                format!("{path}.line"),
                format!(
                    "`{l}` is a cash flow line; a balance cannot make it (give the period's `cash_flow` instead)"
                ),
            ));
        }
    }
    let target = match (debit, credit) {
        (Some(d), None) if placeable(d) => Some(Target::Line(d)),
        (Some(d), None) => Some(Target::Check(Check::Line(d))),
        (Some(d), Some(c)) if placeable(d) && placeable(c) => Some(Target::BySign {
            debit: d,
            credit: c,
        }),
        (Some(_), Some(_)) => {
            issues.push(FieldIssue::new(
                format!("{path}.credit_line"),
                "a rule with two lines must send accounts to lines that add up (not totals)",
            ));
            None
        }
        _ => None,
    };
    match (pattern, target) {
        (Some(pattern), Some(target)) if issues.is_empty() => Ok(Rule { pattern, target }),
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statements::Line::*;

    /// The documented mapping (docs/ledgers.md), account by account.
    #[test]
    fn gifi_codes_go_where_the_guide_says() {
        let line = |l| Some(Target::Line(l));
        let check = |l| Some(Target::Check(Check::Line(l)));
        let cases = [
            ("1000", line(Cash)),
            ("1007", line(Cash)),
            ("1060", line(AccountsReceivable)),
            ("1061", line(AccountsReceivable)),
            ("1066", line(OtherCurrentAssets)),
            ("1069", line(AccountsReceivable)),
            ("1120", line(Inventory)),
            ("1127", line(Inventory)),
            ("1180", line(MarketableSecurities)),
            ("1240", line(OtherCurrentAssets)),
            ("1484", line(OtherCurrentAssets)),
            ("1598", line(OtherCurrentAssets)),
            ("1599", check(TotalCurrentAssets)),
            ("1600", line(PropertyPlantEquipment)),
            ("1741", line(PropertyPlantEquipment)),
            ("2007", line(PropertyPlantEquipment)),
            ("2008", Some(Target::Subtotal)),
            ("2009", Some(Target::Subtotal)),
            ("2012", line(OtherNonCurrentAssets)),
            ("2178", Some(Target::Subtotal)),
            ("2300", line(OtherNonCurrentAssets)),
            ("2590", line(OtherNonCurrentAssets)),
            ("2599", check(TotalAssets)),
            ("2600", line(ShortTermDebt)),
            ("2620", line(AccountsPayable)),
            ("2623", line(AccountsPayable)),
            ("2624", line(OtherCurrentLiabilities)),
            ("2680", line(OtherCurrentLiabilities)),
            ("2701", line(ShortTermDebt)),
            ("2920", line(ShortTermDebt)),
            ("2960", line(OtherCurrentLiabilities)),
            ("3139", check(TotalCurrentLiabilities)),
            ("3140", line(LongTermDebt)),
            ("3143", line(LongTermDebt)),
            ("3260", line(OtherNonCurrentLiabilities)),
            ("3322", line(LongTermDebt)),
            ("3460", line(LongTermDebt)),
            ("3470", line(OtherNonCurrentLiabilities)),
            ("3499", check(TotalLiabilities)),
            ("3500", line(TotalEquity)),
            ("3600", line(TotalEquity)),
            ("3620", check(TotalEquity)),
            ("3640", Some(Target::Check(Check::LiabilitiesAndEquity))),
            ("3680", check(NetIncome)),
            ("3701", line(TotalEquity)),
            ("3849", Some(Target::Subtotal)),
            ("8000", line(Revenue)),
            ("8088", line(Revenue)),
            ("8090", line(OtherIncome)),
            ("8230", line(OtherIncome)),
            ("8300", line(CostOfGoodsSold)),
            ("8500", line(CostOfGoodsSold)),
            ("8520", line(OperatingExpenses)),
            ("8570", line(DepreciationAmortization)),
            ("8670", line(DepreciationAmortization)),
            ("8710", line(InterestExpense)),
            ("8714", line(InterestExpense)),
            ("8715", line(OperatingExpenses)),
            ("9060", line(OperatingExpenses)),
            ("9366", line(OperatingExpenses)),
            ("9370", line(Revenue)),
            ("9660", line(OperatingExpenses)),
            ("9975", line(OtherIncome)),
            ("9990", line(IncomeTaxExpense)),
            ("9995", line(IncomeTaxExpense)),
            ("9999", check(NetIncome)),
            ("0500", None),
            ("4000", None),
            ("100", None),
            ("10000", None),
            ("1A00", None),
        ];
        for (account, want) in cases {
            assert_eq!(Chart::Gifi.place(account), want, "{account}");
        }
        for code in [
            "8089", "8299", "8518", "8519", "9367", "9368", "9369", "9659", "9898", "9899", "9970",
            "2589", "3450",
        ] {
            assert!(
                matches!(
                    Chart::Gifi.place(code),
                    Some(Target::Check(Check::Accounts { .. }))
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn pcg_accounts_go_where_the_plan_says() {
        let line = |l| Some(Target::Line(l));
        let sign = |d, c| {
            Some(Target::BySign {
                debit: d,
                credit: c,
            })
        };
        let cases = [
            ("101300", line(TotalEquity)),
            ("108000", line(TotalEquity)),
            ("110000", line(TotalEquity)),
            ("120000", line(TotalEquity)),
            ("131000", line(TotalEquity)),
            ("151000", line(OtherNonCurrentLiabilities)),
            ("164000", line(LongTermDebt)),
            ("165000", line(OtherNonCurrentLiabilities)),
            ("168800", line(LongTermDebt)),
            ("171000", line(OtherNonCurrentLiabilities)),
            ("205000", line(OtherNonCurrentAssets)),
            ("280500", line(OtherNonCurrentAssets)),
            ("213100", line(PropertyPlantEquipment)),
            ("215400", line(PropertyPlantEquipment)),
            ("231000", line(PropertyPlantEquipment)),
            ("281540", line(PropertyPlantEquipment)),
            ("291100", line(PropertyPlantEquipment)),
            ("261000", line(OtherNonCurrentAssets)),
            ("275000", line(OtherNonCurrentAssets)),
            ("296000", line(OtherNonCurrentAssets)),
            ("310000", line(Inventory)),
            ("370000", line(Inventory)),
            ("397000", line(Inventory)),
            ("401000", line(AccountsPayable)),
            ("404000", line(AccountsPayable)),
            ("408100", line(AccountsPayable)),
            ("409100", line(OtherCurrentAssets)),
            ("411000", line(AccountsReceivable)),
            ("416000", line(AccountsReceivable)),
            ("418100", line(AccountsReceivable)),
            ("419100", line(OtherCurrentLiabilities)),
            ("421000", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("431000", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("444000", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("445660", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("455000", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("467000", sign(OtherCurrentAssets, OtherCurrentLiabilities)),
            ("486000", line(OtherCurrentAssets)),
            ("487000", line(OtherCurrentLiabilities)),
            ("491000", line(AccountsReceivable)),
            ("496000", line(OtherCurrentAssets)),
            ("503000", line(MarketableSecurities)),
            ("590000", line(MarketableSecurities)),
            ("512000", sign(Cash, ShortTermDebt)),
            ("514000", sign(Cash, ShortTermDebt)),
            ("519000", line(ShortTermDebt)),
            ("518600", line(ShortTermDebt)),
            ("530000", line(Cash)),
            ("580000", sign(Cash, ShortTermDebt)),
            ("601000", line(CostOfGoodsSold)),
            ("603700", line(CostOfGoodsSold)),
            ("606100", line(OperatingExpenses)),
            ("607000", line(CostOfGoodsSold)),
            ("613200", line(OperatingExpenses)),
            ("625100", line(OperatingExpenses)),
            ("635110", line(OperatingExpenses)),
            ("641100", line(OperatingExpenses)),
            ("651000", line(OperatingExpenses)),
            ("661100", line(InterestExpense)),
            ("666000", line(OtherIncome)),
            ("671200", line(OtherIncome)),
            ("681120", line(DepreciationAmortization)),
            ("681200", line(DepreciationAmortization)),
            ("681500", line(OperatingExpenses)),
            ("686000", line(OtherIncome)),
            ("687000", line(OtherIncome)),
            ("691000", line(OperatingExpenses)),
            ("695000", line(IncomeTaxExpense)),
            ("699000", line(IncomeTaxExpense)),
            ("701000", line(Revenue)),
            ("706000", line(Revenue)),
            ("709000", line(Revenue)),
            ("713000", line(Revenue)),
            ("740000", line(OtherIncome)),
            ("758000", line(OtherIncome)),
            ("768000", line(OtherIncome)),
            ("781500", line(OtherIncome)),
            ("791000", line(OperatingExpenses)),
            ("801000", None),
            ("190000", None),
            ("", None),
            ("51 2", None),
        ];
        for (account, want) in cases {
            assert_eq!(Chart::Pcg.place(account), want, "{account}");
        }
    }

    /// No built-in rule is hidden by an earlier one at its upper bound (a rule nobody could reach is a bug).
    #[test]
    fn no_built_in_rule_is_shadowed() {
        for (chart, rules, width) in [
            (Chart::Gifi, super::super::gifi::RULES, 4),
            (Chart::Pcg, super::super::pcg::RULES, 6),
        ] {
            for (lo, hi, target) in rules {
                let account = format!("{hi:0<width$}");
                let account = if chart == Chart::Pcg {
                    account
                } else {
                    hi.to_string()
                };
                assert_eq!(
                    chart.place(&account).as_ref(),
                    Some(target),
                    "{} {lo}-{hi}",
                    chart.name()
                );
            }
        }
    }

    #[test]
    fn custom_patterns() {
        assert!(
            Pattern::parse("1000-1099")
                .is_ok_and(|p| p.matches("1050") && p.matches("10995") && !p.matches("1100"))
        );
        assert!(Pattern::parse("512*").is_ok_and(|p| p.matches("512000") && !p.matches("51")));
        assert!(
            Pattern::parse("1001, 1002").is_ok_and(|p| p.matches("1002") && !p.matches("1003"))
        );
        for bad in ["", "*", "12-1", "1-22", "1,,2", "5*1*"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
