//! The `finops.statements/v1` document as Rust types, from which its JSON Schema (`docs/spec/`) is generated.
//! The parser ([`crate::Statements::from_json_str`]) checks more than a schema can say (totals that add up,
//! amounts in range, dates in order); a document the parser accepts always satisfies this schema.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::Line;

/// An exact amount: a decimal string such as `"-1234.56"`, or a JSON number (its exact text is kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(pub serde_json::Value);

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An exact amount: a decimal string (\"-1234.56\", at most 6 decimals, below 10^15 in size) or a JSON number.",
            "anyOf": [
                {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
                {"type": "number"}
            ]
        })
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Date(pub String);

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
    }
}

/// The id of a statement line, such as `cash` or `total_assets`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LineId(pub String);

impl JsonSchema for LineId {
    fn schema_name() -> Cow<'static, str> {
        "LineId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let ids: Vec<&str> = Line::ALL.iter().map(|l| l.id()).collect();
        json_schema!({"type": "string", "enum": ids})
    }
}

/// The client company.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyDocument {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub sector: Option<String>,
    /// NAICS code, 2 to 6 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{2,6}$"))]
    pub naics: Option<String>,
    /// Such as `CA-QC` or `FR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub jurisdiction: Option<String>,
    /// ISO 4217 code of every amount.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
}

/// One ledger account's part in a line (provenance), in the line's own sign.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountAmountDocument {
    pub account: String,
    #[serde(default)]
    pub name: String,
    pub amount: Amount,
}

/// The period's income statement.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomeStatementDocument {
    pub revenue: Amount,
    pub cost_of_goods_sold: Amount,
    pub operating_expenses: Amount,
    pub depreciation_amortization: Amount,
    pub interest_expense: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_income: Option<Amount>,
    pub income_tax_expense: Amount,
    pub net_income: Amount,
}

/// The balance sheet at the period's end.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceSheetDocument {
    pub cash: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketable_securities: Option<Amount>,
    pub accounts_receivable: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Amount>,
    pub other_current_assets: Amount,
    pub total_current_assets: Amount,
    pub property_plant_equipment: Amount,
    pub other_non_current_assets: Amount,
    pub total_assets: Amount,
    pub accounts_payable: Amount,
    pub short_term_debt: Amount,
    pub other_current_liabilities: Amount,
    pub total_current_liabilities: Amount,
    pub long_term_debt: Amount,
    pub other_non_current_liabilities: Amount,
    pub total_liabilities: Amount,
    pub total_equity: Amount,
}

/// The period's cash flow statement (optional as a whole).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashFlowDocument {
    pub operating_cash_flow: Amount,
    pub capital_expenditures: Amount,
    pub dividends_paid: Amount,
}

/// One fiscal period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodDocument {
    #[schemars(length(min = 1, max = 40))]
    pub label: String,
    pub start: Date,
    pub end: Date,
    pub income_statement: IncomeStatementDocument,
    pub balance_sheet: BalanceSheetDocument,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_flow: Option<CashFlowDocument>,
    /// For each line built from ledger accounts, those accounts (they add up to the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<BTreeMap<LineId, Vec<AccountAmountDocument>>>,
}

/// `finops.statements/v1`: one client company and its fiscal periods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "finops.statements/v1")]
pub struct StatementsDocument {
    #[schemars(regex(pattern = r"^finops\.statements/v1$"))]
    pub schema: String,
    pub company: CompanyDocument,
    #[schemars(length(min = 1, max = 120))]
    pub periods: Vec<PeriodDocument>,
}

impl PartialEq for LineId {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for LineId {}
impl PartialOrd for LineId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for LineId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// The JSON Schema of `finops.statements/v1` (draft 2020-12).
pub fn statements_schema() -> serde_json::Value {
    schemars::schema_for!(StatementsDocument).to_value()
}
