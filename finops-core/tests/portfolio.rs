#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Portfolio screening and peer benchmarks, checked against a brute-force reading of every client's figures, and
//! the cohort-size rule that keeps a small group from being revealed.

use finops_core::portfolio::{
    Client, Comparison, MIN_COHORT, PeriodSelector, Screen, peer_benchmarks, screen,
};
use finops_core::statements::{Company, Line, PeriodBuilder};
use finops_core::{Decimal, Error, MetricId, Statements, metrics};
use proptest::prelude::*;

/// A consistent company of three years from a seed: its totals computed by the builder.
fn company(seed: u64, naics: Option<&str>, sector: Option<&str>) -> Statements {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c = Company::new(format!("Société {seed}"), "CAD");
    c.naics = naics.map(str::to_string);
    c.sector = sector.map(str::to_string);
    let mut b = Statements::builder(c);
    for year in 2021..=2023 {
        let mut amount = |lo: i64, hi: i64| Decimal::new(rng.i64(lo..hi), 2);
        let lines = [
            (Line::Revenue, amount(10_000_000, 900_000_000)),
            (Line::CostOfGoodsSold, amount(1_000_000, 300_000_000)),
            (Line::OperatingExpenses, amount(1_000_000, 300_000_000)),
            (Line::DepreciationAmortization, amount(0, 50_000_000)),
            (Line::InterestExpense, amount(0, 10_000_000)),
            (Line::IncomeTaxExpense, amount(0, 20_000_000)),
            (Line::Cash, amount(0, 90_000_000)),
            (Line::AccountsReceivable, amount(0, 90_000_000)),
            (Line::OtherCurrentAssets, amount(0, 10_000_000)),
            (Line::PropertyPlantEquipment, amount(0, 300_000_000)),
            (Line::OtherNonCurrentAssets, amount(0, 10_000_000)),
            (Line::AccountsPayable, amount(0, 90_000_000)),
            (Line::ShortTermDebt, amount(0, 40_000_000)),
            (Line::OtherCurrentLiabilities, amount(0, 20_000_000)),
            (Line::LongTermDebt, amount(0, 200_000_000)),
            (Line::OtherNonCurrentLiabilities, amount(0, 10_000_000)),
        ];
        let mut p = PeriodBuilder::new(
            format!("FY{year}"),
            format!("{year}-01-01"),
            format!("{year}-12-31"),
        );
        let assets: Decimal = lines
            .iter()
            .filter(|(l, _)| {
                matches!(
                    l,
                    Line::Cash
                        | Line::AccountsReceivable
                        | Line::OtherCurrentAssets
                        | Line::PropertyPlantEquipment
                        | Line::OtherNonCurrentAssets
                )
            })
            .map(|(_, v)| *v)
            .sum();
        let liabilities: Decimal = lines
            .iter()
            .filter(|(l, _)| {
                matches!(
                    l,
                    Line::AccountsPayable
                        | Line::ShortTermDebt
                        | Line::OtherCurrentLiabilities
                        | Line::LongTermDebt
                        | Line::OtherNonCurrentLiabilities
                )
            })
            .map(|(_, v)| *v)
            .sum();
        for (l, v) in lines {
            p.set(l, v);
        }
        p.set(Line::TotalEquity, assets - liabilities);
        b.push_period(p);
    }
    b.build().unwrap()
}

fn portfolio(n: u64) -> Vec<Client> {
    (0..n)
        .map(|i| {
            let naics = ["722511", "722513", "541211", "238220"][(i % 4) as usize];
            let sector = ["restaurants", "restaurants", "accounting", "plumbing"][(i % 4) as usize];
            Client::new(format!("c{i}"), company(i, Some(naics), Some(sector)))
        })
        .collect()
}

fn value(s: &Statements, metric: MetricId, period: &str) -> Option<Decimal> {
    metrics::compute_one(s, metric, period)
        .ok()
        .and_then(|f| f.value)
}

#[test]
fn a_screen_finds_exactly_the_clients_a_brute_force_reading_finds() {
    let clients = portfolio(200); // past the parallel threshold
    let one = Decimal::ONE;
    let result = screen(
        &clients,
        &Screen::new(MetricId::CurrentRatio, Comparison::Lt, one),
    )
    .unwrap();
    let expected: Vec<&str> = clients
        .iter()
        .filter(|c| value(&c.statements, MetricId::CurrentRatio, "FY2023").is_some_and(|v| v < one))
        .map(|c| c.id.as_str())
        .collect();
    assert!(!expected.is_empty() && expected.len() < clients.len());
    assert_eq!(
        result.iter().map(|m| m.client.as_str()).collect::<Vec<_>>(),
        expected
    );
    for m in &result {
        assert_eq!(m.figures.len(), 1);
        assert_eq!(&*m.figures[0].period, "FY2023");
        assert!(m.figures[0].value.unwrap() < one && !m.figures[0].inputs.is_empty());
    }
    // Each period, a given label, a sector and a NAICS prefix.
    let mut each = Screen::new(MetricId::GrossMargin, Comparison::Ge, Decimal::new(5, 1));
    each.period = PeriodSelector::Each;
    each.naics_prefix = Some("7225".into());
    for m in screen(&clients, &each).unwrap() {
        let c = clients.iter().find(|c| c.id == m.client).unwrap();
        assert!(
            c.statements
                .company()
                .naics
                .as_deref()
                .unwrap()
                .starts_with("7225")
        );
        let want: Vec<String> = ["FY2021", "FY2022", "FY2023"]
            .iter()
            .filter(|p| {
                value(&c.statements, MetricId::GrossMargin, p)
                    .is_some_and(|v| v >= Decimal::new(5, 1))
            })
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            m.figures
                .iter()
                .map(|f| f.period.to_string())
                .collect::<Vec<_>>(),
            want
        );
    }
    let mut labelled = Screen::new(MetricId::DebtToEquity, Comparison::Gt, Decimal::ZERO);
    labelled.period = PeriodSelector::Label("FY2022".into());
    labelled.sector = Some("Accounting".into());
    for m in screen(&clients, &labelled).unwrap() {
        assert_eq!(&*m.figures[0].period, "FY2022");
        assert_eq!(
            m.client.trim_start_matches('c').parse::<u64>().unwrap() % 4,
            2
        );
    }
    labelled.period = PeriodSelector::Label("FY1999".into());
    assert!(screen(&clients, &labelled).unwrap().is_empty());
}

#[test]
fn bad_screens_and_portfolios_are_refused_naming_the_field() {
    let clients = portfolio(3);
    let mut bad = Screen::new(MetricId::CurrentRatio, Comparison::Lt, Decimal::ONE);
    bad.naics_prefix = Some("72a".into());
    assert!(
        matches!(screen(&clients, &bad), Err(Error::InvalidArgument { field, .. }) if field == "naics_prefix")
    );
    bad.naics_prefix = None;
    bad.sector = Some("  ".into());
    assert!(
        matches!(screen(&clients, &bad), Err(Error::InvalidArgument { field, .. }) if field == "sector")
    );
    let mut twice = clients.clone();
    twice.push(clients[0].clone());
    let ok = Screen::new(MetricId::CurrentRatio, Comparison::Lt, Decimal::ONE);
    assert!(
        matches!(screen(&twice, &ok), Err(Error::InvalidArgument { field, .. }) if field == "clients[3].id")
    );
    assert!(
        matches!(peer_benchmarks("nobody", &clients, &[]), Err(Error::InvalidArgument { field, .. }) if field == "client")
    );
    assert!("≈".parse::<Comparison>().is_err());
    assert_eq!("<=".parse::<Comparison>().ok(), Some(Comparison::Le));
}

#[test]
fn a_cohort_smaller_than_five_is_never_compared() {
    let client = Client::new("me", company(1000, Some("722511"), None));
    let peers = |n: u64, naics: &str| -> Vec<Client> {
        (0..n)
            .map(|i| Client::new(format!("p{i}"), company(2000 + i, Some(naics), None)))
            .collect()
    };
    // Four restaurants: nothing is said, for any metric.
    let mut clients = vec![client.clone()];
    clients.extend(peers(MIN_COHORT as u64 - 1, "722511"));
    let (found, missing) = peer_benchmarks("me", &clients, &[]).unwrap();
    assert!(found.is_empty());
    assert_eq!(missing.len(), MetricId::ALL.len());
    assert!(missing.iter().any(|m| m.reason.contains("fewer than 5")));
    assert!(
        missing
            .iter()
            .all(|m| m.reason.contains("fewer than 5") || m.reason.contains("cannot be computed"))
    );
    // Five: the position, exactly as a brute-force count gives it.
    let mut clients = vec![client.clone()];
    clients.extend(peers(MIN_COHORT as u64, "722511"));
    let (found, _) = peer_benchmarks("me", &clients, &[MetricId::CurrentRatio]).unwrap();
    let b = &found[0];
    assert_eq!(
        (b.cohort.as_str(), b.cohort_size, b.id.as_str()),
        ("NAICS 722511", 5, "peer_current_ratio@FY2023")
    );
    let mine = value(&client.statements, MetricId::CurrentRatio, "FY2023").unwrap();
    let below = clients[1..]
        .iter()
        .filter(|c| value(&c.statements, MetricId::CurrentRatio, "FY2023").unwrap() < mine)
        .count();
    assert_eq!(
        b.percentile,
        (Decimal::from(below * 100) / Decimal::from(5)).round_dp(2)
    );
    assert_eq!(b.figure.value, Some(mine));
    // Peers of a sibling code: the cohort falls back to the shorter prefix they share.
    let mut clients = vec![client.clone()];
    clients.extend(peers(3, "722511"));
    clients.extend(
        peers(3, "722513")
            .into_iter()
            .map(|c| Client::new(format!("s{}", c.id), c.statements)),
    );
    let (found, _) = peer_benchmarks("me", &clients, &[MetricId::CurrentRatio]).unwrap();
    assert_eq!(
        (found[0].cohort.as_str(), found[0].cohort_size),
        ("NAICS 72251", 6)
    );
    // No NAICS: the sector, compared without case.
    let me = Client::new("me", company(1000, None, Some("Restaurants")));
    let mut clients = vec![me];
    clients.extend((0..5).map(|i| {
        Client::new(
            format!("q{i}"),
            company(3000 + i, None, Some("restaurants")),
        )
    }));
    let (found, _) = peer_benchmarks("me", &clients, &[MetricId::GrossMargin]).unwrap();
    assert_eq!(found[0].cohort, "sector Restaurants");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the portfolio, a benchmark's position agrees with a count over its cohort, and quartiles follow it.
    #[test]
    fn positions_agree_with_a_count(seed in 0u64..10_000, n in 5u64..40) {
        let clients: Vec<Client> = (0..n).map(|i| Client::new(format!("c{i}"), company(seed * 100 + i, Some("722511"), None))).collect();
        let (found, _) = peer_benchmarks("c0", &clients, &[MetricId::NetMargin, MetricId::DebtToAssets]).unwrap();
        for b in found {
            prop_assert!(b.cohort_size >= MIN_COHORT && b.cohort_size == (n - 1) as usize);
            prop_assert!(b.percentile >= Decimal::ZERO && b.percentile <= Decimal::ONE_HUNDRED);
            let mine = b.figure.value.unwrap();
            let values: Vec<Decimal> = clients[1..].iter().filter_map(|c| value(&c.statements, b.metric, "FY2023")).collect();
            let below = values.iter().filter(|v| **v < mine).count();
            let equal = values.iter().filter(|v| **v == mine).count();
            let want = (Decimal::from(below * 2 + equal) * Decimal::ONE_HUNDRED / Decimal::from(values.len() * 2)).round_dp(2);
            prop_assert_eq!(b.percentile, want);
            let q = match b.percentile { p if p >= Decimal::from(75) => 4, p if p >= Decimal::from(50) => 3, p if p >= Decimal::from(25) => 2, _ => 1 };
            prop_assert_eq!(b.quartile, q);
        }
    }
}

#[test]
fn binding_shaped_screens_and_clients() {
    use finops_core::portfolio::clients_from_json;
    use serde_json::json;
    let s = Screen::from_json_value(&json!({"metric": "gross_margin", "op": ">=", "threshold": 0.65, "period": "each", "naics_prefix": "72"})).unwrap();
    assert_eq!(
        (s.metric, s.comparison, s.threshold, s.period),
        (
            MetricId::GrossMargin,
            Comparison::Ge,
            Decimal::new(65, 2),
            PeriodSelector::Each
        )
    );
    for (bad, field) in [
        (json!({"metric": "gross_margin", "op": ">="}), "threshold"),
        (
            json!({"metric": "gross_margins", "op": ">=", "threshold": "1"}),
            "metric",
        ),
        (
            json!({"metric": "gross_margin", "op": "=>", "threshold": "1"}),
            "comparison",
        ),
        (
            json!({"metric": "gross_margin", "op": ">=", "threshold": "1e400"}),
            "threshold",
        ),
        (
            json!({"metric": "gross_margin", "op": ">=", "threshold": "1", "naics_prefix": "7x"}),
            "naics_prefix",
        ),
        (
            json!({"metric": "gross_margin", "op": ">=", "threshold": "1", "colour": "red"}),
            "colour",
        ),
        (json!([]), "screen"),
    ] {
        assert!(
            matches!(Screen::from_json_value(&bad), Err(Error::InvalidArgument { field: ref f, .. }) if f == field),
            "{bad}"
        );
    }
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .unwrap();
    assert_eq!(
        clients_from_json([("a".to_string(), json.as_str())])
            .unwrap()
            .len(),
        1
    );
    match clients_from_json([("a".to_string(), "{}")]) {
        Err(Error::InvalidStatements { field, .. }) => {
            assert!(field.starts_with("clients[a]."), "{field}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        clients_from_json([
            ("a".to_string(), json.as_str()),
            ("a".to_string(), json.as_str())
        ]),
        Err(Error::InvalidArgument { .. })
    ));
}

#[cfg(feature = "arrow")]
mod table {
    //! `metrics_table`: every figure of the portfolio as one Arrow table, equal to `compute_all` figure by figure.

    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, Int32Type};
    use arrow_array::{Array, DictionaryArray};
    use finops_core::portfolio::{RecordBatch, metrics_table};

    fn text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
        let array: &DictionaryArray<Int32Type> =
            batch.column_by_name(column).unwrap().as_dictionary();
        if array.is_null(row) {
            return None;
        }
        let key = array.keys().value(row) as usize;
        Some(array.values().as_string::<i32>().value(key).to_string())
    }

    /// A decimal128 back as a `Decimal`: trailing zeros dropped first (scale 28 can exceed its 96 bits).
    fn from_arrow(mut units: i128, mut scale: u32) -> Decimal {
        while scale > 0 && units % 10 == 0 {
            units /= 10;
            scale -= 1;
        }
        Decimal::try_from_i128_with_scale(units, scale).unwrap()
    }

    /// Every row against `compute_all`: the exact value (rescaled back), its float, unit, basis, reason, period.
    fn assert_agrees(clients: &[Client], batch: &RecordBatch) -> usize {
        let values = batch
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Decimal128Type>();
        let floats = batch
            .column_by_name("value_f64")
            .unwrap()
            .as_primitive::<Float64Type>();
        let ends = batch
            .column_by_name("period_end")
            .unwrap()
            .as_primitive::<Date32Type>();
        let arrow_schema::DataType::Decimal128(_, scale) = values.data_type() else {
            panic!("value is not a decimal128")
        };
        let mut row = 0;
        let mut rounded = 0;
        for client in clients {
            for figure in metrics::compute_all(&client.statements) {
                assert_eq!(
                    text(batch, "client", row).as_deref(),
                    Some(client.id.as_str())
                );
                let company = client.statements.company();
                assert_eq!(text(batch, "company", row), Some(company.name.clone()));
                assert_eq!(text(batch, "naics", row), company.naics.clone());
                assert_eq!(text(batch, "sector", row), company.sector.clone());
                assert_eq!(text(batch, "period", row).as_deref(), Some(&*figure.period));
                assert_eq!(
                    text(batch, "metric", row).as_deref(),
                    Some(figure.metric.id())
                );
                assert_eq!(text(batch, "unit", row).as_deref(), Some(figure.unit.id()));
                assert_eq!(
                    text(batch, "basis", row).as_deref(),
                    Some(figure.basis.id())
                );
                let end = client.statements.period(&figure.period).unwrap().end;
                assert_eq!(ends.value_as_date(row), Some(end));
                match figure.value {
                    Some(v) => {
                        let exact = from_arrow(values.value(row), *scale as u32);
                        if v.scale() > *scale as u32 {
                            rounded += 1;
                            assert_eq!(
                                exact,
                                v.round_dp_with_strategy(
                                    *scale as u32,
                                    rust_decimal::RoundingStrategy::MidpointNearestEven
                                )
                            );
                        } else {
                            assert_eq!(exact, v, "{} of {}", figure.id, client.id);
                        }
                        // The nearest float, as parsing the exact text gives it.
                        assert_eq!(floats.value(row), v.to_string().parse::<f64>().unwrap());
                        assert_eq!(text(batch, "reason", row), None);
                    }
                    None => {
                        assert!(values.is_null(row) && floats.is_null(row));
                        assert_eq!(text(batch, "reason", row), figure.reason);
                    }
                }
                row += 1;
            }
        }
        assert_eq!(row, batch.num_rows());
        let meta = batch.schema().metadata().clone();
        assert_eq!(meta["finops.rounded_values"], rounded.to_string());
        assert_eq!(meta["finops.value_scale"], scale.to_string());
        assert_eq!(meta["schema"], "finops.metrics_table/v1");
        rounded
    }

    #[test]
    fn the_table_holds_every_figure_of_compute_all_exactly() {
        // Enough clients for the work to be spread over threads, mixed NAICS and sectors.
        let clients = portfolio(150);
        let batch = metrics_table(&clients).unwrap();
        assert_eq!(batch.num_rows(), 150 * 3 * MetricId::ALL.len());
        assert_eq!(
            assert_agrees(&clients, &batch),
            0,
            "ordinary amounts need no rounding"
        );
    }

    #[test]
    fn a_very_large_ratio_lowers_the_scale_and_says_how_many_values_were_rounded() {
        let mut clients = portfolio(3);
        // Amounts stay below 10^15, but a tiny interest expense makes the coverage ratio a 17-digit number, which
        // leaves 21 of decimal128's 38 digits for decimals: quotients of 28 decimals are rounded.
        let statements = company(7, Some("722511"), None);
        let mut doc: serde_json::Value =
            serde_json::from_str(&statements.canonical_json()).unwrap();
        for p in doc["periods"].as_array_mut().unwrap() {
            let is = &mut p["income_statement"];
            let revenue: Decimal = "912345678901234.57".parse().unwrap();
            let old: Decimal = is["revenue"].as_str().unwrap().parse().unwrap();
            let interest: Decimal = is["interest_expense"].as_str().unwrap().parse().unwrap();
            let ni: Decimal = is["net_income"].as_str().unwrap().parse().unwrap();
            is["revenue"] = serde_json::Value::String(revenue.to_string());
            is["interest_expense"] = serde_json::Value::String("0.01".into());
            let delta = revenue - old + interest - Decimal::new(1, 2);
            is["net_income"] = serde_json::Value::String((ni + delta).to_string());
        }
        clients.push(Client::new(
            "colossus",
            Statements::from_json_value(&doc).unwrap(),
        ));
        let batch = metrics_table(&clients).unwrap();
        let arrow_schema::DataType::Decimal128(38, scale) =
            batch.schema().field(7).data_type().clone()
        else {
            panic!("value is decimal128(38, s)")
        };
        assert!((15..28).contains(&scale), "scale {scale}");
        assert!(assert_agrees(&clients, &batch) > 0);
    }

    #[test]
    fn empty_and_refused_portfolios() {
        let batch = metrics_table(&[]).unwrap();
        assert_eq!((batch.num_rows(), batch.num_columns()), (0, 12));
        let clients = portfolio(2);
        let twice = vec![
            clients[0].clone(),
            Client::new(clients[0].id.clone(), clients[1].statements.clone()),
        ];
        let Err(Error::InvalidArgument { field, .. }) = metrics_table(&twice) else {
            panic!("duplicate ids are refused")
        };
        assert_eq!(field, "clients[1].id");
    }

    #[test]
    fn documents_are_parsed_on_every_core_and_a_refused_one_is_named() {
        let good = portfolio(80);
        let mut documents: Vec<(String, Vec<u8>)> = good
            .iter()
            .map(|c| (c.id.clone(), c.statements.canonical_json().into_bytes()))
            .collect();
        let parsed =
            finops_core::portfolio::clients_from_documents(&documents, None, "sources").unwrap();
        assert_eq!(parsed.len(), 80);
        assert!(
            parsed
                .iter()
                .zip(&good)
                .all(|(a, b)| a.id == b.id
                    && a.statements.fingerprint() == b.statements.fingerprint())
        );
        let bad = String::from_utf8(documents[41].1.clone())
            .unwrap()
            .replacen("\"cash\":\"", "\"cash\":\"x", 1);
        documents[41].1 = bad.into_bytes();
        let Err(Error::InvalidStatements { field, .. }) =
            finops_core::portfolio::clients_from_documents(&documents, None, "sources")
        else {
            panic!("a refused document fails the batch")
        };
        assert!(
            field.starts_with(&format!("sources[{}].periods[", good[41].id)),
            "{field}"
        );
        assert!(field.ends_with(".balance_sheet.cash"), "{field}");
    }
}

#[cfg(feature = "arrow")]
mod hostile {
    //! Documents from outside: whatever the bytes, a portfolio read refuses them with the source named, never a
    //! panic; and the table of any valid portfolio holds every figure.

    use super::*;
    use finops_core::portfolio::{clients_from_documents, metrics_table};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_bytes_are_refused_naming_their_source(docs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6)) {
            let documents: Vec<(String, Vec<u8>)> = docs.into_iter().enumerate().map(|(i, d)| (i.to_string(), d)).collect();
            match clients_from_documents(&documents, None, "sources") {
                Ok(clients) => prop_assert_eq!(clients.len(), documents.len()),
                Err(Error::InvalidStatements { field, .. }) => prop_assert!(field.starts_with("sources["), "{}", field),
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }

        #[test]
        fn mangled_documents_are_refused_or_read_never_a_panic(seed in 0u64..1000, cut in 0usize..4000, byte in any::<u8>()) {
            let mut text = company(seed, Some("722511"), None).canonical_json().into_bytes();
            let at = cut.min(text.len().saturating_sub(1));
            text[at] = byte;
            let documents = vec![("x".to_string(), text)];
            if let Ok(clients) = clients_from_documents(&documents, None, "sources") {
                let table = metrics_table(&clients).unwrap();
                prop_assert_eq!(table.num_rows(), clients[0].statements.periods().len() * MetricId::ALL.len());
            }
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        for open in [b'[', b'{'] {
            let mut text = vec![open; 100_000];
            if open == b'{' {
                text = b"{\"a\":".repeat(50_000);
            }
            let documents = vec![("deep".to_string(), text)];
            let Err(Error::InvalidStatements { field, reason, .. }) =
                clients_from_documents(&documents, None, "sources")
            else {
                panic!("deep nesting is refused")
            };
            assert_eq!(field, "sources[deep]");
            assert!(reason.contains("malformed JSON"), "{reason}");
        }
    }
}
