#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A host's own provider, embedder and cache store (written in Python, JS, Kotlin…) that hang get the same
//! time limits as the built-in ones: the call fails in time and the analysis goes on (degraded, or without the
//! cache), instead of waiting forever.

use std::sync::Arc;
use std::time::Duration;

use finops_core::cache::KeyValueStore;
use finops_core::embed::Embedder;
use finops_core::pipeline::AnalysisRequest;
use finops_core::provider::{ChatRequest, ChatStream, Provider};
use finops_core::{Finops, FinopsConfig, Statements};

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(Debug)]
struct Hung;

#[async_trait::async_trait]
impl Provider for Hung {
    fn name(&self) -> &str {
        "hung"
    }
    async fn chat(&self, _request: ChatRequest) -> finops_core::Result<ChatStream> {
        std::future::pending().await
    }
}

#[async_trait::async_trait]
impl Embedder for Hung {
    fn name(&self) -> &str {
        "hung"
    }
    fn dimensions(&self) -> usize {
        8
    }
    async fn embed(&self, _texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        std::future::pending().await
    }
}

#[async_trait::async_trait]
impl KeyValueStore for Hung {
    async fn get(&self, _t: &str, _k: &str) -> finops_core::Result<Option<String>> {
        std::future::pending().await
    }
    async fn put(&self, _t: &str, _c: &str, _k: &str, _v: String) -> finops_core::Result<()> {
        std::future::pending().await
    }
    async fn invalidate_tenant(&self, _t: &str) -> finops_core::Result<()> {
        std::future::pending().await
    }
    async fn invalidate_client(&self, _t: &str, _c: &str) -> finops_core::Result<()> {
        std::future::pending().await
    }
}

fn config() -> FinopsConfig {
    FinopsConfig::from_json(
        r#"{"host": {"first_chunk_timeout_seconds": 0.2, "total_timeout_seconds": 0.5, "max_retries": 0,
                     "call_timeout_seconds": 0.2},
            "cache": {}}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn a_hung_host_provider_embedder_and_cache_fail_in_time_and_the_analysis_goes_on() {
    let fo = Finops::builder()
        .config(config())
        .provider(Arc::new(Hung))
        .embedder(Arc::new(Hung))
        .host_cache(Arc::new(Hung))
        .build()
        .await
        .unwrap();
    // A guard against a hang, far above the configured limits (not a timing assertion).
    let a = tokio::time::timeout(
        Duration::from_secs(30),
        fo.analyze(AnalysisRequest::new(bistro(), "Analyse la rentabilité")),
    )
    .await
    .expect("the analysis waited on a hung host object")
    .unwrap();
    assert!(
        a.degraded,
        "the offline analyst took over from the hung provider"
    );
    let e = tokio::time::timeout(Duration::from_secs(30), fo.embed(vec!["x".into()]))
        .await
        .expect("embed waited on a hung embedder")
        .unwrap_err();
    assert_eq!(e.code(), "backend", "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
}

#[tokio::test]
async fn host_time_limits_are_checked_and_named() {
    for (json, field) in [
        (
            r#"{"host": {"call_timeout_seconds": -1}}"#,
            "host.call_timeout_seconds",
        ),
        (
            r#"{"host": {"total_timeout_seconds": 1e300}}"#,
            "host.total_timeout_seconds",
        ),
        (r#"{"host": {"max_retries": 11}}"#, "host.max_retries"),
        (r#"{"host": {"nonsense": 1}}"#, "host.nonsense"),
    ] {
        let e = match FinopsConfig::from_json(json) {
            Err(e) => e,
            Ok(c) => Finops::builder().config(c).build().await.unwrap_err(),
        };
        assert_eq!(e.field(), Some(field), "{json}: {e}");
    }
}

#[tokio::test]
async fn postgresql_connections_bound_every_statement() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    // Every connection of the store (and of the queue and the cache sync, through the same options) runs with it.
    let store = finops_core::store::PostgresStore::connect(&url)
        .await
        .unwrap();
    let timeout = store.statement_timeout().await.unwrap();
    assert_eq!(timeout, "30s");
}
