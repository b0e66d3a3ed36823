//! Xero report JSON (the Reports API): a `Header` row of period dates, then `Section` rows (`Title`) holding
//! account rows (`Cells`, the account id in the first cell's attributes) and summary rows.

use chrono::{Months, NaiveDate};
use serde_json::Value;

use super::{Column, Kind, Report, Row, Total, TotalCheck, cells, past_bounds, report_kind};
use crate::error::FieldIssue;
use crate::statements::Line;

pub(super) fn reports(
    value: &Value,
    label: &str,
) -> std::result::Result<Vec<Report>, Vec<FieldIssue>> {
    let items: Vec<&Value> = match value.get("Reports") {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => vec![value],
    };
    let mut out = Vec::new();
    let mut issues = Vec::new();
    for (n, r) in items.iter().enumerate() {
        let here = if items.len() > 1 {
            format!("{label}: Reports[{n}]")
        } else {
            label.to_string()
        };
        let name = r
            .get("ReportType")
            .or_else(|| r.get("ReportID"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(kind) = report_kind(name).filter(|k| *k != Kind::CashFlow) else {
            issues.push(FieldIssue::new(
                format!("{here}: ReportType"),
                format!(
                    "\"{name}\" is not a Xero report finops reads (BalanceSheet, ProfitAndLoss)"
                ),
            ));
            continue;
        };
        let titles: Vec<String> = r
            .get("ReportTitles")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let months = if titles
            .iter()
            .any(|t| t.to_lowercase().contains("month ended"))
        {
            1
        } else if titles
            .iter()
            .any(|t| t.to_lowercase().contains("quarter ended"))
        {
            3
        } else {
            12
        };
        let rows = r
            .get("Rows")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let Some(header) = rows
            .iter()
            .find(|row| row.get("RowType").and_then(Value::as_str) == Some("Header"))
        else {
            issues.push(FieldIssue::new(
                format!("{here}: Rows"),
                "no Header row with the period columns",
            ));
            continue;
        };
        let mut columns = Vec::new();
        for (i, cell) in header
            .get("Cells")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .skip(1)
        {
            let text = cell
                .get("Value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match NaiveDate::parse_from_str(text.trim(), "%d %b %Y") {
                Ok(end) => {
                    let start = end
                        .checked_sub_months(Months::new(months))
                        .and_then(|d| d.succ_opt());
                    columns.push(Column {
                        index: i,
                        start: if kind == Kind::BalanceSheet {
                            None
                        } else {
                            start
                        },
                        end,
                    });
                }
                Err(_) => issues.push(FieldIssue::new(
                    format!("{here}: Header.Cells[{i}]"),
                    format!("\"{text}\" is not a date such as \"31 Dec 2023\""),
                )),
            }
        }
        if columns.is_empty() {
            issues.push(FieldIssue::new(
                format!("{here}: Header"),
                "no period column",
            ));
            continue;
        }
        let mut report = Report {
            kind,
            label: here.clone(),
            columns,
            rows: Vec::new(),
            totals: Vec::new(),
            currency: None,
            company: titles.get(1).cloned().filter(|t| !t.trim().is_empty()),
        };
        xero_rows(rows, &mut Vec::new(), &mut report, &here, &mut issues, 0);
        out.push(report);
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

fn xero_rows(
    rows: &[Value],
    path: &mut Vec<String>,
    report: &mut Report,
    here: &str,
    issues: &mut Vec<FieldIssue>,
    depth: usize,
) {
    for row in rows {
        if past_bounds(depth, report, here, issues) {
            return;
        }
        let kind = row
            .get("RowType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let first = row
            .pointer("/Cells/0/Value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match kind {
            "Section" => {
                let title = row
                    .get("Title")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let Some(inner) = row.get("Rows").and_then(Value::as_array) {
                    path.push(title);
                    xero_rows(inner, path, report, here, issues, depth + 1);
                    path.pop();
                }
            }
            "Row" | "SummaryRow" => {
                let lower = first.to_lowercase();
                let check = match lower.as_str() {
                    "total assets" => Some(TotalCheck::Line(Line::TotalAssets)),
                    // Xero's "Total Current Assets" leaves the bank accounts out: not a statement total.
                    "total current liabilities" => {
                        Some(TotalCheck::Line(Line::TotalCurrentLiabilities))
                    }
                    "total liabilities" => Some(TotalCheck::Line(Line::TotalLiabilities)),
                    "total equity" => Some(TotalCheck::Line(Line::TotalEquity)),
                    "gross profit" => Some(TotalCheck::GrossProfit),
                    "net profit" | "net loss" | "net income" => {
                        Some(TotalCheck::Line(Line::NetIncome))
                    }
                    _ => None,
                };
                let at = format!("{here}: {} > {first}", path.join(" > "));
                if let Some(check) = check {
                    if let Some(values) = cells(row.get("Cells"), "Value", report, &at, issues) {
                        report.totals.push(Total {
                            check,
                            values,
                            place: first.clone(),
                        });
                    }
                    continue;
                }
                if kind == "SummaryRow" || path.last().is_some_and(|t| t.is_empty()) {
                    // Section totals ("Total Bank") and free-standing results ("Net Assets") are not accounts.
                    continue;
                }
                let id = row
                    .pointer("/Cells/0/Attributes")
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .find(|x| x.get("Id").and_then(Value::as_str) == Some("account"))
                    })
                    .and_then(|x| x.get("Value"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let mut found = Vec::new();
                let name = super::super::trial_balance::check_name(&first, &at, &mut found);
                issues.append(&mut found);
                if let Some(values) = cells(row.get("Cells"), "Value", report, &at, issues) {
                    report.rows.push(Row {
                        sections: path.clone(),
                        id,
                        name,
                        values,
                    });
                }
            }
            _ => {}
        }
    }
}
