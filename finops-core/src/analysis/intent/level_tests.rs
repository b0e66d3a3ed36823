//! Reading the level a question holds a figure to, in both languages and the ways numbers are written.

use rust_decimal::Decimal;

use super::{Level, level};
use crate::analysis::Language;
use crate::analysis::intent::{Asked, asked};
use crate::metrics::Unit;

const PCT: Option<Unit> = Some(Unit::Percent);
const AMOUNT: Option<Unit> = Some(Unit::Amount);
const DAYS: Option<Unit> = Some(Unit::Days);
const TIMES: Option<Unit> = Some(Unit::Ratio);

fn at(above: bool, inclusive: bool, threshold: &str, unit: Option<Unit>) -> Option<Level> {
    Some(Level {
        above,
        inclusive,
        threshold: threshold.parse().unwrap(),
        unit,
        metric: None,
        every: false,
    })
}

#[test]
fn thresholds_are_read_as_written_in_both_languages() {
    let cases = [
        (
            "Is the current ratio above 1.5?",
            at(true, false, "1.5", None),
        ),
        ("Is our gross margin above 60%?", at(true, false, "60", PCT)),
        (
            "La marge brute dépasse-t-elle 60 % ?",
            at(true, false, "60", PCT),
        ),
        (
            "Le ratio de liquidité générale est-il supérieur à 1,5 ?",
            at(true, false, "1.5", None),
        ),
        (
            "Is net debt to EBITDA under 3x?",
            at(false, false, "3", TIMES),
        ),
        (
            "Do customers pay in less than 45 days?",
            at(false, false, "45", DAYS),
        ),
        (
            "Is working capital more than $100k?",
            at(true, false, "100000", AMOUNT),
        ),
        (
            "Le fonds de roulement dépasse-t-il 100 000 $ ?",
            at(true, false, "100000", AMOUNT),
        ),
        // A no-break space groups as well as a plain one.
        (
            "Le fonds de roulement dépasse-t-il 100\u{a0}000 $ ?",
            at(true, false, "100000", AMOUNT),
        ),
        // A bare number of ten thousand or more is an amount: no margin or ratio is held to it.
        (
            "Is working capital at least 1,500,000?",
            at(true, true, "1500000", AMOUNT),
        ),
        ("Is EBITDA above 400000?", at(true, false, "400000", AMOUNT)),
        (
            "Is the current ratio above 9999?",
            at(true, false, "9999", None),
        ),
        (
            "Is revenue over 1.2 million?",
            at(true, false, "1200000", AMOUNT),
        ),
        (
            "La marge nette est-elle d'au moins 5 pour cent ?",
            at(true, true, "5", PCT),
        ),
        (
            "Is the current ratio no more than 2?",
            at(false, true, "2", None),
        ),
        (
            "Le délai client est-il inférieur ou égal à 30 jours ?",
            at(false, true, "30", DAYS),
        ),
        ("Is free cash flow positive?", at(true, false, "0", None)),
        (
            "Did revenue fall by less than -4%?",
            at(false, false, "-4", PCT),
        ),
        (
            "La croissance est-elle supérieure à −2,5 % ?",
            at(true, false, "-2.5", PCT),
        ),
        (
            "Nos capitaux propres sont-ils négatifs ?",
            at(false, false, "0", None),
        ),
        (
            "Is the interest coverage ratio higher than 1.5x in FY2023?",
            at(true, false, "1.5", TIMES),
        ),
        // Groups then decimals, as either language writes them.
        (
            "Is working capital above 1,500.25?",
            at(true, false, "1500.25", None),
        ),
        (
            "Le fonds de roulement dépasse-t-il 1 500,25 € ?",
            at(true, false, "1500.25", AMOUNT),
        ),
        (
            "Is working capital above $1.5 million?",
            at(true, false, "1500000", AMOUNT),
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(level(q), expected, "{q}");
        assert_eq!(asked(q), expected.map(Asked::Level), "{q}");
    }
}

#[test]
fn years_spans_and_two_levels_are_no_threshold() {
    for q in [
        "Did margins improve over 2022?",
        "Is revenue higher than 2021?",
        "Has the margin been above 60% over 3 years or under 50%?",
        "Did sales grow over the last 3 years?",
        "Is the current ratio above 1.5 and below 3?",
        "Sur plus de 2 exercices, la marge a-t-elle baissé ?",
        "Is our margin above the sector average?",
        "Is the margin above average?",
        "Is the current ratio high?",
        "",
        "above",
        "above %",
        "99999999999999999999999999999999999999 %",
    ] {
        assert_eq!(level(q), None, "{q}");
    }
    // Other kinds of question keep no level: why, how much, peers.
    for q in [
        "Why is the margin below 60%?",
        "How far above 1.5 is the current ratio?",
        "Is our margin above 20% like our peers?",
    ] {
        assert_eq!(asked(q), None, "{q}");
    }
}

#[test]
fn a_level_is_held_as_the_report_displays_the_figure() {
    let margin = Level {
        above: true,
        inclusive: false,
        threshold: "68.97".parse().unwrap(),
        unit: PCT,
        metric: None,
        every: false,
    };
    // 68.9655 % is displayed 68.97 %: not above 68.97 %, but at least it.
    let v: Decimal = "0.689655".parse().unwrap();
    assert!(!margin.holds(v, Unit::Percent));
    assert!(
        Level {
            inclusive: true,
            ..margin
        }
        .holds(v, Unit::Percent)
    );
    // A margin's "60" without a sign is 60 %; a ratio's "50 %" is 0.5.
    let sixty = Level {
        unit: None,
        threshold: Decimal::from(60),
        ..margin
    };
    assert!(sixty.holds("0.61".parse().unwrap(), Unit::Percent));
    let half = Level {
        threshold: Decimal::from(50),
        ..margin
    };
    assert!(half.holds("0.51".parse().unwrap(), Unit::Ratio));
    assert!(!half.holds("0.5".parse().unwrap(), Unit::Ratio));
    // Written the way the report writes the figure beside it.
    assert_eq!(half.shown(Unit::Ratio, Language::En, "CAD"), "50%");
    assert_eq!(sixty.shown(Unit::Percent, Language::Fr, "CAD"), "60 %");
    let amount = Level {
        threshold: Decimal::from(100_000),
        unit: None,
        ..margin
    };
    assert_eq!(
        amount.shown(Unit::Amount, Language::Fr, "CAD"),
        "100 000 CAD"
    );
    assert_eq!(
        amount.shown(Unit::Amount, Language::En, "CAD"),
        "100,000 CAD"
    );
    let ratio = Level {
        threshold: "1.5".parse().unwrap(),
        unit: None,
        ..margin
    };
    assert_eq!(ratio.shown(Unit::Ratio, Language::Fr, "CAD"), "1,5");
    assert_eq!(
        Level {
            threshold: Decimal::ZERO,
            ..ratio
        }
        .shown(Unit::Amount, Language::En, "CAD"),
        "zero"
    );
}

proptest::proptest! {
    /// Any text: a level or none, never a panic; a negative threshold only after a minus sign.
    #[test]
    fn any_text_reads_as_one_level_or_none(q in "\\PC{0,80}") {
        if let Some(l) = level(&q) {
            let minus = q.contains('-') || q.contains('\u{2212}');
            proptest::prop_assert!(l.threshold >= Decimal::ZERO || minus, "{:?}", l);
            let _ = l.holds(Decimal::MAX, Unit::Percent);
            let _ = l.holds(Decimal::MIN, Unit::Amount);
            let _ = l.shown(Unit::Days, Language::Fr, "EUR");
        }
    }

    /// Numbers in every shape after a comparison: parsed or refused, never a panic.
    #[test]
    fn any_number_after_a_comparison_terminates(n in "[0-9 ,.\u{a0}]{1,40}", unit in "(%|k|m| million| pour cent| days|)") {
        let q = format!("Is the margin above {n}{unit}?");
        let _ = level(&q);
        let q = format!("La marge est-elle supérieure à {n}{unit} ?");
        let _ = level(&q);
    }
}

#[test]
fn a_profit_or_a_loss_is_a_sign_of_net_margin_unless_compared() {
    use crate::metrics::MetricId;
    let sign = |above: bool| {
        Some(Level {
            above,
            inclusive: false,
            threshold: Decimal::ZERO,
            unit: None,
            metric: Some(MetricId::NetMargin),
            every: false,
        })
    };
    for (q, expected) in [
        ("Are we profitable?", sign(true)),
        ("Is the restaurant making money?", sign(true)),
        ("Did we make a profit in 2023?", sign(true)),
        ("L'entreprise est-elle rentable ?", sign(true)),
        ("Did we lose money in 2022?", sign(false)),
        ("Sommes-nous en perte ?", sign(false)),
        ("Avons-nous perdu de l'argent l'an dernier ?", sign(false)),
        ("Are we in the red?", sign(false)),
    ] {
        assert_eq!(super::profit_sign(q), expected, "{q}");
        assert_eq!(asked(q), expected.map(Asked::Level), "{q}");
    }
    // A comparison or a movement is not a sign; nor is a question that asks both.
    for q in [
        "Are we more profitable than last year?",
        "Sommes-nous plus rentables ?",
        "Is the loss growing?",
        "Are we profitable or losing money?",
    ] {
        assert_eq!(
            super::profit_sign(q).and(asked(q).filter(|a| matches!(a, Asked::Level(_)))),
            None,
            "{q}"
        );
    }
    assert_eq!(
        asked("Are we more profitable than last year?"),
        Some(Asked::Better)
    );
    // A determiner may stand before the threshold.
    assert_eq!(
        level("Is our gross margin above the 65% target?"),
        at(true, false, "65", PCT)
    );
}

#[test]
fn a_threshold_fits_only_figures_of_the_unit_it_was_written_in() {
    let of = |q: &str| level(q).unwrap();
    // A bare number fits any figure; a percentage a percentage or a ratio; an amount, days or times their own.
    assert!(of("Is it above 2?").fits(Unit::Days));
    assert!(of("Is it above 50%?").fits(Unit::Ratio));
    assert!(!of("Is it above 50%?").fits(Unit::Amount));
    assert!(!of("Is it above $3M?").fits(Unit::Percent));
    assert!(of("Is it above $3M?").fits(Unit::Amount));
    assert!(!of("Is it under 45 days?").fits(Unit::Ratio));
    assert!(of("Is it under 3x?").fits(Unit::Ratio));
}
