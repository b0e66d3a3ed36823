#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The facade: `Finops` built from one configuration (data) and the host's objects. Two firms with their own keys
//! and headers in one process reach a real HTTP server each with its own; every bad value is named by its path;
//! no configuration, however hostile, panics.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use finops_core::finops::{Finops, FinopsConfig, RequestOptions};
use finops_core::provider::{Phase, ScriptedProvider};
use finops_core::{Error, Statements};
use proptest::prelude::*;

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A model server that records the authorization and `x-firm` header of every call, and answers 401 (not
/// retried), so each analysis degrades quickly to the offline analyst after one call per phase.
async fn recording_server() -> (SocketAddr, Arc<Mutex<Vec<(String, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap| {
            let log = Arc::clone(&log);
            async move {
                let get = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                log.lock()
                    .unwrap()
                    .push((get("authorization"), get("x-firm")));
                (StatusCode::UNAUTHORIZED, "{\"error\": \"wrong key\"}")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (addr, seen)
}

fn firm(addr: SocketAddr, key: &str, firm: &str) -> String {
    serde_json::json!({
        "providers": {"openrouter": {
            "api_key": key,
            "base_url": format!("http://{addr}/v1"),
            "headers": {"X-Firm": firm},
            "max_retries": 0
        }},
        "models": {"analyst": "anthropic/claude-sonnet-4.5", "researcher": "deepseek/deepseek-chat",
                   "validator": "anthropic/claude-sonnet-4.5"},
        "env": false
    })
    .to_string()
}

#[tokio::test]
async fn two_firms_with_their_own_keys_in_one_process() {
    let (addr, seen) = recording_server().await;
    let a = Finops::from_json(&firm(addr, "sk-firm-a-0001", "a"))
        .await
        .unwrap();
    let b = Finops::from_json(&firm(addr, "sk-firm-b-0002", "b"))
        .await
        .unwrap();
    let statements = Arc::new(bistro());
    let ask = |tenant: &str| {
        RequestOptions::from_json(&format!(r#"{{"tenant": "{tenant}"}}"#))
            .unwrap()
            .request(
                Arc::clone(&statements),
                "Analyse la rentabilité sur trois ans",
            )
            .unwrap()
    };
    let (ra, rb) = tokio::join!(a.analyze(ask("firm-a")), b.analyze(ask("firm-b")));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // The server refused both keys: each analysis degraded to the offline analyst, with correct figures.
    assert!(ra.degraded && rb.degraded);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 2, "{seen:?}");
    for (auth, firm) in &seen {
        match firm.as_str() {
            "a" => assert_eq!(auth, "Bearer sk-firm-a-0001"),
            "b" => assert_eq!(auth, "Bearer sk-firm-b-0002"),
            other => panic!("a call without its firm's header: {other:?}"),
        }
    }
    assert!(seen.iter().any(|(_, f)| f == "a") && seen.iter().any(|(_, f)| f == "b"));
    // Keys never print.
    assert!(!format!("{a:?}{b:?}").contains("sk-firm"));
}

#[tokio::test]
async fn models_apply_to_built_in_providers_and_host_providers() {
    let fo = Finops::from_json(
        r#"{"providers": {"openrouter": {"api_key": "sk-or-x"}}, "models": {"researcher": "deepseek/deepseek-chat-v3.1"}}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        fo.routes()[1],
        "researcher: openrouter deepseek/deepseek-chat-v3.1"
    );

    let scripted = Arc::new(ScriptedProvider::new());
    let fo = Finops::builder()
        .config(FinopsConfig::from_json(r#"{"models": {"analyst": "my-planner"}}"#).unwrap())
        .provider(scripted)
        .build()
        .await
        .unwrap();
    assert_eq!(fo.routes()[0], "analyst: scripted my-planner");
    assert!(fo.pipeline().phase(Phase::Analyst).is_some());
}

#[tokio::test]
async fn the_offline_configuration_answers_with_the_offline_analyst() {
    let fo = Finops::from_json(r#"{"offline": true, "cache": {}}"#)
        .await
        .unwrap();
    let request = RequestOptions::default()
        .request(bistro(), "Is our working capital getting tighter?")
        .unwrap();
    let first = fo.analyze(request.clone()).await.unwrap();
    let second = fo.analyze(request).await.unwrap();
    assert!(first.validation.grounded);
    assert_eq!(second.cache, finops_core::pipeline::CacheOutcome::Exact);
}

fn field_of(json: &str) -> String {
    match FinopsConfig::from_json(json) {
        Err(Error::InvalidArgument { field, .. }) => field,
        other => panic!("{json}: expected an invalid argument, got {other:?}"),
    }
}

#[test]
fn every_bad_value_is_named_by_its_path() {
    let cases = [
        (
            r#"{"providers": {"openrouter": {"apikey": "x"}}}"#,
            "providers.openrouter.apikey",
        ),
        (
            r#"{"providers": {"openrouter": {}}}"#,
            "providers.openrouter.api_key",
        ),
        (
            r#"{"providers": {"openrouter": {"api_key": "a b"}}}"#,
            "providers.openrouter.api_key",
        ),
        (
            r#"{"providers": {"local": {}}}"#,
            "providers.local.base_url",
        ),
        (
            r#"{"providers": {"local": {"base_url": "ftp://x"}}}"#,
            "providers.local.base_url",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "total_timeout_seconds": -1}}}"#,
            "providers.openai.total_timeout_seconds",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "read_timeout_seconds": 1e300}}}"#,
            "providers.openai.read_timeout_seconds",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "max_retries": 11}}}"#,
            "providers.openai.max_retries",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "breaker_threshold": 0}}}"#,
            "providers.openai.breaker_threshold",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "headers": {"bad header": "x"}}}}"#,
            "providers.openai.headers.bad header",
        ),
        (
            r#"{"providers": {"openai": {"api_key": "k", "headers": {"x-ok": "line\nbreak"}}}}"#,
            "providers.openai.headers.x-ok",
        ),
        (r#"{"providers": {"nope": {}}}"#, "providers.nope"),
        (r#"{"models": {"analyst": " "}}"#, "models.analyst"),
        (r#"{"models": {"planner": "x"}}"#, "models.planner"),
        (
            r#"{"offline": true, "providers": {"openai": {"api_key": "k"}}}"#,
            "offline",
        ),
        (r#"{"budgets": {"firm-1": "-5"}}"#, "budgets.firm-1"),
        (r#"{"budgets": {"firm-1": "lots"}}"#, "budgets.firm-1"),
        (
            r#"{"rate_limits": {"per_tenant": 0, "per_principal": 1}}"#,
            "rate_limits.per_tenant",
        ),
        (r#"{"rate_limits": {"per_tenant": 5}}"#, "rate_limits"),
        (r#"{"unpriced": "sometimes"}"#, "unpriced"),
        (r#"{"prompt_cache_ttl": "2h"}"#, "prompt_cache_ttl"),
        (r#"{"cache": {"ttl_seconds": 0}}"#, "cache.ttl_seconds"),
        (
            r#"{"fallback_estimate_usd": "-1"}"#,
            "fallback_estimate_usd",
        ),
        (r#"{"offline": "yes"}"#, "offline"),
        (r#"[1, 2]"#, "config"),
        (r#"{"offline": true} trailing"#, "config"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(json, field)| field_of(json) != *field)
        .map(|(json, field)| format!("{json}: expected `{field}`, got `{}`", field_of(json)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn request_options_are_checked_once_in_the_core() {
    let bad = [
        (r#"{"max_cache_age": -1}"#, "max_cache_age"),
        (r#"{"max_cache_age": 1e300}"#, "max_cache_age"),
        (r#"{"cache_mode": "sometimes"}"#, "cache_mode"),
        (r#"{"language": "de"}"#, "language"),
        (r#"{"tenant": 5}"#, "tenant"),
        (
            r#"{"principal": {"tenant": "f", "role": "client"}}"#,
            "principal.client",
        ),
    ];
    for (json, field) in bad {
        let e = RequestOptions::from_json(json)
            .and_then(|o| o.request(bistro(), "Marge brute ?"))
            .unwrap_err();
        assert_eq!(e.field(), Some(field), "{json}: {e}");
    }
    let e = RequestOptions::default()
        .request(bistro(), "  ")
        .unwrap_err();
    assert_eq!(e.field(), Some("question"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any JSON at all, and any text, is a configuration or a named refusal: never a panic.
    #[test]
    fn no_configuration_panics(json in arbitrary_json(), text in ".{0,64}") {
        let _ = FinopsConfig::from_json(&json.to_string());
        let _ = FinopsConfig::from_json(&text);
        let _ = RequestOptions::from_json(&json.to_string());
        let wrapped = serde_json::json!({"providers": {"openrouter": json.clone()}, "cache": json});
        if let Err(e) = FinopsConfig::from_json(&wrapped.to_string()) {
            prop_assert!(e.field().is_some(), "{e}");
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,16}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("api_key".to_string()),
            Just("base_url".to_string()),
            Just("headers".to_string()),
            Just("total_timeout_seconds".to_string()),
            Just("max_retries".to_string()),
            Just("ttl_seconds".to_string()),
            Just("threshold".to_string()),
            "[a-z_]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn amounts_may_be_numbers_or_decimal_texts() {
    let config = FinopsConfig::from_json(
        r#"{"budgets": {"firm-1": 50.25, "firm-2": "12.50"}, "fallback_estimate_usd": 0.2}"#,
    )
    .unwrap();
    assert_eq!(config.budgets["firm-1"].to_string(), "50.25");
    assert_eq!(config.budgets["firm-2"].to_string(), "12.50");
}
