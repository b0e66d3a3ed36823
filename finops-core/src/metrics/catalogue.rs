//! The metric catalogue of `spec/metrics-v1.md`: ids, formulas, units and the family each metric belongs to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a figure's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A plain ratio such as 1.81 (times).
    Ratio,
    /// A fraction to show as a percentage: 0.25 is 25 %.
    Percent,
    /// An amount in the company's currency.
    Amount,
    /// A number of days.
    Days,
}

impl Unit {
    /// The unit's id as serialized: `ratio`, `percent`, `amount` or `days`.
    pub fn id(self) -> &'static str {
        match self {
            Unit::Ratio => "ratio",
            Unit::Percent => "percent",
            Unit::Amount => "amount",
            Unit::Days => "days",
        }
    }
}

/// Whether balance-sheet amounts were averaged with the previous consecutive period or taken at closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Average,
    Closing,
}

impl Basis {
    /// The basis's id as serialized: `average` or `closing`.
    pub fn id(self) -> &'static str {
        match self {
            Basis::Average => "average",
            Basis::Closing => "closing",
        }
    }
}

/// The family of questions a metric answers; the offline analyst maps intents to families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Liquidity,
    Solvency,
    Profitability,
    Efficiency,
    Growth,
    CashFlow,
}

macro_rules! metrics {
    ($( $variant:ident => $id:literal, $unit:ident, $cat:ident, $formula:literal; )*) => {
        /// A metric of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MetricId { $($variant),* }

        impl MetricId {
            /// Every metric, in catalogue order.
            pub const ALL: &'static [MetricId] = &[$(MetricId::$variant),*];

            /// The metric's id, e.g. `"current_ratio"`.
            pub fn id(self) -> &'static str { match self { $(MetricId::$variant => $id),* } }
            /// How the value reads.
            pub fn unit(self) -> Unit { match self { $(MetricId::$variant => Unit::$unit),* } }
            /// The family of questions it answers.
            pub fn category(self) -> Category { match self { $(MetricId::$variant => Category::$cat),* } }
            /// The formula as the catalogue writes it.
            pub fn formula(self) -> &'static str { match self { $(MetricId::$variant => $formula),* } }
        }
    };
}

metrics! {
    CurrentRatio => "current_ratio", Ratio, Liquidity, "total_current_assets / total_current_liabilities";
    QuickRatio => "quick_ratio", Ratio, Liquidity, "(cash + marketable_securities + accounts_receivable) / total_current_liabilities";
    CashRatio => "cash_ratio", Ratio, Liquidity, "(cash + marketable_securities) / total_current_liabilities";
    WorkingCapital => "working_capital", Amount, Liquidity, "total_current_assets - total_current_liabilities";
    OperatingCashFlowRatio => "operating_cash_flow_ratio", Ratio, Liquidity, "operating_cash_flow / total_current_liabilities";
    DebtToEquity => "debt_to_equity", Ratio, Solvency, "total_debt / total_equity";
    DebtToAssets => "debt_to_assets", Ratio, Solvency, "total_debt / total_assets";
    InterestCoverage => "interest_coverage", Ratio, Solvency, "operating_income / interest_expense";
    NetDebtToEbitda => "net_debt_to_ebitda", Ratio, Solvency, "(total_debt - cash - marketable_securities) / ebitda";
    GrossMargin => "gross_margin", Percent, Profitability, "gross_profit / revenue";
    OperatingMargin => "operating_margin", Percent, Profitability, "operating_income / revenue";
    EbitdaMargin => "ebitda_margin", Percent, Profitability, "ebitda / revenue";
    NetMargin => "net_margin", Percent, Profitability, "net_income / revenue";
    EffectiveTaxRate => "effective_tax_rate", Percent, Profitability, "income_tax_expense / income_before_tax";
    ReturnOnAssets => "return_on_assets", Percent, Profitability, "net_income / avg(total_assets)";
    ReturnOnEquity => "return_on_equity", Percent, Profitability, "net_income / avg(total_equity)";
    AssetTurnover => "asset_turnover", Ratio, Efficiency, "revenue / avg(total_assets)";
    InventoryTurnover => "inventory_turnover", Ratio, Efficiency, "cost_of_goods_sold / avg(inventory)";
    DaysInventoryOutstanding => "days_inventory_outstanding", Days, Efficiency, "avg(inventory) / cost_of_goods_sold * days";
    DaysSalesOutstanding => "days_sales_outstanding", Days, Efficiency, "avg(accounts_receivable) / revenue * days";
    DaysPayablesOutstanding => "days_payables_outstanding", Days, Efficiency, "avg(accounts_payable) / cost_of_goods_sold * days";
    CashConversionCycle => "cash_conversion_cycle", Days, Efficiency, "days_inventory_outstanding + days_sales_outstanding - days_payables_outstanding";
    RevenueGrowth => "revenue_growth", Percent, Growth, "revenue / revenue of the previous consecutive period - 1";
    NetIncomeGrowth => "net_income_growth", Percent, Growth, "net_income / net_income of the previous consecutive period - 1";
    FreeCashFlow => "free_cash_flow", Amount, CashFlow, "operating_cash_flow - capital_expenditures";
    FreeCashFlowMargin => "free_cash_flow_margin", Percent, CashFlow, "free_cash_flow / revenue";
}

impl MetricId {
    /// Whether a higher value is better for the company (`None` where it depends: a tax rate, days to pay
    /// suppliers). What "improve" and "worsen" mean for a metric.
    pub fn higher_is_better(self) -> Option<bool> {
        use MetricId::*;
        match self {
            DebtToEquity
            | DebtToAssets
            | NetDebtToEbitda
            | DaysInventoryOutstanding
            | DaysSalesOutstanding
            | CashConversionCycle => Some(false),
            EffectiveTaxRate | DaysPayablesOutstanding => None,
            _ => Some(true),
        }
    }

    /// The metrics of one family, in catalogue order.
    pub fn in_category(category: Category) -> impl Iterator<Item = MetricId> {
        MetricId::ALL
            .iter()
            .copied()
            .filter(move |m| m.category() == category)
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for MetricId {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricId::ALL
            .iter()
            .copied()
            .find(|m| m.id() == s)
            .ok_or_else(|| {
                crate::Error::invalid_argument(
                    "metric",
                    format!("unknown metric `{s}`; see spec/metrics-v1.md"),
                )
            })
    }
}

impl Serialize for MetricId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for MetricId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_26_unique_metrics() {
        assert_eq!(MetricId::ALL.len(), 26);
        let ids: std::collections::HashSet<_> = MetricId::ALL.iter().map(|m| m.id()).collect();
        assert_eq!(ids.len(), 26);
        for m in MetricId::ALL {
            assert_eq!(m.id().parse::<MetricId>().ok(), Some(*m));
        }
        assert!("gross_margins".parse::<MetricId>().is_err());
    }
}
