#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A report must answer before it is accepted: the offline memo answers first, and a Validator report that does
//! not answer (too short, another language, no planned figure, the prompt or the question copied back) gets one
//! repair round, then the offline memo with the reason.

use finops_core::MetricId;
use finops_core::pipeline::{AnalysisRequest, Pipeline, ReportSource};
use finops_core::provider::{Phase, ScriptedProvider};

#[path = "support/scripted.rs"]
mod scripted;
use scripted::{bistro, pipeline};

/// A Validator answer with no verdicts and `text` as its whole report.
fn report(text: &str) -> String {
    serde_json::json!({"verdicts": [], "report": text}).to_string()
}

/// A scripted pipeline whose model plans `plan`, researches `research`, and answers the Validator with `replies` in
/// turn (a repair round takes the next).
fn answering(
    plan: &str,
    research: &str,
    replies: Vec<String>,
) -> (Pipeline, std::sync::Arc<ScriptedProvider>) {
    let mut provider = ScriptedProvider::new()
        .reply(Phase::Analyst, plan)
        .reply(Phase::Researcher, research);
    for r in replies {
        provider = provider.reply(Phase::Validator, r);
    }
    pipeline(provider)
}

#[tokio::test]
async fn the_offline_memo_answers_first_with_the_direction_the_figures_show() {
    let s = bistro();
    for (question, prefix, metric) in [
        (
            "Analyse la rentabilité du bistro sur trois ans",
            "**En bref.** ",
            finops_core::MetricId::NetMargin,
        ),
        (
            "Is our working capital getting tighter?",
            "**In short.** ",
            finops_core::MetricId::WorkingCapital,
        ),
        (
            "Is the company healthy overall?",
            "**In short.** ",
            finops_core::MetricId::NetMargin,
        ),
    ] {
        let a = Pipeline::offline()
            .analyze(AnalysisRequest::new(s.clone(), question))
            .await
            .unwrap();
        let answer = a.report.split("\n\n").nth(1).unwrap();
        assert!(answer.starts_with(prefix), "{question}: {answer}");
        let (first, last) = (
            a.plan.periods.first().unwrap(),
            a.plan.periods.last().unwrap(),
        );
        let value = |p: &str| {
            a.figures
                .iter()
                .find(|f| f.metric == metric && &*f.period == p)
                .unwrap()
                .value
                .unwrap()
        };
        let name = &finops_core::pipeline::metric_subject(metric, a.language);
        let sentence = answer.split(". ").find(|x| x.contains(name)).unwrap();
        let rose = value(last) > value(first);
        let says_up = sentence.contains(" rose ") || sentence.contains("en hausse");
        let says_down = sentence.contains(" fell ") || sentence.contains("en baisse");
        assert_eq!((says_up, says_down), (rose, !rose), "{question}: {answer}");
        // Good or bad news, as the catalogue says which way is better.
        let improved = sentence.contains(" improved") || sentence.contains("s'améliore");
        let worsened = sentence.contains(" worsened") || sentence.contains("se dégrade");
        match metric.higher_is_better() {
            Some(higher) => assert_eq!(
                (improved, worsened),
                (rose == higher, rose != higher),
                "{question}: {answer}"
            ),
            None => assert!(!improved && !worsened, "{question}: {answer}"),
        }
        assert!(
            a.validation.grounded,
            "{:?}",
            a.validation.ungrounded_numbers
        );
        // Before the tables.
        assert!(a.report.find(prefix) < a.report.find("###"));
    }
}

#[tokio::test]
async fn a_report_that_does_not_answer_gets_one_repair_then_the_offline_memo() {
    let s = bistro();
    let plan = r#"{"intents": ["liquidity"], "metrics": ["current_ratio"], "periods": ["FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let word = serde_json::json!({"verdicts": [], "report": "FY2023"}).to_string();
    let good = serde_json::json!({"verdicts": [], "report": "## Liquidity\n\nThe current ratio is 1.81 in FY2023: current assets cover current liabilities."}).to_string();
    // A one-word report, then an answer: accepted after the repair, which said why.
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, plan)
            .reply(Phase::Researcher, research)
            .reply(Phase::Validator, word.clone())
            .reply(Phase::Validator, good),
    );
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), "Is our liquidity fine?"))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::ValidatorRepaired);
    let requests = provider.requests();
    let repair = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(
        repair.contains("cannot be accepted yet") && repair.contains("characters long"),
        "{repair}"
    );
    // Twice a non-answer: the offline memo, and the reason.
    let (p, _) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, plan)
            .reply(Phase::Researcher, research)
            .reply(Phase::Validator, word.clone())
            .reply(Phase::Validator, word),
    );
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), "Is our liquidity fine?"))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(a.degraded_reason.unwrap().contains("did not answer"));
    // A long report in the wrong language, or one that states no planned figure, is not an answer either.
    for report in [
        "## Liquidité\n\nLe ratio de liquidité générale est de 1,81 en FY2023 : les actifs à court terme couvrent les passifs.",
        "## Liquidity\n\nThe company's short-term position looks comfortable and its obligations are covered by its resources.",
    ] {
        let bad = serde_json::json!({"verdicts": [], "report": report}).to_string();
        let (p, _) = pipeline(
            ScriptedProvider::new()
                .reply(Phase::Analyst, plan)
                .reply(Phase::Researcher, research)
                .reply(Phase::Validator, bad.clone())
                .reply(Phase::Validator, bad),
        );
        let a = p
            .analyze(AnalysisRequest::new(s.clone(), "Is our liquidity fine?"))
            .await
            .unwrap();
        assert_eq!(a.report_source, ReportSource::Offline, "{report}");
        let why = a.degraded_reason.unwrap();
        assert!(
            why.contains("not written in English")
                || why.contains("states none of the plan's figures"),
            "{why}"
        );
    }
}

#[tokio::test]
async fn a_report_that_copies_its_instructions_is_not_an_answer() {
    // Small models copy the prompt or the schema's descriptions into the sections; the SDK's headings and
    // figures around them would otherwise pass every other check.
    let s = bistro();
    let plan = r#"{"intents": ["liquidity"], "metrics": ["current_ratio"], "periods": ["FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let copied = serde_json::json!({"verdicts": [], "report": {
        "answer": "The first sentence: the direct answer to the question.",
        "metrics": {"current_ratio": {"figure": "current_ratio@FY2023", "comment": "..."}},
        "trends": "", "stands_out": "", "caveats": ""}})
    .to_string();
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, plan)
            .reply(Phase::Researcher, research)
            .reply(Phase::Validator, copied.clone())
            .reply(Phase::Validator, copied),
    );
    let a = p
        .analyze(AnalysisRequest::new(s, "Is our liquidity fine?"))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    let why = a.degraded_reason.unwrap();
    assert!(
        why.contains("`report.answer` repeats the instructions")
            && why.contains("`report.metrics.current_ratio.comment` holds no words"),
        "{why}"
    );
    let requests = provider.requests();
    let repair = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(
        repair.contains("`report.answer` repeats the instructions"),
        "{repair}"
    );
}

#[tokio::test]
async fn a_yes_or_no_against_the_figures_is_repaired_then_replaced() {
    // The bistro's working capital rose from FY2021 to FY2023: it is not getting tighter.
    let s = bistro();
    let plan = r#"{"intents": ["liquidity"], "metrics": ["working_capital", "current_ratio"], "periods": ["FY2021", "FY2022", "FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let yes = report(
        "Yes. Working capital is getting tighter: it is 409,070 CAD in FY2023, and the current ratio is 1.81 in FY2023.",
    );
    let no = report(
        "No. Working capital is not getting tighter: it is 409,070 CAD in FY2023, up from 117,339 CAD in FY2021, and the current ratio is 1.81 in FY2023.",
    );
    let question = "Is our working capital getting tighter?";
    let run = |replies: Vec<String>| answering(plan, research, replies);
    // The right answer is accepted at once.
    let (p, _) = run(vec![no.clone()]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(
        a.report_source,
        ReportSource::Validator,
        "{:?}",
        a.degraded_reason
    );
    // The wrong one gets a repair round that says what the figures show, then is accepted once right.
    let (p, provider) = run(vec![yes.clone(), no]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::ValidatorRepaired);
    let requests = provider.requests();
    let repair = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(
        repair.contains("`report` opens with \"Yes\" but the figures answer no")
            && repair.contains("Working capital improved: it rose from 117,339 CAD in FY2021 to 409,070 CAD in FY2023"),
        "{repair}"
    );
    // Wrong twice: the offline memo, which answers no, and the reason.
    let (p, _) = run(vec![yes.clone(), yes]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(
        a.degraded_reason
            .as_deref()
            .unwrap()
            .contains("opens with \"Yes\" but the figures answer no"),
        "{:?}",
        a.degraded_reason
    );
    assert!(a.report.contains("**In short.** No. "), "{}", a.report);
    // A question that is not a yes/no one is not held to a yes or a no.
    let (p, _) = run(vec![report(
        "Yes. Working capital is 409,070 CAD in FY2023 and the current ratio is 1.81 in FY2023: the position is comfortable.",
    )]);
    let a = p
        .analyze(AnalysisRequest::new(
            s,
            "Why is our working capital what it is?",
        ))
        .await
        .unwrap();
    assert_eq!(
        a.report_source,
        ReportSource::Validator,
        "{:?}",
        a.degraded_reason
    );
}

#[tokio::test]
async fn a_metric_the_question_names_is_planned_whatever_the_model_left_out() {
    let s = bistro();
    // The model plans the current ratio for a question about working capital, or about net income.
    let plan = r#"{"intents": ["liquidity"], "metrics": ["current_ratio"], "periods": ["FY2021", "FY2022", "FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let ratio_only = report(
        "No. The current ratio is 1.81 in FY2023: current assets cover current liabilities comfortably.",
    );
    let both = report(
        "No. Working capital is not getting tighter: it is 409,070 CAD in FY2023, up from 117,339 CAD in FY2021, and the current ratio is 1.81 in FY2023.",
    );
    let (p, provider) = pipeline(
        ScriptedProvider::new()
            .reply(Phase::Analyst, plan)
            .reply(Phase::Researcher, research)
            .reply(Phase::Validator, ratio_only)
            .reply(Phase::Validator, both),
    );
    let a = p
        .analyze(AnalysisRequest::new(
            s.clone(),
            "Is our working capital getting tighter?",
        ))
        .await
        .unwrap();
    assert_eq!(
        a.plan.metrics,
        [MetricId::CurrentRatio, MetricId::WorkingCapital]
    );
    assert!(
        a.plan
            .comparisons
            .iter()
            .any(|c| c.metric == MetricId::WorkingCapital
                && c.from == "FY2021"
                && c.to == "FY2023")
    );
    assert!(
        a.figures
            .iter()
            .any(|f| f.metric == MetricId::WorkingCapital && f.value.is_some())
    );
    assert!(
        a.validation.warnings.iter().any(|w| w
            == "plan: the question names working_capital, which the Analyst's plan left out; added"),
        "{:?}",
        a.validation.warnings
    );
    // The Researcher and the Validator are given its figures, the Validator is told to speak of it first, and a
    // report that leaves it out is repaired.
    let requests = provider.requests();
    let researcher = requests
        .iter()
        .find(|r| r.phase == Phase::Researcher)
        .unwrap();
    assert!(
        researcher
            .messages
            .iter()
            .any(|m| m.content.contains("working_capital@FY2023"))
    );
    let validator = requests
        .iter()
        .find(|r| r.phase == Phase::Validator)
        .unwrap();
    let asked = &validator.messages.last().unwrap().content;
    assert!(
        asked.contains(r#""answer_speaks_first_of":["working_capital"]"#),
        "{asked}"
    );
    assert_eq!(
        a.report_source,
        ReportSource::ValidatorRepaired,
        "{:?}",
        a.degraded_reason
    );
    let repair = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(
        repair.contains("does not address Working capital"),
        "{repair}"
    );

    // A metric of another family brings its family: net income is profitability and growth.
    let (p, _) = pipeline(ScriptedProvider::new().reply(Phase::Analyst, plan));
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), "Did net income fall?"))
        .await
        .unwrap();
    for m in [MetricId::NetMargin, MetricId::NetIncomeGrowth] {
        assert!(a.plan.metrics.contains(&m), "{:?}", a.plan.metrics);
        assert!(
            a.plan
                .intents
                .iter()
                .any(|i| i.category() == Some(m.category()))
        );
    }

    // A question that names nothing beyond the plan leaves it as the model wrote it, with no note.
    let (p, _) = pipeline(ScriptedProvider::new().reply(Phase::Analyst, plan));
    let a = p
        .analyze(AnalysisRequest::new(s, "Comment va notre liquidité ?"))
        .await
        .unwrap();
    assert_eq!(a.plan.metrics, [MetricId::CurrentRatio]);
    assert!(
        !a.validation.warnings.iter().any(|w| w.starts_with("plan:")),
        "{:?}",
        a.validation.warnings
    );
}

#[tokio::test]
async fn a_level_question_holds_the_report_to_the_latest_figure_and_lets_it_repeat_the_threshold() {
    // The bistro's current ratio is 1.81 in FY2023: above 1.5.
    let s = bistro();
    let plan = r#"{"intents": ["liquidity"], "metrics": ["current_ratio", "working_capital"], "periods": ["FY2021", "FY2022", "FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let yes = report(
        "Yes. The current ratio is 1.81 in FY2023, above the 1.5 you asked about, with working capital of 409,070 CAD.",
    );
    let no = report(
        "No. The current ratio is 1.81 in FY2023, which falls short of 1.5, with working capital of 409,070 CAD.",
    );
    let question = "Is our current ratio above 1.5?";
    let run = |replies: Vec<String>| answering(plan, research, replies);
    // Right at once: accepted, and the threshold the question names is grounded.
    let (p, provider) = run(vec![yes.clone()]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(
        a.report_source,
        ReportSource::Validator,
        "{:?}",
        a.degraded_reason
    );
    assert!(a.validation.grounded, "{:?}", a.validation);
    // The Validator was told what the figures answer.
    let requests = provider.requests();
    let sent = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(sent.contains(r#""answer_opens_with":"Yes.""#), "{sent}");
    // Wrong: a repair round quoting where the figure stands, then accepted once right.
    let (p, provider) = run(vec![no.clone(), yes]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::ValidatorRepaired);
    let requests = provider.requests();
    let repair = &requests.last().unwrap().messages.last().unwrap().content;
    assert!(
        repair.contains("`report` opens with \"No\" but the figures answer yes")
            && repair.contains("Current ratio is 1.81 in FY2023, above 1.5."),
        "{repair}"
    );
    // Another threshold in the report than the question's is not grounded.
    let (p, _) = run(vec![report(
        "Yes. The current ratio is 1.81 in FY2023, above 1.7, with working capital of 409,070 CAD.",
    )]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert!(
        a.report_source != ReportSource::Validator || !a.validation.grounded,
        "{:?} {:?}",
        a.report_source,
        a.validation
    );
}

/// The lines of one `### heading` section of a report.
fn section<'a>(report: &'a str, heading: &str) -> Vec<&'a str> {
    let Some(start) = report.find(&format!("### {heading}\n\n")) else {
        return Vec::new();
    };
    report[start..]
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with("###"))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn a_model_report_carries_the_sdks_own_what_stands_out_and_caveats_on_every_company() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/portfolio");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10);
    let mut standing_lines = 0;
    for (path, question, stands, caveats) in paths.iter().enumerate().map(|(i, p)| {
        if i % 2 == 0 {
            (
                p,
                "Is the company healthy overall?",
                "What stands out",
                "Caveats",
            )
        } else {
            (
                p,
                "Fais un bilan de santé complet",
                "Points saillants",
                "Mises en garde",
            )
        }
    }) {
        let s = finops_core::Statements::from_json_str(&std::fs::read_to_string(path).unwrap())
            .unwrap();
        // The offline memo of the same question: its plan is the model's, its sections what the SDK must add.
        let memo = Pipeline::offline()
            .analyze(AnalysisRequest::new(s.clone(), question))
            .await
            .unwrap();
        let plan = serde_json::json!({
            "intents": memo.plan.intents,
            "metrics": memo.plan.metrics,
            "periods": memo.plan.periods,
        });
        // The latest computable figure of the metric (or none, as its schema allows when it has none).
        let headline = |m: &MetricId| {
            memo.figures
                .iter()
                .rev()
                .find(|f| f.metric == *m && f.value.is_some())
                .map_or(String::new(), |f| f.id.clone())
        };
        let cited = memo
            .plan
            .metrics
            .iter()
            .map(headline)
            .find(|id| !id.is_empty())
            .unwrap();
        let metrics: serde_json::Map<String, serde_json::Value> = memo
            .plan
            .metrics
            .iter()
            .map(|m| {
                (
                    m.id().to_string(),
                    serde_json::json!({"figure": headline(m), "comment": ""}),
                )
            })
            .collect();
        let answer = if question.starts_with("Fais") {
            format!("Voici la situation de l'entreprise dans l'ensemble : {{{{{cited}}}}}.")
        } else {
            format!("Here is where the company stands overall: {{{{{cited}}}}}.")
        };
        let validated = serde_json::json!({"verdicts": [{"finding": 0, "status": "confirmed", "note": null}],
            "report": {"answer": answer, "metrics": metrics, "trends": ""}});
        let research = serde_json::json!({"findings": [{"text": format!("{{{{{cited}}}}}"), "cites": [cited]}]});
        let (p, provider) = answering(
            &plan.to_string(),
            &research.to_string(),
            vec![validated.to_string()],
        );
        let a = p
            .analyze(AnalysisRequest::new(s.clone(), question))
            .await
            .unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let last = provider
            .requests()
            .last()
            .unwrap()
            .messages
            .last()
            .unwrap()
            .content
            .clone();
        assert_eq!(a.report_source, ReportSource::Validator, "{name}: {last}");
        assert!(
            a.validation.grounded,
            "{name}: {:?}",
            a.validation.ungrounded_numbers
        );
        let expected = section(&memo.report, stands);
        assert!(!expected.is_empty(), "{name}");
        assert_eq!(
            section(&a.report, stands),
            expected,
            "{name}:\n{}",
            a.report
        );
        assert_eq!(
            section(&a.report, caveats),
            section(&memo.report, caveats),
            "{name}"
        );
        standing_lines += expected.len();
    }
    assert!(
        standing_lines > paths.len(),
        "{standing_lines} lines stand out"
    );
}

#[tokio::test]
async fn a_question_asking_for_an_amount_is_answered_with_it_by_reference() {
    // "How much cash do we have?": the Validator is sent the cash amounts by the ids that cite them, may write
    // `{{cash@FY2023}}`, which the SDK writes out, and an answer that does not state the amount gets the repair
    // round with the reference to use.
    let s = bistro();
    let question = "How much cash do we have?";
    let plan = r#"{"intents": ["liquidity"], "metrics": ["current_ratio"], "periods": ["FY2022", "FY2023"]}"#;
    let research = r#"{"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}"#;
    let sections = |answer: &str| {
        serde_json::json!({"verdicts": [{"finding": 0, "status": "confirmed"}], "report": {
            "answer": answer,
            "metrics": {"current_ratio": {"figure": "current_ratio@FY2023", "comment": "Current assets cover current liabilities."}},
            "trends": "Cash rose over the year while short-term obligations stayed covered."}})
        .to_string()
    };
    let vague = sections(
        "The company holds a comfortable cash position, and its current ratio is {{current_ratio@FY2023}}.",
    );
    let cited = sections(
        "The company held {{cash@FY2023}} of cash at the end of FY2023, after {{cash@FY2022}} a year earlier.",
    );
    let (p, provider) = answering(plan, research, vec![vague.clone(), cited]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(
        a.report_source,
        ReportSource::ValidatorRepaired,
        "{:?}",
        a.degraded_reason
    );
    assert!(
        a.report.contains("257,551 CAD") && a.report.contains("145,931 CAD"),
        "{}",
        a.report
    );
    assert!(a.validation.grounded, "{:?}", a.validation);
    let requests = provider.requests();
    let validator: Vec<_> = requests
        .iter()
        .filter(|r| r.phase == Phase::Validator)
        .collect();
    let sent = &validator[0].messages.last().unwrap().content;
    assert!(
        sent.contains(
            r#""answer_states_amount_of":{"cash@FY2022":"145,931 CAD","cash@FY2023":"257,551 CAD"}"#
        ),
        "{sent}"
    );
    let repair = &validator[1].messages.last().unwrap().content;
    assert!(
        repair.contains("does not state what the question asks for, cash in FY2023")
            && repair.contains("{{cash@FY2023}}"),
        "{repair}"
    );
    // Twice without the amount: the offline memo, which states it first.
    let (p, _) = answering(plan, research, vec![vague.clone(), vague]);
    let a = p
        .analyze(AnalysisRequest::new(s.clone(), question))
        .await
        .unwrap();
    assert_eq!(a.report_source, ReportSource::Offline);
    assert!(
        a.report.contains("Cash was 257,551 CAD in FY2023"),
        "{}",
        a.report
    );
    // A question about a metric is sent no line amounts, and a line id is no reference there.
    let (p, provider) = answering(
        plan,
        research,
        vec![
            sections("The current ratio is {{current_ratio@FY2023}}, and cash {{cash@FY2023}}."),
            sections(
                "The current ratio is {{current_ratio@FY2023}}: current assets cover current liabilities.",
            ),
        ],
    );
    let a = p
        .analyze(AnalysisRequest::new(s, "Is our liquidity fine?"))
        .await
        .unwrap();
    // The unknown reference is a repairable answer: the model is told, and its next answer is taken.
    assert!(
        a.report.contains("The current ratio is 1.81"),
        "{}",
        a.report
    );
    let requests = provider.requests();
    assert!(requests.iter().all(|r| {
        !r.messages
            .iter()
            .any(|m| m.content.contains(r#""answer_states_amount_of""#))
    }));
}
