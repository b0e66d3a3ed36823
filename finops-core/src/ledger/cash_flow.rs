//! Cash flow lines derived from consecutive balance sheets (the indirect method), only when the caller asks.
//!
//! A ledger holds balances, not cash movements. With `derive_cash_flow`, a period without a cash flow statement
//! whose previous consecutive period is known gets:
//!
//! - operating cash flow = net income + depreciation and amortization − the increase in receivables, inventory and
//!   other current assets + the increase in payables and other current liabilities;
//! - capital expenditures = the increase in net property, plant and equipment + depreciation and amortization
//!   (assumes no disposals);
//! - dividends paid = opening equity + net income − closing equity (assumes no shares issued or bought back).
//!
//! Every derived line lists its terms as its accounts, each account id starting with `indirect:` and its name
//! saying what it is, so every figure computed from it says in its inputs that it was derived and how. A period
//! where the assumptions visibly fail (negative capital expenditures or dividends) is left without a cash flow
//! statement, with a warning saying why.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::error::Result;
use crate::statements::{Line, Period, Statements, Warning};

/// The derived lines of one period: each line's amount and its terms (id, name, amount).
type Derived = [(Line, Decimal, Vec<(String, String, Decimal)>); 3];

fn derive(prev: &Period, p: &Period) -> std::result::Result<Derived, String> {
    let at = |period: &Period, l: Line| period.amount_or_zero(l);
    let change = |l: Line| at(p, l) - at(prev, l);
    let span = format!("{} to {}", prev.label, p.label);
    let mut operating = vec![
        (
            "indirect:net_income".to_string(),
            format!("Net income {}", p.label),
            at(p, Line::NetIncome),
        ),
        (
            "indirect:depreciation_amortization".to_string(),
            format!("Depreciation and amortization {}", p.label),
            at(p, Line::DepreciationAmortization),
        ),
    ];
    for (line, asset) in [
        (Line::AccountsReceivable, true),
        (Line::Inventory, true),
        (Line::OtherCurrentAssets, true),
        (Line::AccountsPayable, false),
        (Line::OtherCurrentLiabilities, false),
    ] {
        let delta = change(line);
        if delta.is_zero() {
            continue;
        }
        operating.push((
            format!("indirect:change:{}", line.id()),
            format!("Change in {} {span}", line.id().replace('_', " ")),
            if asset { -delta } else { delta },
        ));
    }
    let capex_terms = vec![
        (
            "indirect:change:property_plant_equipment".to_string(),
            format!("Change in net property, plant and equipment {span}"),
            change(Line::PropertyPlantEquipment),
        ),
        (
            "indirect:depreciation_amortization".to_string(),
            format!(
                "Depreciation and amortization {} (assumes no disposals)",
                p.label
            ),
            at(p, Line::DepreciationAmortization),
        ),
    ];
    let dividend_terms = vec![
        (
            "indirect:opening_equity".to_string(),
            format!("Total equity at the end of {}", prev.label),
            at(prev, Line::TotalEquity),
        ),
        (
            "indirect:net_income".to_string(),
            format!("Net income {}", p.label),
            at(p, Line::NetIncome),
        ),
        (
            "indirect:closing_equity".to_string(),
            format!(
                "Less total equity at the end of {} (assumes no shares issued or bought back)",
                p.label
            ),
            -at(p, Line::TotalEquity),
        ),
    ];
    let sum = |terms: &[(String, String, Decimal)]| terms.iter().map(|t| t.2).sum::<Decimal>();
    let capex = sum(&capex_terms);
    let dividends = sum(&dividend_terms);
    if capex.is_sign_negative() && !capex.is_zero() {
        return Err(format!(
            "net property, plant and equipment fell by more than the period's depreciation ({capex} of capital expenditures): assets were sold or written off, which balances cannot tell apart"
        ));
    }
    if dividends.is_sign_negative() && !dividends.is_zero() {
        return Err(format!(
            "equity grew by more than the period's net income ({dividends} of dividends): capital was contributed, which balances cannot tell apart from dividends"
        ));
    }
    Ok([
        (Line::OperatingCashFlow, sum(&operating), operating),
        (Line::CapitalExpenditures, capex, capex_terms),
        (Line::DividendsPaid, dividends, dividend_terms),
    ])
}

/// The statements with the cash flow lines derived where they can be, and warnings for where they cannot.
pub(super) fn derive_missing(statements: Statements) -> Result<Statements> {
    let mut doc: Value = serde_json::from_str(&statements.canonical_json())
        .map_err(|e| crate::error::Error::Internal(format!("canonical JSON unreadable: {e}")))?;
    let mut warnings: Vec<Warning> = statements.warnings().to_vec();
    let mut changed = false;
    for (i, p) in statements.periods().iter().enumerate() {
        if p.has_cash_flow() {
            continue;
        }
        let Some(prev) = statements.previous_consecutive(i) else {
            warnings.push(Warning {
                code: "cash_flow_not_derived".into(),
                field: format!("periods ({})", p.label),
                message: format!(
                    "no cash flow statement for {}, and no previous consecutive period to derive one from",
                    p.label
                ),
            });
            continue;
        };
        match derive(prev, p) {
            Ok(lines) => {
                // The canonical form lists periods in the statements' order.
                let period = &mut doc["periods"][i];
                let mut cash_flow = serde_json::Map::new();
                for (line, amount, terms) in &lines {
                    cash_flow.insert(line.id().into(), Value::String(amount.to_string()));
                    let terms: Vec<Value> = terms
                        .iter()
                        .map(|(id, name, amount)| json!({"account": id, "name": name, "amount": amount.to_string()}))
                        .collect();
                    if !period["accounts"].is_object() {
                        period["accounts"] = json!({});
                    }
                    period["accounts"][line.id()] = Value::Array(terms);
                }
                period["cash_flow"] = Value::Object(cash_flow);
                changed = true;
                warnings.push(Warning {
                    code: "cash_flow_derived".into(),
                    field: format!("periods ({}).cash_flow", p.label),
                    message: format!(
                        "the cash flow lines of {} are derived from the balance sheets of {} and {} (indirect method); each figure's inputs list the terms",
                        p.label, prev.label, p.label
                    ),
                });
            }
            Err(reason) => warnings.push(Warning {
                code: "cash_flow_not_derived".into(),
                field: format!("periods ({})", p.label),
                message: format!(
                    "no cash flow statement for {}, and none is derived: {reason}",
                    p.label
                ),
            }),
        }
    }
    let out = if changed {
        Statements::from_json_value(&doc)?
    } else {
        statements
    };
    Ok(out.with_warnings_replaced(warnings))
}
