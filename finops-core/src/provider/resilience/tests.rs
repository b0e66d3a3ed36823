use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::error::Error;
use crate::provider::{
    ChatChunk, ChatRequest, Message, Phase, Provider, ScriptedProvider, ScriptedReply, collect,
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![Message::user("q")],
        temperature: None,
        max_tokens: None,
        json_mode: false,
        schema: None,
        phase: Phase::Analyst,
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn http(status: u16, retry_after: Option<Duration>) -> Error {
    Error::Provider {
        provider: "p".into(),
        reason: format!("HTTP {status}"),
        retryable: crate::provider::http::retryable_status(status),
        status: Some(status),
        retry_after,
    }
}

async fn run(p: &dyn Provider) -> (crate::Result<crate::provider::ChatResponse>, Vec<ChatChunk>) {
    let mut seen = Vec::new();
    let r = match p.chat(request()).await {
        Ok(s) => collect(s, |c| seen.push(c.clone())).await,
        Err(e) => Err(e),
    };
    (r, seen)
}

#[tokio::test(start_paused = true)]
async fn retries_retryable_failures_and_discards_partial_text() {
    let inner = Arc::new(
        ScriptedProvider::new()
            .fail(Phase::Analyst, http(503, None))
            .push(
                Phase::Analyst,
                ScriptedReply::Broken {
                    pieces: vec!["{\"half".into()],
                    error: Error::provider("p", "the answer stream broke", true),
                },
            )
            .reply(Phase::Analyst, "{\"whole\": true}"),
    );
    let p = Retry::new(inner.clone(), fast());
    let (r, seen) = run(&p).await;
    let r = r.unwrap();
    assert_eq!(
        r.text, "{\"whole\": true}",
        "the broken attempt's text is not part of the answer"
    );
    assert_eq!(r.retries, 2);
    let retries = seen
        .iter()
        .filter(|c| matches!(c, ChatChunk::Retry { .. }))
        .count();
    assert_eq!(retries, 2);
    assert_eq!(inner.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn never_retries_a_client_error_and_gives_up_after_max_retries() {
    for status in [400, 401, 403] {
        let inner = Arc::new(ScriptedProvider::new().fail(Phase::Analyst, http(status, None)));
        let (r, _) = run(&Retry::new(inner.clone(), fast())).await;
        assert!(
            r.unwrap_err()
                .to_string()
                .contains(&format!("HTTP {status}"))
        );
        assert_eq!(inner.requests().len(), 1, "HTTP {status} is not retried");
    }
    let inner = Arc::new(
        ScriptedProvider::new()
            .fail(Phase::Analyst, http(500, None))
            .fail(Phase::Analyst, http(502, None))
            .fail(Phase::Analyst, http(504, None))
            .reply(Phase::Analyst, "never reached"),
    );
    let (r, _) = run(&Retry::new(inner.clone(), fast())).await;
    assert!(r.unwrap_err().to_string().contains("HTTP 504"));
    assert_eq!(inner.requests().len(), 3, "one call and two retries");
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_and_refuses_to_wait_too_long() {
    let inner = Arc::new(
        ScriptedProvider::new()
            .fail(Phase::Analyst, http(429, Some(Duration::from_secs(3))))
            .reply(Phase::Analyst, "ok"),
    );
    let start = tokio::time::Instant::now();
    let (r, _) = run(&Retry::new(inner, fast())).await;
    assert_eq!(r.unwrap().text, "ok");
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3),
        "waited exactly what the server asked"
    );

    let inner = Arc::new(
        ScriptedProvider::new()
            .fail(Phase::Analyst, http(429, Some(Duration::from_secs(600))))
            .reply(Phase::Analyst, "ok"),
    );
    let (r, _) = run(&Retry::new(inner.clone(), fast())).await;
    assert!(r.is_err());
    assert_eq!(inner.requests().len(), 1);
}

#[test]
fn backoff_is_exponential_with_full_jitter_and_capped() {
    let policy = RetryPolicy {
        max_retries: 10,
        base: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        max_retry_after: Duration::from_secs(1),
    };
    let e = http(503, None);
    for _ in 0..200 {
        assert!(policy.delay(1, &e).unwrap() <= Duration::from_millis(100));
        assert!(policy.delay(2, &e).unwrap() <= Duration::from_millis(200));
        assert!(policy.delay(8, &e).unwrap() <= Duration::from_millis(400));
    }
    // Full jitter spreads waits: 200 draws of attempt 3 are not all equal.
    let draws: std::collections::HashSet<_> = (0..200).map(|_| policy.delay(3, &e)).collect();
    assert!(draws.len() > 50);
    assert_eq!(policy.delay(11, &e), None);
}

#[tokio::test(start_paused = true)]
async fn timeouts_cover_the_first_chunk_and_the_whole_answer() {
    let slow = Arc::new(
        ScriptedProvider::new()
            .latency(Duration::from_secs(10))
            .reply(Phase::Analyst, "late"),
    );
    let t = Timeout::new(slow, Duration::from_secs(2), Duration::from_secs(30));
    let (r, _) = run(&t).await;
    let e = r.unwrap_err();
    assert!(
        e.is_retryable() && e.to_string().contains("timed out after 2000 ms"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_refuses_then_probes() {
    let inner = Arc::new(
        ScriptedProvider::new()
            .fail(Phase::Analyst, http(500, None))
            .fail(Phase::Analyst, http(500, None))
            .reply(Phase::Analyst, "probe ok")
            .reply(Phase::Analyst, "closed again"),
    );
    let b = CircuitBreaker::new(inner.clone(), 2, Duration::from_secs(30));
    assert!(run(&b).await.0.is_err());
    assert_eq!(b.state(), breaker_state("closed"));
    assert!(run(&b).await.0.is_err());
    assert_eq!(b.state(), breaker_state("open"));
    let (r, _) = run(&b).await;
    assert!(r.unwrap_err().to_string().contains("circuit open"));
    assert_eq!(
        inner.requests().len(),
        2,
        "an open circuit does not call the provider"
    );
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(b.state(), breaker_state("half_open"));
    assert_eq!(run(&b).await.0.unwrap().text, "probe ok");
    assert_eq!(b.state(), breaker_state("closed"));
    assert_eq!(run(&b).await.0.unwrap().text, "closed again");
}

fn breaker_state(s: &str) -> breaker::BreakerState {
    match s {
        "closed" => breaker::BreakerState::Closed,
        "open" => breaker::BreakerState::Open,
        _ => breaker::BreakerState::HalfOpen,
    }
}

#[tokio::test(start_paused = true)]
async fn fallback_moves_down_the_chain_with_the_next_model() {
    let first = Arc::new(ScriptedProvider::new().named("openrouter").push(
        Phase::Analyst,
        ScriptedReply::Broken {
            pieces: vec!["partial".into()],
            error: Error::provider("openrouter", "error inside the answer stream", true),
        },
    ));
    let second = Arc::new(
        ScriptedProvider::new()
            .named("anthropic")
            .reply(Phase::Analyst, "answer"),
    );
    let chain = Fallback::new(vec![
        (first as Arc<dyn Provider>, None),
        (
            second.clone() as Arc<dyn Provider>,
            Some("claude-sonnet-4-5".into()),
        ),
    ])
    .unwrap();
    let (r, seen) = run(&chain).await;
    let r = r.unwrap();
    assert_eq!(r.text, "answer");
    assert_eq!(r.fallbacks, 1);
    assert_eq!(
        r.served_by,
        Some(("anthropic".into(), "claude-sonnet-4-5".into()))
    );
    assert!(
        seen.iter()
            .any(|c| matches!(c, ChatChunk::Fallback { from, .. } if from == "openrouter"))
    );
    assert_eq!(second.requests()[0].model, "claude-sonnet-4-5");
    assert!(Fallback::new(vec![]).is_err());
}

#[tokio::test(start_paused = true)]
async fn layered_stack_retries_then_falls_back() {
    let flaky = Arc::new(
        ScriptedProvider::new()
            .named("flaky")
            .fail(Phase::Analyst, http(503, None))
            .fail(Phase::Analyst, http(503, None))
            .fail(Phase::Analyst, http(503, None)),
    );
    let backup = Arc::new(
        ScriptedProvider::new()
            .named("backup")
            .reply(Phase::Analyst, "ok"),
    );
    let options = Resilience {
        retry: fast(),
        ..Resilience::default()
    };
    let chain = Fallback::new(vec![
        (layered(flaky.clone(), &options), None),
        (layered(backup, &options), None),
    ])
    .unwrap();
    let (r, _) = run(&chain).await;
    let r = r.unwrap();
    assert_eq!((r.text.as_str(), r.retries, r.fallbacks), ("ok", 2, 1));
    assert_eq!(flaky.requests().len(), 3);
}
