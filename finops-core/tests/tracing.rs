#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What the pipeline traces. In its own test binary: `tracing` caches per-callsite interest process-wide, so a
//! test running in parallel without a subscriber could hide these events.

use std::sync::Arc;

use finops_core::Decimal;
use finops_core::Statements;
use finops_core::metrics::expr;
use finops_core::pipeline::{AnalysisRequest, Language, Pipeline};
use finops_core::provider::{Phase, ScriptedProvider};

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const PLAN: &str =
    r#"{"intents": ["profitability"], "metrics": ["net_margin"], "periods": ["FY2022", "FY2023"]}"#;
const RESEARCH: &str =
    r#"{"findings": [{"text": "Net margin improved.", "cites": ["net_margin@FY2023"]}]}"#;

fn validated(s: &Statements) -> String {
    let nm = expr::evaluate(s, "net_margin", "FY2023").unwrap().value;
    let report = format!(
        "Net margin reached {}% in FY2023.",
        Language::En.number(nm * Decimal::ONE_HUNDRED, 2)
    );
    serde_json::json!({"verdicts": [{"finding": 0, "status": "confirmed"}], "report": report})
        .to_string()
}

/// Collects everything the `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn traces_carry_usage_and_cost_but_no_client_data() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    let s = bistro();
    let provider = Arc::new(
        ScriptedProvider::new()
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, RESEARCH)
            .reply(Phase::Validator, validated(&s)),
    );
    let p = Pipeline::builder()
        .provider(
            provider,
            "planner-model",
            "research-model",
            "validator-model",
        )
        .build();
    let question = "Is the bistro of Mme Tremblay more profitable than last year?";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(p.analyze(AnalysisRequest::new(s, question).tenant("firm-7")))
    })
    .unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("phase finished").count(), 3, "{text}");
    assert!(text.contains("analysis completed"));
    for field in [
        "finops.phase=researcher",
        "gen_ai.system=scripted",
        "gen_ai.request.model=research-model",
        "gen_ai.usage.input_tokens=100",
        "retries=0",
        "tenant=firm-7",
        // One span per provider call, with OpenTelemetry's GenAI attributes recorded when it ends.
        "gen_ai.chat{",
        "finops.phase{finops.phase=validator}:gen_ai.chat{",
        "gen_ai.operation.name=\"chat\"",
        "gen_ai.response.model=validator-model",
        "gen_ai.usage.output_tokens=",
    ] {
        assert!(text.contains(field), "missing {field} in:\n{text}");
    }
    assert!(text.contains(&a.id));
    // No client data: not the question, the company, or any amount from the statements or the report.
    for secret in [
        "Tremblay",
        "Bistro",
        "bistro",
        "3331832",
        "3,331,833",
        &a.report[..20],
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked into traces:\n{text}"
        );
    }
}
