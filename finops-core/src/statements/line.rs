//! The statement lines of `finops.statements/v1`, as one enum so amounts live in a fixed array.

use std::fmt;
use std::str::FromStr;

/// Which statement a line belongs to (and its JSON object name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The income statement.
    IncomeStatement,
    /// The balance sheet.
    BalanceSheet,
    /// The cash flow statement.
    CashFlow,
}

impl Section {
    /// The three sections, in document order.
    pub const ALL: [Section; 3] = [
        Section::IncomeStatement,
        Section::BalanceSheet,
        Section::CashFlow,
    ];

    /// The JSON key of this section inside a period.
    pub fn key(self) -> &'static str {
        match self {
            Section::IncomeStatement => "income_statement",
            Section::BalanceSheet => "balance_sheet",
            Section::CashFlow => "cash_flow",
        }
    }
}

macro_rules! lines {
    ($( $variant:ident => $id:literal, $section:ident, $optional:literal, $signed:literal; )*) => {
        /// A line of the statements, named as in `spec/statements-v1.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Line { $(#[doc = concat!("`", $id, "`.")] $variant),* }

        impl Line {
            /// Every line, in document order.
            pub const ALL: &'static [Line] = &[$(Line::$variant),*];
            /// How many lines there are.
            pub const COUNT: usize = Line::ALL.len();

            /// The line's JSON key, e.g. `"total_assets"`.
            pub fn id(self) -> &'static str { match self { $(Line::$variant => $id),* } }
            /// The statement this line belongs to.
            pub fn section(self) -> Section { match self { $(Line::$variant => Section::$section),* } }
            /// Whether a document may leave this line out (it then counts as absent / zero in sums).
            pub fn optional(self) -> bool { match self { $(Line::$variant => $optional),* } }
            /// Whether a negative amount makes sense for this line.
            pub fn may_be_negative(self) -> bool { match self { $(Line::$variant => $signed),* } }
        }
    };
}

lines! {
    Revenue => "revenue", IncomeStatement, false, false;
    CostOfGoodsSold => "cost_of_goods_sold", IncomeStatement, false, false;
    OperatingExpenses => "operating_expenses", IncomeStatement, false, false;
    DepreciationAmortization => "depreciation_amortization", IncomeStatement, false, false;
    InterestExpense => "interest_expense", IncomeStatement, false, false;
    OtherIncome => "other_income", IncomeStatement, true, true;
    IncomeTaxExpense => "income_tax_expense", IncomeStatement, false, true;
    NetIncome => "net_income", IncomeStatement, false, true;
    Cash => "cash", BalanceSheet, false, false;
    MarketableSecurities => "marketable_securities", BalanceSheet, true, false;
    AccountsReceivable => "accounts_receivable", BalanceSheet, false, false;
    Inventory => "inventory", BalanceSheet, true, false;
    OtherCurrentAssets => "other_current_assets", BalanceSheet, false, false;
    TotalCurrentAssets => "total_current_assets", BalanceSheet, false, false;
    PropertyPlantEquipment => "property_plant_equipment", BalanceSheet, false, false;
    OtherNonCurrentAssets => "other_non_current_assets", BalanceSheet, false, false;
    TotalAssets => "total_assets", BalanceSheet, false, false;
    AccountsPayable => "accounts_payable", BalanceSheet, false, false;
    ShortTermDebt => "short_term_debt", BalanceSheet, false, false;
    OtherCurrentLiabilities => "other_current_liabilities", BalanceSheet, false, false;
    TotalCurrentLiabilities => "total_current_liabilities", BalanceSheet, false, false;
    LongTermDebt => "long_term_debt", BalanceSheet, false, false;
    OtherNonCurrentLiabilities => "other_non_current_liabilities", BalanceSheet, false, false;
    TotalLiabilities => "total_liabilities", BalanceSheet, false, false;
    TotalEquity => "total_equity", BalanceSheet, false, true;
    OperatingCashFlow => "operating_cash_flow", CashFlow, false, true;
    CapitalExpenditures => "capital_expenditures", CashFlow, false, false;
    DividendsPaid => "dividends_paid", CashFlow, false, false;
}

impl Line {
    /// Array index of this line in a period's amounts.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The lines of one section, in document order.
    pub fn in_section(section: Section) -> impl Iterator<Item = Line> {
        Line::ALL
            .iter()
            .copied()
            .filter(move |l| l.section() == section)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Line {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Line::ALL
            .iter()
            .copied()
            .find(|l| l.id() == s)
            .ok_or_else(|| {
                crate::Error::invalid_argument("line", format!("unknown statement line `{s}`"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (i, line) in Line::ALL.iter().enumerate() {
            assert_eq!(line.index(), i);
            assert!(seen.insert(line.id()));
            assert_eq!(line.id().parse::<Line>().ok(), Some(*line));
        }
        assert_eq!(Line::COUNT, 28);
        assert!("revenues".parse::<Line>().is_err());
    }
}
