//! Fuzz targets: property tests that feed arbitrary Unicode, numbers and JSON to everything that reads outside
//! input — statements, the expression evaluator, language and intent detection, every parser of a model's or a
//! provider's answer — and require an answer or a typed error, never a panic. (Pseudonymization, grounding and
//! header parsing have theirs beside their code.) `FINOPS_FUZZ_CASES` sets the cases per target; SECURITY.md gives
//! the long run's command.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::analysis::{Language, intent};
use crate::metrics::{compute_all, expr};
use crate::pipeline::llm;
use crate::provider::{anthropic, http::ApiKey, openai_compat};
use crate::testing::{fuzz_cases, parse, set, simple};

/// Keys the parsers look for, mixed with arbitrary ones, so that generated objects reach past the first check.
const KEYS: &[&str] = &[
    "schema",
    "company",
    "name",
    "currency",
    "periods",
    "label",
    "start",
    "end",
    "income_statement",
    "balance_sheet",
    "cash_flow",
    "revenue",
    "net_income",
    "total_assets",
    "cash",
    "intents",
    "metrics",
    "comparisons",
    "metric",
    "from",
    "to",
    "computations",
    "findings",
    "id",
    "expression",
    "period",
    "text",
    "cites",
    "verdicts",
    "finding",
    "status",
    "note",
    "report",
    "choices",
    "delta",
    "content",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "type",
    "message",
    "error",
    "index",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "accounts",
    "account",
    "debit",
    "credit",
    "balance",
    "chart",
    "map",
    "line",
    "credit_line",
    "amount",
    "Header",
    "ReportName",
    "Columns",
    "Column",
    "ColType",
    "MetaData",
    "Rows",
    "Row",
    "ColData",
    "group",
    "Summary",
    "Reports",
    "ReportType",
    "RowType",
    "Cells",
    "Value",
    "Title",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "-?[0-9]{1,40}(\\.[0-9]{0,40})?".prop_map(Value::String),
        "-?[0-9]{1,3}(,[0-9]{3}){0,9}(\\.[0-9]{1,4})?".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(KEYS).prop_map(|k| Value::String(k.to_string())),
        "(FY|P)[0-9]{1,4}|[a-z_]{1,20}(@(P1|P2))?".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_string),
                        "\\PC{0,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A model's answer: JSON (shaped or arbitrary) with prose, fences or truncation around it.
fn answer() -> impl Strategy<Value = String> {
    (
        json_value(),
        "\\PC{0,16}",
        "\\PC{0,16}",
        any::<bool>(),
        0usize..400,
    )
        .prop_map(|(v, before, after, fence, cut)| {
            let body = v.to_string();
            let body = if fence {
                format!("```json\n{body}\n```")
            } else {
                body
            };
            let mut text = format!("{before}{body}{after}");
            if cut < text.len() && text.is_char_boundary(cut) && cut % 3 == 0 {
                text.truncate(cut);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    #[test]
    fn statements_from_arbitrary_json_and_text(doc in json_value(), text in "\\PC{0,200}") {
        let _ = crate::Statements::from_json_value(&doc);
        let _ = crate::Statements::from_json_str(&doc.to_string());
        let _ = crate::Statements::from_json_str(&text);
        let _ = crate::Statements::from_json_slice(text.as_bytes());
    }

    /// Every ledger reader and the builder's JSON form, on arbitrary JSON, wrapped in each format's outer shape.
    #[test]
    fn ledger_readers_on_arbitrary_json(doc in json_value(), options in json_value()) {
        use crate::ledger::{Format, ReadOptions, read_one};
        let shapes = [
            doc.clone(),
            json!({"schema": "finops.trial_balance/v1", "chart": "gifi", "periods": [{"label": "P1", "start": "2024-01-01", "end": "2024-12-31", "accounts": doc.clone()}]}),
            json!({"Header": {"ReportName": "BalanceSheet"}, "Columns": {"Column": [{"ColType": "Money", "MetaData": [{"Name": "EndDate", "Value": "2024-12-31"}]}]}, "Rows": {"Row": doc.clone()}}),
            json!({"Reports": [{"ReportType": "BalanceSheet", "Rows": [{"RowType": "Header", "Cells": [{"Value": ""}, {"Value": "31 Dec 2024"}]}, doc.clone()]}]}),
            json!({"company": {"name": "x", "currency": "EUR"}, "periods": [doc.clone()]}),
        ];
        for shape in &shapes {
            let bytes = shape.to_string().into_bytes();
            for format in [Format::Auto, Format::TrialBalance, Format::QuickBooks, Format::Xero] {
                let _ = read_one(&bytes, &ReadOptions { format, ..ReadOptions::default() });
            }
            let _ = crate::statements::StatementsBuilder::from_json_value(shape);
            let _ = crate::ledger::Chart::from_json_value(shape);
        }
        let _ = ReadOptions::from_json_value(&options);
    }

    /// CSV trial balances and FECs: the right header, then arbitrary lines of cells.
    #[test]
    fn ledger_readers_on_arbitrary_text(
        rows in prop::collection::vec(prop::collection::vec("\\PC{0,12}|-?[0-9]{1,17}([.,][0-9]{0,8})?|20[0-9]{6}|2024-0[1-9]-[0-3][0-9]", 0..9), 0..12),
        separator in prop::sample::select(vec![",", ";", "\t", "|"]),
    ) {
        use crate::ledger::{Chart, Format, ReadOptions, read_one};
        let body: String = rows.iter().map(|r| r.join(separator) + "\n").collect();
        let headers = [
            "period,start,end,account,name,debit,credit".replace(',', separator),
            "période;début;fin;compte;libellé;solde".replace(';', separator),
            "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|Debit|Credit".replace('|', separator),
        ];
        for header in headers {
            let text = format!("{header}\n{body}");
            for format in [Format::Auto, Format::Csv, Format::Fec] {
                let options = ReadOptions { format, chart: Some(Chart::Pcg), ..ReadOptions::default() };
                let _ = read_one(text.as_bytes(), &options);
            }
        }
    }

    #[test]
    fn statements_with_arbitrary_values_in_place(
        changes in prop::collection::vec(
            (0usize..2, prop::sample::select(&["income_statement", "balance_sheet", "cash_flow"][..]),
             prop::sample::select(KEYS), json_value()),
            1..5),
        company in json_value(),
        label in json_value(),
    ) {
        let mut doc = simple();
        for (period, section, line, value) in changes {
            set(&mut doc, period, section, line, value);
        }
        if let Some(field) = doc["company"].as_object_mut() {
            field.insert("name".into(), company);
        }
        doc["periods"][1]["label"] = label;
        if let Ok(s) = crate::Statements::from_json_value(&doc) {
            let figures = compute_all(&s);
            let _ = crate::pipeline::grounding::GroundingContext::new(&s, &figures, &[]);
        }
    }

    #[test]
    fn expressions_are_evaluated_or_refused(
        grammar in "([a-z_]{1,22}|[0-9]{1,30}(\\.[0-9]{1,30})?|[-+*/(), ]|@P[0-9]|avg|abs|min|max|growth|\\^){0,30}",
        text in "\\PC{0,80}",
        period in prop_oneof![Just("P1".to_string()), Just("P2".to_string()), "\\PC{0,6}"],
    ) {
        let s = parse(&simple());
        let _ = expr::evaluate(&s, &grammar, &period);
        let _ = expr::evaluate(&s, &text, &period);
        let _ = expr::Expression::parse(&grammar);
    }

    #[test]
    fn language_and_intents_of_any_question(question in "\\PC{0,300}") {
        let s = parse(&simple());
        let language = Language::detect(&question);
        let _ = intent::intents(&question);
        let _ = intent::periods(&question, &s);
        let plan = intent::plan(&question, &s, language);
        // The offline plan always asks for something, and only for periods the statements have, and it holds
        // every metric the question names.
        prop_assert!(!plan.metrics.is_empty());
        prop_assert!(intent::named_metrics(&question).iter().all(|m| plan.metrics.contains(m)));
        prop_assert!(plan.periods.iter().all(|p| s.period_index(p).is_some()));
        // The line a question is about, read against the statements: its amounts are the statements' own.
        let cues = intent::cues_for(&question, &s);
        if cues.outside.is_empty() {
            prop_assert_eq!(cues.line.as_ref().map(|(subject, _)| *subject), intent::subject(&question));
        }
        if let Some((subject, amounts)) = &cues.line {
            for (label, amount) in amounts {
                let at = s.period_index(label).expect("a period of the statements");
                prop_assert_eq!(subject.amount(&s, at), Some(*amount));
            }
        }
    }

    #[test]
    fn every_model_answer_parser(text in answer(), count in 0usize..50) {
        let s = parse(&simple());
        let _ = llm::parse_plan(&text, &s, Language::Fr);
        let figures = compute_all(&s);
        let refs = crate::pipeline::references::References::new(&figures, Language::En, "$");
        let _ = llm::parse_research(&text, Some(&refs));
        if let Ok(research) = llm::parse_research(&text, None) {
            let emitter = crate::pipeline::events::Emitter::silent();
            let records = llm::evaluate(&research.computations, &s, &emitter);
            let grounding = crate::pipeline::grounding::GroundingContext::new(&s, &figures, &records);
            let refs = crate::pipeline::references::References { computations: &records, ..refs };
            let _ = llm::check_findings(research.findings, &refs, &grounding);
        }
        let _ = llm::parse_validated(&text, count, None);
        let plan = crate::analysis::intent::plan("Is our working capital getting tighter?", &s, Language::En);
        let frame = llm::ReportFrame {
        plan: &plan,
        refs,
        stands_out: &[],
        caveats: &[],
    };
        if let Ok(v) = llm::parse_validated(&text, count, Some(&frame)) {
            // The acceptance checks read whatever the model wrote: each reason names a field or the report.
            let told = crate::pipeline::acceptance::normalized(llm::VALIDATOR);
            for reason in crate::pipeline::acceptance::echoes(&v.texts, &text, &told)
                .into_iter()
                .chain(crate::pipeline::acceptance::garbled(&v.texts))
                .chain(crate::pipeline::acceptance::answer_cites(&v.texts, &plan, &figures, &[]))
                .chain(crate::pipeline::acceptance::yes_no(
                    &v.texts,
                    &crate::analysis::intent::cues("Is our working capital getting tighter?"),
                    &plan,
                    &figures,
                    "$",
                ))
            {
                prop_assert!(reason.starts_with("`report"), "{reason}");
            }
            let _ = crate::pipeline::acceptance::problems(&v.report, &v.prose, &plan, &figures);
        }
    }

    #[test]
    fn every_provider_answer_parser(data in answer(), name in "(message_start|content_block_delta|message_delta|message_stop|error|ping|\\PC{0,12})") {
        let key = ApiKey::new("sk-fuzz-0123456789abcdef").ok();
        let _ = openai_compat::chunks("fuzz", &data, key.as_ref());
        if let Some(key) = &key {
            let _ = anthropic::event(&name, &data, key);
        }
        let _ = crate::provider::host_answer("fuzz", &data);
    }
}

#[test]
fn a_shaped_answer_reaches_past_the_first_check() {
    // The generators are only useful if they can produce answers the parsers accept; check one by hand.
    let s = parse(&simple());
    let plan =
        json!({"intents": ["profitability"], "metrics": ["gross_margin"], "periods": ["P2"]});
    assert!(llm::parse_plan(&plan.to_string(), &s, Language::En).is_ok());
}
