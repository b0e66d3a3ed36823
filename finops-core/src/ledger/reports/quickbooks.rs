//! QuickBooks Online report JSON: `Header`, `Columns.Column` (money columns with their dates) and nested
//! `Rows.Row` sections (`group`), data rows (`ColData`, the account id in the first cell) and summaries.

use serde_json::Value;

use super::{Column, Kind, Report, Row, Total, TotalCheck, cells, past_bounds, report_kind};
use crate::error::FieldIssue;
use crate::statements::Line;

pub(super) fn reports(
    value: &Value,
    label: &str,
) -> std::result::Result<Vec<Report>, Vec<FieldIssue>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    let mut out = Vec::new();
    let mut issues = Vec::new();
    for (n, r) in items.iter().enumerate() {
        let here = if items.len() > 1 {
            format!("{label}[{n}]")
        } else {
            label.to_string()
        };
        let Some(name) = r.pointer("/Header/ReportName").and_then(Value::as_str) else {
            issues.push(FieldIssue::new(
                format!("{here}: Header.ReportName"),
                "missing",
            ));
            continue;
        };
        let Some(kind) = report_kind(name) else {
            issues.push(FieldIssue::new(
                format!("{here}: Header.ReportName"),
                format!("\"{name}\" is not a report finops reads (BalanceSheet, ProfitAndLoss, CashFlow)"),
            ));
            continue;
        };
        let mut columns = Vec::new();
        let cols = r
            .pointer("/Columns/Column")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (i, col) in cols.iter().enumerate() {
            if col.get("ColType").and_then(Value::as_str) != Some("Money") {
                continue;
            }
            let meta = |key: &str| {
                col.get("MetaData")
                    .and_then(Value::as_array)
                    .and_then(|m| {
                        m.iter()
                            .find(|e| e.get("Name").and_then(Value::as_str) == Some(key))
                    })
                    .and_then(|e| e.get("Value"))
                    .and_then(Value::as_str)
                    .and_then(crate::statements::parse_date)
            };
            let title = col
                .get("ColTitle")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = col
                .get("MetaData")
                .and_then(Value::as_array)
                .and_then(|m| {
                    m.iter()
                        .find(|e| e.get("Name").and_then(Value::as_str) == Some("ColKey"))
                })
                .and_then(|e| e.get("Value"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            // A "Total" column over several periods adds nothing new.
            if title.eq_ignore_ascii_case("total") || key.eq_ignore_ascii_case("total") {
                continue;
            }
            match meta("EndDate") {
                Some(end) => columns.push(Column {
                    index: i,
                    start: meta("StartDate"),
                    end,
                }),
                None if cols
                    .iter()
                    .filter(|c| c.get("ColType").and_then(Value::as_str) == Some("Money"))
                    .count()
                    == 1 =>
                {
                    let header = |k: &str| {
                        r.pointer(&format!("/Header/{k}"))
                            .and_then(Value::as_str)
                            .and_then(crate::statements::parse_date)
                    };
                    match header("EndPeriod") {
                        Some(end) => columns.push(Column {
                            index: i,
                            start: header("StartPeriod"),
                            end,
                        }),
                        None => issues.push(FieldIssue::new(
                            format!("{here}: Header.EndPeriod"),
                            "missing or not a date",
                        )),
                    }
                }
                None => issues.push(FieldIssue::new(
                    format!("{here}: Columns.Column[{i}]"),
                    "a money column without an EndDate in its MetaData",
                )),
            }
        }
        if columns.is_empty() {
            issues.push(FieldIssue::new(
                format!("{here}: Columns"),
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
            currency: r
                .pointer("/Header/Currency")
                .and_then(Value::as_str)
                .map(str::to_string),
            company: None,
        };
        let rows = r
            .pointer("/Rows/Row")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        qbo_rows(rows, &mut Vec::new(), &mut report, &here, &mut issues, 0);
        out.push(report);
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

fn qbo_rows(
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
        let group = row.get("group").and_then(Value::as_str).map(str::to_string);
        let title = row
            .pointer("/Header/ColData/0/value")
            .and_then(Value::as_str)
            .map(str::to_string);
        // A parent account shows its own balance in its section's header, its sub-accounts below.
        if let Some(header) = row.pointer("/Header/ColData")
            && header.pointer("/0/id").is_some()
        {
            let name = title.clone().unwrap_or_default();
            let at = format!("{here}: {} > {name}", path.join(" > "));
            if let Some(values) = cells(Some(header), "value", report, &at, issues) {
                let id = header
                    .pointer("/0/id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                report.rows.push(Row {
                    sections: path.clone(),
                    id,
                    name,
                    values,
                });
            }
        }
        if let Some(inner) = row.pointer("/Rows/Row").and_then(Value::as_array) {
            path.push(group.clone().or(title.clone()).unwrap_or_default());
            qbo_rows(inner, path, report, here, issues, depth + 1);
            path.pop();
        }
        if let Some(summary) = row.pointer("/Summary/ColData") {
            let check = match group.as_deref() {
                Some("TotalAssets") => Some(TotalCheck::Line(Line::TotalAssets)),
                Some("CurrentAssets") => Some(TotalCheck::Line(Line::TotalCurrentAssets)),
                Some("CurrentLiabilities") => Some(TotalCheck::Line(Line::TotalCurrentLiabilities)),
                Some("Liabilities") => Some(TotalCheck::Line(Line::TotalLiabilities)),
                Some("Equity") => Some(TotalCheck::Line(Line::TotalEquity)),
                Some("TotalLiabilitiesAndEquity") => Some(TotalCheck::LiabilitiesAndEquity),
                Some("GrossProfit") => Some(TotalCheck::GrossProfit),
                Some("NetIncome") if report.kind == Kind::ProfitAndLoss => {
                    Some(TotalCheck::Line(Line::NetIncome))
                }
                _ => None,
            };
            let at = format!("{} (total)", group.clone().unwrap_or_default());
            if let (Some(check), Some(values)) = (
                check,
                cells(
                    Some(summary),
                    "value",
                    report,
                    &format!("{here}: {at}"),
                    issues,
                ),
            ) {
                report.totals.push(Total {
                    check,
                    values,
                    place: at,
                });
            }
        }
        if row.get("type").and_then(Value::as_str) == Some("Data") || row.get("ColData").is_some() {
            let first = row.pointer("/ColData/0");
            let name = first
                .and_then(|c| c.get("value"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let id = first
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let at = format!("{here}: {} > {name}", path.join(" > "));
            let mut found = Vec::new();
            let name = super::super::trial_balance::check_name(&name, &at, &mut found);
            issues.append(&mut found);
            if let Some(values) = cells(row.get("ColData"), "value", report, &at, issues) {
                report.rows.push(Row {
                    sections: path.clone(),
                    id,
                    name,
                    values,
                });
            }
        }
    }
}
