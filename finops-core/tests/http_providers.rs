#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The HTTP providers against real HTTP servers on loopback (axum, started per test): streaming, usage and cost,
//! and every fault the resilience layers must survive.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use finops_core::Decimal;
use finops_core::pipeline::{AnalysisRequest, Event, PhaseConfig, Pipeline, ReportSource};
use finops_core::provider::resilience::{
    Fallback, Resilience, Retry, RetryPolicy, Timeout, layered,
};
use finops_core::provider::{
    Anthropic, ApiKey, ChatRequest, HttpOptions, Message, OpenAiCompatible, Phase, Provider,
    collect,
};
use futures::StreamExt;

#[path = "support/http.rs"]
mod http_support;
use http_support::{serve, sse};

fn delta(text: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"delta": {"content": text}}]})
    )
}

fn usage_event(prompt: u64, completion: u64, cost: Option<&str>) -> String {
    let mut usage = serde_json::json!({"prompt_tokens": prompt, "completion_tokens": completion});
    if let Some(c) = cost {
        usage["cost"] = serde_json::Value::Number(c.parse().unwrap());
    }
    format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [], "usage": usage})
    )
}

const DONE: &str = "data: [DONE]\n\n";

fn request(phase: Phase) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        messages: vec![Message::system("sys"), Message::user("question")],
        temperature: Some(0.0),
        max_tokens: Some(64),
        json_mode: true,
        schema: None,
        phase,
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

fn local(addr: SocketAddr, key: Option<&str>) -> OpenAiCompatible {
    OpenAiCompatible::new(
        "local",
        &format!("http://{addr}/v1"),
        key.map(|k| ApiKey::new(k).unwrap()),
    )
    .unwrap()
}

async fn ask(p: &dyn Provider) -> finops_core::Result<finops_core::provider::ChatResponse> {
    collect(p.chat(request(Phase::Analyst)).await?, |_| {}).await
}

#[tokio::test]
async fn openai_compatible_streams_deltas_usage_and_reported_cost() {
    let seen: Arc<std::sync::Mutex<Option<(HeaderMap, serde_json::Value)>>> = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            async move {
                *s.lock().unwrap() = Some((headers, serde_json::from_str(&body).unwrap()));
                sse(vec![
                    delta("{\"a\":"),
                    ": keep-alive comment\n\n".into(),
                    delta(" 1}"),
                    usage_event(12, 4, Some("0.000123")),
                    DONE.into(),
                ])
            }
        }),
    );
    let addr = serve(router).await;
    let p = local(addr, Some("sk-test-123456"));
    let mut deltas = Vec::new();
    let r = collect(p.chat(request(Phase::Researcher)).await.unwrap(), |c| {
        if let finops_core::provider::ChatChunk::Delta { text } = c {
            deltas.push(text.clone());
        }
    })
    .await
    .unwrap();
    assert_eq!(deltas, vec!["{\"a\":", " 1}"]);
    assert_eq!(r.text, "{\"a\": 1}");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (12, 4));
    assert_eq!(r.usage.cost_usd, Some(Decimal::new(123, 6)));
    let (headers, body) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(headers["authorization"], "Bearer sk-test-123456");
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["response_format"]["type"], "json_object");
    assert_eq!(body["max_tokens"], 64);
}

#[tokio::test]
async fn non_streaming_mode_and_truncated_json() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    // Cut off mid-object, as a proxy that drops the connection would.
                    Response::new(Body::from(r#"{"choices":[{"message":{"content":"hel"#))
                } else {
                    Response::new(Body::from(
                        r#"{"choices":[{"message":{"content":"hello"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
                    ))
                }
            }
        }),
    );
    let addr = serve(router).await;
    let p = Arc::new(local(addr, None).streaming(false));
    let e = ask(p.as_ref()).await.unwrap_err();
    assert!(
        e.is_retryable() && e.to_string().contains("not JSON"),
        "{e}"
    );
    let r = ask(p.as_ref()).await.unwrap();
    assert_eq!((r.text.as_str(), r.usage.input_tokens), ("hello", 3));
}

/// A server that fails `failures` times with `status` (and headers), then answers.
async fn flaky(
    failures: usize,
    status: u16,
    retry_after: Option<&'static str>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    let mut r = Response::builder().status(StatusCode::from_u16(status).unwrap());
                    if let Some(ra) = retry_after {
                        r = r.header("retry-after", ra);
                    }
                    r.body(Body::from(r#"{"error":{"message":"try later"}}"#))
                        .unwrap()
                } else {
                    sse(vec![delta("ok"), usage_event(1, 1, None), DONE.into()])
                }
            }
        }),
    );
    (serve(router).await, calls)
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let (addr, calls) = flaky(2, 500, None).await;
    let p = Retry::new(Arc::new(local(addr, None)), fast_retry());
    let r = ask(&p).await.unwrap();
    assert_eq!((r.text.as_str(), r.retries), ("ok", 2));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let (addr, calls) = flaky(1, 429, Some("1")).await;
    let p = Retry::new(Arc::new(local(addr, None)), fast_retry());
    let start = Instant::now();
    let r = ask(&p).await.unwrap();
    assert_eq!(r.text, "ok");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_wrong_key_is_not_retried_and_is_reported_clearly() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap| {
            c.fetch_add(1, Ordering::SeqCst);
            let auth = headers["authorization"].to_str().unwrap().to_string();
            async move {
                let body = serde_json::json!({"error": {"message": format!("Incorrect API key provided: {}", &auth[7..])}});
                Response::builder().status(401).body(Body::from(body.to_string())).unwrap()
            }
        }),
    );
    let addr = serve(router).await;
    let p = Retry::new(
        Arc::new(local(addr, Some("sk-wrong-key-0123456789"))),
        fast_retry(),
    );
    let e = ask(&p).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("HTTP 401") && text.contains("API key was refused"),
        "{text}"
    );
    assert!(!text.contains("0123456789"), "the key leaked: {text}");
    assert!(!format!("{e:?}").contains("0123456789"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a 401 is not retried");
}

#[tokio::test]
async fn broken_streams_are_failures_and_their_partial_text_is_discarded() {
    // 1st: stops mid-way without [DONE]; 2nd: malformed SSE data; 3rd: an error event inside a 200; 4th: fine.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => sse(vec![delta("PARTIAL-1 ")]),
                    1 => sse(vec![delta("PARTIAL-2 "), "data: {not json\n\n".into()]),
                    2 => sse(vec![
                        delta("PARTIAL-3 "),
                        "data: {\"error\":{\"message\":\"upstream overloaded\"}}\n\n".into(),
                    ]),
                    _ => sse(vec![delta("complete answer"), DONE.into()]),
                }
            }
        }),
    );
    let addr = serve(router).await;
    let p = Retry::new(
        Arc::new(local(addr, None)),
        RetryPolicy {
            max_retries: 3,
            ..fast_retry()
        },
    );
    let mut reasons = Vec::new();
    let r = collect(p.chat(request(Phase::Analyst)).await.unwrap(), |c| {
        if let finops_core::provider::ChatChunk::Retry { reason, .. } = c {
            reasons.push(reason.clone());
        }
    })
    .await
    .unwrap();
    assert_eq!(r.text, "complete answer");
    assert!(reasons[0].contains("ended before `[DONE]`"), "{reasons:?}");
    assert!(reasons[1].contains("malformed event"), "{reasons:?}");
    assert!(reasons[2].contains("upstream overloaded"), "{reasons:?}");

    // Without retries, the broken stream is an error, never a short answer.
    calls.store(0, Ordering::SeqCst);
    let e = ask(&local(addr, None)).await.unwrap_err();
    assert!(e.to_string().contains("ended before"), "{e}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let router = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            futures::future::pending::<()>().await;
            "never"
        }),
    );
    let addr = serve(router).await;
    let options = HttpOptions {
        read_timeout: Duration::from_millis(300),
        ..HttpOptions::default()
    };
    let p = OpenAiCompatible::with_options("local", &format!("http://{addr}/v1"), None, &options)
        .unwrap();
    let start = Instant::now();
    let e = ask(&p).await.unwrap_err();
    assert!(
        e.is_retryable() && e.to_string().contains("timed out"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));

    // The same through the provider-agnostic timeout layer.
    let t = Timeout::new(
        Arc::new(local(addr, None)),
        Duration::from_millis(200),
        Duration::from_secs(10),
    );
    let e = ask(&t).await.unwrap_err();
    assert!(e.to_string().contains("timed out after 200 ms"), "{e}");
}

#[tokio::test]
async fn dropping_the_stream_aborts_the_http_request() {
    let closed = Arc::new(AtomicBool::new(false));
    let c = closed.clone();
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let flag = Flag(c.clone());
            async move {
                // One delta, then silence; the body stream (and the flag) is dropped when the client goes away.
                let body = futures::stream::once(async {
                    Ok::<_, Infallible>(Bytes::from(delta("first")))
                })
                .chain(futures::stream::pending())
                .map(move |x| {
                    let _keep = &flag;
                    x
                });
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(body))
                    .unwrap()
            }
        }),
    );
    let addr = serve(router).await;
    let p = local(addr, None);
    let mut stream = p.chat(request(Phase::Analyst)).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(
        first,
        finops_core::provider::ChatChunk::Delta { .. }
    ));
    assert!(!closed.load(Ordering::SeqCst));
    drop(stream);
    for _ in 0..100 {
        if closed.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never saw the connection close");
}

#[tokio::test]
async fn anthropic_native_streaming_with_its_headers_and_usage() {
    let seen: Arc<std::sync::Mutex<Option<(HeaderMap, serde_json::Value)>>> = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/v1/messages",
        post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            async move {
                *s.lock().unwrap() = Some((headers, serde_json::from_str(&body).unwrap()));
                sse(vec![
                    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n".into(),
                    "event: ping\ndata: {\"type\":\"ping\"}\n\n".into(),
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bonjour\"}}\n\n".into(),
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" CPA\"}}\n\n".into(),
                    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n".into(),
                    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into(),
                ])
            }
        }),
    );
    let addr = serve(router).await;
    let key = ApiKey::new("sk-ant-test-0001").unwrap();
    let p =
        Anthropic::with_options(&format!("http://{addr}"), key, &HttpOptions::default()).unwrap();
    let r = ask(&p).await.unwrap();
    assert_eq!(r.text, "Bonjour CPA");
    assert_eq!(
        (
            r.usage.input_tokens,
            r.usage.cached_input_tokens,
            r.usage.output_tokens
        ),
        (25, 5, 7),
        "message_delta's output count is cumulative: the start's 1 is not added to it"
    );
    let (headers, body) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(headers["x-api-key"], "sk-ant-test-0001");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert_eq!(body["system"][0]["text"], "sys");
    assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(body["messages"][0]["role"], "user");
}

#[tokio::test]
async fn anthropic_error_event_and_overload_fall_back_to_the_next_provider() {
    let router = Router::new().route(
        "/v1/messages",
        post(|| async {
            sse(vec![
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n".into(),
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"half an ans\"}}\n\n".into(),
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".into(),
            ])
        }),
    );
    let anthropic_addr = serve(router).await;
    let (backup_addr, _) = flaky(0, 200, None).await;
    let anthropic = Anthropic::with_options(
        &format!("http://{anthropic_addr}"),
        ApiKey::new("k-1").unwrap(),
        &HttpOptions::default(),
    )
    .unwrap();
    let options = Resilience {
        retry: fast_retry(),
        ..Resilience::default()
    };
    let chain = Fallback::new(vec![
        (
            layered(Arc::new(anthropic), &options),
            Some("claude-sonnet-4-5".into()),
        ),
        (
            layered(Arc::new(local(backup_addr, None)), &options),
            Some("backup-model".into()),
        ),
    ])
    .unwrap();
    let r = ask(&chain).await.unwrap();
    assert_eq!(r.text, "ok", "the half answer never reaches the caller");
    assert_eq!((r.retries, r.fallbacks), (2, 1));
    assert_eq!(r.served_by, Some(("local".into(), "backup-model".into())));
}

/// An OpenAI-compatible "model" that answers each phase with a fixed JSON (chosen by the system prompt).
async fn fake_model(validator_report: &'static str) -> SocketAddr {
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move |body: String| async move {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let system = v["messages"][0]["content"].as_str().unwrap().to_string();
            let answer = if system.contains("You are the Analyst") {
                r#"{"intents":["liquidity"],"metrics":["current_ratio","working_capital"],"periods":["FY2023"]}"#.to_string()
            } else if system.contains("You are the Researcher") {
                r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#.to_string()
            } else {
                serde_json::json!({"verdicts":[{"finding":0,"status":"confirmed"}],"report":validator_report}).to_string()
            };
            let pieces: Vec<String> = answer.as_bytes().chunks(16).map(|c| delta(std::str::from_utf8(c).unwrap())).collect();
            let mut events = pieces;
            events.push(usage_event(100, 20, Some("0.0005")));
            events.push(DONE.into());
            sse(events)
        }),
    );
    serve(router).await
}

fn bistro() -> finops_core::Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    finops_core::Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_whole_pipeline_over_http() {
    let addr = fake_model(
        "## Liquidity\n\nThe current ratio is 1.81 in FY2023 and working capital 409,070 CAD.",
    )
    .await;
    let provider: Arc<dyn Provider> = layered(Arc::new(local(addr, None)), &Resilience::default());
    let p = Pipeline::builder()
        .phase(
            Phase::Analyst,
            PhaseConfig::new(provider.clone(), "m-analyst"),
        )
        .phase(
            Phase::Researcher,
            PhaseConfig::new(provider.clone(), "m-researcher"),
        )
        .phase(Phase::Validator, PhaseConfig::new(provider, "m-validator"))
        .build();
    let events: Vec<Event> = p
        .stream(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .collect()
        .await;
    let deltas = events
        .iter()
        .filter(|e| matches!(e, Event::TextDelta { .. }))
        .count();
    assert!(deltas > 10, "answers streamed in pieces ({deltas} deltas)");
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!("{events:?}")
    };
    assert!(!a.degraded, "{:?}", a.degraded_reason);
    assert_eq!(a.report_source, ReportSource::Validator);
    assert!(a.validation.grounded);
    assert_eq!(a.usage.iter().map(|u| u.input_tokens).sum::<u64>(), 300);
    // Provider-reported cost is used even though these model names have no price.
    assert_eq!(a.total_cost_usd, Some(Decimal::new(15, 4)));
    assert!(a.usage.iter().all(|u| !u.unpriced));
}

#[tokio::test]
async fn an_ungrounded_report_over_http_is_replaced_by_the_offline_report() {
    let addr = fake_model("The current ratio jumped to 3.4 in FY2023.").await;
    let provider: Arc<dyn Provider> = Arc::new(local(addr, None));
    let p = Pipeline::builder()
        .provider(provider, "a", "r", "v")
        .build();
    let a = p
        .analyze(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(a.degraded && a.validation.grounded);
    assert_eq!(a.usage[2].calls, 2, "one repair was asked for");
}
