#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Peer benchmarks inside analyses: a question about peers makes the plan ask for them, the offline analyst and
//! the Validator cite them (grounded like any figure), cohorts under five are never compared, and the firm's
//! portfolio comes from the request or from the vault (which the firm's analyses fill).

use std::sync::Arc;

use finops_core::pipeline::{
    AnalysisRequest, CacheOutcome, FindingStatus, Language, Pipeline, ReportSource,
};
use finops_core::portfolio::{Client, peer_benchmarks};
use finops_core::provider::{Phase, ScriptedProvider};
use finops_core::security::{Principal, Role};
use finops_core::statements::{Company, Line, PeriodBuilder};
use finops_core::{Decimal, Error, MetricId, Statements};

/// A restaurant (NAICS 722511) of three years whose costs vary with `seed`; totals computed by the builder.
fn restaurant(seed: u64, naics: &str) -> Statements {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut company = Company::new(format!("Resto {seed}"), "CAD");
    company.naics = Some(naics.into());
    company.sector = Some(
        if naics.starts_with("722") {
            "restaurants"
        } else {
            "accounting"
        }
        .into(),
    );
    let mut b = Statements::builder(company);
    for year in 2021..=2023 {
        let mut amount = |lo: i64, hi: i64| Decimal::new(rng.i64(lo..hi), 2);
        let revenue = amount(200_000_000, 400_000_000);
        let mut p = PeriodBuilder::new(
            format!("FY{year}"),
            format!("{year}-01-01"),
            format!("{year}-12-31"),
        );
        p.set(Line::Revenue, revenue);
        p.set(Line::CostOfGoodsSold, amount(50_000_000, 150_000_000));
        p.set(Line::OperatingExpenses, amount(20_000_000, 80_000_000));
        p.set(Line::DepreciationAmortization, amount(1_000_000, 5_000_000));
        p.set(Line::InterestExpense, amount(100_000, 1_000_000));
        p.set(Line::IncomeTaxExpense, amount(1_000_000, 5_000_000));
        let cash = amount(5_000_000, 50_000_000);
        let receivables = amount(1_000_000, 20_000_000);
        let ppe = amount(50_000_000, 100_000_000);
        let payables = amount(5_000_000, 30_000_000);
        let debt = amount(10_000_000, 40_000_000);
        p.set(Line::Cash, cash);
        p.set(Line::AccountsReceivable, receivables);
        p.set(Line::OtherCurrentAssets, Decimal::ZERO);
        p.set(Line::PropertyPlantEquipment, ppe);
        p.set(Line::OtherNonCurrentAssets, Decimal::ZERO);
        p.set(Line::AccountsPayable, payables);
        p.set(Line::ShortTermDebt, Decimal::ZERO);
        p.set(Line::OtherCurrentLiabilities, Decimal::ZERO);
        p.set(Line::LongTermDebt, debt);
        p.set(Line::OtherNonCurrentLiabilities, Decimal::ZERO);
        p.set(
            Line::TotalEquity,
            cash + receivables + ppe - payables - debt,
        );
        b.push_period(p);
    }
    b.build().unwrap()
}

/// `n` restaurants `r0`…, and three accounting practices that are not their peers.
fn portfolio(n: u64) -> Vec<Client> {
    let mut clients: Vec<Client> = (0..n)
        .map(|i| Client::new(format!("r{i}"), restaurant(i, "722511")))
        .collect();
    clients.extend((0..3).map(|i| Client::new(format!("cpa{i}"), restaurant(100 + i, "541211"))));
    clients
}

const EN: &str = "How does our gross margin compare with the firm's other restaurants?";
const FR: &str =
    "Comment se situe notre marge brute par rapport aux autres restaurants du cabinet ?";

#[tokio::test]
async fn the_offline_analyst_cites_the_client_among_its_peers_grounded() {
    let clients = portfolio(8);
    let me = clients[0].clone();
    for (question, language) in [(EN, Language::En), (FR, Language::Fr)] {
        let request = AnalysisRequest::new(me.statements.clone(), question)
            .client("r0")
            .peers(clients.clone());
        let a = Pipeline::offline().analyze(request).await.unwrap();
        assert_eq!(a.language, language);
        assert!(
            a.plan.benchmark,
            "a question about peers asks for benchmarks"
        );
        assert!(a.plan.metrics.contains(&MetricId::GrossMargin));
        // The same positions a direct call gives, on every metric of the plan.
        let (expected, _) = peer_benchmarks("r0", &clients, &a.plan.metrics).unwrap();
        assert_eq!(a.benchmarks, expected);
        let margin = a
            .benchmarks
            .iter()
            .find(|b| b.metric == MetricId::GrossMargin)
            .unwrap();
        assert_eq!(
            (margin.cohort.as_str(), margin.cohort_size),
            ("NAICS 722511", 7)
        );
        let finding = a
            .findings
            .iter()
            .find(|f| f.cites.contains(&margin.id))
            .unwrap();
        assert_eq!(finding.status, FindingStatus::Confirmed);
        assert!(finding.cites.contains(&margin.figure.id));
        let percentile = language.number(margin.percentile, 2);
        assert!(
            finding.text.contains(&percentile) && finding.text.contains(" 7 "),
            "{}",
            finding.text
        );
        assert!(a.report.contains(&finding.text), "{}", a.report);
        assert!(
            a.validation.grounded,
            "{:?}",
            a.validation.ungrounded_numbers
        );
        // Never another client's figure: no peer's gross margin appears in the report.
        for peer in clients.iter().skip(1) {
            let theirs = finops_core::metrics::compute_one(
                &peer.statements,
                MetricId::GrossMargin,
                "FY2023",
            )
            .unwrap()
            .value
            .unwrap();
            let shown = language.value(theirs, MetricId::GrossMargin.unit(), "CAD");
            assert!(
                !a.report.contains(&shown)
                    || shown
                        == language.value(
                            margin.figure.value.unwrap(),
                            MetricId::GrossMargin.unit(),
                            "CAD"
                        )
            );
        }
    }
}

#[tokio::test]
async fn a_cohort_under_five_is_never_compared_and_the_reason_is_said() {
    let clients = portfolio(5); // four other restaurants
    let request = AnalysisRequest::new(clients[0].statements.clone(), EN)
        .client("r0")
        .peers(clients.clone());
    let a = Pipeline::offline().analyze(request).await.unwrap();
    assert!(a.plan.benchmark && a.benchmarks.is_empty());
    let note = a
        .validation
        .warnings
        .iter()
        .find(|w| w.starts_with("peer benchmarks:"))
        .unwrap();
    assert!(note.contains("fewer than 5"), "{note}");
    assert!(!a.report.contains("percentile") && a.validation.grounded);

    // No portfolio and no vault: said, not guessed.
    let a = Pipeline::offline()
        .analyze(AnalysisRequest::new(clients[0].statements.clone(), EN))
        .await
        .unwrap();
    assert!(a.benchmarks.is_empty());
    assert!(
        a.validation
            .warnings
            .iter()
            .any(|w| w.contains("no portfolio was given")),
        "{:?}",
        a.validation.warnings
    );

    // A question that does not ask about peers gets none, even with a portfolio.
    let request = AnalysisRequest::new(clients[0].statements.clone(), "Is our margin improving?")
        .peers(portfolio(8));
    let a = Pipeline::offline().analyze(request).await.unwrap();
    assert!(!a.plan.benchmark && a.benchmarks.is_empty());
}

#[tokio::test]
async fn the_validator_cites_benchmarks_by_id_and_its_numbers_are_grounded() {
    let clients = portfolio(8);
    let (expected, _) = peer_benchmarks("r0", &clients, &[MetricId::GrossMargin]).unwrap();
    let b = &expected[0];
    let plan = r#"{"intents": ["profitability"], "metrics": ["gross_margin"], "periods": ["FY2023"], "benchmark": true}"#;
    let research = serde_json::json!({"findings": [
        {"text": "Gross margin ranks high among the firm's restaurants.", "cites": [b.id, b.figure.id]},
        {"text": "Margin beats the competition.", "cites": ["peer_net_margin@FY2023"]}
    ]})
    .to_string();
    let report = format!(
        "## Gross margin among peers\n\nGross margin in FY2023 is {}, at percentile {} of the firm's {} other clients of {} (quartile {}).",
        Language::En.value(b.figure.value.unwrap(), MetricId::GrossMargin.unit(), "CAD"),
        Language::En.number(b.percentile, 2),
        b.cohort_size,
        b.cohort,
        b.quartile
    );
    let validated =
        serde_json::json!({"verdicts": [{"finding": 0, "status": "confirmed"}], "report": report})
            .to_string();
    let provider = Arc::new(
        ScriptedProvider::new()
            .reply(Phase::Analyst, plan)
            .reply(Phase::Researcher, research)
            .reply(Phase::Validator, validated),
    );
    let p = Pipeline::builder()
        .provider(provider.clone(), "a", "r", "v")
        .build();
    // The model's plan asked for benchmarks, though the question does not name peers.
    let request = AnalysisRequest::new(clients[0].statements.clone(), "Gross margin?")
        .client("r0")
        .peers(clients.clone());
    let a = p.analyze(request).await.unwrap();
    assert_eq!(
        a.report_source,
        ReportSource::Validator,
        "{:?}",
        a.validation
    );
    assert!(a.validation.grounded);
    assert_eq!(a.benchmarks, expected);
    assert_eq!(a.findings[0].status, FindingStatus::Confirmed);
    // A benchmark the SDK did not compute cannot be cited.
    assert_eq!(a.findings[1].status, FindingStatus::Rejected);
    assert!(
        a.findings[1]
            .note
            .as_deref()
            .unwrap()
            .contains("peer_net_margin@FY2023")
    );
    // The Researcher and the Validator were given the benchmark (never a peer's value).
    for phase in [1, 2] {
        let asked = &provider.requests()[phase].messages[1].content;
        assert!(
            asked.contains(&b.id) && asked.contains("\"cohort_size\":7"),
            "{asked}"
        );
    }
}

#[tokio::test]
async fn analyses_with_benchmarks_are_never_cached() {
    // Benchmarks depend on other clients' books, which no cache key covers.
    let cache = Arc::new(finops_core::cache::MemoryCache::new(
        100,
        std::time::Duration::from_secs(600),
    ));
    let p = Pipeline::builder().cache(cache).build();
    let clients = portfolio(8);
    for question in [EN, "Is our margin improving?"] {
        let ask = || {
            AnalysisRequest::new(clients[0].statements.clone(), question)
                .client("r0")
                .peers(clients.clone())
        };
        let first = p.analyze(ask()).await.unwrap();
        let second = p.analyze(ask()).await.unwrap();
        assert_eq!(first.cache, CacheOutcome::Miss);
        let expected = if question == EN {
            CacheOutcome::Miss
        } else {
            CacheOutcome::Exact
        };
        assert_eq!(second.cache, expected, "{question}");
    }
}

#[tokio::test]
async fn the_vault_is_the_firms_portfolio() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(
        finops_core::store::open_local_vault(dir.path())
            .await
            .unwrap(),
    );
    let p = Pipeline::builder().vault(vault.clone()).build();
    // The firm analyses its clients: each analysis keeps the client's statements.
    let clients = portfolio(7);
    for c in &clients {
        p.analyze(
            AnalysisRequest::new(c.statements.clone(), "Is our margin improving?")
                .tenant("firm")
                .client(c.id.clone()),
        )
        .await
        .unwrap();
    }
    let cpa = Principal::new("firm", Role::Cpa, None).unwrap();
    let held = vault.portfolio(&cpa).await.unwrap();
    assert_eq!(held.len(), clients.len());
    assert!(held.iter().all(|h| {
        clients
            .iter()
            .any(|c| c.id == h.id && c.statements.fingerprint() == h.statements.fingerprint())
    }));
    // A peer question without a portfolio uses the vault's: six other restaurants.
    let a = p
        .analyze(
            AnalysisRequest::new(clients[0].statements.clone(), EN)
                .tenant("firm")
                .client("r0"),
        )
        .await
        .unwrap();
    let margin = a
        .benchmarks
        .iter()
        .find(|b| b.metric == MetricId::GrossMargin)
        .unwrap();
    assert_eq!(margin.cohort_size, 6);
    assert!(a.validation.grounded);
    // Another firm sees none of it.
    let other = Principal::new("other-firm", Role::Cpa, None).unwrap();
    assert!(vault.portfolio(&other).await.unwrap().is_empty());
    // A client never reads the firm's portfolio.
    let client = Principal::new("firm", Role::Client, Some("r0".into())).unwrap();
    assert!(matches!(
        vault.portfolio(&client).await,
        Err(Error::AccessDenied { .. })
    ));
    // An older year does not replace newer statements.
    let older = {
        let mut doc: serde_json::Value =
            serde_json::from_str(&clients[1].statements.canonical_json()).unwrap();
        doc["periods"].as_array_mut().unwrap().truncate(1);
        Statements::from_json_value(&doc).unwrap()
    };
    vault
        .save_statements(&cpa, "firm", "r1", &older)
        .await
        .unwrap();
    let r1 = vault
        .portfolio(&cpa)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == "r1")
        .unwrap();
    assert_eq!(
        r1.statements.fingerprint(),
        clients[1].statements.fingerprint()
    );
    // Erasing a client erases its statements.
    let admin = Principal::new("firm", Role::Admin, None).unwrap();
    vault.erase_client(&admin, "r2").await.unwrap();
    let held = vault.portfolio(&cpa).await.unwrap();
    assert_eq!(held.len(), clients.len() - 1);
    assert!(held.iter().all(|c| c.id != "r2"));
}

#[test]
fn which_questions_ask_about_peers() {
    use finops_core::analysis::intent::asks_for_peers;
    for yes in [
        EN,
        FR,
        "How do we stack up against similar businesses?",
        "Where do we rank among the firm's clients on margins?",
        "Benchmark our liquidity",
        "Sommes-nous dans le premier quartile de notre secteur ?",
        "Comparez notre rentabilité à la moyenne du secteur.",
        "Comment nous positionnons-nous face aux autres entreprises similaires ?",
        "How do our margins compare to others in the industry?",
        "Nos ratios par rapport à nos pairs ?",
        // Better or worse than others, without a comparison word.
        "Les marges de l'entreprise sont-elles meilleures que celles du secteur ?",
        "Is our collection period worse than the industry average?",
    ] {
        assert!(asks_for_peers(yes), "{yes}");
    }
    for no in [
        "Is our margin improving?",
        "Compare FY2022 with FY2023",
        "Compare our other income with last year",
        "Comparez les autres charges aux autres produits",
        "Analyse la rentabilité du bistro sur trois ans",
        "How does revenue compare with the other years?",
        "What is our working capital?",
        "Is our margin better than last year?",
        "Is our working capital getting worse?",
    ] {
        assert!(!asks_for_peers(no), "{no}");
    }
}
