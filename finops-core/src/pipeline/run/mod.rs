//! One analysis from request to validated result, in steps: check the request once, look in the caches
//! (`cache.rs`), reserve the budget, run the three phases (`phases.rs`: each tries its provider and falls back to
//! the offline analyst, and the report is grounded), settle the budget, keep the result in the caches, and save it
//! in the vault.

mod cache;
mod phases;

use tracing::Instrument;

use super::{Analysis, AnalysisRequest, Emitter, Language, Pipeline};
use crate::error::Result;
use crate::provider::Phase;

use cache::Lookup;

/// What the offline analyst's phases are recorded as in `usage`.
const OFFLINE_PROVIDER: &str = "offline";
pub(super) const OFFLINE_MODEL: &str = "rules-v10";

pub(crate) async fn run(
    pipeline: &Pipeline,
    request: AnalysisRequest,
    emitter: &Emitter,
) -> Result<Analysis> {
    request.validate()?;
    let Some(vault) = &pipeline.vault else {
        return run_checked(pipeline, request, emitter).await;
    };
    // Saved as the principal who asked, or as a CPA of the tenant when the host sent no principal.
    let who = match &request.principal {
        Some(p) => p.clone(),
        None => crate::security::Principal::new(
            request.tenant.clone(),
            crate::security::Role::Cpa,
            None,
        )?,
    };
    let statements = std::sync::Arc::clone(&request.statements);
    let analysis = run_checked(pipeline, request, emitter).await?;
    vault.save_analysis(&who, &analysis).await?;
    // The client's statements join the firm's portfolio (the newest periods kept), for peer benchmarks.
    vault
        .save_statements(&who, &analysis.tenant, &analysis.client, &statements)
        .await?;
    Ok(analysis)
}

/// A request already validated: rate limit, caches, budget, phases.
async fn run_checked(
    pipeline: &Pipeline,
    mut request: AnalysisRequest,
    emitter: &Emitter,
) -> Result<Analysis> {
    check_rate(pipeline, &request)?;
    // Peer benchmarks depend on the other clients' books, which no cache key covers: such an analysis is
    // computed afresh, and not kept.
    if crate::analysis::intent::asks_for_peers(&request.question) {
        request.cache_mode = crate::analysis::CacheMode::Off;
    }
    let language = request
        .language
        .unwrap_or_else(|| Language::detect(&request.question));
    let lookup = match cache::lookup(pipeline, &request, language, emitter).await {
        Ok(hit) => return Ok(hit),
        Err(lookup) => lookup,
    };
    // Offline analyses cost nothing; model analyses reserve their estimate before the first call.
    let has_provider = Phase::ALL.iter().any(|p| pipeline.phase(*p).is_some());
    let reservation = match (&pipeline.budgets, has_provider) {
        (Some(b), true) => Some(
            b.reserve(&request.tenant, pipeline.estimate_usd(&request))
                .await?,
        ),
        _ => None,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("finops.analysis", analysis_id = %id, tenant = %request.tenant);
    let Lookup {
        exact_key,
        semantic_scope,
        vector,
        plan_scope,
        plan_hit,
    } = lookup;
    let reused_plan = plan_hit.is_some();
    let result = phases::run(pipeline, &request, language, emitter, id, plan_hit)
        .instrument(span.clone())
        .await;
    if let Some(r) = reservation {
        // The real cost; an unknown one (an unpriced model) or a failed run counts at the full estimate, never 0.
        let estimate = r.estimate();
        r.settle(match &result {
            Ok((a, _)) => a.total_cost_usd.unwrap_or(estimate),
            Err(_) => estimate,
        })
        .await;
    }
    let result = result.map(|(a, failed)| (std::sync::Arc::new(a), failed));
    // A run where a provider failed is not kept: the next ask deserves another try.
    if request.cache_mode.writes()
        && let Ok((a, false)) = &result
        && !a.plan.benchmark
    {
        let keys = cache::Keys {
            exact_key: exact_key.as_deref(),
            semantic_scope: semantic_scope.as_ref(),
            vector,
            plan_scope: plan_scope.as_ref(),
            reused_plan,
        };
        cache::remember(pipeline, &request, a, keys).await;
    }
    let result = result.map(|(a, _)| std::sync::Arc::unwrap_or_clone(a));
    span.in_scope(|| match &result {
        Ok(a) => tracing::info!(
            degraded = a.degraded,
            grounded = a.validation.grounded,
            report_source = ?a.report_source,
            cache = ?a.cache,
            total_cost_usd = ?a.total_cost_usd,
            total_ms = a.timings.total_ms,
            "analysis completed"
        ),
        Err(e) => tracing::warn!(code = e.code(), "analysis failed"),
    });
    result
}

/// Requests per minute per tenant and per principal (the client when no principal is named).
fn check_rate(pipeline: &Pipeline, request: &AnalysisRequest) -> Result<()> {
    if let Some(limits) = &pipeline.rate_limits {
        let who = match &request.principal {
            Some(p) => format!("{}:{}", p.role, p.client.as_deref().unwrap_or("")),
            None => format!("client:{}", request.client_id()),
        };
        limits.check(&request.tenant, &who)?;
    }
    Ok(())
}
