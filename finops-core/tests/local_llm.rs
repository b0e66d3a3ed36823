#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The pipeline against a real model: a llama.cpp server on loopback (`scripts/local-llm-server`, SmolLM2-135M).
//! Runs when `FINOPS_TEST_LLM_URL` is set, as `.ci/run` does after starting the server. A 135M model writes poor
//! JSON and poor prose: what is tested is that streaming and usage are real, and that whatever the model does,
//! the analysis completes grounded — repaired or degraded, and saying which.

use std::sync::Arc;

use finops_core::pipeline::{AnalysisRequest, Event, PhaseConfig, Pipeline, ReportSource};
use finops_core::provider::resilience::{Resilience, layered};
use finops_core::provider::{
    ChatChunk, ChatRequest, Message, OpenAiCompatible, Phase, Provider, collect,
};
use futures::StreamExt;

/// llama-cpp-python answers one request at a time (a concurrent stream can come back empty): one test at a time.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn server() -> Option<String> {
    let url = std::env::var("FINOPS_TEST_LLM_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "FINOPS_TEST_LLM_URL is not set: start scripts/local-llm-server (as .ci/run does) to run these tests"
        );
    }
    url
}

#[tokio::test]
async fn a_real_model_streams_json_and_reports_usage() {
    let Some(url) = server() else { return };
    let _one_at_a_time = SERVER.lock().await;
    let p = OpenAiCompatible::new("local", &url, None).unwrap();
    let request = ChatRequest {
        model: "smollm2".into(),
        messages: vec![
            Message::system("You reply with JSON only."),
            Message::user("Give a JSON object with a key \"ok\" set to true."),
        ],
        temperature: Some(0.0),
        max_tokens: Some(40),
        json_mode: true,
        schema: None,
        phase: Phase::Analyst,
    };
    let mut deltas = 0;
    let r = collect(p.chat(request.clone()).await.unwrap(), |c| {
        if matches!(c, ChatChunk::Delta { .. }) {
            deltas += 1;
        }
    })
    .await
    .unwrap();
    assert!(deltas >= 2, "the answer arrived in {deltas} pieces");
    // json_object mode constrains the grammar: the answer parses.
    let v: serde_json::Value =
        serde_json::from_str(r.text.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.text));
    assert!(v.is_object());

    // This server reports usage only in whole (non-streamed) answers.
    let p = p.streaming(false);
    let r = collect(p.chat(request).await.unwrap(), |_| {})
        .await
        .unwrap();
    assert!(
        r.usage.input_tokens > 0 && r.usage.output_tokens > 0,
        "{:?}",
        r.usage
    );
}

async fn run_pipeline(url: &str, streaming: bool, question: &str) -> Vec<Event> {
    let http = OpenAiCompatible::new("local", url, None)
        .unwrap()
        .streaming(streaming);
    let provider: Arc<dyn Provider> = layered(Arc::new(http), &Resilience::default());
    let config = || {
        let mut c = PhaseConfig::new(provider.clone(), "smollm2");
        c.max_tokens = Some(120);
        c
    };
    let pipeline = Pipeline::builder()
        .phase(Phase::Analyst, config())
        .phase(Phase::Researcher, config())
        .phase(Phase::Validator, config())
        .build();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    let statements =
        finops_core::Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let started = std::time::Instant::now();
    let events: Vec<Event> = pipeline
        .stream(AnalysisRequest::new(statements, question))
        .collect()
        .await;
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!("{:?}", events.last())
    };
    println!(
        "{question} (streaming {streaming}): {} in {:?}; report {:?}; degraded: {:?}; calls {:?}",
        a.language,
        started.elapsed(),
        a.report_source,
        a.degraded_reason,
        a.usage.iter().map(|u| u.calls).collect::<Vec<_>>()
    );
    // Whatever the model wrote, the result is grounded and says honestly how it was produced.
    assert!(a.validation.grounded, "{:?}", a.validation);
    assert_eq!(a.degraded, a.degraded_reason.is_some());
    if a.report_source == ReportSource::Offline {
        assert!(
            a.degraded,
            "an offline report over a configured model is a degradation"
        );
    }
    for u in &a.usage {
        assert!(u.calls >= 1, "every phase called the model: {u:?}");
        assert!(
            u.cost_usd.is_none(),
            "a local model's cost is unknown, never $0: {u:?}"
        );
    }
    events
}

#[tokio::test]
async fn the_whole_pipeline_streams_from_a_real_model() {
    let Some(url) = server() else { return };
    let _one_at_a_time = SERVER.lock().await;
    let events = run_pipeline(&url, true, "Is our working capital getting tighter?").await;
    let deltas = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::TextDelta {
                    phase: Phase::Analyst,
                    ..
                }
            )
        })
        .count();
    assert!(deltas > 1, "the Analyst's answer streamed in pieces");
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!()
    };
    // This server sends no usage in streams: finops says the usage is missing instead of counting 0 tokens.
    assert!(
        a.usage
            .iter()
            .all(|u| u.usage_missing && u.input_tokens == 0),
        "{:?}",
        a.usage
    );
}

#[tokio::test]
async fn the_whole_pipeline_counts_usage_from_a_real_model() {
    let Some(url) = server() else { return };
    let _one_at_a_time = SERVER.lock().await;
    let events = run_pipeline(
        &url,
        false,
        "Analyse la rentabilité du bistro sur trois ans",
    )
    .await;
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!()
    };
    for u in &a.usage {
        assert!(
            !u.usage_missing && u.input_tokens > 0 && u.output_tokens > 0,
            "{u:?}"
        );
        assert!(u.unpriced, "a local model has no price: flagged, not free");
    }
}
