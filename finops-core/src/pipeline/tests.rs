use super::*;
use crate::metrics::MetricId;
use crate::statements::Statements;

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

use crate::testing::offline;

#[test]
fn intents_follow_french_and_english_rules() {
    use Intent::*;
    let cases: &[(&str, &[Intent])] = &[
        (
            "Analyse la rentabilité du bistro sur trois ans",
            &[Profitability],
        ),
        ("How profitable were we last year?", &[Profitability]),
        ("Is our working capital getting tighter?", &[Liquidity]),
        ("Quel est notre niveau d'endettement ?", &[Solvency]),
        ("Can we take on more debt?", &[Solvency]),
        ("Nos stocks tournent-ils assez vite ?", &[Efficiency]),
        ("How fast do customers pay? (receivables)", &[Efficiency]),
        (
            "Quelle est la croissance du chiffre d'affaires ?",
            &[Growth],
        ),
        ("Parle-moi des flux de trésorerie", &[CashFlow]),
        ("Free cash flow and margins", &[Profitability, CashFlow]),
        ("Fais un bilan de santé complet", &[HealthCheck]),
        ("Bonjour", &[HealthCheck]),
        ("", &[HealthCheck]),
        // A word of change is a direction when a topic is named, growth when none is.
        // « Besoin en fonds de roulement » names the operating cycle (stocks, customers, suppliers): efficiency.
        (
            "Quelle est l'évolution du besoin en fonds de roulement ?",
            &[Efficiency],
        ),
        (
            "Quelle est l'évolution du fonds de roulement ?",
            &[Liquidity],
        ),
        ("Are our margins trending down?", &[Profitability]),
        ("Debt keeps increasing (hausse)?", &[Solvency]),
        (
            "Comment évoluent les choses depuis l'an dernier ?",
            &[Growth],
        ),
        ("Is it declining?", &[Growth]),
    ];
    for (q, expected) in cases {
        assert_eq!(intent::intents(q), expected.to_vec(), "{q}");
    }
    // A question that names no topic is a health check, and the rules say they did not recognise it.
    assert!(!intent::recognises("What is the weather tomorrow?"));
    assert!(!intent::recognises(""));
    assert!(intent::recognises("Fais un bilan de santé complet"));
    assert!(intent::recognises("Is it declining?"));
    // "flux de trésorerie" is cash flow, not liquidity; "trésorerie" alone is liquidity.
    assert_eq!(
        intent::intents("Notre trésorerie est-elle suffisante ?"),
        vec![Liquidity]
    );
}

#[test]
fn plan_periods_come_from_the_question() {
    let s = bistro();
    assert_eq!(
        intent::periods("sur trois ans", &s),
        vec!["FY2021", "FY2022", "FY2023"]
    );
    assert_eq!(
        intent::periods("over the last 2 years", &s),
        vec!["FY2022", "FY2023"]
    );
    // One named period brings its previous consecutive period for comparison.
    assert_eq!(
        intent::periods("What happened in FY2022?", &s),
        vec!["FY2021", "FY2022"]
    );
    assert_eq!(
        intent::periods("Qu'en est-il de 2023 ?", &s),
        vec!["FY2022", "FY2023"]
    );
    assert_eq!(
        intent::periods("FY2021 vs FY2023", &s),
        vec!["FY2021", "FY2023"]
    );
    assert_eq!(
        intent::periods("Compare 2021 and 2023", &s),
        vec!["FY2021", "FY2023"]
    );
    // A range names every period in it; "since" runs to the latest.
    for q in [
        "Net margin from 2021 to 2023",
        "Marge nette de 2021 à 2023",
        "between FY2021 and FY2023",
        "Évolution de 2021 jusqu'en 2023",
        "How has our margin evolved since 2021?",
        "2021 onwards",
    ] {
        assert_eq!(
            intent::periods(q, &s),
            vec!["FY2021", "FY2022", "FY2023"],
            "{q}"
        );
    }
    for q in ["Comment évolue la marge depuis 2022 ?", "Depuis 2023 ?"] {
        assert_eq!(intent::periods(q, &s), vec!["FY2022", "FY2023"], "{q}");
    }
    // The latest year, however it is said, with the year before it; a count of years still wins.
    for q in [
        "What was our margin last year?",
        "Quelle était la marge l'an dernier ?",
        "How did revenue change year over year?",
        "Et cette année ?",
    ] {
        assert_eq!(intent::periods(q, &s), vec!["FY2022", "FY2023"], "{q}");
    }
    assert_eq!(
        intent::periods("over the last 3 years", &s),
        vec!["FY2021", "FY2022", "FY2023"]
    );
    // "N years ago" is that year and every one since: its two ends are compared.
    for q in [
        "Are we more leveraged than two years ago?",
        "Sommes-nous plus endettés qu'il y a deux ans ?",
        "Compared with 2 years ago, is the margin better?",
    ] {
        assert_eq!(
            intent::periods(q, &s),
            vec!["FY2021", "FY2022", "FY2023"],
            "{q}"
        );
    }
    assert_eq!(
        intent::periods("Is it better than 1 year ago?", &s),
        vec!["FY2022", "FY2023"]
    );
    // Against that past, "more leveraged" asks whether debt to equity rose.
    for q in [
        "Are we more leveraged than two years ago?",
        "Sommes-nous plus endettés qu'il y a deux ans ?",
    ] {
        assert_eq!(intent::asked(q), Some(intent::Asked::Up), "{q}");
        assert_eq!(
            intent::named_metrics(q),
            vec![MetricId::DebtToEquity],
            "{q}"
        );
    }
    let plan = intent::plan("marges", &s, Language::Fr);
    assert_eq!(
        plan.metrics,
        MetricId::in_category(crate::metrics::Category::Profitability).collect::<Vec<_>>()
    );
    assert_eq!(plan.comparisons.len(), plan.metrics.len());
    assert!(
        plan.comparisons
            .iter()
            .all(|c| c.from == "FY2021" && c.to == "FY2023")
    );
}

#[test]
fn offline_french_report_reads_like_a_memo_and_is_grounded() {
    let a = offline(bistro(), "Analyse la rentabilité du bistro sur trois ans");
    assert_eq!(a.language, Language::Fr);
    assert_eq!(a.plan.intents, vec![Intent::Profitability]);
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(a.degraded);
    assert!(
        a.degraded_reason
            .as_deref()
            .unwrap()
            .contains("aucun fournisseur")
    );
    for heading in [
        "## Analyse : rentabilité — FY2021 à FY2023",
        "### Chiffres clés",
        "### Tendances",
        "### Points saillants",
        "### Mises en garde",
    ] {
        assert!(
            a.report.contains(heading),
            "missing {heading}:\n{}",
            a.report
        );
    }
    // Gross margin FY2023 from the fixture, written the French way.
    assert!(
        a.report
            .contains("| Marge brute | 68,97 % | 68,97 % | 68,97 % |"),
        "{}",
        a.report
    );
    assert!(a.report.contains(
        "Marge d'exploitation : 11,66 % en FY2023 contre 10,47 % en FY2021 (+1,19 pts)."
    ));
    assert!(a.validation.grounded, "{:?}", a.validation);
    assert_eq!(a.figures.len(), 7 * 3);
    assert!(
        a.usage
            .iter()
            .all(|u| u.provider == "offline" && u.calls == 0)
    );
    assert_eq!(a.total_cost_usd, Some(crate::Decimal::ZERO));
}

#[test]
fn offline_english_report_on_a_firm_with_no_inventory_and_no_debt() {
    let a = offline(
        load("consulting-no-inventory-no-debt.json"),
        "Give me a full health check",
    );
    assert_eq!(a.language, Language::En);
    assert_eq!(a.plan.metrics.len(), MetricId::ALL.len());
    assert!(a.validation.grounded, "{:?}\n{}", a.validation, a.report);
    // No inventory: inventory metrics are not computable, with the reason, in the caveats.
    let inv = a
        .figures
        .iter()
        .find(|f| f.id == "inventory_turnover@FY2023")
        .unwrap();
    assert!(inv.value.is_none());
    assert!(
        a.report.contains(
            "Inventory turnover (FY2023) is not computable: no inventory line in the statements."
        ),
        "{}",
        a.report
    );
    // No debt: no interest, so coverage is not defined; debt ratios are zero, not errors.
    assert!(
        a.report
            .contains("Interest coverage (FY2023) is not computable: no interest expense")
    );
    let d2e = a
        .figures
        .iter()
        .find(|f| f.id == "debt_to_equity@FY2023")
        .unwrap();
    assert_eq!(d2e.value, Some(crate::Decimal::ZERO));
    assert!(a.report.contains("Liquidity is comfortable in FY2023"));
}

#[test]
fn offline_reports_on_negative_equity_in_both_languages() {
    for (q, lang, needle) in [
        (
            "Quel est notre niveau d'endettement ?",
            Language::Fr,
            "Les capitaux propres sont négatifs en FY2023 (-159 500 CAD)",
        ),
        (
            "How indebted are we?",
            Language::En,
            "Equity is negative in FY2023 (-159,500 CAD)",
        ),
    ] {
        let a = offline(load("negative-equity.json"), q);
        assert_eq!(a.language, lang);
        assert!(a.report.contains(needle), "{}", a.report);
        assert!(a.validation.grounded, "{:?}\n{}", a.validation, a.report);
        let d2e = a
            .figures
            .iter()
            .find(|f| f.id == "debt_to_equity@FY2023")
            .unwrap();
        assert!(d2e.value.is_none() && d2e.reason.as_deref().unwrap().contains("not meaningful"));
    }
    // The direct answer says what the latest figures mean where they cross a line, in words.
    for (q, needles) in [
        (
            "Can we pay our bills?",
            &[
                "Working capital worsened: it fell from",
                "in FY2023 current liabilities exceed current assets",
                "in FY2023 current assets do not cover current liabilities",
            ][..],
        ),
        (
            "Pouvons-nous payer nos factures ?",
            &["l'actif à court terme ne couvre pas le passif à court terme"][..],
        ),
        (
            "Is the business profitable?",
            &[
                "Net margin worsened: it fell from",
                "the company made a loss in FY2023",
            ][..],
        ),
    ] {
        let a = offline(load("negative-equity.json"), q);
        let answer = a.report.split("\n\n").nth(1).unwrap();
        for needle in needles {
            assert!(answer.contains(needle), "{q}: {answer}");
        }
        assert!(a.validation.grounded, "{:?}\n{}", a.validation, a.report);
    }
    let a = offline(
        load("negative-equity.json"),
        "Is the business profitable? Any cash flow issues?",
    );
    assert!(
        a.report.contains("The company made a loss in FY2023"),
        "{}",
        a.report
    );
    assert!(
        a.report.contains("Free cash flow is negative in FY2023"),
        "{}",
        a.report
    );
    assert!(a.validation.grounded, "{:?}\n{}", a.validation, a.report);
}

#[test]
fn language_is_the_hosts_choice_when_given() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = rt
        .block_on(Pipeline::offline().analyze(
            AnalysisRequest::new(bistro(), "Analyse la rentabilité").language(Language::En),
        ))
        .unwrap();
    assert_eq!(a.language, Language::En);
    assert!(a.report.contains("### Headline figures"));
}

#[test]
fn bad_requests_are_refused_with_the_field() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cases = [
        (AnalysisRequest::new(bistro(), "   "), "question"),
        (
            AnalysisRequest::new(bistro(), "x".repeat(MAX_QUESTION_CHARS + 1)),
            "question",
        ),
        (AnalysisRequest::new(bistro(), "ok\u{0}"), "question"),
        (AnalysisRequest::new(bistro(), "ok").tenant(""), "tenant"),
        (AnalysisRequest::new(bistro(), "ok").tenant("a b"), "tenant"),
        (
            AnalysisRequest::new(bistro(), "ok").client("x".repeat(MAX_ID_CHARS + 1)),
            "client",
        ),
        (
            AnalysisRequest::new(bistro(), "ok").client("../etc"),
            "client",
        ),
    ];
    for (request, field) in cases {
        let e = rt
            .block_on(Pipeline::offline().analyze(request))
            .unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
}

#[test]
fn client_id_defaults_to_a_readable_part_and_a_hash_of_the_company() {
    let r = AnalysisRequest::new(bistro(), "q");
    let id = r.client_id();
    assert!(id.starts_with("bistro-saint-denis-inc-"), "{id}");
    assert_eq!(id.len(), "bistro-saint-denis-inc-".len() + 12, "{id}");
    assert_eq!(r.client("c-42").client_id(), "c-42");
}

#[test]
fn distinct_companies_never_share_a_default_client_id() {
    use crate::analysis::default_client_id as id;
    let distinct = [
        "Café Lévis",
        "Cafe Levis",
        "Café-Lévis",
        "Cafe, Levis",
        "北京饭店",
        "上海饭店",
        "東京レストラン",
        "مطعم بيروت",
        "مطعم دمشق",
        "A&B Inc",
        "A-B Inc",
        "AB Inc",
        "",
        "!!!",
    ];
    let ids: std::collections::HashSet<String> = distinct.iter().map(|n| id(n)).collect();
    assert_eq!(ids.len(), distinct.len(), "{ids:?}");
    for i in &ids {
        assert!(crate::analysis::check_id("client", i).is_ok(), "{i}");
    }
    // The same name typed again is the same client: case, spacing, Unicode's composed or decomposed accents.
    assert_eq!(id("Café Lévis"), id("  CAFÉ   lévis "));
    assert_eq!(id("Café Lévis"), id("Cafe\u{301} Le\u{301}vis"));
    assert!(id(&"Très long nom ".repeat(40)).len() <= crate::analysis::MAX_ID_CHARS);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::testing::fuzz_cases()))]
    #[test]
    fn any_two_different_names_get_different_valid_ids(a in "\\PC{0,30}", b in "\\PC{0,30}") {
        use crate::analysis::default_client_id as id;
        let same = |n: &str| {
            use unicode_normalization::UnicodeNormalization;
            n.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().nfc().collect::<String>()
        };
        proptest::prop_assert!(crate::analysis::check_id("client", &id(&a)).is_ok());
        if same(&a) != same(&b) {
            proptest::prop_assert_ne!(id(&a), id(&b));
        } else {
            proptest::prop_assert_eq!(id(&a), id(&b));
        }
    }
}

#[test]
fn a_principal_scopes_the_analysis() {
    use crate::security::{Principal, Role};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = Principal::new("firm-1", Role::Client, Some("bistro".into())).unwrap();
    let a = rt
        .block_on(
            Pipeline::offline()
                .analyze(AnalysisRequest::new(bistro(), "marges").principal(client.clone())),
        )
        .unwrap();
    assert_eq!((a.tenant.as_str(), a.client.as_str()), ("firm-1", "bistro"));
    let e = rt
        .block_on(
            Pipeline::offline().analyze(
                AnalysisRequest::new(bistro(), "marges")
                    .client("other-co")
                    .principal(client),
            ),
        )
        .unwrap_err();
    assert_eq!(e.code(), "access_denied");
}

#[test]
fn the_reservation_covers_every_call_a_phase_may_make_and_the_prompt_size() {
    // A model the built-in price table knows (the default Analyst).
    let model = "anthropic/claude-sonnet-4.5";
    let p = Pipeline::builder()
        .provider(
            Arc::new(crate::provider::ScriptedProvider::new()),
            model,
            model,
            model,
        )
        .build();
    let price = p
        .prices
        .price(model, chrono::Utc::now().date_naive())
        .expect("the default model has a price");
    let small = AnalysisRequest::new(bistro(), "Marges ?");
    let estimate = p.estimate_usd(&small);
    // One call per phase at 8,000 tokens in and the output budget out: the reservation is many times that.
    let one_call = price.cost(&crate::provider::TokenUsage {
        input_tokens: 8_000,
        output_tokens: 4_096,
        ..Default::default()
    });
    let calls: u32 = Phase::ALL.iter().map(|ph| max_calls(*ph)).sum();
    assert_eq!(
        calls, 30,
        "2 + 4 + 4 conversation calls, each with two retries"
    );
    assert!(
        estimate >= one_call * crate::Decimal::from(calls),
        "{estimate} < {calls} calls of {one_call}"
    );
    // A longer question and bigger statements reserve more.
    let long = AnalysisRequest::new(bistro(), "Marges ? ".repeat(400));
    assert!(p.estimate_usd(&long) > estimate);
}

#[test]
fn the_offline_memo_names_the_largest_movements_and_a_collection_slowdown_in_both_languages() {
    // Receivables tripled while revenue grew a quarter: days sales outstanding jumps by more than 15 days.
    let mut doc = crate::testing::simple();
    crate::testing::set(
        &mut doc,
        0,
        "balance_sheet",
        "accounts_receivable",
        serde_json::json!("350"),
    );
    crate::testing::set(
        &mut doc,
        0,
        "balance_sheet",
        "inventory",
        serde_json::json!("0"),
    );
    let s = crate::testing::parse(&doc);
    let plan_figures = crate::metrics::compute_all(&s);
    let dso = |p: &str| {
        plan_figures
            .iter()
            .find(|f| f.id == format!("days_sales_outstanding@{p}"))
            .and_then(|f| f.value)
            .unwrap()
    };
    assert!(dso("P2") - dso("P1") > rust_decimal::Decimal::from(15));
    for (question, slow, largest) in [
        (
            "How fast do customers pay (receivables)?",
            "Customers pay more slowly",
            "Among the largest movements",
        ),
        (
            "Nos clients paient-ils plus lentement (recouvrement) ?",
            "Les clients paient plus lentement",
            "Parmi les plus fortes variations",
        ),
    ] {
        let a = offline(s.clone(), question);
        assert!(
            a.plan.metrics.contains(&MetricId::DaysSalesOutstanding),
            "{:?}",
            a.plan
        );
        let slow_finding = a.findings.iter().find(|f| f.text.starts_with(slow));
        let f = slow_finding.unwrap_or_else(|| panic!("{question}: {:?}", a.findings));
        assert_eq!(
            f.cites,
            ["days_sales_outstanding@P1", "days_sales_outstanding@P2"]
        );
        assert!(
            a.findings.iter().any(|f| f.text.starts_with(largest)),
            "{:?}",
            a.findings
        );
        assert!(a.report.contains(slow), "{}", a.report);
        assert!(a.validation.grounded, "{:?}\n{}", a.validation, a.report);
    }
    // Steady figures: no movement is "largest" (under 10 %), and no slowdown.
    let steady = offline(bistro(), "How fast do customers pay?");
    assert!(
        !steady
            .findings
            .iter()
            .any(|f| f.text.starts_with("Customers pay more slowly"))
    );
}

#[test]
fn a_french_report_that_lists_figure_ids_is_still_read_as_french() {
    use crate::provider::ScriptedProvider;
    // Raw ids (`gross_margin@FY2023`) look English to a word count; they are not words of any language.
    let report = r#"{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Voici les chiffres demandés, sans anomalie : gross_margin@FY2022 68,97 % ; gross_margin@FY2023 68,97 %."}"#;
    let p = ScriptedProvider::new()
        .reply(
            Phase::Analyst,
            r#"{"intents":["profitability"],"metrics":["gross_margin"],"periods":["FY2022","FY2023"]}"#,
        )
        .reply(
            Phase::Researcher,
            r#"{"findings":[{"text":"La marge brute est stable.","cites":["gross_margin@FY2023"]}]}"#,
        )
        .reply(Phase::Validator, report);
    let p: std::sync::Arc<dyn crate::provider::Provider> = std::sync::Arc::new(p);
    let pipe = Pipeline::builder()
        .phase(Phase::Analyst, PhaseConfig::new(p.clone(), "m"))
        .phase(Phase::Researcher, PhaseConfig::new(p.clone(), "m"))
        .phase(Phase::Validator, PhaseConfig::new(p, "m"))
        .build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = rt
        .block_on(pipe.analyze(AnalysisRequest::new(
            bistro(),
            "Quelle est la marge brute ?",
        )))
        .unwrap();
    assert!(!a.degraded, "{:?}", a.degraded_reason);
    assert_eq!(a.report_source, ReportSource::Validator);
}

#[test]
fn computations_are_named_in_order_when_the_model_names_none() {
    let answer = r#"{"computations": [
        {"expression": "revenue / 12", "period": "FY2023"},
        {"expression": "operating_expenses / revenue", "period": "FY2023"}],
        "findings": [{"text": "Monthly revenue is {{c1}}.", "cites": ["c1"]}]}"#;
    let r = llm::parse_research(answer, None).unwrap();
    let ids: Vec<&str> = r.computations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2"]);
    // An id a model still gives is kept; a missing one takes its place's name; a clash is refused by name.
    let mixed = r#"{"computations": [{"id": "c7", "expression": "revenue / 12", "period": "FY2023"},
        {"expression": "revenue / 4", "period": "FY2023"}], "findings": []}"#;
    let r = llm::parse_research(mixed, None).unwrap();
    let ids: Vec<&str> = r.computations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c7", "c2"]);
    let clash = r#"{"computations": [{"id": "c2", "expression": "revenue / 12", "period": "FY2023"},
        {"expression": "revenue / 4", "period": "FY2023"}], "findings": []}"#;
    let e = llm::parse_research(clash, None).err().unwrap();
    assert!(e.contains("`c2`"), "{e}");
}

#[test]
fn a_question_the_rules_cannot_read_gets_a_health_check_that_says_so() {
    for (q, note) in [
        (
            "What is the weather tomorrow?",
            "The question names none of the financial topics the offline analyst recognises",
        ),
        (
            "Quel temps fera-t-il demain ?",
            "La question ne nomme aucun des sujets financiers",
        ),
    ] {
        let a = offline(bistro(), q);
        assert_eq!(a.plan.intents, vec![Intent::HealthCheck]);
        assert!(a.report.contains(note), "{q}: {}", a.report);
    }
    // A health check asked for is not flagged.
    let a = offline(bistro(), "Is the company healthy overall?");
    assert!(!a.report.contains("recognises"), "{}", a.report);
}

/// The JSON of a Validator request (before a French request's closing line).
fn validator_request(question: &str, language: Language) -> serde_json::Value {
    let s = bistro();
    let plan = intent::plan(question, &s, language);
    let figures = crate::metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
    let cues = intent::cues_for(question, &s);
    let asked = llm::Question {
        text: question,
        cues: &cues,
    };
    request_json(&llm::validator_messages(
        asked,
        &plan,
        &figures,
        &[],
        &[],
        &[],
        &s,
    ))
}

/// The JSON a request's last message opens with (a French request's closing line after it).
fn request_json(messages: &[crate::provider::Message]) -> serde_json::Value {
    serde_json::Deserializer::from_str(&messages.last().unwrap().content)
        .into_iter::<serde_json::Value>()
        .next()
        .unwrap()
        .unwrap()
}

/// A year the books do not cover: the Validator is told to say so, and is given no yes or no about other years.
#[test]
fn the_validator_is_told_which_years_the_statements_do_not_cover() {
    let s = bistro();
    let question = "Did sales fall in 2018?";
    assert_eq!(intent::cues(question).asked, Some(intent::Asked::Down));
    let cues = intent::cues_for(question, &s);
    assert_eq!(
        (cues.outside.as_slice(), cues.asked),
        (&["2018".to_string()][..], None)
    );
    let sent = validator_request(question, Language::En);
    assert_eq!(sent["answer_says_not_covered"], serde_json::json!(["2018"]));
    assert!(sent.get("answer_opens_with").is_none(), "{sent}");
    // A covered year is no such thing.
    assert_eq!(
        validator_request("Did sales fall in 2022?", Language::En).get("answer_says_not_covered"),
        None
    );
}

#[test]
fn the_validator_is_told_what_the_question_names_and_how_the_figures_answer_it() {
    // On the bistro, working capital rose (117,339 to 409,070 CAD) and customers pay later (29.0 to 41.2 days).
    let tighter = validator_request("Is our working capital getting tighter?", Language::En);
    assert_eq!(
        tighter["answer_speaks_first_of"],
        serde_json::json!(["working_capital"])
    );
    assert_eq!(tighter["answer_opens_with"], "No.");
    let slower = validator_request("Nos clients paient-ils plus lentement ?", Language::Fr);
    assert_eq!(
        slower["answer_speaks_first_of"],
        serde_json::json!(["days_sales_outstanding"])
    );
    assert_eq!(slower["answer_opens_with"], "Oui.");
    // The same word the acceptance check holds an answer to.
    for (q, lang) in [
        ("Is our working capital getting tighter?", Language::En),
        ("Nos clients paient-ils plus lentement ?", Language::Fr),
    ] {
        let s = bistro();
        let plan = intent::plan(q, &s, lang);
        let figures = crate::metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
        let said = validator_request(q, lang)["answer_opens_with"]
            .as_str()
            .unwrap()
            .to_string();
        let texts = vec![(
            "report.answer".to_string(),
            format!("{said} See the figures."),
        )];
        assert_eq!(
            super::acceptance::yes_no(&texts, &intent::cues(q), &plan, &figures, "CAD"),
            None,
            "{q}"
        );
    }
    // Why, how much: no yes or no to open with; a question naming no metric: nothing named.
    let why = validator_request("Why is our working capital rising?", Language::En);
    assert!(why.get("answer_opens_with").is_none(), "{why}");
    assert_eq!(
        why["answer_speaks_first_of"],
        serde_json::json!(["working_capital"])
    );
    let overall = validator_request("How are we doing overall?", Language::En);
    assert!(overall.get("answer_opens_with").is_none(), "{overall}");
    assert!(overall.get("answer_speaks_first_of").is_none(), "{overall}");
}

#[test]
fn a_french_request_ends_in_french() {
    let s = bistro();
    for (language, ends) in [
        (Language::Fr, Some(llm::FRENCH_VALIDATOR_LINE)),
        (Language::En, None),
    ] {
        let plan = intent::plan("marges", &s, language);
        let figures = crate::metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
        let researcher = llm::researcher_messages("marges", &plan, &figures, &[], &s);
        let validator = llm::validator_messages(
            llm::Question {
                text: "marges",
                cues: &intent::cues("marges"),
            },
            &plan,
            &figures,
            &[],
            &[],
            &[],
            &s,
        );
        let last = |m: &[crate::provider::Message]| m.last().unwrap().content.clone();
        match ends {
            Some(line) => {
                assert!(last(&validator).ends_with(line));
                assert!(last(&researcher).ends_with("Rédigez les constats en français."));
            }
            None => {
                assert!(last(&validator).ends_with('}'), "{}", last(&validator));
                assert!(last(&researcher).ends_with('}'));
            }
        }
    }
}
