//! The `finops.trial_balance/v1` document as Rust types, from which its JSON Schema (`docs/spec/`) is generated.
//! The reader checks more than a schema can say (periods that balance, accounts the chart places, totals that
//! match); a document the reader accepts always satisfies this schema.

use serde::{Deserialize, Serialize};

use schemars::JsonSchema;

use crate::statements::schema::{Amount, CashFlowDocument, Date, LineId};

/// Company fields; those missing here (even the name and currency) may come from the caller.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialBalanceCompany {
    /// The company's legal or trade name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its industry in words; peer benchmarks group clients by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// NAICS code, 2 to 6 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{2,6}$"))]
    pub naics: Option<String>,
    /// Such as `CA-QC` or `FR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// ISO 4217 code of every amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: Option<String>,
}

/// Which accounts a rule matches: `"1000-1099"` (a range of prefixes), `"512*"` (a prefix), `"1001"` or
/// `"1001,1002"` (a list), or an array of account numbers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AccountPattern {
    /// A range, a prefix or a comma-separated list, as one text.
    Text(#[schemars(length(min = 1))] String),
    /// Account numbers, each matched exactly.
    List(#[schemars(length(min = 1))] Vec<String>),
}

/// One rule of a custom chart: the first rule matching an account places it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRule {
    /// The accounts the rule places.
    pub accounts: AccountPattern,
    /// The line the accounts go to (a total or `net_income` makes them checks). Cash flow lines cannot be made
    /// from balances.
    pub line: LineId,
    /// The line for accounts with a credit balance, when it differs (a bank account in overdraft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_line: Option<LineId>,
}

/// A host's own chart of accounts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomChartDocument {
    /// The chart's name, shown in warnings and provenance.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// The rules, tried in order.
    #[schemars(length(min = 1, max = 10000))]
    pub map: Vec<ChartRule>,
}

/// The chart the accounts follow: the CRA's GIFI, the French PCG, or a custom mapping.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ChartDocument {
    /// A chart finops knows, by name.
    BuiltIn(BuiltInChart),
    /// A host's own chart.
    Custom(CustomChartDocument),
}

/// A chart finops knows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuiltInChart {
    /// The Canada Revenue Agency's General Index of Financial Information.
    Gifi,
    /// The French Plan comptable général.
    Pcg,
}

/// An account's balance: `debit` and/or `credit` (positive), or one signed `balance` (debit positive).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AccountBalance {
    /// A debit, and a credit when the account has both.
    Debit {
        /// The debit balance (positive).
        debit: Amount,
        /// The credit balance (positive), when the account has both.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credit: Option<Amount>,
    },
    /// A credit alone.
    Credit {
        /// The credit balance (positive).
        credit: Amount,
    },
    /// A signed balance, debit positive.
    Signed {
        /// The balance, debit positive and credit negative.
        balance: Amount,
    },
}

/// One account of a period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TrialBalanceAccount {
    /// The account number as the books hold it.
    #[schemars(length(min = 1, max = 40))]
    pub account: String,
    /// The account's name in the books.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub name: Option<String>,
    /// The account's balance.
    #[serde(flatten)]
    pub amounts: AccountBalance,
}

/// One period of a trial balance: pre-closing, so income and expense accounts hold the period's activity.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialBalancePeriod {
    /// The period's label (`FY2023`), unique in the document.
    #[schemars(length(min = 1, max = 40))]
    pub label: String,
    /// The first day of the period.
    pub start: Date,
    /// The last day of the period.
    pub end: Date,
    /// Every account with a balance, income and expenses included (pre-closing).
    pub accounts: Vec<TrialBalanceAccount>,
    /// The cash flow statement, which balances cannot give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_flow: Option<CashFlowDocument>,
}

/// `finops.trial_balance/v1`: a company's trial balances, one per period, and the chart their accounts follow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "finops.trial_balance/v1")]
pub struct TrialBalanceDocument {
    /// The format's name and version: `finops.trial_balance/v1`.
    #[schemars(regex(pattern = r"^finops\.trial_balance/v1$"))]
    pub schema: String,
    /// The company; fields missing here may come from the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<TrialBalanceCompany>,
    /// The chart; a caller's chart replaces it, and one of the two is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartDocument>,
    /// The periods, oldest first.
    #[schemars(length(min = 1, max = 120))]
    pub periods: Vec<TrialBalancePeriod>,
}

/// The JSON Schema of `finops.trial_balance/v1` (draft 2020-12).
pub fn trial_balance_schema() -> serde_json::Value {
    schemars::schema_for!(TrialBalanceDocument).to_value()
}
