#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::borrow::Cow;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::metrics::Basis;

fn figure(metric: MetricId, period: &str, value: Option<&str>) -> Figure {
    Figure {
        id: Figure::make_id(metric, period),
        metric,
        period: Arc::from(period),
        value: value.map(|v| v.parse().unwrap()),
        unit: metric.unit(),
        basis: Basis::Closing,
        formula: Cow::Borrowed(metric.formula()),
        inputs: Vec::new(),
        reason: value.is_none().then(|| "no inventory".to_string()),
    }
}

fn figures() -> Vec<Figure> {
    vec![
        figure(MetricId::GrossMargin, "FY2022", Some("0.7012")),
        figure(MetricId::GrossMargin, "FY2023", Some("0.6897")),
        figure(MetricId::CurrentRatio, "FY2022", Some("1.2")),
        figure(MetricId::CurrentRatio, "FY2023", Some("1.8125")),
        figure(MetricId::DebtToEquity, "FY2022", Some("0.9")),
        figure(MetricId::DebtToEquity, "FY2023", Some("0.7")),
        figure(MetricId::FreeCashFlow, "FY2022", Some("1200000")),
        figure(MetricId::FreeCashFlow, "FY2023", Some("1234567")),
        figure(MetricId::InventoryTurnover, "FY2023", None),
    ]
}

fn computation(id: &str, value: Option<&str>) -> ComputationRecord {
    ComputationRecord {
        id: id.into(),
        expression: "revenue / 12".into(),
        period: "FY2023".into(),
        value: value.map(|v| v.parse().unwrap()),
        inputs: Vec::new(),
        error: value.is_none().then(|| "division by zero".to_string()),
    }
}

fn refs<'a>(
    figures: &'a [Figure],
    computations: &'a [ComputationRecord],
    language: Language,
) -> References<'a> {
    References {
        figures,
        computations,
        benchmarks: &[],
        pending: &[],
        lines: &[],
        language,
        currency: "$",
    }
}

#[test]
fn references_are_written_in_the_reports_language_and_style() {
    let f = figures();
    let c = [computation("c1", Some("0.25"))];
    let fr = refs(&f, &c, Language::Fr)
        .render(
            "La marge brute passe à {{gross_margin@FY2023}} ; flux : {{ free_cash_flow@FY2023 }}.",
        )
        .unwrap();
    assert_eq!(
        fr.text,
        "La marge brute passe à 68,97\u{a0}% ; flux : 1\u{a0}234\u{a0}567\u{a0}$."
    );
    assert_eq!(fr.ids, ["gross_margin@FY2023", "free_cash_flow@FY2023"]);
    let en = refs(&f, &c, Language::En)
        .render("Gross margin was {{gross_margin@FY2023}}, c1 = {{c1}}.")
        .unwrap();
    assert_eq!(en.text, "Gross margin was 68.97%, c1 = 0.25.");
    // A reference glued to a word is written apart from it, and grounding reads the whole number.
    let glued = refs(&f, &c, Language::En)
        .render("Current liabilities{{current_ratio@FY2023}}times, and{{c1}}.")
        .unwrap();
    assert_eq!(glued.text, "Current liabilities 1.81 times, and 0.25.");
    let statements = crate::testing::bistro();
    let grounding = crate::pipeline::grounding::GroundingContext::new(&statements, &f, &c);
    assert!(
        grounding.check(&glued.text, Language::En).is_empty(),
        "{:?}",
        grounding.check(&glued.text, Language::En)
    );
}

#[test]
fn changes_are_signed_in_points_or_units_and_grounding_accepts_them() {
    let f = figures();
    let en = refs(&f, &[], Language::En)
        .render(
            "Gross margin fell by {{gross_margin@FY2022 -> gross_margin@FY2023}}; free cash flow grew by \
             {{free_cash_flow@FY2022 -> free_cash_flow@FY2023}}.",
        )
        .unwrap();
    assert_eq!(
        en.text,
        "Gross margin fell by -1.15 pts; free cash flow grew by +34,567 $."
    );
    assert!(en.contradictions.is_empty(), "{:?}", en.contradictions);
    assert_eq!(en.changes.len(), 2);
    let fr = refs(&f, &[], Language::Fr)
        .render(
            "Le ratio de liquidité progresse de {{current_ratio@FY2022 -> current_ratio@FY2023}}.",
        )
        .unwrap();
    assert_eq!(fr.text, "Le ratio de liquidité progresse de +0,61.");
    // Figures of different units cannot be subtracted.
    let e = refs(&f, &[], Language::En)
        .render("{{gross_margin@FY2022 -> current_ratio@FY2023}}")
        .unwrap_err();
    assert!(e[0].contains("different units"), "{e:?}");
}

#[test]
fn unknown_uncomputable_and_unclosed_references_are_named() {
    let f = figures();
    let c = [computation("c9", None)];
    let r = refs(&f, &c, Language::En);
    for (text, expected) in [
        ("{{gross_margin@FY2031}}", "not a figure"),
        ("{{inventory_turnover@FY2023}}", "not computable"),
        ("{{c9}}", "could not be evaluated"),
        ("Margin is {{gross_margin@FY2023", "never closed"),
        ("{{}}", "not a figure"),
    ] {
        let e = r.render(text).unwrap_err();
        assert!(e.join(" ").contains(expected), "{text}: {e:?}");
        assert!(r.check(text).is_err());
    }
    // A computation requested in the same answer may be referred to before it is evaluated.
    let pending = vec!["c2".to_string()];
    let with_pending = References {
        pending: &pending,
        ..r
    };
    assert!(with_pending.check("Rent is {{c2}} of revenue.").is_ok());
    assert!(r.check("Rent is {{c2}} of revenue.").is_err());
    // Text without references is left as it is.
    assert_eq!(
        r.render("No numbers here.").unwrap().text,
        "No numbers here."
    );
}

#[test]
fn direction_words_must_agree_with_the_figures_next_to_them() {
    let f = figures();
    let en = refs(&f, &[], Language::En);
    let fr = refs(&f, &[], Language::Fr);
    // Gross margin went down (70.12 % → 68.97 %): "rose" contradicts it, with the previous period as reference.
    let bad = en
        .render("Gross margin rose to {{gross_margin@FY2023}}.")
        .unwrap();
    assert_eq!(bad.contradictions.len(), 1, "{:?}", bad.contradictions);
    assert!(bad.contradictions[0].contains("went down"));
    let bad = fr
        .render("La marge brute est en hausse : {{gross_margin@FY2022 -> gross_margin@FY2023}}.")
        .unwrap();
    assert_eq!(bad.contradictions.len(), 1);
    assert!(
        fr.render("La marge brute est en baisse à {{gross_margin@FY2023}}.")
            .unwrap()
            .contradictions
            .is_empty()
    );
    // "Improve" depends on the metric: debt to equity going down is an improvement.
    assert!(
        en.render("Leverage improved: debt to equity is {{debt_to_equity@FY2023}}.")
            .unwrap()
            .contradictions
            .is_empty()
    );
    assert_eq!(
        en.render("Leverage deteriorated to {{debt_to_equity@FY2023}}.")
            .unwrap()
            .contradictions
            .len(),
        1
    );
    assert_eq!(
        fr.render("La liquidité se dégrade : ratio de {{current_ratio@FY2023}}.")
            .unwrap()
            .contradictions
            .len(),
        1,
        "the current ratio went up: a deterioration is wrong"
    );
    // A negation, another clause, or a first period (no previous figure) is not read as a claim.
    // "From {{a}} to {{b}}": the word is about the movement from a to b, not about a against its own past.
    assert!(
        fr.render(
            "Ratio : {{current_ratio@FY2023}} — en hausse par rapport à {{current_ratio@FY2022}}."
        )
        .unwrap()
        .contradictions
        .is_empty()
    );
    assert!(
        en.render(
            "The current ratio rose from {{current_ratio@FY2022}} to {{current_ratio@FY2023}}."
        )
        .unwrap()
        .contradictions
        .is_empty()
    );
    assert_eq!(
        en.render("Gross margin rose from {{gross_margin@FY2022}} to {{gross_margin@FY2023}}.")
            .unwrap()
            .contradictions
            .len(),
        1
    );
    for ok in [
        "Gross margin did not rise: {{gross_margin@FY2023}}.",
        "Revenue rose, but gross margin was {{gross_margin@FY2023}}.",
        "Gross margin increased to {{gross_margin@FY2022}}.",
    ] {
        assert!(en.render(ok).unwrap().contradictions.is_empty(), "{ok}");
    }
}

proptest! {
    /// Any text renders or is refused with reasons: never a panic, and text outside references is kept.
    #[test]
    fn any_text_renders_or_is_refused(text in "(\\PC|\\{\\{|\\}\\}|->|@){0,80}") {
        let f = figures();
        let r = refs(&f, &[], Language::Fr);
        match r.render(&text) {
            Ok(rendered) => {
                if !text.contains("{{") {
                    prop_assert_eq!(rendered.text, text);
                }
            }
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
}

#[test]
fn the_amounts_of_the_line_a_question_is_about_are_references_with_their_movement() {
    let s = crate::testing::bistro();
    let periods: Vec<String> = ["FY2021", "FY2022", "FY2023"].map(String::from).to_vec();
    let cues = crate::analysis::intent::cues_for("How much cash do we have?", &s);
    let lines = super::subject_lines(&cues, &periods);
    assert_eq!(
        lines.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["cash@FY2021", "cash@FY2022", "cash@FY2023"]
    );
    let f = figures();
    let r = References {
        lines: &lines,
        ..refs(&f, &[], Language::Fr)
    };
    assert!(r.knows("cash@FY2023") && !r.knows("revenue@FY2023"));
    let written = r
        .render("La trésorerie passe à {{cash@FY2023}}, soit {{cash@FY2022 -> cash@FY2023}}.")
        .unwrap();
    assert_eq!(
        written.text,
        "La trésorerie passe à 257\u{a0}551\u{a0}$, soit +111\u{a0}619\u{a0}$."
    );
    assert!(
        written.contradictions.is_empty(),
        "{:?}",
        written.contradictions
    );
    // Cash rose from FY2022 to FY2023: "fell" next to it is refused.
    let en = References {
        lines: &lines,
        ..refs(&f, &[], Language::En)
    };
    let wrong = en.render("Cash fell to {{cash@FY2023}}.").unwrap();
    assert_eq!(wrong.contradictions.len(), 1, "{:?}", wrong.contradictions);
    // A question about a metric has no line to cite.
    let metric = crate::analysis::intent::cues_for("Is our current ratio above 1.5?", &s);
    assert!(super::subject_lines(&metric, &periods).is_empty());
}
