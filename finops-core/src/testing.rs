//! Test documents with round numbers, so every metric can be checked by hand.

use serde_json::{Value, json};

/// Two consecutive fiscal years (P1 = 2022, P2 = 2023). Hand-computed metrics for P2 are in `metrics/tests.rs`.
pub(crate) fn simple() -> Value {
    json!({
        "schema": "finops.statements/v1",
        "company": {"name": "Simple Ltée", "sector": "retail", "naics": "445110", "jurisdiction": "CA-QC", "currency": "CAD"},
        "periods": [
            {"label": "P2", "start": "2023-01-01", "end": "2023-12-31",
             "income_statement": {"revenue": "1000", "cost_of_goods_sold": "600", "operating_expenses": "200",
                "depreciation_amortization": "50", "interest_expense": "25", "other_income": "5",
                "income_tax_expense": "30", "net_income": "100"},
             "balance_sheet": {"cash": "100", "marketable_securities": "50", "accounts_receivable": "150",
                "inventory": "200", "other_current_assets": "0", "total_current_assets": "500",
                "property_plant_equipment": "400", "other_non_current_assets": "100", "total_assets": "1000",
                "accounts_payable": "100", "short_term_debt": "50", "other_current_liabilities": "50",
                "total_current_liabilities": "200", "long_term_debt": "300", "other_non_current_liabilities": "0",
                "total_liabilities": "500", "total_equity": "500"},
             "cash_flow": {"operating_cash_flow": "150", "capital_expenditures": "60", "dividends_paid": "10"}},
            {"label": "P1", "start": "2022-01-01", "end": "2022-12-31",
             "income_statement": {"revenue": "800", "cost_of_goods_sold": "500", "operating_expenses": "150",
                "depreciation_amortization": "40", "interest_expense": "20", "other_income": "0",
                "income_tax_expense": "20", "net_income": "70"},
             "balance_sheet": {"cash": "80", "marketable_securities": "20", "accounts_receivable": "100",
                "inventory": "100", "other_current_assets": "0", "total_current_assets": "300",
                "property_plant_equipment": "500", "other_non_current_assets": "0", "total_assets": "800",
                "accounts_payable": "60", "short_term_debt": "40", "other_current_liabilities": "0",
                "total_current_liabilities": "100", "long_term_debt": "300", "other_non_current_liabilities": "0",
                "total_liabilities": "400", "total_equity": "400"},
             "cash_flow": {"operating_cash_flow": "90", "capital_expenditures": "30", "dividends_paid": "0"}}
        ]
    })
}

/// Sets `periods[i].section.line` to `value` (a JSON value; `Value::Null` removes the key).
pub(crate) fn set(doc: &mut Value, period: usize, section: &str, line: &str, value: Value) {
    let obj = doc["periods"][period][section].as_object_mut();
    if let Some(obj) = obj {
        if value.is_null() {
            obj.remove(line);
        } else {
            obj.insert(line.to_string(), value);
        }
    }
}

pub(crate) fn parse(doc: &Value) -> crate::Statements {
    match crate::Statements::from_json_value(doc) {
        Ok(s) => s,
        Err(e) => unreachable!("test document refused: {e}"),
    }
}

/// How many cases each fuzz (property) target runs: a few thousand in CI, more with `FINOPS_FUZZ_CASES` (the
/// command in SECURITY.md runs 100,000 per target).
pub(crate) fn fuzz_cases() -> u32 {
    std::env::var("FINOPS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// The offline analyst's analysis of `question` on `statements` (no provider, no cache).
#[allow(clippy::expect_used)] // The offline analyst answers every valid request.
pub(crate) fn offline(statements: crate::Statements, question: &str) -> crate::Analysis {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(
        crate::pipeline::Pipeline::offline()
            .analyze(crate::pipeline::AnalysisRequest::new(statements, question)),
    )
    .expect("an offline analysis")
}

/// The example company every guide uses (`examples/data/bistro-saint-denis.json`).
#[allow(clippy::expect_used)] // A fixture that does not load is a broken checkout.
pub(crate) fn bistro() -> crate::Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    let text = std::fs::read_to_string(path).expect("the example company");
    crate::Statements::from_json_str(&text).expect("a valid document")
}
