#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The exact result cache: reuse only for the same tenant, statements, normalized question, language and
//! configuration; a hit costs $0.

use std::sync::Arc;

use finops_core::cache::{Cache, MemoryCache};
use finops_core::pipeline::{AnalysisRequest, CacheOutcome, Event, Language, Pipeline};
use finops_core::provider::{Phase, ScriptedProvider, ScriptedReply, TokenUsage};
use finops_core::{Decimal, Error, Statements};
use futures::StreamExt;

const PLAN: &str = r#"{"intents":["liquidity"],"metrics":["current_ratio","working_capital"],"periods":["FY2023"]}"#;
const FINDINGS: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
const REPORT: &str = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."}"#;

fn text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .unwrap()
}

fn provider(n: usize) -> Arc<ScriptedProvider> {
    let p = ScriptedProvider::new();
    let reply = |t: &str| ScriptedReply::Text {
        pieces: vec![t.to_string()],
        usage: TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: Some(Decimal::new(1, 2)),
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

fn pipeline(p: Arc<ScriptedProvider>, cache: Arc<MemoryCache>, validator_model: &str) -> Pipeline {
    Pipeline::builder()
        .provider(p, "a", "r", validator_model)
        .cache(cache)
        .build()
}

#[tokio::test]
async fn the_same_question_on_the_same_numbers_is_answered_from_the_cache() {
    let cache = Arc::new(MemoryCache::default());
    let p = provider(10);
    let pl = pipeline(p.clone(), cache.clone(), "v");
    let s = Arc::new(Statements::from_json_str(&text()).unwrap());
    let first = pl
        .analyze(
            AnalysisRequest::new(s.clone(), "Is our working capital getting tighter?")
                .tenant("firm-1"),
        )
        .await
        .unwrap();
    assert_eq!(first.cache, CacheOutcome::Miss);
    assert_eq!(first.total_cost_usd, Some(Decimal::new(3, 2)));
    // Case, accents, whitespace and punctuation do not matter; the key order of the document does not either.
    let reordered =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text()).unwrap())
            .unwrap();
    let again = Statements::from_json_str(&reordered).unwrap();
    let mut events = pl.stream(
        AnalysisRequest::new(again, "  is our WORKING capital getting tighter ")
            .tenant("firm-1")
            .client("bistro"),
    );
    let mut kinds = Vec::new();
    let mut hit = None;
    while let Some(e) = events.next().await {
        kinds.push(e.kind());
        if let Event::Completed { analysis } = e {
            hit = Some(analysis);
        }
    }
    assert_eq!(kinds, vec!["queued", "cache_hit", "completed"]);
    let hit = hit.unwrap();
    assert_eq!(hit.cache, CacheOutcome::Exact);
    assert_eq!(hit.report, first.report);
    assert_ne!(hit.id, first.id);
    assert_eq!(hit.client, "bistro");
    assert_eq!(hit.total_cost_usd, Some(Decimal::ZERO));
    assert!(hit.usage.iter().all(|u| u.cached && u.calls == 0));
    assert_eq!(
        p.remaining(Phase::Analyst),
        9,
        "the provider was asked once"
    );
}

#[tokio::test]
async fn another_tenant_other_numbers_another_language_or_configuration_miss() {
    let cache = Arc::new(MemoryCache::default());
    let p = provider(10);
    let pl = pipeline(p.clone(), cache.clone(), "v");
    let s = Arc::new(Statements::from_json_str(&text()).unwrap());
    let q = "Is our working capital getting tighter?";
    pl.analyze(AnalysisRequest::new(s.clone(), q).tenant("firm-1"))
        .await
        .unwrap();
    let other_tenant = pl
        .analyze(AnalysisRequest::new(s.clone(), q).tenant("firm-2"))
        .await
        .unwrap();
    assert_eq!(other_tenant.cache, CacheOutcome::Miss);
    let changed = text()
        .replacen("\"cash\": \"120523.09\"", "\"cash\": \"120523.10\"", 1)
        .replacen(
            "\"total_current_assets\": \"595285.11\"",
            "\"total_current_assets\": \"595285.12\"",
            1,
        )
        .replacen(
            "\"total_assets\": \"2251724.31\"",
            "\"total_assets\": \"2251724.32\"",
            1,
        )
        .replacen(
            "\"total_equity\": \"1393616.07\"",
            "\"total_equity\": \"1393616.08\"",
            1,
        );
    let other_numbers = pl
        .analyze(
            AnalysisRequest::new(Statements::from_json_str(&changed).unwrap(), q).tenant("firm-1"),
        )
        .await
        .unwrap();
    assert_eq!(
        other_numbers.cache,
        CacheOutcome::Miss,
        "a cached answer is never served for other numbers"
    );
    let other_language = pl
        .analyze(
            AnalysisRequest::new(s.clone(), q)
                .tenant("firm-1")
                .language(Language::Fr),
        )
        .await
        .unwrap();
    assert_eq!(other_language.cache, CacheOutcome::Miss);
    let other_config = pipeline(p.clone(), cache.clone(), "another-validator");
    assert_eq!(
        other_config
            .analyze(AnalysisRequest::new(s.clone(), q).tenant("firm-1"))
            .await
            .unwrap()
            .cache,
        CacheOutcome::Miss
    );
    assert_eq!(
        pl.analyze(AnalysisRequest::new(s, q).tenant("firm-1"))
            .await
            .unwrap()
            .cache,
        CacheOutcome::Exact
    );
}

#[tokio::test]
async fn degraded_analyses_are_not_kept_and_invalidation_drops_entries() {
    let cache = Arc::new(MemoryCache::default());
    let failing = Arc::new(
        ScriptedProvider::new().fail(Phase::Analyst, Error::provider("x", "HTTP 503", true)),
    );
    let pl = Pipeline::builder()
        .provider(failing, "a", "r", "v")
        .cache(cache.clone())
        .build();
    let s = Arc::new(Statements::from_json_str(&text()).unwrap());
    let a = pl
        .analyze(AnalysisRequest::new(s.clone(), "liquidity?").tenant("firm-1"))
        .await
        .unwrap();
    assert!(a.degraded);
    assert_eq!(cache.len().await, 0);

    let good = pipeline(provider(10), cache.clone(), "v");
    for (tenant, client) in [
        ("firm-1", "bistro"),
        ("firm-1", "cafe"),
        ("firm-2", "bistro"),
    ] {
        good.analyze(
            AnalysisRequest::new(s.clone(), format!("liquidity for {client}?"))
                .tenant(tenant)
                .client(client),
        )
        .await
        .unwrap();
    }
    assert_eq!(cache.len().await, 3);
    cache.invalidate_client("firm-1", "cafe").await.unwrap();
    assert_eq!(cache.len().await, 2);
    cache.invalidate_tenant("firm-1").await.unwrap();
    assert_eq!(cache.len().await, 1);
}
