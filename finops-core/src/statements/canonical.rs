//! Canonical form and fingerprint of a statements document.
//!
//! Keys are written in sorted order by hand (not left to the JSON map type, whose order depends on a cargo feature
//! another crate could switch on), amounts are normalized decimals, periods are in end-date order.

use rust_decimal::Decimal;
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
    // Written straight to text, keys in sorted order: the same bytes as a JSON map of sorted keys, without
    // building one (this runs for every document parsed, for its fingerprint).
    let mut out = Vec::with_capacity(1024 + periods.len() * 1536);
    out.extend_from_slice(b"{\"company\":");
    write_company(&mut out, company);
    out.extend_from_slice(b",\"periods\":[");
    for (i, p) in periods.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_period(&mut out, p, with_accounts);
    }
    out.extend_from_slice(b"],\"schema\":");
    write_str(&mut out, SCHEMA_V1);
    out.push(b'}');
    // Only valid UTF-8 was written (JSON-escaped strings and ASCII).
    String::from_utf8(out).unwrap_or_default()
}

/// A JSON string, escaped as serde_json escapes it.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A value whose text needs no escaping (a date, a decimal), quoted, without an intermediate string.
fn write_display(out: &mut Vec<u8>, value: &dyn std::fmt::Display) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "\"{value}\"");
}

/// An amount's canonical text, quoted: `1200.50`, `1200.5` and `1.2005e3` all become `"1200.5"`; negative zero
/// becomes `"0"`.
fn write_amount(out: &mut Vec<u8>, d: Decimal) {
    if d.is_zero() {
        out.extend_from_slice(b"\"0\"");
    } else {
        write_display(out, &d.normalize());
    }
}

/// `"key":` after a comma when it is not the object's first.
fn write_key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_str(out, key);
    out.push(b':');
}

fn write_company(out: &mut Vec<u8>, c: &Company) {
    let fields: [(&str, Option<&String>); 5] = [
        ("currency", Some(&c.currency)),
        ("jurisdiction", c.jurisdiction.as_ref()),
        ("naics", c.naics.as_ref()),
        ("name", Some(&c.name)),
        ("sector", c.sector.as_ref()),
    ];
    out.push(b'{');
    let mut first = true;
    for (k, v) in fields {
        if let Some(v) = v {
            write_key(out, &mut first, k);
            write_str(out, v);
        }
    }
    out.push(b'}');
}

fn write_period(out: &mut Vec<u8>, p: &Period, with_accounts: bool) {
    // The period's keys in sorted order: accounts, balance_sheet, cash_flow, end, income_statement, label, start.
    out.push(b'{');
    let mut first = true;
    if let Some(accounts) = p.accounts.as_ref().filter(|_| with_accounts) {
        // Provenance is part of what an analysis says (its figures name their accounts), so it is fingerprinted,
        // and written in the form the parser reads back (a job handed to another process keeps it).
        write_key(out, &mut first, "accounts");
        out.push(b'{');
        let mut first_line = true;
        for line in sorted_lines(Line::ALL.iter().copied()) {
            let list = &accounts[line.index()];
            if list.is_empty() {
                continue;
            }
            write_key(out, &mut first_line, line.id());
            out.push(b'[');
            for (j, a) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"account\":");
                write_str(out, &a.account);
                out.extend_from_slice(b",\"amount\":");
                write_amount(out, a.amount);
                out.extend_from_slice(b",\"name\":");
                write_str(out, &a.name);
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    let section = |out: &mut Vec<u8>, first: &mut bool, section: Section| {
        if section == Section::CashFlow && !p.has_cash_flow() {
            return;
        }
        write_key(out, first, section.key());
        out.push(b'{');
        let mut first_line = true;
        for line in sorted_lines(Line::in_section(section)) {
            if let Some(amount) = p.amount(line) {
                write_key(out, &mut first_line, line.id());
                write_amount(out, amount);
            }
        }
        out.push(b'}');
    };
    section(out, &mut first, Section::BalanceSheet);
    section(out, &mut first, Section::CashFlow);
    write_key(out, &mut first, "end");
    write_display(out, &p.end);
    section(out, &mut first, Section::IncomeStatement);
    write_key(out, &mut first, "label");
    write_str(out, &p.label);
    write_key(out, &mut first, "start");
    write_display(out, &p.start);
    out.push(b'}');
}

/// Lines in the order of their ids (the order a sorted JSON map writes them).
fn sorted_lines(lines: impl Iterator<Item = Line>) -> impl Iterator<Item = Line> {
    let mut lines: Vec<Line> = lines.collect();
    lines.sort_unstable_by_key(|l| l.id());
    lines.into_iter()
}

pub(super) fn fingerprint(company: &Company, periods: &[Period]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(canonical_json(company, periods).as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// The former canonical form, built as a JSON value: the tests check the text writer gives the same bytes, so
/// fingerprints stored before stay valid.
#[cfg(test)]
pub(super) fn document_via_value(
    company: &Company,
    periods: &[Period],
    with_accounts: bool,
) -> String {
    use serde_json::{Map, Value};
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

/// What [`write_amount`] writes, unquoted, for the former form the tests compare with.
#[cfg(test)]
pub(crate) fn canonical_amount(d: Decimal) -> String {
    if d.is_zero() {
        "0".into()
    } else {
        d.normalize().to_string()
    }
}
