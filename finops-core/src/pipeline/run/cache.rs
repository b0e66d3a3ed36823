//! The caches' part of a run: look up the exact, semantic and plan tiers before the phases, and keep the result
//! after them. The cache only saves money: when a tier fails, the analysis runs (and the failure is logged).

use rust_decimal::Decimal;

use super::OFFLINE_PROVIDER;
use crate::analysis::{
    Analysis, AnalysisPlan, AnalysisRequest, CacheOutcome, Event, Language, Timings, intent,
};
use crate::cache::Scope;
use crate::pipeline::{Emitter, Pipeline};
use crate::provider::Phase;
use crate::statements::Statements;

fn warn(what: &str, e: &crate::Error) {
    tracing::warn!(code = e.code(), "{what} failed");
}

pub(super) fn similarity(s: f32) -> Option<Decimal> {
    Decimal::from_f32_retain(s).map(|d| d.round_dp(4))
}

/// A plan reused from the plan cache, with what producing it cost.
pub(crate) struct PlanHit {
    pub(super) plan: AnalysisPlan,
    pub(super) similarity: f32,
    pub(super) saved_usd: Option<Decimal>,
}

/// What a lookup that found no whole analysis prepared for the run: the keys to store the result under, the
/// question's vector, and a reusable plan if the plan tier had one.
pub(super) struct Lookup {
    pub(super) exact_key: Option<String>,
    pub(super) semantic_scope: Option<Scope>,
    pub(super) vector: Option<Vec<f32>>,
    pub(super) plan_scope: Option<Scope>,
    pub(super) plan_hit: Option<PlanHit>,
}

/// Where to keep a finished run.
pub(super) struct Keys<'a> {
    pub(super) exact_key: Option<&'a str>,
    pub(super) semantic_scope: Option<&'a Scope>,
    pub(super) vector: Option<Vec<f32>>,
    pub(super) plan_scope: Option<&'a Scope>,
    pub(super) reused_plan: bool,
}

/// A cached analysis, answered for this request: a new id, the request's tenant, client and question, no calls,
/// no cost; what the original run cost is reported as saved.
fn from_cache(
    hit: &Analysis,
    request: &AnalysisRequest,
    emitter: &Emitter,
    outcome: CacheOutcome,
    score: Option<f32>,
) -> Analysis {
    let mut a = hit.clone();
    a.id = uuid::Uuid::new_v4().to_string();
    emitter.emit(Event::Queued {
        analysis_id: a.id.clone(),
    });
    a.tenant.clone_from(&request.tenant);
    a.client = request.client_id();
    a.question.clone_from(&request.question);
    a.cache = outcome;
    a.cache_similarity = score.and_then(similarity);
    a.saved_usd = hit.total_cost_usd;
    for u in &mut a.usage {
        u.cached = true;
        u.calls = 0;
        u.retries = 0;
        u.fallbacks = 0;
        u.input_tokens = 0;
        u.output_tokens = 0;
        u.cost_usd = Some(Decimal::ZERO);
        u.latency_ms = 0;
    }
    a.total_cost_usd = Some(Decimal::ZERO);
    a.timings = Timings::default();
    tracing::info!(saved_usd = ?hit.total_cost_usd, cache = ?outcome, "answered from the cache");
    emitter.emit(Event::CacheHit { outcome });
    a
}

fn age_ok(stored_at: chrono::DateTime<chrono::Utc>, max_age: Option<std::time::Duration>) -> bool {
    max_age.is_none_or(|m| {
        (chrono::Utc::now() - stored_at)
            .to_std()
            .unwrap_or_default()
            <= m
    })
}

/// The plan scope: the tenant (or the shared pool) + sector + language + configuration; `None` without a sector.
fn plan_scope(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    language: Language,
    shared: bool,
) -> Option<Scope> {
    let company = request.statements.company();
    let sector = company
        .sector
        .as_deref()
        .map(intent::fold)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            company
                .naics
                .as_ref()
                .map(|n| format!("naics-{}", n.chars().take(2).collect::<String>()))
        })?;
    let tenant = if shared {
        crate::cache::semantic::SHARED_TENANT.to_string()
    } else {
        request.tenant.clone()
    };
    let key = crate::cache::exact_key(&tenant, &sector, "", language, &pipeline.config_version);
    Some(Scope { tenant, key })
}

/// Looks the request up in each tier, in order: exact, semantic, plan. `Ok` is a whole analysis answered from
/// the cache; `Err` carries what the run needs to go on (and to store its result afterwards).
pub(super) async fn lookup(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    language: Language,
    emitter: &Emitter,
) -> std::result::Result<Analysis, Lookup> {
    let mode = request.cache_mode;
    let max_age = request.max_cache_age;

    // 1. Exact: the same tenant, statements, normalized question, language and configuration.
    let exact_key = pipeline.cache.as_ref().map(|_| {
        crate::cache::exact_key(
            &request.tenant,
            request.statements.fingerprint(),
            &request.question,
            language,
            &pipeline.config_version,
        )
    });
    if mode.reads()
        && let (Some(cache), Some(key)) = (&pipeline.cache, &exact_key)
    {
        match cache.get(&request.tenant, key).await {
            Ok(Some(hit)) if age_ok(hit.stored_at, max_age) => {
                return Ok(from_cache(
                    &hit.analysis,
                    request,
                    emitter,
                    CacheOutcome::Exact,
                    None,
                ));
            }
            Ok(_) => {}
            Err(e) => warn("exact cache lookup", &e),
        }
    }

    // 2. Semantic: a close question about the same statements, if the guard agrees.
    let (semantic_scope, vector) = match semantic(pipeline, request, language, emitter).await {
        Semantic::Hit(a) => return Ok(*a),
        Semantic::Miss(scope, vector) => (scope, vector),
    };
    // 3. Plan: the Analyst's plan for a close question in the same sector.
    let plan_scope = pipeline
        .plans
        .as_ref()
        .and_then(|(_, shared)| plan_scope(pipeline, request, language, *shared));
    let plan_hit = plan(pipeline, request, plan_scope.as_ref()).await;
    Err(Lookup {
        exact_key,
        semantic_scope,
        vector,
        plan_scope,
        plan_hit,
    })
}

/// The semantic tier's answer: a whole analysis, or the scope and the question's vector to store the result under.
enum Semantic {
    Hit(Box<Analysis>),
    Miss(Option<Scope>, Option<Vec<f32>>),
}

/// A close question about the same statements, if the guard agrees. The scope is computed only when there is a
/// semantic tier (a hash per analysis otherwise wasted).
async fn semantic(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    language: Language,
    emitter: &Emitter,
) -> Semantic {
    let mode = request.cache_mode;
    let scope = pipeline.semantic.as_ref().map(|_| Scope {
        tenant: request.tenant.clone(),
        key: crate::cache::exact_key(
            &request.tenant,
            request.statements.fingerprint(),
            "",
            language,
            &pipeline.config_version,
        ),
    });
    let (Some(tier), Some(s)) = (&pipeline.semantic, &scope) else {
        return Semantic::Miss(scope, None);
    };
    if !(mode.reads() || mode.writes()) {
        return Semantic::Miss(scope, None);
    }
    let prepared = async {
        tier.load_tenant(&request.tenant).await?;
        tier.embed(&request.question).await
    }
    .await;
    let vector = match prepared {
        Ok(v) => v,
        Err(e) => {
            warn("semantic cache lookup", &e);
            return Semantic::Miss(scope, None);
        }
    };
    if mode.reads() {
        match tier.lookup_vector(s, &request.question, &vector, request.max_cache_age) {
            Ok(hit) => {
                return Semantic::Hit(Box::new(from_cache(
                    &hit.value,
                    request,
                    emitter,
                    CacheOutcome::Semantic,
                    Some(hit.similarity),
                )));
            }
            Err(miss) => tracing::debug!(?miss, "semantic cache miss"),
        }
    }
    Semantic::Miss(scope, Some(vector))
}

/// The question as the plan tier keeps it: in the shared pool (other firms read it), pseudonymized (the company,
/// people, numbers that identify someone) and normalized, never as the client typed it.
fn plan_question(request: &AnalysisRequest, shared: bool) -> String {
    if shared {
        let mut pseudonyms =
            crate::security::Pseudonymizer::new(&request.statements.company().name);
        intent::fold(&pseudonyms.redact(&request.question))
    } else {
        request.question.clone()
    }
}

/// Whose entry a plan is: the client, or in the shared pool its tenant (so erasing either purges it).
fn plan_owner<'a>(request: &'a AnalysisRequest, client: &'a str, shared: bool) -> &'a str {
    if shared { &request.tenant } else { client }
}

/// The Analyst's plan for a close question in the same sector (only when the Analyst has a model to spare).
async fn plan(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    scope: Option<&Scope>,
) -> Option<PlanHit> {
    let (Some((plans, shared)), Some(scope)) = (&pipeline.plans, scope) else {
        return None;
    };
    if !request.cache_mode.reads() || pipeline.phase(Phase::Analyst).is_none() {
        return None;
    }
    match plans
        .lookup(
            scope,
            &plan_question(request, *shared),
            request.max_cache_age,
        )
        .await
    {
        Ok(Ok(hit)) => Some(PlanHit {
            plan: hit.value.plan.clone(),
            similarity: hit.similarity,
            saved_usd: hit.value.cost_usd,
        }),
        Ok(Err(miss)) => {
            tracing::debug!(?miss, "plan cache miss");
            None
        }
        Err(e) => {
            warn("plan cache lookup", &e);
            None
        }
    }
}

/// Keeps a finished run (one where no provider failed) in every tier it was looked up in; the plan only when a
/// model made it (an offline plan or a reused one is not worth keeping).
pub(super) async fn remember(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    a: &std::sync::Arc<Analysis>,
    keys: Keys<'_>,
) {
    if let (Some(cache), Some(key)) = (&pipeline.cache, keys.exact_key)
        && let Err(e) = cache.put(key, a.clone()).await
    {
        warn("exact cache store", &e);
    }
    if let (Some(semantic), Some(scope), Some(v)) =
        (&pipeline.semantic, keys.semantic_scope, keys.vector)
    {
        let stored = semantic
            .insert_vector(scope, &request.question, &a.client, v, a.as_ref().clone())
            .await;
        if let Err(e) = stored {
            warn("semantic cache store", &e);
        }
    }
    let analyst = a.usage.iter().find(|u| u.phase == Phase::Analyst);
    let model_plan = analyst.is_some_and(|u| u.calls > 0 && u.provider != OFFLINE_PROVIDER);
    if !keys.reused_plan
        && model_plan
        && let (Some((plans, shared)), Some(scope)) = (&pipeline.plans, keys.plan_scope)
    {
        let entry = crate::cache::PlanEntry {
            plan: a.plan.clone(),
            cost_usd: analyst.and_then(|u| u.cost_usd),
        };
        let question = plan_question(request, *shared);
        let owner = plan_owner(request, &a.client, *shared);
        if let Err(e) = plans.insert(scope, &question, owner, entry).await {
            warn("plan cache store", &e);
        }
    }
}

/// A cached plan fitted to this client's statements: its metrics and intents; its periods when the statements
/// have them, else the periods the question names in these statements.
pub(super) fn fit_plan(
    cached: AnalysisPlan,
    question: &str,
    statements: &Statements,
    language: Language,
) -> AnalysisPlan {
    let periods = if cached
        .periods
        .iter()
        .all(|p| statements.period_index(p).is_some())
    {
        cached.periods
    } else {
        intent::periods(question, statements)
    };
    let comparisons = intent::comparisons(&cached.metrics, &periods);
    AnalysisPlan {
        intents: cached.intents,
        metrics: cached.metrics,
        periods,
        comparisons,
        language,
        benchmark: intent::asks_for_peers(question),
    }
}
