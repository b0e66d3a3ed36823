//! Every metric against values computed by hand on `testing::simple()`, and every not-computable case.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::*;
use crate::testing::{parse, set, simple};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn figure<'a>(figures: &'a [Figure], metric: &str, period: &str) -> &'a Figure {
    figures
        .iter()
        .find(|f| f.metric.id() == metric && &*f.period == period)
        .unwrap_or_else(|| panic!("no figure {metric}@{period}"))
}

fn value(figures: &[Figure], metric: &str, period: &str) -> Decimal {
    let f = figure(figures, metric, period);
    f.value
        .unwrap_or_else(|| panic!("{metric}@{period} not computable: {:?}", f.reason))
}

fn reason(figures: &[Figure], metric: &str, period: &str) -> String {
    let f = figure(figures, metric, period);
    assert!(
        f.value.is_none(),
        "{metric}@{period} should not be computable, got {:?}",
        f.value
    );
    f.reason.clone().unwrap()
}

#[test]
fn every_metric_matches_hand_computation() {
    let figures = compute_all(&parse(&simple()));
    assert_eq!(figures.len(), 2 * 26);
    // (metric, exact value for P2, rounded to 10 places where the quotient does not terminate)
    let expected = [
        ("current_ratio", "2.5"),
        ("quick_ratio", "1.5"),
        ("cash_ratio", "0.75"),
        ("working_capital", "300"),
        ("operating_cash_flow_ratio", "0.75"),
        ("debt_to_equity", "0.7"),
        ("debt_to_assets", "0.35"),
        ("interest_coverage", "6"),
        ("net_debt_to_ebitda", "1"),
        ("gross_margin", "0.4"),
        ("operating_margin", "0.15"),
        ("ebitda_margin", "0.2"),
        ("net_margin", "0.1"),
        ("effective_tax_rate", "0.2307692308"),  // 30 / 130
        ("return_on_assets", "0.1111111111"),    // 100 / avg(800, 1000)
        ("return_on_equity", "0.2222222222"),    // 100 / avg(400, 500)
        ("asset_turnover", "1.1111111111"),      // 1000 / 900
        ("inventory_turnover", "4"),             // 600 / avg(100, 200)
        ("days_inventory_outstanding", "91.25"), // 150 * 365 / 600
        ("days_sales_outstanding", "45.625"),    // 125 * 365 / 1000
        ("days_payables_outstanding", "48.6666666667"), // 80 * 365 / 600
        ("cash_conversion_cycle", "88.2083333333"),
        ("revenue_growth", "0.25"),
        ("net_income_growth", "0.4285714286"), // 100 / 70 - 1
        ("free_cash_flow", "90"),
        ("free_cash_flow_margin", "0.09"),
    ];
    assert_eq!(expected.len(), MetricId::ALL.len());
    for (metric, want) in expected {
        let got = value(&figures, metric, "P2").round_dp(10);
        assert_eq!(got, d(want), "{metric}");
    }
}

#[test]
fn provenance_is_recorded() {
    let figures = compute_all(&parse(&simple()));
    let roa = figure(&figures, "return_on_assets", "P2");
    assert_eq!(roa.id, "return_on_assets@P2");
    assert_eq!(roa.basis, Basis::Average);
    assert_eq!(roa.unit, Unit::Percent);
    assert_eq!(roa.formula, "net_income / avg(total_assets)");
    let mut inputs: Vec<(String, String, Decimal)> = roa
        .inputs
        .iter()
        .map(|i| (i.line.to_string(), i.period.to_string(), i.value))
        .collect();
    inputs.sort();
    assert_eq!(
        inputs,
        vec![
            ("net_income".into(), "P2".into(), d("100")),
            ("total_assets".into(), "P1".into(), d("800")),
            ("total_assets".into(), "P2".into(), d("1000")),
        ]
    );
    let margin = figure(&figures, "gross_margin", "P2");
    assert_eq!(margin.basis, Basis::Closing);
    assert_eq!(margin.inputs.len(), 2);
}

#[test]
fn first_period_uses_closing_basis_and_has_no_growth() {
    let figures = compute_all(&parse(&simple()));
    let roa = figure(&figures, "return_on_assets", "P1");
    assert_eq!(roa.basis, Basis::Closing);
    assert_eq!(roa.value, Some(d("0.0875"))); // 70 / 800
    assert!(reason(&figures, "revenue_growth", "P1").contains("no previous consecutive period"));
    assert!(reason(&figures, "net_income_growth", "P1").contains("no previous consecutive period"));
}

#[test]
fn a_gap_between_periods_means_no_average_and_no_growth() {
    let mut doc = simple();
    doc["periods"][0]["start"] = json!("2023-02-01");
    let figures = compute_all(&parse(&doc));
    assert_eq!(
        figure(&figures, "return_on_assets", "P2").basis,
        Basis::Closing
    );
    assert!(reason(&figures, "revenue_growth", "P2").contains("no previous consecutive period"));
    // 2023-02-01..2023-12-31 is not twelve months: 334 calendar days.
    let dso = value(&figures, "days_sales_outstanding", "P2");
    assert_eq!(dso, d("150") * d("334") / d("1000"));
}

#[test]
fn no_inventory_makes_inventory_metrics_not_computable() {
    let mut doc = simple();
    for p in 0..2 {
        let inv = doc["periods"][p]["balance_sheet"]["inventory"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap();
        let oca = doc["periods"][p]["balance_sheet"]["other_current_assets"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap();
        set(&mut doc, p, "balance_sheet", "inventory", Value::Null);
        set(
            &mut doc,
            p,
            "balance_sheet",
            "other_current_assets",
            json!((inv + oca).to_string()),
        );
    }
    let figures = compute_all(&parse(&doc));
    assert!(reason(&figures, "inventory_turnover", "P2").contains("no inventory"));
    assert!(reason(&figures, "days_inventory_outstanding", "P2").contains("no inventory"));
    assert!(reason(&figures, "cash_conversion_cycle", "P2").contains("days_inventory_outstanding"));
    assert_eq!(value(&figures, "current_ratio", "P2"), d("2.5"));

    // Zero inventory is no inventory too.
    let mut doc = simple();
    for p in 0..2 {
        set(&mut doc, p, "balance_sheet", "inventory", json!("0"));
        set(
            &mut doc,
            p,
            "balance_sheet",
            "other_current_assets",
            json!(if p == 0 { "200" } else { "100" }),
        );
    }
    let figures = compute_all(&parse(&doc));
    assert!(reason(&figures, "inventory_turnover", "P2").contains("no inventory"));
}

#[test]
fn zero_denominators_are_not_computable() {
    let mut doc = simple();
    // No interest: coverage undefined. Keep net income consistent (not required, but avoids a warning).
    set(
        &mut doc,
        0,
        "income_statement",
        "interest_expense",
        json!("0"),
    );
    set(&mut doc, 0, "income_statement", "net_income", json!("125"));
    let figures = compute_all(&parse(&doc));
    assert!(reason(&figures, "interest_coverage", "P2").contains("no interest expense"));

    let mut doc = simple();
    for (line, v) in [
        ("revenue", "0"),
        ("cost_of_goods_sold", "0"),
        ("net_income", "-305"),
    ] {
        set(&mut doc, 0, "income_statement", line, json!(v));
    }
    let figures = compute_all(&parse(&doc));
    for m in [
        "gross_margin",
        "operating_margin",
        "ebitda_margin",
        "net_margin",
        "free_cash_flow_margin",
        "days_sales_outstanding",
    ] {
        assert!(reason(&figures, m, "P2").contains("revenue is zero"), "{m}");
    }
    for m in [
        "inventory_turnover",
        "days_inventory_outstanding",
        "days_payables_outstanding",
    ] {
        assert!(
            reason(&figures, m, "P2").contains("cost_of_goods_sold is zero"),
            "{m}"
        );
    }
    // EBITDA = 0 - 200 < 0, so net debt / EBITDA is not meaningful; income before tax is negative too.
    assert!(reason(&figures, "net_debt_to_ebitda", "P2").contains("EBITDA"));
    assert!(reason(&figures, "effective_tax_rate", "P2").contains("income before tax"));
}

#[test]
fn zero_current_liabilities_are_not_computable() {
    let mut doc = simple();
    for line in [
        "accounts_payable",
        "short_term_debt",
        "other_current_liabilities",
        "total_current_liabilities",
    ] {
        set(&mut doc, 0, "balance_sheet", line, json!("0"));
    }
    set(
        &mut doc,
        0,
        "balance_sheet",
        "other_non_current_liabilities",
        json!("200"),
    );
    let figures = compute_all(&parse(&doc));
    for m in [
        "current_ratio",
        "quick_ratio",
        "cash_ratio",
        "operating_cash_flow_ratio",
    ] {
        assert!(
            reason(&figures, m, "P2").contains("total_current_liabilities is zero"),
            "{m}"
        );
    }
    assert_eq!(value(&figures, "working_capital", "P2"), d("500"));
}

#[test]
fn negative_equity_is_not_meaningful() {
    let mut doc = simple();
    for p in 0..2 {
        let ta = doc["periods"][p]["balance_sheet"]["total_assets"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap();
        let onc = ta + d("100")
            - doc["periods"][p]["balance_sheet"]["total_current_liabilities"]
                .as_str()
                .unwrap()
                .parse::<Decimal>()
                .unwrap()
            - d("300");
        set(
            &mut doc,
            p,
            "balance_sheet",
            "other_non_current_liabilities",
            json!(onc.to_string()),
        );
        set(
            &mut doc,
            p,
            "balance_sheet",
            "total_liabilities",
            json!((ta + d("100")).to_string()),
        );
        set(&mut doc, p, "balance_sheet", "total_equity", json!("-100"));
    }
    let figures = compute_all(&parse(&doc));
    assert!(reason(&figures, "debt_to_equity", "P2").contains("not meaningful"));
    assert!(reason(&figures, "return_on_equity", "P2").contains("not meaningful"));
    assert!(value(&figures, "debt_to_assets", "P2") > Decimal::ZERO);
}

#[test]
fn growth_from_a_non_positive_base_is_not_computable() {
    let mut doc = simple();
    set(&mut doc, 1, "income_statement", "net_income", json!("-10"));
    let figures = compute_all(&parse(&doc));
    assert!(reason(&figures, "net_income_growth", "P2").contains("zero or negative"));
    assert_eq!(value(&figures, "revenue_growth", "P2"), d("0.25"));
}

#[test]
fn missing_cash_flow_statement_is_not_computable() {
    let mut doc = simple();
    doc["periods"][0]
        .as_object_mut()
        .unwrap()
        .remove("cash_flow");
    let figures = compute_all(&parse(&doc));
    for m in [
        "operating_cash_flow_ratio",
        "free_cash_flow",
        "free_cash_flow_margin",
    ] {
        assert!(
            reason(&figures, m, "P2").contains("no cash flow statement"),
            "{m}"
        );
    }
}

#[test]
fn leap_year_twelve_months_count_365_days() {
    let mut doc = simple();
    doc["periods"][1]["start"] = json!("2023-01-01");
    doc["periods"][1]["end"] = json!("2023-12-31");
    doc["periods"][0]["start"] = json!("2024-01-01");
    doc["periods"][0]["end"] = json!("2024-12-31");
    let s = parse(&doc);
    assert_eq!(s.period("P2").unwrap().days(), 365);
    let figures = compute_all(&s);
    assert_eq!(
        value(&figures, "days_inventory_outstanding", "P2"),
        d("91.25")
    );
}

#[test]
fn compute_selected_and_unknown_period() {
    let s = parse(&simple());
    let figures = compute(&s, &[MetricId::CurrentRatio], &["P1".into(), "P2".into()]).unwrap();
    assert_eq!(figures.len(), 2);
    let err = compute(&s, &[MetricId::CurrentRatio], &["FY1999".into()]).unwrap_err();
    assert_eq!(err.field(), Some("periods"));
    assert!(compute_one(&s, MetricId::NetMargin, "nope").is_err());
}

#[test]
fn figures_serialize_with_decimal_strings() {
    let figures = compute_all(&parse(&simple()));
    let json = serde_json::to_value(figure(&figures, "current_ratio", "P2")).unwrap();
    assert_eq!(json["value"], json!("2.5"));
    assert_eq!(json["metric"], json!("current_ratio"));
    assert_eq!(json["unit"], json!("ratio"));
    assert_eq!(json["basis"], json!("closing"));
    assert!(json.get("reason").is_none());
    let growth = serde_json::to_value(figure(&figures, "revenue_growth", "P1")).unwrap();
    assert_eq!(growth["value"], Value::Null);
    assert!(growth["reason"].is_string());
    let back: Figure = serde_json::from_value(json).unwrap();
    assert_eq!(&back, figure(&figures, "current_ratio", "P2"));
}
