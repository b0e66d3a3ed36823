#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use crate::analysis::Language;
use crate::pipeline::{llm, offline};

fn load(name: &str) -> Statements {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bistro() -> Statements {
    let path = format!(
        "{}/../examples/data/bistro-saint-denis.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every object lists all its properties as required and allows no others (OpenAI's strict mode).
fn assert_strict(v: &Value, path: &str) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(props)) = o.get("properties") {
                let mut required: Vec<&str> = o["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect();
                required.sort_unstable();
                let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
                keys.sort_unstable();
                assert_eq!(required, keys, "{path}");
                assert_eq!(o["additionalProperties"], false, "{path}");
            }
            assert!(!o.contains_key("default"), "{path}");
            if let Some(r) = o.get("$ref") {
                assert_eq!(
                    r, TEXT_REF,
                    "{path}: only the shared text pattern is referred to"
                );
            }
            for (k, child) in o {
                assert_strict(child, &format!("{path}/{k}"));
            }
        }
        Value::Array(a) => a.iter().for_each(|c| assert_strict(c, path)),
        _ => {}
    }
}

fn valid(schema: &ResponseSchema, answer: &Value) -> bool {
    jsonschema::validator_for(&schema.schema)
        .unwrap()
        .is_valid(answer)
}

#[test]
fn every_phase_schema_is_strict_and_a_valid_schema() {
    let s = bistro();
    let citable = vec!["gross_margin@FY2023".to_string()];
    for schema in [
        plan(&s),
        research(&s, &citable, ResearchRound::First, MAX_SCHEMA_ITEMS),
        research(&s, &citable, ResearchRound::Final, MAX_SCHEMA_ITEMS),
        validation(3, &plan_of(&s), &crate::metrics::compute_all(&s), &citable),
        validation(0, &plan_of(&s), &crate::metrics::compute_all(&s), &citable),
    ] {
        assert_strict(&schema.schema, &schema.name);
        assert!(
            jsonschema::meta::is_valid(&schema.schema),
            "{}",
            schema.name
        );
        // The stable form is strict and valid too, and names nothing of the document.
        let stable = schema.stable.as_ref().unwrap();
        assert_strict(stable, &schema.name);
        assert!(jsonschema::meta::is_valid(stable), "{}", schema.name);
        assert!(!stable.to_string().contains("FY2021"), "{}", schema.name);
        assert_eq!(schema.schema["type"], "object");
        let name_ok = schema.name.len() <= 64
            && schema
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        assert!(name_ok, "{}", schema.name);
    }
}

#[test]
fn the_plan_schema_admits_what_the_parser_accepts_and_narrows_to_the_document() {
    let s = bistro();
    let schema = plan(&s);
    let good = json!({"intents": ["profitability"], "metrics": ["gross_margin", "net_margin"],
        "periods": ["FY2022", "FY2023"], "benchmark": false});
    assert!(valid(&schema, &good));
    assert!(llm::parse_plan(&good.to_string(), &s, Language::En).is_ok());
    // What the parser refuses, the schema refuses too, so a constrained model cannot produce it.
    for (field, bad) in [
        ("metrics", json!(["gross_profit_per_chair"])),
        ("metrics", json!([])),
        ("periods", json!(["FY1999"])),
        ("intents", json!(["astrology"])),
    ] {
        let mut answer = good.clone();
        answer[field] = bad;
        assert!(!valid(&schema, &answer), "{field}: {answer}");
        assert!(
            llm::parse_plan(&answer.to_string(), &s, Language::En).is_err(),
            "{answer}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("benchmark");
    assert!(
        !valid(&schema, &missing),
        "strict: every property is required"
    );
    let mut extra = good.clone();
    extra["notes"] = json!("x");
    assert!(!valid(&schema, &extra));
}

#[test]
fn research_findings_may_cite_only_given_ids_and_the_final_round_requests_nothing() {
    let s = bistro();
    let citable = vec![
        "gross_margin@FY2023".to_string(),
        "revenue@FY2022".to_string(),
    ];
    let first = research(&s, &citable, ResearchRound::First, MAX_SCHEMA_ITEMS);
    let answer = json!({"computations": [{"expression": "revenue / 12", "period": "FY2023"}],
        "findings": [{"text": "Gross margin held.", "cites": ["gross_margin@FY2023", "c1"]}]});
    assert!(valid(&first, &answer));
    assert!(llm::parse_research(&answer.to_string(), None).is_ok());
    let mut bad = answer.clone();
    bad["findings"][0]["cites"] = json!(["net_margin@FY2031"]);
    assert!(!valid(&first, &bad));
    let mut bad = answer.clone();
    bad["findings"][0]["text"] = json!("Margin was {{gross_margin@FY2024}}.");
    assert!(
        !valid(&first, &bad),
        "a reference to an id that does not exist"
    );
    bad["findings"][0]["text"] = json!(
        "Margin was {{gross_margin@FY2023}}, rent {{c1}}, change {{revenue@FY2022 -> gross_margin@FY2023}}."
    );
    assert!(
        valid(&first, &bad),
        "{}",
        first.schema["properties"]["findings"]["items"]["properties"]["text"]
    );
    let mut bad = answer.clone();
    bad["computations"][0]["period"] = json!("FY1999");
    assert!(!valid(&first, &bad));
    let mut with_c1 = citable.clone();
    with_c1.push("c1".into());
    let last = research(&s, &with_c1, ResearchRound::Final, MAX_SCHEMA_ITEMS);
    assert!(!valid(&last, &answer), "no computations in the final round");
    let mut final_answer = answer.clone();
    final_answer["computations"] = json!([]);
    assert!(valid(&last, &final_answer));
    final_answer["findings"][0]["cites"] = json!(["c2"]);
    assert!(!valid(&last, &final_answer), "c2 was never evaluated");
}

#[test]
fn every_free_text_is_bounded_so_a_looping_model_must_close_it() {
    let s = bistro();
    let citable = vec!["gross_margin@FY2023".to_string()];
    let first = research(&s, &citable, ResearchRound::First, MAX_SCHEMA_ITEMS);
    let answer = |text: &str, expression: &str| {
        json!({"computations": [{"expression": expression, "period": "FY2023"}],
            "findings": [{"text": text, "cites": ["gross_margin@FY2023"]}]})
    };
    let run = "a".repeat(MAX_RUN);
    assert!(valid(&first, &answer(&run, "revenue / 12")));
    assert!(!valid(&first, &answer(&format!("{run}a"), "revenue / 12")));
    // A run may follow each reference, up to the most references a text holds.
    let one = format!("{run}{{{{gross_margin@FY2023}}}}{run}");
    assert!(valid(&first, &answer(&one, "revenue / 12")));
    let many = "x{{gross_margin@FY2023}}".repeat(MAX_REFERENCES);
    assert!(valid(&first, &answer(&many, "revenue / 12")));
    let too_many = "x{{gross_margin@FY2023}}".repeat(MAX_REFERENCES + 1);
    assert!(!valid(&first, &answer(&too_many, "revenue / 12")));
    // The loop seen on a real small model: an expression of digits without end.
    let looping = format!("gross_margin = {}", "10.57486392250425631786".repeat(12));
    assert!(!valid(&first, &answer("Held.", &looping)));
    assert!(!valid(&first, &answer("Held.", "")));
    let planned = plan_of(&s);
    let figures = crate::metrics::compute_all(&s);
    let schema = validation(1, &planned, &figures, &citable);
    let verdict = |note: Value| {
        json!({"verdicts": [{"finding": 0, "status": "rejected", "note": note}],
            "report": {"answer": "No, it is not: {{gross_margin@FY2023}}.", "metrics": {
                "current_ratio": {"figure": "current_ratio@FY2023", "comment": ""},
                "working_capital": {"figure": "working_capital@FY2023", "comment": ""}},
            "trends": ""}})
    };
    assert!(valid(&schema, &verdict(json!(null))));
    assert!(valid(&schema, &verdict(json!("Contradicts its figure."))));
    assert!(!valid(&schema, &verdict(json!("n".repeat(MAX_RUN + 1)))));
}

#[test]
fn the_sdk_writes_what_stands_out_and_the_caveats_and_keeps_a_models_own_after_them() {
    let s = load("negative-equity.json");
    let mut plan = plan_of(&bistro());
    plan.metrics = vec![MetricId::DebtToEquity, MetricId::CurrentRatio];
    let figures = crate::metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
    let citable: Vec<String> = figures.iter().map(|f| f.id.clone()).collect();
    let schema = validation(0, &plan, &figures, &citable);
    // The SDK's lines: the offline memo's rules on these figures.
    let standing = offline::stands_out(&offline::findings(&plan, &figures, &s));
    let caveats = offline::caveats(&figures, &s, &[], Language::En);
    assert!(
        standing.iter().any(|l| l.starts_with("Equity is negative")),
        "{standing:?}"
    );
    let refs = crate::pipeline::references::References::new(&figures, Language::En, "$");
    let frame = llm::ReportFrame {
        plan: &plan,
        refs,
        stands_out: &standing,
        caveats: &caveats,
    };
    // Debt to equity has no figure with negative equity: its entry names none and says why.
    let answer = json!({"verdicts": [],
        "report": {"answer": "Short-term cover is thin and equity is negative: {{current_ratio@FY2023}}.",
            "metrics": {"debt_to_equity": {"figure": "", "comment": "Not meaningful with negative equity."},
                        "current_ratio": {"figure": "current_ratio@FY2023", "comment": ""}},
            "trends": ""}});
    assert!(valid(&schema, &answer), "{}", schema.schema);
    let report = llm::parse_validated(&answer.to_string(), 0, Some(&frame))
        .unwrap()
        .report;
    for line in standing.iter().chain(&caveats) {
        assert!(report.contains(&format!("\n- {line}")), "{line}\n{report}");
    }
    assert!(
        report.contains(
            "- **Debt to equity**: not computable — Not meaningful with negative equity."
        ),
        "{report}"
    );
    let stands = report.find("### What stands out").unwrap();
    let cautions = report.find("### Caveats").unwrap();
    assert!(report.find("### Headline figures").unwrap() < stands && stands < cautions);
    // A model that writes the sections anyway (a server that enforces no schema) is not asked to, and is kept
    // after the SDK's lines; one that writes them is refused by a server that enforces the schema.
    let mut own = answer.clone();
    own["report"]["stands_out"] = json!("Leverage deserves a word with the bank.");
    own["report"]["caveats"] = json!("The year closed early.");
    assert!(!valid(&schema, &own));
    let v = llm::parse_validated(&own.to_string(), 0, Some(&frame)).unwrap();
    let at = |t: &str| v.report.find(t).unwrap();
    assert!(
        at(&standing[0]) < at("Leverage deserves") && at("Leverage deserves") < at("### Caveats")
    );
    assert!(at(&caveats[0]) < at("The year closed early."));
    assert!(v.texts.iter().any(|(f, _)| f == "report.stands_out"));
    // With nothing that stands out, the section says so.
    let quiet = llm::ReportFrame {
        stands_out: &[],
        ..frame
    };
    let report = llm::parse_validated(&answer.to_string(), 0, Some(&quiet))
        .unwrap()
        .report;
    assert!(
        report.contains("### What stands out\n\n- Nothing unusual stands out"),
        "{report}"
    );
}

fn plan_of(s: &Statements) -> AnalysisPlan {
    llm::parse_plan(
        r#"{"intents": ["liquidity"], "metrics": ["current_ratio", "working_capital"], "periods": ["FY2022", "FY2023"]}"#,
        s,
        Language::En,
    )
    .unwrap()
}

#[test]
fn the_report_schema_asks_for_every_planned_metric_with_its_own_figures() {
    let s = bistro();
    let figures = crate::metrics::compute_all(&s);
    let plan = plan_of(&s);
    let citable: Vec<String> = figures.iter().map(|f| f.id.clone()).collect();
    let schema = validation(2, &plan, &figures, &citable);
    let good = json!({"verdicts": [{"finding": 1, "status": "confirmed", "note": null}],
        "report": {"answer": "Working capital is not getting tighter: {{working_capital@FY2023}}.",
            "metrics": {"current_ratio": {"figure": "current_ratio@FY2023", "comment": "up"},
                        "working_capital": {"figure": "working_capital@FY2023", "comment": ""}},
            "trends": ""}});
    assert!(valid(&schema, &good), "{}", schema.schema);
    let refs = crate::pipeline::references::References::new(&figures, Language::En, "$");
    let frame = llm::ReportFrame {
        plan: &plan,
        refs,
        stands_out: &[],
        caveats: &[],
    };
    let v = llm::parse_validated(&good.to_string(), 2, Some(&frame)).unwrap();
    assert!(
        v.report.starts_with(
            "## Analysis — FY2022 to FY2023\n\nWorking capital is not getting tighter: {{working_capital@FY2023}}."
        ),
        "{}",
        v.report
    );
    assert!(
        v.report
            .contains("### Headline figures\n\n- **Current ratio**: {{current_ratio@FY2023}} — up"),
        "{}",
        v.report
    );
    assert!(
        !v.report.contains("### Trends"),
        "empty sections are left out"
    );
    for (pointer, bad) in [
        ("/verdicts/0/finding", json!(2)),
        ("/verdicts/0/status", json!("maybe")),
        (
            "/report/metrics/current_ratio/figure",
            json!("working_capital@FY2023"),
        ),
    ] {
        let mut answer = good.clone();
        *answer.pointer_mut(pointer).unwrap() = bad;
        assert!(!valid(&schema, &answer), "{answer}");
        assert!(
            llm::parse_validated(&answer.to_string(), 2, Some(&frame)).is_err(),
            "{answer}"
        );
    }
    let mut missing = good.clone();
    missing["report"]["metrics"]
        .as_object_mut()
        .unwrap()
        .remove("working_capital");
    assert!(
        !valid(&schema, &missing),
        "every planned metric is required"
    );
    let mut other = good.clone();
    other["report"]["metrics"]["net_margin"] =
        json!({"figure": "net_margin@FY2023", "comment": ""});
    assert!(!valid(&schema, &other));
    assert!(
        llm::parse_validated(&other.to_string(), 2, Some(&frame)).is_err(),
        "not a planned metric"
    );
    assert!(
        !valid(&validation(0, &plan, &figures, &citable), &good),
        "no findings, no verdicts"
    );
    // Texts may refer only to figures that exist.
    let mut invented = good.clone();
    invented["report"]["answer"] = json!("It rose to the level {{current_ratio@FY2031}}.");
    assert!(!valid(&schema, &invented));
    // The answer opens with words of its own, as many as the acceptance check asks of an answer; the other
    // sections do not have to.
    for (answer, ok) in [
        ("Yes", false),
        ("Yes.", false),
        ("{{current_ratio@FY2023}}", false),
        ("Yes: {{current_ratio@FY2023}}", false),
        ("It is not", false),
        ("It is not {{current_ratio@FY2023}}", false),
        ("It is not tighter", false),
        ("It is not tighter: {{current_ratio@FY2023}}", true),
        ("It is not tighter: {{current_ratio@FY2023}}.", true),
        (
            "Le fonds de roulement s'améliore : {{working_capital@FY2023}}.",
            true,
        ),
        // A verdict with no figure to check it against.
        ("No, it is not getting tighter.", false),
    ] {
        let mut a = good.clone();
        a["report"]["answer"] = json!(answer);
        assert_eq!(valid(&schema, &a), ok, "{answer}");
    }
    let mut short = good.clone();
    short["report"]["trends"] = json!("Steady.");
    assert!(valid(&schema, &short));
    // Prose names periods by their labels but types no number and copies no raw id: numbers are references.
    for (trends, ok) in [
        (
            "From FY2022 to FY2023 it rose by {{current_ratio@FY2022 -> current_ratio@FY2023}}.",
            true,
        ),
        (
            "In FY2023, working capital was {{working_capital@FY2023}}.",
            true,
        ),
        ("It rose to 1.81 in FY2023.", false),
        ("It rose by 12 %.", false),
        ("Over 3 years it rose.", false),
        ("It rose by ½ in FY2023.", false),
        ("It rose by １２ points.", false),
        ("It was high in 2023.", false),
        ("See current_ratio for the level.", false),
        ("See current_ratio@FY2023 for the level.", false),
    ] {
        let mut a = good.clone();
        a["report"]["trends"] = json!(trends);
        assert_eq!(valid(&schema, &a), ok, "{trends}");
    }
    let mut answer = good.clone();
    answer["report"]["answer"] = json!("In FY2023 it is {{current_ratio@FY2023}}.");
    assert!(valid(&schema, &answer), "a period label is a word");
    answer["report"]["answer"] = json!("It was 1.81 in FY2023.");
    assert!(!valid(&schema, &answer));
    let mut change = good.clone();
    change["report"]["trends"] =
        json!("Up by {{current_ratio@FY2022 -> current_ratio@FY2023}}; no {braces} else.");
    assert!(!valid(&schema, &change), "a lone brace is not text");
    change["report"]["trends"] = json!("Up by {{current_ratio@FY2022 -> current_ratio@FY2023}}.");
    assert!(valid(&schema, &change));
    // A report written whole is still accepted by the parser (servers that enforce no schema).
    let whole = json!({"verdicts": [], "report": "## R\n\nText."});
    assert!(llm::parse_validated(&whole.to_string(), 0, Some(&frame)).is_ok());
}

#[test]
fn budgets_follow_the_schemas() {
    let s = bistro();
    let figures = crate::metrics::compute_all(&s);
    assert!(output_budget(&plan(&s), 0, 0) <= 600);
    let planned = plan_of(&s);
    let v = |n| validation(n, &planned, &figures, &[]);
    assert!(output_budget(&v(10), 10, 2) > output_budget(&v(0), 0, 2));
    assert!(output_budget(&v(30), 30, 5) < 4096);
    // The Researcher's findings follow the plan's size, and its budget the findings.
    let r = |n| research(&s, &[], ResearchRound::Final, n);
    assert_eq!(output_budget(&r(3), 3, 0), 850);
    assert_eq!(output_budget(&r(8), 8, 0), 1_600);
    assert_eq!(output_budget(&r(8), 0, 0), 1_600);
}

#[test]
fn a_small_plan_asks_for_few_findings() {
    let s = bistro();
    let mut planned = plan_of(&s);
    assert_eq!(planned.metrics.len(), 2);
    assert_eq!(max_findings(&planned), 4);
    planned.metrics.truncate(1);
    assert_eq!(max_findings(&planned), 3);
    planned.metrics = MetricId::ALL.to_vec();
    assert_eq!(max_findings(&planned), MAX_SCHEMA_ITEMS);
    let citable = vec!["gross_margin@FY2023".to_string()];
    let schema = research(&s, &citable, ResearchRound::Final, 3);
    let finding = json!({"text": "Gross margin is {{gross_margin@FY2023}}.", "cites": ["gross_margin@FY2023"]});
    let answer = |n: usize| json!({"computations": [], "findings": vec![finding.clone(); n]});
    assert!(valid(&schema, &answer(3)));
    assert!(!valid(&schema, &answer(4)));
    assert!(!valid(&schema, &answer(0)));
}
