#![allow(clippy::expect_used, clippy::panic)] // A benchmark stops at the first failure, loudly.
//! The three phases on a real local model: how many analyses of the fixtures go through the model's three phases
//! (not degraded), and the tokens and seconds each phase takes. Needs a server: `scripts/local-llm-server start
//! --port 18081 --model gemma3`, then
//! `FINOPS_BENCH_LLM_URL=http://127.0.0.1:18081/v1 FINOPS_BENCH_LLM_MODEL=gemma3 cargo bench -p finops-benches --bench real_model`.
//! Without the URL it says so and exits.

use std::sync::Arc;
use std::time::Instant;

use finops_core::pipeline::{AnalysisRequest, PhaseConfig, Pipeline, ReportSource};
use finops_core::provider::{
    ChatRequest, ChatStream, OpenAiCompatible, Phase, Provider, collect, whole_answer,
};

/// With `FINOPS_BENCH_LLM_DUMP=<dir>`, each call's last message and whole answer are written to a file there: what
/// the model was asked and what it wrote, to see why a phase failed.
#[derive(Debug)]
struct Dump {
    inner: Arc<dyn Provider>,
    dir: std::path::PathBuf,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Provider for Dump {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        let n = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let asked = request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let phase = request.phase;
        let answer = collect(self.inner.chat(request).await?, |_| {}).await;
        let written = match &answer {
            Ok(a) => a.text.clone(),
            Err(e) => format!("ERROR {e}"),
        };
        let file = self.dir.join(format!("{n:03}-{phase}.txt"));
        std::fs::write(file, format!("{asked}\n\n==== ANSWER ====\n{written}\n"))
            .expect("dump file");
        let answer = answer?;
        Ok(whole_answer(answer.text, Some(answer.usage)))
    }
}

const QUESTIONS: &[(&str, &str)] = &[
    (
        "bistro-saint-denis.json",
        "Is our working capital getting tighter?",
    ),
    (
        "bistro-saint-denis.json",
        "Analyse la rentabilité du bistro sur trois ans",
    ),
    (
        "bistro-saint-denis.json",
        "How profitable were we last year?",
    ),
    (
        "bistro-saint-denis.json",
        "Quel est notre niveau d'endettement ?",
    ),
    ("bistro-saint-denis.json", "How fast do customers pay?"),
    (
        "bistro-saint-denis.json",
        "Notre trésorerie est-elle suffisante ?",
    ),
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(url) = std::env::var("FINOPS_BENCH_LLM_URL") else {
        println!(
            "FINOPS_BENCH_LLM_URL is not set: start scripts/local-llm-server and point it there"
        );
        return;
    };
    let model = std::env::var("FINOPS_BENCH_LLM_MODEL").unwrap_or_else(|_| "gemma3".into());
    let provider: Arc<dyn Provider> = Arc::new(
        OpenAiCompatible::new("local", &url, None)
            .expect("a local URL")
            // Whole answers report token usage on llama-cpp-python, but a whole answer must come within the read
            // timeout (60 s) and a timed-out one keeps the one-request-at-a-time server busy: streamed by default.
            .streaming(std::env::var("FINOPS_BENCH_LLM_WHOLE").is_err()),
    );
    let provider: Arc<dyn Provider> = match std::env::var("FINOPS_BENCH_LLM_DUMP") {
        Ok(dir) => {
            std::fs::create_dir_all(&dir).expect("dump folder");
            Arc::new(Dump {
                inner: provider,
                dir: dir.into(),
                calls: Default::default(),
            })
        }
        Err(_) => provider,
    };
    let pipeline = Pipeline::builder()
        .phase(Phase::Analyst, PhaseConfig::new(provider.clone(), &model))
        .phase(
            Phase::Researcher,
            PhaseConfig::new(provider.clone(), &model),
        )
        .phase(Phase::Validator, PhaseConfig::new(provider, &model))
        .build();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/");
    let mut through = 0;
    let mut grounded = 0;
    println!("== {model} at {url}: {} analyses ==", QUESTIONS.len());
    for (file, question) in QUESTIONS {
        let text = std::fs::read_to_string(format!("{data}{file}")).expect("fixture");
        let statements = finops_core::Statements::from_json_str(&text).expect("statements");
        let t = Instant::now();
        let a = pipeline
            .analyze(AnalysisRequest::new(statements, *question))
            .await
            .expect("an analysis");
        let phases_by_model = !a.degraded
            && matches!(
                a.report_source,
                ReportSource::Validator | ReportSource::ValidatorRepaired
            );
        through += usize::from(phases_by_model);
        grounded += usize::from(a.validation.grounded);
        println!(
            "{question}\n  {:.1} s, through the model's three phases: {phases_by_model}, grounded: {}, report: {:?}",
            t.elapsed().as_secs_f64(),
            a.validation.grounded,
            a.report_source
        );
        for u in &a.usage {
            println!(
                "  {:<10} calls {} in {:>5} out {:>5} {:>6.1} s{}",
                u.phase.to_string(),
                u.calls,
                u.input_tokens,
                u.output_tokens,
                u.latency_ms as f64 / 1000.0,
                if u.usage_missing {
                    " (usage not reported)"
                } else {
                    ""
                }
            );
        }
        if let Some(why) = &a.degraded_reason {
            println!("  degraded: {}", why.chars().take(300).collect::<String>());
        }
    }
    println!(
        "through the three phases: {through} of {}; grounded: {grounded} of {}",
        QUESTIONS.len(),
        QUESTIONS.len()
    );
}
