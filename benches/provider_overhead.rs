//! The SDK's own overhead per provider call: the same streamed chat completion from a loopback server, fetched
//! with a bare reqwest call (read to the end) and through the SDK's provider stack (`OpenAiCompatible` inside the
//! timeout, circuit-breaker and retry layers, SSE parsed, JSON decoded, usage collected). Calls are interleaved so
//! both see the same machine state; the figures are percentiles over all calls.
//! Run: `cargo bench -p finops-benches --bench provider_overhead`; results go to benches/RESULTS.md.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;
use axum::routing::post;
use finops_core::provider::resilience::{Resilience, layered};
use finops_core::provider::{ChatRequest, Message, OpenAiCompatible, Phase, collect};
use futures::StreamExt;

const CALLS: usize = 3000;
const WARMUP: usize = 200;

fn answer() -> Vec<String> {
    let mut events: Vec<String> = [
        "{\"intents\": [\"liquidity\"], ",
        "\"metrics\": [\"current_ratio\"], ",
        "\"periods\": [\"FY2023\"]}",
    ]
    .iter()
    .map(|t| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"choices": [{"delta": {"content": t}}]})
        )
    })
    .collect();
    events.push(
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":40}}\n\n"
            .into(),
    );
    events.push("data: [DONE]\n\n".into());
    events
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    // The server runs on its own runtime and threads, like a separate process would.
    let server_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("no runtime: {e}"),
    };
    let addr = server_rt.block_on(async {
        let router = Router::new().route(
            "/v1/chat/completions",
            post(|| async {
                let chunks = answer()
                    .into_iter()
                    .map(|e| Ok::<_, Infallible>(Bytes::from(e)));
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap_or_default()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
        let addr = listener.local_addr().ok()?;
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Some(addr)
    });
    let Some(addr) = addr else {
        return eprintln!("cannot bind a loopback port");
    };
    let url = format!("http://{addr}/v1");

    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("no runtime: {e}"),
    };
    let request = ChatRequest {
        model: "m".into(),
        messages: vec![
            Message::system("You are the Analyst."),
            Message::user("Is our working capital getting tighter?"),
        ],
        temperature: Some(0.0),
        max_tokens: Some(512),
        json_mode: true,
        schema: None,
        phase: Phase::Analyst,
    };
    let body = serde_json::json!({"model": "m", "messages": [{"role": "system", "content": "You are the Analyst."}, {"role": "user", "content": "Is our working capital getting tighter?"}], "stream": true}).to_string();
    let bare = reqwest::Client::new();
    let provider = match OpenAiCompatible::new("local", &url, None) {
        Ok(p) => layered(std::sync::Arc::new(p), &Resilience::default()),
        Err(e) => return eprintln!("{e}"),
    };

    let (mut bare_times, mut sdk_times) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    let mut failures = 0;
    rt.block_on(async {
        for i in 0..WARMUP + CALLS {
            let t = Instant::now();
            let ok = match bare
                .post(format!("{url}/chat/completions"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
            {
                Ok(r) => {
                    let mut s = r.bytes_stream();
                    let mut n = 0;
                    while let Some(Ok(b)) = s.next().await {
                        n += b.len();
                    }
                    n > 0
                }
                Err(_) => false,
            };
            let bare_t = t.elapsed();
            let t = Instant::now();
            let sdk_ok = match provider.chat(request.clone()).await {
                Ok(s) => collect(s, |_| {})
                    .await
                    .is_ok_and(|r| r.usage.input_tokens == 900),
                Err(_) => false,
            };
            let sdk_t = t.elapsed();
            if !ok || !sdk_ok {
                failures += 1;
            }
            if i >= WARMUP {
                bare_times.push(bare_t);
                sdk_times.push(sdk_t);
            }
        }
    });
    if failures > 0 {
        return eprintln!("{failures} calls failed: no figures");
    }
    bare_times.sort();
    sdk_times.sort();
    println!(
        "provider call over loopback, {CALLS} interleaved calls each (after {WARMUP} warm-up)"
    );
    println!("{:<28}{:>12}{:>12}{:>12}", "", "p50", "p90", "p99");
    for (name, t) in [
        ("bare reqwest", &bare_times),
        ("finops provider stack", &sdk_times),
    ] {
        println!(
            "{name:<28}{:>12}{:>12}{:>12}",
            micros(percentile(t, 0.5)),
            micros(percentile(t, 0.9)),
            micros(percentile(t, 0.99))
        );
    }
    let over = |p| percentile(&sdk_times, p).saturating_sub(percentile(&bare_times, p));
    println!(
        "{:<28}{:>12}{:>12}{:>12}",
        "overhead (difference)",
        micros(over(0.5)),
        micros(over(0.9)),
        micros(over(0.99))
    );
}
