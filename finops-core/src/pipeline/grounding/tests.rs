use super::*;
use crate::metrics::compute_all;
use crate::testing::{parse, simple};

fn ctx() -> (Statements, GroundingContext) {
    let s = parse(&simple());
    let figures = compute_all(&s);
    let c = GroundingContext::new(&s, &figures, &[]);
    (s, c)
}

fn ungrounded(text: &str, lang: Language) -> Vec<String> {
    let (_, c) = ctx();
    c.check(text, lang).into_iter().map(|u| u.text).collect()
}

#[test]
fn english_formats_are_traced_to_figures_and_inputs() {
    // P2: gross margin 40 %, current ratio 2.5, revenue 1000, net income 100, DSO (125/1000*365) 45.625 days.
    let text = "Gross margin was 40.0% and 40% in P2; current ratio 2.50 (2.5x). Revenue of $1,000 and net \
                income of 100. DSO 45.6 days, or 46 days.";
    assert_eq!(ungrounded(text, Language::En), Vec::<String>::new());
}

#[test]
fn french_formats_are_traced() {
    let text = "Marge brute de 40,0 % en P2 ; revenus de 1 000 $ (1\u{a0}000 CAD, 1\u{202f}000,00 $). \
                Délai de recouvrement : 45,6 jours. Ratio de liquidité : 2,50.";
    assert_eq!(ungrounded(text, Language::Fr), Vec::<String>::new());
}

#[test]
fn invented_numbers_are_caught_with_their_text() {
    let (_, c) = ctx();
    let found = c.check(
        "Gross margin rose to 47.5% and revenue reached 1,250.",
        Language::En,
    );
    let texts: Vec<&str> = found.iter().map(|u| u.text.as_str()).collect();
    assert_eq!(texts, vec!["47.5%", "1,250"]);
    assert_eq!(found[0].offset, 21);
    let fr = ungrounded(
        "La marge brute atteint 41,2 % et les revenus 1 250 $.",
        Language::Fr,
    );
    assert_eq!(fr, vec!["41,2 %", "1 250"]);
}

#[test]
fn display_rounding_is_the_tolerance() {
    // 45.625 days: 45.6 and 46 are fine, 45.7 and 45.62 are not (45.625 rounds to 45.63).
    assert!(ungrounded("45.6 days", Language::En).is_empty());
    assert!(ungrounded("45.63 days", Language::En).is_empty());
    assert_eq!(ungrounded("45.7 days", Language::En), vec!["45.7"]);
    assert_eq!(ungrounded("45.61 days", Language::En), vec!["45.61"]);
}

#[test]
fn scale_words_signs_and_points() {
    let (s, _) = ctx();
    // A delta computation of -0.0115 (1.15 points) and a large input to read in millions.
    let comp = ComputationRecord {
        id: "c1".into(),
        expression: "x".into(),
        period: "P2".into(),
        value: Some("-0.0115".parse().unwrap()),
        inputs: vec![],
        error: None,
    };
    let big = ComputationRecord {
        value: Some("3251234".parse().unwrap()),
        id: "c2".into(),
        ..comp.clone()
    };
    let c = GroundingContext::new(&s, &[], &[comp, big]);
    let bad: Vec<String> = c
        .check(
            "down 1.15 pts (-1.15 %), revenue 3.3 million, 3,25 M$, 3 251 k$",
            Language::En,
        )
        .into_iter()
        .map(|u| u.text)
        .collect();
    // 3,25 M$ read in English is 3.25 million (fine); "3 251 k$" reads as 3 then 251 k in English: both invented.
    assert_eq!(bad, vec!["3", "251 k$"]);
    assert!(c.check("3,3 M$ et 3 251 k$", Language::Fr).is_empty());
}

#[test]
fn labels_dates_code_list_markers_and_years_are_not_figures() {
    let text = "1. In P2 (2023-01-01 to 2023-12-31, i.e. December 31, 2023), see `periods[0].cash_flow`.\n\
                2) Over 2 years, Simple Ltée grew.\n   10. nested";
    assert_eq!(ungrounded(text, Language::En), Vec::<String>::new());
    // But a stray count is not: the document has two periods, not twelve.
    assert_eq!(ungrounded("over 12 years", Language::En), vec!["12"]);
    assert_eq!(ungrounded("in 1987", Language::En), vec!["1987"]);
}

#[test]
fn identifiers_with_digits_are_skipped_and_ambiguous_french_commas_read_both_ways() {
    assert!(ungrounded("see c12 and FY2023 and gross_margin@P2", Language::En).is_empty());
    // "1,000" in French text: 1.000 or an English-style 1000; revenue is 1000.
    assert!(ungrounded("revenus de 1,000", Language::Fr).is_empty());
}

#[test]
fn numbers_at_the_edge_of_the_decimal_type_are_ungrounded_not_a_panic() {
    let (_, c) = ctx();
    for text in [
        // 28 and more decimal places (a scale the decimal type cannot hold past 28).
        "ratio 0.1234567890123456789012345678 ok",
        "ratio 0.12345678901234567890123456789012345 ok",
        "marge 1,1234567890123456789012345678901 %",
        // Near and past the largest decimal (about 7.9e28), bare and with scale words.
        "79228162514264337593543950335 dollars",
        "79228162514264337593543950336 dollars",
        "-79228162514264337593543950335 dollars",
        "79228162514264337593543950335 billion",
        "7922816251426433759354395033.5 M$",
        "999999999999999999999999999999999999999999 $",
    ] {
        for lang in [Language::En, Language::Fr] {
            let found = c.check(text, lang);
            assert!(!found.is_empty(), "{text} ({lang:?}) should be ungrounded");
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::testing::fuzz_cases()))]
    #[test]
    fn any_text_and_any_number_are_checked_without_panicking(
        text in "\\PC{0,200}",
        digits in "[0-9]{1,40}",
        frac in "[0-9]{0,40}",
        suffix in "( %| M\\$| billion| pts|k|)",
        sep in "[., \u{a0}']",
    ) {
        let (_, c) = ctx();
        let number = format!("{text} -{digits}{sep}{frac}{suffix} {digits}");
        for lang in [Language::En, Language::Fr] {
            for u in c.check(&number, lang) {
                proptest::prop_assert!(number.is_char_boundary(u.offset));
            }
        }
    }
}

#[test]
fn a_ratio_or_an_amount_written_as_a_percentage_is_not_grounded() {
    // A current ratio of 2.5 is not "2.5 %"; seen on a real small model ("0.73%" for a ratio of 0.73). Written
    // as a percentage of itself (250 %) it still reads as the value times 100.
    assert_eq!(
        ungrounded("Current ratio 2.5%, DSO 45.6%.", Language::En),
        vec!["2.5%", "45.6%"]
    );
    assert_eq!(
        ungrounded("Ratio de liquidité : 2,50 %.", Language::Fr),
        vec!["2,50 %"]
    );
    assert!(ungrounded("Current ratio 2.5, or 250%.", Language::En).is_empty());
    // A computation has no unit: its value may be a percentage as it is (`(revenue / revenue[prev] - 1) * 100`).
    let s = parse(&simple());
    let figures = compute_all(&s);
    let growth = crate::analysis::ComputationRecord {
        id: "c1".into(),
        expression: "x".into(),
        period: "P2".into(),
        value: Some(Decimal::new(125, 1)),
        inputs: Vec::new(),
        error: None,
    };
    let c = GroundingContext::new(&s, &figures, std::slice::from_ref(&growth));
    assert!(c.check("Revenue grew 12.5%.", Language::En).is_empty());
    // A change the SDK wrote may be read in points.
    let c = GroundingContext::new(&s, &figures, &[]);
    assert!(
        c.check_with_changes("up 3.5 pts", Language::En, &[Decimal::new(35, 3)])
            .is_empty()
    );
}

#[test]
fn numbers_in_other_digits_are_ungrounded() {
    let (_, g) = ctx();
    for (text, found) in [
        ("Debt rose by ¼ of the ratio.", "¼"),
        ("Coverage fell by ½.", "½"),
        ("Margin: １２ points.", "１２"),
        ("Ratio ٣ times.", "٣"),
    ] {
        let u = g.check(text, Language::En);
        assert_eq!(u.len(), 1, "{text}: {u:?}");
        assert_eq!(u[0].text, found);
    }
    // Inside a word or unit they are not numbers of the report's.
    assert!(
        g.check("Floor area in m² and the H₂O line.", Language::En)
            .is_empty()
    );
}
