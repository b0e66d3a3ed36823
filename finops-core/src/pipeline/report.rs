//! The Validator's answer: verdicts and a report, either sections the SDK assembles under headings in the
//! report's language (what the schema asks for) or Markdown written whole (what a server that enforces no schema
//! may send). Parsing checks every reference and that a sectioned report names planned metrics and their own
//! figures.
//!
//! In sections, the model writes what only it can: the direct answer, a comment on each planned metric and the
//! trends. What stands out (levels crossed, the largest movements) and the caveats (figures that could not be
//! computed, warnings on the statements) are facts the SDK computes exactly; it writes them itself, so they are
//! never mistyped, and output tokens, the dearest part of an analysis, are not spent on them.

use schemars::JsonSchema;
use serde::Deserialize;

use super::llm::{Verdict, parse_json};
use super::references::References;
use super::{AnalysisPlan, Language};
use crate::metrics::MetricId;

/// The Validator's answer as a model writes it.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawValidated {
    #[serde(default)]
    pub(crate) verdicts: Vec<Verdict>,
    pub(crate) report: RawReport,
}

/// A report: the sections the SDK assembles (what the schema asks for), or Markdown written whole.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawReport {
    Sections(ReportSections),
    Text(String),
}

/// A report in sections: the SDK writes the headings in the report's language, one line per planned metric with
/// its headline figure, what stands out, the caveats, and the numbers of every `{{reference}}`.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct ReportSections {
    /// The first sentence: the direct answer to the question.
    pub(crate) answer: String,
    /// Per planned metric id: the id of its headline figure and a comment.
    pub(crate) metrics: std::collections::BTreeMap<String, MetricNote>,
    pub(crate) trends: String,
    /// Not asked for (the SDK writes what stands out); a model that writes it anyway has it added after the
    /// SDK's lines, checked like the rest.
    #[serde(default)]
    #[schemars(skip)]
    pub(crate) stands_out: String,
    /// Not asked for (the SDK writes the caveats it knows); kept after them when a model writes it anyway.
    #[serde(default)]
    #[schemars(skip)]
    pub(crate) caveats: String,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct MetricNote {
    /// The id of the metric's headline figure, e.g. `current_ratio@FY2023`.
    pub(crate) figure: String,
    pub(crate) comment: String,
}

/// A Validator answer, its report assembled.
pub(crate) struct Validated {
    pub(crate) verdicts: Vec<Verdict>,
    /// Markdown, references not yet written out.
    pub(crate) report: String,
    /// What the model wrote itself (no headings, no references): what the language check reads.
    pub(crate) prose: String,
    /// Each text the model wrote, by its field (`report.answer`, `report.metrics.current_ratio.comment`, …; the
    /// whole `report` when it wrote it whole): what the echo check reads.
    pub(crate) texts: Vec<(String, String)>,
}

/// What a sectioned report is assembled for: the plan (its metrics and periods), the language, and the lines the
/// SDK writes under "What stands out" and "Caveats".
#[derive(Clone, Copy)]
pub(crate) struct ReportFrame<'a> {
    pub(crate) plan: &'a AnalysisPlan,
    pub(crate) refs: References<'a>,
    pub(crate) stands_out: &'a [String],
    pub(crate) caveats: &'a [String],
}

/// Parses a Validator answer; with a frame, every `{{reference}}` of its report must resolve and a sectioned
/// report must name planned metrics and their own figures.
pub(crate) fn parse_validated(
    text: &str,
    findings: usize,
    frame: Option<&ReportFrame<'_>>,
) -> std::result::Result<Validated, String> {
    let raw: RawValidated = parse_json(text)?;
    for verdict in &raw.verdicts {
        if verdict.finding >= findings {
            return Err(format!(
                "verdict for finding {} but there are only {findings} findings",
                verdict.finding
            ));
        }
        if !matches!(verdict.status.as_str(), "confirmed" | "rejected") {
            return Err(format!(
                "verdict status `{}` must be `confirmed` or `rejected`",
                verdict.status
            ));
        }
    }
    let (report, texts) = match raw.report {
        RawReport::Text(t) => {
            if t.trim().is_empty() {
                return Err("`report` is empty".into());
            }
            let texts = vec![("report".to_string(), t.clone())];
            (t, texts)
        }
        RawReport::Sections(sections) => {
            let texts = section_texts(&sections);
            (assemble(sections, frame)?, texts)
        }
    };
    let written: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let prose = without_references(&written.join(" "));
    if let Some(frame) = frame {
        frame.refs.check(&report)?;
    }
    Ok(Validated {
        verdicts: raw.verdicts,
        report,
        prose,
        texts,
    })
}

/// The texts of a sectioned report, each by its field.
fn section_texts(sections: &ReportSections) -> Vec<(String, String)> {
    let mut out = vec![("report.answer".to_string(), sections.answer.clone())];
    for (metric, note) in &sections.metrics {
        out.push((
            format!("report.metrics.{metric}.comment"),
            note.comment.clone(),
        ));
    }
    for (field, text) in [
        ("trends", &sections.trends),
        ("stands_out", &sections.stands_out),
        ("caveats", &sections.caveats),
    ] {
        out.push((format!("report.{field}"), text.clone()));
    }
    out
}

/// The text without its `{{references}}` (ids are not words of any language).
pub(crate) fn without_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        match rest[open..].find("}}") {
            Some(close) => rest = &rest[open + close + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A sectioned report as Markdown: title, the answer, headline figures (one line per planned metric), trends
/// (left out when empty), what stands out and caveats (the SDK's lines, then any the model wrote).
fn assemble(
    sections: ReportSections,
    frame: Option<&ReportFrame<'_>>,
) -> std::result::Result<String, String> {
    let language = frame.map_or(Language::En, |f| f.refs.language);
    if sections.answer.trim().is_empty() {
        return Err(
            "`report.answer` is empty: start with a sentence that answers the question".into(),
        );
    }
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for (metric, note) in &sections.metrics {
        let Ok(id) = metric.parse::<MetricId>() else {
            problems.push(format!(
                "`report.metrics.{metric}` is not a catalogue metric id"
            ));
            continue;
        };
        if let Some(frame) = frame {
            if !frame.plan.metrics.contains(&id) {
                problems.push(format!(
                    "`report.metrics.{metric}` is not a metric of the plan"
                ));
                continue;
            }
            // A metric with no computable figure names none (as its schema asks) and says why.
            let none = note.figure.is_empty()
                && !frame
                    .refs
                    .figures
                    .iter()
                    .any(|f| f.metric == id && f.value.is_some());
            if none {
                let name = super::labels::metric_name(id, language);
                let missing = match language {
                    Language::En => "not computable",
                    Language::Fr => "non calculable",
                };
                lines.push(match note.comment.trim() {
                    "" => format!("- **{name}**: {missing}"),
                    comment => format!("- **{name}**: {missing} — {comment}"),
                });
                continue;
            }
            let own = frame
                .refs
                .figures
                .iter()
                .any(|f| f.metric == id && f.id == note.figure);
            if !own {
                problems.push(format!(
                    "`report.metrics.{metric}.figure` is `{}`, not one of {metric}'s figures",
                    note.figure
                ));
                continue;
            }
        }
        let name = super::labels::metric_name(id, language);
        let comment = note.comment.trim();
        lines.push(if comment.is_empty() {
            format!("- **{name}**: {{{{{}}}}}", note.figure)
        } else {
            format!("- **{name}**: {{{{{}}}}} — {comment}", note.figure)
        });
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let (headline, trends, stands_out, caveats) = match language {
        Language::En => ("Headline figures", "Trends", "What stands out", "Caveats"),
        Language::Fr => (
            "Chiffres clés",
            "Tendances",
            "Points saillants",
            "Mises en garde",
        ),
    };
    let title = match (language, frame.map(|f| &f.plan.periods)) {
        (Language::En, Some(p)) if !p.is_empty() => {
            format!("## Analysis — {} to {}", p[0], p[p.len() - 1])
        }
        (Language::Fr, Some(p)) if !p.is_empty() => {
            format!("## Analyse — {} à {}", p[0], p[p.len() - 1])
        }
        (Language::En, _) => "## Analysis".to_string(),
        (Language::Fr, _) => "## Analyse".to_string(),
    };
    let mut out = format!("{title}\n\n{}\n", sections.answer.trim());
    if !lines.is_empty() {
        out.push_str(&format!("\n### {headline}\n\n{}\n", lines.join("\n")));
    }
    if !sections.trends.trim().is_empty() {
        out.push_str(&format!("\n### {trends}\n\n{}\n", sections.trends.trim()));
    }
    let (sdk_standing, sdk_caveats) =
        frame.map_or((&[][..], &[][..]), |f| (f.stands_out, f.caveats));
    let mut standing: Vec<String> = sdk_standing.iter().map(|l| format!("- {l}")).collect();
    if !sections.stands_out.trim().is_empty() {
        standing.push(sections.stands_out.trim().to_string());
    }
    if standing.is_empty() && frame.is_some() {
        standing.push(match language {
            Language::En => "- Nothing unusual stands out in the figures analysed.".to_string(),
            Language::Fr => "- Rien d'inhabituel ne ressort des chiffres analysés.".to_string(),
        });
    }
    let mut cautions: Vec<String> = sdk_caveats.iter().map(|l| format!("- {l}")).collect();
    if !sections.caveats.trim().is_empty() {
        cautions.push(sections.caveats.trim().to_string());
    }
    for (heading, body) in [(stands_out, standing), (caveats, cautions)] {
        if !body.is_empty() {
            out.push_str(&format!("\n### {heading}\n\n{}\n", body.join("\n")));
        }
    }
    Ok(out)
}
