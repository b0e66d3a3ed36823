#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
//! Ledger inputs: statements written out as a GIFI trial balance (JSON and CSV), a PCG FEC, QuickBooks Online and
//! Xero reports (`support/ledger_writers.rs`), read back, give the same figures; provenance, the builder, derived
//! cash flow and the balance identity (property tests). Refusals are in `ledger_refusals.rs`, the charts' rules
//! account by account in `ledger/chart.rs`.
//!
//! The example files in `examples/data/` are what the writers produce from the Bistro fixture; run with
//! `FINOPS_WRITE_EXAMPLES=1` to write them again.

use finops_core::ledger::{self, Chart, CompanyFields, Format, ReadOptions};
use finops_core::metrics;
use finops_core::statements::{Line, Period};
use finops_core::{Decimal, Error, Statements};
use proptest::prelude::*;
use serde_json::{Value, json};

mod support;
use support::ledger_writers::*;

#[test]
fn examples_are_the_bistro_in_every_format() {
    let s = bistro();
    let files: Vec<(String, Vec<u8>)> = {
        let mut f = vec![
            (
                "bistro-saint-denis.gifi.json".to_string(),
                serde_json::to_vec_pretty(&gifi_trial_balance(&s)).unwrap_or_default(),
            ),
            (
                "bistro-saint-denis.gifi.csv".to_string(),
                gifi_csv(&s).into_bytes(),
            ),
            (
                "bistro-saint-denis.quickbooks.json".to_string(),
                serde_json::to_vec_pretty(&quickbooks(&s)).unwrap_or_default(),
            ),
            (
                "bistro-saint-denis.xero.json".to_string(),
                serde_json::to_vec_pretty(&xero(&s)).unwrap_or_default(),
            ),
        ];
        for p in s.periods() {
            f.push((format!("fec/{}", fec_name(p)), fec(p).into_bytes()));
        }
        f
    };
    if std::env::var("FINOPS_WRITE_EXAMPLES").is_ok() {
        for (name, bytes) in &files {
            let path = data(name);
            if let Some(dir) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(dir).unwrap_or_default();
            }
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    // The shipped files are what the writers produce, and each reads back to the same figures.
    for (name, bytes) in &files {
        let shipped = std::fs::read(data(name)).unwrap_or_default();
        assert!(
            shipped == *bytes,
            "{name} is stale: run with FINOPS_WRITE_EXAMPLES=1"
        );
    }
    let gifi = std::fs::read(data("bistro-saint-denis.gifi.json")).unwrap_or_default();
    let from_gifi = read(
        &[("bistro-saint-denis.gifi.json", &gifi)],
        &ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    same_figures("gifi", &s, &from_gifi, true);
    assert_eq!(from_gifi.company(), s.company());

    let csv = std::fs::read(data("bistro-saint-denis.gifi.csv")).unwrap_or_default();
    let options = ReadOptions {
        chart: Some(Chart::Gifi),
        company: CompanyFields {
            name: Some("Bistro Saint-Denis inc.".into()),
            currency: Some("CAD".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_csv = read(&[("tb.csv", &csv)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("csv", &s, &from_csv, false);

    let fecs: Vec<(String, Vec<u8>)> = s
        .periods()
        .iter()
        .map(|p| {
            (
                fec_name(p),
                std::fs::read(data(&format!("fec/{}", fec_name(p)))).unwrap_or_default(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = fecs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let from_fec = read(&refs, &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    same_figures("fec", &s, &from_fec, false);
    assert_eq!(from_fec.company().currency, "EUR");
    assert_eq!(from_fec.company().jurisdiction.as_deref(), Some("FR"));

    let qbo = std::fs::read(data("bistro-saint-denis.quickbooks.json")).unwrap_or_default();
    let options = ReadOptions {
        company: CompanyFields {
            name: Some("Bistro Saint-Denis inc.".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_qbo = read(&[("qbo.json", &qbo)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("qbo", &s, &from_qbo, true);

    let x = std::fs::read(data("bistro-saint-denis.xero.json")).unwrap_or_default();
    let options = ReadOptions {
        company: CompanyFields {
            currency: Some("CAD".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_xero = read(&[("xero.json", &x)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("xero", &s, &from_xero, false);
    assert_eq!(from_xero.company().name, "Bistro Saint-Denis inc.");
}

#[test]
fn formats_are_detected_from_content() {
    let s = bistro();
    let cases: Vec<(Vec<u8>, Format)> = vec![
        (
            std::fs::read(data("bistro-saint-denis.json")).unwrap_or_default(),
            Format::Statements,
        ),
        (
            serde_json::to_vec(&gifi_trial_balance(&s)).unwrap_or_default(),
            Format::TrialBalance,
        ),
        (gifi_csv(&s).into_bytes(), Format::Csv),
        (fec(s.latest()).into_bytes(), Format::Fec),
        (
            serde_json::to_vec(&quickbooks(&s)).unwrap_or_default(),
            Format::QuickBooks,
        ),
        (
            serde_json::to_vec(&xero(&s)).unwrap_or_default(),
            Format::Xero,
        ),
    ];
    for (bytes, format) in cases {
        assert_eq!(ledger::detect(&bytes), Ok(format));
    }
    for bad in [
        &b""[..],
        b"   ",
        b"hello world",
        b"{\"a\": 1}",
        b"{\"schema\": \"x/v9\"}",
        b"{not json",
        b"a,b,c\n1,2,3",
    ] {
        let e = ledger::read_one(bad, &ReadOptions::default()).err();
        assert!(
            matches!(e, Some(Error::InvalidStatements { .. })),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn provenance_leads_from_a_figure_to_its_accounts() {
    let s = bistro();
    let tb = serde_json::to_vec(&gifi_trial_balance(&s)).unwrap_or_default();
    let read = ledger::read_one(&tb, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let fy = read.period("FY2023").unwrap_or_else(|| panic!("FY2023"));
    // Contra accounts net against their assets, and each line's accounts add up to it.
    let ppe = fy
        .accounts(Line::PropertyPlantEquipment)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        ppe.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(),
        ["1740", "1741"]
    );
    assert!(ppe[1].amount.is_sign_negative());
    for line in Line::ALL {
        if let Some(list) = fy.accounts(*line) {
            assert_eq!(
                list.iter().map(|a| a.amount).sum::<Decimal>(),
                amt(fy, *line),
                "{line}"
            );
        }
    }
    // Totals are made of their lines' accounts; check accounts are never among them.
    let assets = fy.accounts(Line::TotalAssets).cloned().unwrap_or_default();
    assert!(
        assets.iter().any(|a| a.account == "1001") && !assets.iter().any(|a| a.account == "2599")
    );
    // Equity holds the period's result: the income statement's accounts.
    let equity = fy.accounts(Line::TotalEquity).cloned().unwrap_or_default();
    assert!(
        equity.iter().any(|a| a.account == "8000") && equity.iter().any(|a| a.account == "3600")
    );
    let figures = metrics::compute_all(&read);
    let margin = figures
        .iter()
        .find(|f| f.id == "gross_margin@FY2023")
        .unwrap_or_else(|| panic!("margin"));
    let revenue = margin
        .inputs
        .iter()
        .find(|i| i.line == "revenue")
        .unwrap_or_else(|| panic!("revenue input"));
    assert_eq!(
        revenue.accounts.as_deref().map(|a| a[0].account.as_str()),
        Some("8000")
    );
    let json = serde_json::to_value(margin).unwrap_or_default();
    assert_eq!(json["inputs"][0]["accounts"][0]["account"], "8000");
    // A statements document has no accounts, and its figures say nothing of them.
    let plain = metrics::compute_all(&s);
    assert!(
        plain
            .iter()
            .all(|f| f.inputs.iter().all(|i| i.accounts.is_none()))
    );
    assert_ne!(read.fingerprint(), s.fingerprint());
    // The canonical JSON carries the accounts in a form the parser reads back (a queued job keeps them).
    let again = Statements::from_json_str(&read.canonical_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.fingerprint(), read.fingerprint());
    assert_eq!(
        again
            .period("FY2023")
            .and_then(|p| p.accounts(Line::PropertyPlantEquipment))
            .map(|a| a.len()),
        Some(2)
    );
    // Accounts that do not add up to their line, or name no line, are refused with their place.
    let mut doc: Value = serde_json::from_str(&read.canonical_json()).unwrap_or_default();
    doc["periods"][0]["accounts"]["cash"][0]["amount"] = json!("1.00");
    doc["periods"][1]["accounts"]["cashh"] = json!([]);
    doc["periods"][2]["accounts"]["cash"][0]["account"] = json!(12);
    let issues = refusal(Statements::from_json_value(&doc));
    for field in [
        "periods[0].accounts.cash",
        "periods[1].accounts.cashh",
        "periods[2].accounts.cash[0].account",
    ] {
        assert!(
            issues.iter().any(|(f, _)| f == field),
            "{field}: {issues:?}"
        );
    }
}

#[test]
fn builder_computes_totals_and_validates_like_json() {
    use finops_core::statements::{AccountAmount, Company, PeriodBuilder};
    let s = bistro();
    let p = s.latest();
    let period = lines_without_totals(p, &[]);
    let built = Statements::builder(s.company().clone())
        .period(period.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for line in Line::ALL {
        assert_eq!(built.latest().amount(*line), p.amount(*line), "{line}");
    }
    // A given total that disagrees is refused where JSON would refuse it.
    let wrong = period.clone().line(Line::TotalCurrentAssets, Decimal::ONE);
    let issues = refusal(
        Statements::builder(s.company().clone())
            .period(wrong)
            .build(),
    );
    assert!(
        issues
            .iter()
            .any(|(f, _)| f == "periods[0].balance_sheet.total_current_assets"),
        "{issues:?}"
    );
    // Accounts and an amount that disagree; a missing required line; a bad date; a bad company.
    let acct = |a: &str, v: i64| AccountAmount {
        account: a.into(),
        name: String::new(),
        amount: Decimal::from(v),
    };
    let disagree = period
        .clone()
        .line(Line::Cash, Decimal::ONE)
        .account(Line::Cash, acct("1001", 2));
    let issues = refusal(
        Statements::builder(s.company().clone())
            .period(disagree)
            .build(),
    );
    assert!(issues.iter().any(|(f, r)| f == "periods[0].balance_sheet.cash" && r.contains("sum of its accounts")), "{issues:?}");
    let issues = refusal(
        Statements::builder(Company::new("X", "CAD"))
            .period(PeriodBuilder::new("FY", "2024-01-01", "2024-13-01"))
            .build(),
    );
    assert!(
        issues.iter().any(|(f, _)| f == "periods[0].end")
            && issues
                .iter()
                .any(|(f, _)| f == "periods[0].income_statement.revenue"),
        "{issues:?}"
    );
    let issues = refusal(
        Statements::builder(Company::new("", "cad"))
            .period(period)
            .build(),
    );
    assert!(
        issues.iter().any(|(f, _)| f == "company.currency"),
        "{issues:?}"
    );
    // Overflowing sums are refused, not wrapped or panicked on.
    let huge = PeriodBuilder::new("FY", "2024-01-01", "2024-12-31")
        .account(
            Line::Cash,
            AccountAmount {
                amount: Decimal::MAX,
                ..acct("1", 0)
            },
        )
        .account(
            Line::Cash,
            AccountAmount {
                amount: Decimal::MAX,
                ..acct("2", 0)
            },
        );
    assert!(
        Statements::builder(Company::new("X", "CAD"))
            .period(huge)
            .build()
            .is_err()
    );
}

fn arb_period() -> impl Strategy<Value = Vec<(String, i64)>> {
    // Any set of GIFI accounts with balances in cents; the last account balances the period.
    let codes = prop::sample::select(vec![
        "1001", "1062", "1063", "1121", "1181", "1484", "1740", "1741", "2012", "2420", "2600",
        "2621", "2680", "2701", "2920", "3143", "3320", "3500", "3600", "3700", "8000", "8090",
        "8320", "8500", "8670", "8714", "8810", "9060", "9975", "9990",
    ]);
    prop::collection::btree_map(codes, -10_000_000i64..10_000_000, 1..20)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any balanced trial balance that finops accepts gives statements that satisfy the balance identity exactly,
    /// and each line is the sum of its accounts.
    #[test]
    fn balanced_trial_balances_satisfy_the_identity(accounts in arb_period()) {
        let mut list: Vec<Value> = Vec::new();
        let mut sum = 0i64;
        for (code, cents) in &accounts {
            if code == "3600" { continue; }
            sum += cents;
            list.push(json!({"account": code, "balance": Decimal::new(*cents, 2).to_string()}));
        }
        list.push(json!({"account": "3600", "balance": Decimal::new(-sum, 2).to_string()}));
        let tb = json!({"schema": "finops.trial_balance/v1", "company": {"name": "P", "currency": "CAD"}, "chart": "gifi",
            "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "accounts": list}]});
        match ledger::read_one(&serde_json::to_vec(&tb).unwrap_or_default(), &ReadOptions::default()) {
            Ok(s) => {
                let p = s.latest();
                prop_assert_eq!(amt(p, Line::TotalAssets), amt(p, Line::TotalLiabilities) + amt(p, Line::TotalEquity));
                for line in Line::ALL {
                    if let Some(list) = p.accounts(*line) {
                        prop_assert_eq!(list.iter().map(|a| a.amount).sum::<Decimal>(), amt(p, *line));
                    }
                }
            }
            // Refused only for a line that cannot be negative, and then it says which.
            Err(Error::InvalidStatements { issues, .. }) => {
                prop_assert!(issues.iter().all(|i| i.reason.contains("cannot be negative") || i.reason.contains("is negative")), "{:?}", issues);
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    /// Hostile bytes in any format give a typed refusal, never a panic.
    #[test]
    fn hostile_inputs_are_refused_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..400), format in 0usize..7) {
        let format = [Format::Auto, Format::Statements, Format::TrialBalance, Format::Csv, Format::Fec, Format::QuickBooks, Format::Xero][format];
        let options = ReadOptions { format, chart: Some(Chart::Pcg), ..ReadOptions::default() };
        let _ = ledger::read_one(&bytes, &options);
        let mut fec = b"JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tDebit\tCredit\n".to_vec();
        fec.extend_from_slice(&bytes);
        let _ = ledger::read_one(&fec, &ReadOptions { format: Format::Fec, ..ReadOptions::default() });
        let mut csv = b"period,start,end,account,name,debit,credit\n".to_vec();
        csv.extend_from_slice(&bytes);
        let _ = ledger::read_one(&csv, &options);
    }
}

#[test]
fn partial_provenance_never_gives_totals_accounts_that_do_not_add_up() {
    use finops_core::statements::AccountAmount;
    let s = bistro();
    let p = s.latest();
    let period = lines_without_totals(p, &[Line::Cash]);
    let period = period.account(
        Line::Cash,
        AccountAmount {
            account: "1001".into(),
            name: "Caisse".into(),
            amount: amt(p, Line::Cash),
        },
    );
    let built = Statements::builder(s.company().clone())
        .period(period)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let fy = built.latest();
    assert!(fy.accounts(Line::Cash).is_some());
    assert!(
        fy.accounts(Line::TotalCurrentAssets).is_none() && fy.accounts(Line::TotalAssets).is_none()
    );
    // And the canonical form reads back.
    assert!(Statements::from_json_str(&built.canonical_json()).is_ok());
}

#[test]
fn cash_flow_is_derived_only_when_asked_and_says_so() {
    let s = bistro();
    let tb = tb_with(|tb| {
        for p in tb["periods"].as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|p| p.remove("cash_flow"));
        }
    });
    // By default: not computable, with the reason.
    let plain = ledger::read_one(&tb, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let fcf = metrics::compute_all(&plain)
        .into_iter()
        .find(|f| f.id == "free_cash_flow@FY2023")
        .unwrap_or_else(|| panic!("fcf"));
    assert!(
        fcf.value.is_none()
            && fcf
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("no cash flow statement")),
        "{fcf:?}"
    );
    // Asked: derived where a previous consecutive period exists, with every term in the inputs.
    let options = ReadOptions {
        derive_cash_flow: true,
        ..ReadOptions::default()
    };
    let derived = ledger::read_one(&tb, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(!derived.periods()[0].has_cash_flow());
    assert!(
        derived
            .warnings()
            .iter()
            .any(|w| w.code == "cash_flow_not_derived" && w.message.contains("FY2021"))
    );
    assert!(
        derived
            .warnings()
            .iter()
            .any(|w| w.code == "cash_flow_derived" && w.message.contains("FY2023"))
    );
    let (prev, p) = (&s.periods()[1], &s.periods()[2]);
    let d = |l: Line| amt(p, l) - amt(prev, l);
    let ocf = amt(p, Line::NetIncome) + amt(p, Line::DepreciationAmortization)
        - d(Line::AccountsReceivable)
        - d(Line::Inventory)
        - d(Line::OtherCurrentAssets)
        + d(Line::AccountsPayable)
        + d(Line::OtherCurrentLiabilities);
    let fy = derived.period("FY2023").unwrap_or_else(|| panic!("FY2023"));
    assert_eq!(fy.amount(Line::OperatingCashFlow), Some(ocf));
    assert_eq!(
        fy.amount(Line::CapitalExpenditures),
        Some(d(Line::PropertyPlantEquipment) + amt(p, Line::DepreciationAmortization))
    );
    assert_eq!(
        fy.amount(Line::DividendsPaid),
        Some(amt(prev, Line::TotalEquity) + amt(p, Line::NetIncome) - amt(p, Line::TotalEquity))
    );
    let fcf = metrics::compute_all(&derived)
        .into_iter()
        .find(|f| f.id == "free_cash_flow@FY2023")
        .unwrap_or_else(|| panic!("fcf"));
    assert!(fcf.value.is_some());
    for input in fcf
        .inputs
        .iter()
        .filter(|i| i.line == "operating_cash_flow" || i.line == "capital_expenditures")
    {
        let accounts = input.accounts.as_deref().unwrap_or_default();
        assert!(
            !accounts.is_empty() && accounts.iter().all(|a| a.account.starts_with("indirect:")),
            "{input:?}"
        );
    }
    // It survives the canonical form.
    let again =
        Statements::from_json_str(&derived.canonical_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.fingerprint(), derived.fingerprint());
    // Where the assumptions visibly fail (equity grew by more than the result), nothing is derived.
    let raised = tb_with(|tb| {
        for p in tb["periods"].as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|p| p.remove("cash_flow"));
        }
        for a in tb["periods"][2]["accounts"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if a["account"] == "3500" {
                a["credit"] = json!("500000.00");
            }
            if a["account"] == "1001" {
                let cash: Decimal = a["debit"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default();
                a["debit"] = json!((cash + Decimal::from(499_900)).to_string());
            }
            if a["account"] == "1599" || a["account"] == "2599" {
                let v: Decimal = a["debit"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default();
                a["debit"] = json!((v + Decimal::from(499_900)).to_string());
            }
        }
    });
    let r = ledger::read_one(&raised, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.period("FY2023").is_some_and(Period::has_cash_flow));
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.code == "cash_flow_not_derived"
                && w.message.contains("capital was contributed")),
        "{:?}",
        r.warnings()
    );
}

#[test]
fn a_quickbooks_total_column_is_skipped() {
    let s = bistro();
    let mut q = quickbooks(&s);
    // QuickBooks adds a "Total" column over the periods of a profit and loss.
    for report in q.as_array_mut().into_iter().flatten() {
        if report["Header"]["ReportName"] != "ProfitAndLoss" {
            continue;
        }
        if let Some(cols) = report["Columns"]["Column"].as_array_mut() {
            cols.push(json!({"ColTitle": "Total", "ColType": "Money", "MetaData": [{"Name": "ColKey", "Value": "total"}]}));
        }
    }
    let options = ReadOptions {
        company: CompanyFields {
            name: Some("B".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let read = read(
        &[("q.json", &serde_json::to_vec(&q).unwrap_or_default())],
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    same_figures("qbo with a total column", &s, &read, true);
}
