//! The LLM side of each phase: prompts, calls with streamed deltas, typed parsing of the JSON answers, and the
//! one repair attempt an invalid answer gets. Each phase's request and the parsing of its answer are in a child
//! module (`analyst`, `researcher`, `validator`); what they share (the conversation, the figures as models read
//! them, the language line) is here.

use std::time::Instant;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

pub(crate) use super::report::{
    RawValidated, ReportFrame, ReportSections, Validated, parse_validated,
};
use super::{Emitter, Event, Language, PhaseConfig};
use crate::error::{Error, Result};
use crate::metrics::{Figure, Unit};
use crate::portfolio::Benchmark;
use crate::provider::{
    self, ChatChunk, ChatRequest, Message, Phase, PriceTable, ResponseSchema, TokenUsage,
};

mod analyst;
mod researcher;
mod validator;

pub(crate) use analyst::{RawPlan, analyst_messages, parse_plan};
pub(crate) use researcher::{
    Research, check_findings, computation_results, evaluate, parse_research, researcher_messages,
};
pub(crate) use validator::{
    Question, Verdict, apply_verdicts, grounding_repair, validator_messages,
};

/// The prompt templates' version, recorded in every `Analysis` and part of the cache key.
pub const PROMPT_VERSION: &str = "v5";

const ANALYST: &str = include_str!("prompts/analyst.v5.md");
const RESEARCHER: &str = include_str!("prompts/researcher.v5.md");
pub(crate) const VALIDATOR: &str = include_str!("prompts/validator.v5.md");

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
