//! Canonical form and fingerprint of a statements document.
//!
//! Keys are written in sorted order by hand (not left to the JSON map type, whose order depends on a cargo feature
//! another crate could switch on), amounts are normalized decimals, periods are in end-date order.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Company, Line, Period, SCHEMA_V1, Section};

pub(super) fn canonical_json(company: &Company, periods: &[Period]) -> String {
    document(company, periods, true)
}

/// The canonical form without the accounts behind the lines (what a model's prompt is sized on).
pub(super) fn canonical_lines_json(company: &Company, periods: &[Period]) -> String {
    document(company, periods, false)
}

fn document(company: &Company, periods: &[Period], with_accounts: bool) -> String {
    let mut doc = Map::new();
    doc.insert("company".into(), company_value(company));
    doc.insert(
        "periods".into(),
        Value::Array(
            periods
                .iter()
                .map(|p| period_value(p, with_accounts))
                .collect(),
        ),
    );
    doc.insert("schema".into(), Value::String(SCHEMA_V1.into()));
    Value::Object(doc).to_string()
}

pub(super) fn fingerprint(company: &Company, periods: &[Period]) -> String {
    let digest = Sha256::digest(canonical_json(company, periods).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn company_value(c: &Company) -> Value {
    let mut fields: Vec<(&str, Option<&String>)> = vec![
        ("currency", Some(&c.currency)),
        ("jurisdiction", c.jurisdiction.as_ref()),
        ("naics", c.naics.as_ref()),
        ("name", Some(&c.name)),
        ("sector", c.sector.as_ref()),
    ];
    fields.retain(|(_, v)| v.is_some());
    let mut map = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            map.insert(k.into(), Value::String(v.clone()));
        }
    }
    Value::Object(map)
}

fn period_value(p: &Period, with_accounts: bool) -> Value {
    let mut sections: Vec<(&str, Value)> = Vec::new();
    for section in Section::ALL {
        if section == Section::CashFlow && !p.has_cash_flow() {
            continue;
        }
        let mut lines: Vec<Line> = Line::in_section(section)
            .filter(|l| p.amount(*l).is_some())
            .collect();
        lines.sort_by_key(|l| l.id());
        let mut map = Map::new();
        for line in lines {
            map.insert(
                line.id().into(),
                Value::String(canonical_amount(p.amount_or_zero(line))),
            );
        }
        sections.push((section.key(), Value::Object(map)));
    }
    if let Some(accounts) = p.accounts.as_ref().filter(|_| with_accounts) {
        // Provenance is part of what an analysis says (its figures name their accounts), so it is fingerprinted,
        // and written in the form the parser reads back (a job handed to another process keeps it).
        let mut map = Map::new();
        let mut lines: Vec<Line> = Line::ALL.to_vec();
        lines.sort_by_key(|l| l.id());
        for line in lines {
            let list = &accounts[line.index()];
            if list.is_empty() {
                continue;
            }
            let items = list
                .iter()
                .map(|a| {
                    let mut item = Map::new();
                    item.insert("account".into(), Value::String(a.account.clone()));
                    item.insert("amount".into(), Value::String(canonical_amount(a.amount)));
                    item.insert("name".into(), Value::String(a.name.clone()));
                    Value::Object(item)
                })
                .collect();
            map.insert(line.id().into(), Value::Array(items));
        }
        sections.push(("accounts", Value::Object(map)));
    }
    sections.push(("end", Value::String(p.end.to_string())));
    sections.push(("label", Value::String(p.label.to_string())));
    sections.push(("start", Value::String(p.start.to_string())));
    sections.sort_by_key(|(k, _)| *k);
    let mut map = Map::new();
    for (k, v) in sections {
        map.insert(k.into(), v);
    }
    Value::Object(map)
}

/// `1200.50`, `1200.5` and `1.2005e3` all become `"1200.5"`; negative zero becomes `"0"`.
pub(crate) fn canonical_amount(d: Decimal) -> String {
    if d.is_zero() {
        "0".into()
    } else {
        d.normalize().to_string()
    }
}
