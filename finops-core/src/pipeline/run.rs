//! One analysis from request to validated result: each phase tries its provider and falls back to the offline
//! analyst, and the final report is grounded.

use std::time::Instant;

use rust_decimal::Decimal;
use tracing::Instrument;

use super::grounding::GroundingContext;
use super::llm::{self, Conversation, PhaseCalls};
use super::{
    Analysis, AnalysisPlan, AnalysisRequest, CacheOutcome, ComputationRecord, Emitter, Event,
    Finding, FindingStatus, Language, PhaseUsage, Pipeline, ReportSource, Timings, Validation,
    intent, offline,
};
use crate::error::Result;
use crate::metrics::{self, Figure};
use crate::provider::Phase;
use crate::security::Pseudonymizer;
use crate::statements::Statements;

/// What the offline analyst's phases are recorded as in `usage`.
const OFFLINE_PROVIDER: &str = "offline";
const OFFLINE_MODEL: &str = "rules-v1";

struct Degradations {
    reasons: Vec<String>,
}

impl Degradations {
    fn add(&mut self, emitter: &Emitter, phase: Phase, reason: String) {
        emitter.emit(Event::Degraded {
            phase,
            reason: reason.clone(),
        });
        self.reasons.push(format!("{phase}: {reason}"));
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn usage(pipeline: &Pipeline, phase: Phase, calls: &PhaseCalls, offline: bool) -> PhaseUsage {
    let config = pipeline
        .phase(phase)
        .filter(|_| !offline || calls.calls > 0);
    let (provider, model) = match (&calls.served_by, config) {
        (Some((p, m)), _) => (p.clone(), m.clone()),
        (None, Some(c)) => (c.provider.name().to_string(), c.model.clone()),
        (None, None) => (OFFLINE_PROVIDER.to_string(), OFFLINE_MODEL.to_string()),
    };
    PhaseUsage {
        phase,
        provider,
        model,
        calls: calls.calls,
        input_tokens: calls.usage.input_tokens,
        output_tokens: calls.usage.output_tokens,
        cost_usd: calls.cost,
        latency_ms: elapsed_ms(calls.started),
        cached: false,
        retries: calls.retries,
        fallbacks: calls.fallbacks,
        unpriced: calls.unpriced,
        usage_missing: calls.usage_missing,
    }
}

/// The phase's configuration if it may be called; a refused (unpriced) model degrades the phase.
fn callable<'p>(
    pipeline: &'p Pipeline,
    phase: Phase,
    degraded: &mut Degradations,
    emitter: &Emitter,
) -> Option<&'p super::PhaseConfig> {
    match pipeline.callable(phase) {
        Ok(c) => c,
        Err(reason) => {
            degraded.add(emitter, phase, reason);
            None
        }
    }
}

fn finish_phase(emitter: &Emitter, usages: &mut Vec<PhaseUsage>, usage: PhaseUsage) {
    // No client data here: ids, models, counts and money only.
    tracing::info!(
        phase = %usage.phase,
        provider = %usage.provider,
        model = %usage.model,
        calls = usage.calls,
        input_tokens = usage.input_tokens,
        output_tokens = usage.output_tokens,
        cost_usd = ?usage.cost_usd,
        unpriced = usage.unpriced,
        usage_missing = usage.usage_missing,
        latency_ms = usage.latency_ms,
        retries = usage.retries,
        fallbacks = usage.fallbacks,
        "phase finished"
    );
    if emitter.is_listening() {
        emitter.emit(Event::PhaseFinished {
            usage: usage.clone(),
        });
    }
    usages.push(usage);
}

fn similarity(s: f32) -> Option<Decimal> {
    Decimal::from_f32_retain(s).map(|d| d.round_dp(4))
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

/// A plan reused from the plan cache, with what producing it cost.
pub(crate) struct PlanHit {
    plan: AnalysisPlan,
    similarity: f32,
    saved_usd: Option<Decimal>,
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
) -> Option<crate::cache::Scope> {
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
                .map(|n| format!("naics-{}", &n[..n.len().min(2)]))
        })?;
    let tenant = if shared {
        crate::cache::semantic::SHARED_TENANT.to_string()
    } else {
        request.tenant.clone()
    };
    let key = crate::cache::exact_key(&tenant, &sector, "", language, &pipeline.config_version);
    Some(crate::cache::Scope { tenant, key })
}

pub(crate) async fn run(
    pipeline: &Pipeline,
    request: AnalysisRequest,
    emitter: &Emitter,
) -> Result<Analysis> {
    let Some(vault) = &pipeline.vault else {
        return run_unsaved(pipeline, request, emitter).await;
    };
    request.validate()?;
    // Saved as the principal who asked, or as a CPA of the tenant when the host sent no principal.
    let who = match &request.principal {
        Some(p) => p.clone(),
        None => crate::security::Principal::new(
            request.tenant.clone(),
            crate::security::Role::Cpa,
            None,
        )?,
    };
    let analysis = run_unsaved(pipeline, request, emitter).await?;
    vault.save_analysis(&who, &analysis).await?;
    Ok(analysis)
}

async fn run_unsaved(
    pipeline: &Pipeline,
    request: AnalysisRequest,
    emitter: &Emitter,
) -> Result<Analysis> {
    request.validate()?;
    if let Some(limits) = &pipeline.rate_limits {
        let who = match &request.principal {
            Some(p) => format!("{}:{}", p.role, p.client.as_deref().unwrap_or("")),
            None => format!("client:{}", request.client_id()),
        };
        limits.check(&request.tenant, &who)?;
    }
    let language = request
        .language
        .unwrap_or_else(|| Language::detect(&request.question));
    let mode = request.cache_mode;
    let max_age = request.max_cache_age;
    // The cache only saves money: when a tier fails, the analysis runs (and the failure is logged).
    let warn = |what: &str, e: &crate::Error| tracing::warn!(code = e.code(), "{what} failed");

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
                    &request,
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
    // Computed only when there is a semantic tier (a hash per analysis otherwise wasted).
    let semantic_scope = pipeline.semantic.as_ref().map(|_| crate::cache::Scope {
        tenant: request.tenant.clone(),
        key: crate::cache::exact_key(
            &request.tenant,
            request.statements.fingerprint(),
            "",
            language,
            &pipeline.config_version,
        ),
    });
    let mut vector: Option<Vec<f32>> = None;
    if let (Some(semantic), Some(semantic_scope)) = (&pipeline.semantic, &semantic_scope)
        && (mode.reads() || mode.writes())
    {
        let prepared = async {
            semantic.load_tenant(&request.tenant).await?;
            semantic.embed(&request.question).await
        }
        .await;
        match prepared {
            Ok(v) => {
                if mode.reads() {
                    match semantic.lookup_vector(semantic_scope, &request.question, &v, max_age) {
                        Ok(hit) => {
                            return Ok(from_cache(
                                &hit.value,
                                &request,
                                emitter,
                                CacheOutcome::Semantic,
                                Some(hit.similarity),
                            ));
                        }
                        Err(miss) => tracing::debug!(?miss, "semantic cache miss"),
                    }
                }
                vector = Some(v);
            }
            Err(e) => warn("semantic cache lookup", &e),
        }
    }

    // 3. Plan: the Analyst's plan for a close question in the same sector.
    let plan_scope = pipeline
        .plans
        .as_ref()
        .and_then(|(_, shared)| plan_scope(pipeline, &request, language, *shared));
    let mut plan_hit = None;
    if mode.reads()
        && pipeline.phase(Phase::Analyst).is_some()
        && let (Some((plans, _)), Some(scope)) = (&pipeline.plans, &plan_scope)
    {
        match plans.lookup(scope, &request.question, max_age).await {
            Ok(Ok(hit)) => {
                plan_hit = Some(PlanHit {
                    plan: hit.value.plan.clone(),
                    similarity: hit.similarity,
                    saved_usd: hit.value.cost_usd,
                });
            }
            Ok(Err(miss)) => tracing::debug!(?miss, "plan cache miss"),
            Err(e) => warn("plan cache lookup", &e),
        }
    }

    // Offline analyses cost nothing; model analyses reserve their estimate before the first call.
    let has_provider = Phase::ALL.iter().any(|p| pipeline.phase(*p).is_some());
    let reservation = match (&pipeline.budgets, has_provider) {
        (Some(b), true) => Some(b.reserve(&request.tenant, pipeline.estimate_usd())?),
        _ => None,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("finops.analysis", analysis_id = %id, tenant = %request.tenant);
    let reused_plan = plan_hit.is_some();
    let result = run_phases(pipeline, &request, emitter, id, plan_hit)
        .instrument(span.clone())
        .await;
    if let Some(r) = reservation {
        // The real cost; an unknown one (an unpriced model) or a failed run counts at the full estimate, never 0.
        let estimate = r.estimate();
        r.settle(match &result {
            Ok((a, _)) => a.total_cost_usd.unwrap_or(estimate),
            Err(_) => estimate,
        });
    }
    let result = result.map(|(a, failed)| (std::sync::Arc::new(a), failed));
    // A run where a provider failed is not kept: the next ask deserves another try.
    if mode.writes()
        && let Ok((a, false)) = &result
    {
        if let (Some(cache), Some(key)) = (&pipeline.cache, &exact_key)
            && let Err(e) = cache.put(key, a.clone()).await
        {
            warn("exact cache store", &e);
        }
        if let (Some(semantic), Some(scope), Some(v)) =
            (&pipeline.semantic, &semantic_scope, vector)
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
        if !reused_plan
            && model_plan
            && let (Some((plans, _)), Some(scope)) = (&pipeline.plans, &plan_scope)
        {
            let entry = crate::cache::PlanEntry {
                plan: a.plan.clone(),
                cost_usd: analyst.and_then(|u| u.cost_usd),
            };
            if let Err(e) = plans
                .insert(scope, &request.question, &a.client, entry)
                .await
            {
                warn("plan cache store", &e);
            }
        }
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

/// A cached plan fitted to this client's statements: its metrics and intents; its periods when the statements
/// have them, else the periods the question names in these statements.
fn fit_plan(
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
    }
}

/// The three phases; also says whether a provider failed (such a run is not cached).
async fn run_phases(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    emitter: &Emitter,
    id: String,
    plan_hit: Option<PlanHit>,
) -> Result<(Analysis, bool)> {
    let started = Instant::now();
    emitter.emit(Event::Queued {
        analysis_id: id.clone(),
    });
    let statements: &Statements = &request.statements;
    let language = request
        .language
        .unwrap_or_else(|| Language::detect(&request.question));
    // Models see the question with the company's name and personal data replaced by placeholders; the offline
    // rules read the original. What comes back is restored at the end.
    let mut pseudonyms = Pseudonymizer::new(&statements.company().name);
    let original_question = request.question.trim();
    let redacted = pseudonyms.redact(original_question);
    let question = redacted.as_str();
    let mut degraded = Degradations {
        reasons: Vec::new(),
    };
    let mut usages = Vec::with_capacity(3);
    let mut timings = Timings::default();

    // Analyst: the plan.
    emitter.emit(Event::PhaseStarted {
        phase: Phase::Analyst,
    });
    let mut calls = PhaseCalls::new();
    let mut offline_phase = true;
    let mut reused = None;
    let plan: AnalysisPlan = match plan_hit {
        Some(hit) => {
            // The plan cache answered: no Analyst call, the plan fitted to this client's periods.
            emitter.emit(Event::CacheHit {
                outcome: CacheOutcome::Plan,
            });
            reused = Some((hit.similarity, hit.saved_usd));
            fit_plan(hit.plan, original_question, statements, language)
        }
        None => match callable(pipeline, Phase::Analyst, &mut degraded, emitter) {
            Some(config) => {
                let mut conv = Conversation {
                    phase: Phase::Analyst,
                    config,
                    emitter,
                    calls: &mut calls,
                    prices: &pipeline.prices,
                    messages: llm::analyst_messages(question, statements, language),
                };
                match conv
                    .ask_parsed(|text| llm::parse_plan(text, statements, language))
                    .await
                {
                    Ok(plan) => {
                        offline_phase = false;
                        plan
                    }
                    Err(e) => {
                        degraded.add(emitter, Phase::Analyst, e.to_string());
                        intent::plan(original_question, statements, language)
                    }
                }
            }
            None => intent::plan(original_question, statements, language),
        },
    };
    timings.analyst_ms = elapsed_ms(calls.started);
    let mut analyst_usage = usage(
        pipeline,
        Phase::Analyst,
        &calls,
        offline_phase && reused.is_none(),
    );
    if reused.is_some() {
        analyst_usage.cached = true;
        analyst_usage.cost_usd = Some(Decimal::ZERO);
    }
    finish_phase(emitter, &mut usages, analyst_usage);

    let figures: Vec<Figure> = metrics::compute(statements, &plan.metrics, &plan.periods)?;

    // Researcher: computations and findings.
    emitter.emit(Event::PhaseStarted {
        phase: Phase::Researcher,
    });
    let mut calls = PhaseCalls::new();
    let mut offline_phase = true;
    let mut computations: Vec<ComputationRecord> = offline::trend_computations(&plan, statements);
    let mut findings: Vec<Finding> = Vec::new();
    if let Some(config) = callable(pipeline, Phase::Researcher, &mut degraded, emitter) {
        let mut conv = Conversation {
            phase: Phase::Researcher,
            config,
            emitter,
            calls: &mut calls,
            prices: &pipeline.prices,
            messages: llm::researcher_messages(question, &plan, &figures, statements),
        };
        let outcome = async {
            let first = conv.ask_parsed(llm::parse_research).await?;
            let requested = llm::evaluate(&first.computations, statements, emitter);
            if requested.is_empty() {
                return Ok((requested, first.findings));
            }
            conv.say(llm::computation_results(&requested));
            let second = conv.ask_parsed(llm::parse_research).await?;
            Ok::<_, crate::Error>((requested, second.findings))
        }
        .await;
        match outcome {
            Ok((requested, raw)) => {
                offline_phase = false;
                computations.extend(requested);
                let grounding = GroundingContext::new(statements, &figures, &computations);
                findings = llm::check_findings(raw, &figures, &computations, &grounding, language);
            }
            Err(e) => degraded.add(emitter, Phase::Researcher, e.to_string()),
        }
    }
    if offline_phase {
        findings = offline::findings(&plan, &figures, statements);
    }
    if emitter.is_listening() {
        for c in computations.iter().filter(|c| c.id.starts_with('t')) {
            emitter.emit(Event::ComputationDone {
                computation: c.clone(),
            });
        }
    }
    timings.researcher_ms = elapsed_ms(calls.started);
    finish_phase(
        emitter,
        &mut usages,
        usage(pipeline, Phase::Researcher, &calls, offline_phase),
    );

    // Validator: verdicts and the report, then grounding.
    emitter.emit(Event::PhaseStarted {
        phase: Phase::Validator,
    });
    let mut calls = PhaseCalls::new();
    let grounding = GroundingContext::new(statements, &figures, &computations);
    let mut report: Option<(String, ReportSource)> = None;
    let mut warnings: Vec<String> = statements
        .warnings()
        .iter()
        .map(|w| format!("{}: {}", w.field, w.message))
        .collect();
    if let Some(config) = callable(pipeline, Phase::Validator, &mut degraded, emitter) {
        let count = findings.len();
        let mut conv = Conversation {
            phase: Phase::Validator,
            config,
            emitter,
            calls: &mut calls,
            prices: &pipeline.prices,
            messages: llm::validator_messages(
                question,
                &plan,
                &figures,
                &computations,
                &findings,
                statements,
            ),
        };
        match conv.ask_parsed(|t| llm::parse_validated(t, count)).await {
            Ok(validated) => {
                llm::apply_verdicts(&mut findings, &validated.verdicts);
                let ungrounded = grounding.check(&validated.report, language);
                if ungrounded.is_empty() {
                    report = Some((validated.report, ReportSource::Validator));
                } else {
                    conv.say(llm::grounding_repair(&ungrounded));
                    match conv.ask_parsed(|t| llm::parse_validated(t, count)).await {
                        Ok(second) if grounding.check(&second.report, language).is_empty() => {
                            report = Some((second.report, ReportSource::ValidatorRepaired));
                        }
                        Ok(second) => {
                            let list: Vec<String> = grounding
                                .check(&second.report, language)
                                .into_iter()
                                .map(|u| u.text)
                                .collect();
                            degraded.add(
                                emitter,
                                Phase::Validator,
                                format!(
                                    "the report was still not grounded after one repair (numbers: {}); replaced by the offline report",
                                    list.join(", ")
                                ),
                            );
                        }
                        Err(e) => degraded.add(emitter, Phase::Validator, e.to_string()),
                    }
                }
            }
            Err(e) => degraded.add(emitter, Phase::Validator, e.to_string()),
        }
    }
    let validator_offline = report.is_none();
    let (report, report_source) = match report {
        Some(r) => r,
        None => {
            let mut notes = Vec::new();
            if pipeline.phase(Phase::Validator).is_some() || !degraded.reasons.is_empty() {
                notes.push(match language {
                    Language::En => "This report was written by the offline analyst because a model phase failed; the figures are exact.".to_string(),
                    Language::Fr => "Ce rapport a été rédigé par l'analyste hors ligne, une phase du modèle ayant échoué ; les chiffres sont exacts.".to_string(),
                });
            }
            (
                offline::report(
                    &plan,
                    &figures,
                    &computations,
                    &findings,
                    statements,
                    &notes,
                ),
                ReportSource::Offline,
            )
        }
    };
    // Grounded on the text as the model wrote it; then the placeholders are replaced by the originals.
    let ungrounded_numbers = grounding.check(&report, language);
    let report = pseudonyms.restore(&report);
    for f in &mut findings {
        f.text = pseudonyms.restore(&f.text);
    }
    for f in &findings {
        match f.status {
            FindingStatus::Rejected => warnings.push(format!(
                "finding rejected: {} ({})",
                f.text,
                f.note.as_deref().unwrap_or("no reason given")
            )),
            FindingStatus::Unchecked => warnings.push(format!("finding not checked: {}", f.text)),
            FindingStatus::Confirmed => {}
        }
    }
    timings.validator_ms = elapsed_ms(calls.started);
    finish_phase(
        emitter,
        &mut usages,
        usage(pipeline, Phase::Validator, &calls, validator_offline),
    );

    // A provider failed (not merely absent): the caches will not keep this run.
    let failed = !degraded.reasons.is_empty();
    let no_provider = Phase::ALL.iter().all(|p| pipeline.phase(*p).is_none());
    if no_provider {
        degraded.reasons.push(match language {
            Language::En => {
                "no provider is configured: the offline analyst wrote this analysis".into()
            }
            Language::Fr => {
                "aucun fournisseur n'est configuré : l'analyste hors ligne a rédigé cette analyse"
                    .into()
            }
        });
    } else {
        for p in Phase::ALL {
            if pipeline.phase(p).is_none() {
                degraded.reasons.push(format!(
                    "{p}: no provider configured, the offline analyst did this phase"
                ));
            }
        }
    }
    let total_cost_usd = usages.iter().try_fold(Decimal::ZERO, |sum, u| {
        u.cost_usd.and_then(|c| sum.checked_add(c))
    });
    timings.total_ms = elapsed_ms(started);
    let analysis = Analysis {
        id,
        tenant: request.tenant.clone(),
        client: request.client_id(),
        question: request.question.clone(),
        language,
        fingerprint: statements.fingerprint().to_string(),
        plan,
        figures,
        computations,
        findings,
        report,
        report_source,
        validation: Validation {
            grounded: ungrounded_numbers.is_empty(),
            ungrounded_numbers,
            warnings,
        },
        statement_warnings: statements.warnings().to_vec(),
        usage: usages,
        total_cost_usd,
        cache: if reused.is_some() {
            CacheOutcome::Plan
        } else {
            CacheOutcome::Miss
        },
        cache_similarity: reused.and_then(|(s, _)| similarity(s)),
        saved_usd: reused.and_then(|(_, saved)| saved),
        degraded: !degraded.reasons.is_empty(),
        degraded_reason: if degraded.reasons.is_empty() {
            None
        } else {
            Some(degraded.reasons.join("; "))
        },
        prompt_version: llm::PROMPT_VERSION.to_string(),
        timings,
    };
    Ok((analysis, failed))
}
