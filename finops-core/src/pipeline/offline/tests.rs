//! The offline memo's direct answer: it answers about the metric a question names, across companies and in both
//! languages.

use crate::analysis::intent::Asked;
use crate::analysis::{Analysis, Language, intent};
use crate::cache::Signature;
use crate::metrics::MetricId::{self, *};
use crate::pipeline::labels::metric_subject;
use crate::statements::Statements;

use crate::testing::offline;

mod amounts;
mod levels;

/// The memo's direct answer, without its "In short." lead.
fn answer(a: &Analysis) -> &str {
    let paragraph = a
        .report
        .split("\n\n")
        .find(|p| p.starts_with("**In short.**") || p.starts_with("**En bref.**"))
        .unwrap_or_else(|| panic!("no direct answer:\n{}", a.report));
    paragraph.split_once("** ").map_or("", |(_, rest)| rest)
}

/// The answer's sentences, after its "Yes." or "No." if it has one.
fn sentences(text: &str) -> &str {
    ["Yes. ", "No. ", "Oui. ", "Non. "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text)
}

/// Every company shipped with the examples: the bistro and the portfolio.
fn companies() -> Vec<(String, Statements)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/portfolio");
    let mut out = vec![("bistro".to_string(), crate::testing::bistro())];
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        out.push((name, Statements::from_json_str(&text).unwrap()));
    }
    assert!(out.len() > 10, "{} companies", out.len());
    out
}

#[test]
fn questions_name_metrics_in_both_languages() {
    let cases: &[(&str, &[MetricId])] = &[
        ("What is our gross margin?", &[GrossMargin]),
        ("Quelle est notre marge brute ?", &[GrossMargin]),
        // A qualifier apart from its margin.
        ("Gross and net margins, please", &[GrossMargin, NetMargin]),
        ("Marges brute et nette ?", &[GrossMargin, NetMargin]),
        ("Net of tax, what margin do we keep?", &[NetMargin]),
        ("Our net debt and our margins", &[NetDebtToEbitda]),
        ("How fast do customers pay?", &[DaysSalesOutstanding]),
        (
            "How many days do customers take to pay us?",
            &[DaysSalesOutstanding],
        ),
        (
            "Est-ce que nos clients paient plus lentement ?",
            &[DaysSalesOutstanding],
        ),
        (
            "Nos clients mettent-ils plus de temps à payer ?",
            &[DaysSalesOutstanding],
        ),
        // The host's client is the company, not its customers.
        ("Can the client pay its debts?", &[]),
        (
            "Do we pay our suppliers later than customers pay us?",
            &[DaysSalesOutstanding, DaysPayablesOutstanding],
        ),
        ("How are our inventories turning?", &[InventoryTurnover]),
        (
            "Est-ce que nos stocks sont trop élevés ?",
            &[DaysInventoryOutstanding],
        ),
        ("Is our inventory too high?", &[DaysInventoryOutstanding]),
        (
            "Quelle est la rotation de nos stocks ?",
            &[InventoryTurnover],
        ),
        (
            "Délai de rotation des stocks en 2023 ?",
            &[DaysInventoryOutstanding],
        ),
        // « Besoin en fonds de roulement » is the operating cycle, not working capital.
        ("Quelle est l'évolution du BFR ?", &[CashConversionCycle]),
        (
            "Notre besoin en fonds de roulement augmente-t-il ?",
            &[CashConversionCycle],
        ),
        ("Le fonds de roulement suffit-il ?", &[WorkingCapital]),
        ("Our cash conversion cycle?", &[CashConversionCycle]),
        ("Net debt to EBITDA is what?", &[NetDebtToEbitda]),
        ("What was our EBITDA?", &[EbitdaMargin]),
        ("And EBIT?", &[OperatingMargin]),
        ("Is our interest coverage thin?", &[InterestCoverage]),
        // Operating income over interest is the interest coverage.
        (
            "Le résultat d'exploitation couvre-t-il nos intérêts ?",
            &[InterestCoverage, OperatingMargin],
        ),
        (
            "ROE and ROA over three years",
            &[ReturnOnAssets, ReturnOnEquity],
        ),
        ("Roentgen scanner leases", &[]),
        ("Rentabilité financière ?", &[ReturnOnEquity]),
        ("Did sales grow?", &[RevenueGrowth]),
        ("Did days sales outstanding grow?", &[DaysSalesOutstanding]),
        // Sales tax is a tax, not revenue.
        ("How much sales tax do we owe?", &[]),
        ("What is our effective tax rate?", &[EffectiveTaxRate]),
        ("Free cash flow margin?", &[FreeCashFlowMargin]),
        ("Flux de trésorerie disponible ?", &[FreeCashFlow]),
        // Payroll is an operating expense, not a payable.
        (
            "Payroll and payables",
            &[OperatingMargin, DaysPayablesOutstanding],
        ),
        // Costs: what sales leave after the cost of sales and after operating expenses; named costs first.
        ("How did costs evolve?", &[GrossMargin, OperatingMargin]),
        (
            "Comment ont évolué nos charges ?",
            &[GrossMargin, OperatingMargin],
        ),
        ("Is our food cost too high?", &[GrossMargin]),
        ("Nos frais généraux augmentent-ils ?", &[OperatingMargin]),
        ("What is our cost of debt?", &[InterestCoverage]),
        ("Les frais financiers pèsent-ils ?", &[InterestCoverage]),
        ("How much cash do we burn?", &[FreeCashFlow]),
        ("Did our cash position improve?", &[CashRatio]),
        ("Quel est notre niveau de trésorerie ?", &[CashRatio]),
        ("Notre encaisse suffit-elle ?", &[CashRatio]),
        (
            "Le délai d'encaissement des clients s'allonge-t-il ?",
            &[DaysSalesOutstanding],
        ),
        // Cash flow stays a family of its own.
        ("How is our cash flow?", &[]),
        (
            "Are we paying our suppliers faster?",
            &[DaysPayablesOutstanding],
        ),
        (
            "Payons-nous nos fournisseurs plus tard ?",
            &[DaysPayablesOutstanding],
        ),
        ("Is the company solvent?", &[]),
        // Articles and possessives are not read: the metric is named however it is pointed at.
        ("What is the return on our assets?", &[ReturnOnAssets]),
        ("Quel est le rendement de nos actifs ?", &[ReturnOnAssets]),
        ("Quelle est la rentabilité de l'actif ?", &[ReturnOnAssets]),
        ("How efficient is our use of assets?", &[AssetTurnover]),
        (
            "Les frais financiers pèsent-ils sur le résultat ?",
            &[InterestCoverage],
        ),
        ("Can we afford our interest payments?", &[InterestCoverage]),
        // The cash left after investment is what pays a dividend.
        ("Can we pay a dividend this year?", &[FreeCashFlow]),
        ("Peut-on verser un dividende ?", &[FreeCashFlow]),
        // Net income is an amount: did it rise (its growth), and what it leaves of sales (its margin).
        ("Did net income fall?", &[NetMargin, NetIncomeGrowth]),
        ("Why did profit drop?", &[NetMargin, NetIncomeGrowth]),
        (
            "Le bénéfice a-t-il augmenté ?",
            &[NetMargin, NetIncomeGrowth],
        ),
        // Whether it makes a profit at all is net income's sign, net margin's.
        ("Is the company profitable?", &[NetMargin]),
        // Whether operations pay for investment is free cash flow's sign.
        (
            "Est-ce que la trésorerie d'exploitation couvre les investissements ?",
            &[OperatingCashFlowRatio, FreeCashFlow],
        ),
        (
            "Quelle est la capacité de remboursement de l'entreprise ?",
            &[NetDebtToEbitda],
        ),
        // A Quebec « marge de crédit » is a line of credit, not a margin.
        ("Pouvons-nous augmenter notre marge de crédit ?", &[]),
        ("", &[]),
    ];
    for (q, expected) in cases {
        assert_eq!(intent::named_metrics(q), expected.to_vec(), "{q}");
    }
}

#[test]
fn a_named_metric_brings_its_family_and_its_words_are_not_read_again() {
    use crate::analysis::Intent::*;
    let cases: &[(&str, &[crate::analysis::Intent])] = &[
        // "cash" alone is liquidity; inside the cash conversion cycle it is efficiency.
        ("Should we worry about cash?", &[Liquidity]),
        ("Our cash conversion cycle?", &[Efficiency]),
        ("How many days do customers take to pay?", &[Efficiency]),
        ("Is the company solvent?", &[Solvency]),
        ("Risque de faillite ?", &[Solvency]),
        ("Did sales grow?", &[Growth]),
        ("Flux de trésorerie disponible ?", &[CashFlow]),
        (
            "Notre besoin en fonds de roulement augmente-t-il ?",
            &[Efficiency],
        ),
        ("Sommes-nous trop endettés ?", &[Solvency]),
        ("Can we take on a new loan?", &[Solvency]),
        (
            "Quelle est la capacité de remboursement de l'entreprise ?",
            &[Solvency],
        ),
        (
            "Pouvons-nous augmenter notre marge de crédit ?",
            &[Solvency],
        ),
        ("Are we making money?", &[Profitability]),
        ("Le bistro perd-il de l'argent ?", &[Profitability]),
    ];
    for (q, expected) in cases {
        assert_eq!(intent::intents(q), expected.to_vec(), "{q}");
        assert!(intent::recognises(q), "{q}");
    }
}

/// Questions that each name one metric, in English and in French.
const NAMING: &[(&str, Language, MetricId)] = &[
    ("What is our gross margin?", Language::En, GrossMargin),
    ("Quelle est notre marge brute ?", Language::Fr, GrossMargin),
    (
        "How many days do customers take to pay?",
        Language::En,
        DaysSalesOutstanding,
    ),
    (
        "Nos clients paient-ils plus lentement ?",
        Language::Fr,
        DaysSalesOutstanding,
    ),
    (
        "How are our inventories turning?",
        Language::En,
        InventoryTurnover,
    ),
    (
        "Quelle est l'évolution du BFR ?",
        Language::Fr,
        CashConversionCycle,
    ),
    (
        "What is our interest coverage?",
        Language::En,
        InterestCoverage,
    ),
    (
        "Quel est notre rendement des capitaux propres ?",
        Language::Fr,
        ReturnOnEquity,
    ),
    ("Is our quick ratio healthy?", Language::En, QuickRatio),
    ("Et notre dette nette ?", Language::Fr, NetDebtToEbitda),
    ("Did sales grow?", Language::En, RevenueGrowth),
];

#[test]
fn the_direct_answer_leads_with_the_metric_the_question_names_for_every_company() {
    let mut led = 0;
    for (company, statements) in companies() {
        for (q, lang, metric) in NAMING {
            let a = offline(statements.clone(), q);
            assert_eq!(a.language, *lang, "{company}: {q}");
            assert!(
                a.plan.metrics.contains(metric),
                "{company}: {q}: {:?}",
                a.plan
            );
            assert!(a.validation.grounded, "{company}: {q}: {:?}", a.validation);
            let last = a.plan.periods.last().unwrap();
            let computable = a
                .figures
                .iter()
                .any(|f| f.metric == *metric && *f.period == **last && f.value.is_some());
            let text = sentences(answer(&a));
            // A growth rate is said as what its amount did ("Revenue grew …").
            let subject = super::answer::amount_subject(*metric, *lang)
                .map_or_else(|| metric_subject(*metric, *lang), str::to_string);
            if computable {
                assert!(text.starts_with(&subject), "{company}: {q}: {text}");
                led += 1;
            } else {
                // Not computable: the answer falls back on the family's headline, and the caveats say why.
                assert!(!text.contains(&subject), "{company}: {q}: {text}");
            }
        }
    }
    assert!(led > 100, "{led} answers led with the named metric");
}

#[test]
fn growth_is_told_from_its_first_computable_period() {
    // Revenue growth has no value in the document's first period: the answer starts at the second.
    let a = offline(crate::testing::bistro(), "Did sales grow over three years?");
    assert_eq!(a.plan.periods, ["FY2021", "FY2022", "FY2023"]);
    let text = sentences(answer(&a));
    // Said as what revenue did in the last period, then in the first one where growth is computable.
    assert!(
        text.starts_with("Revenue grew ") || text.starts_with("Revenue fell "),
        "{text}"
    );
    assert!(
        text.contains(" in FY2023, after ") && text.contains(" in FY2022."),
        "{text}"
    );
    assert!(!text.contains("FY2021") && !text.contains('-'), "{text}");
}

#[test]
fn a_growth_rate_is_said_as_what_its_amount_did_with_its_sign_in_words() {
    for (company, statements) in companies() {
        for q in ["Did sales grow?", "Le chiffre d'affaires a-t-il augmenté ?"] {
            let a = offline(statements.clone(), q);
            let last = a.plan.periods.last().unwrap();
            let Some(v) = a
                .figures
                .iter()
                .find(|f| f.metric == RevenueGrowth && *f.period == **last)
                .and_then(|f| f.value)
            else {
                continue;
            };
            let text = sentences(answer(&a));
            let expected = match (a.language, v.cmp(&rust_decimal::Decimal::ZERO)) {
                (Language::En, std::cmp::Ordering::Greater) => "Revenue grew ",
                (Language::En, std::cmp::Ordering::Less) => "Revenue fell ",
                (Language::En, std::cmp::Ordering::Equal) => "Revenue was unchanged ",
                (Language::Fr, std::cmp::Ordering::Greater) => "Les revenus progressent de ",
                (Language::Fr, std::cmp::Ordering::Less) => "Les revenus reculent de ",
                (Language::Fr, std::cmp::Ordering::Equal) => "Les revenus sont stables ",
            };
            assert!(text.starts_with(expected), "{company}: {q}: {text}");
            // The sign is in the verb: no minus sign before a rate.
            assert!(!text.contains(" -"), "{company}: {q}: {text}");
            assert!(a.validation.grounded, "{company}: {q}: {:?}", a.validation);
        }
    }
}

#[test]
fn a_single_period_is_stated_as_a_sentence_in_both_languages() {
    // The bistro's first year has no year before it: one period, nothing to compare.
    for (q, start) in [
        (
            "Quelle est la marge brute en 2021 ?",
            "La marge brute est de ",
        ),
        ("What was the gross margin in 2021?", "Gross margin is "),
        (
            "La marge brute est-elle en baisse en 2021 ?",
            "La marge brute est de ",
        ),
    ] {
        let a = offline(crate::testing::bistro(), q);
        assert_eq!(a.plan.periods, ["FY2021"], "{q}");
        let text = answer(&a);
        assert!(text.starts_with(start), "{q}: {text}");
        assert!(
            text.contains(" en FY2021") || text.contains(" in FY2021"),
            "{text}"
        );
    }
}

#[test]
fn slower_stock_later_suppliers_and_cash_burnt_by_operations_stand_out_in_both_languages() {
    // P2 (index 0): stock piles up, suppliers wait, and operations consume cash.
    let mut doc = crate::testing::simple();
    for (section, line, v) in [
        ("balance_sheet", "inventory", "600"),
        ("balance_sheet", "total_current_assets", "900"),
        ("balance_sheet", "total_assets", "1400"),
        ("balance_sheet", "accounts_payable", "500"),
        ("balance_sheet", "total_current_liabilities", "600"),
        ("balance_sheet", "total_liabilities", "900"),
        ("cash_flow", "operating_cash_flow", "-50"),
    ] {
        crate::testing::set(&mut doc, 0, section, line, serde_json::json!(v));
    }
    let s = crate::testing::parse(&doc);
    for (q, stock, suppliers, burnt) in [
        (
            "How is the company doing overall?",
            "Stock sits longer: days inventory outstanding went from ",
            "Suppliers are paid more slowly, which can signal cash strain: days payables outstanding went from ",
            "Operations consumed cash in P2 (operating cash flow ratio -",
        ),
        (
            "Fais un bilan de santé",
            "Les stocks tournent plus lentement : le délai de rotation des stocks passe de ",
            "Les fournisseurs sont payés plus lentement, ce qui peut signaler une tension de trésorerie : le délai moyen de paiement des fournisseurs passe de ",
            "L'exploitation a consommé de la trésorerie en P2 (ratio des flux de trésorerie d'exploitation de -",
        ),
    ] {
        let a = offline(s.clone(), q);
        let find = |start: &str| {
            a.findings
                .iter()
                .find(|f| f.text.starts_with(start))
                .unwrap_or_else(|| panic!("{q}: no {start:?} in {:?}", a.findings))
        };
        assert_eq!(
            find(stock).cites,
            [
                "days_inventory_outstanding@P1",
                "days_inventory_outstanding@P2"
            ]
        );
        assert_eq!(
            find(suppliers).cites,
            [
                "days_payables_outstanding@P1",
                "days_payables_outstanding@P2"
            ]
        );
        assert_eq!(find(burnt).cites, ["operating_cash_flow_ratio@P2"]);
        assert!(a.validation.grounded, "{q}: {:?}", a.validation);
    }
    // The same company with its own figures: each finding exactly when its threshold is crossed (its stock days
    // do rise by more than 15; its suppliers' days and operating cash flow do not cross theirs).
    let calm = offline(
        crate::testing::parse(&crate::testing::simple()),
        "How is the company doing overall?",
    );
    let jump = |metric: &str| {
        let v = |p: &str| {
            calm.figures
                .iter()
                .find(|f| f.id == format!("{metric}@{p}"))
                .and_then(|f| f.value)
                .unwrap()
        };
        v("P2") - v("P1") > rust_decimal::Decimal::from(15)
    };
    let has = |start: &str| calm.findings.iter().any(|f| f.text.starts_with(start));
    assert_eq!(has("Stock sits longer"), jump("days_inventory_outstanding"));
    assert_eq!(
        has("Suppliers are paid more slowly"),
        jump("days_payables_outstanding")
    );
    assert!(has("Stock sits longer") && !has("Suppliers are paid more slowly"));
    assert!(!has("Operations consumed cash"), "{:?}", calm.findings);
}

#[test]
fn days_below_zero_still_get_a_verdict_and_a_meaning() {
    let plumber = |name: &str| {
        let path = format!(
            "{}/../examples/data/portfolio/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let a = offline(plumber("plumb-03"), "What is our cash conversion cycle?");
    let ccc = |p: &str| {
        a.figures
            .iter()
            .find(|f| f.id == format!("cash_conversion_cycle@{p}"))
            .and_then(|f| f.value)
            .unwrap()
    };
    // From below zero to above it: longer is worse, whatever the sign.
    assert!(ccc("FY2022").is_sign_negative() && ccc("FY2024").is_sign_positive());
    let text = answer(&a);
    assert!(
        text.starts_with("Cash conversion cycle worsened: it rose from -"),
        "{text}"
    );
    // Below zero at the end: suppliers finance the cycle, said in words.
    let b = offline(plumber("resto-02"), "Quelle est l'évolution du BFR ?");
    assert!(
        answer(&b).contains("les fournisseurs sont payés après l'encaissement des clients"),
        "{}",
        answer(&b)
    );
}

#[test]
fn a_turn_that_displays_as_an_end_is_not_told() {
    // resto-02's debt to equity is 1.08 in FY2023 and in FY2024 as displayed, though not exactly.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/portfolio/resto-02.json"
    );
    let s = Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let a = offline(s, "How indebted are we?");
    let text = answer(&a);
    assert!(
        text.starts_with("Debt to equity worsened: it rose from 1.00 in FY2022 to 1.08 in FY2024"),
        "{text}"
    );
    assert!(!text.contains("after a high of 1.08"), "{text}");
}

#[test]
fn thin_interest_coverage_is_said_in_the_answer() {
    let mut doc = crate::testing::simple();
    // P2 (index 0): operating income 150 against interest of 120, and net income to match.
    for (line, v) in [("interest_expense", "120"), ("net_income", "5")] {
        crate::testing::set(&mut doc, 0, "income_statement", line, serde_json::json!(v));
    }
    let s = crate::testing::parse(&doc);
    let a = offline(s, "What is our interest coverage?");
    let cover = a
        .figures
        .iter()
        .find(|f| f.id == "interest_coverage@P2")
        .and_then(|f| f.value)
        .unwrap();
    let text = answer(&a);
    if cover < rust_decimal::Decimal::new(15, 1) && cover >= rust_decimal::Decimal::ZERO {
        assert!(
            text.contains("operating income barely covers interest"),
            "{text}"
        );
    } else {
        panic!("the fixture's coverage is {cover}, not thin: {text}");
    }
}

#[test]
fn two_questions_naming_different_metrics_never_share_an_answer() {
    // Same family, no concept word in either: only the named metric tells them apart.
    let a = Signature::of("What about our gearing?");
    let b = Signature::of("What about our debt ratio?");
    assert_eq!(a.intents, b.intents);
    assert_eq!(a.concepts, b.concepts);
    assert_eq!(a.difference(&b), Some("metric"));
    let c = Signature::of("What about the gearing?");
    assert_eq!(a.difference(&c), None);
}

#[test]
fn yes_no_questions_about_a_movement_are_read_in_both_languages() {
    let cases: &[(&str, Option<Asked>)] = &[
        (
            "Is our working capital getting tighter?",
            Some(Asked::Worse),
        ),
        (
            "Est-ce que nos clients paient plus lentement ?",
            Some(Asked::Slower),
        ),
        (
            "Are customers paying us later than last year?",
            Some(Asked::Slower),
        ),
        (
            "Nos clients paient-ils plus tard que l'an dernier ?",
            Some(Asked::Slower),
        ),
        ("Is revenue growth slowing down?", Some(Asked::Slower)),
        ("La croissance ralentit-elle ?", Some(Asked::Slower)),
        ("Do customers pay sooner?", Some(Asked::Faster)),
        // A speed asked of a movement.
        (
            "Did revenue grow faster than last year?",
            Some(Asked::Faster),
        ),
        ("Are sales growing more slowly?", Some(Asked::Slower)),
        (
            "Les ventes augmentent-elles moins vite ?",
            Some(Asked::Slower),
        ),
        ("Nos marges se réduisent-elles ?", Some(Asked::Down)),
        ("Did our costs soar?", Some(Asked::Up)),
        (
            "Are we more profitable than last year?",
            Some(Asked::Better),
        ),
        ("Sommes-nous moins rentables qu'avant ?", Some(Asked::Worse)),
        ("Notre situation se dégrade-t-elle ?", Some(Asked::Worse)),
        ("Is our interest coverage improving?", Some(Asked::Better)),
        ("La rentabilité s'améliore-t-elle ?", Some(Asked::Better)),
        ("Did sales grow?", Some(Asked::Up)),
        ("Is revenue growing?", Some(Asked::Up)),
        // The rate's own movement is not its sign: no yes or no from "growth".
        ("Is growth accelerating?", None),
        ("Le BFR augmente-t-il ?", Some(Asked::Up)),
        ("Has our gross margin dropped?", Some(Asked::Down)),
        ("La marge brute est-elle en baisse ?", Some(Asked::Down)),
        // Why, how much, what to do, a negation: not a yes/no question about what happened.
        ("Why did sales fall?", None),
        ("Pourquoi la marge baisse-t-elle ?", None),
        ("How much did revenue grow?", None),
        ("Can we increase our prices?", None),
        ("Faut-il réduire la dette ?", None),
        ("Isn't our margin improving?", None),
        ("La marge ne baisse-t-elle pas ?", None),
        // Two kinds of movement at once: one answer cannot serve both.
        ("Did sales rise and margins fall?", None),
        // Against a threshold: a level (tests of `intent::level`), not the movement the memo states.
        (
            "Is our current ratio higher than 1.5?",
            Some(Asked::Level(intent::Level {
                above: true,
                inclusive: false,
                threshold: rust_decimal::Decimal::new(15, 1),
                unit: None,
                metric: None,
                every: false,
            })),
        ),
        (
            "Est-ce que la marge est supérieure à 10 % ?",
            Some(Asked::Level(intent::Level {
                above: true,
                inclusive: false,
                threshold: rust_decimal::Decimal::TEN,
                unit: Some(crate::metrics::Unit::Percent),
                metric: None,
                every: false,
            })),
        ),
        // Against a year named or peers: not the movement the memo states.
        ("Is our margin higher than in 2021?", None),
        ("Is our margin higher than it was in 2021?", None),
        // Against the company's own past: the movement between the planned periods.
        (
            "La marge est-elle plus élevée que l'an dernier ?",
            Some(Asked::Up),
        ),
        (
            "Are we paying suppliers faster than before?",
            Some(Asked::Faster),
        ),
        ("Is our margin lower than last year?", Some(Asked::Down)),
        (
            "Is our cash conversion cycle getting longer?",
            Some(Asked::Up),
        ),
        ("Le délai client s'allonge-t-il ?", Some(Asked::Up)),
        ("Are collection times getting shorter?", Some(Asked::Down)),
        (
            "Is our margin rising compared with other restaurants?",
            None,
        ),
        ("Est-ce que la marge baisse ?", Some(Asked::Down)),
        ("Is our working capital healthy?", None),
        ("", None),
    ];
    for (q, expected) in cases {
        assert_eq!(intent::asked(q), *expected, "{q}");
    }
}

/// The direct answer's "Yes." / "No." (or none), from the question's text.
fn yes_no(text: &str) -> Option<bool> {
    if text.starts_with("Yes. ") || text.starts_with("Oui. ") {
        Some(true)
    } else if text.starts_with("No. ") || text.starts_with("Non. ") {
        Some(false)
    } else {
        None
    }
}

#[test]
fn a_yes_no_question_is_answered_yes_or_no_from_the_figures_for_every_company() {
    use rust_decimal::Decimal;
    // (question, metric, what "yes" means given the first computable and the latest value)
    type Rule = fn(Decimal, Decimal) -> bool;
    let cases: &[(&str, MetricId, Rule)] = &[
        (
            "Is our working capital getting tighter?",
            WorkingCapital,
            |a, b| b < a,
        ),
        (
            "Nos clients paient-ils plus lentement ?",
            DaysSalesOutstanding,
            |a, b| b > a,
        ),
        (
            "Is our interest coverage improving?",
            InterestCoverage,
            |a, b| b > a,
        ),
        (
            "La marge brute est-elle en baisse ?",
            GrossMargin,
            |a, b| b < a,
        ),
        // A growth rate answers "did it grow?" by its sign.
        ("Did sales grow?", RevenueGrowth, |_, b| b > Decimal::ZERO),
        // Speed is fewer days, whether or not the catalogue calls fewer days better.
        (
            "Are we paying our suppliers faster than before?",
            DaysPayablesOutstanding,
            |a, b| b < a,
        ),
        (
            "Payons-nous nos fournisseurs plus tard qu'avant ?",
            DaysPayablesOutstanding,
            |a, b| b > a,
        ),
        (
            "Are customers paying us later than last year?",
            DaysSalesOutstanding,
            |a, b| b > a,
        ),
        (
            "Do we sell our stock faster?",
            DaysInventoryOutstanding,
            |a, b| b < a,
        ),
        // A growth rate asked for its speed: its own movement.
        (
            "Did revenue grow faster than last year?",
            RevenueGrowth,
            |a, b| b > a,
        ),
    ];
    let mut answered = [0, 0];
    for (company, statements) in companies() {
        for (q, metric, yes) in cases {
            let a = offline(statements.clone(), q);
            let text = answer(&a);
            let values: Vec<Decimal> = a
                .plan
                .periods
                .iter()
                .filter_map(|p| {
                    a.figures
                        .iter()
                        .find(|f| f.metric == *metric && *f.period == **p)
                        .and_then(|f| f.value)
                })
                .collect();
            let (Some(first), Some(last)) = (values.first(), values.last()) else {
                assert_eq!(yes_no(text), None, "{company}: {q}: {text}");
                continue;
            };
            // Equal as displayed (two decimals): held, so neither tighter nor looser.
            let held = first.round_dp(2) == last.round_dp(2) && *metric != RevenueGrowth;
            let expected = !held && yes(*first, *last);
            assert_eq!(yes_no(text), Some(expected), "{company}: {q}: {text}");
            answered[usize::from(expected)] += 1;
        }
    }
    // The companies give both answers.
    assert!(answered[0] > 5 && answered[1] > 5, "{answered:?}");
}

#[test]
fn whether_net_income_fell_is_answered_by_its_growth_and_its_margin_follows() {
    use rust_decimal::Decimal;
    let mut seen = [0, 0];
    for (company, statements) in companies() {
        for (q, asks_fall) in [
            ("Did net income fall?", true),
            ("Le bénéfice net a-t-il augmenté ?", false),
        ] {
            let a = offline(statements.clone(), q);
            let text = answer(&a);
            let last = a.plan.periods.last().unwrap();
            let Some(growth) = a
                .figures
                .iter()
                .find(|f| f.metric == NetIncomeGrowth && *f.period == **last)
                .and_then(|f| f.value)
            else {
                // No growth (net income was not positive the year before): the margin answers alone.
                assert!(
                    sentences(text).starts_with(&metric_subject(NetMargin, a.language)),
                    "{company}: {q}: {text}"
                );
                let margins: Vec<Decimal> = a
                    .plan
                    .periods
                    .iter()
                    .filter_map(|p| {
                        a.figures
                            .iter()
                            .find(|f| f.metric == NetMargin && *f.period == **p)
                            .and_then(|f| f.value)
                    })
                    .collect();
                if let (Some(said), [from, .., to]) = (yes_no(text), margins.as_slice()) {
                    assert_eq!(
                        said,
                        if asks_fall { to < from } else { to > from },
                        "{company}: {q}: {text}"
                    );
                }
                continue;
            };
            let subject = super::answer::amount_subject(NetIncomeGrowth, a.language).unwrap();
            assert!(
                sentences(text).starts_with(subject),
                "{company}: {q}: {text}"
            );
            // The margin is said too, after it.
            assert!(
                sentences(text).contains(&metric_subject(NetMargin, a.language).to_lowercase())
                    || sentences(text).contains(&metric_subject(NetMargin, a.language)),
                "{company}: {q}: {text}"
            );
            let yes = if asks_fall {
                growth < Decimal::ZERO
            } else {
                growth > Decimal::ZERO
            };
            assert_eq!(yes_no(text), Some(yes), "{company}: {q}: {text}");
            seen[usize::from(growth > Decimal::ZERO)] += 1;
        }
    }
    // Net income fell somewhere and grew elsewhere among the companies.
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

#[test]
fn the_readme_answers_on_the_bistro_hold() {
    // README.md, "Quick start": the answers it quotes.
    for (q, start) in [
        (
            "Did sales grow?",
            "Yes. Revenue grew 5.71% in FY2023, after a fall of 5.07% in FY2022.",
        ),
        (
            "Is our working capital getting tighter?",
            "No. Working capital improved: it rose from 117,339 CAD in FY2021 to 409,070 CAD in FY2023. ",
        ),
        (
            "Nos clients paient-ils plus lentement ?",
            "Oui. Le délai moyen de recouvrement se dégrade : de 29,0 jours en FY2021 à 41,2 jours en FY2023, en hausse. ",
        ),
    ] {
        let a = offline(crate::testing::bistro(), q);
        assert!(answer(&a).starts_with(start), "{q}: {}", answer(&a));
        assert!(a.validation.grounded, "{:?}", a.validation);
    }
}

/// Questions put as a CPA's client puts them, on the bistro: the answer's first words, in the question's language
/// even when it has no accent and few common words.
#[test]
fn everyday_questions_on_the_bistro_are_answered_first() {
    for (q, start) in [
        (
            "Are we paying our suppliers faster than before?",
            "Yes. Days payables outstanding fell from 118.2 days in FY2021 to 84.1 days in FY2023. ",
        ),
        (
            "Payons-nous nos fournisseurs plus tard qu'avant ?",
            "Non. Le délai moyen de paiement des fournisseurs passe de 118,2 jours en FY2021 à 84,1 jours en FY2023, en baisse. ",
        ),
        (
            "Are customers paying us later than last year?",
            "Yes. Days sales outstanding worsened: it rose from 35.2 days in FY2022 to 41.2 days in FY2023. ",
        ),
        (
            "Sommes-nous plus rentables que l'an dernier ?",
            "Oui. La marge nette s'améliore : de 4,79 % en FY2022 à 7,48 % en FY2023, en hausse.",
        ),
        (
            "Nos marges se réduisent-elles ?",
            "Non. La marge nette s'améliore : ",
        ),
        (
            "La marge brute s'est-elle dégradée depuis 2021 ?",
            "Non. La marge brute est stable à 68,97 % de FY2021 à FY2023. ",
        ),
        (
            "How did costs evolve?",
            "Gross margin held at 68.97% from FY2021 to FY2023. Operating margin improved: ",
        ),
        (
            "Comment ont évolué nos charges ?",
            "La marge brute est stable à 68,97 % de FY2021 à FY2023. La marge d'exploitation s'améliore : ",
        ),
        (
            "How much cash do we burn?",
            "Free cash flow improved: it rose from 153,191 CAD in FY2021 to 288,671 CAD in FY2023",
        ),
    ] {
        let a = offline(crate::testing::bistro(), q);
        assert!(answer(&a).starts_with(start), "{q}: {}", answer(&a));
        assert!(a.validation.grounded, "{:?}", a.validation);
    }
}

#[test]
fn no_yes_or_no_when_the_question_is_not_one_or_the_figures_disagree() {
    for (company, statements) in companies() {
        for q in [
            "Why did sales fall?",
            "Isn't our margin improving?",
            "Pourquoi la marge baisse-t-elle ?",
        ] {
            let a = offline(statements.clone(), q);
            assert_eq!(yes_no(answer(&a)), None, "{company}: {q}");
        }
        // A health check's three headlines must all agree for a yes or a no.
        let a = offline(statements.clone(), "Is the business doing better?");
        let text = answer(&a);
        let verdicts: Vec<bool> = ["improved", "worsened"]
            .iter()
            .map(|w| text.contains(w))
            .collect();
        match yes_no(text) {
            Some(true) => assert!(!verdicts[1] && verdicts[0], "{company}: {text}"),
            Some(false) => assert!(!verdicts[0], "{company}: {text}"),
            None => {}
        }
    }
}

#[test]
fn opposite_yes_no_questions_never_share_an_answer() {
    let tighter = Signature::of("Is our working capital getting tighter?");
    let looser = Signature::of("Is our working capital getting looser?");
    assert_eq!(tighter.difference(&looser), Some("direction"));
    let why = Signature::of("Why did sales fall?");
    let did = Signature::of("Did sales fall?");
    assert!(why.difference(&did).is_some());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::testing::fuzz_cases()))]

    /// Any text: the named metrics are sorted and unique, and reading them terminates.
    #[test]
    fn any_text_names_sorted_unique_metrics(q in "\\PC{0,80}") {
        let named = intent::named_metrics(&q);
        proptest::prop_assert!(named.windows(2).all(|w| w[0] < w[1]));
        let _ = intent::intents(&q);
        let _ = intent::asked(&q);
    }

    /// Metric phrases glued, repeated and cut anywhere.
    #[test]
    fn metric_phrases_in_any_order_terminate(words in proptest::collection::vec(
        proptest::sample::select(vec!["bfr", "roe", "cash", "net", "debt", "to", "ebitda", "clients", "paient",
            "marge", "brute", "sales", "tax", "'", "-", "é", " "]), 0..30)) {
        let q = words.concat();
        let named = intent::named_metrics(&q);
        proptest::prop_assert!(named.windows(2).all(|w| w[0] < w[1]));
    }

    /// Questions about a line's level or movement, words in any order: the memo is grounded, and a yes or no about
    /// a line's movement is the one its amounts give.
    #[test]
    fn line_questions_in_any_order_are_answered_from_their_amounts(words in proptest::collection::vec(
        proptest::sample::select(vec!["did ", "our ", "cash ", "equity ", "debt ", "dette ", "trésorerie ",
            "capitaux propres ", "ebitda ", "margin ", "go up", "fall ", "reduce ", "réduit ", "ratio ", "worse ", "better ", "every year ",
            "above ", "$3M ", "positive ", "net ", "?", " "]), 0..12)) {
        let q = words.concat();
        // An empty question is refused before any rule reads it.
        proptest::prop_assume!(!q.trim().is_empty());
        let s = crate::testing::bistro();
        let a = offline(s.clone(), &q);
        proptest::prop_assert!(a.validation.grounded, "{q}: {:?}", a.validation);
        let cues = intent::cues_for(&q, &s);
        if let (Some((subject, _)), Some(asked)) = (cues.line, cues.asked)
            && matches!(asked, intent::Asked::Up | intent::Asked::Down)
            && a.plan.periods.len() > 1
        {
            let amount = |p: &str| subject.amount(&s, s.period_index(p)?);
            let (first, last) = (a.plan.periods.first().unwrap(), a.plan.periods.last().unwrap());
            if let (Some(from), Some(to)) = (amount(first), amount(last)) {
                let yes = if asked == intent::Asked::Up { to > from } else { to < from };
                proptest::prop_assert_eq!(yes_no(answer(&a)), Some(yes), "{}", q);
            }
        }
    }

    /// Questions asking for an amount, words in any order: the memo is grounded, and when the rules read one as
    /// asking for a line's amount, its answer starts with that line's amount in the latest planned period.
    #[test]
    fn amount_questions_in_any_order_start_with_the_latest_amount(words in proptest::collection::vec(
        proptest::sample::select(vec!["how much ", "what is ", "combien ", "quel est ", "cash ", "interest ",
            "inventory ", "total assets ", "dette ", "gross profit ", "ratio ", "why ", "our ", "last year ",
            "in FY2022 ", "owe us ", "chiffre d'affaires ", "growth ", "go up ", "margin ", "?", " "]), 1..10)) {
        let q = words.concat();
        proptest::prop_assume!(!q.trim().is_empty());
        let s = crate::testing::bistro();
        let a = offline(s.clone(), &q);
        proptest::prop_assert!(a.validation.grounded, "{q}: {:?}", a.validation);
        let cues = intent::cues_for(&q, &s);
        if let (Some((subject, _)), None, true) = (cues.line, cues.asked, cues.outside.is_empty()) {
            let last = a.plan.periods.last().unwrap();
            if let Some(v) = subject.amount(&s, s.period_index(last).unwrap()) {
                let shown = a.language.value(v, crate::metrics::Unit::Amount, "CAD");
                let first = answer(&a).split(". ").next().unwrap_or_default();
                proptest::prop_assert!(first.contains(&shown), "{q}: {}", answer(&a));
            }
        }
    }
}

/// A question about a year whose figure cannot be computed (growth in the first year of the statements) is answered
/// with why, first, in both languages, for every company.
#[test]
fn a_figure_that_cannot_be_computed_is_answered_with_why() {
    for (company, statements) in companies() {
        let first = statements.periods()[0].label.to_string();
        let year: String = first.chars().filter(char::is_ascii_digit).collect();
        if year.len() != 4 {
            continue;
        }
        for (q, lang, start) in [
            (
                format!("Did revenue fall in {year}?"),
                Language::En,
                format!(
                    "{} cannot be computed for {first}: no previous consecutive period in the statements.",
                    metric_subject(RevenueGrowth, Language::En)
                ),
            ),
            (
                format!("Le chiffre d'affaires a-t-il baissé en {year} ?"),
                Language::Fr,
                format!(
                    "{} n'est pas calculable en {first} : pas de période précédente consécutive dans les états.",
                    metric_subject(RevenueGrowth, Language::Fr)
                ),
            ),
        ] {
            let a = offline(statements.clone(), &q);
            assert_eq!(a.language, lang, "{company}: {q}");
            assert_eq!(
                a.plan.periods,
                std::slice::from_ref(&first),
                "{company}: {q}"
            );
            assert!(
                answer(&a).starts_with(&start),
                "{company}: {q}: {}",
                answer(&a)
            );
            assert!(a.validation.grounded, "{company}: {:?}", a.validation);
        }
    }
}

/// A year the question names that the statements do not cover is said first, with no yes or no about other years;
/// a covered year is not.
#[test]
fn a_year_the_books_do_not_cover_is_said_first() {
    for (company, statements) in companies() {
        let periods = statements.periods();
        let (first, last) = (
            periods[0].label.to_string(),
            periods[periods.len() - 1].label.to_string(),
        );
        let before = periods[0]
            .end
            .format("%Y")
            .to_string()
            .parse::<i32>()
            .unwrap()
            - 3;
        assert_eq!(
            intent::years_outside(&format!("Did sales fall in {before}?"), &statements),
            [before.to_string()],
            "{company}"
        );
        let covered = periods[0].end.format("%Y").to_string();
        assert!(
            intent::years_outside(&format!("Did sales fall in {covered}?"), &statements).is_empty()
        );
        for (q, start) in [
            (
                format!("Did sales fall in {before}?"),
                format!(
                    "The statements do not cover {before}; this answer is about {first} to {last}. "
                ),
            ),
            (
                format!("Le chiffre d'affaires a-t-il baissé en {before} ?"),
                format!(
                    "Les états financiers ne couvrent pas {before} ; cette réponse porte sur {first} à {last}. "
                ),
            ),
        ] {
            let a = offline(statements.clone(), &q);
            let text = answer(&a);
            assert!(text.starts_with(&start), "{company}: {q}: {text}");
            let rest = &text[start.len()..];
            assert_eq!(yes_no(rest), None, "{company}: {q}: {text}");
            assert!(
                a.validation.warnings.iter().any(|w| w.starts_with(&format!(
                    "question: the statements do not cover {before} (they hold "
                ))),
                "{company}: {:?}",
                a.validation.warnings
            );
            assert!(a.validation.grounded, "{company}: {:?}", a.validation);
        }
    }
}
