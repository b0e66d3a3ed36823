#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
//! Ledger inputs refused with their place: unbalanced periods and FEC entries, duplicate and unknown accounts,
//! failing checks, overlapping periods, mixed currencies and formats, bad charts, options and builder input; and
//! the less common shapes that are accepted (custom charts, PCG sign rules, split FEC entries, Montant/Sens).

use finops_core::ledger::{self, Chart, CompanyFields, Format, ReadOptions, Unmapped};
use finops_core::statements::Line;
use finops_core::{Decimal, Error};
use serde_json::{Value, json};

mod support;
use support::ledger_writers::*;

#[test]
fn trial_balance_refusals_name_the_place() {
    let opts = ReadOptions::default();
    // Unbalanced: the period is named by its label.
    let bad = tb_with(|tb| tb["periods"][1]["accounts"][0]["debit"] = json!("1.00"));
    let issues = refusal(ledger::read_one(&bad, &opts));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.contains("periods[1] (FY2022)") && r.contains("does not balance")),
        "{issues:?}"
    );
    // A post-closing balance (the result already in retained earnings) is named as such.
    let closed = tb_with(|tb| {
        let ni: Decimal = bistro().periods()[0].amount_or_zero(Line::NetIncome);
        for a in tb["periods"][0]["accounts"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if a["account"] == "3600" {
                let credit: Decimal = a["credit"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default();
                a["credit"] = json!((credit + ni).to_string());
            }
        }
    });
    let issues = refusal(ledger::read_one(&closed, &opts));
    assert!(
        issues.iter().any(|(_, r)| r.contains("post-closing")),
        "{issues:?}"
    );
    // Duplicate account in a period.
    let dup = tb_with(|tb| {
        let first = tb["periods"][0]["accounts"][0].clone();
        if let Some(a) = tb["periods"][0]["accounts"].as_array_mut() {
            a.push(first);
        }
    });
    let issues = refusal(ledger::read_one(&dup, &opts));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.starts_with("periods[0].accounts[")
                && r.contains("account 1001 appears twice")),
        "{issues:?}"
    );
    // An account the chart cannot place, then accepted as "other" with a warning when asked.
    let unknown = tb_with(|tb| {
        if let Some(a) = tb["periods"][0]["accounts"].as_array_mut() {
            a.push(json!({"account": "0500", "name": "Mystère", "debit": "10", "credit": "0"}));
            a.push(json!({"account": "1480", "name": "Autres", "debit": "0", "credit": "10"}));
        }
    });
    let issues = refusal(ledger::read_one(&unknown, &opts));
    assert!(
        issues
            .iter()
            .any(|(_, r)| r.contains("account 0500 (Mystère) is not in the gifi chart")),
        "{issues:?}"
    );
    let odd = tb_with(|tb| {
        if let Some(a) = tb["periods"][0]["accounts"].as_array_mut() {
            a.push(json!({"account": "1ABC", "name": "Pas un code", "debit": "10", "credit": "0"}));
        }
    });
    // Even as "other", a code outside the index's parts has no class to go to.
    let other = ReadOptions {
        unmapped: Unmapped::Other,
        ..ReadOptions::default()
    };
    assert!(ledger::read_one(&odd, &other).is_err());
    // A check account that does not match.
    let wrong_total = tb_with(|tb| {
        for a in tb["periods"][2]["accounts"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if a["account"] == "2599" {
                a["debit"] = json!("1.00");
            }
        }
    });
    let issues = refusal(ledger::read_one(&wrong_total, &opts));
    assert!(
        issues
            .iter()
            .any(|(_, r)| r.contains("account 2599") && r.contains("total_assets")),
        "{issues:?}"
    );
    // Overlapping periods.
    let overlap = tb_with(|tb| tb["periods"][1]["end"] = json!("2023-06-30"));
    let issues = refusal(ledger::read_one(&overlap, &opts));
    assert!(
        issues.iter().any(|(_, r)| r.contains("overlaps")),
        "{issues:?}"
    );
    // Bad amounts, both sides, no side, negative debit, unknown fields.
    for (edit, want) in [
        (
            json!({"account": "1001", "debit": "12,5", "credit": "0"}),
            "debit",
        ),
        (
            json!({"account": "1001", "debit": "1", "credit": "0", "balance": "1"}),
            "both",
        ),
        (json!({"account": "1001"}), "no amount"),
        (
            json!({"account": "1001", "debit": "-1", "credit": "0"}),
            "negative",
        ),
        (
            json!({"account": "1001", "debit": "1", "credit": "0", "extra": 1}),
            "unknown field",
        ),
        (
            json!({"account": "", "debit": "1", "credit": "0"}),
            "account",
        ),
        (
            json!({"account": "1001", "name": "a\u{0}b", "debit": "1", "credit": "0"}),
            "control",
        ),
    ] {
        let bad = tb_with(|tb| tb["periods"][0]["accounts"][0] = edit.clone());
        let issues = refusal(ledger::read_one(&bad, &opts));
        assert!(
            issues
                .iter()
                .any(|(f, r)| f.starts_with("periods[0].accounts[0]")
                    && (r.contains(want) || f.contains(want))),
            "{edit}: {issues:?}"
        );
    }
    // A CSV without a chart, mixed currencies, a missing company name.
    let csv = gifi_csv(&bistro());
    assert!(
        matches!(ledger::read_one(csv.as_bytes(), &opts), Err(Error::InvalidArgument { field, .. }) if field == "chart")
    );
    let a = tb_with(|_| {});
    let b = tb_with(|tb| {
        tb["company"]["currency"] = json!("USD");
        if let Some(p) = tb["periods"].as_array_mut() {
            p.truncate(1);
        }
        tb["periods"][0]["label"] = json!("FY2019");
        tb["periods"][0]["start"] = json!("2019-01-01");
        tb["periods"][0]["end"] = json!("2019-12-31");
    });
    let issues = refusal(read(&[("a.json", &a), ("b.json", &b)], &opts));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.contains("b.json") && r.contains("mixed currencies")),
        "{issues:?}"
    );
    let nameless = tb_with(|tb| tb["company"]["name"] = Value::Null);
    let issues = refusal(ledger::read_one(&nameless, &opts));
    assert!(
        issues.iter().any(|(f, _)| f == "company.name"),
        "{issues:?}"
    );
}

#[test]
fn fec_refusals_name_the_entry_and_the_line() {
    let p = bistro().latest().clone();
    let text = fec(&p);
    // Unbalance the third line (an entry of the opening journal).
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[3].split('\t').map(str::to_string).collect();
    cells[11] = "1,00".into();
    cells[12] = "0,00".into();
    lines[3] = cells.join("\t");
    let bad = lines.join("\n");
    let issues = refusal(read(
        &[("552100554FEC20231231.txt", bad.as_bytes())],
        &fec_options(),
    ));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.contains("line 2")
                && r.contains("entry 1 of journal AN does not balance")),
        "{issues:?}"
    );
    // A bad date, a bad amount, a missing column, a file name closing before its entries.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[5] = lines[5].replacen(&p.start.format("%Y%m%d").to_string(), "20231340", 1);
    let issues = refusal(read(
        &[("x.txt", lines.join("\n").as_bytes())],
        &fec_options(),
    ));
    assert!(
        issues
            .iter()
            .any(|(f, _)| f.contains("line 6, EcritureDate")),
        "{issues:?}"
    );
    let no_debit = text.replacen("Debit\tCredit", "Debi\tCredi", 1);
    let issues = refusal(read(&[("x.txt", no_debit.as_bytes())], &fec_options()));
    assert!(
        issues.iter().any(|(_, r)| r.contains("Debit and Credit")),
        "{issues:?}"
    );
    let issues = refusal(read(
        &[("552100554FEC20230630.txt", text.as_bytes())],
        &fec_options(),
    ));
    assert!(
        issues
            .iter()
            .any(|(_, r)| r.contains("closes on 2023-06-30")),
        "{issues:?}"
    );
    // The same FEC twice is the same year twice.
    let issues = refusal(read(
        &[("a.txt", text.as_bytes()), ("b.txt", text.as_bytes())],
        &fec_options(),
    ));
    assert!(
        issues.iter().any(|(_, r)| r.contains("overlaps")),
        "{issues:?}"
    );
    // A pipe-separated FEC in ISO 8859-15 reads the same.
    let latin: Vec<u8> = text
        .replace('\t', "|")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    let a = read(&[("x.txt", text.as_bytes())], &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    let b = read(&[("x.txt", &latin)], &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(values(&a, false), values(&b, false));
}

#[test]
fn report_refusals_and_overrides() {
    let s = bistro();
    let opts = ReadOptions {
        company: CompanyFields {
            name: Some("B".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    // A stated total that does not add up.
    let mut q = quickbooks(&s);
    q[0]["Rows"]["Row"][0]["Summary"]["ColData"][1]["value"] = json!("1.00");
    let issues = refusal(read(
        &[("q.json", &serde_json::to_vec(&q).unwrap_or_default())],
        &opts,
    ));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.contains("TotalAssets") && r.contains("states 1.00")),
        "{issues:?}"
    );
    // A balance sheet without its profit and loss.
    let q = quickbooks(&s);
    let only = json!([q[0].clone()]);
    let issues = refusal(read(
        &[("q.json", &serde_json::to_vec(&only).unwrap_or_default())],
        &opts,
    ));
    assert!(
        issues.iter().any(|(_, r)| r.contains("no profit and loss")),
        "{issues:?}"
    );
    // Overrides by account id: interest moved to operating expenses changes the figures, totals still hold.
    let mut with = opts.clone();
    with.overrides.insert("5".into(), Line::OperatingExpenses);
    let bytes = serde_json::to_vec(&q).unwrap_or_default();
    let moved = read(&[("q.json", &bytes)], &with).unwrap_or_else(|e| panic!("{e}"));
    let fy = moved.latest();
    assert_eq!(amt(fy, Line::InterestExpense), Decimal::ZERO);
    assert_eq!(
        amt(fy, Line::OperatingExpenses),
        amt(s.latest(), Line::OperatingExpenses) + amt(s.latest(), Line::InterestExpense)
    );
    // Xero: a header that is not a date.
    let mut x = xero(&s);
    x["Reports"][0]["Rows"][0]["Cells"][1]["Value"] = json!("Dec 2023");
    let issues = refusal(read(
        &[("x.json", &serde_json::to_vec(&x).unwrap_or_default())],
        &ReadOptions {
            company: CompanyFields {
                currency: Some("CAD".into()),
                ..CompanyFields::default()
            },
            ..ReadOptions::default()
        },
    ));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f.contains("Header.Cells[1]") && r.contains("Dec 2023")),
        "{issues:?}"
    );
    // Mixed formats.
    let tb = serde_json::to_vec(&gifi_trial_balance(&s)).unwrap_or_default();
    let issues = refusal(read(&[("q.json", &bytes), ("tb.json", &tb)], &opts));
    assert!(
        issues
            .iter()
            .any(|(f, r)| f == "tb.json" && r.contains("one format")),
        "{issues:?}"
    );
}

#[test]
fn custom_charts_and_pcg_rules() {
    let chart = json!({"name": "Maison", "map": [
        {"accounts": "1000-1099", "line": "cash"},
        {"accounts": "12*", "line": "accounts_receivable"},
        {"accounts": ["2000", "2001"], "line": "accounts_payable"},
        {"accounts": "2100", "line": "other_current_liabilities", "credit_line": "other_current_liabilities"},
        {"accounts": "3000", "line": "total_equity"},
        {"accounts": "4000", "line": "revenue"},
        {"accounts": "5000,5001", "line": "operating_expenses"},
        {"accounts": "9999", "line": "total_assets"}
    ]});
    let chart = Chart::from_json_value(&chart).unwrap_or_else(|e| panic!("{e}"));
    let tb = json!({"schema": "finops.trial_balance/v1", "company": {"name": "M", "currency": "EUR"},
        "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "accounts": [
            {"account": "1010", "balance": "500"}, {"account": "1234", "balance": "300"},
            {"account": "2000", "balance": "-100"}, {"account": "3000", "balance": "-600"},
            {"account": "4000", "balance": "-1000"}, {"account": "5001", "balance": "900"},
            {"account": "9999", "name": "Total", "balance": "800"}]}]});
    let options = ReadOptions {
        chart: Some(chart.clone()),
        ..ReadOptions::default()
    };
    let s = ledger::read_one(&serde_json::to_vec(&tb).unwrap_or_default(), &options)
        .unwrap_or_else(|e| panic!("{e}"));
    let p = s.latest();
    assert_eq!(amt(p, Line::Cash), Decimal::from(500));
    assert_eq!(amt(p, Line::NetIncome), Decimal::from(100));
    assert_eq!(amt(p, Line::TotalEquity), Decimal::from(700));
    assert_eq!(amt(p, Line::TotalAssets), Decimal::from(800));
    // Rules that cannot be read are refused with their place.
    for (bad, field) in [
        (
            json!({"name": "x", "map": [{"accounts": "99-1", "line": "cash"}]}),
            "chart.map[0].accounts",
        ),
        (
            json!({"name": "x", "map": [{"accounts": "1*", "line": "cashh"}]}),
            "chart.map[0].line",
        ),
        (
            json!({"name": "x", "map": [{"accounts": "1*", "line": "dividends_paid"}]}),
            "chart.map[0].line",
        ),
        (json!({"name": "x", "map": []}), "chart.map"),
        (
            json!({"name": "", "map": [{"accounts": "1*", "line": "cash"}]}),
            "chart.name",
        ),
    ] {
        match Chart::from_json_value(&bad) {
            Err(Error::InvalidStatements { issues, .. }) => {
                assert!(issues.iter().any(|i| i.field == field), "{bad}: {issues:?}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // PCG: a bank account in overdraft is short-term debt; class-4 accounts go by the side of their balance.
    let pcg = json!({"schema": "finops.trial_balance/v1", "company": {"name": "F", "currency": "EUR"}, "chart": "pcg",
        "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "accounts": [
            {"account": "512000", "balance": "-50"}, {"account": "530000", "balance": "20"},
            {"account": "445660", "balance": "30"}, {"account": "445710", "balance": "-40"},
            {"account": "411000", "balance": "100"}, {"account": "491000", "balance": "-10"},
            {"account": "218000", "balance": "200"}, {"account": "281800", "balance": "-50"},
            {"account": "401000", "balance": "-60"},
            {"account": "706000", "balance": "-500"}, {"account": "607000", "balance": "200"},
            {"account": "606100", "balance": "100"}, {"account": "681120", "balance": "50"},
            {"account": "661100", "balance": "10"}, {"account": "695000", "balance": "20"},
            {"account": "768000", "balance": "-20"}, {"account": "671000", "balance": "0"}]}]});
    let s = ledger::read_one(
        &serde_json::to_vec(&pcg).unwrap_or_default(),
        &ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let p = s.latest();
    let d = Decimal::from;
    assert_eq!(
        (amt(p, Line::Cash), amt(p, Line::ShortTermDebt)),
        (d(20), d(50))
    );
    assert_eq!(
        (
            amt(p, Line::OtherCurrentAssets),
            amt(p, Line::OtherCurrentLiabilities)
        ),
        (d(30), d(40))
    );
    assert_eq!(
        (
            amt(p, Line::AccountsReceivable),
            amt(p, Line::PropertyPlantEquipment)
        ),
        (d(90), d(150))
    );
    assert_eq!(
        (
            amt(p, Line::CostOfGoodsSold),
            amt(p, Line::OperatingExpenses)
        ),
        (d(200), d(100))
    );
    assert_eq!(
        (
            amt(p, Line::DepreciationAmortization),
            amt(p, Line::InterestExpense)
        ),
        (d(50), d(10))
    );
    assert_eq!(
        (
            amt(p, Line::IncomeTaxExpense),
            amt(p, Line::OtherIncome),
            amt(p, Line::NetIncome)
        ),
        (d(20), d(20), d(140))
    );
    assert_eq!(amt(p, Line::TotalEquity), d(140));
}

#[test]
fn binding_shaped_inputs_are_checked_and_named() {
    use finops_core::statements::StatementsBuilder;
    // Read options as bindings pass them.
    let ok = ReadOptions::from_json_value(&json!({"format": "fec", "chart": "pcg", "company": {"name": "X"}, "unmapped": "other", "overrides": {"512000": "cash"}}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (ok.format, ok.unmapped, ok.company.name.as_deref()),
        (Format::Fec, Unmapped::Other, Some("X"))
    );
    for (bad, field) in [
        (json!({"format": "pdf"}), "format"),
        (json!({"unmapped": "maybe"}), "unmapped"),
        (json!({"overrides": {"1": "cashh"}}), "overrides.1"),
        (json!({"company": {"nom": "x"}}), "company.nom"),
        (json!({"colour": 1}), "colour"),
        (json!({"chart": "ifrs"}), "chart"),
        (json!([]), "options"),
    ] {
        match ReadOptions::from_json_value(&bad) {
            Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // The builder's JSON form: totals computed, accounts kept, bad fields named.
    let p = bistro().latest().clone();
    let mut lines = serde_json::Map::new();
    for line in Line::ALL {
        if let (Some(v), false) = (
            p.amount(*line),
            line.id().starts_with("total_") && *line != Line::TotalEquity
                || *line == Line::NetIncome,
        ) {
            lines.insert(line.id().into(), json!(v.to_string()));
        }
    }
    lines.remove("cash");
    let doc = json!({"company": {"name": "B", "currency": "CAD"}, "periods": [{"label": "FY2023", "start": "2023-01-01", "end": "2023-12-31",
        "lines": lines, "accounts": {"cash": [{"account": "1001", "name": "Caisse", "amount": amt(&p, Line::Cash).to_string()}]}}]});
    let built = StatementsBuilder::from_json_value(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        built.latest().amount(Line::TotalAssets),
        p.amount(Line::TotalAssets)
    );
    assert_eq!(
        built
            .latest()
            .accounts(Line::Cash)
            .map(|a| a[0].account.clone()),
        Some("1001".to_string())
    );
    for (edit, field) in [
        (json!({"lines": {"cashh": "1"}}), "periods[0].lines.cashh"),
        (json!({"lines": {"cash": "1,5"}}), "periods[0].lines.cash"),
        (
            json!({"accounts": {"cash": [{"name": "x", "amount": "1"}]}}),
            "periods[0].accounts.cash[0].account",
        ),
        (
            json!({"accounts": {"cash": [{"account": "1", "amount": true}]}}),
            "periods[0].accounts.cash[0].amount",
        ),
        (json!({"extra": 1}), "periods[0].extra"),
    ] {
        let mut d = doc.clone();
        for (k, v) in edit.as_object().into_iter().flatten() {
            d["periods"][0][k] = v.clone();
        }
        match StatementsBuilder::from_json_value(&d) {
            Err(Error::InvalidStatements { field: f, .. }) => assert_eq!(f, field, "{edit}"),
            other => panic!("{edit}: {other:?}"),
        }
    }
}

#[test]
fn fec_entries_split_across_the_file_are_checked_whole() {
    let header = "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise\n";
    let line = |j: &str, n: u32, account: &str, d: &str, c: &str| {
        format!("{j}|J|{n}|20240115|{account}|Compte {account}|||P|20240115|x|{d}|{c}|||||\n")
    };
    let mut ok = String::from(header);
    ok += &line("VT", 1, "411000", "120,00", "0,00");
    ok += &line("VT", 2, "411000", "60,00", "0,00");
    ok += &line("VT", 1, "706000", "0,00", "120,00");
    ok += &line("VT", 2, "706000", "0,00", "60,00");
    ok += &line("AC", 1, "607000", "10,00", "0,00");
    ok += &line("AC", 1, "512000", "0,00", "10,00");
    let s = read(&[("x.txt", ok.as_bytes())], &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(amt(s.latest(), Line::Revenue), Decimal::from(180));
    // The same journal number in two journals is two entries; an entry unbalanced across its parts is named.
    let mut bad = ok.clone();
    bad += &line("VT", 1, "706000", "0,00", "5,00");
    let issues = refusal(read(&[("x.txt", bad.as_bytes())], &fec_options()));
    assert!(
        issues
            .iter()
            .any(|(_, r)| r.contains("entry 1 of journal VT does not balance")),
        "{issues:?}"
    );
    assert!(
        !issues.iter().any(|(_, r)| r.contains("journal AC")),
        "{issues:?}"
    );
    // Montant and Sens instead of Debit and Credit.
    let sens = "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tMontant\tSens\nVT\tV\t1\t20240110\t411000\tClients\t50,00\tD\nVT\tV\t1\t20240110\t706000\tVentes\t50,00\tC\n";
    let s = read(&[("y.txt", sens.as_bytes())], &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(amt(s.latest(), Line::AccountsReceivable), Decimal::from(50));
}

#[test]
fn a_callers_chart_is_a_name_json_text_or_a_file() {
    let chart = json!({"name": "Maison", "map": [{"accounts": "1*", "line": "cash"}]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.json");
    std::fs::write(&path, chart.to_string()).unwrap();
    assert_eq!(Chart::from_argument("GIFI").ok(), Some(Chart::Gifi));
    assert_eq!(Chart::from_argument(" pcg ").ok(), Some(Chart::Pcg));
    let from_text = Chart::from_argument(&chart.to_string()).unwrap();
    let from_file = Chart::from_argument(path.to_str().unwrap()).unwrap();
    assert_eq!(from_text, from_file);
    for bad in ["ifrs", "/nonexistent/chart.json", "{not json"] {
        assert!(
            matches!(Chart::from_argument(bad), Err(Error::InvalidArgument { ref field, .. }) if field == "chart"),
            "{bad}"
        );
    }
    // Inside a document, a chart is never read as a path.
    let tb = tb_with(|tb| tb["chart"] = json!(path.to_str().unwrap()));
    assert!(ledger::read_one(&tb, &ReadOptions::default()).is_err());
    // As an option, it is.
    let options = ReadOptions::from_json_value(&json!({"chart": path.to_str().unwrap()})).unwrap();
    assert_eq!(
        options.chart.map(|c| c.name().to_string()).as_deref(),
        Some("Maison")
    );
}

#[test]
fn csv_headers_in_their_common_spellings() {
    let chart = Some(Chart::Gifi);
    let company = CompanyFields {
        name: Some("M".into()),
        currency: Some("CAD".into()),
        ..CompanyFields::default()
    };
    let options = ReadOptions {
        chart,
        company,
        ..ReadOptions::default()
    };
    for header in [
        "Exercice;Date de début;Date de fin;Numéro de compte;Intitulé;Débits;Crédits",
        "fiscal_year,start_date,end_date,GIFI code,account name,debit,credit",
    ] {
        let sep = if header.contains(';') { ";" } else { "," };
        let text = format!(
            "{header}\nFY2024{sep}2024-01-01{sep}2024-12-31{sep}1001{sep}Encaisse{sep}100{sep}0\nFY2024{sep}2024-01-01{sep}2024-12-31{sep}3600{sep}BNR{sep}0{sep}100\n"
        );
        let s =
            ledger::read_one(text.as_bytes(), &options).unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(s.latest().amount(Line::Cash), Some(Decimal::from(100)));
    }
    // An unknown column is refused (it could hold something that matters, a currency say), naming it.
    let text = "period,start,end,account,name,debit,credit,currency\n";
    match ledger::read_one(text.as_bytes(), &options) {
        Err(Error::InvalidStatements { issues, .. }) => {
            assert!(issues[0].reason.contains("\"currency\""), "{issues:?}")
        }
        other => panic!("{other:?}"),
    }
}
