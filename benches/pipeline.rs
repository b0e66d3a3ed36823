//! Pipeline benchmarks: a whole offline analysis (no model), and the pipeline's own overhead around a
//! zero-latency scripted provider (three phases, four calls, JSON parsing, grounding, report).
//! Run: `cargo bench -p finops-benches --bench pipeline`; results go to benches/RESULTS.md.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use finops_core::pipeline::{AnalysisRequest, Pipeline};
use finops_core::provider::{Phase, ScriptedProvider};
use finops_core::{Statements, metrics::expr};

const BISTRO: &str = include_str!("../examples/data/bistro-saint-denis.json");

const PLAN: &str = r#"{"intents": ["profitability"], "metrics": ["gross_margin", "net_margin", "operating_margin"],
 "periods": ["FY2022", "FY2023"]}"#;
const RESEARCH_1: &str = r#"{"computations": [{"id": "c1", "expression": "operating_expenses / revenue", "period": "FY2023"}]}"#;
const RESEARCH_2: &str =
    r#"{"findings": [{"text": "Net margin improved.", "cites": ["net_margin@FY2023", "c1"]}]}"#;

fn bench(c: &mut Criterion) {
    let statements = match Statements::from_json_str(BISTRO) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("example data refused: {e}");
            return;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("no runtime: {e}");
            return;
        }
    };

    let offline = Pipeline::offline();
    c.bench_function("offline_analysis_health_check_3_periods", |b| {
        b.iter(|| {
            rt.block_on(offline.analyze(AnalysisRequest::new(
                statements.clone(),
                black_box("Full financial health check"),
            )))
        })
    });
    c.bench_function("offline_analysis_profitability_fr", |b| {
        b.iter(|| {
            rt.block_on(offline.analyze(AnalysisRequest::new(
                statements.clone(),
                black_box("Analyse la rentabilité du bistro sur trois ans"),
            )))
        })
    });

    // A report that answers: every planned margin of FY2023, as the Validator is told to write them.
    let margin = |m: &str| {
        expr::evaluate(&statements, m, "FY2023").map(|c| {
            finops_core::pipeline::Language::En
                .number(c.value * finops_core::Decimal::ONE_HUNDRED, 2)
        })
    };
    let report = match (
        margin("gross_margin"),
        margin("net_margin"),
        margin("operating_margin"),
    ) {
        (Ok(g), Ok(n), Ok(o)) => format!(
            "In FY2023 the gross margin was {g}%, the operating margin {o}% and the net margin reached {n}%."
        ),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("{e}");
            return;
        }
    };
    let validated = format!(
        r#"{{"verdicts": [{{"finding": 0, "status": "confirmed"}}], "report": "{report}"}}"#
    );
    let scripted = || {
        let provider = Arc::new(
            ScriptedProvider::new()
                .reply(Phase::Analyst, PLAN)
                .reply(Phase::Researcher, RESEARCH_1)
                .reply(Phase::Researcher, RESEARCH_2)
                .reply(Phase::Validator, validated.clone()),
        );
        Pipeline::builder()
            .provider(provider, "a", "r", "v")
            .build()
    };
    // Measure only a run that really went through the three model phases.
    match rt.block_on(scripted().analyze(AnalysisRequest::new(
        statements.clone(),
        "Is the bistro more profitable?",
    ))) {
        Ok(a) if !a.degraded && a.validation.grounded => {}
        other => {
            eprintln!("the scripted run is not a clean three-phase run: {other:?}");
            return;
        }
    }
    // A fresh scripted provider per iteration (its queues are consumed); building it is part of the measure, so
    // this slightly over-states the pipeline's overhead.
    c.bench_function("pipeline_overhead_scripted_zero_latency", |b| {
        b.iter(|| {
            let p = scripted();
            rt.block_on(p.analyze(AnalysisRequest::new(
                statements.clone(),
                black_box("Is the bistro more profitable?"),
            )))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
