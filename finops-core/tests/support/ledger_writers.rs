//! Writers of the example company in every ledger format (a GIFI trial balance as JSON and CSV, a PCG FEC,
//! QuickBooks Online and Xero reports), and helpers the ledger tests share. `examples/data/` holds what they write.

#![allow(dead_code)]

use std::collections::HashMap;

use finops_core::ledger::{self, CompanyFields, ReadOptions, Source};
use finops_core::metrics;
use finops_core::statements::{Line, Period};
use finops_core::{Decimal, Error, Statements};
use serde_json::{Value, json};

pub fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn data(name: &str) -> String {
    format!("{}/../examples/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn amt(p: &Period, l: Line) -> Decimal {
    p.amount_or_zero(l)
}

/// Splits an amount in two parts that add up to it exactly (the first a round share).
pub fn split(total: Decimal, share: i64) -> (Decimal, Decimal) {
    let first = (total * Decimal::new(share, 2)).round_dp(2);
    (first, total - first)
}

/// A period's accounts on the GIFI: (code, name, balance debit positive), with contra accounts, a split of
/// short-term debt, and the totals 1599, 2599, 3499, 8299 and 9999 as checks.
pub fn gifi_accounts(p: &Period) -> Vec<(&'static str, &'static str, Decimal)> {
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

pub fn gifi_trial_balance(s: &Statements) -> Value {
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
pub fn gifi_csv(s: &Statements) -> String {
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
pub fn pcg_accounts(
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

pub fn fec_amount(d: Decimal) -> String {
    format!("{:.2}", d).replace('.', ",")
}

/// One fiscal year as an FEC: the opening journal (AN) brings the balance sheet, a bank line balancing it; each
/// income statement account then moves through the bank in its own entry, so the bank closes at the statement's cash.
pub fn fec(p: &Period) -> String {
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

pub fn money(d: Decimal) -> String {
    format!("{:.2}", d)
}

/// QuickBooks Online's three reports, one column per period.
pub fn quickbooks(s: &Statements) -> Value {
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
pub fn xero(s: &Statements) -> Value {
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
pub fn values(s: &Statements, with_cash_flow: bool) -> HashMap<String, Option<Decimal>> {
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

pub fn same_figures(what: &str, expected: &Statements, got: &Statements, with_cash_flow: bool) {
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

pub fn read(sources: &[(&str, &[u8])], options: &ReadOptions) -> finops_core::Result<Statements> {
    let sources: Vec<Source<'_>> = sources.iter().map(|(n, b)| Source::named(n, b)).collect();
    ledger::read(&sources, options)
}

pub fn fec_options() -> ReadOptions {
    ReadOptions {
        company: CompanyFields {
            name: Some("Bistro Saint-Denis SAS".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    }
}

pub fn fec_name(p: &Period) -> String {
    format!("552100554FEC{}.txt", p.end.format("%Y%m%d"))
}

pub fn refusal(result: finops_core::Result<Statements>) -> Vec<(String, String)> {
    match result {
        Err(Error::InvalidStatements { issues, .. }) => {
            issues.into_iter().map(|i| (i.field, i.reason)).collect()
        }
        Err(e) => panic!("expected a refusal naming the place, got {e}"),
        Ok(_) => panic!("accepted"),
    }
}

pub fn tb_with(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut tb = gifi_trial_balance(&bistro());
    edit(&mut tb);
    serde_json::to_vec(&tb).unwrap_or_default()
}

/// A builder holding a period's given lines, without the totals the builder computes and without `leave_out`.
pub fn lines_without_totals(
    p: &Period,
    leave_out: &[Line],
) -> finops_core::statements::PeriodBuilder {
    let mut period = finops_core::statements::PeriodBuilder::new(
        &*p.label,
        p.start.to_string(),
        p.end.to_string(),
    );
    for line in Line::ALL {
        let computed = matches!(
            line,
            Line::TotalAssets
                | Line::TotalCurrentAssets
                | Line::TotalLiabilities
                | Line::TotalCurrentLiabilities
                | Line::NetIncome
        );
        if let (Some(v), false) = (p.amount(*line), computed || leave_out.contains(line)) {
            period.set(*line, v);
        }
    }
    period
}
