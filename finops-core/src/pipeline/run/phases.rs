//! The three phases of one run, one function each: the Analyst plans, the Researcher asks for exact computations
//! and writes findings, the Validator checks them and writes the report. Each phase tries its provider and falls
//! back to the offline analyst; the report is grounded, and the placeholders put in the question for the models
//! are restored at the end. The Validator's phase, with the checks its report must pass, is in `validator`.

use std::time::Instant;
use tracing::Instrument;

use rust_decimal::Decimal;

use super::cache::{PlanHit, fit_plan, similarity};
use super::{OFFLINE_MODEL, OFFLINE_PROVIDER};
use crate::analysis::{
    Analysis, AnalysisPlan, AnalysisRequest, CacheOutcome, ComputationRecord, Event, Finding,
    FindingStatus, Language, PhaseUsage, ReportSource, Timings, UngroundedNumber, Validation,
    intent, intent::Cues,
};
use crate::error::Result;
use crate::metrics::{self, Figure};
use crate::pipeline::grounding::GroundingContext;
use crate::pipeline::llm::{self, Conversation, PhaseCalls};
use crate::pipeline::references::References;
use crate::pipeline::schemas::{self, ResearchRound};
use crate::pipeline::{Emitter, PhaseConfig, Pipeline, offline};
use crate::portfolio::{Benchmark, Client};
use crate::provider::Phase;
use crate::security::Pseudonymizer;
use crate::statements::Statements;

mod validator;

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Runs the phases; also says whether a provider failed (such a run is not cached).
pub(super) async fn run(
    pipeline: &Pipeline,
    request: &AnalysisRequest,
    language: Language,
    emitter: &Emitter,
    id: String,
    plan_hit: Option<PlanHit>,
) -> Result<(Analysis, bool)> {
    let started = Instant::now();
    emitter.emit(Event::Queued {
        analysis_id: id.clone(),
    });
    let statements: &Statements = &request.statements;
    // Models see the question with the company's name and personal data replaced by placeholders; the offline
    // rules read the original. What comes back is restored at the end.
    let mut pseudonyms = Pseudonymizer::new(&statements.company().name);
    let original_question = request.question.trim();
    let redacted = pseudonyms.redact(original_question);
    let mut run = Run {
        pipeline,
        emitter,
        statements,
        question: &redacted,
        original_question,
        cues: intent::cues_for(original_question, statements),
        language,
        degraded: Vec::new(),
        usages: Vec::with_capacity(3),
        timings: Timings::default(),
        benchmarks: Vec::new(),
        notes: Vec::new(),
    };
    if !run.cues.outside.is_empty() {
        let labels: Vec<&str> = statements.periods().iter().map(|p| &*p.label).collect();
        run.notes.push(format!(
            "question: the statements do not cover {} (they hold {})",
            run.cues.outside.join(", "),
            labels.join(", ")
        ));
    }
    // One span per phase (its provider calls are `gen_ai.chat` spans inside it).
    let phase_span = |phase: Phase| tracing::info_span!("finops.phase", finops.phase = %phase);
    let (mut plan, reused) = run
        .analyst(plan_hit)
        .instrument(phase_span(Phase::Analyst))
        .await;
    // A question that asks about peers gets them whatever the model planned.
    plan.benchmark |= intent::asks_for_peers(original_question);
    let figures: Vec<Figure> = metrics::compute(statements, &plan.metrics, &plan.periods)?;
    if plan.benchmark {
        run.peer_benchmarks(request, &plan).await;
    }
    let (computations, findings, grounding) = run
        .researcher(&plan, &figures)
        .instrument(phase_span(Phase::Researcher))
        .await;
    let written = run
        .validator(&plan, &figures, &computations, findings, grounding)
        .instrument(phase_span(Phase::Validator))
        .await;
    Ok(run.finish(
        request,
        id,
        started,
        &pseudonyms,
        Draft {
            plan,
            figures,
            computations,
            written,
            reused,
        },
    ))
}

/// What one run carries from phase to phase.
struct Run<'a> {
    pipeline: &'a Pipeline,
    emitter: &'a Emitter,
    statements: &'a Statements,
    /// The question as the models see it (pseudonymized).
    question: &'a str,
    /// The question as asked (for the offline rules, which never leave the process).
    original_question: &'a str,
    /// What the rules read in it (the metrics it names, a yes/no question's movement), read once: the offline
    /// memo, the Validator's request and the check of its answer share it.
    cues: Cues,
    language: Language,
    /// Why phases degraded, `phase: reason`.
    degraded: Vec<String>,
    usages: Vec<PhaseUsage>,
    timings: Timings,
    /// Where the client stands among the firm's other clients, when the plan asked.
    benchmarks: Vec<Benchmark>,
    /// For the analysis's warnings: why benchmarks are missing (no portfolio, cohorts too small), metrics added
    /// to the Analyst's plan.
    notes: Vec<String>,
}

/// The Validator's outcome: the report, who wrote it, the findings with their verdicts, and the warnings so far.
struct Written {
    report: String,
    source: ReportSource,
    findings: Vec<Finding>,
    warnings: Vec<String>,
    ungrounded: Vec<UngroundedNumber>,
    validator_offline: bool,
    calls_started: Instant,
    calls: PhaseCalls,
}

/// What the Validator checks the findings against.
struct Evidence<'a> {
    plan: &'a AnalysisPlan,
    /// The statements' currency, as figures are displayed.
    currency: &'a str,
    figures: &'a [Figure],
    computations: &'a [ComputationRecord],
    grounding: &'a GroundingContext,
}

/// Everything the phases produced, before the analysis is assembled.
struct Draft {
    plan: AnalysisPlan,
    figures: Vec<Figure>,
    computations: Vec<ComputationRecord>,
    written: Written,
    /// The plan cache's similarity and what the reused plan had cost.
    reused: Option<(f32, Option<Decimal>)>,
}

impl Run<'_> {
    /// The client's peer benchmarks on the plan's metrics, among the request's portfolio or, without one, the
    /// vault's (every client whose statements the firm's analyses stored). Benchmarks reveal only the client's
    /// position in cohorts of at least five, never a peer's figure, so they are computed for any principal.
    async fn peer_benchmarks(&mut self, request: &AnalysisRequest, plan: &AnalysisPlan) {
        let client = request.client_id();
        let portfolio: Vec<Client> = match (&request.peers, &self.pipeline.vault) {
            (Some(peers), _) => peers.to_vec(),
            (None, Some(vault)) => {
                let firm = crate::security::Principal::new(
                    request.tenant.clone(),
                    crate::security::Role::Cpa,
                    None,
                );
                match firm {
                    Ok(firm) => match vault.portfolio(&firm).await {
                        Ok(clients) => clients,
                        Err(e) => {
                            self.notes.push(format!(
                                "peer benchmarks: the firm's portfolio could not be read ({e})"
                            ));
                            return;
                        }
                    },
                    Err(e) => {
                        self.notes.push(format!("peer benchmarks: {e}"));
                        return;
                    }
                }
            }
            (None, None) => {
                self.notes.push(
                    "peer benchmarks: no portfolio was given and no vault holds the firm's clients"
                        .into(),
                );
                return;
            }
        };
        // This request's statements stand for the client, whatever the portfolio holds under its id.
        let mut clients: Vec<Client> = portfolio.into_iter().filter(|c| c.id != client).collect();
        clients.push(Client::new(client.clone(), request.statements.clone()));
        let metrics = plan.metrics.clone();
        let computed = tokio::task::spawn_blocking(move || {
            crate::portfolio::peer_benchmarks(&client, &clients, &metrics)
        })
        .await;
        match computed {
            Ok(Ok((benchmarks, missing))) => {
                if !missing.is_empty() {
                    let metrics: Vec<&str> = missing.iter().map(|m| m.metric.id()).collect();
                    self.notes.push(format!(
                        "peer benchmarks: not given for {} (fewer than {} other clients of the sector have the figure, or the client's own is not computable)",
                        metrics.join(", "),
                        crate::portfolio::MIN_COHORT
                    ));
                }
                self.benchmarks = benchmarks;
            }
            Ok(Err(e)) => self.notes.push(format!("peer benchmarks: {e}")),
            Err(e) => self
                .notes
                .push(format!("peer benchmarks: the computation failed ({e})")),
        }
    }

    fn degrade(&mut self, phase: Phase, reason: String) {
        self.emitter.emit(Event::Degraded {
            phase,
            reason: reason.clone(),
        });
        self.degraded.push(format!("{phase}: {reason}"));
    }

    /// The phase's configuration if it may be called; a refused (unpriced) model degrades the phase.
    fn callable(&mut self, phase: Phase) -> Option<&PhaseConfig> {
        match self.pipeline.callable(phase) {
            Ok(c) => c,
            Err(reason) => {
                self.degrade(phase, reason);
                None
            }
        }
    }

    fn usage(&self, phase: Phase, calls: &PhaseCalls, offline: bool) -> PhaseUsage {
        let config = self
            .pipeline
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
            cached_input_tokens: calls.usage.cached_input_tokens,
            cache_write_tokens: calls.usage.cache_write_tokens,
            cache_write_1h_tokens: calls.usage.cache_write_1h_tokens,
            cost_usd: calls.cost,
            latency_ms: elapsed_ms(calls.started),
            cached: false,
            retries: calls.retries,
            fallbacks: calls.fallbacks,
            unpriced: calls.unpriced,
            usage_missing: calls.usage_missing,
        }
    }

    fn finish_phase(&mut self, usage: PhaseUsage) {
        // No client data here: ids, models, counts and money only; token counts under OpenTelemetry's GenAI names.
        tracing::info!(
            finops.phase = %usage.phase,
            gen_ai.system = %usage.provider,
            gen_ai.request.model = %usage.model,
            calls = usage.calls,
            gen_ai.usage.input_tokens = usage.input_tokens,
            gen_ai.usage.output_tokens = usage.output_tokens,
            cached_input_tokens = usage.cached_input_tokens,
            cache_write_tokens = usage.cache_write_tokens,
            cache_write_1h_tokens = usage.cache_write_1h_tokens,
            cost_usd = ?usage.cost_usd,
            unpriced = usage.unpriced,
            usage_missing = usage.usage_missing,
            latency_ms = usage.latency_ms,
            retries = usage.retries,
            fallbacks = usage.fallbacks,
            "phase finished"
        );
        if self.emitter.is_listening() {
            self.emitter.emit(Event::PhaseFinished {
                usage: usage.clone(),
            });
        }
        self.usages.push(usage);
    }

    /// The Analyst's plan: from the plan cache, the model, or the offline rules.
    async fn analyst(
        &mut self,
        plan_hit: Option<PlanHit>,
    ) -> (AnalysisPlan, Option<(f32, Option<Decimal>)>) {
        self.emitter.emit(Event::PhaseStarted {
            phase: Phase::Analyst,
        });
        let mut calls = PhaseCalls::new();
        let mut offline_phase = true;
        let mut reused = None;
        let (statements, language) = (self.statements, self.language);
        let plan = match plan_hit {
            Some(hit) => {
                // The plan cache answered: no Analyst call, the plan fitted to this client's periods.
                self.emitter.emit(Event::CacheHit {
                    outcome: CacheOutcome::Plan,
                });
                reused = Some((hit.similarity, hit.saved_usd));
                fit_plan(hit.plan, self.original_question, statements, language)
            }
            None => match self.callable(Phase::Analyst).cloned() {
                Some(config) => {
                    let schema = schemas::plan(statements);
                    let mut conv = Conversation {
                        phase: Phase::Analyst,
                        config: &config,
                        emitter: self.emitter,
                        calls: &mut calls,
                        prices: &self.pipeline.prices,
                        messages: llm::analyst_messages(self.question, statements, language),
                        budget: schemas::output_budget(&schema, 0, 0),
                        schema,
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
                            self.degrade(Phase::Analyst, e.to_string());
                            intent::plan(self.original_question, statements, language)
                        }
                    }
                }
                None => intent::plan(self.original_question, statements, language),
            },
        };
        // A metric the question names is planned whatever a model (or the cached plan of another wording) left
        // out; the reader is told when a model's plan was completed.
        let mut plan = plan;
        let added = intent::include_named(&mut plan, &self.cues.metrics);
        if !added.is_empty() && (!offline_phase || reused.is_some()) {
            let ids: Vec<&str> = added.iter().map(|m| m.id()).collect();
            self.notes.push(format!(
                "plan: the question names {}, which the Analyst's plan left out; added",
                ids.join(", ")
            ));
        }
        self.timings.analyst_ms = elapsed_ms(calls.started);
        let mut usage = self.usage(Phase::Analyst, &calls, offline_phase && reused.is_none());
        if reused.is_some() {
            usage.cached = true;
            usage.cost_usd = Some(Decimal::ZERO);
        }
        self.finish_phase(usage);
        (plan, reused)
    }

    /// The Researcher: computations it asks for (evaluated exactly here) and findings citing them, or the offline
    /// analyst's trends and findings; with the grounding context it checked the findings with, which holds every
    /// computation the Validator will be given (built once: sorting its values is most of its cost).
    async fn researcher(
        &mut self,
        plan: &AnalysisPlan,
        figures: &[Figure],
    ) -> (
        Vec<ComputationRecord>,
        Vec<Finding>,
        Option<GroundingContext>,
    ) {
        self.emitter.emit(Event::PhaseStarted {
            phase: Phase::Researcher,
        });
        let statements = self.statements;
        let mut calls = PhaseCalls::new();
        let mut offline_phase = true;
        let mut computations = offline::trend_computations(plan, statements);
        let mut findings = Vec::new();
        let mut checked_with = None;
        if let Some(config) = self.callable(Phase::Researcher).cloned() {
            let emitter = self.emitter;
            let currency = statements.company().currency.clone();
            let refs = References {
                benchmarks: &self.benchmarks,
                ..References::new(figures, self.language, &currency)
            };
            let citable: Vec<String> = refs.citable().map(str::to_string).collect();
            let most = schemas::max_findings(plan);
            let schema = schemas::research(statements, &citable, ResearchRound::First, most);
            let mut conv = Conversation {
                phase: Phase::Researcher,
                config: &config,
                emitter,
                calls: &mut calls,
                prices: &self.pipeline.prices,
                messages: llm::researcher_messages(
                    self.question,
                    plan,
                    figures,
                    &self.benchmarks,
                    statements,
                ),
                budget: schemas::output_budget(&schema, most, 0),
                schema,
            };
            let outcome = async {
                let first = conv
                    .ask_parsed(|t| llm::parse_research(t, Some(&refs)))
                    .await?;
                let requested = llm::evaluate(&first.computations, statements, emitter);
                if requested.is_empty() {
                    return Ok((requested, first.findings));
                }
                conv.say(llm::computation_results(&requested, plan.language));
                let evaluated = References {
                    computations: &requested,
                    ..refs
                };
                let citable: Vec<String> = evaluated.citable().map(str::to_string).collect();
                conv.schema = schemas::research(statements, &citable, ResearchRound::Final, most);
                let second = conv
                    .ask_parsed(|t| llm::parse_research(t, Some(&evaluated)))
                    .await?;
                Ok::<_, crate::Error>((requested, second.findings))
            }
            .await;
            match outcome {
                Ok((requested, raw)) => {
                    offline_phase = false;
                    computations.extend(requested);
                    let grounding = GroundingContext::new(statements, figures, &computations)
                        .with_benchmarks(&self.benchmarks);
                    let refs = References {
                        computations: &computations,
                        ..refs
                    };
                    findings = llm::check_findings(raw, &refs, &grounding);
                    checked_with = Some(grounding);
                }
                Err(e) => self.degrade(Phase::Researcher, e.to_string()),
            }
        }
        if offline_phase {
            findings = offline::findings(plan, figures, statements);
            findings.extend(offline::benchmark_findings(
                &self.benchmarks,
                self.language,
                &statements.company().currency,
            ));
        }
        if self.emitter.is_listening() {
            for c in computations.iter().filter(|c| c.id.starts_with('t')) {
                self.emitter.emit(Event::ComputationDone {
                    computation: c.clone(),
                });
            }
        }
        self.timings.researcher_ms = elapsed_ms(calls.started);
        let usage = self.usage(Phase::Researcher, &calls, offline_phase);
        self.finish_phase(usage);
        (computations, findings, checked_with)
    }

    /// The analysis: placeholders restored, warnings gathered, usage and cost totalled, degradations said.
    fn finish(
        mut self,
        request: &AnalysisRequest,
        id: String,
        started: Instant,
        pseudonyms: &Pseudonymizer,
        draft: Draft,
    ) -> (Analysis, bool) {
        let Draft {
            plan,
            figures,
            computations,
            written,
            reused,
        } = draft;
        let Written {
            report,
            source,
            mut findings,
            mut warnings,
            ungrounded,
            validator_offline,
            calls_started,
            calls,
        } = written;
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
                FindingStatus::Unchecked => {
                    warnings.push(format!("finding not checked: {}", f.text))
                }
                FindingStatus::Confirmed => {}
            }
        }
        self.timings.validator_ms = elapsed_ms(calls_started);
        let usage = self.usage(Phase::Validator, &calls, validator_offline);
        self.finish_phase(usage);
        // A provider failed (not merely absent): the caches will not keep this run.
        let failed = !self.degraded.is_empty();
        self.note_missing_providers();
        let total_cost_usd = self.usages.iter().try_fold(Decimal::ZERO, |sum, u| {
            u.cost_usd.and_then(|c| sum.checked_add(c))
        });
        self.timings.total_ms = elapsed_ms(started);
        let statements = self.statements;
        let benchmarks = std::mem::take(&mut self.benchmarks);
        let analysis = Analysis {
            id,
            tenant: request.tenant.clone(),
            client: request.client_id(),
            question: request.question.clone(),
            language: self.language,
            fingerprint: statements.fingerprint().to_string(),
            plan,
            figures,
            benchmarks,
            computations,
            findings,
            report,
            report_source: source,
            validation: Validation {
                grounded: ungrounded.is_empty(),
                ungrounded_numbers: ungrounded,
                warnings,
            },
            statement_warnings: statements.warnings().to_vec(),
            usage: self.usages,
            total_cost_usd,
            cache: if reused.is_some() {
                CacheOutcome::Plan
            } else {
                CacheOutcome::Miss
            },
            cache_similarity: reused.and_then(|(s, _)| similarity(s)),
            saved_usd: reused.and_then(|(_, saved)| saved),
            degraded: !self.degraded.is_empty(),
            degraded_reason: if self.degraded.is_empty() {
                None
            } else {
                Some(self.degraded.join("; "))
            },
            prompt_version: llm::PROMPT_VERSION.to_string(),
            timings: self.timings,
        };
        (analysis, failed)
    }

    /// Phases without a provider are degraded too (but such a run may be cached: nothing failed).
    fn note_missing_providers(&mut self) {
        let pipeline = self.pipeline;
        if Phase::ALL.iter().all(|p| pipeline.phase(*p).is_none()) {
            self.degraded.push(match self.language {
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
                    self.degraded.push(format!(
                        "{p}: no provider configured, the offline analyst did this phase"
                    ));
                }
            }
        }
    }
}
