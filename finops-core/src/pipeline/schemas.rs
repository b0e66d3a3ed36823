//! The JSON Schema of each phase's answer: generated from the typed answer structs the pipeline parses into
//! (`RawPlan`, `Research`, `Validated`), made strict (every property required, no others), then narrowed to the
//! request: the catalogue's metric ids, the document's period labels, the ids a finding may cite, the finding
//! indexes a verdict may name. A server that enforces the schema (OpenAI's structured outputs, llama.cpp's grammar,
//! Anthropic's forced tool input) can then only answer in a shape the parser accepts; the parser still checks
//! everything, for servers that do not.
//!
//! Each phase's output budget follows from what its schema can hold, so a model that rambles is cut short.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::AnalysisPlan;
use super::Intent;
use super::llm::{RawPlan, RawValidated, ReportSections, Research};
use crate::metrics::Figure;
use crate::metrics::MetricId;
use crate::provider::ResponseSchema;
use crate::statements::Statements;

/// Characters a text may hold between references: any but braces; quotes, backslashes and line breaks are left
/// out too, since grammar-based servers (llama.cpp) apply a pattern to the raw JSON text of the string, where a bare
/// `"` would end it.
const FREE: &str = r#"[^{}"\\\n\r\t]"#;

/// What a report's or a finding's prose is made of between references: [`FREE`] characters but digits, `_` and `@`,
/// and the document's period labels whole (`FY2023`). A model whose server enforces the pattern cannot type a
/// number (it refers to one, and the SDK writes it) nor copy a raw id (`gross_margin@FY2023`, `total_debt`) into
/// its prose; a server that does not enforce it has what it writes checked by grounding and acceptance as before.
/// A label that a JSON string or the pattern could not hold as it is (quotes, backslashes, braces, controls) is
/// left out.
fn prose_unit(labels: &[String]) -> String {
    // ASCII digits and the other number characters a model reaches for (fractions, super- and subscripts,
    // full-width digits), which grounding would refuse anyway.
    const CHARS: &str = r#"[^{}"\\\n\r\t0-9_@¹²³¼½¾⅐-⅞⁰⁴-⁹₀-₉０-９]"#;
    let labels: Vec<String> = labels
        .iter()
        .filter(|l| {
            !l.is_empty()
                && !l
                    .chars()
                    .any(|c| matches!(c, '"' | '\\' | '{' | '}') || c.is_control())
        })
        .map(|l| escape(l))
        .collect();
    if labels.is_empty() {
        return CHARS.to_string();
    }
    format!("({CHARS}|{})", labels.join("|"))
}

/// `text` with the regex's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Most characters of a text between two references, and most references in one text: a sentence or two around
/// each figure. The bounds are in the pattern, where every server that enforces patterns sees them (`maxLength`
/// is not applied with a pattern by llama.cpp): a model that repeats itself inside a string is cut at the bound
/// and must close it, instead of running to its output budget and never closing the JSON.
const MAX_RUN: usize = 300;
const MAX_REFERENCES: usize = 6;

/// The pattern of a text that may refer only to `ids` (`{{id}}`, or `{{a -> b}}` for a change): prose
/// ([`prose_unit`]: no digit but in a period label) and braces only around a known id, within the bounds above. A
/// server that enforces it cannot write a reference to a figure that does not exist, nor a number of its own;
/// `extra` is one more regex alternative (a computation id still to be evaluated).
fn text_pattern(ids: &[String], extra: Option<&str>, labels: &[String]) -> String {
    led_text_pattern(ids, extra, labels, 0, 0)
}

/// [`text_pattern`] for a text that must open with `lead` words of its own and hold at least `min_refs`
/// references (a report's answer: a sentence that states its figures, not "Yes" or a bare reference, as the
/// acceptance checks require of it).
fn led_text_pattern(
    ids: &[String],
    extra: Option<&str>,
    labels: &[String],
    lead: usize,
    min_refs: usize,
) -> String {
    let unit = prose_unit(labels);
    let run = format!("{unit}{{0,{MAX_RUN}}}");
    let lead = if lead == 0 {
        String::new()
    } else {
        // `lead - 1` words and the start of one more; a word is prose without a space.
        let word_unit = unit.replacen("[^", "[^ ", 1);
        format!(
            "({word_unit}{{1,40}} ){{{}}}{word_unit}",
            lead.saturating_sub(1)
        )
    };
    let mut alternatives: Vec<String> = ids.iter().map(|i| escape(i)).collect();
    alternatives.extend(extra.map(str::to_string));
    if alternatives.is_empty() {
        return format!("^{lead}{run}$");
    }
    let id = format!("({})", alternatives.join("|"));
    let min_refs = min_refs.min(MAX_REFERENCES);
    format!(r"^{lead}{run}(\{{\{{ ?{id}( -> {id})? ?\}}\}}{run}){{{min_refs},{MAX_REFERENCES}}}$")
}

/// A short free text with no reference (a verdict's note): one run.
fn note_pattern() -> String {
    format!("^{FREE}{{0,{MAX_RUN}}}$")
}

/// A computation's expression: statement lines, operators, period selectors; bounded like a text run.
const EXPRESSION: &str = r#"^[^{}"\\\n\r\t]{1,200}$"#;

/// Where a report's texts point for their pattern.
const TEXT_REF: &str = "#/$defs/text";

/// Which Researcher answer a schema is for: the first may request computations, the final one only cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResearchRound {
    First,
    Final,
}

/// Most computations, and most findings, a Researcher answer may carry under its schema.
pub(crate) const MAX_SCHEMA_ITEMS: usize = 8;

/// Most metrics a plan may ask for under its schema: a report addresses each one, and a model that lists the
/// whole catalogue plans nothing.
pub(crate) const MAX_PLANNED_METRICS: usize = 10;

/// Most findings the Researcher may write for a plan: one per planned metric and two more (a cross-metric
/// observation, a peer comparison), at least 3 and at most [`MAX_SCHEMA_ITEMS`]. A question about one margin does
/// not need eight findings, and a small model asked for up to eight writes eight near copies of one sentence
/// (measured on Gemma 3 270M: most of an analysis's time).
pub(crate) fn max_findings(plan: &AnalysisPlan) -> usize {
    plan.metrics
        .len()
        .saturating_add(2)
        .clamp(3, MAX_SCHEMA_ITEMS)
}

/// A computation id the Researcher chooses (`c1` … `c99`).
const COMPUTATION_ID: &str = "^c[0-9]{1,2}$";

/// Output tokens each phase may use: what its schema can hold with room to spare, never the provider's default
/// 4,096. A plan is a few ids (600); a Researcher answer 150 tokens per finding its schema allows, over 400 for its
/// computations (1,600 at most, and when `findings` is 0); a report is an answer, a line per planned metric, the
/// trends and a verdict per finding.
pub(crate) fn output_budget(schema: &ResponseSchema, findings: usize, metrics: usize) -> u32 {
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    match schema.name.as_str() {
        PLAN => 600,
        RESEARCH if findings == 0 => 1_600,
        RESEARCH => n(findings)
            .saturating_mul(150)
            .saturating_add(400)
            .min(1_600),
        _ => 500u32
            .saturating_add(n(metrics).saturating_mul(120))
            .saturating_add(n(findings).saturating_mul(40)),
    }
}

const PLAN: &str = "finops_plan";
const RESEARCH: &str = "finops_research";
const VALIDATION: &str = "finops_validation";

/// The strict schema of an answer type, generated once per process (narrowing then works on a copy).
fn generate<T: schemars::JsonSchema + 'static>() -> Value {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static GENERATED: OnceLock<Mutex<HashMap<TypeId, Value>>> = OnceLock::new();
    let cache = GENERATED.get_or_init(Mutex::default);
    if let Ok(done) = cache.lock()
        && let Some(v) = done.get(&TypeId::of::<T>())
    {
        return v.clone();
    }
    let v = generate_now::<T>();
    if let Ok(mut done) = cache.lock() {
        done.insert(TypeId::of::<T>(), v.clone());
    }
    v
}

fn generate_now<T: schemars::JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut v = generator.into_root_schema_for::<T>().to_value();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
        // The type's own doc comment is written for developers ("the Validator's answer as a model writes it");
        // a schema is sent with every request and billed, so only the fields' descriptions, which tell the model
        // what to write, go with it.
        o.remove("description");
    }
    strict(&mut v);
    v
}

/// OpenAI's strict form: every object requires all its properties and allows no others; defaults and titles,
/// which strict servers refuse or ignore, are removed.
fn strict(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("default");
            o.remove("title");
            o.remove("format");
            if let Some(Value::Object(props)) = o.get("properties") {
                let keys: Vec<Value> = props.keys().map(|k| json!(k)).collect();
                o.insert("required".into(), Value::Array(keys));
                o.insert("additionalProperties".into(), json!(false));
            }
            for child in o.values_mut() {
                strict(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

/// Replaces the schema at `pointer` (keeping its description) with `narrow`'s keys added.
fn narrow(schema: &mut Value, pointer: &str, with: Value) {
    if let (Some(Value::Object(target)), Value::Object(with)) = (schema.pointer_mut(pointer), with)
    {
        for (k, v) in with {
            target.insert(k, v);
        }
    }
}

fn labels(statements: &Statements) -> Vec<String> {
    statements
        .periods()
        .iter()
        .map(|p| p.label.to_string())
        .collect()
}

/// A plan's schema without `comparisons`.
fn without_comparisons(s: &mut Value) {
    if let Some(o) = s.as_object_mut() {
        if let Some(Value::Object(p)) = o.get_mut("properties") {
            p.remove("comparisons");
        }
        if let Some(Value::Array(r)) = o.get_mut("required") {
            r.retain(|k| k != "comparisons");
        }
    }
}

/// The Analyst's plan: intents, metrics and periods from the lists that exist.
pub(crate) fn plan(statements: &Statements) -> ResponseSchema {
    let mut s = generate::<RawPlan>();
    let metrics: Vec<&str> = MetricId::ALL.iter().map(|m| m.id()).collect();
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.id()).collect();
    let periods = labels(statements);
    narrow(
        &mut s,
        "/properties/intents",
        json!({"maxItems": intents.len()}),
    );
    narrow(
        &mut s,
        "/properties/intents/items",
        json!({"enum": intents}),
    );
    narrow(
        &mut s,
        "/properties/metrics",
        json!({"minItems": 1, "maxItems": MAX_PLANNED_METRICS.min(metrics.len())}),
    );
    narrow(
        &mut s,
        "/properties/metrics/items",
        json!({"enum": metrics}),
    );
    narrow(
        &mut s,
        "/properties/periods",
        json!({"maxItems": periods.len()}),
    );
    narrow(
        &mut s,
        "/properties/periods/items",
        json!({"enum": periods}),
    );
    // Comparisons are left to the SDK, which pairs each planned metric's first and last planned periods: a
    // schema cannot say "an earlier period, then a later one", and a wrong pair would only cost a repair round.
    without_comparisons(&mut s);
    let mut stable = generate::<RawPlan>();
    without_comparisons(&mut stable);
    ResponseSchema {
        name: PLAN.into(),
        schema: s,
        stable: Some(stable),
    }
}

/// The Researcher's computations and findings: computations on the document's periods, findings citing the
/// figures and peer benchmarks given (`citable`), or a computation of its own (by its id while it is still to be
/// evaluated, by the ids that were evaluated in the final round).
pub(crate) fn research(
    statements: &Statements,
    citable: &[String],
    round: ResearchRound,
    findings: usize,
) -> ResponseSchema {
    let mut s = generate::<Research>();
    let periods = labels(statements);
    let max_computations = match round {
        ResearchRound::First => MAX_SCHEMA_ITEMS,
        ResearchRound::Final => 0,
    };
    narrow(
        &mut s,
        "/properties/computations",
        json!({"maxItems": max_computations}),
    );
    narrow(
        &mut s,
        "/properties/computations/items/properties/expression",
        json!({"pattern": EXPRESSION}),
    );
    narrow(
        &mut s,
        "/properties/computations/items/properties/period",
        json!({"enum": periods}),
    );
    narrow(
        &mut s,
        "/properties/findings",
        json!({"minItems": 1, "maxItems": findings.clamp(1, MAX_SCHEMA_ITEMS)}),
    );
    let cite = match round {
        ResearchRound::First => {
            json!({"anyOf": [{"type": "string", "enum": citable}, {"type": "string", "pattern": COMPUTATION_ID}]})
        }
        ResearchRound::Final => json!({"type": "string", "enum": citable}),
    };
    if let Some(items) = s.pointer_mut("/properties/findings/items/properties/cites/items") {
        *items = cite;
    }
    let pending = match round {
        ResearchRound::First => Some("c[0-9]{1,2}"),
        ResearchRound::Final => None,
    };
    narrow(
        &mut s,
        "/properties/findings/items/properties/text",
        json!({"pattern": text_pattern(citable, pending, &periods)}),
    );
    narrow(
        &mut s,
        "/properties/findings/items/properties/cites",
        json!({"minItems": 1, "maxItems": 6}),
    );
    ResponseSchema {
        name: RESEARCH.into(),
        schema: s,
        stable: Some(generate::<Research>()),
    }
}

/// The Validator's answer before narrowing, with its report in sections (the form the SDK asks for).
pub(crate) fn stable_validation() -> Value {
    static STABLE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    STABLE
        .get_or_init(|| {
            let mut s = generate::<RawValidated>();
            if let Some(r) = s.pointer_mut("/properties/report") {
                *r = generate::<ReportSections>();
            }
            s
        })
        .clone()
}

/// The Validator's verdicts (one per finding index at most) and report, in sections: the direct answer, one
/// entry per planned metric (each required, its headline figure one of that metric's figures) and the trends. The
/// SDK assembles them with headings in the report's language, and adds what stands out and the caveats itself.
/// Its texts may refer only to `citable` ids.
pub(crate) fn validation(
    findings: usize,
    plan: &AnalysisPlan,
    figures: &[Figure],
    citable: &[String],
) -> ResponseSchema {
    // The periods the texts may name: those of the figures, in order.
    let mut periods: Vec<String> = Vec::new();
    for f in figures {
        if !periods.iter().any(|p| **p == *f.period) {
            periods.push(f.period.to_string());
        }
    }
    let mut s = generate::<RawValidated>();
    narrow(
        &mut s,
        "/properties/verdicts",
        json!({"maxItems": findings}),
    );
    let indexes: Vec<usize> = (0..findings).collect();
    if !indexes.is_empty() {
        narrow(
            &mut s,
            "/properties/verdicts/items/properties/finding",
            json!({"enum": indexes}),
        );
    }
    narrow(
        &mut s,
        "/properties/verdicts/items/properties/status",
        json!({"enum": ["confirmed", "rejected"]}),
    );
    if let Some(note) = s.pointer_mut("/properties/verdicts/items/properties/note") {
        *note = json!({"anyOf": [{"type": "string", "pattern": note_pattern()}, {"type": "null"}]});
    }
    let mut report = generate::<ReportSections>();
    let note = report
        .pointer("/properties/metrics/additionalProperties")
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    let mut properties = serde_json::Map::new();
    for metric in &plan.metrics {
        let ids: Vec<&str> = figures
            .iter()
            .filter(|f| f.metric == *metric && f.value.is_some())
            .map(|f| f.id.as_str())
            .collect();
        let mut entry = note.clone();
        if let Some(comment) = entry.pointer_mut("/properties/comment") {
            *comment = json!({"$ref": TEXT_REF});
        }
        // A metric with no computable figure has none to name: its comment says why.
        let allowed = if ids.is_empty() { vec![""] } else { ids };
        narrow(&mut entry, "/properties/figure", json!({"enum": allowed}));
        properties.insert(metric.id().to_string(), entry);
    }
    let required: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
    if let Some(metrics) = report.pointer_mut("/properties/metrics") {
        *metrics = json!({
            "type": "object",
            "description": "One entry per planned metric: the id of its headline figure and a comment.",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        });
    }
    if let Some(text) = report.pointer_mut("/properties/trends") {
        *text = json!({"$ref": TEXT_REF});
    }
    // The answer opens with words of its own and cites a figure when one is computable: a grammar-constrained
    // model cannot answer "Yes", or with a bare reference, or with a verdict and nothing to check it against,
    // which the acceptance checks would refuse after a whole round trip.
    let must_cite = plan
        .metrics
        .iter()
        .any(|m| figures.iter().any(|f| f.metric == *m && f.value.is_some()));
    if let Some(text) = report.pointer_mut("/properties/answer") {
        let description = text.get("description").cloned();
        *text = json!({
            "type": "string",
            "pattern": led_text_pattern(
                citable,
                None,
                &periods,
                super::acceptance::MIN_ANSWER_WORDS,
                usize::from(must_cite),
            ),
        });
        if let (Some(d), Some(o)) = (description, text.as_object_mut()) {
            o.insert("description".into(), d);
        }
    }
    if let Some(r) = s.pointer_mut("/properties/report") {
        *r = report;
    }
    // The text pattern lists every citable id: written once and referred to, not repeated in every field (a
    // report's schema is part of the prompt, and of what is billed).
    if let Some(o) = s.as_object_mut() {
        o.insert(
            "$defs".into(),
            json!({"text": {"type": "string", "pattern": text_pattern(citable, None, &periods)}}),
        );
    }
    ResponseSchema {
        name: VALIDATION.into(),
        schema: s,
        stable: Some(stable_validation()),
    }
}

#[cfg(test)]
mod tests;
