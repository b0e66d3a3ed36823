#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The whole pipeline through the scripted provider: plan → computations → findings → report, events, usage,
//! repairs, grounding, degradation and cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use finops_core::metrics::expr;
use finops_core::pipeline::{
    AnalysisRequest, Event, FindingStatus, Intent, Language, Pipeline, ReportSource,
};
use finops_core::provider::{
    ChatRequest, ChatStream, Phase, Provider, Role, ScriptedProvider, ScriptedReply, TokenUsage,
};
use finops_core::{Decimal, Error, Statements};
use futures::StreamExt;

#[path = "support/scripted.rs"]
mod scripted;
use scripted::{bistro, pipeline};

const PLAN: &str = r#"```json
{"intents": ["profitability"], "metrics": ["net_margin", "gross_margin"], "periods": ["FY2022", "FY2023"],
 "comparisons": [{"metric": "net_margin", "from": "FY2022", "to": "FY2023"}]}
```"#;

const RESEARCH_1: &str = r#"{"computations": [{"id": "c1", "expression": "operating_expenses / revenue", "period": "FY2023"}],
 "findings": []}"#;

const RESEARCH_2: &str = r#"{"findings": [
  {"text": "Net margin improved between FY2022 and FY2023.", "cites": ["net_margin@FY2022", "net_margin@FY2023"]},
  {"text": "Operating expenses weigh on revenue.", "cites": ["c1"]},
  {"text": "Inventory is excellent.", "cites": ["inventory_turnover@FY2023"]}
]}"#;

/// A report that only uses numbers the SDK computed (formatted the way the Validator is told to).
fn grounded_report(s: &Statements) -> String {
    let nm = expr::evaluate(s, "net_margin", "FY2023").unwrap().value;
    let c1 = expr::evaluate(s, "operating_expenses / revenue", "FY2023")
        .unwrap()
        .value;
    let pct = |v: Decimal| format!("{}%", Language::En.number(v * Decimal::ONE_HUNDRED, 2));
    let revenue = s
        .period("FY2023")
        .unwrap()
        .amount(finops_core::statements::Line::Revenue)
        .unwrap();
    let gm = expr::evaluate(s, "gross_margin", "FY2023").unwrap().value;
    format!(
        "## Profitability, FY2022 to FY2023\n\nNet margin reached {} in FY2023 on revenue of ${}, with a gross \
         margin of {}. Operating expenses took {} of revenue.",
        pct(nm),
        Language::En.number(revenue, 0),
        pct(gm),
        pct(c1)
    )
}

/// A report citing figures only (for runs where the Researcher's computations did not happen).
fn figures_only_report(s: &Statements) -> String {
    let gm = expr::evaluate(s, "gross_margin", "FY2023").unwrap().value;
    let nm = expr::evaluate(s, "net_margin", "FY2023").unwrap().value;
    format!(
        "Gross margin held at {}% in FY2023, and the net margin was {}%.",
        Language::En.number(gm * Decimal::ONE_HUNDRED, 1),
        Language::En.number(nm * Decimal::ONE_HUNDRED, 2)
    )
}

fn validated(report: &str) -> String {
    serde_json::json!({
        "verdicts": [{"finding": 0, "status": "confirmed"}, {"finding": 1, "status": "confirmed"}],
        "report": report,
    })
    .to_string()
}

#[tokio::test]
async fn plan_computations_findings_report_and_events_in_order() {
    let s = bistro();
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, RESEARCH_1)
            .reply(Phase::Researcher, RESEARCH_2)
            .reply(Phase::Validator, validated(&grounded_report(&s))),
    );
    let events: Vec<Event> = p
        .stream(
            AnalysisRequest::new(s, "Is the bistro more profitable than last year?")
                .tenant("firm-1"),
        )
        .collect()
        .await;

    // Event order: queued, then each phase started → (deltas, computations) → finished, then completed.
    let kinds: Vec<&str> = events
        .iter()
        .map(Event::kind)
        .filter(|k| *k != "text_delta")
        .collect();
    assert_eq!(
        kinds,
        vec![
            "queued",
            "phase_started",
            "phase_finished",
            "phase_started",
            "computation_done",
            "computation_done",
            "phase_finished",
            "phase_started",
            "phase_finished",
            "completed"
        ]
    );
    let first_delta = events.iter().position(|e| {
        matches!(
            e,
            Event::TextDelta {
                phase: Phase::Analyst,
                ..
            }
        )
    });
    assert_eq!(first_delta, Some(2), "deltas stream inside their phase");
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!("no completed event")
    };

    assert_eq!(a.tenant, "firm-1");
    assert_eq!(a.plan.intents, vec![Intent::Profitability]);
    assert_eq!(
        a.plan.metrics.iter().map(|m| m.id()).collect::<Vec<_>>(),
        vec!["gross_margin", "net_margin"]
    );
    assert_eq!(a.figures.len(), 4);
    let c1 = a.computations.iter().find(|c| c.id == "c1").unwrap();
    assert_eq!(
        c1.value,
        Some(
            expr::evaluate(&bistro(), "operating_expenses / revenue", "FY2023")
                .unwrap()
                .value
        )
    );
    // The SDK rejects a finding citing a figure that is not in the analysis; the Validator confirms the others.
    let statuses: Vec<FindingStatus> = a.findings.iter().map(|f| f.status).collect();
    assert_eq!(
        statuses,
        vec![
            FindingStatus::Confirmed,
            FindingStatus::Confirmed,
            FindingStatus::Rejected
        ]
    );
    assert!(
        a.findings[2]
            .note
            .as_deref()
            .unwrap()
            .contains("inventory_turnover@FY2023")
    );
    assert_eq!(a.report_source, ReportSource::Validator);
    assert!(a.validation.grounded, "{:?}", a.validation);
    assert!(!a.degraded, "{:?}", a.degraded_reason);

    // Usage per phase, summed over the Researcher's two calls (100 in / 50 out each from the script).
    let calls: Vec<(u32, u64, u64)> = a
        .usage
        .iter()
        .map(|u| (u.calls, u.input_tokens, u.output_tokens))
        .collect();
    assert_eq!(calls, vec![(1, 100, 50), (2, 200, 100), (1, 100, 50)]);
    assert_eq!(a.usage[1].model, "research-model");
    assert_eq!(
        a.total_cost_usd, None,
        "the scripted provider reports no cost and there is no price table yet"
    );

    // The Analyst saw no client identity and no amounts; the Researcher got its computation results back.
    let requests = provider.requests();
    let analyst = &requests[0];
    assert!(analyst.json_mode && analyst.model == "planner-model");
    let sent: String = analyst
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert!(
        !sent.contains("Bistro") && !sent.contains("3331832"),
        "{sent}"
    );
    let second = &requests[2];
    assert_eq!(second.phase, Phase::Researcher);
    assert!(
        second
            .messages
            .last()
            .unwrap()
            .content
            .contains("computation_results")
    );
}

#[tokio::test]
async fn invalid_json_gets_one_repair_then_the_phase_degrades() {
    let s = bistro();
    // Analyst: bad, then good. Researcher: bad twice → offline findings.
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(
                Phase::Analyst,
                "Here is the plan: {\"metrics\": [\"gross_margins\"]}",
            )
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, "not json")
            .reply(Phase::Researcher, "{\"findings\": [{\"text\": \"\"}]}")
            .reply(
                Phase::Validator,
                serde_json::json!({"verdicts": [], "report": figures_only_report(&s)}).to_string(),
            ),
    );
    let a = p
        .analyze(AnalysisRequest::new(s, "profitability?"))
        .await
        .unwrap();
    assert_eq!(a.usage[0].calls, 2);
    assert_eq!(a.plan.metrics.len(), 2, "the repaired plan is used");
    let repair = &provider.requests()[1];
    let last = repair.messages.last().unwrap();
    assert_eq!(last.role, Role::User);
    assert!(
        last.content
            .contains("`gross_margins` is not a catalogue metric id"),
        "{}",
        last.content
    );

    assert!(a.degraded);
    let reason = a.degraded_reason.unwrap();
    assert!(
        reason.starts_with("researcher:") && reason.contains("still invalid after one repair"),
        "{reason}"
    );
    assert_eq!(a.usage[1].calls, 2);
    // The offline analyst's findings replaced the Researcher's, and the Validator still wrote the report.
    assert_eq!(a.report_source, ReportSource::Validator);
    assert!(a.findings.iter().all(|f| f.text.contains("FY2023")));
}

#[tokio::test]
async fn an_invented_number_is_caught_repaired_or_replaced() {
    let s = bistro();
    let invented = "Net margin rose to 9.87% and revenue reached $4,200,000.";
    // Repaired at the second attempt.
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, RESEARCH_1)
            .reply(Phase::Researcher, RESEARCH_2)
            .reply(Phase::Validator, validated(invented))
            .reply(Phase::Validator, validated(&grounded_report(&s))),
    );
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), "profitability?"))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::ValidatorRepaired);
    assert!(a.validation.grounded && !a.degraded);
    let repair = provider
        .requests()
        .last()
        .unwrap()
        .messages
        .last()
        .unwrap()
        .content
        .clone();
    assert!(
        repair.contains("9.87%") && repair.contains("4,200,000"),
        "{repair}"
    );

    // Still invented after the repair: the offline report replaces it, and the Analysis says so.
    let (p, _) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, RESEARCH_1)
            .reply(Phase::Researcher, RESEARCH_2)
            .reply(Phase::Validator, validated(invented))
            .reply(Phase::Validator, validated(invented)),
    );
    let a = p
        .analyze(AnalysisRequest::new(s, "profitability?"))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(
        a.validation.grounded,
        "the offline report is grounded: {:?}",
        a.validation
    );
    assert!(a.degraded);
    assert!(
        a.degraded_reason
            .unwrap()
            .contains("not grounded after one repair (numbers: 9.87%, 4,200,000")
    );
    assert!(a.report.contains("offline analyst"));
}

#[tokio::test]
async fn a_failing_provider_degrades_each_phase_to_the_offline_analyst() {
    let down = || Error::provider("scripted", "HTTP 503", true);
    let (p, _) = pipeline(
        ScriptedProvider::new()
            .fail(Phase::Analyst, down())
            .fail(Phase::Researcher, down())
            .fail(Phase::Validator, down()),
    );
    let events: Vec<Event> = p
        .stream(AnalysisRequest::new(bistro(), "Analyse la liquidité"))
        .collect()
        .await;
    let degraded: Vec<Phase> = events
        .iter()
        .filter_map(|e| match e {
            Event::Degraded { phase, reason } => {
                assert!(reason.contains("HTTP 503"));
                Some(*phase)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        degraded,
        vec![Phase::Analyst, Phase::Researcher, Phase::Validator]
    );
    let Some(Event::Completed { analysis: a }) = events.last() else {
        panic!()
    };
    assert_eq!(a.plan.intents, vec![Intent::Liquidity]);
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(a.report.contains("### Chiffres clés") && a.validation.grounded);
    assert!(a.degraded);
    // A provider that failed is still recorded, with its call, not as "offline".
    assert!(
        a.usage
            .iter()
            .all(|u| u.provider == "scripted" && u.calls == 1)
    );
}

#[tokio::test]
async fn provider_reported_costs_are_summed_per_phase_and_in_total() {
    let s = bistro();
    let with_cost = |text: &str, millis: i64| ScriptedReply::Text {
        pieces: vec![text.to_string()],
        usage: TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: Some(Decimal::new(millis, 3)),
            ..TokenUsage::default()
        },
    };
    let (p, _) = pipeline(
        ScriptedProvider::new()
            .push(Phase::Analyst, with_cost(PLAN, 3))
            .push(Phase::Researcher, with_cost(RESEARCH_1, 1))
            .push(Phase::Researcher, with_cost(RESEARCH_2, 1))
            .push(
                Phase::Validator,
                with_cost(&validated(&grounded_report(&s)), 4),
            ),
    );
    let a = p
        .analyze(AnalysisRequest::new(s, "profitability?"))
        .await
        .unwrap();
    let costs: Vec<Option<Decimal>> = a.usage.iter().map(|u| u.cost_usd).collect();
    assert_eq!(
        costs,
        vec![
            Some(Decimal::new(3, 3)),
            Some(Decimal::new(2, 3)),
            Some(Decimal::new(4, 3))
        ]
    );
    assert_eq!(a.total_cost_usd, Some(Decimal::new(9, 3)));
}

#[tokio::test]
async fn a_bad_request_fails_the_stream_with_a_typed_error() {
    let events: Vec<Event> = Pipeline::offline()
        .stream(AnalysisRequest::new(bistro(), ""))
        .collect()
        .await;
    assert_eq!(events.len(), 1);
    let Event::Failed { error } = &events[0] else {
        panic!()
    };
    assert_eq!(
        (error.code.as_str(), error.field.as_deref()),
        ("invalid_argument", Some("question"))
    );
}

/// A provider that never answers, and records when its pending call is dropped.
#[derive(Debug, Default)]
struct Hanging {
    calls: AtomicUsize,
    dropped: Arc<AtomicBool>,
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Provider for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }
    async fn chat(&self, _request: ChatRequest) -> finops_core::Result<ChatStream> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _guard = SetOnDrop(self.dropped.clone());
        futures::future::pending::<()>().await;
        unreachable!()
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_stops_the_work() {
    let provider = Arc::new(Hanging::default());
    let p = Pipeline::builder()
        .provider(provider.clone(), "a", "r", "v")
        .build();
    let mut stream = p.stream(AnalysisRequest::new(bistro(), "profitability?"));
    assert_eq!(stream.next().await.unwrap().kind(), "queued");
    assert_eq!(stream.next().await.unwrap().kind(), "phase_started");
    // The Analyst's call is in flight and will never answer.
    let waited = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
    assert!(waited.is_err());
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    assert!(!provider.dropped.load(Ordering::SeqCst));
    drop(stream);
    assert!(
        provider.dropped.load(Ordering::SeqCst),
        "the in-flight provider call was dropped with the stream"
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        1,
        "no phase ran after the drop"
    );

    // The same holds for `analyze` cancelled by a timeout.
    let provider = Arc::new(Hanging::default());
    let p = Pipeline::builder()
        .provider(provider.clone(), "a", "r", "v")
        .build();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        p.analyze(AnalysisRequest::new(bistro(), "q")),
    )
    .await;
    assert!(r.is_err());
    assert!(provider.dropped.load(Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_analyses_run_concurrently_on_shared_statements() {
    let statements = Arc::new(bistro());
    let p = Pipeline::offline();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let p = p.clone();
            let s = statements.clone();
            let q = if i % 2 == 0 {
                "Analyse la rentabilité"
            } else {
                "Is our debt too high?"
            };
            tokio::spawn(async move {
                p.analyze(AnalysisRequest::new(s, q).client(format!("c{i}")))
                    .await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let a = t.await.unwrap().unwrap();
        assert_eq!(a.client, format!("c{i}"));
        assert_eq!(
            a.language,
            if i % 2 == 0 {
                Language::Fr
            } else {
                Language::En
            }
        );
        assert!(a.validation.grounded);
        ids.insert(a.id);
    }
    assert_eq!(ids.len(), 64);
}

#[test]
fn the_analysis_json_contract_has_stable_field_names() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = rt
        .block_on(Pipeline::offline().analyze(AnalysisRequest::new(bistro(), "cash flow")))
        .unwrap();
    let v = serde_json::to_value(&a).unwrap();
    for key in [
        "id",
        "tenant",
        "client",
        "question",
        "language",
        "fingerprint",
        "plan",
        "figures",
        "computations",
        "findings",
        "report",
        "report_source",
        "validation",
        "statement_warnings",
        "usage",
        "total_cost_usd",
        "cache",
        "degraded",
        "degraded_reason",
        "prompt_version",
        "timings",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}`");
    }
    assert_eq!(v["cache"], "miss");
    assert_eq!(v["validation"]["grounded"], true);
    assert_eq!(v["usage"][0]["phase"], "analyst");
    let back: finops_core::Analysis = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
}

#[tokio::test]
async fn personal_data_never_reaches_the_provider_and_is_restored_in_the_report() {
    let s = bistro();
    let report = format!(
        "For [PERSON_1]: {} ([COMPANY]).",
        grounded_report(&s).lines().last().unwrap()
    );
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, PLAN)
            .reply(Phase::Researcher, RESEARCH_1)
            .reply(
                Phase::Researcher,
                r#"{"findings": [{"text": "[PERSON_1] should know net margin improved.", "cites": ["net_margin@FY2023"]}]}"#,
            )
            .reply(
                Phase::Validator,
                serde_json::json!({"verdicts": [{"finding": 0, "status": "confirmed"}], "report": report}).to_string(),
            ),
    );
    // An English question (the scripted report is written the English way).
    let question = "Mrs Julie Tremblay (julie@bistro.ca, 514-555-0199, SIN 046 454 286) asks whether Bistro \
                    Saint-Denis is more profitable than last year.";
    let a = p.analyze(AnalysisRequest::new(s, question)).await.unwrap();
    let sent: String = provider
        .requests()
        .iter()
        .flat_map(|r| r.messages.iter().map(|m| m.content.clone()))
        .collect();
    for secret in [
        "Tremblay",
        "julie@bistro.ca",
        "514-555-0199",
        "046 454 286",
        "Saint-Denis",
    ] {
        assert!(!sent.contains(secret), "`{secret}` reached the provider");
    }
    assert!(sent.contains("[PERSON_1]") && sent.contains("[COMPANY]"));
    let last = provider
        .requests()
        .last()
        .unwrap()
        .messages
        .last()
        .unwrap()
        .content
        .clone();
    assert_eq!(
        a.report_source,
        ReportSource::Validator,
        "{:?} / {last}",
        a.degraded_reason
    );
    assert!(a.validation.grounded);
    assert!(
        a.report.starts_with("For Mrs Julie Tremblay: "),
        "{}",
        a.report
    );
    assert!(
        a.report.ends_with("(Bistro Saint-Denis inc.)."),
        "{}",
        a.report
    );
    assert!(
        a.findings[0]
            .text
            .starts_with("Mrs Julie Tremblay should know")
    );
    assert_eq!(
        a.question, question,
        "the Analysis keeps the host's question"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_analyses_never_spend_past_the_budget() {
    use finops_core::security::limits::Budgets;
    let s = Arc::new(bistro());
    // Each analysis really costs 3 calls x $0.01 (reported by the provider); the budget fits 10 of them.
    const PLAN1: &str =
        r#"{"intents":["liquidity"],"metrics":["current_ratio"],"periods":["FY2023"]}"#;
    const FINDINGS: &str = r#"{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"#;
    let report = serde_json::json!({"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023."}).to_string();
    let provider = ScriptedProvider::new();
    let reply = |text: String| ScriptedReply::Text {
        pieces: vec![text],
        usage: TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: Some(Decimal::new(1, 2)),
            ..TokenUsage::default()
        },
    };
    for _ in 0..50 {
        provider.enqueue(Phase::Analyst, reply(PLAN1.to_string()));
        provider.enqueue(Phase::Researcher, reply(FINDINGS.to_string()));
        provider.enqueue(Phase::Validator, reply(report.clone()));
    }
    let budget = Decimal::new(30, 2);
    let budgets = Budgets::new(std::collections::HashMap::from([(
        "firm-1".to_string(),
        budget,
    )]))
    .unwrap();
    let p = Pipeline::builder()
        .provider(Arc::new(provider), "a", "r", "v")
        .budgets(budgets.clone())
        .fallback_estimate_usd(Decimal::new(2, 2))
        .build();
    let runs: Vec<_> = (0..50)
        .map(|_| {
            let p = p.clone();
            let s = s.clone();
            tokio::spawn(async move {
                p.analyze(AnalysisRequest::new(s, "profitability?").tenant("firm-1"))
                    .await
            })
        })
        .collect();
    let mut done = 0;
    let mut refused = 0;
    for r in runs {
        match r.await.unwrap() {
            Ok(a) => {
                assert_eq!(
                    a.total_cost_usd,
                    Some(Decimal::new(3, 2)),
                    "{:?}",
                    a.degraded_reason
                );
                done += 1;
            }
            Err(Error::BudgetExceeded {
                tenant, limit_usd, ..
            }) => {
                assert_eq!((tenant.as_str(), limit_usd), ("firm-1", budget));
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(done + refused, 50);
    assert!((1..=10).contains(&done), "{done} analyses ran");
    // Reservations hold the estimate ($0.06) until settled at the real cost, so the last $0.03 of the budget may
    // stay unused: the budget is never passed.
    assert_eq!(
        budgets.spent("firm-1").await.unwrap(),
        Decimal::new(3, 2) * Decimal::from(done)
    );
    assert!(budgets.spent("firm-1").await.unwrap() <= budget);
    // Offline analyses cost nothing and are not held back by the budget.
    let offline = Pipeline::builder().budgets(budgets.clone()).build();
    assert!(
        offline
            .analyze(AnalysisRequest::new(bistro(), "marges").tenant("firm-1"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rate_limits_refuse_with_the_wait() {
    use finops_core::security::limits::RateLimits;
    let p = Pipeline::builder()
        .rate_limits(RateLimits::per_minute(100, 2).unwrap())
        .build();
    let req = || {
        AnalysisRequest::new(bistro(), "marges")
            .tenant("firm-1")
            .client("bistro")
    };
    assert!(p.analyze(req()).await.is_ok());
    assert!(p.analyze(req()).await.is_ok());
    match p.analyze(req()).await.unwrap_err() {
        Error::RateLimited { scope, retry_after } => {
            assert_eq!(scope, finops_core::RateLimitScope::Principal);
            assert!(retry_after > std::time::Duration::ZERO);
        }
        e => panic!("{e}"),
    }
    assert!(
        p.analyze(req().client("cafe")).await.is_ok(),
        "another client has its own allowance"
    );
}
