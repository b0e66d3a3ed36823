//! Questions that hold a figure to a level ("is the current ratio above 1.5?", « est-ce que la marge brute passe
//! sous 60 % ? », "is free cash flow positive?"): answered yes or no from the latest value, on every company, with
//! the level said beside the figure, and the figures still grounded.

use rust_decimal::{Decimal, RoundingStrategy};

use super::{answer, companies, yes_no};
use crate::analysis::intent;
use crate::metrics::MetricId::{self, *};
use crate::metrics::Unit;
use crate::pipeline::labels::{metric_name, metric_subject};
use crate::testing::offline;

/// The latest planned value of `metric`, as the report displays it (percentages as fractions).
fn latest(a: &crate::Analysis, metric: MetricId) -> Option<Decimal> {
    let last = a.plan.periods.last()?;
    let v = a
        .figures
        .iter()
        .find(|f| f.metric == metric && *f.period == **last)?
        .value?;
    let places = match metric.unit() {
        Unit::Amount => 0,
        Unit::Percent => 4,
        Unit::Ratio => 2,
        Unit::Days => 1,
    };
    Some(v.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero))
}

/// Thresholds around a value, in the unit a question writes them (a percentage in percent), and as a figure.
fn thresholds(metric: MetricId, v: Decimal) -> Vec<(String, Decimal)> {
    let step = match metric.unit() {
        Unit::Percent => Decimal::new(5, 2),
        Unit::Ratio => Decimal::new(3, 1),
        Unit::Days => Decimal::from(10),
        Unit::Amount => (v.abs() / Decimal::from(4)).round().max(Decimal::ONE),
    };
    [v - step, v + step]
        .into_iter()
        .map(|t| match metric.unit() {
            Unit::Percent => {
                let pct = (t * Decimal::ONE_HUNDRED).round_dp(0);
                (format!("{pct}%"), pct / Decimal::ONE_HUNDRED)
            }
            Unit::Ratio => {
                let r = t.round_dp(1);
                (r.to_string(), r)
            }
            Unit::Days => (format!("{} days", t.round_dp(0)), t.round_dp(0)),
            Unit::Amount => (t.round_dp(0).to_string(), t.round_dp(0)),
        })
        // Zero is a sign, asked of equity for debt to equity (tested below).
        .filter(|(_, t)| !t.is_zero())
        .collect()
}

#[test]
fn a_level_is_answered_from_the_latest_value_for_every_company() {
    let metrics = [
        CurrentRatio,
        WorkingCapital,
        DebtToEquity,
        InterestCoverage,
        GrossMargin,
        NetMargin,
        DaysSalesOutstanding,
        RevenueGrowth,
        FreeCashFlow,
    ];
    let mut answered = [0, 0];
    for (company, statements) in companies() {
        for metric in metrics {
            let name = metric_name(metric, crate::analysis::Language::En).to_lowercase();
            let probe = offline(statements.clone(), &format!("What is our {name}?"));
            let Some(v) = latest(&probe, metric) else {
                // Not computable in the latest year: no yes or no about it.
                let q = format!("Is our {name} above 1?");
                assert_eq!(
                    yes_no(answer(&offline(statements.clone(), &q))),
                    None,
                    "{company}: {q}"
                );
                continue;
            };
            for (written, t) in thresholds(metric, v) {
                for above in [true, false] {
                    let q = if above {
                        format!("Is our {name} above {written}?")
                    } else {
                        format!("Is our {name} below {written}?")
                    };
                    assert!(intent::named_metrics(&q).contains(&metric), "{q}");
                    let a = offline(statements.clone(), &q);
                    let text = answer(&a);
                    let expected = if above { v > t } else { v < t };
                    assert_eq!(yes_no(text), Some(expected), "{company}: {q}: {text}");
                    let side = if v > t {
                        "above"
                    } else if v < t {
                        "below"
                    } else {
                        "at"
                    };
                    assert!(
                        text.contains(&format!(", {side} ")),
                        "{company}: {q}: {text}"
                    );
                    assert!(a.validation.grounded, "{company}: {q}: {:?}", a.validation);
                    answered[usize::from(expected)] += 1;
                }
            }
        }
    }
    assert!(answered[0] > 50 && answered[1] > 50, "{answered:?}");
}

#[test]
fn french_levels_and_signs_are_answered_in_french() {
    let s = crate::testing::bistro();
    // The bistro's gross margin is 68.97 %, its current ratio 1.81, its free cash flow 288,671 CAD (FY2023).
    let cases = [
        (
            "Est-ce que la marge brute passe sous 60 % ?",
            false,
            "au-dessus de 60 %",
        ),
        (
            "La marge brute dépasse-t-elle 60 % ?",
            true,
            "au-dessus de 60 %",
        ),
        (
            "Le ratio de liquidité générale est-il supérieur à 2 ?",
            false,
            "en dessous de 2",
        ),
        (
            "Le flux de trésorerie disponible est-il positif ?",
            true,
            "au-dessus de zéro",
        ),
        ("Is free cash flow negative?", false, "above zero"),
        ("Is our gross margin at least 68.97%?", true, "at 68.97%"),
        ("Is our gross margin above 68.97%?", false, "at 68.97%"),
    ];
    for (q, yes, said) in cases {
        let a = offline(s.clone(), q);
        let text = answer(&a);
        assert_eq!(yes_no(text), Some(yes), "{q}: {text}");
        assert!(text.contains(said), "{q}: {text}");
        assert!(a.validation.grounded, "{q}: {:?}", a.validation);
    }
    // The level is said of the metric's subject, in the report's language.
    let a = offline(s.clone(), "La marge brute dépasse-t-elle 60 % ?");
    let subject = metric_subject(GrossMargin, crate::analysis::Language::Fr);
    assert!(
        answer(&a).starts_with(&format!("Oui. {subject} est de 68,97 % en FY2023")),
        "{}",
        answer(&a)
    );
}

#[test]
fn a_level_without_a_named_metric_gets_no_yes_or_no() {
    let s = crate::testing::bistro();
    for q in [
        "Are we above 1.5?",
        "Is it positive?",
        "Sommes-nous au-dessus de 60 % ?",
    ] {
        let text = answer(&offline(s.clone(), q)).to_string();
        assert_eq!(yes_no(&text), None, "{q}: {text}");
    }
}

#[test]
fn whether_equity_is_negative_is_answered_from_its_line_in_the_latest_period() {
    // The company has no debt line, so no debt to equity: its equity line answers.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/negative-equity.json"
    );
    let negative =
        crate::Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let bistro = crate::testing::bistro();
    let cases = [
        (
            &negative,
            "Is our equity negative?",
            true,
            "Equity is negative in FY2023",
        ),
        (
            &negative,
            "Nos capitaux propres sont-ils positifs ?",
            false,
            "Les capitaux propres sont négatifs en FY2023",
        ),
        (
            &bistro,
            "Is our equity negative?",
            false,
            "Equity is positive in FY2023",
        ),
        (
            &bistro,
            "Les fonds propres sont-ils négatifs ?",
            false,
            "Les capitaux propres sont positifs en FY2023",
        ),
    ];
    for (s, q, yes, said) in cases {
        let a = offline(s.clone(), q);
        let text = answer(&a);
        assert_eq!(yes_no(text), Some(yes), "{q}: {text}");
        assert!(text.contains(said), "{q}: {text}");
        assert!(a.validation.grounded, "{q}: {:?}", a.validation);
    }
}

#[test]
fn words_far_apart_name_a_metric_together() {
    for (q, metric) in [
        (
            "How much cash did we generate from operations?",
            OperatingCashFlowRatio,
        ),
        (
            "Combien de trésorerie l'exploitation a-t-elle générée ?",
            OperatingCashFlowRatio,
        ),
        ("What return do shareholders get?", ReturnOnEquity),
        ("Quel rendement pour les actionnaires ?", ReturnOnEquity),
        ("Are we using our assets efficiently?", AssetTurnover),
        ("Utilisons-nous bien nos actifs ?", AssetTurnover),
        ("How much did we spend on equipment?", FreeCashFlow),
        ("Combien avons-nous investi en équipement ?", FreeCashFlow),
        ("Is leverage rising?", DebtToEquity),
        ("Do we owe more than we own?", DebtToEquity),
    ] {
        assert_eq!(intent::named_metrics(q), vec![metric], "{q}");
    }
    // Each word alone names nothing.
    for q in [
        "Do we have cash?",
        "What about our shareholders?",
        "List our assets.",
    ] {
        assert_eq!(intent::named_metrics(q), Vec::<MetricId>::new(), "{q}");
    }
}

#[test]
fn whether_the_company_made_a_profit_is_net_margins_sign_for_every_company() {
    let mut seen = [0, 0];
    for (company, statements) in companies() {
        for (q, profit) in [
            ("Are we profitable?", true),
            ("Did we lose money?", false),
            ("L'entreprise est-elle rentable ?", true),
            ("Sommes-nous en perte ?", false),
        ] {
            let a = offline(statements.clone(), q);
            let text = answer(&a);
            let Some(v) = latest(&a, NetMargin) else {
                assert_eq!(yes_no(text), None, "{company}: {q}: {text}");
                continue;
            };
            let made_profit = v > Decimal::ZERO;
            let expected = if profit {
                made_profit
            } else {
                v < Decimal::ZERO
            };
            assert_eq!(yes_no(text), Some(expected), "{company}: {q}: {text}");
            let said = match (a.language, made_profit) {
                (crate::analysis::Language::En, true) => "The company made a profit in",
                (crate::analysis::Language::En, false) => "The company made a loss in",
                (crate::analysis::Language::Fr, true) => "L'entreprise est bénéficiaire en",
                (crate::analysis::Language::Fr, false) => "L'entreprise est en perte en",
            };
            assert!(text.contains(said), "{company}: {q}: {text}");
            assert!(a.validation.grounded, "{company}: {q}: {:?}", a.validation);
            seen[usize::from(made_profit)] += 1;
        }
    }
    // A year with a loss: plumb-01's FY2022.
    let plumber = companies()
        .into_iter()
        .find(|(c, _)| c == "plumb-01")
        .unwrap()
        .1;
    let a = offline(plumber, "Did we lose money in 2022?");
    assert!(
        answer(&a).starts_with("Yes. The company made a loss in FY2022: net margin is -0.05%."),
        "{}",
        answer(&a)
    );
    assert!(seen[1] > 20, "{seen:?}");
}

#[test]
fn a_level_every_year_is_held_to_every_planned_value() {
    let s = crate::testing::bistro();
    // The bistro: current ratio 1.25, 2.16, 1.81; net margin 7.44 %, 4.79 %, 7.48 % (FY2021 to FY2023).
    let cases = [
        (
            "Has the current ratio stayed above 1 every year?",
            true,
            "Current ratio: 1.25 in FY2021, 2.16 in FY2022, 1.81 in FY2023; above 1 in every year.",
        ),
        (
            "Has the current ratio been above 1.5 each year?",
            false,
            "not above 1.5 in FY2021.",
        ),
        (
            "La marge nette a-t-elle toujours été supérieure à 5 % ?",
            false,
            "La marge nette : 7,44 % en FY2021, 4,79 % en FY2022, 7,48 % en FY2023 ; pas au-dessus de 5 % en FY2022.",
        ),
        (
            "Have we always been profitable?",
            true,
            "above zero in every year.",
        ),
        (
            "Was net margin at least 4.79% every year?",
            true,
            "at or above 4.79% in every year.",
        ),
    ];
    for (q, yes, said) in cases {
        assert!(
            intent::level(q)
                .or(intent::profit_sign(q))
                .is_some_and(|l| l.every),
            "{q}"
        );
        let a = offline(s.clone(), q);
        let text = answer(&a);
        assert_eq!(yes_no(text), Some(yes), "{q}: {text}");
        assert!(text.contains(said), "{q}: {text}");
        assert!(a.validation.grounded, "{q}: {:?}", a.validation);
    }
    // The latest year alone when the question does not say every year.
    let a = offline(s, "Is the current ratio above 1.5?");
    assert_eq!(yes_no(answer(&a)), Some(true), "{}", answer(&a));
}

#[test]
fn a_threshold_in_another_unit_than_the_figure_gets_no_yes_or_no() {
    let s = crate::testing::bistro();
    for q in [
        "Did revenue grow more than $3M?",
        "Is our gross margin above 45 days?",
        "Is the current ratio above $100k?",
    ] {
        let text = answer(&offline(s.clone(), q)).to_string();
        assert_eq!(yes_no(&text), None, "{q}: {text}");
    }
    // In its own unit it does.
    let text = answer(&offline(s, "Is working capital above $300k?")).to_string();
    assert!(
        text.starts_with("Yes. Working capital is 409,070 CAD in FY2023, above 300,000 CAD."),
        "{text}"
    );
}

#[test]
fn an_amount_or_a_sign_of_a_statement_line_is_answered_from_the_line() {
    let s = crate::testing::bistro();
    // The bistro's FY2023: revenue 3,331,832.60, net income 249,355.57, cash 257,550.66, operating cash flow
    // 360,638.78 (CAD).
    let cases = [
        (
            "Is revenue above $3M?",
            true,
            "Revenue is 3,331,833 CAD in FY2023, above 3,000,000 CAD.",
        ),
        (
            "Did we make more than $300k of net income?",
            false,
            "Net income is 249,356 CAD in FY2023, below 300,000 CAD.",
        ),
        (
            "Is net income positive?",
            true,
            "Net income is positive in FY2023: 249,356 CAD.",
        ),
        (
            "Do we have more than $250k in cash?",
            true,
            "Cash is 257,551 CAD in FY2023, above 250,000 CAD.",
        ),
        (
            "Is operating cash flow above $400k?",
            false,
            "Operating cash flow is 360,639 CAD in FY2023, below 400,000 CAD.",
        ),
        (
            "Le chiffre d'affaires dépasse-t-il 3 millions $ ?",
            true,
            "Le chiffre d'affaires est de 3 331 833 CAD en FY2023, au-dessus de 3 000 000 CAD.",
        ),
        (
            "La trésorerie est-elle positive ?",
            true,
            "La trésorerie est positive en FY2023 : 257 551 CAD.",
        ),
    ];
    for (q, yes, said) in cases {
        let a = offline(s.clone(), q);
        let text = answer(&a);
        assert_eq!(yes_no(text), Some(yes), "{q}: {text}");
        assert!(text.contains(said), "{q}: {text}");
        assert!(a.validation.grounded, "{q}: {:?}", a.validation);
    }
    // A movement is the growth's, not the line's; a metric of the level's unit is the metric's.
    for q in [
        "Did revenue grow more than $3M?",
        "Did sales rise above $3M?",
    ] {
        let text = answer(&offline(s.clone(), q)).to_string();
        assert_eq!(yes_no(&text), None, "{q}: {text}");
    }
    let text = answer(&offline(s, "Is free cash flow above $300k?")).to_string();
    assert!(
        text.starts_with("No. Free cash flow is 288,671 CAD in FY2023, below 300,000 CAD."),
        "{text}"
    );
}

#[test]
fn a_statement_line_held_to_a_level_every_year_is_held_in_every_planned_period() {
    use crate::statements::Line;
    let mut answered = [0; 2];
    for (name, s) in companies() {
        for (q, line, threshold) in [
            (
                "Has our equity stayed positive every year?",
                Line::TotalEquity,
                None,
            ),
            (
                "Has revenue stayed above $1M every year?",
                Line::Revenue,
                Some(1_000_000),
            ),
            (
                "Le chiffre d'affaires a-t-il toujours dépassé 2 millions $ ?",
                Line::Revenue,
                Some(2_000_000),
            ),
        ] {
            let a = offline(s.clone(), q);
            let text = answer(&a);
            let amounts: Vec<(String, Decimal)> = a
                .plan
                .periods
                .iter()
                .filter_map(|p| Some((p.clone(), s.period(p)?.amount(line)?)))
                .collect();
            if amounts.is_empty() {
                continue;
            }
            let level = Decimal::from(threshold.unwrap_or(0));
            let missed: Vec<&str> = amounts
                .iter()
                .filter(|(_, v)| v.round_dp(0) <= level)
                .map(|(p, _)| p.as_str())
                .collect();
            assert_eq!(yes_no(text), Some(missed.is_empty()), "{name}: {q}: {text}");
            // Every planned year is listed, and those that miss the level are named.
            for (p, _) in &amounts {
                assert!(text.contains(p.as_str()), "{name}: {q}: {p} in {text}");
            }
            if let Some(first) = missed.first() {
                assert!(
                    text.contains(&format!("in {first}")) || text.contains(&format!("en {first}")),
                    "{name}: {q}: {text}"
                );
            }
            answered[usize::from(missed.is_empty())] += 1;
            assert!(a.validation.grounded, "{name}: {q}: {:?}", a.validation);
        }
    }
    assert!(answered[0] > 0 && answered[1] > 0, "{answered:?}");
    // The latest year alone would say yes: the bistro's revenue is above $3.2M in FY2023, not in FY2022.
    let text = answer(&offline(
        crate::testing::bistro(),
        "Has revenue stayed above $3.2M every year?",
    ))
    .to_string();
    assert!(
        text.starts_with("No. Revenue: 3,320,195 CAD in FY2021, 3,151,861 CAD in FY2022, 3,331,833 CAD in FY2023; not above 3,200,000 CAD in FY2022."),
        "{text}"
    );
}

#[test]
fn whether_a_line_debt_ebitda_or_a_cost_moved_is_answered_from_its_amounts() {
    use crate::analysis::intent::Subject;
    use crate::statements::Line;
    let line = Subject::Line;
    let (debt, ebitda) = (Subject::DEBT, Subject::EBITDA);
    let mut seen = [0; 2];
    for (name, s) in companies() {
        for (q, subject, up, said) in [
            ("Did our cash go up?", line(Line::Cash), true, "Cash"),
            (
                "Has equity increased?",
                line(Line::TotalEquity),
                true,
                "Equity",
            ),
            (
                "Did operating cash flow improve?",
                line(Line::OperatingCashFlow),
                true,
                "Operating cash flow",
            ),
            (
                "Notre trésorerie a-t-elle baissé ?",
                line(Line::Cash),
                false,
                "La trésorerie",
            ),
            (
                "Nos capitaux propres ont-ils augmenté ?",
                line(Line::TotalEquity),
                true,
                "Les capitaux propres",
            ),
            ("Did we reduce our debt?", debt, false, "Debt"),
            (
                "Avons-nous réduit notre dette par rapport à l'an dernier ?",
                debt,
                false,
                "La dette",
            ),
            ("Has our debt increased?", debt, true, "Debt"),
            ("Did EBITDA grow?", ebitda, true, "EBITDA"),
            ("Le BAIIA a-t-il baissé ?", ebitda, false, "Le BAIIA"),
            // Less debt is better: "worse" is more of it.
            ("Is our debt situation getting worse?", debt, true, "Debt"),
            // A cost moves against the ratio its words name: more interest is less interest coverage.
            (
                "Did interest expense go up?",
                line(Line::InterestExpense),
                true,
                "Interest expense",
            ),
            (
                "Les frais financiers ont-ils baissé ?",
                line(Line::InterestExpense),
                false,
                "Les frais financiers",
            ),
            (
                "Are our operating expenses getting worse?",
                line(Line::OperatingExpenses),
                true,
                "Operating expenses",
            ),
            (
                "Did gross profit grow?",
                Subject::Derived(crate::metrics::DerivedLine::GrossProfit),
                true,
                "Gross profit",
            ),
            (
                "Did long-term debt go down?",
                line(Line::LongTermDebt),
                false,
                "Long-term debt",
            ),
        ] {
            let a = offline(s.clone(), q);
            let text = answer(&a);
            let (first, last) = (
                a.plan.periods.first().unwrap(),
                a.plan.periods.last().unwrap(),
            );
            let amount = |p: &str| subject.amount(&s, s.period_index(p)?);
            let (Some(from), Some(to)) = (amount(first), amount(last)) else {
                continue;
            };
            if first == last {
                continue;
            }
            let rose = to > from;
            let yes = if up { rose } else { to < from };
            assert_eq!(yes_no(text), Some(yes), "{name}: {q}: {text}");
            // The line itself is the subject, with its two amounts' periods.
            let body = text.split_once(". ").map_or(text, |(_, rest)| rest);
            assert!(body.starts_with(said), "{name}: {q}: {text}");
            assert!(
                text.contains(first.as_str()) && text.contains(last.as_str()),
                "{name}: {q}: {text}"
            );
            let way = if to == from {
                ["unchanged", "reste"]
            } else if rose {
                ["rose from", "en hausse"]
            } else {
                ["fell from", "en baisse"]
            };
            assert!(way.iter().any(|w| body.contains(w)), "{name}: {q}: {text}");
            assert!(a.validation.grounded, "{name}: {q}: {:?}", a.validation);
            seen[usize::from(yes)] += 1;
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
    // A metric named over the line stays the metric's subject.
    let s = crate::testing::bistro();
    for (q, subject) in [
        ("Did free cash flow rise?", "Free cash flow"),
        ("Did the cash ratio rise?", "Cash ratio"),
        ("Did our debt to equity rise?", "Debt to equity"),
        ("Did our return on equity improve?", "Return on equity"),
        ("Did net debt to EBITDA fall?", "Net debt to EBITDA"),
        ("Did our EBITDA margin improve?", "EBITDA margin"),
    ] {
        let text = answer(&offline(s.clone(), q)).to_string();
        let body = text
            .split_once(". ")
            .map_or(text.as_str(), |(_, rest)| rest);
        assert!(body.starts_with(subject), "{q}: {text}");
    }
}
