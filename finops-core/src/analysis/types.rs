//! The pipeline's contracts (ARCHITECTURE.md "Layers"): the plan, findings, the validated `Analysis` and the events
//! streamed while it runs. Field names are part of the JSON contract every binding exposes: do not rename them.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Language;
use super::Phase;
use crate::error::Error;
use crate::metrics::expr::Computation;
use crate::metrics::{Category, Figure, MetricId};
use crate::statements::Warning;

/// What a question is about; the offline analyst's rules and the plan cache's guard both use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Profitability,
    Liquidity,
    Solvency,
    Efficiency,
    Growth,
    CashFlow,
    /// A full health check: every family.
    HealthCheck,
}

impl Intent {
    pub const ALL: [Intent; 7] = [
        Intent::Profitability,
        Intent::Liquidity,
        Intent::Solvency,
        Intent::Efficiency,
        Intent::Growth,
        Intent::CashFlow,
        Intent::HealthCheck,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Intent::Profitability => "profitability",
            Intent::Liquidity => "liquidity",
            Intent::Solvency => "solvency",
            Intent::Efficiency => "efficiency",
            Intent::Growth => "growth",
            Intent::CashFlow => "cash_flow",
            Intent::HealthCheck => "health_check",
        }
    }

    /// The metric family an intent reads, or `None` for the health check (all of them).
    pub fn category(self) -> Option<Category> {
        match self {
            Intent::Profitability => Some(Category::Profitability),
            Intent::Liquidity => Some(Category::Liquidity),
            Intent::Solvency => Some(Category::Solvency),
            Intent::Efficiency => Some(Category::Efficiency),
            Intent::Growth => Some(Category::Growth),
            Intent::CashFlow => Some(Category::CashFlow),
            Intent::HealthCheck => None,
        }
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Intent {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Intent::ALL
            .into_iter()
            .find(|i| i.id() == s)
            .ok_or_else(|| Error::invalid_argument("intent", format!("unknown intent `{s}`")))
    }
}

/// A period-over-period comparison the plan asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub metric: MetricId,
    /// The earlier period's label.
    pub from: String,
    /// The later period's label.
    pub to: String,
}

/// What the Analyst decided to look at. It carries no client data, so it can be cached and shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisPlan {
    pub intents: Vec<Intent>,
    /// Catalogue metrics to compute, in catalogue order.
    pub metrics: Vec<MetricId>,
    /// Period labels to analyse, oldest first.
    pub periods: Vec<String>,
    #[serde(default)]
    pub comparisons: Vec<Comparison>,
    pub language: Language,
    /// Compare the client with the firm's other clients of its sector (peer benchmarks of the plan's metrics),
    /// when a portfolio is given or the vault holds the firm's clients.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub benchmark: bool,
}

/// A finding's status after the Validator (and the SDK's own checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Not checked yet (before the Validator).
    Unchecked,
    Confirmed,
    Rejected,
}

/// One observation, citing the figures and computations it rests on by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub text: String,
    /// Figure ids (`gross_margin@FY2023`) and computation ids (`c1`).
    pub cites: Vec<String>,
    pub status: FindingStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// A computation the Researcher asked for, evaluated exactly by the SDK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputationRecord {
    /// The id findings cite, e.g. `c1`.
    pub id: String,
    pub expression: String,
    pub period: String,
    /// The result, or `None` with `error` when the expression was refused.
    pub value: Option<Decimal>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub inputs: Vec<crate::metrics::FigureInput>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

impl ComputationRecord {
    pub(crate) fn from_result(
        id: String,
        expression: String,
        period: String,
        result: crate::Result<Computation>,
    ) -> Self {
        match result {
            Ok(c) => ComputationRecord {
                id,
                expression,
                period,
                value: Some(c.value),
                inputs: c.inputs,
                error: None,
            },
            Err(e) => ComputationRecord {
                id,
                expression,
                period,
                value: None,
                inputs: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }
}

/// A number in the report that no figure, computation or input amount explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UngroundedNumber {
    /// The number as written, e.g. `12,5 %`.
    pub text: String,
    /// Byte offset in the report.
    pub offset: usize,
}

/// The SDK's verdict on the final report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// Every number in the report is traceable to a figure, a computation or an input amount.
    pub grounded: bool,
    pub ungrounded_numbers: Vec<UngroundedNumber>,
    /// Statement warnings, rejected findings and anything else the reader must know.
    pub warnings: Vec<String>,
}

/// Who wrote the final report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// The Validator's report, grounded at the first attempt.
    Validator,
    /// The Validator's report after one repair for ungrounded numbers.
    ValidatorRepaired,
    /// The offline analyst's templated report.
    Offline,
}

/// Usage and cost of one phase (all its calls, repairs included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseUsage {
    pub phase: Phase,
    /// `offline` when the offline analyst did the phase's work.
    pub provider: String,
    pub model: String,
    pub calls: u32,
    /// Every input token, prompt-cache reads and writes included.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache (billed at its cache-read price).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache (billed at its cache-write price).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// USD; `None` when the cost is not known (no provider report and no price yet).
    pub cost_usd: Option<Decimal>,
    pub latency_ms: u64,
    /// Answered from a cache, at no cost.
    pub cached: bool,
    /// Attempts a resilience layer made again after a failure.
    #[serde(default)]
    pub retries: u32,
    /// Times the call moved to the next provider of a fallback chain.
    #[serde(default)]
    pub fallbacks: u32,
    /// A call used a model with no known price: `cost_usd` is unknown, not zero.
    #[serde(default)]
    pub unpriced: bool,
    /// A call's answer came with no token usage: its tokens and cost are unknown, not zero.
    #[serde(default)]
    pub usage_missing: bool,
}

/// Where the analysis came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    Miss,
    Exact,
    Semantic,
    Plan,
}

/// How long each part took, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    pub total_ms: u64,
    pub analyst_ms: u64,
    pub researcher_ms: u64,
    pub validator_ms: u64,
}

/// A validated analysis: the pipeline's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub id: String,
    pub tenant: String,
    pub client: String,
    pub question: String,
    pub language: Language,
    /// The statements fingerprint the analysis was computed from.
    pub fingerprint: String,
    pub plan: AnalysisPlan,
    /// The plan's figures, exact, with provenance.
    pub figures: Vec<Figure>,
    /// Where the client stands among the firm's other clients of its sector on the plan's metrics (when the plan
    /// asked for it and at least five other clients have the figure); cited by id like figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benchmarks: Vec<crate::portfolio::Benchmark>,
    pub computations: Vec<ComputationRecord>,
    pub findings: Vec<Finding>,
    /// Markdown.
    pub report: String,
    pub report_source: ReportSource,
    pub validation: Validation,
    pub statement_warnings: Vec<Warning>,
    pub usage: Vec<PhaseUsage>,
    /// USD; `None` when some phase's cost is unknown.
    pub total_cost_usd: Option<Decimal>,
    /// Which tier answered.
    pub cache: CacheOutcome,
    /// The cosine similarity of the reused question (semantic and plan hits), rounded to 4 places.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_similarity: Option<Decimal>,
    /// What a hit did not spend (the original run's cost; the Analyst's for a plan hit). Never counted in
    /// `total_cost_usd` or in the usage.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub saved_usd: Option<Decimal>,
    /// Some phase fell back to the offline analyst.
    pub degraded: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub degraded_reason: Option<String>,
    pub prompt_version: String,
    pub timings: Timings,
}

/// An error as events and bindings carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// [`Error::code`].
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            code: e.code().into(),
            message: e.to_string(),
            field: e.field().map(str::to_string),
        }
    }
}

/// What happens while an analysis runs, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Queued {
        analysis_id: String,
    },
    PhaseStarted {
        phase: Phase,
    },
    /// A piece of a model's answer as it streams.
    TextDelta {
        phase: Phase,
        text: String,
    },
    ComputationDone {
        computation: ComputationRecord,
    },
    PhaseFinished {
        usage: PhaseUsage,
    },
    CacheHit {
        outcome: CacheOutcome,
    },
    /// A provider call failed and is tried again; discard this phase's text received so far.
    Retry {
        phase: Phase,
        attempt: u32,
        reason: String,
    },
    /// A provider failed and the next one of the chain is asked; discard this phase's text received so far.
    Fallback {
        phase: Phase,
        from: String,
        to: String,
        model: String,
        reason: String,
    },
    /// A phase fell back to the offline analyst.
    Degraded {
        phase: Phase,
        reason: String,
    },
    Completed {
        analysis: Box<Analysis>,
    },
    Failed {
        error: ErrorInfo,
    },
}

impl Event {
    /// The event's `type` as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Queued { .. } => "queued",
            Event::PhaseStarted { .. } => "phase_started",
            Event::TextDelta { .. } => "text_delta",
            Event::ComputationDone { .. } => "computation_done",
            Event::PhaseFinished { .. } => "phase_finished",
            Event::CacheHit { .. } => "cache_hit",
            Event::Retry { .. } => "retry",
            Event::Fallback { .. } => "fallback",
            Event::Degraded { .. } => "degraded",
            Event::Completed { .. } => "completed",
            Event::Failed { .. } => "failed",
        }
    }
}
