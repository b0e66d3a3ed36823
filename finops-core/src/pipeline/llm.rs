//! The LLM side of each phase: prompts, calls with streamed deltas, typed parsing of the JSON answers, and the
//! one repair attempt an invalid answer gets.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::grounding::GroundingContext;
use super::references::References;
pub(crate) use super::report::{
    RawValidated, ReportFrame, ReportSections, Validated, parse_validated,
};
use super::{
    AnalysisPlan, Comparison, ComputationRecord, Emitter, Event, Finding, FindingStatus, Intent,
    Language, PhaseConfig, intent,
};
use crate::error::{Error, Result};
use crate::metrics::{Figure, MetricId, Unit, expr};
use crate::portfolio::Benchmark;
use crate::provider::{
    self, ChatChunk, ChatRequest, Message, Phase, PriceTable, ResponseSchema, TokenUsage,
};
use crate::statements::{Line, Period, Statements};
use rust_decimal::Decimal;

/// The prompt templates' version, recorded in every `Analysis` and part of the cache key.
pub const PROMPT_VERSION: &str = "v3";

const ANALYST: &str = include_str!("prompts/analyst.v3.md");
const RESEARCHER: &str = include_str!("prompts/researcher.v3.md");
pub(crate) const VALIDATOR: &str = include_str!("prompts/validator.v3.md");

/// Most computations and findings a Researcher answer may carry.
const MAX_ITEMS: usize = 30;

/// Calls, tokens, cost and time spent by one phase.
#[derive(Debug)]
pub(crate) struct PhaseCalls {
    pub(crate) calls: u32,
    pub(crate) retries: u32,
    pub(crate) fallbacks: u32,
    pub(crate) usage: TokenUsage,
    /// Summed over calls; `None` once a call could not be priced.
    pub(crate) cost: Option<Decimal>,
    pub(crate) unpriced: bool,
    pub(crate) usage_missing: bool,
    /// The provider and model that answered last, when a fallback changed them.
    pub(crate) served_by: Option<(String, String)>,
    pub(crate) started: Instant,
}

impl PhaseCalls {
    pub(crate) fn new() -> Self {
        PhaseCalls {
            calls: 0,
            retries: 0,
            fallbacks: 0,
            usage: TokenUsage::default(),
            cost: Some(Decimal::ZERO),
            unpriced: false,
            usage_missing: false,
            served_by: None,
            started: Instant::now(),
        }
    }
}

/// One phase's conversation with its provider.
pub(crate) struct Conversation<'a> {
    pub(crate) phase: Phase,
    pub(crate) config: &'a PhaseConfig,
    pub(crate) prices: &'a PriceTable,
    pub(crate) emitter: &'a Emitter,
    pub(crate) calls: &'a mut PhaseCalls,
    pub(crate) messages: Vec<Message>,
    /// The schema the next answer must follow (it may narrow between rounds).
    pub(crate) schema: ResponseSchema,
    /// The output budget the schema allows (the phase's own `max_tokens` caps it further).
    pub(crate) budget: u32,
}

impl Conversation<'_> {
    /// One call to the phase's provider, in a span named and attributed as OpenTelemetry's GenAI conventions say
    /// (`gen_ai.operation.name`, `gen_ai.system`, `gen_ai.request.model`, `gen_ai.response.model`,
    /// `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`), with the phase. No prompt or answer text.
    async fn ask(&mut self) -> Result<String> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "gen_ai.chat",
            otel.name = %format!("chat {}", self.config.model),
            gen_ai.operation.name = "chat",
            gen_ai.system = %self.config.provider.name(),
            gen_ai.request.model = %self.config.model,
            gen_ai.response.model = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            finops.phase = %self.phase,
            error.type = tracing::field::Empty,
        );
        let (input, output) = (
            self.calls.usage.input_tokens,
            self.calls.usage.output_tokens,
        );
        let result = self.ask_once().instrument(span.clone()).await;
        span.record(
            "gen_ai.usage.input_tokens",
            self.calls.usage.input_tokens.saturating_sub(input),
        );
        span.record(
            "gen_ai.usage.output_tokens",
            self.calls.usage.output_tokens.saturating_sub(output),
        );
        let answered_by = self
            .calls
            .served_by
            .as_ref()
            .map_or(self.config.model.as_str(), |(_, model)| model.as_str());
        span.record(
            "gen_ai.response.model",
            tracing::field::display(answered_by),
        );
        if let Err(e) = &result {
            span.record("error.type", e.code());
        }
        result
    }

    async fn ask_once(&mut self) -> Result<String> {
        let request = ChatRequest {
            model: self.config.model.clone(),
            messages: self.messages.clone(),
            temperature: self.config.temperature,
            max_tokens: Some(
                self.config
                    .max_tokens
                    .map_or(self.budget, |cap| cap.min(self.budget)),
            ),
            json_mode: true,
            schema: Some(self.schema.clone()),
            phase: self.phase,
        };
        self.calls.calls += 1;
        let stream = self.config.provider.chat(request).await?;
        let phase = self.phase;
        let emitter = self.emitter;
        let prices = self.prices;
        let today = chrono::Utc::now().date_naive();
        let calls = &mut *self.calls;
        // The model answering now: a fallback changes it, and each usage is priced at its own model.
        let mut model = self.config.model.clone();
        let mut saw_usage = false;
        // Counted from the chunks, so retries, fallbacks and tokens of a call that finally fails are not lost.
        let result = provider::collect(stream, |chunk| {
            match chunk {
                ChatChunk::Delta { .. } => {}
                ChatChunk::Usage { usage } => {
                    saw_usage = true;
                    match prices.cost(&model, usage, today) {
                        Some(c) => calls.cost = calls.cost.and_then(|sum| sum.checked_add(c)),
                        None => {
                            calls.cost = None;
                            calls.unpriced = true;
                        }
                    }
                    calls.usage.add_tokens(usage);
                }
                ChatChunk::Retry { .. } => calls.retries += 1,
                ChatChunk::Fallback {
                    to, model: next, ..
                } => {
                    calls.fallbacks += 1;
                    calls.served_by = Some((to.clone(), next.clone()));
                    model.clone_from(next);
                }
            }
            if !emitter.is_listening() {
                return;
            }
            match chunk {
                ChatChunk::Delta { text } => emitter.emit(Event::TextDelta {
                    phase,
                    text: text.clone(),
                }),
                ChatChunk::Retry { attempt, reason } => emitter.emit(Event::Retry {
                    phase,
                    attempt: *attempt,
                    reason: reason.clone(),
                }),
                ChatChunk::Fallback {
                    from,
                    to,
                    model,
                    reason,
                } => emitter.emit(Event::Fallback {
                    phase,
                    from: from.clone(),
                    to: to.clone(),
                    model: model.clone(),
                    reason: reason.clone(),
                }),
                ChatChunk::Usage { .. } => {}
            }
        })
        .await;
        let response = result?;
        if !saw_usage {
            // Some servers (llama-cpp-python when streaming) report no usage: tokens and cost are unknown, not 0.
            self.calls.usage_missing = true;
            self.calls.cost = None;
        }
        self.messages
            .push(Message::assistant(response.text.clone()));
        Ok(response.text)
    }

    /// Asks, parses, and on a parse error re-asks once with the error. A second bad answer fails the phase.
    pub(crate) async fn ask_parsed<T>(
        &mut self,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let text = self.ask().await?;
        let first = match parse(&text) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        self.messages.push(Message::user(format!(
            "Your answer could not be used: {first}. Reply with only the corrected JSON object."
        )));
        let text = self.ask().await?;
        parse(&text).map_err(|second| {
            Error::provider(
                self.config.provider.name(),
                format!(
                    "the {} answer was still invalid after one repair: {second}",
                    self.phase
                ),
                false,
            )
        })
    }

    pub(crate) fn say(&mut self, text: String) {
        self.messages.push(Message::user(text));
    }
}

/// The JSON object in a model's answer: code fences and prose around it are tolerated.
fn json_object(text: &str) -> std::result::Result<&str, String> {
    let start = text.find('{').ok_or("the answer contains no JSON object")?;
    let end = text.rfind('}').ok_or("the JSON object is not closed")?;
    if end < start {
        return Err("the JSON object is not closed".into());
    }
    Ok(&text[start..=end])
}

pub(crate) fn parse_json<'a, T: Deserialize<'a>>(text: &'a str) -> std::result::Result<T, String> {
    serde_json::from_str(json_object(text)?).map_err(|e| format!("invalid JSON: {e}"))
}

/// The statements as the Analyst sees them: no client identity, no amounts. The lines any period reports are
/// listed once, and a period names only those it lacks (the same list three times is tokens billed for nothing).
pub(crate) fn summary(statements: &Statements) -> serde_json::Value {
    let company = statements.company();
    let reported = |p: &Period, l: Line| p.amount(l).is_some();
    let lines: Vec<Line> = Line::ALL
        .iter()
        .copied()
        .filter(|l| statements.periods().iter().any(|p| reported(p, *l)))
        .collect();
    let periods: Vec<_> = statements
        .periods()
        .iter()
        .map(|p| {
            let mut period =
                json!({"label": &*p.label, "start": p.start.to_string(), "end": p.end.to_string()});
            let missing: Vec<&str> = lines
                .iter()
                .filter(|l| !reported(p, **l))
                .map(|l| l.id())
                .collect();
            if !missing.is_empty() {
                period["missing_lines"] = json!(missing);
            }
            period
        })
        .collect();
    json!({
        "sector": company.sector,
        "naics": company.naics,
        "jurisdiction": company.jurisdiction,
        "currency": company.currency,
        "lines": lines.iter().map(|l| l.id()).collect::<Vec<_>>(),
        "periods": periods,
    })
}

pub(crate) fn analyst_messages(
    question: &str,
    statements: &Statements,
    language: Language,
) -> Vec<Message> {
    let catalogue: String = MetricId::ALL
        .iter()
        .map(|m| format!("  {}: {}\n", m.id(), m.formula()))
        .collect();
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.id()).collect();
    let system = ANALYST
        .replace("{{intents}}", &intents.join(", "))
        .replace("{{catalogue}}", catalogue.trim_end());
    let user = json!({
        "question": question,
        "language": language.id(),
        "statements": summary(statements),
    });
    vec![Message::system(system), Message::user(user.to_string())]
}

#[derive(Deserialize, JsonSchema)]
struct RawComparison {
    metric: String,
    from: String,
    to: String,
}

/// The Analyst's answer.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawPlan {
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    periods: Vec<String>,
    #[serde(default)]
    comparisons: Vec<RawComparison>,
    #[serde(default)]
    benchmark: bool,
}

/// Parses and checks an Analyst answer: catalogue metrics only, periods that exist, comparisons forward in time.
pub(crate) fn parse_plan(
    text: &str,
    statements: &Statements,
    language: Language,
) -> std::result::Result<AnalysisPlan, String> {
    let raw: RawPlan = parse_json(text)?;
    let mut problems = Vec::new();
    let mut intents: Vec<Intent> = Vec::new();
    for i in &raw.intents {
        match i.parse::<Intent>() {
            Ok(i) if !intents.contains(&i) => intents.push(i),
            Ok(_) => {}
            Err(_) => problems.push(format!("unknown intent `{i}`")),
        }
    }
    let mut metrics: Vec<MetricId> = Vec::new();
    for m in &raw.metrics {
        match m.parse::<MetricId>() {
            Ok(m) if !metrics.contains(&m) => metrics.push(m),
            Ok(_) => {}
            Err(_) => problems.push(format!("`{m}` is not a catalogue metric id")),
        }
    }
    if raw.metrics.is_empty() {
        problems.push("`metrics` is empty".into());
    }
    let mut indexes: Vec<usize> = Vec::new();
    for p in &raw.periods {
        match statements.period_index(p) {
            Some(i) if !indexes.contains(&i) => indexes.push(i),
            Some(_) => {}
            None => problems.push(format!("no period labelled `{p}`")),
        }
    }
    let mut comparisons = Vec::new();
    for c in &raw.comparisons {
        let metric = c.metric.parse::<MetricId>();
        let (from, to) = (
            statements.period_index(&c.from),
            statements.period_index(&c.to),
        );
        match (metric, from, to) {
            (Ok(metric), Some(f), Some(t)) if f < t => comparisons.push(Comparison {
                metric,
                from: c.from.clone(),
                to: c.to.clone(),
            }),
            _ => problems.push(format!(
                "comparison {} {} → {} must name a catalogue metric and an earlier then a later period",
                c.metric, c.from, c.to
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if intents.is_empty() {
        intents.push(Intent::HealthCheck);
    }
    intents.sort();
    metrics.sort();
    indexes.sort_unstable();
    let periods: Vec<String> = if indexes.is_empty() {
        let all = statements.periods();
        all[all.len().saturating_sub(3)..]
            .iter()
            .map(|p| p.label.to_string())
            .collect()
    } else {
        indexes
            .iter()
            .map(|i| statements.periods()[*i].label.to_string())
            .collect()
    };
    if comparisons.is_empty() {
        comparisons = intent::comparisons(&metrics, &periods);
    }
    Ok(AnalysisPlan {
        intents,
        metrics,
        periods,
        comparisons,
        language,
        benchmark: raw.benchmark,
    })
}

/// Figures as the Researcher and Validator read them: the id to cite and the value as the report will show it,
/// or why it is not computable; each metric's formula once. The exact value stays with the SDK, which writes every
/// reference: a model given 28-digit decimals only copies digits (small ones loop on them), and pays for them.
pub(crate) fn figures_json(
    figures: &[Figure],
    language: Language,
    currency: &str,
) -> serde_json::Value {
    let list: Vec<_> = figures
        .iter()
        .map(|f| match f.value {
            Some(v) => json!({"id": f.id, "display": language.value(v, f.unit, currency)}),
            None => json!({"id": f.id, "not_computable": f.reason}),
        })
        .collect();
    serde_json::Value::Array(list)
}

/// The formula of each metric among `figures`, once.
pub(crate) fn formulas_json(figures: &[Figure]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for f in figures {
        if !out.contains_key(f.metric.id()) {
            out.insert(f.metric.id().to_string(), json!(f.metric.formula()));
        }
    }
    serde_json::Value::Object(out)
}

/// A computation's result as a model reads it: written as the SDK will write `{{id}}`.
fn computation_display(value: Option<Decimal>, language: Language) -> Option<String> {
    value.map(|v| language.value(v, Unit::Ratio, ""))
}

pub(crate) fn researcher_messages(
    question: &str,
    plan: &AnalysisPlan,
    figures: &[Figure],
    benchmarks: &[Benchmark],
    statements: &Statements,
) -> Vec<Message> {
    let language = match plan.language {
        Language::Fr => "French",
        Language::En => "English",
    };
    let system = RESEARCHER.replace("{{language}}", language);
    let mut user = json!({
        "question": question,
        "plan": plan,
        "formulas": formulas_json(figures),
        "figures": figures_json(figures, plan.language, &statements.company().currency),
    });
    if !benchmarks.is_empty() {
        user["peer_benchmarks"] = benchmarks_json(benchmarks);
    }
    vec![
        Message::system(system),
        Message::user(in_language(
            user.to_string(),
            plan.language,
            Phase::Researcher,
        )),
    ]
}

/// Peer benchmarks as the Researcher and Validator read them: the id to cite, the company's own figure, and its
/// position (never another client's value).
pub(crate) fn benchmarks_json(benchmarks: &[Benchmark]) -> serde_json::Value {
    benchmarks
        .iter()
        .map(|b| {
            json!({
                "id": b.id,
                "metric": b.metric.id(),
                "period": &*b.period,
                "figure": b.figure.id,
                "cohort": b.cohort,
                "cohort_size": b.cohort_size,
                "percentile": b.percentile.to_string(),
                "quartile": b.quartile,
            })
        })
        .collect()
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawComputation {
    /// The SDK names computations `c1`, `c2`, … in the order they come, so the schema asks for none (small models
    /// copy the prompt's `c1` into every item); an id a model still gives is kept and checked.
    #[serde(default)]
    #[schemars(skip)]
    pub(crate) id: String,
    pub(crate) expression: String,
    pub(crate) period: String,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawFinding {
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) cites: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct Research {
    #[serde(default)]
    pub(crate) computations: Vec<RawComputation>,
    #[serde(default)]
    pub(crate) findings: Vec<RawFinding>,
}

/// Parses a Researcher answer; with `refs`, every `{{reference}}` of its findings must resolve (the computations
/// requested in the same answer included), or the answer gets a repair round naming them.
pub(crate) fn parse_research(
    text: &str,
    refs: Option<&References<'_>>,
) -> std::result::Result<Research, String> {
    let mut r: Research = parse_json(text)?;
    for (n, c) in r.computations.iter_mut().enumerate() {
        if c.id.trim().is_empty() {
            c.id = format!("c{}", n + 1);
        }
    }
    // A model that repeats itself (small ones loop) sends the same computation or finding twice: one is kept.
    // The same id for two different computations stays an error: which one a finding means is unknown.
    let mut seen_computations = std::collections::HashSet::new();
    r.computations.retain(|c| {
        seen_computations.insert((c.id.clone(), c.expression.clone(), c.period.clone()))
    });
    let mut seen_findings = std::collections::HashSet::new();
    r.findings
        .retain(|f| seen_findings.insert((f.text.clone(), f.cites.clone())));
    if r.computations.len() > MAX_ITEMS || r.findings.len() > MAX_ITEMS {
        return Err(format!(
            "at most {MAX_ITEMS} computations and {MAX_ITEMS} findings"
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for c in &r.computations {
        if c.id.trim().is_empty() || c.id.contains('@') || !ids.insert(c.id.as_str()) {
            return Err(format!(
                "computation id `{}` must be non-empty, unique and without `@`",
                c.id
            ));
        }
    }
    if r.findings.iter().any(|f| f.text.trim().is_empty()) {
        return Err("a finding has empty `text`".into());
    }
    if r.computations.is_empty() && r.findings.is_empty() {
        return Err("neither computations nor findings".into());
    }
    if let Some(refs) = refs {
        let pending: Vec<String> = r.computations.iter().map(|c| c.id.clone()).collect();
        let refs = References {
            pending: &pending,
            ..*refs
        };
        let problems: Vec<String> = r
            .findings
            .iter()
            .filter_map(|f| refs.check(&f.text).err())
            .collect();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
    }
    Ok(r)
}

/// Evaluates the Researcher's computations exactly, announcing each one.
pub(crate) fn evaluate(
    raw: &[RawComputation],
    statements: &Statements,
    emitter: &Emitter,
) -> Vec<ComputationRecord> {
    raw.iter()
        .map(|c| {
            let result = expr::evaluate(statements, &c.expression, &c.period);
            let record = ComputationRecord::from_result(
                c.id.clone(),
                c.expression.clone(),
                c.period.clone(),
                result,
            );
            if emitter.is_listening() {
                emitter.emit(Event::ComputationDone {
                    computation: record.clone(),
                });
            }
            record
        })
        .collect()
}

pub(crate) fn computation_results(records: &[ComputationRecord], language: Language) -> String {
    let results: Vec<_> = records
        .iter()
        .map(|c| json!({"id": c.id, "value": computation_display(c.value, language), "error": c.error}))
        .collect();
    json!({
        "computation_results": results,
        "instruction": "Reply with your final findings as the same JSON object; further computations are ignored."
    })
    .to_string()
}

/// The SDK's own checks on findings: references written out (a finding's references are citations too), every
/// cited id must exist (and have a value), direction words must agree with the figures they stand next to, and
/// every number the model typed must be grounded. Failing findings are rejected with a note; the rest stay
/// unchecked for the Validator.
pub(crate) fn check_findings(
    raw: Vec<RawFinding>,
    refs: &References<'_>,
    grounding: &GroundingContext,
) -> Vec<Finding> {
    raw.into_iter()
        .map(|f| {
            let RawFinding { text, mut cites } = f;
            let (text, note) = match refs.render(&text) {
                Ok(rendered) => {
                    for id in &rendered.ids {
                        if !cites.contains(id) {
                            cites.push(id.clone());
                        }
                    }
                    let unknown = cites.iter().find(|id| !refs.knows(id));
                    let ungrounded =
                        grounding.check_with_changes(&rendered.text, refs.language, &rendered.changes);
                    let note = if cites.is_empty() {
                        Some("cites no figure".to_string())
                    } else if let Some(id) = unknown {
                        Some(format!(
                            "cites `{id}`, which is not a computed figure, computation or peer benchmark"
                        ))
                    } else if let Some(c) = rendered.contradictions.first() {
                        Some(c.clone())
                    } else {
                        ungrounded
                            .first()
                            .map(|n| format!("the number {} is not in the figures", n.text))
                    };
                    (rendered.text, note)
                }
                Err(problems) => {
                    let note = problems.join("; ");
                    (text, Some(note))
                }
            };
            Finding {
                text,
                cites,
                status: if note.is_some() {
                    FindingStatus::Rejected
                } else {
                    FindingStatus::Unchecked
                },
                note,
            }
        })
        .collect()
}

/// A question as a model is sent it (pseudonymized), with what the offline rules read in the original.
pub(crate) struct Question<'a> {
    pub(crate) text: &'a str,
    pub(crate) cues: &'a intent::Cues,
}

pub(crate) fn validator_messages(
    question: Question<'_>,
    plan: &AnalysisPlan,
    figures: &[Figure],
    computations: &[ComputationRecord],
    benchmarks: &[Benchmark],
    findings: &[Finding],
    statements: &Statements,
) -> Vec<Message> {
    let (language, style) = match plan.language {
        Language::Fr => ("French", "1 234 567 $, 12,34 %, 1,25"),
        Language::En => ("English", "$1,234,567, 12.34%, 1.25"),
    };
    let system = VALIDATOR
        .replace("{{language}}", language)
        .replace("{{number_style}}", style);
    let findings: Vec<_> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| json!({"index": i, "text": f.text, "cites": f.cites, "sdk_rejected": f.note}))
        .collect();
    let computations: Vec<_> = computations
        .iter()
        .map(|c| json!({"id": c.id, "expression": c.expression, "period": c.period, "value": computation_display(c.value, plan.language), "error": c.error}))
        .collect();
    let warnings: Vec<&str> = statements
        .warnings()
        .iter()
        .map(|w| w.message.as_str())
        .collect();
    let user = json!({
        "question": question.text,
        "plan": plan,
        "formulas": formulas_json(figures),
        "figures": figures_json(figures, plan.language, &statements.company().currency),
        "computations": computations,
        "findings": findings,
        "statement_warnings": warnings,
    });
    let mut user = user;
    if !benchmarks.is_empty() {
        user["peer_benchmarks"] = benchmarks_json(benchmarks);
    }
    answer_hints(&mut user, question.cues, plan, figures, statements);
    vec![
        Message::system(system),
        Message::user(in_language(
            user.to_string(),
            plan.language,
            Phase::Validator,
        )),
    ]
}

/// What the rules read in the question, for the report's first sentence, in keys that say what to do with them:
/// the planned metrics the question names (`answer_speaks_first_of`), and for a yes/no question about a movement,
/// the word the figures answer it with (`answer_opens_with`: "No." to "is our working capital getting tighter?"
/// when it rose). Absent when the rules read nothing, so other requests are unchanged. The acceptance check holds
/// an answer that opens with a yes or a no to the same reading of the figures.
fn answer_hints(
    user: &mut serde_json::Value,
    cues: &intent::Cues,
    plan: &AnalysisPlan,
    figures: &[Figure],
    statements: &Statements,
) {
    let named: Vec<&str> = cues
        .metrics
        .iter()
        .filter(|m| plan.metrics.contains(m))
        .map(|m| m.id())
        .collect();
    if !named.is_empty() {
        user["answer_speaks_first_of"] = json!(named);
    }
    let currency = &statements.company().currency;
    if let Some((yes, _)) = super::offline::figures_answer(plan, figures, currency, cues) {
        user["answer_opens_with"] = json!(match (plan.language, yes) {
            (Language::En, true) => "Yes.",
            (Language::En, false) => "No.",
            (Language::Fr, true) => "Oui.",
            (Language::Fr, false) => "Non.",
        });
    }
}

/// The line that ends a French Validator request (see [`in_language`]); a report that only repeats it is an echo.
pub(crate) const FRENCH_VALIDATOR_LINE: &str = "Rédigez le rapport en français.";

/// A French request ends with its language said in French: a model reads the last words it was given most closely,
/// and small ones otherwise answer a French question in the English of their instructions.
fn in_language(mut user: String, language: Language, phase: Phase) -> String {
    if language == Language::Fr {
        user.push_str("\n\n");
        user.push_str(match phase {
            Phase::Researcher => "Rédigez les constats en français.",
            _ => FRENCH_VALIDATOR_LINE,
        });
    }
    user
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct Verdict {
    pub(crate) finding: usize,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// Applies the Validator's verdicts; findings the SDK already rejected stay rejected.
pub(crate) fn apply_verdicts(findings: &mut [Finding], verdicts: &[Verdict]) {
    for v in verdicts {
        if let Some(f) = findings.get_mut(v.finding)
            && f.status != FindingStatus::Rejected
        {
            f.status = if v.status == "confirmed" {
                FindingStatus::Confirmed
            } else {
                FindingStatus::Rejected
            };
            if v.note.is_some() {
                f.note.clone_from(&v.note);
            }
        }
    }
}

pub(crate) fn grounding_repair(ungrounded: &[super::UngroundedNumber]) -> String {
    let list: Vec<&str> = ungrounded.iter().map(|u| u.text.as_str()).collect();
    format!(
        "These numbers in your report are not in the figures, computations or input amounts: {}. Rewrite the report \
         using only the numbers you were given, and reply with the same JSON object.",
        list.join(", ")
    )
}
