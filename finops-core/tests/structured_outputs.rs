#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What goes on the wire for structured outputs and prompt caching, checked against local servers that record
//! every request: the JSON Schema of each phase (OpenAI's `json_schema`, llama-cpp-python's schema inside
//! `json_object`, Anthropic's forced tool call), a refused form learned once per model, the prompt-cache markers
//! each API documents, cached-token counts read from usage, and costs that match a hand computation.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use finops_core::Decimal;
use finops_core::pipeline::{AnalysisRequest, PhaseConfig, Pipeline, ReportSource};
use finops_core::provider::anthropic::EXTENDED_CACHE_TTL_BETA;
use finops_core::provider::{
    Anthropic, ApiKey, HttpOptions, OpenAiCompatible, Phase, PromptCacheTtl, Provider,
    StructuredMode,
};
use serde_json::{Value, json};

#[path = "support/http.rs"]
mod http_support;
use http_support::{serve, sse};

fn bistro() -> finops_core::Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    finops_core::Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A correct answer for each phase, by the system prompt; the Validator answers in sections with references.
fn answer(system: &str, french: bool) -> String {
    if system.contains("You are the Analyst") {
        json!({"intents": ["liquidity"], "metrics": ["current_ratio", "working_capital"],
               "periods": ["FY2022", "FY2023"], "benchmark": false})
        .to_string()
    } else if system.contains("You are the Researcher") {
        json!({"computations": [], "findings": [{
            "text": "The current ratio moved from {{current_ratio@FY2022}} to {{current_ratio@FY2023}}.",
            "cites": ["current_ratio@FY2022", "current_ratio@FY2023"]}]})
        .to_string()
    } else if french {
        json!({"verdicts": [{"finding": 0, "status": "confirmed", "note": null}], "report": {
            "answer": "Le fonds de roulement ne se resserre pas : il a augmenté de {{working_capital@FY2022 -> working_capital@FY2023}}.",
            "metrics": {
                "current_ratio": {"figure": "current_ratio@FY2023", "comment": "contre {{current_ratio@FY2022}} un an plus tôt"},
                "working_capital": {"figure": "working_capital@FY2023", "comment": "plus de marge pour payer les fournisseurs"}},
            "trends": "Le fonds de roulement augmente de {{working_capital@FY2022 -> working_capital@FY2023}}.", "stands_out": "", "caveats": "Les états ne sont pas audités."}})
        .to_string()
    } else {
        json!({"verdicts": [{"finding": 0, "status": "confirmed", "note": null}], "report": {
            "answer": "Working capital is not getting tighter: it grew by {{working_capital@FY2022 -> working_capital@FY2023}}.",
            "metrics": {
                "current_ratio": {"figure": "current_ratio@FY2023", "comment": "against {{current_ratio@FY2022}} a year earlier"},
                "working_capital": {"figure": "working_capital@FY2023", "comment": "more room to pay suppliers"}},
            "trends": "Working capital rose by {{working_capital@FY2022 -> working_capital@FY2023}}.", "stands_out": "", "caveats": "Unaudited statements."}})
        .to_string()
    }
}

fn system_of(body: &Value) -> String {
    if let Some(system) = body["system"][0]["text"].as_str() {
        return system.to_string();
    }
    let content = &body["messages"][0]["content"];
    content
        .as_str()
        .map(str::to_string)
        .or_else(|| content[0]["text"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The answer for a request: the phase from its system prompt, the language from its first user message.
fn answer_to(body: &Value) -> String {
    let user = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    let french = user.contains(r#"\"language\":\"fr\""#) || user.contains(r#""language":"fr""#);
    answer(&system_of(body), french)
}

type Seen = Arc<Mutex<Vec<Value>>>;

/// A request's `anthropic-beta` header and its body.
type BetaAndBody = (Option<String>, Value);

/// An OpenAI-compatible server that, like llama-cpp-python, refuses `json_schema` (a 500 carrying pydantic's
/// validation error) and constrains `json_object` with a schema; it reports cached prompt tokens as OpenAI does.
async fn llama_like(seen: Seen) -> SocketAddr {
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                seen.lock().unwrap().push(v.clone());
                if v["response_format"]["type"] == "json_schema" {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"error":{"message":"1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}","type":"internal_server_error"}}"#,
                    )
                        .into_response();
                }
                let text = answer_to(&v);
                let usage = json!({"prompt_tokens": 2000, "completion_tokens": 100,
                    "prompt_tokens_details": {"cached_tokens": 1500}});
                sse(vec![
                    format!("data: {}\n\n", json!({"choices": [{"delta": {"content": text}}]})),
                    format!("data: {}\n\n", json!({"choices": [], "usage": usage})),
                    "data: [DONE]\n\n".into(),
                ])
            }
        }),
    );
    serve(router).await
}

fn pipeline(provider: Arc<dyn Provider>, model: &str) -> Pipeline {
    Pipeline::builder()
        .phase(Phase::Analyst, PhaseConfig::new(provider.clone(), model))
        .phase(Phase::Researcher, PhaseConfig::new(provider.clone(), model))
        .phase(Phase::Validator, PhaseConfig::new(provider, model))
        .build()
}

#[tokio::test]
async fn a_refused_json_schema_is_learned_once_and_each_phase_sends_its_narrowed_schema() {
    let seen: Seen = Arc::default();
    let addr = llama_like(seen.clone()).await;
    let provider =
        Arc::new(OpenAiCompatible::new("local", &format!("http://{addr}/v1"), None).unwrap());
    let p = pipeline(provider.clone(), "local-model");
    for question in [
        "Is our working capital getting tighter?",
        "Notre fonds de roulement se resserre-t-il ?",
    ] {
        let a = p
            .analyze(AnalysisRequest::new(bistro(), question))
            .await
            .unwrap();
        assert!(!a.degraded, "{question}: {:?}", a.degraded_reason);
        assert_eq!(a.report_source, ReportSource::Validator);
        assert!(a.validation.grounded, "{:?}", a.validation);
    }
    assert_eq!(
        provider.structured_mode_for("local-model"),
        StructuredMode::JsonObjectSchema
    );
    let bodies = seen.lock().unwrap().clone();
    let refused = bodies
        .iter()
        .filter(|b| b["response_format"]["type"] == "json_schema")
        .count();
    assert_eq!(
        refused, 1,
        "the refusal is learned once, not paid on every call"
    );
    // The first request tried the strict form; the same call then went on with the schema inside json_object.
    let first = &bodies[0]["response_format"];
    assert_eq!(first["json_schema"]["name"], "finops_plan");
    assert_eq!(first["json_schema"]["strict"], true);
    let plan_schema = &first["json_schema"]["schema"];
    let metric_ids = plan_schema["properties"]["metrics"]["items"]["enum"]
        .as_array()
        .unwrap();
    assert!(metric_ids.contains(&json!("current_ratio")));
    assert_eq!(
        plan_schema["properties"]["periods"]["items"]["enum"],
        json!(["FY2021", "FY2022", "FY2023"]),
        "the document's own periods"
    );
    assert_eq!(bodies[1]["response_format"]["type"], "json_object");
    assert_eq!(bodies[1]["response_format"]["schema"], *plan_schema);
    // Output budgets follow the schemas, not the provider's default.
    assert!(bodies[1]["max_tokens"].as_u64().unwrap() <= 600);
    let research = bodies
        .iter()
        .find(|b| system_of(b).contains("You are the Researcher"))
        .unwrap();
    let cites = &research["response_format"]["schema"]["properties"]["findings"]["items"]["properties"]
        ["cites"]["items"];
    let citable = cites["anyOf"][0]["enum"].as_array().unwrap();
    assert!(citable.contains(&json!("current_ratio@FY2023")));
    assert!(
        !citable.contains(&json!("current_ratio@FY2021")),
        "only the plan's periods"
    );
    let validator = bodies
        .iter()
        .find(|b| system_of(b).contains("You are the Validator"))
        .unwrap();
    let report = &validator["response_format"]["schema"]["properties"]["report"];
    assert_eq!(
        report["properties"]["metrics"]["required"],
        json!(["current_ratio", "working_capital"])
    );
    assert_eq!(
        report["properties"]["metrics"]["properties"]["current_ratio"]["properties"]["figure"]["enum"],
        json!(["current_ratio@FY2022", "current_ratio@FY2023"])
    );
    assert_eq!(
        validator["response_format"]["schema"]["properties"]["verdicts"]["items"]["properties"]["finding"]
            ["enum"],
        json!([0])
    );
}

#[tokio::test]
async fn references_are_written_by_the_sdk_in_the_reports_language() {
    let seen: Seen = Arc::default();
    let addr = llama_like(seen).await;
    let provider =
        Arc::new(OpenAiCompatible::new("local", &format!("http://{addr}/v1"), None).unwrap());
    let p = pipeline(provider, "m");
    let figures = finops_core::metrics::compute_all(&bistro());
    let value = |id: &str| figures.iter().find(|f| f.id == id).unwrap().value.unwrap();
    let en = p
        .analyze(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    let shown = finops_core::pipeline::Language::En.value(
        value("current_ratio@FY2023"),
        finops_core::metrics::Unit::Ratio,
        "CAD",
    );
    assert!(
        en.report
            .contains(&format!("- **Current ratio**: {shown} — against ")),
        "{}",
        en.report
    );
    assert!(!en.report.contains("{{"), "{}", en.report);
    let change = value("working_capital@FY2023") - value("working_capital@FY2022");
    assert!(change > Decimal::ZERO);
    let written = finops_core::pipeline::Language::En.number(change, 0);
    assert!(
        en.report.contains(&format!("grew by +{written}")),
        "{}",
        en.report
    );
    assert!(
        en.findings[0]
            .text
            .starts_with("The current ratio moved from ")
    );
    assert!(!en.findings[0].text.contains("{{"));
    let fr = p
        .analyze(AnalysisRequest::new(
            bistro(),
            "Notre fonds de roulement se resserre-t-il ?",
        ))
        .await
        .unwrap();
    assert!(fr.report.contains("### Chiffres clés"), "{}", fr.report);
    let written = finops_core::pipeline::Language::Fr
        .number(change, 0)
        .replace(' ', "\u{a0}");
    assert!(
        fr.report.contains(&format!("+{written}\u{a0}CAD")),
        "{}",
        fr.report
    );
}

#[tokio::test]
async fn openrouter_marks_the_system_prompt_of_anthropic_models_and_reads_cache_writes() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/api/v1/chat/completions",
        post(move |body: String| {
            let s = s.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                s.lock().unwrap().push(v.clone());
                let text = answer_to(&v);
                let usage = json!({"prompt_tokens": 2000, "completion_tokens": 100, "cost": 0.0021,
                    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 1500}});
                sse(vec![
                    format!(
                        "data: {}\n\n",
                        json!({"choices": [{"delta": {"content": text}}]})
                    ),
                    format!("data: {}\n\n", json!({"choices": [], "usage": usage})),
                    "data: [DONE]\n\n".into(),
                ])
            }
        }),
    );
    let addr = serve(router).await;
    let provider = Arc::new(
        OpenAiCompatible::new(
            "openrouter",
            &format!("http://{addr}/api/v1"),
            Some(ApiKey::new("sk-or-1").unwrap()),
        )
        .unwrap()
        .openrouter_extensions(true),
    );
    let a = pipeline(provider, "anthropic/claude-sonnet-4.5")
        .analyze(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    assert!(!a.degraded, "{:?}", a.degraded_reason);
    for body in seen.lock().unwrap().iter() {
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            json!({"type": "ephemeral"}),
            "five minutes unless the host asks for an hour"
        );
        assert!(
            body["messages"][1]["content"].as_str().is_some(),
            "only the stable prefix is marked"
        );
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["usage"]["include"], true);
    }
    for u in &a.usage {
        assert_eq!(
            (u.cache_write_tokens, u.cached_input_tokens),
            (1500 * u64::from(u.calls), 0)
        );
        // OpenRouter's reported cost wins over the table.
        assert_eq!(
            u.cost_usd,
            Some(Decimal::new(21, 4) * Decimal::from(u.calls))
        );
    }
}

/// Anthropic's API at a local stub.
fn anthropic_at(addr: SocketAddr) -> Anthropic {
    Anthropic::with_options(
        &format!("http://{addr}"),
        ApiKey::new("sk-ant-1").unwrap(),
        &HttpOptions::default(),
    )
    .unwrap()
}

/// Anthropic's stream for a forced tool call: the answer arrives as `input_json_delta` pieces.
fn tool_stream(json_text: &str, usage: Value) -> Response {
    let mut events = vec![
        format!(
            "event: message_start\ndata: {}\n\n",
            json!({"type": "message_start", "message": {"usage": usage}})
        ),
        format!(
            "event: content_block_start\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t1", "name": "x", "input": {}}})
        ),
    ];
    for piece in json_text.as_bytes().chunks(40) {
        let piece = String::from_utf8_lossy(piece).to_string();
        events.push(format!(
            "event: content_block_delta\ndata: {}\n\n",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})
        ));
    }
    events.push(format!(
        "event: message_delta\ndata: {}\n\n",
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 200}})
    ));
    events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
    sse(events)
}

#[tokio::test]
async fn anthropic_gets_a_forced_tool_call_and_cache_marker_and_costs_use_the_cache_prices() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/v1/messages",
        post(move |body: String| {
            let s = s.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                let first_of_phase = {
                    let mut seen = s.lock().unwrap();
                    let system = system_of(&v);
                    let first = !seen.iter().any(|b| system_of(b) == system);
                    seen.push(v.clone());
                    first
                };
                // The first call of a prefix writes it to the cache; later calls read it.
                let usage = if first_of_phase {
                    json!({"input_tokens": 500, "cache_creation_input_tokens": 1200, "cache_read_input_tokens": 0, "output_tokens": 1})
                } else {
                    json!({"input_tokens": 500, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1200, "output_tokens": 1})
                };
                tool_stream(&answer_to(&v), usage)
            }
        }),
    );
    let addr = serve(router).await;
    let provider = Arc::new(anthropic_at(addr));
    let p = pipeline(provider, "claude-sonnet-4-5");
    let first = p
        .analyze(
            AnalysisRequest::new(bistro(), "Is our working capital getting tighter?")
                .cache_mode(finops_core::analysis::CacheMode::Off),
        )
        .await
        .unwrap();
    assert!(!first.degraded, "{:?}", first.degraded_reason);
    for body in seen.lock().unwrap().iter() {
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        let name = body["tools"][0]["name"].as_str().unwrap();
        assert!(name.starts_with("finops_"), "{name}");
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": name}));
        assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
        assert!(body["max_tokens"].as_u64().unwrap() < 4096);
    }
    // Each phase made one call writing its 1,200-token prefix: 500 * $3 + 1,200 * $3.75 + 200 * $15 per million
    // = $0.009 per call, three calls.
    for u in &first.usage {
        assert_eq!(
            (
                u.input_tokens,
                u.cache_write_tokens,
                u.cache_write_1h_tokens,
                u.cached_input_tokens,
                u.output_tokens
            ),
            (1700, 1200, 0, 0, 200)
        );
        assert_eq!(u.cost_usd, Some(Decimal::new(9, 3)), "{u:?}");
    }
    assert_eq!(first.total_cost_usd, Some(Decimal::new(27, 3)));
    // The same prefixes again are read from the cache: 500 * $3 + 1,200 * $0.30 + 200 * $15 = $0.00486 per call.
    let second = p
        .analyze(
            AnalysisRequest::new(bistro(), "How is our liquidity?")
                .cache_mode(finops_core::analysis::CacheMode::Off),
        )
        .await
        .unwrap();
    for u in &second.usage {
        assert_eq!((u.cached_input_tokens, u.cache_write_tokens), (1200, 0));
        assert_eq!(u.cost_usd, Some(Decimal::new(486, 5)), "{u:?}");
    }
    assert_eq!(second.total_cost_usd, Some(Decimal::new(1458, 5)));
}

#[tokio::test]
async fn an_hour_long_prompt_cache_is_marked_flagged_and_priced_and_the_tool_schema_holds_nothing_of_the_document()
 {
    let seen: Arc<Mutex<Vec<BetaAndBody>>> = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/v1/messages",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                let beta = headers
                    .get("anthropic-beta")
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string);
                s.lock().unwrap().push((beta, v.clone()));
                let usage = json!({"input_tokens": 500, "cache_creation_input_tokens": 1200,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1200},
                    "cache_read_input_tokens": 0, "output_tokens": 1});
                tool_stream(&answer_to(&v), usage)
            }
        }),
    );
    let addr = serve(router).await;
    let provider = Arc::new(anthropic_at(addr).prompt_cache(PromptCacheTtl::OneHour));
    let a = pipeline(provider, "claude-sonnet-4-5")
        .analyze(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    assert!(!a.degraded, "{:?}", a.degraded_reason);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (beta, body) in seen.iter() {
        assert_eq!(beta.as_deref(), Some(EXTENDED_CACHE_TTL_BETA));
        assert_eq!(
            body["system"][0]["cache_control"],
            json!({"type": "ephemeral", "ttl": "1h"})
        );
        // The tools lead the cached prefix: their schema names no period, figure or metric list of this
        // document, so the next company's analysis finds the same prefix.
        let tool = body["tools"][0]["input_schema"].to_string();
        assert!(
            !tool.contains("\"enum\"") && !tool.contains("FY2021"),
            "{tool}"
        );
        assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    }
    // An hour-long write: 500 * $3 + 1,200 * $6 + 200 * $15 per million = $0.0117 per call.
    for u in &a.usage {
        assert_eq!(
            (
                u.cache_write_tokens,
                u.cache_write_1h_tokens,
                u.cached_input_tokens
            ),
            (1200, 1200, 0)
        );
        assert_eq!(u.cost_usd, Some(Decimal::new(117, 4)), "{u:?}");
    }
}

#[tokio::test]
async fn a_report_that_says_a_figure_rose_when_it_fell_is_repaired_then_replaced() {
    // The Bistro's current ratio went down from FY2022 to FY2023; this model says it went up, twice.
    let figures = finops_core::metrics::compute_all(&bistro());
    let value = |id: &str| figures.iter().find(|f| f.id == id).unwrap().value.unwrap();
    assert!(value("current_ratio@FY2023") < value("current_ratio@FY2022"));
    let router = Router::new().route(
        "/v1/chat/completions",
        post(|body: String| async move {
            let v: Value = serde_json::from_str(&body).unwrap();
            let text = answer_to(&v).replace(
                "against {{current_ratio@FY2022}} a year earlier",
                "it rose from {{current_ratio@FY2022}} to {{current_ratio@FY2023}}",
            );
            sse(vec![
                format!(
                    "data: {}\n\n",
                    json!({"choices": [{"delta": {"content": text}}]})
                ),
                "data: [DONE]\n\n".into(),
            ])
        }),
    );
    let addr = serve(router).await;
    let provider =
        Arc::new(OpenAiCompatible::new("local", &format!("http://{addr}/v1"), None).unwrap());
    let a = pipeline(provider, "m")
        .analyze(AnalysisRequest::new(
            bistro(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    let usage = a
        .usage
        .iter()
        .find(|u| u.phase == Phase::Validator)
        .unwrap();
    assert_eq!(usage.calls, 2, "one repair round");
    assert_eq!(a.report_source, ReportSource::Offline);
    let reason = a.degraded_reason.unwrap();
    assert!(
        reason.contains("says a rise (`rose`)") && reason.contains("went down"),
        "{reason}"
    );
}
