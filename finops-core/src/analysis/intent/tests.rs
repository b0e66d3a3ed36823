//! The rules' own tables: every phrase can match the text it is matched against.

use super::phrases::METRIC_PHRASES;
use super::{RULES, fold, include_named, plain};
use crate::analysis::Intent;
use crate::metrics::MetricId;

/// A phrase is matched against a question folded and without determiners, so a phrase written with one ("return
/// on the assets", « rendement des actifs ») would never match.
#[test]
fn every_phrase_is_written_as_the_rules_read_a_question() {
    let phrases = METRIC_PHRASES
        .iter()
        .flat_map(|(_, p)| p.iter())
        .chain(RULES.iter().flat_map(|(_, p)| p.iter()));
    let mut wrong = Vec::new();
    for phrase in phrases {
        let read = plain(&fold(phrase));
        if read.trim() != phrase.trim_end() {
            wrong.push(format!("{phrase:?} reads as {:?}", read.trim()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn determiners_are_not_read() {
    assert_eq!(plain("return on our assets"), " return on assets ");
    assert_eq!(plain("le rendement de nos actifs"), " rendement de actifs ");
    assert_eq!(plain("rendement des actifs"), " rendement de actifs ");
    assert_eq!(plain("rendement de l actif"), " rendement de actif ");
    assert_eq!(plain(""), " ");
}

/// A plan as a model might write it: any metrics, families and periods, comparisons over them or none.
fn any_plan()
-> impl proptest::strategy::Strategy<Value = (crate::analysis::AnalysisPlan, Vec<MetricId>)> {
    use proptest::prelude::*;
    let metric = prop::sample::select(MetricId::ALL.to_vec());
    let intent = prop::sample::select(Intent::ALL.to_vec());
    (
        prop::collection::vec(intent, 0..3),
        prop::collection::vec(metric.clone(), 0..5),
        1usize..4,
        any::<bool>(),
        prop::collection::vec(metric, 0..4),
    )
        .prop_map(|(mut intents, mut metrics, n, compare, named)| {
            // As a parsed plan holds them.
            intents.sort();
            intents.dedup();
            metrics.sort();
            metrics.dedup();
            let periods: Vec<String> = (0..n).map(|i| format!("FY{}", 2021 + i)).collect();
            let comparisons = if compare {
                super::comparisons(&metrics, &periods)
            } else {
                Vec::new()
            };
            let plan = crate::analysis::AnalysisPlan {
                intents,
                metrics,
                periods,
                comparisons,
                language: crate::analysis::Language::En,
                benchmark: false,
            };
            (plan, named)
        })
}

proptest::proptest! {
    /// Whatever a plan holds, a named metric is planned after; an added one comes under a family that covers it,
    /// with a comparison when the plan spans periods; what the plan had is kept, and a second pass adds nothing.
    #[test]
    fn a_named_metric_is_always_planned((plan, named) in any_plan()) {
        let mut completed = plan.clone();
        let added = include_named(&mut completed, &named);
        // One named metric planned is the plan's choice; none, and every one is added.
        let held = named.iter().any(|m| plan.metrics.contains(m));
        for m in &named {
            proptest::prop_assert!(held || completed.metrics.contains(m));
        }
        if held {
            proptest::prop_assert!(added.is_empty());
        }
        for m in &plan.metrics {
            proptest::prop_assert!(completed.metrics.contains(m));
        }
        for c in &plan.comparisons {
            proptest::prop_assert!(completed.comparisons.contains(c));
        }
        for m in &added {
            proptest::prop_assert!(named.contains(m) && !plan.metrics.contains(m));
            proptest::prop_assert!(completed
                .intents
                .iter()
                .any(|i| i.category().is_none_or(|c| c == m.category())));
            let compared = completed.comparisons.iter().any(|c| c.metric == *m);
            proptest::prop_assert_eq!(compared, plan.periods.len() > 1);
        }
        proptest::prop_assert!(added.windows(2).all(|w| w[0] < w[1]));
        proptest::prop_assert!(completed.metrics.windows(2).all(|w| w[0] <= w[1]));
        let again = completed.clone();
        proptest::prop_assert!(include_named(&mut completed, &named).is_empty());
        proptest::prop_assert_eq!(completed, again);
    }
}

#[test]
fn a_plan_without_the_named_metric_gets_it_with_its_family() {
    let mut plan = super::plan(
        "How liquid are we?",
        &crate::statements::Statements::from_json_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/data/bistro-saint-denis.json"
            ))
            .unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}")),
        crate::analysis::Language::En,
    );
    plan.metrics = vec![MetricId::CurrentRatio];
    plan.comparisons = super::comparisons(&plan.metrics, &plan.periods);
    let named = super::named_metrics("Did net income fall?");
    let added = include_named(&mut plan, &named);
    assert_eq!(added, vec![MetricId::NetMargin, MetricId::NetIncomeGrowth]);
    assert!(
        plan.intents
            .iter()
            .any(|i| i.category() == Some(MetricId::NetMargin.category()))
    );
    assert!(
        plan.intents
            .iter()
            .any(|i| i.category() == Some(MetricId::NetIncomeGrowth.category()))
    );
    let compared: Vec<MetricId> = plan.comparisons.iter().map(|c| c.metric).collect();
    assert_eq!(
        compared,
        vec![
            MetricId::CurrentRatio,
            MetricId::NetMargin,
            MetricId::NetIncomeGrowth
        ]
    );
    // A plan that holds one of the metrics the question names keeps the model's choice.
    let mut margin_only = plan.clone();
    margin_only.metrics = vec![MetricId::NetMargin];
    let before = margin_only.clone();
    assert!(include_named(&mut margin_only, &named).is_empty());
    assert_eq!(margin_only, before);
}
