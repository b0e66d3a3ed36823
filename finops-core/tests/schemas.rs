#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The JSON Schemas in `docs/spec/` are generated from the document types, match them, accept every fixture, and
//! refuse what the parser refuses for its shape. Run with `FINOPS_WRITE_SCHEMAS=1` to write them again.

use finops_core::ledger::schema::trial_balance_schema;
use finops_core::statements::schema::statements_schema;
use finops_core::statements::{Line, Section};
use serde_json::{Value, json};

fn path(name: &str) -> String {
    format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"))
}

fn checked(name: &str, schema: &Value) -> jsonschema::Validator {
    let text = serde_json::to_string_pretty(schema).unwrap() + "\n";
    let file = path(&format!("docs/spec/{name}"));
    if std::env::var("FINOPS_WRITE_SCHEMAS").is_ok() {
        std::fs::write(&file, &text).unwrap();
    }
    assert!(
        std::fs::read_to_string(&file).unwrap_or_default() == text,
        "{file} is stale: FINOPS_WRITE_SCHEMAS=1"
    );
    jsonschema::validator_for(schema).unwrap()
}

fn load(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
}

#[test]
fn the_statements_schema_matches_the_parser_and_the_fixtures() {
    let schema = statements_schema();
    let v = checked("statements-v1.schema.json", &schema);
    // Every section lists exactly the parser's lines, and requires exactly its required lines.
    for section in Section::ALL {
        let name = match section {
            Section::IncomeStatement => "IncomeStatementDocument",
            Section::BalanceSheet => "BalanceSheetDocument",
            Section::CashFlow => "CashFlowDocument",
        };
        let def = &schema["$defs"][name];
        let mut props: Vec<&str> = def["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut lines: Vec<&str> = Line::in_section(section).map(Line::id).collect();
        props.sort();
        lines.sort();
        assert_eq!(props, lines, "{name}");
        let mut required: Vec<&str> = def["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let mut wanted: Vec<&str> = Line::in_section(section)
            .filter(|l| !l.optional())
            .map(Line::id)
            .collect();
        required.sort();
        wanted.sort();
        assert_eq!(required, wanted, "{name}");
    }
    let bistro = load("examples/data/bistro-saint-denis.json");
    assert!(
        v.is_valid(&bistro),
        "{:?}",
        v.iter_errors(&bistro)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    // Statements read from a ledger, with their accounts, satisfy it too.
    let bytes = std::fs::read(path("examples/data/bistro-saint-denis.gifi.json")).unwrap();
    let read = finops_core::ledger::read_one(&bytes, &Default::default()).unwrap();
    let canonical: Value = serde_json::from_str(&read.canonical_json()).unwrap();
    assert!(
        v.is_valid(&canonical),
        "{:?}",
        v.iter_errors(&canonical)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    for (edit, why) in [
        (json!({"schema": "finops.statements/v2"}), "schema"),
        (json!({"extra": 1}), "unknown key"),
        (json!({"periods": []}), "no period"),
    ] {
        let mut doc = bistro.clone();
        for (k, val) in edit.as_object().unwrap() {
            doc[k] = val.clone();
        }
        assert!(!v.is_valid(&doc), "{why}");
    }
    let mut doc = bistro.clone();
    doc["periods"][0]["balance_sheet"]["cash"] = json!("12,5");
    assert!(!v.is_valid(&doc));
    doc["periods"][0]["balance_sheet"]["cash"] = json!("12.5");
    doc["periods"][0]["balance_sheet"]
        .as_object_mut()
        .unwrap()
        .remove("total_assets");
    assert!(!v.is_valid(&doc));
}

#[test]
fn the_trial_balance_schema_accepts_the_fixtures() {
    let v = checked("trial_balance-v1.schema.json", &trial_balance_schema());
    let tb = load("examples/data/bistro-saint-denis.gifi.json");
    assert!(
        v.is_valid(&tb),
        "{:?}",
        v.iter_errors(&tb)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    let custom = json!({"schema": "finops.trial_balance/v1", "company": {"name": "M", "currency": "EUR"},
        "chart": {"name": "Maison", "map": [{"accounts": "1000-1099", "line": "cash"}, {"accounts": ["2000"], "line": "accounts_payable", "credit_line": "short_term_debt"}]},
        "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "accounts": [{"account": "1010", "balance": "500"}, {"account": "2000", "name": "F", "debit": "0", "credit": "400"}, {"account": "2001", "credit": "100"}]}]});
    assert!(
        v.is_valid(&custom),
        "{:?}",
        v.iter_errors(&custom)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    let mut bad = custom.clone();
    bad["chart"] = json!("ifrs");
    assert!(!v.is_valid(&bad));
    let mut bad = custom.clone();
    bad["chart"]["map"][0]["line"] = json!("cashh");
    assert!(!v.is_valid(&bad));
    let mut bad = custom;
    bad["periods"][0]["accounts"][0] = json!({"account": "1010"});
    assert!(!v.is_valid(&bad));
}
