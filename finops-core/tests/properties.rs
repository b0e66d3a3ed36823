//! Invariants of the engine, checked on random documents built around valid accounting identities.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should abort the test

use finops_core::metrics::{Unit, compute_all};
use finops_core::{Decimal, Error, Statements};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A consistent two-period document from random amounts in cents, each multiplied by `scale`.
fn document(a: &[u64; 14], b: &[u64; 14], scale: u64) -> Value {
    let period = |label: &str, start: &str, end: &str, v: &[u64; 14]| {
        let c = |x: u64| Decimal::new((x * scale) as i64, 2);
        let (cash, ar, inv, oca, ppe) = (c(v[0]), c(v[1]), c(v[2]), c(v[3]), c(v[4]));
        let (ap, std, ocl, ltd) = (c(v[5]), c(v[6]), c(v[7]), c(v[8]));
        let tca = cash + ar + inv + oca;
        let ta = tca + ppe;
        let tcl = ap + std + ocl;
        let tl = tcl + ltd;
        let te = ta - tl;
        let (rev, cogs, opex, da, interest) = (c(v[9]), c(v[10]), c(v[11]), c(v[12]), c(v[13]));
        let ni = rev - cogs - opex - da - interest;
        json!({"label": label, "start": start, "end": end,
            "income_statement": {"revenue": rev.to_string(), "cost_of_goods_sold": cogs.to_string(),
                "operating_expenses": opex.to_string(), "depreciation_amortization": da.to_string(),
                "interest_expense": interest.to_string(), "income_tax_expense": "0", "net_income": ni.to_string()},
            "balance_sheet": {"cash": cash.to_string(), "accounts_receivable": ar.to_string(),
                "inventory": inv.to_string(), "other_current_assets": oca.to_string(),
                "total_current_assets": tca.to_string(), "property_plant_equipment": ppe.to_string(),
                "other_non_current_assets": "0", "total_assets": ta.to_string(), "accounts_payable": ap.to_string(),
                "short_term_debt": std.to_string(), "other_current_liabilities": ocl.to_string(),
                "total_current_liabilities": tcl.to_string(), "long_term_debt": ltd.to_string(),
                "other_non_current_liabilities": "0", "total_liabilities": tl.to_string(),
                "total_equity": te.to_string()}})
    };
    json!({"schema": "finops.statements/v1", "company": {"name": "Prop inc.", "currency": "CAD"},
        "periods": [period("Y1", "2022-01-01", "2022-12-31", a), period("Y2", "2023-01-01", "2023-12-31", b)]})
}

fn amounts() -> impl Strategy<Value = [u64; 14]> {
    prop::array::uniform14(0u64..100_000_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn scaling_every_amount_leaves_ratios_unchanged(a in amounts(), b in amounts(), k in 2u64..1000) {
        let base = Statements::from_json_value(&document(&a, &b, 1)).unwrap();
        let scaled = Statements::from_json_value(&document(&a, &b, k)).unwrap();
        for (x, y) in compute_all(&base).iter().zip(compute_all(&scaled).iter()) {
            prop_assert_eq!(&x.id, &y.id);
            prop_assert_eq!(x.value.is_some(), y.value.is_some(), "{}", x.id);
            if let (Some(vx), Some(vy)) = (x.value, y.value) {
                match x.unit {
                    Unit::Amount => prop_assert_eq!(vx * Decimal::from(k), vy, "{}", x.id),
                    // Quotients are rounded to 28 significant digits; compare well inside that.
                    _ => prop_assert_eq!(vx.round_dp(18), vy.round_dp(18), "{}", x.id),
                }
            }
        }
    }

    #[test]
    fn growth_against_an_identical_period_is_zero(a in amounts()) {
        let s = Statements::from_json_value(&document(&a, &a, 1)).unwrap();
        for f in compute_all(&s).iter().filter(|f| &*f.period == "Y2" && f.metric.id().ends_with("_growth")) {
            match f.value {
                Some(v) => prop_assert_eq!(v, Decimal::ZERO, "{}", f.id),
                None => prop_assert!(f.reason.as_deref().unwrap_or("").contains("zero or negative")),
            }
        }
    }

    #[test]
    fn a_broken_balance_identity_is_always_rejected(
        a in amounts(), b in amounts(), cents in 1i64..1_000_000, neg in any::<bool>()
    ) {
        let mut doc = document(&a, &b, 1);
        let te: Decimal = doc["periods"][1]["balance_sheet"]["total_equity"].as_str().unwrap().parse().unwrap();
        let delta = Decimal::new(if neg { -cents } else { cents }, 2);
        doc["periods"][1]["balance_sheet"]["total_equity"] = json!((te + delta).to_string());
        match Statements::from_json_value(&doc) {
            Err(Error::InvalidStatements { issues, .. }) => {
                prop_assert!(issues.iter().any(|i| i.field == "periods[1].balance_sheet.total_assets"));
            }
            other => prop_assert!(false, "accepted a broken identity: {:?}", other.map(|s| s.fingerprint().to_string())),
        }
    }

    #[test]
    fn extreme_amounts_never_panic(
        a in prop::array::uniform14(0u64..2), b in prop::array::uniform14(0u64..9_999_999_999_999_999)
    ) {
        if let Ok(s) = Statements::from_json_value(&document(&a, &b, 1)) {
            let _ = compute_all(&s);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = Statements::from_json_str(&text);
        let _ = finops_core::metrics::expr::Expression::parse(&text);
    }
}
