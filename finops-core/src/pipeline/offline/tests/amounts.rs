//! Questions that ask for a line's amount ("how much cash do we have?", « quel est notre chiffre d'affaires ? »,
//! "how much do customers owe us?"): answered first with the amount in the latest planned period, then in the
//! earlier ones, on every company, in both languages, grounded; and questions that only look like them (a ratio,
//! a growth, a reason, what is needed) are not.

use super::{answer, companies};
use crate::analysis::Language;
use crate::analysis::intent::{self, Subject};
use crate::cache::guard::Signature;
use crate::metrics::{DerivedLine, Unit};
use crate::statements::Line;
use crate::testing::offline;

/// Questions, the subject they ask the amount of, and how the answer names it.
fn cases() -> Vec<(&'static str, Subject, &'static str)> {
    let line = Subject::Line;
    vec![
        ("How much cash do we have?", line(Line::Cash), "Cash was"),
        ("What's our cash balance?", line(Line::Cash), "Cash was"),
        (
            "How much money do we have in the bank?",
            line(Line::Cash),
            "Cash was",
        ),
        (
            "Combien devons-nous à nos fournisseurs ?",
            line(Line::AccountsPayable),
            "Les dettes fournisseurs s'élèvent à",
        ),
        (
            "What do we owe?",
            line(Line::TotalLiabilities),
            "Total liabilities were",
        ),
        (
            "Combien devons-nous à la banque ?",
            Subject::DEBT,
            "La dette s'élève à",
        ),
        (
            "Combien de trésorerie avons-nous ?",
            line(Line::Cash),
            "La trésorerie s'élève à",
        ),
        ("What was our revenue?", line(Line::Revenue), "Revenue was"),
        (
            "Quel est notre chiffre d'affaires ?",
            line(Line::Revenue),
            "Le chiffre d'affaires s'élève à",
        ),
        (
            "How much do customers owe us?",
            line(Line::AccountsReceivable),
            "Accounts receivable was",
        ),
        (
            "How much did we spend on interest?",
            line(Line::InterestExpense),
            "Interest expense was",
        ),
        (
            "Combien avons-nous payé d'intérêts ?",
            line(Line::InterestExpense),
            "Les frais financiers s'élèvent à",
        ),
        (
            "What are our total assets?",
            line(Line::TotalAssets),
            "Total assets were",
        ),
        (
            "What are our total liabilities?",
            line(Line::TotalLiabilities),
            "Total liabilities were",
        ),
        ("How much debt do we have?", Subject::DEBT, "Debt was"),
        ("How much do we owe the bank?", Subject::DEBT, "Debt was"),
        (
            "What is our long-term debt?",
            line(Line::LongTermDebt),
            "Long-term debt was",
        ),
        ("What is our EBITDA?", Subject::EBITDA, "EBITDA was"),
        (
            "What is our gross profit?",
            Subject::Derived(DerivedLine::GrossProfit),
            "Gross profit was",
        ),
        (
            "Quel est notre résultat d'exploitation ?",
            Subject::Derived(DerivedLine::OperatingIncome),
            "Le résultat d'exploitation s'élève à",
        ),
        (
            "Quel est le montant de nos stocks ?",
            line(Line::Inventory),
            "Les stocks s'élèvent à",
        ),
        (
            "What are our operating expenses?",
            line(Line::OperatingExpenses),
            "Operating expenses were",
        ),
        (
            "How much did we invest in equipment?",
            line(Line::CapitalExpenditures),
            "Capital expenditures were",
        ),
        (
            "À combien s'élèvent nos capitaux propres ?",
            line(Line::TotalEquity),
            "Les capitaux propres s'élèvent à",
        ),
        (
            "How much tax did we pay?",
            line(Line::IncomeTaxExpense),
            "Income tax expense was",
        ),
        (
            "How much do we owe suppliers?",
            line(Line::AccountsPayable),
            "Accounts payable was",
        ),
    ]
}

#[test]
fn a_lines_amount_is_answered_first_latest_year_first_on_every_company() {
    for (name, s) in companies() {
        let currency = s.company().currency.to_string();
        for (q, subject, said) in cases() {
            assert_eq!(intent::subject(q), Some(subject), "{q}");
            let a = offline(s.clone(), q);
            let text = answer(&a);
            let lang = a.language;
            // Each planned period's amount, latest first, as the report writes it.
            let shown: Vec<(String, String)> = a
                .plan
                .periods
                .iter()
                .rev()
                .filter_map(|p| {
                    let v = subject.amount(&s, s.period_index(p)?)?;
                    Some((p.clone(), lang.value(v, Unit::Amount, &currency)))
                })
                .collect();
            let Some(((last, latest), earlier)) = shown.split_first() else {
                continue;
            };
            let at = match lang {
                Language::En => format!("{said} {latest} in {last}"),
                Language::Fr => format!("{said} {latest} en {last}"),
            };
            assert!(text.starts_with(&at), "{name}: {q}: {text}");
            let first = text.split(". ").next().unwrap();
            for (p, v) in earlier {
                assert!(first.contains(&format!("{v} ")), "{name}: {q}: {p}: {text}");
            }
            assert!(a.validation.grounded, "{name}: {q}: {:?}", a.validation);
        }
    }
}

#[test]
fn a_year_named_narrows_the_amounts_to_it() {
    let s = crate::testing::bistro();
    let text = answer(&offline(s.clone(), "What was our revenue in FY2022?")).to_string();
    assert!(
        text.starts_with("Revenue was 3,151,861 CAD in FY2022, after 3,320,195 CAD in FY2021."),
        "{text}"
    );
    assert!(!text.contains("3,331,833"), "{text}");
}

#[test]
fn questions_that_only_look_like_amounts_are_not_read_as_one() {
    for q in [
        "What is our debt to equity?",
        "What's our revenue growth?",
        "What is our current ratio?",
        "How much cash do we need?",
        "What is our net debt?",
        "What is our sales tax?",
        "What is our working capital?",
        "Why did revenue fall?",
        "What share of revenue is cost of sales?",
        "How many days do customers take to pay?",
        "Combien de jours pour encaisser nos clients ?",
        "What is our gross margin?",
        "What should we do about cash?",
        "What is our return on assets?",
        "Quel est notre ratio d'endettement ?",
        "What is the weather tomorrow?",
    ] {
        assert_eq!(intent::subject(q), None, "{q}");
        let text = answer(&offline(crate::testing::bistro(), q)).to_string();
        for lead in [" was ", " were ", " s'élève"] {
            assert!(
                !text.split(". ").next().unwrap().contains(lead),
                "{q}: {text}"
            );
        }
    }
    // Collecting from customers is their days to pay.
    assert_eq!(
        intent::named_metrics("Combien de jours pour encaisser nos clients ?"),
        [crate::metrics::MetricId::DaysSalesOutstanding]
    );
}

#[test]
fn two_amount_questions_share_an_answer_only_about_the_same_line() {
    let pairs = [
        (
            "What are our total assets?",
            "What are our total liabilities?",
        ),
        ("How much cash do we have?", "How much do customers owe us?"),
        (
            "How much did we spend on interest?",
            "What is our interest coverage?",
        ),
        ("What is our EBITDA?", "What is our EBITDA margin?"),
    ];
    for (one, other) in pairs {
        assert!(
            !Signature::of(one).allows(&Signature::of(other)),
            "{one} / {other}"
        );
    }
    assert!(
        Signature::of("What are our total assets?")
            .allows(&Signature::of("what are our total assets")),
    );
}

/// The workload's 240 paraphrases (`benches/data/questions.json`) ask about metrics, ratios and growths, in both
/// languages: none is read as asking for a line's amount or movement.
#[test]
fn the_workloads_metric_questions_name_no_line() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/data/questions.json"
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut read = 0;
    for spec in data["intents"].as_array().unwrap() {
        for lang in ["en", "fr"] {
            for q in spec[lang].as_array().unwrap() {
                let q = q.as_str().unwrap();
                assert_eq!(intent::subject(q), None, "{}: {q}", spec["id"]);
                read += 1;
            }
        }
    }
    assert!(read >= 200, "{read}");
}
