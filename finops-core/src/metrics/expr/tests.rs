//! The expression grammar, its evaluation against hand-computed values, and its rejections.

use rust_decimal::Decimal;

use super::*;
use crate::testing::{parse, simple};

fn eval(e: &str, period: &str) -> crate::Result<Computation> {
    evaluate(&parse(&simple()), e, period)
}

fn val(e: &str) -> Decimal {
    eval(e, "P2")
        .unwrap_or_else(|err| panic!("{e}: {err}"))
        .value
}

fn rejected(e: &str) -> (usize, String) {
    rejected_in(e, "P2")
}

fn rejected_in(e: &str, period: &str) -> (usize, String) {
    match eval(e, period) {
        Err(Error::InvalidExpression {
            position,
            reason,
            expression,
        }) => {
            assert_eq!(expression, e);
            (position, reason)
        }
        other => panic!("{e}: expected InvalidExpression, got {other:?}"),
    }
}

#[test]
fn grammar_and_exact_values() {
    assert_eq!(val("operating_expenses / revenue"), "0.2".parse().unwrap());
    assert_eq!(
        val("(cash + accounts_receivable) - accounts_payable"),
        Decimal::from(150)
    );
    assert_eq!(val("1 + 2 * 3"), Decimal::from(7));
    assert_eq!(val("(1 + 2) * 3"), Decimal::from(9));
    assert_eq!(val("10 - 4 - 3"), Decimal::from(3), "left associative");
    assert_eq!(val("-revenue + --1000"), Decimal::ZERO);
    assert_eq!(
        val("0.1 + 0.2"),
        "0.3".parse().unwrap(),
        "exact, not binary floating point"
    );
    assert_eq!(val("revenue[P1]"), Decimal::from(800));
    assert_eq!(val("revenue / revenue[prev] - 1"), "0.25".parse().unwrap());
    assert_eq!(val("avg(total_assets)"), Decimal::from(900));
    assert_eq!(
        val("gross_profit + ebitda + operating_income + income_before_tax"),
        Decimal::from(400 + 200 + 150 + 130)
    );
    assert_eq!(
        val("total_debt - working_capital + free_cash_flow"),
        Decimal::from(350 - 300 + 90)
    );
    assert_eq!(val("current_ratio * 2"), Decimal::from(5));
    assert_eq!(val("days"), Decimal::from(365));
    assert_eq!(val("current_ratio[P1]"), Decimal::from(3));
}

#[test]
fn inputs_are_recorded() {
    let c = eval("revenue / revenue[prev] - 1", "P2").unwrap();
    let mut got: Vec<_> = c
        .inputs
        .iter()
        .map(|i| format!("{}@{}={}", i.line, i.period, i.value))
        .collect();
    got.sort();
    assert_eq!(got, ["revenue@P1=800", "revenue@P2=1000"]);
    assert_eq!(c.period, "P2");
}

#[test]
fn rejections_name_the_position_and_reason() {
    assert!(
        rejected("revenue +")
            .1
            .contains("ends where a value was expected")
    );
    assert_eq!(rejected("revenue $ 2").0, 8);
    assert!(rejected("revenue $ 2").1.contains("not allowed"));
    let (pos, reason) = rejected("revenu / 2");
    assert_eq!(pos, 0);
    assert!(reason.contains("unknown name `revenu`"));
    assert!(rejected("(revenue").1.contains("missing `)`"));
    assert!(
        rejected("revenue)")
            .1
            .contains("after a complete expression")
    );
    assert!(
        rejected("revenue 2")
            .1
            .contains("after a complete expression")
    );
    assert!(rejected("1..2").1.contains("not a number"));
    assert!(rejected("").1.contains("empty"));
    assert!(rejected("revenue / 0").1.contains("division by zero"));
    assert!(
        rejected("revenue / (cash - 100)")
            .1
            .contains("division by zero")
    );
    assert!(rejected("revenue[FY1999]").1.contains("no period labelled"));
    assert!(rejected("revenue[").1.contains("without a closing"));
    assert!(rejected("revenue[]").1.contains("empty period selector"));
    assert!(rejected("avg(ebitda)").1.contains("statement line"));
    assert!(rejected("avg total_assets").1.contains("avg(line)"));
    assert!(rejected("system(1)").1.contains("unknown name"));
    assert!(
        rejected("revenue ** 2")
            .1
            .contains("where a value was expected")
    );
    // Previous period of the first period does not exist.
    assert!(
        rejected_in("revenue[prev]", "P1")
            .1
            .contains("no previous consecutive period")
    );
    assert!(
        rejected_in("revenue_growth", "P1")
            .1
            .contains("not computable")
    );
    assert!(
        rejected_in("revenue", "P9")
            .1
            .contains("no period labelled `P9`")
    );
}

#[test]
fn bounds_and_overflow() {
    let long = format!("1{}", " + 1".repeat(200));
    assert!(rejected(&long).1.contains("the limit is 500"));
    let many = vec!["1"; 101].join("+");
    assert!(rejected(&many).1.contains("tokens"));
    let deep = format!("{}1{}", "(".repeat(30), ")".repeat(30));
    assert!(rejected(&deep).1.contains("nests deeper"));
    let negs = format!("{}1", "-".repeat(30));
    assert!(rejected(&negs).1.contains("nests deeper"));
    let huge = "total_assets * total_assets * total_assets * total_assets * 100000000000000000000";
    assert!(rejected(huge).1.contains("out of range"));
    assert!(
        rejected("99999999999999999999999999999999999")
            .1
            .contains("not a number")
    );
}
