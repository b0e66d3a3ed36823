//! The Analyst's request and the check of its plan.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{ANALYST, parse_json};
use crate::metrics::MetricId;
use crate::pipeline::{AnalysisPlan, Comparison, Intent, Language, intent};
use crate::provider::Message;
use crate::statements::{Line, Period, Statements};

/// The statements as the Analyst sees them: no client identity, no amounts. The lines any period reports are
/// listed once, and a period names only those it lacks (the same list three times is tokens billed for nothing).
pub(crate) fn summary(statements: &Statements) -> serde_json::Value {
    let company = statements.company();
    let reported = |p: &Period, l: Line| p.amount(l).is_some();
    let lines: Vec<Line> = Line::ALL
        .iter()
        .copied()
        .filter(|l| statements.periods().iter().any(|p| reported(p, *l)))
        .collect();
    let periods: Vec<_> = statements
        .periods()
        .iter()
        .map(|p| {
            let mut period =
                json!({"label": &*p.label, "start": p.start.to_string(), "end": p.end.to_string()});
            let missing: Vec<&str> = lines
                .iter()
                .filter(|l| !reported(p, **l))
                .map(|l| l.id())
                .collect();
            if !missing.is_empty() {
                period["missing_lines"] = json!(missing);
            }
            period
        })
        .collect();
    json!({
        "sector": company.sector,
        "naics": company.naics,
        "jurisdiction": company.jurisdiction,
        "currency": company.currency,
        "lines": lines.iter().map(|l| l.id()).collect::<Vec<_>>(),
        "periods": periods,
    })
}

pub(crate) fn analyst_messages(
    question: &str,
    statements: &Statements,
    language: Language,
) -> Vec<Message> {
    let catalogue: String = MetricId::ALL
        .iter()
        .map(|m| format!("  {}: {}\n", m.id(), m.formula()))
        .collect();
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.id()).collect();
    let system = ANALYST
        .replace("{{intents}}", &intents.join(", "))
        .replace("{{catalogue}}", catalogue.trim_end());
    let user = json!({
        "question": question,
        "language": language.id(),
        "statements": summary(statements),
    });
    vec![Message::system(system), Message::user(user.to_string())]
}

#[derive(Deserialize, JsonSchema)]
struct RawComparison {
    metric: String,
    from: String,
    to: String,
}

/// The Analyst's answer.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawPlan {
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    periods: Vec<String>,
    #[serde(default)]
    comparisons: Vec<RawComparison>,
    #[serde(default)]
    benchmark: bool,
}

/// Parses and checks an Analyst answer: catalogue metrics only, periods that exist, comparisons forward in time.
pub(crate) fn parse_plan(
    text: &str,
    statements: &Statements,
    language: Language,
) -> std::result::Result<AnalysisPlan, String> {
    let raw: RawPlan = parse_json(text)?;
    let mut problems = Vec::new();
    let mut intents: Vec<Intent> = Vec::new();
    for i in &raw.intents {
        match i.parse::<Intent>() {
            Ok(i) if !intents.contains(&i) => intents.push(i),
            Ok(_) => {}
            Err(_) => problems.push(format!("unknown intent `{i}`")),
        }
    }
    let mut metrics: Vec<MetricId> = Vec::new();
    for m in &raw.metrics {
        match m.parse::<MetricId>() {
            Ok(m) if !metrics.contains(&m) => metrics.push(m),
            Ok(_) => {}
            Err(_) => problems.push(format!("`{m}` is not a catalogue metric id")),
        }
    }
    if raw.metrics.is_empty() {
        problems.push("`metrics` is empty".into());
    }
    let mut indexes: Vec<usize> = Vec::new();
    for p in &raw.periods {
        match statements.period_index(p) {
            Some(i) if !indexes.contains(&i) => indexes.push(i),
            Some(_) => {}
            None => problems.push(format!("no period labelled `{p}`")),
        }
    }
    let mut comparisons = Vec::new();
    for c in &raw.comparisons {
        let metric = c.metric.parse::<MetricId>();
        let (from, to) = (
            statements.period_index(&c.from),
            statements.period_index(&c.to),
        );
        match (metric, from, to) {
            (Ok(metric), Some(f), Some(t)) if f < t => comparisons.push(Comparison {
                metric,
                from: c.from.clone(),
                to: c.to.clone(),
            }),
            _ => problems.push(format!(
                "comparison {} {} → {} must name a catalogue metric and an earlier then a later period",
                c.metric, c.from, c.to
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if intents.is_empty() {
        intents.push(Intent::HealthCheck);
    }
    intents.sort();
    metrics.sort();
    indexes.sort_unstable();
    let periods: Vec<String> = if indexes.is_empty() {
        let all = statements.periods();
        all[all.len().saturating_sub(3)..]
            .iter()
            .map(|p| p.label.to_string())
            .collect()
    } else {
        indexes
            .iter()
            .map(|i| statements.periods()[*i].label.to_string())
            .collect()
    };
    if comparisons.is_empty() {
        comparisons = intent::comparisons(&metrics, &periods);
    }
    Ok(AnalysisPlan {
        intents,
        metrics,
        periods,
        comparisons,
        language,
        benchmark: raw.benchmark,
    })
}
