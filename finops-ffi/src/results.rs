//! What an app gets back: an analysis's main facts (and its whole JSON), and streamed events.

use super::*;

/// The main facts of an `Analysis`, plus the whole contract as JSON.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisResult {
    pub id: String,
    pub tenant: String,
    pub client: String,
    pub language: String,
    pub report: String,
    /// `validator`, `validator_repaired` or `offline`.
    pub report_source: String,
    pub grounded: bool,
    pub degraded: bool,
    pub degraded_reason: Option<String>,
    /// USD as decimal text; null when unknown.
    pub total_cost_usd: Option<String>,
    /// `miss`, `exact`, `semantic` or `plan`.
    pub cache: String,
    /// What a cache hit did not spend (USD decimal text); null on a miss. Never part of `total_cost_usd`.
    pub saved_usd: Option<String>,
    /// The similarity of the reused question (semantic and plan hits), decimal text.
    pub cache_similarity: Option<String>,
    pub figures: Vec<Figure>,
    /// The whole `Analysis` (plan, findings, usage per phase, …) as JSON.
    pub json: String,
}

pub(crate) fn result(a: &pipeline::Analysis) -> Result<AnalysisResult, FinopsError> {
    Ok(AnalysisResult {
        id: a.id.clone(),
        tenant: a.tenant.clone(),
        client: a.client.clone(),
        language: a.language.id().to_string(),
        report: a.report.clone(),
        report_source: word(&a.report_source),
        grounded: a.validation.grounded,
        degraded: a.degraded,
        degraded_reason: a.degraded_reason.clone(),
        total_cost_usd: a.total_cost_usd.map(|c| c.to_string()),
        cache: word(&a.cache),
        saved_usd: a.saved_usd.map(|c| c.to_string()),
        cache_similarity: a.cache_similarity.map(|c| c.to_string()),
        figures: a.figures.iter().map(figure).collect(),
        json: serde_json::to_string(a).map_err(internal)?,
    })
}

/// One event of a running analysis.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisEvent {
    /// `queued`, `phase_started`, `text_delta`, `retry`, `fallback`, `computation_done`, `phase_finished`,
    /// `cache_hit`, `degraded`, `completed` or `failed`.
    pub kind: String,
    pub phase: Option<PhaseFfi>,
    pub text: Option<String>,
    pub reason: Option<String>,
    pub analysis: Option<AnalysisResult>,
    /// The event as JSON.
    pub json: String,
}

pub(crate) fn event(e: &pipeline::Event) -> Result<AnalysisEvent, FinopsError> {
    use pipeline::Event as E;
    let phase = match e {
        E::PhaseStarted { phase }
        | E::TextDelta { phase, .. }
        | E::Retry { phase, .. }
        | E::Fallback { phase, .. }
        | E::Degraded { phase, .. } => Some((*phase).into()),
        E::PhaseFinished { usage } => Some(usage.phase.into()),
        _ => None,
    };
    let reason = match e {
        E::Retry { reason, .. } | E::Fallback { reason, .. } | E::Degraded { reason, .. } => {
            Some(reason.clone())
        }
        E::Failed { error } => Some(error.message.clone()),
        _ => None,
    };
    Ok(AnalysisEvent {
        kind: e.kind().to_string(),
        phase,
        text: match e {
            E::TextDelta { text, .. } => Some(text.clone()),
            _ => None,
        },
        reason,
        analysis: match e {
            E::Completed { analysis } => Some(result(analysis)?),
            _ => None,
        },
        json: serde_json::to_string(e).map_err(internal)?,
    })
}

/// Receives the events of a streamed analysis, in order, on a background thread.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: AnalysisEvent);
}
