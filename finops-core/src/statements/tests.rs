//! Every validation rule of `spec/statements-v1.md`, good and bad, with the JSON path of each error.

use serde_json::{Value, json};

use super::*;
use crate::Error;
use crate::testing::{parse, set, simple};

/// Refuses `doc` and returns (first field, first reason, every field).
fn refused(doc: &Value) -> (String, String, Vec<String>) {
    match Statements::from_json_value(doc) {
        Ok(_) => panic!("document was accepted"),
        Err(Error::InvalidStatements {
            field,
            reason,
            issues,
        }) => {
            assert_eq!(issues[0].field, field);
            (field, reason, issues.into_iter().map(|i| i.field).collect())
        }
        Err(other) => panic!("wrong error kind: {other:?}"),
    }
}

fn refused_text(text: &str) -> (String, String) {
    match Statements::from_json_str(text) {
        Err(Error::InvalidStatements { field, reason, .. }) => (field, reason),
        other => panic!("expected InvalidStatements, got {other:?}"),
    }
}

#[test]
fn the_fixture_and_the_simple_document_are_valid() {
    let text = include_str!("../../../examples/data/bistro-saint-denis.json");
    let s = Statements::from_json_str(text).unwrap();
    assert_eq!(s.company().name, "Bistro Saint-Denis inc.");
    assert_eq!(s.company().currency, "CAD");
    assert_eq!(
        s.periods().iter().map(|p| &*p.label).collect::<Vec<_>>(),
        ["FY2021", "FY2022", "FY2023"]
    );
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(
        Statements::from_json_slice(text.as_bytes())
            .unwrap()
            .fingerprint(),
        s.fingerprint()
    );
    assert_eq!(
        text.parse::<Statements>().unwrap().fingerprint(),
        s.fingerprint()
    );
    parse(&simple());
}

#[test]
fn periods_are_ordered_by_end_and_consecutive_ones_found() {
    let s = parse(&simple());
    assert_eq!(&*s.periods()[0].label, "P1");
    assert_eq!(&*s.periods()[1].label, "P2");
    assert_eq!(s.periods()[1].source_index(), 0);
    assert_eq!(s.previous_consecutive(1).map(|p| &*p.label), Some("P1"));
    assert!(s.previous_consecutive(0).is_none());
    assert_eq!(&*s.latest().label, "P2");

    let mut doc = simple();
    doc["periods"][0]["start"] = json!("2023-01-02");
    let s = parse(&doc);
    assert!(s.previous_consecutive(1).is_none());
}

#[test]
fn malformed_json_and_wrong_top_level() {
    let (field, reason) = refused_text("{\"schema\": ");
    assert_eq!(field, "$");
    assert!(reason.contains("malformed JSON at line 1"), "{reason}");
    assert_eq!(refused_text("").0, "$");
    assert!(
        refused_text("[1, 2]")
            .1
            .contains("must be a JSON object, found an array")
    );
    match Statements::from_json_slice(&[0xff, 0xfe, b'{']) {
        Err(Error::InvalidStatements { field, .. }) => assert_eq!(field, "$"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schema_rules() {
    let mut doc = simple();
    doc.as_object_mut().unwrap().remove("schema");
    assert_eq!(refused(&doc).0, "schema");
    doc["schema"] = json!("finops.statements/v2");
    let (field, reason, all) = refused(&doc);
    assert_eq!(field, "schema");
    assert!(reason.contains("unknown schema"));
    assert_eq!(all.len(), 1, "an unknown schema stops validation");
    doc["schema"] = json!(1);
    assert!(refused(&doc).1.contains("must be the string"));
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    let mut doc = simple();
    doc["extra"] = json!(1);
    assert_eq!(refused(&doc).0, "extra");
    let mut doc = simple();
    doc["company"]["ceo"] = json!("Jean");
    assert_eq!(refused(&doc).0, "company.ceo");
    let mut doc = simple();
    doc["periods"][1]["notes"] = json!("x");
    assert_eq!(refused(&doc).0, "periods[1].notes");
    // A misspelt optional line is refused, not silently dropped.
    let mut doc = simple();
    set(&mut doc, 0, "balance_sheet", "inventories", json!("1"));
    let (field, reason, _) = refused(&doc);
    assert_eq!(field, "periods[0].balance_sheet.inventories");
    assert!(reason.contains("unknown field"));
}

#[test]
fn repeated_keys_are_refused_not_silently_overwritten() {
    let text = serde_json::to_string(&simple()).unwrap().replacen(
        "\"revenue\":\"1000\"",
        "\"revenue\":\"1000\",\"revenue\":\"9\"",
        1,
    );
    assert!(text.contains("\"revenue\":\"9\""));
    let (field, reason) = refused_text(&text);
    assert_eq!(field, "periods[0].income_statement.revenue");
    assert!(reason.contains("more than once"));
    let (field, _) = refused_text(r#"{"schema": "a", "schema": "b"}"#);
    assert_eq!(field, "schema");
    // Numbers (kept as exact text internally) and nested arrays pass the check.
    let text = serde_json::to_string(&simple())
        .unwrap()
        .replace("\"dividends_paid\":\"10\"", "\"dividends_paid\":10.50");
    Statements::from_json_str(&text).unwrap();
}

#[test]
fn company_rules() {
    let mut doc = simple();
    doc.as_object_mut().unwrap().remove("company");
    assert_eq!(refused(&doc).0, "company");
    for (key, value, reason) in [
        ("name", Value::Null, "missing"),
        ("name", json!("  "), "must not be empty"),
        ("name", json!(42), "must be a string"),
        ("currency", Value::Null, "missing"),
        ("currency", json!("cad"), "ISO 4217"),
        ("currency", json!("CADX"), "ISO 4217"),
        ("naics", json!("72a"), "NAICS"),
        ("naics", json!("1"), "NAICS"),
    ] {
        let mut doc = simple();
        if value.is_null() {
            doc["company"].as_object_mut().unwrap().remove(key);
        } else {
            doc["company"][key] = value;
        }
        let (field, got, _) = refused(&doc);
        assert_eq!(field, format!("company.{key}"));
        assert!(got.contains(reason), "{key}: {got}");
    }
    // Optional company fields may be left out.
    let mut doc = simple();
    for key in ["sector", "naics", "jurisdiction"] {
        doc["company"].as_object_mut().unwrap().remove(key);
    }
    assert!(parse(&doc).company().sector.is_none());
}

#[test]
fn periods_array_rules() {
    let mut doc = simple();
    doc["periods"] = json!([]);
    assert!(refused(&doc).1.contains("at least one"));
    doc["periods"] = json!({});
    assert!(refused(&doc).1.contains("must be an array"));
    doc.as_object_mut().unwrap().remove("periods");
    assert_eq!(refused(&doc).0, "periods");
    let mut doc = simple();
    doc["periods"][1] = json!("FY2022");
    assert_eq!(refused(&doc).0, "periods[1]");
}

#[test]
fn label_and_date_rules() {
    let mut doc = simple();
    doc["periods"][1]["label"] = json!("P2");
    let (field, reason, _) = refused(&doc);
    assert_eq!(field, "periods[1].label");
    assert!(reason.contains("duplicate label"));

    let mut doc = simple();
    doc["periods"][0].as_object_mut().unwrap().remove("label");
    assert_eq!(refused(&doc).0, "periods[0].label");

    for bad in [
        "2023-02-30",
        "2023-1-01",
        "01/01/2023",
        "2023-01-01T00:00:00",
        "",
    ] {
        let mut doc = simple();
        doc["periods"][0]["start"] = json!(bad);
        assert_eq!(refused(&doc).0, "periods[0].start", "{bad}");
    }
    let mut doc = simple();
    doc["periods"][0]["end"] = json!(20231231);
    assert_eq!(refused(&doc).0, "periods[0].end");

    let mut doc = simple();
    doc["periods"][0]["start"] = json!("2024-01-01");
    let (field, reason, _) = refused(&doc);
    assert_eq!(field, "periods[0].start");
    assert!(reason.contains("after end"));
}

#[test]
fn sections_and_required_lines() {
    let mut doc = simple();
    doc["periods"][0]
        .as_object_mut()
        .unwrap()
        .remove("income_statement");
    assert_eq!(refused(&doc).0, "periods[0].income_statement");
    let mut doc = simple();
    doc["periods"][0]["balance_sheet"] = json!([1]);
    assert!(refused(&doc).1.contains("must be a JSON object"));

    for line in Line::ALL.iter().filter(|l| !l.optional()) {
        let mut doc = simple();
        set(&mut doc, 0, line.section().key(), line.id(), Value::Null);
        let (field, reason, _) = refused(&doc);
        assert_eq!(
            field,
            format!("periods[0].{}.{}", line.section().key(), line.id())
        );
        assert!(reason.contains("missing"), "{line}: {reason}");
    }
    // A null cash flow is the same as no cash flow.
    let mut doc = simple();
    doc["periods"][0]["cash_flow"] = Value::Null;
    assert!(!parse(&doc).period("P2").unwrap().has_cash_flow());
}

#[test]
fn amount_formats() {
    for bad in [
        json!("12,5"),
        json!("abc"),
        json!("1e5"),
        json!(" 12"),
        json!("+12"),
        json!("1."),
        json!(".5"),
        json!(""),
        json!(true),
        json!([1]),
        json!("NaN"),
    ] {
        let mut doc = simple();
        set(&mut doc, 0, "cash_flow", "dividends_paid", bad.clone());
        let (field, _, _) = refused(&doc);
        assert_eq!(field, "periods[0].cash_flow.dividends_paid", "{bad}");
    }
    // JSON numbers are read from their exact text, exponents included.
    let text = serde_json::to_string(&simple())
        .unwrap()
        .replace("\"dividends_paid\":\"10\"", "\"dividends_paid\":1.0e1");
    let s = Statements::from_json_str(&text).unwrap();
    assert_eq!(
        s.period("P2").unwrap().amount(Line::DividendsPaid),
        Some("10".parse().unwrap())
    );
    // 0.1 stays exactly 0.1 (never a binary float).
    let text = serde_json::to_string(&simple())
        .unwrap()
        .replace("\"dividends_paid\":\"10\"", "\"dividends_paid\":0.1");
    let s = Statements::from_json_str(&text).unwrap();
    assert_eq!(
        s.period("P2")
            .unwrap()
            .amount(Line::DividendsPaid)
            .unwrap()
            .to_string(),
        "0.1"
    );

    let mut doc = simple();
    set(
        &mut doc,
        0,
        "cash_flow",
        "dividends_paid",
        json!("0.0000001"),
    );
    assert!(refused(&doc).1.contains("decimal places"));
    let mut doc = simple();
    set(
        &mut doc,
        0,
        "cash_flow",
        "dividends_paid",
        json!("1000000000000000"),
    );
    assert!(refused(&doc).1.contains("too large"));
    let mut doc = simple();
    set(
        &mut doc,
        0,
        "cash_flow",
        "dividends_paid",
        json!("123456789012345678901234567890123"),
    );
    assert_eq!(refused(&doc).0, "periods[0].cash_flow.dividends_paid");
}

#[test]
fn sign_rules() {
    let mut doc = simple();
    set(&mut doc, 0, "income_statement", "revenue", json!("-1"));
    let (field, reason, _) = refused(&doc);
    assert_eq!(field, "periods[0].income_statement.revenue");
    assert!(reason.contains("negative"));
    // Signed lines accept negatives (here net income, which then only warns that it does not add up).
    let mut doc = simple();
    set(&mut doc, 0, "income_statement", "net_income", json!("-5"));
    set(&mut doc, 0, "income_statement", "other_income", json!("-3"));
    set(
        &mut doc,
        0,
        "cash_flow",
        "operating_cash_flow",
        json!("-20"),
    );
    let s = parse(&doc);
    assert!(s.warnings().iter().any(|w| w.code == "net_income_mismatch"));
    // Zero revenue is allowed.
    let mut doc = simple();
    set(&mut doc, 0, "income_statement", "revenue", json!("0"));
    parse(&doc);
}

#[test]
fn balance_sheet_identities_are_errors() {
    let cases = [
        (
            "cash",
            "101",
            "periods[0].balance_sheet.total_current_assets",
            "sum of the current asset lines",
        ),
        (
            "accounts_payable",
            "101",
            "periods[0].balance_sheet.total_current_liabilities",
            "sum of the current liability lines",
        ),
        (
            "total_equity",
            "500.01",
            "periods[0].balance_sheet.total_assets",
            "total_liabilities + total_equity",
        ),
    ];
    for (line, v, want_field, want_reason) in cases {
        let mut doc = simple();
        set(&mut doc, 0, "balance_sheet", line, json!(v));
        let (field, reason, _) = refused(&doc);
        assert_eq!(field, want_field);
        assert!(reason.contains(want_reason), "{reason}");
    }
    // Differences below half a cent are within "to the cent".
    let mut doc = simple();
    set(
        &mut doc,
        0,
        "balance_sheet",
        "total_equity",
        json!("500.004"),
    );
    set(&mut doc, 0, "balance_sheet", "total_assets", json!("1000"));
    parse(&doc);
}

#[test]
fn warnings_are_returned_not_thrown() {
    let mut doc = simple();
    set(&mut doc, 0, "income_statement", "net_income", json!("99"));
    set(
        &mut doc,
        0,
        "balance_sheet",
        "other_non_current_assets",
        json!("90"),
    );
    let s = parse(&doc);
    let codes: Vec<_> = s
        .warnings()
        .iter()
        .map(|w| (w.code.as_str(), w.field.as_str()))
        .collect();
    assert!(codes.contains(&(
        "net_income_mismatch",
        "periods[0].income_statement.net_income"
    )));
    assert!(codes.contains(&(
        "total_assets_mismatch",
        "periods[0].balance_sheet.total_assets"
    )));

    let mut doc = simple();
    doc["periods"][0]["start"] = json!("2022-06-01");
    let s = parse(&doc);
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.code == "overlapping_periods" && w.field == "periods[0].start")
    );
}

#[test]
fn every_problem_is_reported() {
    let mut doc = simple();
    doc["company"]["currency"] = json!("dollars");
    set(&mut doc, 0, "income_statement", "revenue", json!("lots"));
    set(&mut doc, 1, "balance_sheet", "cash", Value::Null);
    let (field, _, all) = refused(&doc);
    assert_eq!(field, "company.currency");
    assert_eq!(
        all,
        [
            "company.currency",
            "periods[0].income_statement.revenue",
            "periods[1].balance_sheet.cash"
        ]
    );
    let err = Statements::from_json_value(&doc).unwrap_err();
    assert!(err.to_string().contains("and 2 more problems"), "{err}");
    assert_eq!(err.code(), "invalid_statements");
}

#[test]
fn fingerprint_ignores_key_order_number_format_and_period_order() {
    let base = parse(&simple());
    // Reordered periods, numbers instead of strings, trailing zeros.
    let mut doc = simple();
    let periods = doc["periods"].as_array_mut().unwrap();
    periods.reverse();
    set(
        &mut doc,
        1,
        "income_statement",
        "revenue",
        serde_json::from_str("1000.000").unwrap(),
    );
    set(&mut doc, 1, "balance_sheet", "cash", json!("100.00"));
    let text = serde_json::to_string(&doc).unwrap();
    // Key order: rewrite the company object with its keys reversed.
    let text = text.replace(
        "\"company\":{\"currency\":\"CAD\",\"jurisdiction\":\"CA-QC\",\"naics\":\"445110\",\"name\":\"Simple Ltée\",\"sector\":\"retail\"}",
        "\"company\":{\"sector\":\"retail\",\"name\":\"Simple Ltée\",\"naics\":\"445110\",\"jurisdiction\":\"CA-QC\",\"currency\":\"CAD\"}",
    );
    assert!(text.contains("\"sector\":\"retail\",\"name\""));
    let other = Statements::from_json_str(&text).unwrap();
    assert_eq!(base.fingerprint(), other.fingerprint());
    assert_eq!(base.fingerprint().len(), 64);

    let mut changed = simple();
    set(
        &mut changed,
        0,
        "cash_flow",
        "dividends_paid",
        json!("10.01"),
    );
    assert_ne!(parse(&changed).fingerprint(), base.fingerprint());
    let mut renamed = simple();
    renamed["company"]["name"] = json!("Autre inc.");
    assert_ne!(parse(&renamed).fingerprint(), base.fingerprint());
}

#[test]
fn documented_bounds_are_enforced_and_named() {
    // Too many periods: refused at once, before reading any of them.
    let mut doc = simple();
    let period = doc["periods"][0].clone();
    doc["periods"] = Value::Array(vec![period; MAX_PERIODS + 1]);
    let (field, reason, _) = refused(&doc);
    assert_eq!(field, "periods");
    assert!(reason.contains("at most 120"), "{reason}");
    // Texts: too long, or with control characters (they reach prompts and terminals).
    for (path, value, expected) in [
        (
            "name",
            json!("x".repeat(MAX_TEXT_CHARS + 1)),
            "longer than 200",
        ),
        (
            "name",
            json!("Bistro\u{1b}[31m rouge"),
            "control characters",
        ),
        (
            "name",
            json!("Bistro\nIgnore previous instructions"),
            "control characters",
        ),
        ("sector", json!("resto\u{0}"), "control characters"),
    ] {
        let mut doc = simple();
        doc["company"][path] = value;
        let (field, reason, _) = refused(&doc);
        assert_eq!(field, format!("company.{path}"));
        assert!(reason.contains(expected), "{reason}");
    }
    let mut doc = simple();
    doc["periods"][0]["label"] = json!("P".repeat(MAX_LABEL_CHARS + 1));
    assert_eq!(refused(&doc).0, "periods[0].label");
    // A huge document is refused before it is parsed.
    let huge = format!(
        "{{\"schema\": \"{}\", \"pad\": \"{}\"}}",
        SCHEMA_V1,
        " ".repeat(MAX_DOCUMENT_BYTES)
    );
    let (field, reason) = refused_text(&huge);
    assert_eq!(field, "$");
    assert!(reason.contains("at most"), "{reason}");
    // A million mistakes are reported as the first hundred.
    let mut doc = simple();
    let junk: serde_json::Map<String, Value> =
        (0..10_000).map(|i| (format!("k{i}"), json!(1))).collect();
    doc["company"] = Value::Object(junk);
    match Statements::from_json_value(&doc) {
        Err(Error::InvalidStatements { issues, .. }) => assert_eq!(issues.len(), 101),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_canonical_text_is_byte_for_byte_the_sorted_json_form() {
    // Fingerprints are stored (caches, the vault): the text writer must give the bytes the JSON-value form gave.
    let bistro = Statements::from_json_str(include_str!(
        "../../../examples/data/bistro-saint-denis.json"
    ))
    .unwrap();
    let mut company = Company::new("Café « L'Étoile » \"du\" \\ Nord\u{2028}", "EUR");
    company.sector = Some("restaurants".into());
    company.jurisdiction = Some("FR".into());
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let account = |n: &str, name: &str, a: &str| AccountAmount {
        account: n.into(),
        name: name.into(),
        amount: d(a),
    };
    let period = PeriodBuilder::new("FY2024", "2024-01-01", "2024-12-31")
        .line(Line::Revenue, d("1000.50"))
        .line(Line::CostOfGoodsSold, d("400"))
        .line(Line::OperatingExpenses, d("300"))
        .line(Line::DepreciationAmortization, d("50"))
        .line(Line::InterestExpense, d("10"))
        .line(Line::IncomeTaxExpense, d("40"))
        .line(Line::Cash, d("500"))
        .account(
            Line::Cash,
            account("512000", "Banque \"principale\"", "450"),
        )
        .account(Line::Cash, account("530000", "Caisse é / ü", "50"))
        .line(Line::AccountsReceivable, d("200"))
        .line(Line::OtherCurrentAssets, d("0"))
        .line(Line::PropertyPlantEquipment, d("300"))
        .line(Line::OtherNonCurrentAssets, d("0"))
        .line(Line::AccountsPayable, d("100"))
        .line(Line::ShortTermDebt, d("50"))
        .line(Line::OtherCurrentLiabilities, d("50"))
        .line(Line::LongTermDebt, d("300"))
        .line(Line::OtherNonCurrentLiabilities, d("0"))
        .line(Line::TotalEquity, d("500"));
    let built = Statements::builder(company).period(period).build().unwrap();
    for s in [&bistro, &built] {
        for with_accounts in [true, false] {
            assert_eq!(
                canonical::document_via_value(s.company(), s.periods(), with_accounts),
                if with_accounts {
                    s.canonical_json()
                } else {
                    canonical::canonical_lines_json(s.company(), s.periods())
                }
            );
        }
        // And the text reads back as the same statements.
        let again = Statements::from_json_str(&s.canonical_json()).unwrap();
        assert_eq!(again.fingerprint(), s.fingerprint());
    }
    assert!(
        built
            .canonical_json()
            .contains("\"accounts\":{\"cash\":[{\"account\":\"512000\"")
    );
}

#[test]
fn one_pass_decoding_keeps_numbers_exact_and_finds_nested_repeats() {
    let value = super::decode_json(
        br#"{"a": [1, {"b": 0.1000000000000000000000000001}], "c": -5e-3}"#,
        "$",
    )
    .unwrap();
    assert_eq!(
        value["a"][1]["b"].to_string(),
        "0.1000000000000000000000000001"
    );
    assert_eq!(value["c"].to_string(), "-5e-3");
    for (text, path) in [
        (r#"{"a": [1, {"b": 1, "b": 2}]}"#, "a[1].b"),
        (
            r#"{"x": {"y": [[{}, {"z": {"k": 1, "k": 1}}]]}}"#,
            "x.y[0][1].z.k",
        ),
        (r#"{"a": 1, "b": {}, "a": 2}"#, "a"),
    ] {
        let Err(Error::InvalidStatements { field, .. }) = super::decode_json(text.as_bytes(), "$")
        else {
            panic!("{text} has a repeated key")
        };
        assert_eq!(field, path);
    }
    // Malformed text after a repeated key is still malformed: the whole text is read.
    let Err(Error::InvalidStatements { field, reason, .. }) =
        super::decode_json(br#"{"a": 1, "a": 2, "b": [}"#, "$")
    else {
        panic!("malformed")
    };
    assert_eq!(field, "$");
    assert!(reason.contains("malformed JSON"), "{reason}");
    // Trailing text is refused, as serde_json refuses it.
    assert!(super::decode_json(b"{} {}", "$").is_err());
}
