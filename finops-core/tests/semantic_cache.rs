#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The semantic and plan tiers: similarity proposes, the guard decides; scopes never leak; entries persist
//! encrypted; TTLs are absolute; cache modes; the shared backends against the real servers.

use std::sync::Arc;
use std::time::Duration;

use finops_core::cache::{
    Cache, MemoryCache, Miss, PlanCache, PlanEntry, RedisCache, Scope, SemanticCache,
    SemanticOptions, StoreCache,
};
use finops_core::embed::{Embedder, HashingEmbedder, cosine};
use finops_core::pipeline::{
    Analysis, AnalysisPlan, AnalysisRequest, CacheMode, CacheOutcome, Intent, Language, Pipeline,
};
use finops_core::provider::{Phase, ScriptedProvider, ScriptedReply, TokenUsage};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{SqliteStore, Store, Vault};
use finops_core::{Decimal, MetricId, Statements};

const PLAN: &str = r#"{"intents":["liquidity"],"metrics":["current_ratio","working_capital"],"periods":["FY2023"]}"#;
const FINDINGS: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
const REPORT: &str = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."}"#;

fn bistro() -> Arc<Statements> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .unwrap();
    Arc::new(Statements::from_json_str(&text).unwrap())
}

fn reply(t: &str, cents: i64) -> ScriptedReply {
    ScriptedReply::Text {
        pieces: vec![t.to_string()],
        usage: TokenUsage {
            input_tokens: 1000,
            output_tokens: 200,
            cost_usd: Some(Decimal::new(cents, 3)),
            ..TokenUsage::default()
        },
    }
}

/// A provider scripted for `n` full analyses: the Analyst costs $0.004, the Researcher $0.002, the Validator
/// $0.006 (a known total of $0.012).
fn provider(n: usize) -> Arc<ScriptedProvider> {
    let p = ScriptedProvider::new();
    for _ in 0..n {
        p.enqueue(Phase::Analyst, reply(PLAN, 4));
        p.enqueue(Phase::Researcher, reply(FINDINGS, 2));
        p.enqueue(Phase::Validator, reply(REPORT, 6));
    }
    Arc::new(p)
}

fn options(threshold: f32) -> SemanticOptions {
    SemanticOptions {
        threshold,
        ..SemanticOptions::default()
    }
}

fn semantic(threshold: f32) -> Arc<SemanticCache> {
    Arc::new(SemanticCache::new(Arc::new(HashingEmbedder::default()), options(threshold)).unwrap())
}

async fn offline_analysis(question: &str) -> Analysis {
    Pipeline::default()
        .analyze(AnalysisRequest::new(bistro(), question))
        .await
        .unwrap()
}

fn pairs(name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cache-pairs.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn scope(tenant: &str, key: &str) -> Scope {
    Scope {
        tenant: tenant.into(),
        key: key.into(),
    }
}

#[tokio::test]
async fn near_misses_are_never_reused_and_paraphrases_are() {
    let near = pairs("near_misses");
    assert!(near.len() >= 40, "{} pairs", near.len());
    let value = offline_analysis("Is our working capital getting tighter?").await;
    let e = HashingEmbedder::default();
    // A low threshold, so that similarity proposes every pair and only the guard decides.
    let cache = semantic(0.30);
    let mut close = 0;
    for (i, (a, b)) in near.iter().enumerate() {
        if cosine(&e.vector(a), &e.vector(b)) >= 0.8 {
            close += 1;
        }
        let s = scope("firm", &format!("near-{i}"));
        cache.insert(&s, a, "c", value.clone()).await.unwrap();
        match cache.lookup(&s, b, None).await.unwrap() {
            Ok(hit) => panic!(
                "`{b}` reused the answer to `{a}` (similarity {})",
                hit.similarity
            ),
            Err(Miss::Guard(_)) => {}
            Err(other) => panic!("`{b}` vs `{a}`: expected the guard to refuse, got {other:?}"),
        }
    }
    // The pairs are the dangerous kind: most are close enough for a plain similarity cache to serve them.
    assert!(
        close * 2 >= near.len(),
        "only {close} of {} pairs are close",
        near.len()
    );

    let cache = semantic(0.70);
    for (i, (a, b)) in pairs("paraphrases").iter().enumerate() {
        let s = scope("firm", &format!("para-{i}"));
        cache.insert(&s, a, "c", value.clone()).await.unwrap();
        let hit = cache.lookup(&s, b, None).await.unwrap();
        assert!(hit.is_ok(), "`{b}` should reuse `{a}`: {hit:?}");
    }
}

/// Two fixed vectors with cosine exactly 0.8.
#[derive(Debug)]
struct Fixed;

#[async_trait::async_trait]
impl Embedder for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn dimensions(&self) -> usize {
        2
    }
    async fn embed(&self, texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                if t.contains("earlier") {
                    vec![1.0, 0.0]
                } else {
                    vec![0.8, 0.6]
                }
            })
            .collect())
    }
}

#[tokio::test]
async fn the_threshold_is_inclusive_just_under_and_refuses_just_over() {
    let value = offline_analysis("How profitable is the company?").await;
    for (threshold, reused) in [(0.79, true), (0.81, false)] {
        let cache = SemanticCache::new(Arc::new(Fixed), options(threshold)).unwrap();
        let s = scope("t", "k");
        cache
            .insert(
                &s,
                "How profitable is the company, earlier ask?",
                "c",
                value.clone(),
            )
            .await
            .unwrap();
        let found = cache
            .lookup(&s, "How profitable is the company, later ask?", None)
            .await
            .unwrap();
        assert_eq!(found.is_ok(), reused, "threshold {threshold}: {found:?}");
        if let Ok(hit) = found {
            assert!((hit.similarity - 0.8).abs() < 1e-4, "{}", hit.similarity);
        } else {
            assert_eq!(found.unwrap_err(), Miss::NoCandidate);
        }
    }
    for bad in [0.0, 1.5, f32::NAN] {
        let e = SemanticCache::new(Arc::new(Fixed), options(bad)).unwrap_err();
        assert_eq!(e.field(), Some("threshold"));
    }
}

fn marker_plan(marker: &str) -> PlanEntry {
    PlanEntry {
        plan: AnalysisPlan {
            intents: vec![Intent::Liquidity],
            metrics: vec![MetricId::CurrentRatio],
            periods: vec![marker.to_string()],
            comparisons: vec![],
            language: Language::En,
            benchmark: false,
        },
        cost_usd: None,
    }
}

mod isolation {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random inserts and lookups across tenants and scope keys (fingerprint × language × configuration):
        /// a lookup only ever returns an entry of its own scope.
        #[test]
        fn no_entry_leaves_its_scope(ops in proptest::collection::vec((0u8..3, 0u8..4, 0u8..3, any::<bool>()), 1..40)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let cache = PlanCache::new(Arc::new(HashingEmbedder::default()), options(0.3)).unwrap();
                let questions = ["What is our current ratio?", "what is the current ratio", "Current ratio please"];
                for (tenant, key, q, insert) in ops {
                    let s = scope(&format!("t{tenant}"), &format!("k{key}"));
                    let marker = format!("{}/{}", s.tenant, s.key);
                    if insert {
                        cache.insert(&s, questions[q as usize], "c", marker_plan(&marker)).await.unwrap();
                    } else if let Ok(hit) = cache.lookup(&s, questions[q as usize], None).await.unwrap() {
                        prop_assert_eq!(&hit.value.plan.periods[0], &marker);
                    }
                }
                Ok(())
            })?;
        }
    }
}

async fn sqlite_vault(path: &std::path::Path, keys: Arc<LocalKeyProvider>) -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.unwrap());
    Arc::new(Vault::open(store, keys).await.unwrap())
}

#[tokio::test]
async fn entries_persist_encrypted_and_come_back_in_a_new_process() {
    let dir = std::env::temp_dir().join(format!("finops-semantic-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("finops.db");
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let value = offline_analysis("Is our working capital getting tighter?").await;
    let question = "Is our working capital at Saint-Denis getting tighter?";
    {
        let vault = sqlite_vault(&path, keys.clone()).await;
        let cache = SemanticCache::new(Arc::new(HashingEmbedder::default()), options(0.7))
            .unwrap()
            .durable(vault);
        cache
            .insert(&scope("firm", "k"), question, "bistro", value.clone())
            .await
            .unwrap();
    }
    let raw = std::fs::read(&path).unwrap();
    let needle = b"getting tighter";
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle),
        "the question is in the file in clear"
    );
    // A new vault and tier on the same file: the index is rebuilt from the stored entries.
    let vault = sqlite_vault(&path, keys.clone()).await;
    let cache = SemanticCache::new(Arc::new(HashingEmbedder::default()), options(0.7))
        .unwrap()
        .durable(vault.clone());
    let hit = cache
        .lookup(
            &scope("firm", "k"),
            "Is the working capital at Saint-Denis getting tighter?",
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hit.value.report, value.report);
    assert_eq!(hit.question, question);
    // Another scope of the same tenant, and another tenant, see nothing.
    assert!(
        cache
            .lookup(&scope("firm", "other"), question, None)
            .await
            .unwrap()
            .is_err()
    );
    assert!(
        cache
            .lookup(&scope("firm-2", "k"), question, None)
            .await
            .unwrap()
            .is_err()
    );
    // Invalidating the client removes it from memory and from the file.
    assert_eq!(cache.invalidate_client("firm", "bistro").await.unwrap(), 1);
    let again = SemanticCache::new(Arc::new(HashingEmbedder::default()), options(0.7))
        .unwrap()
        .durable(vault);
    assert!(
        again
            .lookup(&scope("firm", "k"), question, None)
            .await
            .unwrap()
            .is_err()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_readers_see_their_entries() {
    let cache = semantic(0.7);
    let value = Arc::new(offline_analysis("How profitable is the company?").await);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (cache, value) = (cache.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let s = scope(&format!("t{t}"), &format!("k{}", i % 5));
                let q = format!("How did revenue do in {}?", 2000 + i);
                cache
                    .insert(&s, &q, "c", value.as_ref().clone())
                    .await
                    .unwrap();
                let hit = cache.lookup(&s, &q, None).await.unwrap();
                assert!(hit.is_ok(), "{q}: {hit:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(cache.len(), 200);
    assert_eq!(cache.invalidate_tenant("t3").await.unwrap(), 25);
    assert_eq!(cache.len(), 175);
}

#[tokio::test]
async fn ttls_are_absolute_and_max_age_narrows_them() {
    let cache = SemanticCache::new(
        Arc::new(HashingEmbedder::default()),
        SemanticOptions {
            threshold: 0.7,
            ttl: Duration::from_millis(300),
            ..SemanticOptions::default()
        },
    )
    .unwrap();
    let value = offline_analysis("How profitable is the company?").await;
    let s = scope("t", "k");
    cache
        .insert(&s, "How profitable is the company?", "c", value)
        .await
        .unwrap();
    // Hits in the meantime do not extend the entry's life.
    for _ in 0..3 {
        assert!(
            cache
                .lookup(&s, "How profitable is our company?", None)
                .await
                .unwrap()
                .is_ok()
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(
        cache
            .lookup(
                &s,
                "How profitable is our company?",
                Some(Duration::from_millis(10))
            )
            .await
            .unwrap()
            .unwrap_err(),
        Miss::Expired
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        cache
            .lookup(&s, "How profitable is our company?", None)
            .await
            .unwrap()
            .unwrap_err(),
        Miss::Expired
    );
}

fn full_pipeline(
    p: Arc<ScriptedProvider>,
    exact: Option<Arc<dyn Cache>>,
    sem: Option<Arc<SemanticCache>>,
    plans: Option<Arc<PlanCache>>,
) -> Pipeline {
    let mut b = Pipeline::builder().provider(p, "a", "r", "v");
    if let Some(c) = exact {
        b = b.cache(c);
    }
    if let Some(s) = sem {
        b = b.semantic_cache(s);
    }
    if let Some(pc) = plans {
        b = b.plan_cache(pc, false);
    }
    b.build()
}

#[tokio::test]
async fn the_pipeline_reuses_a_paraphrase_reports_the_saving_and_refuses_a_near_miss() {
    let p = provider(3);
    let pl = full_pipeline(
        p.clone(),
        Some(Arc::new(MemoryCache::default())),
        Some(semantic(0.7)),
        None,
    );
    let s = bistro();
    let first = pl
        .analyze(
            AnalysisRequest::new(s.clone(), "Is our working capital getting tighter?")
                .tenant("firm"),
        )
        .await
        .unwrap();
    assert_eq!(first.cache, CacheOutcome::Miss);
    assert_eq!(first.total_cost_usd, Some(Decimal::new(12, 3)));
    let para = pl
        .analyze(
            AnalysisRequest::new(s.clone(), "Is the working capital getting tighter?")
                .tenant("firm"),
        )
        .await
        .unwrap();
    assert_eq!(para.cache, CacheOutcome::Semantic);
    assert_eq!(para.total_cost_usd, Some(Decimal::ZERO));
    assert_eq!(para.saved_usd, Some(Decimal::new(12, 3)));
    assert!(para.cache_similarity.unwrap() >= Decimal::new(7, 1));
    assert!(para.usage.iter().all(|u| u.cached && u.input_tokens == 0));
    assert_eq!(para.report, first.report);
    assert_eq!(p.requests().len(), 3, "no provider call for the paraphrase");
    // The opposite question runs: the guard refuses the close candidate.
    let opposite = pl
        .analyze(
            AnalysisRequest::new(s.clone(), "Is our working capital not getting tighter?")
                .tenant("firm"),
        )
        .await
        .unwrap();
    assert_eq!(opposite.cache, CacheOutcome::Miss);
    assert_eq!(p.requests().len(), 6);
    // Another tenant never sees the first tenant's answers.
    let other = pl
        .analyze(
            AnalysisRequest::new(s, "Is our working capital getting tighter?").tenant("firm-2"),
        )
        .await
        .unwrap();
    assert_eq!(other.cache, CacheOutcome::Miss);
}

#[tokio::test]
async fn cache_modes_and_max_age() {
    let p = provider(4);
    let exact: Arc<dyn Cache> = Arc::new(MemoryCache::default());
    let pl = full_pipeline(p.clone(), Some(exact), Some(semantic(0.7)), None);
    let s = bistro();
    let q = "Is our working capital getting tighter?";
    let ask = |mode: CacheMode| {
        AnalysisRequest::new(s.clone(), q)
            .tenant("firm")
            .cache_mode(mode)
    };
    // Read-only on an empty cache: a run that is not kept.
    assert_eq!(
        pl.analyze(ask(CacheMode::ReadOnly)).await.unwrap().cache,
        CacheOutcome::Miss
    );
    // Off: neither read nor written.
    assert_eq!(
        pl.analyze(ask(CacheMode::Off)).await.unwrap().cache,
        CacheOutcome::Miss
    );
    // Write-only: a fresh run, kept.
    assert_eq!(
        pl.analyze(ask(CacheMode::WriteOnly)).await.unwrap().cache,
        CacheOutcome::Miss
    );
    assert_eq!(p.requests().len(), 9);
    assert_eq!(
        pl.analyze(ask(CacheMode::ReadOnly)).await.unwrap().cache,
        CacheOutcome::Exact
    );
    assert_eq!(
        pl.analyze(ask(CacheMode::On)).await.unwrap().cache,
        CacheOutcome::Exact
    );
    assert_eq!(p.requests().len(), 9);
    // An entry older than the request's maximum age is not reused.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let fresh = pl
        .analyze(ask(CacheMode::On).max_cache_age(Duration::from_millis(5)))
        .await
        .unwrap();
    assert_eq!(fresh.cache, CacheOutcome::Miss);
    assert_eq!(p.requests().len(), 12);
    assert_eq!(
        CacheMode::parse("cache_mode", "sometimes")
            .unwrap_err()
            .field(),
        Some("cache_mode")
    );
    assert_eq!(
        CacheMode::parse("cache_mode", "read-only").unwrap(),
        CacheMode::ReadOnly
    );
}

#[tokio::test]
async fn a_plan_hit_skips_the_analyst_for_another_client_of_the_sector() {
    let p = ScriptedProvider::new();
    p.enqueue(Phase::Analyst, reply(PLAN, 4));
    for _ in 0..2 {
        p.enqueue(Phase::Researcher, reply(FINDINGS, 2));
        p.enqueue(Phase::Validator, reply(REPORT, 6));
    }
    let p = Arc::new(p);
    let plans =
        Arc::new(PlanCache::new(Arc::new(HashingEmbedder::default()), options(0.7)).unwrap());
    let pl = full_pipeline(p.clone(), None, None, Some(plans));
    let s = bistro();
    let first = pl
        .analyze(
            AnalysisRequest::new(s.clone(), "Is our working capital getting tighter?")
                .tenant("firm")
                .client("bistro"),
        )
        .await
        .unwrap();
    assert_eq!(first.cache, CacheOutcome::Miss);
    // Another client of the same sector (other numbers: another fingerprint) asks a paraphrase.
    let mut doc: serde_json::Value = serde_json::from_str(&s.canonical_json()).unwrap();
    doc["company"]["name"] = "Café Lévis".into();
    let other = Arc::new(Statements::from_json_str(&doc.to_string()).unwrap());
    assert_ne!(other.fingerprint(), s.fingerprint());
    let second = pl
        .analyze(
            AnalysisRequest::new(other, "Is the working capital getting tighter?")
                .tenant("firm")
                .client("cafe"),
        )
        .await
        .unwrap();
    assert_eq!(second.cache, CacheOutcome::Plan);
    assert_eq!(second.saved_usd, Some(Decimal::new(4, 3)));
    assert_eq!(second.total_cost_usd, Some(Decimal::new(8, 3)));
    assert_eq!(second.plan.metrics, first.plan.metrics);
    let analyst = &second.usage[0];
    assert!(analyst.cached && analyst.calls == 0);
    assert_eq!(
        p.requests()
            .iter()
            .filter(|c| c.phase == Phase::Analyst)
            .count(),
        1
    );
    // Another tenant does not share plans unless asked to.
    let third = pl
        .analyze(
            AnalysisRequest::new(s, "Is the working capital getting tighter?").tenant("firm-2"),
        )
        .await
        .unwrap();
    assert_eq!(third.cache, CacheOutcome::Miss);
    assert_eq!(
        p.requests()
            .iter()
            .filter(|c| c.phase == Phase::Analyst)
            .count(),
        2
    );
}

#[tokio::test]
async fn the_store_tier_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("finops-exact-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("finops.db");
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let q = "Is our working capital getting tighter?";
    {
        let cache = Arc::new(
            StoreCache::new(
                sqlite_vault(&path, keys.clone()).await,
                Duration::from_secs(60),
            )
            .unwrap(),
        );
        let pl = full_pipeline(provider(1), Some(cache), None, None);
        assert_eq!(
            pl.analyze(AnalysisRequest::new(bistro(), q).tenant("firm"))
                .await
                .unwrap()
                .cache,
            CacheOutcome::Miss
        );
    }
    let cache: Arc<dyn Cache> = Arc::new(
        StoreCache::new(sqlite_vault(&path, keys).await, Duration::from_secs(60)).unwrap(),
    );
    let p = provider(1);
    let pl = full_pipeline(p.clone(), Some(cache.clone()), None, None);
    let hit = pl
        .analyze(AnalysisRequest::new(bistro(), q).tenant("firm"))
        .await
        .unwrap();
    assert_eq!(hit.cache, CacheOutcome::Exact);
    assert_eq!(hit.saved_usd, Some(Decimal::new(12, 3)));
    assert!(p.requests().is_empty());
    pl.invalidate_client("firm", &hit.client).await.unwrap();
    assert_eq!(
        pl.analyze(AnalysisRequest::new(bistro(), q).tenant("firm"))
            .await
            .unwrap()
            .cache,
        CacheOutcome::Miss
    );
    assert!(
        StoreCache::new(
            Arc::new(
                Vault::open(
                    Arc::new(SqliteStore::in_memory().await.unwrap()),
                    Arc::new(LocalKeyProvider::new("m", SecretKey::generate().unwrap()))
                )
                .await
                .unwrap()
            ),
            Duration::ZERO
        )
        .is_err()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn redis_exact_tier_against_the_real_server() {
    let Ok(url) = std::env::var("FINOPS_TEST_REDIS_URL") else {
        eprintln!("FINOPS_TEST_REDIS_URL is not set: scripts/test starts Redis and sets it");
        return;
    };
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(
        Vault::open(Arc::new(SqliteStore::in_memory().await.unwrap()), keys)
            .await
            .unwrap(),
    );
    let prefix = format!("finops-test-{}", uuid::Uuid::new_v4());
    let redis = RedisCache::connect(&url, vault.clone(), Duration::from_secs(2))
        .await
        .unwrap()
        .with_prefix(&prefix);
    let mut a = offline_analysis("Is our working capital getting tighter?").await;
    a.tenant = "firm".into();
    a.client = "bistro".into();
    let a = Arc::new(a);
    redis.put("k1", a.clone()).await.unwrap();
    let got = redis.get("firm", "k1").await.unwrap().unwrap();
    assert_eq!(got.analysis.report, a.report);
    // Another tenant asking for the same key gets nothing.
    assert!(redis.get("firm-2", "k1").await.unwrap().is_none());
    // What Redis holds is ciphertext.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(format!("{prefix}:exact:k1"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!raw.windows(7).any(|w| w == b"tighter"));
    // Invalidation per client and per tenant.
    redis
        .invalidate_client("firm", "someone-else")
        .await
        .unwrap();
    assert!(redis.get("firm", "k1").await.unwrap().is_some());
    redis.invalidate_client("firm", "bistro").await.unwrap();
    assert!(redis.get("firm", "k1").await.unwrap().is_none());
    redis.put("k2", a.clone()).await.unwrap();
    redis.invalidate_tenant("firm").await.unwrap();
    assert!(redis.get("firm", "k2").await.unwrap().is_none());
    // Absolute expiry: reads do not extend it.
    redis.put("k3", a.clone()).await.unwrap();
    for _ in 0..3 {
        assert!(redis.get("firm", "k3").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(redis.get("firm", "k3").await.unwrap().is_none());
    // Two processes (two connections, two vaults over one key store would be the deployment): here a second
    // connection reads what the first wrote.
    let second = RedisCache::connect(&url, vault, Duration::from_secs(2))
        .await
        .unwrap()
        .with_prefix(&prefix);
    redis.put("k4", a.clone()).await.unwrap();
    assert!(second.get("firm", "k4").await.unwrap().is_some());
    assert_eq!(
        RedisCache::connect(
            "http://nope",
            Arc::new(
                Vault::open(
                    Arc::new(SqliteStore::in_memory().await.unwrap()),
                    Arc::new(LocalKeyProvider::new("m", SecretKey::generate().unwrap()))
                )
                .await
                .unwrap()
            ),
            Duration::from_secs(1)
        )
        .await
        .unwrap_err()
        .field(),
        Some("cache.redis_url")
    );
}

/// One "process": its own PostgreSQL store connection, vault, announcement channel and usearch index.
async fn pg_process(
    url: &str,
    keys: Arc<LocalKeyProvider>,
) -> (Arc<SemanticCache>, finops_core::cache::sync::FollowHandle) {
    let store: Arc<dyn Store> = Arc::new(
        finops_core::store::PostgresStore::connect(url)
            .await
            .unwrap(),
    );
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    let sync = finops_core::cache::sync::CacheSync::connect(url)
        .await
        .unwrap();
    let cache = Arc::new(
        SemanticCache::new(Arc::new(HashingEmbedder::default()), options(0.7))
            .unwrap()
            .durable(vault)
            .synced(sync.clone()),
    );
    let follower: Arc<dyn finops_core::cache::sync::Follower> = cache.clone();
    let handle = sync.follow(vec![follower]).await.unwrap();
    (cache, handle)
}

async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_postgresql_see_each_others_entries_and_invalidations() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    // The master key is the deployment's (a KMS in production); the data keys live in the shared store.
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let tenant = format!("firm-{}", uuid::Uuid::new_v4());
    let s = scope(&tenant, "k");
    let value = offline_analysis("Is our working capital getting tighter?").await;
    let (a, _ha) = pg_process(&url, keys.clone()).await;
    let (b, _hb) = pg_process(&url, keys.clone()).await;
    // B meets the tenant before A writes (an empty load), so A's entry can only reach B by notification.
    assert!(
        b.lookup(&s, "Is the working capital getting tighter?", None)
            .await
            .unwrap()
            .is_err()
    );
    a.insert(
        &s,
        "Is our working capital getting tighter?",
        "bistro",
        value.clone(),
    )
    .await
    .unwrap();
    assert!(
        eventually(async || b
            .lookup(&s, "Is the working capital getting tighter?", None)
            .await
            .unwrap()
            .is_ok())
        .await,
        "B never saw A's entry"
    );
    // A third process starting later reads it from the store.
    let (c, _hc) = pg_process(&url, keys.clone()).await;
    assert!(
        c.lookup(&s, "Is the working capital getting tighter?", None)
            .await
            .unwrap()
            .is_ok()
    );
    // B invalidates the client: A drops it too.
    b.invalidate_client(&tenant, "bistro").await.unwrap();
    assert!(
        eventually(async || a
            .lookup(&s, "Is the working capital getting tighter?", None)
            .await
            .unwrap()
            .is_err())
        .await,
        "A kept an invalidated entry"
    );
    a.insert(
        &s,
        "Is our working capital getting tighter?",
        "bistro",
        value,
    )
    .await
    .unwrap();
    assert!(eventually(async || c.len() == 1).await);
    c.invalidate_tenant(&tenant).await.unwrap();
    assert!(eventually(async || a.is_empty() && b.is_empty()).await);
}

#[tokio::test]
async fn the_openai_embeddings_client_against_a_loopback_server() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use finops_core::embed::OpenAiEmbedder;
    use finops_core::provider::ApiKey;

    async fn embeddings(headers: HeaderMap, body: String) -> (StatusCode, String) {
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some("Bearer sk-test-0123456789")
        {
            return (
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": {"message": "bad key"}}).to_string(),
            );
        }
        let inputs = body["input"].as_array().unwrap().clone();
        let dims = if body["model"] == "short" { 2 } else { 3 };
        // Out of order on purpose: `index` says which input each vector is for.
        let data: Vec<serde_json::Value> = inputs
            .iter()
            .enumerate()
            .rev()
            .map(|(i, t)| {
                let len = t.as_str().unwrap().len() as f64;
                let v: Vec<f64> = (0..dims).map(|d| len + d as f64).collect();
                serde_json::json!({"index": i, "embedding": v})
            })
            .collect();
        (
            StatusCode::OK,
            serde_json::json!({"data": data, "model": body["model"]}).to_string(),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/v1/embeddings", post(embeddings)),
        )
        .await
        .ok()
    });
    let base = format!("http://{addr}/v1");
    let key = ApiKey::new("sk-test-0123456789").unwrap();
    let e = OpenAiEmbedder::new(&base, Some(key.clone()), "m", 3).unwrap();
    let v = e.embed(vec!["a".into(), "abcd".into()]).await.unwrap();
    assert_eq!(v, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
    // A wrong key is a typed provider error that does not echo the key.
    let wrong = OpenAiEmbedder::new(
        &base,
        Some(ApiKey::new("sk-wrong-0123456789").unwrap()),
        "m",
        3,
    )
    .unwrap();
    let err = wrong.embed(vec!["a".into()]).await.unwrap_err();
    assert_eq!(err.code(), "provider");
    assert!(!err.to_string().contains("sk-wrong"), "{err}");
    // Vectors of another length than declared are refused.
    let short = OpenAiEmbedder::new(&base, Some(key), "short", 3).unwrap();
    assert!(
        short
            .embed(vec!["a".into()])
            .await
            .unwrap_err()
            .to_string()
            .contains("dimensions")
    );
    assert_eq!(
        OpenAiEmbedder::new(&base, None, " ", 3)
            .unwrap_err()
            .field(),
        Some("model")
    );
    assert_eq!(
        OpenAiEmbedder::new(&base, None, "m", 0)
            .unwrap_err()
            .field(),
        Some("dimensions")
    );
    // It plugs into the semantic tier like any embedder.
    let tier = SemanticCache::new(Arc::new(e), options(0.9)).unwrap();
    assert!(tier.is_empty());
}

/// Every pair of questions of the benchmark's set (30 intents, FR and EN) in the same language (the language is
/// part of every scope) with different intents: the guard never lets one answer the other, whatever the
/// similarity threshold.
#[test]
fn the_guard_separates_every_pair_of_different_intents_in_the_benchmark_set() {
    use finops_core::cache::Signature;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/data/questions.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut questions: Vec<(String, String, &str)> = Vec::new();
    for intent in v["intents"].as_array().unwrap() {
        let id = intent["id"].as_str().unwrap();
        for lang in ["en", "fr"] {
            for q in intent[lang].as_array().unwrap() {
                questions.push((id.to_string(), q.as_str().unwrap().to_string(), lang));
            }
        }
    }
    assert!(questions.len() >= 180);
    let signatures: Vec<Signature> = questions.iter().map(|(_, q, _)| Signature::of(q)).collect();
    let mut leaks = Vec::new();
    for i in 0..questions.len() {
        for j in 0..questions.len() {
            if questions[i].0 != questions[j].0
                && questions[i].2 == questions[j].2
                && signatures[i].allows(&signatures[j])
            {
                leaks.push(format!("`{}` ~ `{}`", questions[i].1, questions[j].1));
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks: {:#?}", leaks.len(), leaks);
}
