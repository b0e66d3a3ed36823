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
    /// The company's legal or trade name.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Its industry in words (`Restaurant`); peer benchmarks group clients by it.
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
    /// The account's number in the ledger (`4110`, `411000`).
    pub account: String,
    /// The account's name in the ledger.
    #[serde(default)]
    pub name: String,
    /// Its part of the line.
    pub amount: Amount,
}

/// The period's income statement.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomeStatementDocument {
    /// Sales of goods and services, net of returns and discounts.
    pub revenue: Amount,
    /// The direct cost of what was sold (purchases and production, inventory change included).
    pub cost_of_goods_sold: Amount,
    /// Operating costs other than the cost of goods sold and depreciation (salaries, rent, overheads).
    pub operating_expenses: Amount,
    /// Depreciation of tangible assets and amortization of intangible ones.
    pub depreciation_amortization: Amount,
    /// Interest on borrowings.
    pub interest_expense: Amount,
    /// Non-operating income, net (gains, investment income); negative for a net charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_income: Option<Amount>,
    /// Income taxes of the period.
    pub income_tax_expense: Amount,
    /// The period's result after tax; it must equal the lines above.
    pub net_income: Amount,
}

/// The balance sheet at the period's end.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceSheetDocument {
    /// Cash and cash equivalents.
    pub cash: Amount,
    /// Short-term investments that can be sold at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketable_securities: Option<Amount>,
    /// Amounts customers owe.
    pub accounts_receivable: Amount,
    /// Goods and materials held for sale or production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Amount>,
    /// Other current assets (prepaid expenses, tax receivable, …).
    pub other_current_assets: Amount,
    /// The sum of the current assets above.
    pub total_current_assets: Amount,
    /// Property, plant and equipment, net of accumulated depreciation.
    pub property_plant_equipment: Amount,
    /// Other non-current assets (intangibles, long-term investments, deposits).
    pub other_non_current_assets: Amount,
    /// Current and non-current assets; it must equal total liabilities plus total equity.
    pub total_assets: Amount,
    /// Amounts owed to suppliers.
    pub accounts_payable: Amount,
    /// Borrowings due within a year, the current part of long-term debt included.
    pub short_term_debt: Amount,
    /// Other current liabilities (accrued expenses, taxes payable, deferred revenue).
    pub other_current_liabilities: Amount,
    /// The sum of the current liabilities above.
    pub total_current_liabilities: Amount,
    /// Borrowings due after a year.
    pub long_term_debt: Amount,
    /// Other non-current liabilities (leases, provisions, deferred taxes).
    pub other_non_current_liabilities: Amount,
    /// Current and non-current liabilities.
    pub total_liabilities: Amount,
    /// Shareholders' equity: capital, reserves and retained earnings.
    pub total_equity: Amount,
}

/// The period's cash flow statement (optional as a whole).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashFlowDocument {
    /// Cash generated by operations.
    pub operating_cash_flow: Amount,
    /// Cash spent on property, plant and equipment (a positive amount).
    pub capital_expenditures: Amount,
    /// Dividends paid to shareholders (a positive amount).
    pub dividends_paid: Amount,
}

/// One fiscal period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodDocument {
    /// The period's label (`FY2023`), unique in the document; figure ids use it.
    #[schemars(length(min = 1, max = 40))]
    pub label: String,
    /// The first day of the period.
    pub start: Date,
    /// The last day of the period (the balance sheet's date).
    pub end: Date,
    /// The period's income statement.
    pub income_statement: IncomeStatementDocument,
    /// The balance sheet at the period's end.
    pub balance_sheet: BalanceSheetDocument,
    /// The cash flow statement, when there is one.
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
    /// The format's name and version: `finops.statements/v1`.
    #[schemars(regex(pattern = r"^finops\.statements/v1$"))]
    pub schema: String,
    /// The client company.
    pub company: CompanyDocument,
    /// The fiscal periods, oldest first.
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
