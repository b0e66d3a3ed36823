//! The Researcher's request, the exact evaluation of the computations it asks for, and the SDK's checks on its
//! findings.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{
    MAX_ITEMS, RESEARCHER, benchmarks_json, computation_display, figures_json, formulas_json,
    in_language, parse_json,
};
use crate::metrics::{Figure, expr};
use crate::pipeline::grounding::GroundingContext;
use crate::pipeline::references::References;
use crate::pipeline::{
    AnalysisPlan, ComputationRecord, Emitter, Event, Finding, FindingStatus, Language,
};
use crate::portfolio::Benchmark;
use crate::provider::{Message, Phase};
use crate::statements::Statements;

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
