#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A scripted chaos run: 1,000 analyses while 30 % of provider calls fail in mixed ways (server errors, rate limits
//! with Retry-After, refused requests, streams that break mid-answer, calls that never answer, malformed JSON).
//! Every analysis must complete, grounded; none may panic or hang; and the counts must add up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use finops_core::pipeline::{AnalysisRequest, Event, PhaseConfig, Pipeline};
use finops_core::provider::resilience::{Fallback, Resilience, RetryPolicy, layered};
use finops_core::provider::{ChatChunk, ChatRequest, ChatStream, Phase, Provider, TokenUsage};
use finops_core::{Error, Statements};
use futures::StreamExt;

const PLAN: &str = r#"{"intents":["liquidity"],"metrics":["current_ratio","quick_ratio","working_capital"],"periods":["FY2022","FY2023"]}"#;
const RESEARCH: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
const VALIDATED: &str = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023, the quick ratio 1.49 and working capital 409,070 CAD."}"#;

#[derive(Debug, Default)]
struct Counts {
    attempts: AtomicU64,
    /// Failures of the call itself: errors, broken streams, hangs.
    transport_failures: AtomicU64,
    malformed: AtomicU64,
}

/// Answers each phase correctly, except for 30 % of calls, which fail in one of six ways.
#[derive(Debug)]
struct Chaos {
    name: &'static str,
    rng: Mutex<fastrand::Rng>,
    counts: Arc<Counts>,
}

#[async_trait::async_trait]
impl Provider for Chaos {
    fn name(&self) -> &str {
        self.name
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        self.counts.attempts.fetch_add(1, Ordering::SeqCst);
        let (roll, mode) = {
            let mut rng = self.rng.lock().unwrap();
            (rng.f64(), rng.u8(0..6))
        };
        let answer = match request.phase {
            Phase::Analyst => PLAN,
            Phase::Researcher => RESEARCH,
            Phase::Validator => VALIDATED,
        };
        let ok = |text: &str| -> ChatStream {
            let chunks = vec![
                Ok(ChatChunk::Delta {
                    text: text.to_string(),
                }),
                Ok(ChatChunk::Usage {
                    usage: TokenUsage {
                        input_tokens: 10,
                        output_tokens: 5,
                        ..TokenUsage::default()
                    },
                }),
            ];
            Box::pin(futures::stream::iter(chunks))
        };
        if roll >= 0.30 {
            return Ok(ok(answer));
        }
        let fail = |e: Error| {
            self.counts
                .transport_failures
                .fetch_add(1, Ordering::SeqCst);
            e
        };
        match mode {
            0 => Err(fail(http(503, None))),
            1 => Err(fail(http(429, Some(Duration::from_millis(50))))),
            2 => Err(fail(http(400, None))),
            3 => {
                let e = fail(Error::provider(self.name, "the answer stream broke", true));
                let chunks = vec![
                    Ok(ChatChunk::Delta {
                        text: answer[..answer.len() / 2].to_string(),
                    }),
                    Err(e),
                ];
                Ok(Box::pin(futures::stream::iter(chunks)))
            }
            4 => {
                fail(Error::provider(self.name, "hang", true));
                futures::future::pending::<()>().await;
                unreachable!()
            }
            _ => {
                self.counts.malformed.fetch_add(1, Ordering::SeqCst);
                Ok(ok("{\"intents\": [\"liquid"))
            }
        }
    }
}

fn http(status: u16, retry_after: Option<Duration>) -> Error {
    Error::Provider {
        provider: "chaos".into(),
        reason: format!("HTTP {status}"),
        retryable: finops_core::provider::http::retryable_status(status),
        status: Some(status),
        retry_after,
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_analyses_under_thirty_percent_faults() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    let statements =
        Arc::new(Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap());
    let counts = Arc::new(Counts::default());
    let options = Resilience {
        first_chunk_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(30),
        retry: RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(1),
        },
        // The breaker is tested on its own; here its refusals would be failures the chaos provider never saw.
        breaker_threshold: u32::MAX,
        breaker_cool_down: Duration::from_secs(1),
    };
    let chaos = |name: &'static str, seed: u64| -> Arc<dyn Provider> {
        Arc::new(Chaos {
            name,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            counts: counts.clone(),
        })
    };
    let chain: Arc<dyn Provider> = Arc::new(
        Fallback::new(vec![
            (layered(chaos("primary", 7), &options), None),
            (layered(chaos("backup", 11), &options), None),
        ])
        .unwrap(),
    );
    let pipeline = Pipeline::builder()
        .phase(Phase::Analyst, PhaseConfig::new(chain.clone(), "a"))
        .phase(Phase::Researcher, PhaseConfig::new(chain.clone(), "r"))
        .phase(Phase::Validator, PhaseConfig::new(chain, "v"))
        .build();

    let runs: Vec<Vec<Event>> = futures::stream::iter(0..1000)
        .map(|i| {
            let p = pipeline.clone();
            let s = statements.clone();
            async move {
                p.stream(
                    AnalysisRequest::new(s, "Is our working capital getting tighter?")
                        .client(format!("c{i}")),
                )
                .collect::<Vec<_>>()
                .await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;

    let (
        mut calls,
        mut retries,
        mut fallbacks,
        mut transport_degradations,
        mut degraded,
        mut retry_events,
    ) = (0, 0, 0, 0, 0, 0);
    for events in &runs {
        let Some(Event::Completed { analysis: a }) = events.last() else {
            panic!("an analysis did not complete: {:?}", events.last())
        };
        assert!(a.validation.grounded, "{:?}", a.validation);
        calls += a.usage.iter().map(|u| u64::from(u.calls)).sum::<u64>();
        retries += a.usage.iter().map(|u| u64::from(u.retries)).sum::<u64>();
        fallbacks += a.usage.iter().map(|u| u64::from(u.fallbacks)).sum::<u64>();
        degraded += u64::from(a.degraded);
        for e in events {
            match e {
                Event::Retry { .. } => retry_events += 1,
                Event::Degraded { reason, .. } if !reason.contains("after one repair") => {
                    transport_degradations += 1
                }
                _ => {}
            }
        }
    }
    let attempts = counts.attempts.load(Ordering::SeqCst);
    let failures = counts.transport_failures.load(Ordering::SeqCst);
    let malformed = counts.malformed.load(Ordering::SeqCst);
    println!(
        "1000 analyses: {attempts} provider attempts, {failures} transport failures, {malformed} malformed answers, \
         {retries} retries, {fallbacks} fallbacks, {transport_degradations} phases degraded by provider failure, \
         {degraded} analyses degraded"
    );
    // Every attempt is a pipeline call, a retry or a fallback; every failure was retried, fell back, or degraded
    // its phase. Nothing is lost or counted twice.
    assert_eq!(attempts, calls + retries + fallbacks);
    assert_eq!(failures, retries + fallbacks + transport_degradations);
    assert_eq!(retry_events, retries);
    // Roughly 30 % of attempts failed or were malformed (a seeded RNG: the bounds are loose on purpose).
    let faulty = (failures + malformed) as f64 / attempts as f64;
    assert!((0.25..0.35).contains(&faulty), "{faulty}");
    assert!(degraded > 0 && degraded < 1000);
}
