//! The Validator's phase: verdicts on the findings and a report that must answer, grounded in the figures, with one
//! repair round before the offline memo replaces it.

use super::{Evidence, Run, Written};
use crate::analysis::{
    AnalysisPlan, ComputationRecord, Event, Finding, Intent, Language, ReportSource,
    UngroundedNumber, intent, intent::Cues,
};
use crate::error::Result;
use crate::metrics::Figure;
use crate::pipeline::grounding::GroundingContext;
use crate::pipeline::llm::{self, Conversation, PhaseCalls};
use crate::pipeline::references::References;
use crate::pipeline::schemas;
use crate::pipeline::{PhaseConfig, acceptance, offline};
use crate::provider::Phase;

impl Run<'_> {
    /// The Validator: verdicts on the findings and a report grounded in the figures (one repair round), or the
    /// offline report.
    pub(super) async fn validator(
        &mut self,
        plan: &AnalysisPlan,
        figures: &[Figure],
        computations: &[ComputationRecord],
        mut findings: Vec<Finding>,
        grounding: Option<GroundingContext>,
    ) -> Written {
        self.emitter.emit(Event::PhaseStarted {
            phase: Phase::Validator,
        });
        let (statements, language) = (self.statements, self.language);
        let mut calls = PhaseCalls::new();
        let grounding = grounding
            .unwrap_or_else(|| {
                GroundingContext::new(statements, figures, computations)
                    .with_benchmarks(&self.benchmarks)
            })
            .with_literals(&self.cues.outside)
            .with_thresholds(&self.cues.thresholds());
        let mut report: Option<(String, ReportSource)> = None;
        let mut warnings: Vec<String> = statements
            .warnings()
            .iter()
            .map(|w| format!("{}: {}", w.field, w.message))
            .collect();
        warnings.extend(self.notes.iter().cloned());
        if let Some(config) = self.callable(Phase::Validator).cloned() {
            let ctx = Evidence {
                plan,
                currency: &statements.company().currency,
                figures,
                computations,
                grounding: &grounding,
            };
            match self
                .ask_validator(&config, &ctx, &mut findings, &mut calls)
                .await
            {
                Ok(Ok(written)) => report = Some(written),
                Ok(Err(reason)) => self.degrade(Phase::Validator, reason),
                Err(e) => self.degrade(Phase::Validator, e.to_string()),
            }
        }
        let validator_offline = report.is_none();
        let (report, source) = match report {
            Some(r) => r,
            None => {
                let mut notes = Vec::new();
                if self.pipeline.phase(Phase::Validator).is_some() || !self.degraded.is_empty() {
                    notes.push(match language {
                        Language::En => "This report was written by the offline analyst because a model phase failed; the figures are exact.".to_string(),
                        Language::Fr => "Ce rapport a été rédigé par l'analyste hors ligne, une phase du modèle ayant échoué ; les chiffres sont exacts.".to_string(),
                    });
                }
                // A health check that stands in for a question the rules could not read says so, rather than
                // answering something else silently.
                if plan.intents == [Intent::HealthCheck]
                    && !intent::recognises(self.original_question)
                {
                    notes.push(match language {
                        Language::En => "The question names none of the financial topics the offline analyst recognises: this memo is a general health check.".to_string(),
                        Language::Fr => "La question ne nomme aucun des sujets financiers que l'analyste hors ligne reconnaît : ce mémo est un bilan de santé général.".to_string(),
                    });
                }
                let text = offline::report(
                    plan,
                    figures,
                    computations,
                    &findings,
                    statements,
                    &self.cues,
                    &notes,
                );
                (text, ReportSource::Offline)
            }
        };
        // Grounded on the text as the model wrote it (placeholders and all).
        let ungrounded = grounding.check(&report, language);
        Written {
            report,
            source,
            findings,
            warnings,
            ungrounded,
            validator_offline,
            calls_started: calls.started,
            calls,
        }
    }

    /// The Validator's conversation: verdicts and a report, and one repair round when the report has numbers no
    /// figure explains. `Ok(Ok(report))`; `Ok(Err(why))` when the repaired report is still not grounded; `Err` when
    /// the model failed.
    async fn ask_validator(
        &self,
        config: &PhaseConfig,
        ctx: &Evidence<'_>,
        findings: &mut [Finding],
        calls: &mut PhaseCalls,
    ) -> Result<std::result::Result<(String, ReportSource), String>> {
        let count = findings.len();
        let language = self.language;
        let currency = self.statements.company().currency.clone();
        // The amounts of the line the question is about, when it is about one ("how much cash do we have?").
        let lines = crate::pipeline::references::subject_lines(&self.cues, &ctx.plan.periods);
        let refs = References {
            computations: ctx.computations,
            benchmarks: &self.benchmarks,
            lines: &lines,
            ..References::new(ctx.figures, language, &currency)
        };
        let citable: Vec<String> = refs.citable().map(str::to_string).collect();
        let schema = schemas::validation(count, ctx.plan, ctx.figures, &citable);
        // What the model was told (the prompt and the schema's descriptions, the same for every request): a section
        // that only repeats it is no answer.
        static TOLD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let told = TOLD.get_or_init(|| {
            acceptance::normalized(&format!(
                "{}\n{}\n{}",
                llm::VALIDATOR,
                schemas::stable_validation(),
                llm::FRENCH_VALIDATOR_LINE,
            ))
        });
        let mut conv = Conversation {
            phase: Phase::Validator,
            config,
            emitter: self.emitter,
            calls,
            prices: &self.pipeline.prices,
            messages: llm::validator_messages(
                llm::Question {
                    text: self.question,
                    cues: &self.cues,
                },
                ctx.plan,
                ctx.figures,
                ctx.computations,
                &self.benchmarks,
                findings,
                self.statements,
            ),
            budget: schemas::output_budget(&schema, count, ctx.plan.metrics.len()),
            schema,
        };
        // What stands out and the caveats: the SDK's own lines, the same rules as the offline memo's.
        let standing: Vec<String> =
            offline::stands_out(&offline::findings(ctx.plan, ctx.figures, self.statements));
        let caveats = offline::caveats(ctx.figures, self.statements, &[], language);
        let frame = llm::ReportFrame {
            plan: ctx.plan,
            refs,
            stands_out: &standing,
            caveats: &caveats,
        };
        let validated = conv
            .ask_parsed(|t| llm::parse_validated(t, count, Some(&frame)))
            .await?;
        llm::apply_verdicts(findings, &validated.verdicts);
        // Grounded (its numbers are the SDK's), an answer (long enough, in the asked language, stating the
        // plan's figures) and no direction word against its figures: else one repair round with every reason,
        // then the offline memo.
        let (report, ungrounded, unanswered) = review(
            self.question,
            &self.cues,
            told,
            &refs,
            ctx,
            &validated,
            language,
        );
        if ungrounded.is_empty() && unanswered.is_empty() {
            return Ok(Ok((report, ReportSource::Validator)));
        }
        let mut repair = Vec::new();
        if !ungrounded.is_empty() {
            repair.push(llm::grounding_repair(&ungrounded));
        }
        if !unanswered.is_empty() {
            repair.push(format!(
                "The report cannot be accepted yet: {}. Rewrite it, and reply with the same JSON object.",
                unanswered.join("; ")
            ));
        }
        conv.say(repair.join("\n"));
        let second = conv
            .ask_parsed(|t| llm::parse_validated(t, count, Some(&frame)))
            .await?;
        let (report, still, still_unanswered) = review(
            self.question,
            &self.cues,
            told,
            &refs,
            ctx,
            &second,
            language,
        );
        let still: Vec<String> = still.into_iter().map(|u| u.text).collect();
        if still.is_empty() && still_unanswered.is_empty() {
            return Ok(Ok((report, ReportSource::ValidatorRepaired)));
        }
        let mut why = Vec::new();
        if !still.is_empty() {
            why.push(format!(
                "the report was still not grounded after one repair (numbers: {})",
                still.join(", ")
            ));
        }
        if !still_unanswered.is_empty() {
            why.push(format!(
                "the report still did not answer after one repair ({})",
                still_unanswered.join("; ")
            ));
        }
        Ok(Err(format!(
            "{}; replaced by the offline report",
            why.join("; ")
        )))
    }
}

/// A Validator report written out (references become numbers in the report's style) and what keeps it from
/// being accepted: the numbers nothing explains, and every other reason (not an answer, a direction word against
/// its figure).
fn review(
    question: &str,
    cues: &Cues,
    told: &str,
    refs: &References<'_>,
    ctx: &Evidence<'_>,
    validated: &llm::Validated,
    language: Language,
) -> (String, Vec<UngroundedNumber>, Vec<String>) {
    match refs.render(&validated.report) {
        Ok(rendered) => {
            let ungrounded =
                ctx.grounding
                    .check_with_changes(&rendered.text, language, &rendered.changes);
            let mut unanswered =
                acceptance::problems(&rendered.text, &validated.prose, ctx.plan, ctx.figures);
            unanswered.extend(acceptance::echoes(&validated.texts, question, told));
            unanswered.extend(acceptance::garbled(&validated.texts));
            unanswered.extend(acceptance::answer_cites(
                &validated.texts,
                ctx.plan,
                ctx.figures,
                refs.lines,
            ));
            unanswered.extend(acceptance::states_amount(&validated.texts, *refs, cues));
            unanswered.extend(acceptance::yes_no(
                &validated.texts,
                cues,
                ctx.plan,
                ctx.figures,
                ctx.currency,
            ));
            unanswered.extend(rendered.contradictions);
            (rendered.text, ungrounded, unanswered)
        }
        Err(problems) => (validated.report.clone(), Vec::new(), problems),
    }
}
