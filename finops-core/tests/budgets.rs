#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Budgets that hold across processes: with a vault, the ledger is its store, so two SDK instances (as two
//! processes would, each with its own memory) sharing one SQLite file or PostgreSQL database cannot spend the
//! budget twice, and a restart starts from what was spent; an implausible reported cost counts at the full
//! reservation; a reservation whose process died counts in full when it expires.

use std::sync::Arc;

use finops_core::pipeline::AnalysisRequest;
use finops_core::provider::{Phase, ScriptedProvider, ScriptedReply, TokenUsage};
use finops_core::security::crypto::{KeyProvider, LocalKeyProvider, SecretKey};
use finops_core::security::limits::BudgetLedger;
use finops_core::store::{PostgresStore, SqliteStore, Store, StoreLedger, Vault};
use finops_core::{Decimal, Error, Finops, FinopsConfig, Statements};

const PLAN: &str = r#"{"intents":["liquidity"],"metrics":["current_ratio"],"periods":["FY2023"]}"#;
const FINDINGS: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
const REPORT: &str = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023."}"#;

fn bistro() -> Arc<Statements> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Arc::new(Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// `n` analyses whose calls each report `cost` USD (the house models have no price: $0.02 is reserved per phase).
fn provider(n: usize, cost: Decimal) -> Arc<ScriptedProvider> {
    let p = ScriptedProvider::new();
    let reply = |t: &str| ScriptedReply::Text {
        pieces: vec![t.to_string()],
        usage: TokenUsage {
            input_tokens: 100,
            output_tokens: 10,
            cost_usd: Some(cost),
            ..TokenUsage::default()
        },
    };
    for _ in 0..n {
        p.enqueue(Phase::Analyst, reply(PLAN));
        p.enqueue(Phase::Researcher, reply(FINDINGS));
        p.enqueue(Phase::Validator, reply(REPORT));
    }
    Arc::new(p)
}

async fn stores(name: &str) -> Vec<(String, Arc<dyn Store>)> {
    let dir = std::env::temp_dir().join(format!(
        "finops-budget-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut out: Vec<(String, Arc<dyn Store>)> = vec![(
        "sqlite".into(),
        Arc::new(SqliteStore::open(&dir.join("vault.db")).await.unwrap()),
    )];
    if let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") {
        out.push((
            "postgres".into(),
            Arc::new(PostgresStore::connect(&url).await.unwrap()),
        ));
    }
    out
}

async fn instance(
    store: &Arc<dyn Store>,
    keys: &Arc<dyn KeyProvider>,
    tenant: &str,
    cost: Decimal,
) -> Finops {
    let vault = Arc::new(Vault::open(store.clone(), keys.clone()).await.unwrap());
    let config = FinopsConfig::from_json(&format!(
        r#"{{"budgets": {{"{tenant}": "0.30"}}, "fallback_estimate_usd": "0.02",
             "models": {{"analyst": "house-a", "researcher": "house-r", "validator": "house-v"}}}}"#
    ))
    .unwrap();
    Finops::builder()
        .config(config)
        .provider(provider(40, cost))
        .vault(vault)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_on_one_store_never_pass_the_budget_and_a_restart_remembers() {
    for (backend, store) in stores("shared").await {
        let keys: Arc<dyn KeyProvider> =
            Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
        let tenant = format!("firm-{}", uuid::Uuid::new_v4().simple());
        let cost = Decimal::new(1, 2); // $0.01 a call, $0.03 an analysis; $0.06 reserved.
        let (a, b) = (
            instance(&store, &keys, &tenant, cost).await,
            instance(&store, &keys, &tenant, cost).await,
        );
        let runs: Vec<_> = (0..30)
            .map(|i| {
                let fo = if i % 2 == 0 { a.clone() } else { b.clone() };
                let tenant = tenant.clone();
                tokio::spawn(async move {
                    fo.analyze(
                        AnalysisRequest::new(bistro(), format!("Liquidité {i} ?")).tenant(tenant),
                    )
                    .await
                })
            })
            .collect();
        let (mut done, mut refused) = (0, 0);
        for r in runs {
            match r.await.unwrap() {
                Ok(analysis) => {
                    assert_eq!(
                        analysis.total_cost_usd,
                        Some(Decimal::new(3, 2)),
                        "{backend}"
                    );
                    done += 1;
                }
                Err(Error::BudgetExceeded { .. }) => refused += 1,
                Err(e) => panic!("{backend}: {e}"),
            }
        }
        assert_eq!(done + refused, 30);
        // At most $0.30 / $0.03 = 10 analyses between both instances (fewer while reservations hold $0.06 each).
        assert!(
            (1..=10).contains(&done),
            "{backend}: {done} analyses ran on a $0.30 budget"
        );
        let ledger = StoreLedger(store.clone());
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let spent = ledger.spent(&tenant, &month).await.unwrap();
        assert_eq!(spent, Decimal::new(3, 2) * Decimal::from(done), "{backend}");
        assert!(spent <= Decimal::new(30, 2));
        // A restart (a new instance) starts from what was spent, not from zero.
        let c = instance(&store, &keys, &tenant, cost).await;
        let mut more = 0;
        for i in 0..20 {
            if c.analyze(
                AnalysisRequest::new(bistro(), format!("Dette {i} ?")).tenant(tenant.as_str()),
            )
            .await
            .is_ok()
            {
                more += 1;
            }
        }
        assert!(
            done + more <= 10,
            "{backend}: {done} + {more} analyses on a $0.30 budget"
        );
    }
}

#[tokio::test]
async fn an_implausible_reported_cost_counts_at_the_full_reservation() {
    for cost in [Decimal::new(-5, 0), Decimal::new(1_000_000, 0)] {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
        let keys: Arc<dyn KeyProvider> =
            Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
        let fo = instance(&store, &keys, "firm", cost).await;
        let a = fo
            .analyze(AnalysisRequest::new(bistro(), "Liquidité ?").tenant("firm"))
            .await
            .unwrap();
        assert_eq!(a.total_cost_usd, None, "{cost} was believed");
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let spent = StoreLedger(store.clone())
            .spent("firm", &month)
            .await
            .unwrap();
        assert_eq!(
            spent,
            Decimal::new(6, 2),
            "counted at the reservation, never as a credit"
        );
    }
}

#[tokio::test]
async fn a_reservation_whose_process_died_counts_in_full_when_it_expires() {
    for (backend, store) in stores("expiry").await {
        let ledger = StoreLedger(store);
        let tenant = format!("firm-{}", uuid::Uuid::new_v4().simple());
        let (limit, amount) = (Decimal::ONE, Decimal::new(6, 1));
        // Reserved by a process that then died: never settled, already past its lifetime.
        let id = ledger
            .reserve(&tenant, "2026-11", amount, limit, std::time::Duration::ZERO)
            .await
            .unwrap();
        assert!(id.is_ok(), "{backend}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let refused = ledger
            .reserve(
                &tenant,
                "2026-11",
                Decimal::new(5, 1),
                limit,
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(
            refused,
            Err(amount),
            "{backend}: the expired reservation counts as spent"
        );
        assert_eq!(ledger.spent(&tenant, "2026-11").await.unwrap(), amount);
        // Settled late, it is corrected to its real cost.
        ledger
            .settle(&tenant, "2026-11", &id.unwrap(), amount, Decimal::new(1, 1))
            .await
            .unwrap();
        assert_eq!(
            ledger.spent(&tenant, "2026-11").await.unwrap(),
            Decimal::new(1, 1),
            "{backend}"
        );
    }
}

/// The child side of [`two_os_processes_share_one_budget`]: runs only when the parent sets
/// `FINOPS_BUDGET_CHILD` (`store|tenant|master key hex`), then prints how many analyses the budget let through.
#[tokio::test]
async fn budget_child() {
    let Ok(spec) = std::env::var("FINOPS_BUDGET_CHILD") else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (location, tenant, key) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    let store: Arc<dyn Store> = if location.starts_with("postgres") {
        Arc::new(PostgresStore::connect(&location).await.unwrap())
    } else {
        Arc::new(
            SqliteStore::open(std::path::Path::new(&location))
                .await
                .unwrap(),
        )
    };
    let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyProvider::new(
        "m1",
        SecretKey::from_hex("key", &key).unwrap(),
    ));
    let fo = instance(&store, &keys, &tenant, Decimal::new(1, 2)).await;
    let mut done = 0;
    for i in 0..15 {
        match fo
            .analyze(
                AnalysisRequest::new(bistro(), format!("Liquidité {i} ?")).tenant(tenant.as_str()),
            )
            .await
        {
            Ok(_) => done += 1,
            Err(Error::BudgetExceeded { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    println!("DONE {done}");
}

/// Two real OS processes (this test binary run twice as a child) spend against one budget in one store at the
/// same time: together they never pass it.
#[tokio::test]
async fn two_os_processes_share_one_budget() {
    let dir = std::env::temp_dir().join(format!(
        "finops-budget-procs-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut locations = vec![dir.join("vault.db").display().to_string()];
    if let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") {
        locations.push(url);
    }
    let key = SecretKey::generate().unwrap().to_hex().to_string();
    for location in locations {
        // The store's tables exist before the children race to create them.
        let store: Arc<dyn Store> = if location.starts_with("postgres") {
            Arc::new(PostgresStore::connect(&location).await.unwrap())
        } else {
            Arc::new(
                SqliteStore::open(std::path::Path::new(&location))
                    .await
                    .unwrap(),
            )
        };
        let tenant = format!("firm-{}", uuid::Uuid::new_v4().simple());
        let children: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "budget_child", "--nocapture", "--test-threads=1"])
                    .env("FINOPS_BUDGET_CHILD", format!("{location}|{tenant}|{key}"))
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut done = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a child failed");
            let text = String::from_utf8_lossy(&out.stdout);
            let n: u32 = text
                .lines()
                .find_map(|l| l.split("DONE ").nth(1))
                .unwrap_or_else(|| panic!("no count in {text}"))
                .trim()
                .parse()
                .unwrap();
            done += n;
        }
        assert!(
            (1..=10).contains(&done),
            "{location}: two processes ran {done} analyses on a $0.30 budget"
        );
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let spent = StoreLedger(store).spent(&tenant, &month).await.unwrap();
        assert_eq!(spent, Decimal::new(3, 2) * Decimal::from(done));
    }
}
