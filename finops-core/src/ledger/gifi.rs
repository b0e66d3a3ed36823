//! The CRA's General Index of Financial Information (guide RC4088, schedules 100 and 125) as a chart: every
//! four-digit code of the balance sheet (1000–3849) and of the income statement (8000–9999) goes to a line of
//! `finops.statements/v1`, and the totals the CRA defines (1599, 2589, 2599, 3139, 3450, 3499, 3620, 3640, 3680,
//! 8089, 8299, 8518, 8519, 9367, 9368, 9369, 9659, 9898, 9899, 9970, 9999) are checks. Rules are read in order;
//! the first whose range holds the code wins. `docs/ledgers.md` lists the mapping as a table.

use super::chart::{BuiltIn, Check, Target};
use crate::statements::Line::*;

const fn line(l: crate::statements::Line) -> Target {
    Target::Line(l)
}

const fn total(l: crate::statements::Line) -> Target {
    Target::Check(Check::Line(l))
}

const fn sum(ranges: &'static [(&'static str, &'static str)], credit: bool) -> Target {
    Target::Check(Check::Accounts { ranges, credit })
}

pub(crate) const RULES: &[BuiltIn] = &[
    // Current assets.
    ("1000", "1007", line(Cash)),
    ("1060", "1065", line(AccountsReceivable)),
    ("1068", "1070", line(AccountsReceivable)),
    ("1120", "1127", line(Inventory)),
    ("1180", "1186", line(MarketableSecurities)),
    ("1599", "1599", total(TotalCurrentAssets)),
    ("1000", "1598", line(OtherCurrentAssets)),
    // Tangible capital assets and their accumulated amortization (odd codes, credit balances: netted).
    ("2008", "2009", Target::Subtotal),
    ("1600", "2007", line(PropertyPlantEquipment)),
    // Intangible capital assets, long-term assets, assets held in trust.
    ("2178", "2179", Target::Subtotal),
    ("2589", "2589", sum(&[("2180", "2588")], false)),
    ("2599", "2599", total(TotalAssets)),
    ("2010", "2598", line(OtherNonCurrentAssets)),
    // Current liabilities.
    ("2600", "2600", line(ShortTermDebt)),
    ("2620", "2623", line(AccountsPayable)),
    ("2700", "2707", line(ShortTermDebt)),
    ("2920", "2920", line(ShortTermDebt)),
    ("3139", "3139", total(TotalCurrentLiabilities)),
    ("2600", "3138", line(OtherCurrentLiabilities)),
    // Long-term liabilities.
    ("3140", "3199", line(LongTermDebt)),
    ("3322", "3322", line(LongTermDebt)),
    ("3460", "3460", line(LongTermDebt)),
    ("3450", "3450", sum(&[("3140", "3449")], true)),
    ("3499", "3499", total(TotalLiabilities)),
    ("3140", "3498", line(OtherNonCurrentLiabilities)),
    // Shareholder equity and retained earnings (pre-closing: the period's result is added by finops).
    ("3620", "3620", total(TotalEquity)),
    ("3640", "3640", Target::Check(Check::LiabilitiesAndEquity)),
    ("3680", "3680", total(NetIncome)),
    ("3849", "3849", Target::Subtotal),
    ("3500", "3848", line(TotalEquity)),
    // Revenue.
    ("8089", "8089", sum(&[("8000", "8088")], true)),
    ("8299", "8299", sum(&[("8000", "8298")], true)),
    ("8000", "8088", line(Revenue)),
    ("8090", "8298", line(OtherIncome)),
    // Cost of sales.
    ("8518", "8518", sum(&[("8300", "8517")], false)),
    (
        "8519",
        "8519",
        sum(&[("8000", "8088"), ("8300", "8517")], true),
    ),
    ("8300", "8517", line(CostOfGoodsSold)),
    // Operating expenses: amortization and interest stand on their own lines.
    ("8570", "8570", line(DepreciationAmortization)),
    ("8650", "8650", line(DepreciationAmortization)),
    ("8670", "8670", line(DepreciationAmortization)),
    ("8710", "8714", line(InterestExpense)),
    ("9367", "9367", sum(&[("8520", "9366")], false)),
    ("9368", "9368", sum(&[("8300", "9366")], false)),
    ("9369", "9369", sum(&[("8000", "9366")], true)),
    ("8520", "9366", line(OperatingExpenses)),
    // Farming revenue and expenses.
    ("9659", "9659", sum(&[("9370", "9658")], true)),
    ("9898", "9898", sum(&[("9660", "9897")], false)),
    ("9899", "9899", sum(&[("9370", "9897")], true)),
    ("9370", "9658", line(Revenue)),
    ("9660", "9897", line(OperatingExpenses)),
    // Extraordinary items, income taxes, net income.
    ("9970", "9970", sum(&[("8000", "9969")], true)),
    ("9999", "9999", total(NetIncome)),
    ("9990", "9998", line(IncomeTaxExpense)),
    ("9971", "9989", line(OtherIncome)),
];

/// The "other" line of a code's part of the index, for the unmapped-as-other option.
pub(crate) fn other_of_class(account: &str) -> Option<Target> {
    let code: u16 = account.parse().ok().filter(|_| account.len() == 4)?;
    Some(line(match code {
        1000..=1599 => OtherCurrentAssets,
        1600..=2599 => OtherNonCurrentAssets,
        2600..=3139 => OtherCurrentLiabilities,
        3140..=3499 => OtherNonCurrentLiabilities,
        3500..=3999 => TotalEquity,
        8000..=8299 => OtherIncome,
        8300..=9999 => OperatingExpenses,
        _ => return None,
    }))
}
