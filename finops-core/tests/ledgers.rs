#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
//! Ledger inputs: statements written out as a GIFI trial balance (JSON and CSV), a PCG FEC, QuickBooks Online and
//! Xero reports, read back, give the same figures; every mapping rule and every refusal is exercised.
//!
//! The example files in `examples/data/` are what these writers produce from the Bistro fixture; run with
//! `FINOPS_WRITE_EXAMPLES=1` to write them again.

use std::collections::HashMap;

use finops_core::ledger::{self, Chart, CompanyFields, Format, ReadOptions, Source, Unmapped};
use finops_core::metrics;
use finops_core::statements::{Line, Period};
use finops_core::{Decimal, Error, Statements};
use proptest::prelude::*;
use serde_json::{Value, json};

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn data(name: &str) -> String {
    format!("{}/../examples/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn amt(p: &Period, l: Line) -> Decimal {
    p.amount_or_zero(l)
}

/// Splits an amount in two parts that add up to it exactly (the first a round share).
fn split(total: Decimal, share: i64) -> (Decimal, Decimal) {
    let first = (total * Decimal::new(share, 2)).round_dp(2);
    (first, total - first)
}

/// A period's accounts on the GIFI: (code, name, balance debit positive), with contra accounts, a split of
/// short-term debt, and the totals 1599, 2599, 3499, 8299 and 9999 as checks.
fn gifi_accounts(p: &Period) -> Vec<(&'static str, &'static str, Decimal)> {
    let allowance = (amt(p, Line::AccountsReceivable) * Decimal::new(3, 2)).round_dp(2);
    let accumulated = (amt(p, Line::PropertyPlantEquipment) * Decimal::new(40, 2)).round_dp(2);
    let (bank_loan, current_portion) = split(amt(p, Line::ShortTermDebt), 50);
    let (wages, office) = split(amt(p, Line::OperatingExpenses), 60);
    let opening = amt(p, Line::TotalEquity) - amt(p, Line::NetIncome);
    let (shares, retained) = (Decimal::from(100), opening - Decimal::from(100));
    let mut out = vec![
        ("1001", "Encaisse", amt(p, Line::Cash)),
        (
            "1062",
            "Comptes clients",
            amt(p, Line::AccountsReceivable) + allowance,
        ),
        ("1063", "Provision pour créances douteuses", -allowance),
        (
            "1484",
            "Frais payés d'avance",
            amt(p, Line::OtherCurrentAssets),
        ),
        (
            "1740",
            "Machinerie et équipement",
            amt(p, Line::PropertyPlantEquipment) + accumulated,
        ),
        ("1741", "Amortissement cumulé - machinerie", -accumulated),
        (
            "2420",
            "Autres actifs à long terme",
            amt(p, Line::OtherNonCurrentAssets),
        ),
        (
            "2621",
            "Comptes fournisseurs",
            -amt(p, Line::AccountsPayable),
        ),
        ("2701", "Emprunt bancaire", -bank_loan),
        (
            "2920",
            "Tranche de la dette à long terme échéant à moins d'un an",
            -current_portion,
        ),
        (
            "2680",
            "Impôts à payer",
            -amt(p, Line::OtherCurrentLiabilities),
        ),
        (
            "3143",
            "Emprunt bancaire à long terme",
            -amt(p, Line::LongTermDebt),
        ),
        (
            "3320",
            "Autres passifs à long terme",
            -amt(p, Line::OtherNonCurrentLiabilities),
        ),
        ("3500", "Actions ordinaires", -shares),
        ("3600", "Bénéfices non répartis", -retained),
        ("8000", "Ventes", -amt(p, Line::Revenue)),
        (
            "8320",
            "Achats",
            amt(p, Line::CostOfGoodsSold) + amt(p, Line::Inventory),
        ),
        ("8500", "Stock de clôture", -amt(p, Line::Inventory)),
        ("9060", "Salaires", wages),
        ("8810", "Frais de bureau", office),
        (
            "8670",
            "Amortissement des immobilisations corporelles",
            amt(p, Line::DepreciationAmortization),
        ),
        (
            "8714",
            "Intérêts sur la dette à long terme",
            amt(p, Line::InterestExpense),
        ),
        (
            "9990",
            "Impôts sur le revenu exigibles",
            amt(p, Line::IncomeTaxExpense),
        ),
        (
            "1599",
            "Total de l'actif à court terme",
            amt(p, Line::TotalCurrentAssets),
        ),
        ("2599", "Total de l'actif", amt(p, Line::TotalAssets)),
        ("3499", "Total du passif", -amt(p, Line::TotalLiabilities)),
        (
            "8299",
            "Total des revenus",
            -(amt(p, Line::Revenue) + amt(p, Line::OtherIncome)),
        ),
        (
            "9999",
            "Bénéfice net après impôts",
            -amt(p, Line::NetIncome),
        ),
    ];
    if let Some(v) = p.amount(Line::MarketableSecurities) {
        out.push(("1181", "Dépôts à terme canadiens", v));
    }
    if let Some(v) = p.amount(Line::Inventory) {
        out.push(("1121", "Stocks de marchandises", v));
    }
    if let Some(v) = p.amount(Line::OtherIncome) {
        out.push(("8090", "Revenus de placements", -v));
    }
    out
}

fn gifi_trial_balance(s: &Statements) -> Value {
    let c = s.company();
    let periods: Vec<Value> = s
        .periods()
        .iter()
        .map(|p| {
            let accounts: Vec<Value> = gifi_accounts(p)
                .into_iter()
                .map(|(code, name, b)| {
                    if b.is_sign_negative() {
                        json!({"account": code, "name": name, "debit": "0", "credit": (-b).to_string()})
                    } else {
                        json!({"account": code, "name": name, "debit": b.to_string(), "credit": "0"})
                    }
                })
                .collect();
            let mut period = json!({"label": &*p.label, "start": p.start.to_string(), "end": p.end.to_string(), "accounts": accounts});
            if p.has_cash_flow() {
                period["cash_flow"] = json!({
                    "operating_cash_flow": amt(p, Line::OperatingCashFlow).to_string(),
                    "capital_expenditures": amt(p, Line::CapitalExpenditures).to_string(),
                    "dividends_paid": amt(p, Line::DividendsPaid).to_string(),
                });
            }
            period
        })
        .collect();
    json!({
        "schema": "finops.trial_balance/v1",
        "company": {"name": c.name, "sector": c.sector, "naics": c.naics, "jurisdiction": c.jurisdiction, "currency": c.currency},
        "chart": "gifi",
        "periods": periods,
    })
}

/// The same balances as a French CSV: `;` separated, comma decimals, one signed `solde` column.
fn gifi_csv(s: &Statements) -> String {
    let mut out = String::from("période;début;fin;compte;libellé;solde\n");
    for p in s.periods() {
        for (code, name, b) in gifi_accounts(p) {
            out.push_str(&format!(
                "{};{};{};{code};{name};{}\n",
                p.label,
                p.start,
                p.end,
                b.to_string().replace('.', ",")
            ));
        }
    }
    out
}

/// A period's accounts on the PCG: (account, name, closing balance debit positive).
fn pcg_accounts(
    p: &Period,
) -> (
    Vec<(&'static str, &'static str, Decimal)>,
    Vec<(&'static str, &'static str, Decimal)>,
) {
    let accumulated = (amt(p, Line::PropertyPlantEquipment) * Decimal::new(35, 2)).round_dp(2);
    let impairment = (amt(p, Line::AccountsReceivable) * Decimal::new(2, 2)).round_dp(2);
    let (salaries, rent) = split(amt(p, Line::OperatingExpenses), 70);
    let opening = amt(p, Line::TotalEquity) - amt(p, Line::NetIncome);
    let (capital, carried) = (Decimal::from(1000), opening - Decimal::from(1000));
    let (staff, vat) = split(amt(p, Line::OtherCurrentLiabilities), 50);
    let mut balance = vec![
        (
            "411000",
            "Clients",
            amt(p, Line::AccountsReceivable) + impairment,
        ),
        ("491000", "Dépréciation des comptes clients", -impairment),
        (
            "486000",
            "Charges constatées d'avance",
            amt(p, Line::OtherCurrentAssets),
        ),
        (
            "215400",
            "Matériel industriel",
            amt(p, Line::PropertyPlantEquipment) + accumulated,
        ),
        (
            "281540",
            "Amortissement du matériel industriel",
            -accumulated,
        ),
        (
            "275000",
            "Dépôts et cautionnements versés",
            amt(p, Line::OtherNonCurrentAssets),
        ),
        ("401000", "Fournisseurs", -amt(p, Line::AccountsPayable)),
        (
            "519000",
            "Concours bancaires courants",
            -amt(p, Line::ShortTermDebt),
        ),
        ("421000", "Personnel - rémunérations dues", -staff),
        ("445710", "TVA collectée", -vat),
        (
            "164000",
            "Emprunts auprès des établissements de crédit",
            -amt(p, Line::LongTermDebt),
        ),
        (
            "151000",
            "Provisions pour risques",
            -amt(p, Line::OtherNonCurrentLiabilities),
        ),
        ("101300", "Capital souscrit - appelé, versé", -capital),
        ("110000", "Report à nouveau", -carried),
    ];
    if let Some(v) = p.amount(Line::MarketableSecurities) {
        balance.push(("503000", "Actions", v));
    }
    if let Some(v) = p.amount(Line::Inventory) {
        balance.push(("370000", "Stocks de marchandises", v));
    }
    let mut result = vec![
        ("706000", "Prestations de services", -amt(p, Line::Revenue)),
        (
            "607000",
            "Achats de marchandises",
            amt(p, Line::CostOfGoodsSold),
        ),
        ("641100", "Salaires, appointements", salaries),
        ("613200", "Locations immobilières", rent),
        (
            "681120",
            "Dotations aux amortissements des immobilisations corporelles",
            amt(p, Line::DepreciationAmortization),
        ),
        (
            "661160",
            "Intérêts des emprunts et dettes",
            amt(p, Line::InterestExpense),
        ),
        (
            "695000",
            "Impôts sur les bénéfices",
            amt(p, Line::IncomeTaxExpense),
        ),
    ];
    if let Some(v) = p.amount(Line::OtherIncome) {
        result.push(("768000", "Autres produits financiers", -v));
    }
    (balance, result)
}

fn fec_amount(d: Decimal) -> String {
    format!("{:.2}", d).replace('.', ",")
}

/// One fiscal year as an FEC: the opening journal (AN) brings the balance sheet, a bank line balancing it; each
/// income statement account then moves through the bank in its own entry, so the bank closes at the statement's cash.
fn fec(p: &Period) -> String {
    let (balance, result) = pcg_accounts(p);
    let date = p.start.format("%Y%m%d").to_string();
    let end = p.end.format("%Y%m%d").to_string();
    let mut out = String::from(
        "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise\n",
    );
    let mut row = |journal: &str, num: usize, date: &str, account: &str, name: &str, b: Decimal| {
        let (d, c) = if b.is_sign_negative() {
            (Decimal::ZERO, -b)
        } else {
            (b, Decimal::ZERO)
        };
        let journal_name = if journal == "AN" {
            "A nouveaux"
        } else {
            "Banque"
        };
        out.push_str(&format!(
            "{journal}\t{journal_name}\t{num}\t{date}\t{account}\t{name}\t\t\tP{num}\t{date}\t{name}\t{}\t{}\t\t\t{date}\t\t\n",
            fec_amount(d),
            fec_amount(c)
        ));
    };
    let mut opening_bank = amt(p, Line::Cash);
    for (_, _, b) in &result {
        opening_bank += *b;
    }
    for (account, name, b) in &balance {
        row("AN", 1, &date, account, name, *b);
    }
    row("AN", 1, &date, "512000", "Banque", opening_bank);
    for (n, (account, name, b)) in result.iter().enumerate() {
        row("BQ", n + 2, &end, account, name, *b);
        row("BQ", n + 2, &end, "512000", "Banque", -*b);
    }
    out
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d)
}

/// QuickBooks Online's three reports, one column per period.
fn quickbooks(s: &Statements) -> Value {
    let periods = s.periods();
    let columns: Vec<Value> = std::iter::once(json!({"ColTitle": "", "ColType": "Account"}))
        .chain(periods.iter().map(|p| {
            json!({"ColTitle": format!("Jan - Dec {}", p.end.format("%Y")), "ColType": "Money",
                   "MetaData": [{"Name": "StartDate", "Value": p.start.to_string()}, {"Name": "EndDate", "Value": p.end.to_string()}]})
        }))
        .collect();
    let cells = |name: &str, id: Option<&str>, f: &dyn Fn(&Period) -> Decimal| {
        let mut first = json!({"value": name});
        if let Some(id) = id {
            first["id"] = json!(id);
        }
        let mut out = vec![first];
        out.extend(periods.iter().map(|p| json!({"value": money(f(p))})));
        Value::Array(out)
    };
    let data = |name: &str, id: &str, f: &dyn Fn(&Period) -> Decimal| json!({"type": "Data", "ColData": cells(name, Some(id), f)});
    let section = |group: &str,
                   title: &str,
                   rows: Vec<Value>,
                   total: &dyn Fn(&Period) -> Decimal| {
        json!({"type": "Section", "group": group, "Header": {"ColData": [{"value": title}]}, "Rows": {"Row": rows},
               "Summary": {"ColData": cells(&format!("Total {title}"), None, total)}})
    };
    let opt = |l: Line| move |p: &Period| amt(p, l);
    let header = |name: &str| json!({"ReportName": name, "StartPeriod": periods[0].start.to_string(), "EndPeriod": s.latest().end.to_string(), "Currency": s.company().currency, "SummarizeColumnsBy": "Year"});
    let accumulated =
        |p: &Period| (amt(p, Line::PropertyPlantEquipment) * Decimal::new(30, 2)).round_dp(2);
    let balance_sheet = json!({
        "Header": header("BalanceSheet"),
        "Columns": {"Column": columns.clone()},
        "Rows": {"Row": [
            section("TotalAssets", "ASSETS", vec![
                section("CurrentAssets", "Current Assets", vec![
                    section("BankAccounts", "Bank Accounts", vec![data("Chequing", "35", &opt(Line::Cash))], &opt(Line::Cash)),
                    section("AR", "Accounts Receivable", vec![data("Accounts Receivable (A/R)", "84", &opt(Line::AccountsReceivable))], &opt(Line::AccountsReceivable)),
                    section("OtherCurrentAssets", "Other Current Assets", vec![
                        data("Inventory Asset", "81", &opt(Line::Inventory)),
                        data("Short-term investments", "82", &opt(Line::MarketableSecurities)),
                        data("Prepaid Expenses", "83", &opt(Line::OtherCurrentAssets)),
                    ], &|p| amt(p, Line::Inventory) + amt(p, Line::MarketableSecurities) + amt(p, Line::OtherCurrentAssets)),
                ], &opt(Line::TotalCurrentAssets)),
                section("FixedAssets", "Fixed Assets", vec![
                    data("Kitchen Equipment", "40", &|p| amt(p, Line::PropertyPlantEquipment) + accumulated(p)),
                    data("Accumulated Depreciation", "41", &|p| -accumulated(p)),
                ], &opt(Line::PropertyPlantEquipment)),
                section("OtherAssets", "Other Assets", vec![data("Security Deposits", "45", &opt(Line::OtherNonCurrentAssets))], &opt(Line::OtherNonCurrentAssets)),
            ], &opt(Line::TotalAssets)),
            section("TotalLiabilitiesAndEquity", "LIABILITIES AND EQUITY", vec![
                section("Liabilities", "Liabilities", vec![
                    section("CurrentLiabilities", "Current Liabilities", vec![
                        section("AP", "Accounts Payable", vec![data("Accounts Payable (A/P)", "33", &opt(Line::AccountsPayable))], &opt(Line::AccountsPayable)),
                        section("OtherCurrentLiabilities", "Other Current Liabilities", vec![
                            data("Line of Credit", "60", &opt(Line::ShortTermDebt)),
                            data("GST/QST Payable", "61", &opt(Line::OtherCurrentLiabilities)),
                        ], &|p| amt(p, Line::ShortTermDebt) + amt(p, Line::OtherCurrentLiabilities)),
                    ], &opt(Line::TotalCurrentLiabilities)),
                    section("LongTermLiabilities", "Long-Term Liabilities", vec![
                        data("Bank Loan", "70", &opt(Line::LongTermDebt)),
                        data("Deferred Lease Inducements", "71", &opt(Line::OtherNonCurrentLiabilities)),
                    ], &|p| amt(p, Line::LongTermDebt) + amt(p, Line::OtherNonCurrentLiabilities)),
                ], &opt(Line::TotalLiabilities)),
                section("Equity", "Equity", vec![
                    data("Share Capital", "90", &|_| Decimal::from(100)),
                    data("Retained Earnings", "91", &|p| amt(p, Line::TotalEquity) - amt(p, Line::NetIncome) - Decimal::from(100)),
                    json!({"type": "Data", "ColData": cells("Net Income", None, &opt(Line::NetIncome))}),
                ], &opt(Line::TotalEquity)),
            ], &|p| amt(p, Line::TotalLiabilities) + amt(p, Line::TotalEquity)),
        ]}
    });
    let profit_and_loss = json!({
        "Header": header("ProfitAndLoss"),
        "Columns": {"Column": columns.clone()},
        "Rows": {"Row": [
            section("Income", "Income", vec![data("Food Sales", "1", &opt(Line::Revenue))], &opt(Line::Revenue)),
            section("COGS", "Cost of Goods Sold", vec![data("Cost of Goods Sold", "2", &opt(Line::CostOfGoodsSold))], &opt(Line::CostOfGoodsSold)),
            json!({"type": "Section", "group": "GrossProfit", "Summary": {"ColData": cells("Gross Profit", None, &|p| amt(p, Line::Revenue) - amt(p, Line::CostOfGoodsSold))}}),
            section("Expenses", "Expenses", vec![
                data("Wages", "3", &opt(Line::OperatingExpenses)),
                data("Depreciation Expense", "4", &opt(Line::DepreciationAmortization)),
                data("Interest Expense", "5", &opt(Line::InterestExpense)),
            ], &|p| amt(p, Line::OperatingExpenses) + amt(p, Line::DepreciationAmortization) + amt(p, Line::InterestExpense)),
            section("OtherIncome", "Other Income", vec![data("Investment Income", "6", &opt(Line::OtherIncome))], &opt(Line::OtherIncome)),
            section("OtherExpenses", "Other Expenses", vec![data("Income Tax Expense", "7", &opt(Line::IncomeTaxExpense))], &opt(Line::IncomeTaxExpense)),
            json!({"type": "Section", "group": "NetIncome", "Summary": {"ColData": cells("Net Income", None, &opt(Line::NetIncome))}}),
        ]}
    });
    let cash_flow = json!({
        "Header": header("CashFlow"),
        "Columns": {"Column": columns},
        "Rows": {"Row": [
            section("OperatingActivities", "OPERATING ACTIVITIES", vec![
                json!({"type": "Data", "ColData": cells("Net Income", None, &opt(Line::NetIncome))}),
                section("OperatingAdjustments", "Adjustments", vec![
                    json!({"type": "Data", "ColData": cells("Adjustments to reconcile", None, &|p| amt(p, Line::OperatingCashFlow) - amt(p, Line::NetIncome))}),
                ], &|p| amt(p, Line::OperatingCashFlow) - amt(p, Line::NetIncome)),
            ], &opt(Line::OperatingCashFlow)),
            section("InvestingActivities", "INVESTING ACTIVITIES", vec![
                data("Kitchen Equipment", "40", &|p| -amt(p, Line::CapitalExpenditures)),
            ], &|p| -amt(p, Line::CapitalExpenditures)),
            section("FinancingActivities", "FINANCING ACTIVITIES", vec![
                json!({"type": "Data", "ColData": cells("Dividends Paid", None, &|p| -amt(p, Line::DividendsPaid))}),
            ], &|p| -amt(p, Line::DividendsPaid)),
        ]}
    });
    json!([balance_sheet, profit_and_loss, cash_flow])
}

/// Xero's Balance Sheet and Profit and Loss, as the Reports API returns them.
fn xero(s: &Statements) -> Value {
    let periods: Vec<&Period> = s.periods().iter().rev().collect();
    let header = {
        let mut cells = vec![json!({"Value": ""})];
        cells.extend(
            periods
                .iter()
                .map(|p| json!({"Value": p.end.format("%-d %b %Y").to_string()})),
        );
        json!({"RowType": "Header", "Cells": cells})
    };
    let cells = |name: &str, id: Option<&str>, f: &dyn Fn(&Period) -> Decimal| {
        let mut first = json!({"Value": name});
        if let Some(id) = id {
            first["Attributes"] = json!([{"Value": id, "Id": "account"}]);
        }
        let mut out = vec![first];
        out.extend(periods.iter().map(|p| json!({"Value": money(f(p))})));
        Value::Array(out)
    };
    let row = |name: &str, id: &str, f: &dyn Fn(&Period) -> Decimal| json!({"RowType": "Row", "Cells": cells(name, Some(id), f)});
    let section =
        |title: &str, rows: Vec<Value>, total: Option<(&str, &dyn Fn(&Period) -> Decimal)>| {
            let mut rows = rows;
            if let Some((name, f)) = total {
                rows.push(json!({"RowType": "SummaryRow", "Cells": cells(name, None, f)}));
            }
            json!({"RowType": "Section", "Title": title, "Rows": rows})
        };
    let opt = |l: Line| move |p: &Period| amt(p, l);
    let name = &s.company().name;
    let accumulated =
        |p: &Period| (amt(p, Line::PropertyPlantEquipment) * Decimal::new(25, 2)).round_dp(2);
    let balance_sheet = json!({
        "ReportID": "BalanceSheet", "ReportName": "Balance Sheet", "ReportType": "BalanceSheet",
        "ReportTitles": ["Balance Sheet", name, format!("As at {}", s.latest().end.format("%-d %B %Y"))],
        "ReportDate": s.latest().end.format("%-d %b %Y").to_string(),
        "Rows": [
            header.clone(),
            section("Assets", vec![], None),
            section("Bank", vec![row("Business Bank Account", "b1", &opt(Line::Cash))], Some(("Total Bank", &opt(Line::Cash)))),
            section("Current Assets", vec![
                row("Accounts Receivable", "c1", &opt(Line::AccountsReceivable)),
                row("Inventory", "c2", &opt(Line::Inventory)),
                row("Term Deposits", "c3", &opt(Line::MarketableSecurities)),
                row("Prepayments", "c4", &opt(Line::OtherCurrentAssets)),
            ], Some(("Total Current Assets", &|p| amt(p, Line::TotalCurrentAssets) - amt(p, Line::Cash)))),
            section("Fixed Assets", vec![
                row("Kitchen Equipment", "f1", &|p| amt(p, Line::PropertyPlantEquipment) + accumulated(p)),
                row("Less Accumulated Depreciation on Kitchen Equipment", "f2", &|p| -accumulated(p)),
            ], Some(("Total Fixed Assets", &opt(Line::PropertyPlantEquipment)))),
            section("Non-current Assets", vec![row("Rental Bond", "n1", &opt(Line::OtherNonCurrentAssets))], None),
            section("", vec![json!({"RowType": "Row", "Cells": cells("Total Assets", None, &opt(Line::TotalAssets))})], None),
            section("Liabilities", vec![], None),
            section("Current Liabilities", vec![
                row("Accounts Payable", "l1", &opt(Line::AccountsPayable)),
                row("Bank Loan - current portion", "l2", &opt(Line::ShortTermDebt)),
                row("GST", "l3", &opt(Line::OtherCurrentLiabilities)),
            ], Some(("Total Current Liabilities", &opt(Line::TotalCurrentLiabilities)))),
            section("Non-Current Liabilities", vec![
                row("Bank Loan", "l4", &opt(Line::LongTermDebt)),
                row("Lease Incentive", "l5", &opt(Line::OtherNonCurrentLiabilities)),
            ], None),
            section("", vec![json!({"RowType": "Row", "Cells": cells("Total Liabilities", None, &opt(Line::TotalLiabilities))})], None),
            section("", vec![json!({"RowType": "Row", "Cells": cells("Net Assets", None, &|p| amt(p, Line::TotalEquity))})], None),
            section("Equity", vec![
                row("Current Year Earnings", "e1", &opt(Line::NetIncome)),
                row("Retained Earnings", "e2", &|p| amt(p, Line::TotalEquity) - amt(p, Line::NetIncome)),
            ], Some(("Total Equity", &opt(Line::TotalEquity)))),
        ]
    });
    let profit_and_loss = json!({
        "ReportID": "ProfitAndLoss", "ReportName": "Profit and Loss", "ReportType": "ProfitAndLoss",
        "ReportTitles": ["Profit & Loss", name, format!("For the year ended {}", s.latest().end.format("%-d %B %Y"))],
        "ReportDate": s.latest().end.format("%-d %b %Y").to_string(),
        "Rows": [
            header,
            section("Income", vec![row("Sales", "i1", &opt(Line::Revenue))], Some(("Total Income", &opt(Line::Revenue)))),
            section("Less Cost of Sales", vec![row("Cost of Goods Sold", "i2", &opt(Line::CostOfGoodsSold))], None),
            section("", vec![json!({"RowType": "Row", "Cells": cells("Gross Profit", None, &|p| amt(p, Line::Revenue) - amt(p, Line::CostOfGoodsSold))})], None),
            section("Plus Other Income", vec![row("Interest Income", "i3", &opt(Line::OtherIncome))], None),
            section("Less Operating Expenses", vec![
                row("Wages and Salaries", "x1", &opt(Line::OperatingExpenses)),
                row("Depreciation", "x2", &opt(Line::DepreciationAmortization)),
                row("Interest Expense", "x3", &opt(Line::InterestExpense)),
                row("Income Tax Expense", "x4", &opt(Line::IncomeTaxExpense)),
            ], None),
            section("", vec![json!({"RowType": "Row", "Cells": cells("Net Profit", None, &opt(Line::NetIncome))})], None),
        ]
    });
    json!({"Reports": [balance_sheet, profit_and_loss]})
}

/// Every figure's value by id, optionally without the cash flow metrics (formats without a cash flow statement).
fn values(s: &Statements, with_cash_flow: bool) -> HashMap<String, Option<Decimal>> {
    metrics::compute_all(s)
        .into_iter()
        .filter(|f| {
            with_cash_flow
                || !f.inputs.iter().any(|i| {
                    [
                        "operating_cash_flow",
                        "capital_expenditures",
                        "dividends_paid",
                    ]
                    .contains(&&*i.line)
                }) && f.reason.as_deref() != Some("no cash flow statement for this period")
        })
        .map(|f| (f.id, f.value.map(|v| v.normalize())))
        .collect()
}

fn same_figures(what: &str, expected: &Statements, got: &Statements, with_cash_flow: bool) {
    for (a, b) in expected.periods().iter().zip(got.periods()) {
        for line in Line::ALL {
            if with_cash_flow || line.section() != finops_core::statements::Section::CashFlow {
                assert_eq!(
                    a.amount(*line),
                    b.amount(*line),
                    "{what}: {} {line}",
                    a.label
                );
            }
        }
    }
    let want = values(expected, with_cash_flow);
    let have = values(got, with_cash_flow);
    assert!(!want.is_empty());
    for (id, v) in &want {
        assert_eq!(have.get(id), Some(v), "{what}: {id}");
    }
}

fn read(sources: &[(&str, &[u8])], options: &ReadOptions) -> finops_core::Result<Statements> {
    let sources: Vec<Source<'_>> = sources.iter().map(|(n, b)| Source::named(n, b)).collect();
    ledger::read(&sources, options)
}

fn fec_options() -> ReadOptions {
    ReadOptions {
        company: CompanyFields {
            name: Some("Bistro Saint-Denis SAS".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    }
}

fn fec_name(p: &Period) -> String {
    format!("552100554FEC{}.txt", p.end.format("%Y%m%d"))
}

#[test]
fn examples_are_the_bistro_in_every_format() {
    let s = bistro();
    let files: Vec<(String, Vec<u8>)> = {
        let mut f = vec![
            (
                "bistro-saint-denis.gifi.json".to_string(),
                serde_json::to_vec_pretty(&gifi_trial_balance(&s)).unwrap_or_default(),
            ),
            (
                "bistro-saint-denis.gifi.csv".to_string(),
                gifi_csv(&s).into_bytes(),
            ),
            (
                "bistro-saint-denis.quickbooks.json".to_string(),
                serde_json::to_vec_pretty(&quickbooks(&s)).unwrap_or_default(),
            ),
            (
                "bistro-saint-denis.xero.json".to_string(),
                serde_json::to_vec_pretty(&xero(&s)).unwrap_or_default(),
            ),
        ];
        for p in s.periods() {
            f.push((format!("fec/{}", fec_name(p)), fec(p).into_bytes()));
        }
        f
    };
    if std::env::var("FINOPS_WRITE_EXAMPLES").is_ok() {
        for (name, bytes) in &files {
            let path = data(name);
            if let Some(dir) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(dir).unwrap_or_default();
            }
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    // The shipped files are what the writers produce, and each reads back to the same figures.
    for (name, bytes) in &files {
        let shipped = std::fs::read(data(name)).unwrap_or_default();
        assert!(
            shipped == *bytes,
            "{name} is stale: run with FINOPS_WRITE_EXAMPLES=1"
        );
    }
    let gifi = std::fs::read(data("bistro-saint-denis.gifi.json")).unwrap_or_default();
    let from_gifi = read(
        &[("bistro-saint-denis.gifi.json", &gifi)],
        &ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    same_figures("gifi", &s, &from_gifi, true);
    assert_eq!(from_gifi.company(), s.company());

    let csv = std::fs::read(data("bistro-saint-denis.gifi.csv")).unwrap_or_default();
    let options = ReadOptions {
        chart: Some(Chart::Gifi),
        company: CompanyFields {
            name: Some("Bistro Saint-Denis inc.".into()),
            currency: Some("CAD".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_csv = read(&[("tb.csv", &csv)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("csv", &s, &from_csv, false);

    let fecs: Vec<(String, Vec<u8>)> = s
        .periods()
        .iter()
        .map(|p| {
            (
                fec_name(p),
                std::fs::read(data(&format!("fec/{}", fec_name(p)))).unwrap_or_default(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = fecs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let from_fec = read(&refs, &fec_options()).unwrap_or_else(|e| panic!("{e}"));
    same_figures("fec", &s, &from_fec, false);
    assert_eq!(from_fec.company().currency, "EUR");
    assert_eq!(from_fec.company().jurisdiction.as_deref(), Some("FR"));

    let qbo = std::fs::read(data("bistro-saint-denis.quickbooks.json")).unwrap_or_default();
    let options = ReadOptions {
        company: CompanyFields {
            name: Some("Bistro Saint-Denis inc.".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_qbo = read(&[("qbo.json", &qbo)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("qbo", &s, &from_qbo, true);

    let x = std::fs::read(data("bistro-saint-denis.xero.json")).unwrap_or_default();
    let options = ReadOptions {
        company: CompanyFields {
            currency: Some("CAD".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let from_xero = read(&[("xero.json", &x)], &options).unwrap_or_else(|e| panic!("{e}"));
    same_figures("xero", &s, &from_xero, false);
    assert_eq!(from_xero.company().name, "Bistro Saint-Denis inc.");
}

#[test]
fn formats_are_detected_from_content() {
    let s = bistro();
    let cases: Vec<(Vec<u8>, Format)> = vec![
        (
            std::fs::read(data("bistro-saint-denis.json")).unwrap_or_default(),
            Format::Statements,
        ),
        (
            serde_json::to_vec(&gifi_trial_balance(&s)).unwrap_or_default(),
            Format::TrialBalance,
        ),
        (gifi_csv(&s).into_bytes(), Format::Csv),
        (fec(s.latest()).into_bytes(), Format::Fec),
        (
            serde_json::to_vec(&quickbooks(&s)).unwrap_or_default(),
            Format::QuickBooks,
        ),
        (
            serde_json::to_vec(&xero(&s)).unwrap_or_default(),
            Format::Xero,
        ),
    ];
    for (bytes, format) in cases {
        assert_eq!(ledger::detect(&bytes), Ok(format));
    }
    for bad in [
        &b""[..],
        b"   ",
        b"hello world",
        b"{\"a\": 1}",
        b"{\"schema\": \"x/v9\"}",
        b"{not json",
        b"a,b,c\n1,2,3",
    ] {
        let e = ledger::read_one(bad, &ReadOptions::default()).err();
        assert!(
            matches!(e, Some(Error::InvalidStatements { .. })),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn provenance_leads_from_a_figure_to_its_accounts() {
    let s = bistro();
    let tb = serde_json::to_vec(&gifi_trial_balance(&s)).unwrap_or_default();
    let read = ledger::read_one(&tb, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let fy = read.period("FY2023").unwrap_or_else(|| panic!("FY2023"));
    // Contra accounts net against their assets, and each line's accounts add up to it.
    let ppe = fy
        .accounts(Line::PropertyPlantEquipment)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        ppe.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(),
        ["1740", "1741"]
    );
    assert!(ppe[1].amount.is_sign_negative());
    for line in Line::ALL {
        if let Some(list) = fy.accounts(*line) {
            assert_eq!(
                list.iter().map(|a| a.amount).sum::<Decimal>(),
                amt(fy, *line),
                "{line}"
            );
        }
    }
    // Totals are made of their lines' accounts; check accounts are never among them.
    let assets = fy.accounts(Line::TotalAssets).cloned().unwrap_or_default();
    assert!(
        assets.iter().any(|a| a.account == "1001") && !assets.iter().any(|a| a.account == "2599")
    );
    // Equity holds the period's result: the income statement's accounts.
    let equity = fy.accounts(Line::TotalEquity).cloned().unwrap_or_default();
    assert!(
        equity.iter().any(|a| a.account == "8000") && equity.iter().any(|a| a.account == "3600")
    );
    let figures = metrics::compute_all(&read);
    let margin = figures
        .iter()
        .find(|f| f.id == "gross_margin@FY2023")
        .unwrap_or_else(|| panic!("margin"));
    let revenue = margin
        .inputs
        .iter()
        .find(|i| i.line == "revenue")
        .unwrap_or_else(|| panic!("revenue input"));
    assert_eq!(
        revenue.accounts.as_deref().map(|a| a[0].account.as_str()),
        Some("8000")
    );
    let json = serde_json::to_value(margin).unwrap_or_default();
    assert_eq!(json["inputs"][0]["accounts"][0]["account"], "8000");
    // A statements document has no accounts, and its figures say nothing of them.
    let plain = metrics::compute_all(&s);
    assert!(
        plain
            .iter()
            .all(|f| f.inputs.iter().all(|i| i.accounts.is_none()))
    );
    assert_ne!(read.fingerprint(), s.fingerprint());
    // The canonical JSON carries the accounts in a form the parser reads back (a queued job keeps them).
    let again = Statements::from_json_str(&read.canonical_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.fingerprint(), read.fingerprint());
    assert_eq!(
        again
            .period("FY2023")
            .and_then(|p| p.accounts(Line::PropertyPlantEquipment))
            .map(|a| a.len()),
        Some(2)
    );
    // Accounts that do not add up to their line, or name no line, are refused with their place.
    let mut doc: Value = serde_json::from_str(&read.canonical_json()).unwrap_or_default();
    doc["periods"][0]["accounts"]["cash"][0]["amount"] = json!("1.00");
    doc["periods"][1]["accounts"]["cashh"] = json!([]);
    doc["periods"][2]["accounts"]["cash"][0]["account"] = json!(12);
    let issues = refusal(Statements::from_json_value(&doc));
    for field in [
        "periods[0].accounts.cash",
        "periods[1].accounts.cashh",
        "periods[2].accounts.cash[0].account",
    ] {
        assert!(
            issues.iter().any(|(f, _)| f == field),
            "{field}: {issues:?}"
        );
    }
}

fn refusal(result: finops_core::Result<Statements>) -> Vec<(String, String)> {
    match result {
        Err(Error::InvalidStatements { issues, .. }) => {
            issues.into_iter().map(|i| (i.field, i.reason)).collect()
        }
        Err(e) => panic!("expected a refusal naming the place, got {e}"),
        Ok(_) => panic!("accepted"),
    }
}

fn tb_with(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut tb = gifi_trial_balance(&bistro());
    edit(&mut tb);
    serde_json::to_vec(&tb).unwrap_or_default()
}

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
fn builder_computes_totals_and_validates_like_json() {
    use finops_core::statements::{AccountAmount, Company, PeriodBuilder};
    let s = bistro();
    let p = s.latest();
    let mut period = PeriodBuilder::new(&*p.label, p.start.to_string(), p.end.to_string());
    for line in Line::ALL {
        let total = matches!(
            line,
            Line::TotalAssets
                | Line::TotalCurrentAssets
                | Line::TotalLiabilities
                | Line::TotalCurrentLiabilities
                | Line::NetIncome
        );
        if let (Some(v), false) = (p.amount(*line), total) {
            period.set(*line, v);
        }
    }
    let built = Statements::builder(s.company().clone())
        .period(period.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for line in Line::ALL {
        assert_eq!(built.latest().amount(*line), p.amount(*line), "{line}");
    }
    // A given total that disagrees is refused where JSON would refuse it.
    let wrong = period.clone().line(Line::TotalCurrentAssets, Decimal::ONE);
    let issues = refusal(
        Statements::builder(s.company().clone())
            .period(wrong)
            .build(),
    );
    assert!(
        issues
            .iter()
            .any(|(f, _)| f == "periods[0].balance_sheet.total_current_assets"),
        "{issues:?}"
    );
    // Accounts and an amount that disagree; a missing required line; a bad date; a bad company.
    let acct = |a: &str, v: i64| AccountAmount {
        account: a.into(),
        name: String::new(),
        amount: Decimal::from(v),
    };
    let disagree = period
        .clone()
        .line(Line::Cash, Decimal::ONE)
        .account(Line::Cash, acct("1001", 2));
    let issues = refusal(
        Statements::builder(s.company().clone())
            .period(disagree)
            .build(),
    );
    assert!(issues.iter().any(|(f, r)| f == "periods[0].balance_sheet.cash" && r.contains("sum of its accounts")), "{issues:?}");
    let issues = refusal(
        Statements::builder(Company::new("X", "CAD"))
            .period(PeriodBuilder::new("FY", "2024-01-01", "2024-13-01"))
            .build(),
    );
    assert!(
        issues.iter().any(|(f, _)| f == "periods[0].end")
            && issues
                .iter()
                .any(|(f, _)| f == "periods[0].income_statement.revenue"),
        "{issues:?}"
    );
    let issues = refusal(
        Statements::builder(Company::new("", "cad"))
            .period(period)
            .build(),
    );
    assert!(
        issues.iter().any(|(f, _)| f == "company.currency"),
        "{issues:?}"
    );
    // Overflowing sums are refused, not wrapped or panicked on.
    let huge = PeriodBuilder::new("FY", "2024-01-01", "2024-12-31")
        .account(
            Line::Cash,
            AccountAmount {
                amount: Decimal::MAX,
                ..acct("1", 0)
            },
        )
        .account(
            Line::Cash,
            AccountAmount {
                amount: Decimal::MAX,
                ..acct("2", 0)
            },
        );
    assert!(
        Statements::builder(Company::new("X", "CAD"))
            .period(huge)
            .build()
            .is_err()
    );
}

fn arb_period() -> impl Strategy<Value = Vec<(String, i64)>> {
    // Any set of GIFI accounts with balances in cents; the last account balances the period.
    let codes = prop::sample::select(vec![
        "1001", "1062", "1063", "1121", "1181", "1484", "1740", "1741", "2012", "2420", "2600",
        "2621", "2680", "2701", "2920", "3143", "3320", "3500", "3600", "3700", "8000", "8090",
        "8320", "8500", "8670", "8714", "8810", "9060", "9975", "9990",
    ]);
    prop::collection::btree_map(codes, -10_000_000i64..10_000_000, 1..20)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any balanced trial balance that finops accepts gives statements that satisfy the balance identity exactly,
    /// and each line is the sum of its accounts.
    #[test]
    fn balanced_trial_balances_satisfy_the_identity(accounts in arb_period()) {
        let mut list: Vec<Value> = Vec::new();
        let mut sum = 0i64;
        for (code, cents) in &accounts {
            if code == "3600" { continue; }
            sum += cents;
            list.push(json!({"account": code, "balance": Decimal::new(*cents, 2).to_string()}));
        }
        list.push(json!({"account": "3600", "balance": Decimal::new(-sum, 2).to_string()}));
        let tb = json!({"schema": "finops.trial_balance/v1", "company": {"name": "P", "currency": "CAD"}, "chart": "gifi",
            "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "accounts": list}]});
        match ledger::read_one(&serde_json::to_vec(&tb).unwrap_or_default(), &ReadOptions::default()) {
            Ok(s) => {
                let p = s.latest();
                prop_assert_eq!(amt(p, Line::TotalAssets), amt(p, Line::TotalLiabilities) + amt(p, Line::TotalEquity));
                for line in Line::ALL {
                    if let Some(list) = p.accounts(*line) {
                        prop_assert_eq!(list.iter().map(|a| a.amount).sum::<Decimal>(), amt(p, *line));
                    }
                }
            }
            // Refused only for a line that cannot be negative, and then it says which.
            Err(Error::InvalidStatements { issues, .. }) => {
                prop_assert!(issues.iter().all(|i| i.reason.contains("cannot be negative") || i.reason.contains("is negative")), "{:?}", issues);
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    /// Hostile bytes in any format give a typed refusal, never a panic.
    #[test]
    fn hostile_inputs_are_refused_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..400), format in 0usize..7) {
        let format = [Format::Auto, Format::Statements, Format::TrialBalance, Format::Csv, Format::Fec, Format::QuickBooks, Format::Xero][format];
        let options = ReadOptions { format, chart: Some(Chart::Pcg), ..ReadOptions::default() };
        let _ = ledger::read_one(&bytes, &options);
        let mut fec = b"JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tDebit\tCredit\n".to_vec();
        fec.extend_from_slice(&bytes);
        let _ = ledger::read_one(&fec, &ReadOptions { format: Format::Fec, ..ReadOptions::default() });
        let mut csv = b"period,start,end,account,name,debit,credit\n".to_vec();
        csv.extend_from_slice(&bytes);
        let _ = ledger::read_one(&csv, &options);
    }
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
fn partial_provenance_never_gives_totals_accounts_that_do_not_add_up() {
    use finops_core::statements::{AccountAmount, PeriodBuilder};
    let s = bistro();
    let p = s.latest();
    let mut period = PeriodBuilder::new(&*p.label, p.start.to_string(), p.end.to_string());
    for line in Line::ALL {
        let total = matches!(
            line,
            Line::TotalAssets
                | Line::TotalCurrentAssets
                | Line::TotalLiabilities
                | Line::TotalCurrentLiabilities
                | Line::NetIncome
        );
        if let (Some(v), false) = (p.amount(*line), total || *line == Line::Cash) {
            period.set(*line, v);
        }
    }
    let period = period.account(
        Line::Cash,
        AccountAmount {
            account: "1001".into(),
            name: "Caisse".into(),
            amount: amt(p, Line::Cash),
        },
    );
    let built = Statements::builder(s.company().clone())
        .period(period)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let fy = built.latest();
    assert!(fy.accounts(Line::Cash).is_some());
    assert!(
        fy.accounts(Line::TotalCurrentAssets).is_none() && fy.accounts(Line::TotalAssets).is_none()
    );
    // And the canonical form reads back.
    assert!(Statements::from_json_str(&built.canonical_json()).is_ok());
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
fn cash_flow_is_derived_only_when_asked_and_says_so() {
    let s = bistro();
    let tb = tb_with(|tb| {
        for p in tb["periods"].as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|p| p.remove("cash_flow"));
        }
    });
    // By default: not computable, with the reason.
    let plain = ledger::read_one(&tb, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let fcf = metrics::compute_all(&plain)
        .into_iter()
        .find(|f| f.id == "free_cash_flow@FY2023")
        .unwrap_or_else(|| panic!("fcf"));
    assert!(
        fcf.value.is_none()
            && fcf
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("no cash flow statement")),
        "{fcf:?}"
    );
    // Asked: derived where a previous consecutive period exists, with every term in the inputs.
    let options = ReadOptions {
        derive_cash_flow: true,
        ..ReadOptions::default()
    };
    let derived = ledger::read_one(&tb, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(!derived.periods()[0].has_cash_flow());
    assert!(
        derived
            .warnings()
            .iter()
            .any(|w| w.code == "cash_flow_not_derived" && w.message.contains("FY2021"))
    );
    assert!(
        derived
            .warnings()
            .iter()
            .any(|w| w.code == "cash_flow_derived" && w.message.contains("FY2023"))
    );
    let (prev, p) = (&s.periods()[1], &s.periods()[2]);
    let d = |l: Line| amt(p, l) - amt(prev, l);
    let ocf = amt(p, Line::NetIncome) + amt(p, Line::DepreciationAmortization)
        - d(Line::AccountsReceivable)
        - d(Line::Inventory)
        - d(Line::OtherCurrentAssets)
        + d(Line::AccountsPayable)
        + d(Line::OtherCurrentLiabilities);
    let fy = derived.period("FY2023").unwrap_or_else(|| panic!("FY2023"));
    assert_eq!(fy.amount(Line::OperatingCashFlow), Some(ocf));
    assert_eq!(
        fy.amount(Line::CapitalExpenditures),
        Some(d(Line::PropertyPlantEquipment) + amt(p, Line::DepreciationAmortization))
    );
    assert_eq!(
        fy.amount(Line::DividendsPaid),
        Some(amt(prev, Line::TotalEquity) + amt(p, Line::NetIncome) - amt(p, Line::TotalEquity))
    );
    let fcf = metrics::compute_all(&derived)
        .into_iter()
        .find(|f| f.id == "free_cash_flow@FY2023")
        .unwrap_or_else(|| panic!("fcf"));
    assert!(fcf.value.is_some());
    for input in fcf
        .inputs
        .iter()
        .filter(|i| i.line == "operating_cash_flow" || i.line == "capital_expenditures")
    {
        let accounts = input.accounts.as_deref().unwrap_or_default();
        assert!(
            !accounts.is_empty() && accounts.iter().all(|a| a.account.starts_with("indirect:")),
            "{input:?}"
        );
    }
    // It survives the canonical form.
    let again =
        Statements::from_json_str(&derived.canonical_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.fingerprint(), derived.fingerprint());
    // Where the assumptions visibly fail (equity grew by more than the result), nothing is derived.
    let raised = tb_with(|tb| {
        for p in tb["periods"].as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|p| p.remove("cash_flow"));
        }
        for a in tb["periods"][2]["accounts"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if a["account"] == "3500" {
                a["credit"] = json!("500000.00");
            }
            if a["account"] == "1001" {
                let cash: Decimal = a["debit"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default();
                a["debit"] = json!((cash + Decimal::from(499_900)).to_string());
            }
            if a["account"] == "1599" || a["account"] == "2599" {
                let v: Decimal = a["debit"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default();
                a["debit"] = json!((v + Decimal::from(499_900)).to_string());
            }
        }
    });
    let r = ledger::read_one(&raised, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.period("FY2023").is_some_and(Period::has_cash_flow));
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.code == "cash_flow_not_derived"
                && w.message.contains("capital was contributed")),
        "{:?}",
        r.warnings()
    );
}

#[test]
fn a_quickbooks_total_column_is_skipped() {
    let s = bistro();
    let mut q = quickbooks(&s);
    // QuickBooks adds a "Total" column over the periods of a profit and loss.
    for report in q.as_array_mut().into_iter().flatten() {
        if report["Header"]["ReportName"] != "ProfitAndLoss" {
            continue;
        }
        if let Some(cols) = report["Columns"]["Column"].as_array_mut() {
            cols.push(json!({"ColTitle": "Total", "ColType": "Money", "MetaData": [{"Name": "ColKey", "Value": "total"}]}));
        }
    }
    let options = ReadOptions {
        company: CompanyFields {
            name: Some("B".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let read = read(
        &[("q.json", &serde_json::to_vec(&q).unwrap_or_default())],
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    same_figures("qbo with a total column", &s, &read, true);
}
