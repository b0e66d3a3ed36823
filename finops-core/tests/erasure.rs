#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Erasure that erases: erasing a client or a firm through the vault purges every cache tier a pipeline built
//! with that vault holds (exact, semantic, plans — the shared pool included — and a host's store through its
//! invalidate calls); the shared plan pool never keeps a question as typed; SQLite keeps no deleted key material.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use finops_core::cache::{
    Cache, HostCache, KeyValueStore, PlanCache, Scope, SemanticCache, SemanticOptions, StoreCache,
};
use finops_core::embed::HashingEmbedder;
use finops_core::pipeline::{AnalysisRequest, CacheOutcome, Pipeline};
use finops_core::provider::{Phase, ScriptedProvider, ScriptedReply, TokenUsage};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey, WrappedKey};
use finops_core::security::{Principal, Role};
use finops_core::store::{SqliteStore, Store, Vault};
use finops_core::{Language, Statements};

const PLAN: &str = r#"{"intents":["liquidity"],"metrics":["current_ratio"],"periods":["FY2023"]}"#;
const FINDINGS: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
const REPORT: &str = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023."}"#;
const QUESTION: &str =
    "Mme Julie Tremblay demande : le Bistro Saint-Denis a-t-il assez de liquidités ?";

fn bistro() -> Arc<Statements> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Arc::new(Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn provider(n: usize) -> Arc<ScriptedProvider> {
    let p = ScriptedProvider::new();
    let reply = |t: &str| ScriptedReply::Text {
        pieces: vec![t.to_string()],
        usage: TokenUsage::default(),
    };
    for _ in 0..n {
        p.enqueue(Phase::Analyst, reply(PLAN));
        p.enqueue(Phase::Researcher, reply(FINDINGS));
        p.enqueue(Phase::Validator, reply(REPORT));
    }
    Arc::new(p)
}

fn options() -> SemanticOptions {
    SemanticOptions {
        threshold: 0.3,
        ..SemanticOptions::default()
    }
}

async fn vault(name: &str) -> Arc<Vault> {
    let dir = std::env::temp_dir().join(format!(
        "finops-erase-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("vault.db")).await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    Arc::new(Vault::open(store, keys).await.unwrap())
}

/// The shared pool's scope for the bistro's sector (as the pipeline computes it).
fn shared_scope(pipeline: &Pipeline) -> Scope {
    let tenant = finops_core::cache::semantic::SHARED_TENANT.to_string();
    let key = finops_core::cache::exact_key(
        &tenant,
        "restaurants",
        "",
        Language::Fr,
        pipeline.config_version(),
    );
    Scope { tenant, key }
}

struct Tiers {
    pipeline: Pipeline,
    semantic: Arc<SemanticCache>,
    plans: Arc<PlanCache>,
}

fn tiers(vault: &Arc<Vault>, exact: Arc<dyn Cache>, analyses: usize) -> Tiers {
    let embedder = Arc::new(HashingEmbedder::default());
    let semantic = Arc::new(
        SemanticCache::new(embedder.clone(), options())
            .unwrap()
            .durable(vault.clone()),
    );
    let plans = Arc::new(
        PlanCache::new(embedder, options())
            .unwrap()
            .durable(vault.clone()),
    );
    let pipeline = Pipeline::builder()
        .provider(provider(analyses), "a", "r", "v")
        .cache(exact)
        .semantic_cache(semantic.clone())
        .plan_cache(plans.clone(), true)
        .vault(vault.clone())
        .build();
    Tiers {
        pipeline,
        semantic,
        plans,
    }
}

async fn ask(pipeline: &Pipeline, tenant: &str, client: &str) -> CacheOutcome {
    let cpa = Principal::cpa(tenant).unwrap();
    pipeline
        .analyze(
            AnalysisRequest::new(bistro(), QUESTION)
                .principal(cpa)
                .client(client),
        )
        .await
        .unwrap()
        .cache
}

#[tokio::test]
async fn erasing_a_client_purges_every_tier_and_the_pool_keeps_no_question_as_typed() {
    let vault = vault("client").await;
    let exact: Arc<dyn Cache> =
        Arc::new(StoreCache::new(vault.clone(), Duration::from_secs(3600)).unwrap());
    let t = tiers(&vault, exact, 3);
    assert_eq!(ask(&t.pipeline, "firm", "bistro").await, CacheOutcome::Miss);
    assert_eq!(
        ask(&t.pipeline, "firm", "bistro").await,
        CacheOutcome::Exact
    );
    assert!(!t.semantic.is_empty() && !t.plans.is_empty());

    // The shared pool holds the question pseudonymized and normalized, never as typed.
    let pooled = finops_core::analysis::intent::fold(
        &finops_core::security::Pseudonymizer::new(&bistro().company().name).redact(QUESTION),
    );
    let scope = shared_scope(&t.pipeline);
    let mut hit = None;
    for q in [QUESTION, pooled.as_str()] {
        if let Ok(h) = t.plans.lookup(&scope, q, None).await.unwrap() {
            hit = Some(h);
        }
    }
    let hit = hit.expect("the plan is in the shared pool");
    for secret in ["Tremblay", "Julie", "Bistro", "Saint-Denis", "saint-denis"] {
        assert!(
            !hit.question.contains(secret),
            "`{secret}` is in the shared pool: {}",
            hit.question
        );
    }

    let admin = Principal::new("firm", Role::Admin, None).unwrap();
    vault.erase_client(&admin, "bistro").await.unwrap();
    assert!(
        t.semantic.is_empty(),
        "the semantic tier still holds the client's entries"
    );
    assert!(
        t.plans.is_empty(),
        "the shared plan pool still holds the firm's plans"
    );
    assert_eq!(
        ask(&t.pipeline, "firm", "bistro").await,
        CacheOutcome::Miss,
        "the exact tier served an erased client"
    );
}

/// A host's store that records its invalidations.
#[derive(Debug, Default)]
struct Recording {
    entries: Mutex<Vec<(String, String, String, String)>>,
    invalidated: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl KeyValueStore for Recording {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        Ok(self
            .entries
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.0 == tenant && e.2 == key)
            .map(|e| e.3.clone()))
    }
    async fn put(
        &self,
        tenant: &str,
        client: &str,
        key: &str,
        value: String,
    ) -> finops_core::Result<()> {
        self.entries
            .lock()
            .unwrap()
            .push((tenant.into(), client.into(), key.into(), value));
        Ok(())
    }
    async fn invalidate_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.entries.lock().unwrap().retain(|e| e.0 != tenant);
        self.invalidated
            .lock()
            .unwrap()
            .push(format!("tenant {tenant}"));
        Ok(())
    }
    async fn invalidate_client(&self, tenant: &str, client: &str) -> finops_core::Result<()> {
        self.entries
            .lock()
            .unwrap()
            .retain(|e| !(e.0 == tenant && e.1 == client));
        self.invalidated
            .lock()
            .unwrap()
            .push(format!("client {tenant}/{client}"));
        Ok(())
    }
}

#[tokio::test]
async fn erasing_a_firm_purges_a_hosts_cache_and_the_pool() {
    let vault = vault("tenant").await;
    let host = Arc::new(Recording::default());
    let exact: Arc<dyn Cache> =
        Arc::new(HostCache::new(host.clone(), Duration::from_secs(3600)).unwrap());
    let t = tiers(&vault, exact, 3);
    assert_eq!(
        ask(&t.pipeline, "firm-a", "bistro").await,
        CacheOutcome::Miss
    );
    assert_eq!(
        ask(&t.pipeline, "firm-b", "bistro").await,
        CacheOutcome::Plan,
        "the pool is shared"
    );
    let admin = Principal::new("firm-a", Role::Admin, None).unwrap();
    vault.erase_tenant(&admin).await.unwrap();
    assert_eq!(
        host.invalidated.lock().unwrap().as_slice(),
        ["tenant firm-a"]
    );
    assert!(host.entries.lock().unwrap().iter().all(|e| e.0 != "firm-a"));
    assert!(
        host.entries.lock().unwrap().iter().any(|e| e.0 == "firm-b"),
        "another firm's entries stay"
    );
    assert_eq!(t.semantic.len(), 1, "only firm-b's semantic entry is left");
    assert!(t.plans.is_empty(), "firm-a's plan left the shared pool");
}

#[tokio::test]
async fn sqlite_keeps_no_deleted_key_material_in_its_file() {
    let dir = std::env::temp_dir().join(format!(
        "finops-secure-delete-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let path = dir.join("vault.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let marker: Vec<u8> = (0..48u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    store
        .put_key(&WrappedKey {
            tenant: "firm#client".into(),
            key_id: "firm#client:01".into(),
            master_id: "m1".into(),
            wrapped: marker.clone(),
        })
        .await
        .unwrap();
    // Other rows after it, so the page is not simply dropped.
    for i in 0..20 {
        store
            .put_key(&WrappedKey {
                tenant: format!("other-{i}"),
                key_id: format!("other-{i}:01"),
                master_id: "m1".into(),
                wrapped: vec![7; 48],
            })
            .await
            .unwrap();
    }
    store.delete_keys("firm#client").await.unwrap();
    store.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("vault.db-wal")) {
        bytes.extend(wal);
    }
    assert!(
        !bytes.windows(marker.len()).any(|w| w == marker.as_slice()),
        "the deleted wrapped key is still in the database file"
    );
}
