//! The Validator's request (with what the rules read in the question), its verdicts on the findings, and the
//! repair message for ungrounded numbers.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{
    VALIDATOR, benchmarks_json, computation_display, figures_json, formulas_json, in_language,
};
use crate::metrics::Figure;
use crate::pipeline::{AnalysisPlan, ComputationRecord, Finding, FindingStatus, Language, intent};
use crate::portfolio::Benchmark;
use crate::provider::{Message, Phase};
use crate::statements::Statements;

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
        .map(|(i, f)| {
            let mut finding = json!({"index": i, "text": f.text, "cites": f.cites});
            if let Some(note) = &f.note {
                finding["sdk_rejected"] = json!(note);
            }
            finding
        })
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
    // Empty lists are left out: every key sent is billed, and read by the model.
    let mut user = json!({
        "question": question.text,
        "plan": plan,
        "formulas": formulas_json(figures),
        "figures": figures_json(figures, plan.language, &statements.company().currency),
        "findings": findings,
    });
    if !computations.is_empty() {
        user["computations"] = json!(computations);
    }
    if !warnings.is_empty() {
        user["statement_warnings"] = json!(warnings);
    }
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
/// when it rose), the years it names that the statements do not cover (`answer_says_not_covered`), and the
/// amounts of the statement line it is about, by the ids that cite them (`answer_states_amount_of`). Absent when
/// the rules read nothing, so other requests are unchanged. The acceptance check holds
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
    // Years the question names that the statements do not cover: the answer says so first.
    if !cues.outside.is_empty() {
        user["answer_says_not_covered"] = json!(cues.outside);
    }
    // The amounts of the line the question is about, by the ids that cite them: "how much cash do we have?" is
    // answered with `{{cash@FY2023}}`.
    let lines = crate::pipeline::references::subject_lines(cues, &plan.periods);
    let currency = &statements.company().currency;
    if !lines.is_empty() {
        let shown: serde_json::Map<String, serde_json::Value> = lines
            .iter()
            .map(|(id, v)| {
                let amount = plan
                    .language
                    .value(*v, crate::metrics::Unit::Amount, currency);
                (id.clone(), json!(amount))
            })
            .collect();
        user["answer_states_amount_of"] = json!(shown);
    }
    if let Some((yes, _)) = crate::pipeline::offline::figures_answer(plan, figures, currency, cues)
    {
        user["answer_opens_with"] = json!(match (plan.language, yes) {
            (Language::En, true) => "Yes.",
            (Language::En, false) => "No.",
            (Language::Fr, true) => "Oui.",
            (Language::Fr, false) => "Non.",
        });
    }
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

pub(crate) fn grounding_repair(ungrounded: &[crate::pipeline::UngroundedNumber]) -> String {
    let list: Vec<&str> = ungrounded.iter().map(|u| u.text.as_str()).collect();
    format!(
        "These numbers in your report are not in the figures, computations or input amounts: {}. Rewrite the report \
         using only the numbers you were given, and reply with the same JSON object.",
        list.join(", ")
    )
}
