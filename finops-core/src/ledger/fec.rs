//! The French FEC (fichier des écritures comptables, article A47 A-1 of the Livre des procédures fiscales): one file
//! per fiscal year, 18 columns separated by tabs or `|`, comma decimals, `YYYYMMDD` dates, in UTF-8 or ISO 8859-15.
//! Every entry, the opening journal's included, makes the accounts' balances; each entry (`JournalCode` +
//! `EcritureNum`) must balance. The fiscal year ends on the date in the file's standard name (`<SIREN>FEC<AAAAMMJJ>`)
//! or else at the end of the month of the last entry, and runs twelve months (longer when entries start earlier).

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;

use super::CompanyFields;
use super::book::{Balance, BookPeriod};
use super::trial_balance::Parsed;
use crate::error::{Error, FieldIssue, Result};

/// The columns finops needs (the other standard columns are read past).
struct Columns {
    journal: usize,
    entry: usize,
    date: usize,
    account: usize,
    name: usize,
    amounts: Amounts,
}

enum Amounts {
    DebitCredit(usize, usize),
    /// `Montant` and `Sens` (`D`/`C`, or `+1`/`-1`), the variant the FEC's rules allow.
    AmountSide(usize, usize),
}

struct Account {
    name: String,
    debit: Decimal,
    credit: Decimal,
    first_line: u64,
}

/// Entry parts that did not balance on their own: (journal, number) → (net debit, first line).
type Entries = HashMap<(Vec<u8>, Vec<u8>), (Decimal, u64)>;

/// The most problems one refusal lists.
const MAX_ISSUES: usize = 100;

pub(super) fn read(bytes: &[u8], name: Option<&str>, label: &str) -> Result<Parsed> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first.contains(&b'\t') { b'\t' } else { b'|' };
    let refuse =
        |at: String, reason: String| Error::invalid_statements(vec![FieldIssue::new(at, reason)]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(false)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| {
            refuse(
                format!("{label}: line 1"),
                format!("unreadable header: {e}"),
            )
        })?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| String::from_utf8_lossy(h).trim().eq_ignore_ascii_case(name))
    };
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            refuse(
                format!("{label}: line 1"),
                format!("missing the FEC column {name}"),
            )
        })
    };
    let amounts = match (find("Debit"), find("Credit"), find("Montant"), find("Sens")) {
        (Some(d), Some(c), _, _) => Amounts::DebitCredit(d, c),
        (_, _, Some(m), Some(s)) => Amounts::AmountSide(m, s),
        _ => {
            return Err(refuse(
                format!("{label}: line 1"),
                "missing the FEC amount columns: Debit and Credit, or Montant and Sens".into(),
            ));
        }
    };
    let cols = Columns {
        journal: need("JournalCode")?,
        entry: need("EcritureNum")?,
        date: need("EcritureDate")?,
        account: need("CompteNum")?,
        name: need("CompteLib")?,
        amounts,
    };

    let mut issues = Vec::new();
    let mut accounts: HashMap<Vec<u8>, Account> = HashMap::new();
    let mut entries: Entries = HashMap::new();
    let (mut first_date, mut last_date): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    let mut current: Option<(Vec<u8>, Vec<u8>, Decimal, u64)> = None;
    let mut record = csv::ByteRecord::new();
    let mut buffer = String::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map(|p| p.line()).unwrap_or(0);
                issues.push(FieldIssue::new(
                    format!("{label}: line {at}"),
                    format!("unreadable FEC line: {e}"),
                ));
                break;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |c: usize| trim(record.get(c).unwrap_or_default());
        let at = || format!("{label}: line {line}");
        let date = match fec_date(cell(cols.date)) {
            Some(d) => d,
            None => {
                issues.push(FieldIssue::new(
                    format!("{}, EcritureDate", at()),
                    format!(
                        "\"{}\" is not a date written AAAAMMJJ",
                        String::from_utf8_lossy(cell(cols.date))
                    ),
                ));
                if issues.len() >= MAX_ISSUES {
                    break;
                }
                continue;
            }
        };
        first_date = Some(first_date.map_or(date, |d| d.min(date)));
        last_date = Some(last_date.map_or(date, |d| d.max(date)));
        let amount = match &cols.amounts {
            Amounts::DebitCredit(d, c) => {
                match (amount(cell(*d), &mut buffer), amount(cell(*c), &mut buffer)) {
                    (Ok(d), Ok(c))
                        if d.is_sign_negative() && !d.is_zero()
                            || c.is_sign_negative() && !c.is_zero() =>
                    {
                        Err("Debit and Credit are written as positive amounts".to_string())
                    }
                    (Ok(d), Ok(c)) => Ok((d, c)),
                    (Err(e), _) => Err(format!("Debit: {e}")),
                    (_, Err(e)) => Err(format!("Credit: {e}")),
                }
            }
            Amounts::AmountSide(m, s) => match (amount(cell(*m), &mut buffer), cell(*s)) {
                (Ok(m), b"D" | b"d" | b"+1" | b"1") => Ok((m, Decimal::ZERO)),
                (Ok(m), b"C" | b"c" | b"-1") => Ok((Decimal::ZERO, m)),
                (Ok(_), other) => Err(format!(
                    "Sens \"{}\" is neither D nor C",
                    String::from_utf8_lossy(other)
                )),
                (Err(e), _) => Err(format!("Montant: {e}")),
            },
        };
        let (debit, credit) = match amount {
            Ok(pair) => pair,
            Err(reason) => {
                issues.push(FieldIssue::new(at(), reason));
                if issues.len() >= MAX_ISSUES {
                    break;
                }
                continue;
            }
        };
        let number = cell(cols.account);
        if number.is_empty()
            || number.len() > 40
            || number
                .iter()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            issues.push(FieldIssue::new(
                format!("{}, CompteNum", at()),
                "missing, or not an account number (at most 40 characters, no spaces)",
            ));
            continue;
        }
        // Sums stay exact: every amount is below 10^15 and a file holds far fewer than 10^13 lines.
        match accounts.get_mut(number) {
            Some(a) => {
                a.debit += debit;
                a.credit += credit;
            }
            None => {
                let name = text(cell(cols.name));
                let mut found = Vec::new();
                let name = super::trial_balance::check_name(
                    &name,
                    &format!("{}, CompteLib", at()),
                    &mut found,
                );
                issues.append(&mut found);
                accounts.insert(
                    number.to_vec(),
                    Account {
                        name,
                        debit,
                        credit,
                        first_line: line,
                    },
                );
            }
        }
        // Entries are checked as they end: an FEC lists an entry's lines together, so only an entry that is
        // unbalanced when the next one starts (or whose lines are split) is kept, and memory stays small.
        let (journal, number) = (cell(cols.journal), cell(cols.entry));
        let same = current
            .as_ref()
            .is_some_and(|c| c.0 == journal && c.1 == number);
        if !same {
            if let Some((j, n, net, first)) = current.take() {
                park(&mut entries, j, n, net, first);
            }
            current = Some((journal.to_vec(), number.to_vec(), Decimal::ZERO, line));
        }
        if let Some(c) = current.as_mut() {
            c.2 += debit - credit;
        }
        if issues.len() >= MAX_ISSUES {
            break;
        }
    }
    if let Some((j, n, net, first)) = current.take() {
        park(&mut entries, j, n, net, first);
    }
    let mut unbalanced: Vec<_> = entries
        .into_iter()
        .filter(|(_, (net, _))| !net.is_zero())
        .collect();
    unbalanced.sort_by_key(|(_, (_, line))| *line);
    for ((journal, entry), (net, line)) in unbalanced.into_iter().take(MAX_ISSUES) {
        issues.push(FieldIssue::new(
            format!("{label}: line {line}"),
            format!(
                "entry {} of journal {} does not balance: its debits exceed its credits by {net}",
                String::from_utf8_lossy(&entry),
                String::from_utf8_lossy(&journal)
            ),
        ));
    }
    let (Some(first_date), Some(last_date)) = (first_date, last_date) else {
        issues.push(FieldIssue::new(label, "holds no entries"));
        return Err(Error::invalid_statements(issues));
    };
    if !issues.is_empty() {
        return Err(Error::invalid_statements(issues));
    }
    let (start, end) = fiscal_year(name, first_date, last_date)
        .map_err(|reason| refuse(label.to_string(), reason))?;
    let mut balances: Vec<Balance> = accounts
        .into_iter()
        .map(|(number, a)| Balance {
            account: String::from_utf8_lossy(&number).into_owned(),
            name: a.name,
            balance: a.debit - a.credit,
            place: format!(
                "{label}: account {} (first at line {})",
                String::from_utf8_lossy(&number),
                a.first_line
            ),
        })
        .collect();
    balances.sort_by(|a, b| a.account.cmp(&b.account));
    let label_fy = format!("FY{}", end.year());
    Ok(Parsed {
        company: CompanyFields {
            currency: Some("EUR".into()),
            jurisdiction: Some("FR".into()),
            ..CompanyFields::default()
        },
        chart: Some(super::Chart::Pcg),
        periods: vec![BookPeriod {
            place: format!("{label} ({label_fy})"),
            label: label_fy,
            start,
            end,
            balances,
            cash_flow: Vec::new(),
        }],
    })
}

/// Keeps an entry's part that does not balance on its own, adding to an earlier part of the same entry.
fn park(entries: &mut Entries, journal: Vec<u8>, number: Vec<u8>, net: Decimal, first: u64) {
    let key = (journal, number);
    match entries.get_mut(&key) {
        Some(e) => e.0 += net,
        None if !net.is_zero() => {
            entries.insert(key, (net, first));
        }
        None => {}
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// UTF-8, or else ISO 8859-1/15 (the FEC's rules allow both).
fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|c| char::from(*c)).collect(),
    }
}

fn fec_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))
}

/// An FEC amount: `1234,56`, `1234.56`, `-12`, empty for zero. Exact, at most 6 decimals, below 10^15.
fn amount(b: &[u8], buffer: &mut String) -> std::result::Result<Decimal, String> {
    if b.is_empty() {
        return Ok(Decimal::ZERO);
    }
    if b.contains(&b' ') && !grouped_by_thousands(b) {
        return Err(format!(
            "\"{}\" is not an amount such as 1234,56 (spaces only group thousands: 1 234,56)",
            String::from_utf8_lossy(b)
        ));
    }
    buffer.clear();
    let mut separators = 0;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => buffer.push(char::from(*c)),
            // Some exports group thousands with spaces; a space is never a decimal separator.
            b' ' => {}
            b',' | b'.' => {
                separators += 1;
                buffer.push('.');
            }
            b'-' | b'+' if i == 0 => {
                if *c == b'-' {
                    buffer.push('-');
                }
            }
            _ => {
                return Err(format!(
                    "\"{}\" is not an amount such as 1234,56",
                    String::from_utf8_lossy(b)
                ));
            }
        }
    }
    if separators > 1 || buffer.ends_with('.') || buffer.is_empty() || buffer == "-" {
        return Err(format!(
            "\"{}\" is not an amount such as 1234,56",
            String::from_utf8_lossy(b)
        ));
    }
    let d = Decimal::from_str_exact(buffer)
        .map_err(|_| format!("\"{}\" has too many digits", String::from_utf8_lossy(b)))?;
    if d.scale() > crate::statements::MAX_AMOUNT_SCALE
        && d.normalize().scale() > crate::statements::MAX_AMOUNT_SCALE
    {
        return Err(format!(
            "\"{}\" has more than 6 decimal places",
            String::from_utf8_lossy(b)
        ));
    }
    if d.abs() >= Decimal::from(10u64.pow(crate::statements::MAX_AMOUNT_DIGITS)) {
        return Err(format!(
            "\"{}\" is too large (amounts are below 10^15)",
            String::from_utf8_lossy(b)
        ));
    }
    Ok(d)
}

/// Whether the spaces in an amount's whole part group its digits by three (`1 234 567,89`).
fn grouped_by_thousands(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let whole = digits
        .split(|c| *c == b',' || *c == b'.')
        .next()
        .unwrap_or_default();
    let mut groups = whole.split(|c| *c == b' ');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3) && !digits[whole.len()..].contains(&b' ')
}

/// The fiscal year: its closing date from the file's standard name, or the end of the last entry's month; twelve
/// months long unless entries start earlier.
fn fiscal_year(
    name: Option<&str>,
    first: NaiveDate,
    last: NaiveDate,
) -> std::result::Result<(NaiveDate, NaiveDate), String> {
    let from_name = name.and_then(closing_date_in_name);
    let end = match from_name {
        Some(end) if end < last => {
            return Err(format!(
                "its name says the fiscal year closes on {end}, but it holds entries dated up to {last}"
            ));
        }
        Some(end) => end,
        None => last
            .with_day(1)
            .and_then(|d| d.checked_add_months(Months::new(1)))
            .and_then(|d| d.pred_opt())
            .unwrap_or(last),
    };
    let twelve = end
        .checked_sub_months(Months::new(12))
        .and_then(|d| d.succ_opt())
        .unwrap_or(first);
    Ok((twelve.min(first), end))
}

/// `123456789FEC20231231.txt` → 2023-12-31.
fn closing_date_in_name(name: &str) -> Option<NaiveDate> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let upper = base.to_ascii_uppercase();
    let at = upper.find("FEC")?;
    let digits = upper.get(at + 3..at + 11)?;
    fec_date(digits.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_dates_and_names() {
        let mut b = String::new();
        assert_eq!(
            amount(b"1234,56", &mut b).ok(),
            Decimal::from_str_exact("1234.56").ok()
        );
        assert_eq!(amount(b"", &mut b).ok(), Some(Decimal::ZERO));
        assert_eq!(amount(b"-12", &mut b).ok(), Some(Decimal::from(-12)));
        assert_eq!(
            amount(b"1 234 567,89", &mut b).ok(),
            Decimal::from_str_exact("1234567.89").ok()
        );
        for bad in [&b"1 2"[..], b"12 345 6,00", b"1234 567", b"1 234,5 6"] {
            assert!(
                amount(bad, &mut b).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            &b"1,2,3"[..],
            b"12a",
            b"1e5",
            b",",
            b"-",
            b"1.",
            b"9999999999999999",
            b"1,1234567",
        ] {
            assert!(
                amount(bad, &mut b).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(fec_date(b"20230229"), None);
        assert_eq!(fec_date(b"20240229"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(
            closing_date_in_name("/x/552100554FEC20230630.txt"),
            NaiveDate::from_ymd_opt(2023, 6, 30)
        );
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert_eq!(
            fiscal_year(None, d(2023, 1, 1), d(2023, 12, 28)),
            Ok((d(2023, 1, 1), d(2023, 12, 31)))
        );
        assert_eq!(
            fiscal_year(Some("1FEC20230630"), d(2022, 7, 1), d(2023, 6, 30)),
            Ok((d(2022, 7, 1), d(2023, 6, 30)))
        );
        assert!(fiscal_year(Some("1FEC20230630"), d(2022, 7, 1), d(2023, 7, 2)).is_err());
    }
}
