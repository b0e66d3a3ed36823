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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{2,6}$"))]
    pub naics: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: Option<String>,
}

/// Which accounts a rule matches: `"1000-1099"` (a range of prefixes), `"512*"` (a prefix), `"1001"` or
/// `"1001,1002"` (a list), or an array of account numbers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AccountPattern {
    Text(#[schemars(length(min = 1))] String),
    List(#[schemars(length(min = 1))] Vec<String>),
}

/// One rule of a custom chart: the first rule matching an account places it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRule {
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
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[schemars(length(min = 1, max = 10000))]
    pub map: Vec<ChartRule>,
}

/// The chart the accounts follow: the CRA's GIFI, the French PCG, or a custom mapping.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ChartDocument {
    BuiltIn(BuiltInChart),
    Custom(CustomChartDocument),
}

/// A chart finops knows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuiltInChart {
    Gifi,
    Pcg,
}

/// An account's balance: `debit` and/or `credit` (positive), or one signed `balance` (debit positive).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AccountBalance {
    /// A debit, and a credit when the account has both.
    Debit {
        debit: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credit: Option<Amount>,
    },
    /// A credit alone.
    Credit { credit: Amount },
    /// A signed balance, debit positive.
    Signed { balance: Amount },
}

/// One account of a period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TrialBalanceAccount {
    /// The account number as the books hold it.
    #[schemars(length(min = 1, max = 40))]
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub name: Option<String>,
    #[serde(flatten)]
    pub amounts: AccountBalance,
}

/// One period of a trial balance: pre-closing, so income and expense accounts hold the period's activity.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialBalancePeriod {
    #[schemars(length(min = 1, max = 40))]
    pub label: String,
    pub start: Date,
    pub end: Date,
    pub accounts: Vec<TrialBalanceAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_flow: Option<CashFlowDocument>,
}

/// `finops.trial_balance/v1`: a company's trial balances, one per period, and the chart their accounts follow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "finops.trial_balance/v1")]
pub struct TrialBalanceDocument {
    #[schemars(regex(pattern = r"^finops\.trial_balance/v1$"))]
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<TrialBalanceCompany>,
    /// The chart; a caller's chart replaces it, and one of the two is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartDocument>,
    #[schemars(length(min = 1, max = 120))]
    pub periods: Vec<TrialBalancePeriod>,
}

/// The JSON Schema of `finops.trial_balance/v1` (draft 2020-12).
pub fn trial_balance_schema() -> serde_json::Value {
    schemars::schema_for!(TrialBalanceDocument).to_value()
}
