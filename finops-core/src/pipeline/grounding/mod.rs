//! Grounding: every number in a report must come from a computed figure, a computation or an input amount,
//! within the rounding it is displayed with. Reads French (`1 234,56 $`, `12,5 %`) and English (`1,234.56`,
//! `12.5%`) formats, scale words (`1,2 M$`, `3.4 million`), signs and percentage points.

use chrono::Datelike;
use rust_decimal::Decimal;

use super::{ComputationRecord, Language, UngroundedNumber};
use crate::metrics::{DerivedLine, Figure};
use crate::statements::{Line, Statements};

/// The values a report may mention, and the literal texts (labels, dates, warnings) whose digits are not figures.
#[derive(Debug, Clone)]
pub struct GroundingContext {
    /// Absolute values, sorted, including each value times 100 (percentages).
    values: Vec<Decimal>,
    /// What a number written with a percent sign may be, sorted: every value times 100, and as they are only the
    /// values whose unit is not known (computations, peer percentiles, changes). A ratio of 0.73 is not "0.73 %".
    percents: Vec<Decimal>,
    literals: Vec<String>,
    years: (i32, i32),
    periods: usize,
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "janvier",
    "fevrier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "décembre",
];

const PERIOD_WORDS: &[&str] = &[
    "year",
    "years",
    "an",
    "ans",
    "année",
    "années",
    "annee",
    "annees",
    "period",
    "periods",
    "période",
    "périodes",
    "exercice",
    "exercices",
    "fiscal",
];

impl GroundingContext {
    /// Everything an analysis's report may cite: its figures, its computations (and their inputs), every amount
    /// of the statements, and each period's derived lines (debt, EBITDA, gross profit, …).
    pub fn new(
        statements: &Statements,
        figures: &[Figure],
        computations: &[ComputationRecord],
    ) -> Self {
        // Values of a known unit (figures, statement amounts), and values of none (computations).
        let mut known: Vec<Decimal> = Vec::with_capacity(256);
        known.extend(figures.iter().filter_map(|f| f.value));
        let mut unitless: Vec<Decimal> = Vec::new();
        for c in computations {
            unitless.extend(c.value);
            known.extend(c.inputs.iter().map(|i| i.value));
        }
        for (i, p) in statements.periods().iter().enumerate() {
            known.extend(Line::ALL.iter().filter_map(|l| p.amount(*l)));
            // The lines the SDK derives (debt, which the statements report in two parts, EBITDA, gross profit,
            // operating income, income before tax) are cited as amounts of their own ("debt fell from …").
            // (Working capital and free cash flow are metrics: cited as their figures.)
            known.extend(
                [
                    DerivedLine::TotalDebt,
                    DerivedLine::Ebitda,
                    DerivedLine::GrossProfit,
                    DerivedLine::OperatingIncome,
                    DerivedLine::IncomeBeforeTax,
                ]
                .iter()
                .filter_map(|d| crate::metrics::derived_amount(statements, i, *d)),
            );
        }
        let mut values: Vec<Decimal> = Vec::with_capacity((known.len() + unitless.len()) * 2);
        let mut percents: Vec<Decimal> = Vec::with_capacity(known.len() + unitless.len() * 2);
        for v in known {
            add(&mut values, &mut percents, v, false);
        }
        for v in unitless {
            add(&mut values, &mut percents, v, true);
        }
        settle(&mut values);
        settle(&mut percents);

        let mut literals: Vec<String> = Vec::new();
        literals.push(statements.company().name.clone());
        for p in statements.periods() {
            literals.push(p.label.to_string());
            literals.push(p.start.to_string());
            literals.push(p.end.to_string());
        }
        literals.extend(statements.warnings().iter().map(|w| w.message.clone()));
        literals.extend(statements.warnings().iter().map(|w| w.field.clone()));
        // Longest first, so a label that contains another is masked whole.
        literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        literals.retain(|l| !l.is_empty());

        let years = statements
            .periods()
            .iter()
            .fold((i32::MAX, i32::MIN), |(lo, hi), p| {
                (lo.min(p.start.year()), hi.max(p.end.year()))
            });
        GroundingContext {
            values,
            percents,
            literals,
            years,
            periods: statements.periods().len(),
        }
    }

    /// Texts the question itself names that the report may repeat, read as labels, not figures (the years it asks
    /// about that the statements do not cover: "the statements do not cover 2019").
    pub fn with_literals(mut self, texts: &[String]) -> Self {
        if texts.is_empty() {
            return self;
        }
        self.literals
            .extend(texts.iter().filter(|t| !t.is_empty()).cloned());
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        self.literals.dedup();
        self
    }

    /// Thresholds the question names ("is the current ratio above 1.5?", « la marge dépasse-t-elle 60 % ? »), which
    /// the report may repeat beside the figure it holds to them.
    pub fn with_thresholds(mut self, thresholds: &[Decimal]) -> Self {
        if thresholds.is_empty() {
            return self;
        }
        for t in thresholds {
            add(&mut self.values, &mut self.percents, *t, false);
        }
        settle(&mut self.values);
        settle(&mut self.percents);
        self
    }

    /// Peer benchmarks may be cited too: their percentile, quartile and cohort size, with the cohort's name
    /// (`NAICS 72251`) read as a label, not a figure.
    pub fn with_benchmarks(mut self, benchmarks: &[crate::portfolio::Benchmark]) -> Self {
        for b in benchmarks {
            add(&mut self.values, &mut self.percents, b.percentile, true);
            self.values.push(Decimal::from(b.quartile));
            self.values.push(Decimal::from(b.cohort_size));
            if let Some(v) = b.figure.value {
                add(&mut self.values, &mut self.percents, v, false);
            }
            self.literals.push(b.cohort.clone());
            self.literals.push(b.id.clone());
        }
        settle(&mut self.values);
        settle(&mut self.percents);
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        self.literals.dedup();
        self
    }

    /// The numbers in `text` that nothing explains, `changes` (the differences the SDK itself wrote for a text's
    /// references) accepted too. Without changes this is [`GroundingContext::check`], with no copy of the context.
    pub(crate) fn check_with_changes(
        &self,
        text: &str,
        language: Language,
        changes: &[Decimal],
    ) -> Vec<UngroundedNumber> {
        if changes.is_empty() {
            return self.check(text, language);
        }
        let mut extended = self.clone();
        for v in changes {
            // A change's unit is its figures': points for percentages, plain for the rest.
            add(&mut extended.values, &mut extended.percents, *v, true);
        }
        settle(&mut extended.values);
        settle(&mut extended.percents);
        extended.check(text, language)
    }

    /// The numbers in `text` that nothing explains.
    pub fn check(&self, text: &str, language: Language) -> Vec<UngroundedNumber> {
        let masked = self.mask(text);
        let mut out = Vec::new();
        for number in scan(&masked, language) {
            if !self.explains(&number, &masked) {
                out.push(UngroundedNumber {
                    text: text[number.start..number.end].trim_end().to_string(),
                    offset: number.start,
                });
            }
        }
        out
    }

    /// Blanks out (with spaces, keeping byte offsets) literals, inline code and ordered-list markers.
    fn mask(&self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for literal in &self.literals {
            let mut from = 0;
            while let Some(at) = text[from..].find(literal.as_str()) {
                let start = from + at;
                bytes[start..start + literal.len()].fill(b' ');
                from = start + literal.len();
            }
        }
        let mut in_code = None;
        for i in 0..bytes.len() {
            if bytes[i] == b'`' {
                match in_code.take() {
                    Some(start) => bytes[start..=i].fill(b' '),
                    None => in_code = Some(i),
                }
            }
        }
        let mut line_start = 0;
        while line_start < bytes.len() {
            let mut i = line_start;
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
            }
            let digits = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i > digits
                && i + 1 < bytes.len()
                && (bytes[i] == b'.' || bytes[i] == b')')
                && bytes[i + 1] == b' '
            {
                bytes[digits..=i].fill(b' ');
            }
            line_start = match bytes[line_start..].iter().position(|b| *b == b'\n') {
                Some(p) => line_start + p + 1,
                None => bytes.len(),
            };
        }
        // Only whole literals and ASCII delimiters were replaced, so the bytes are still UTF-8.
        String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
    }

    fn explains(&self, n: &Number, text: &str) -> bool {
        let tol = n.tolerance();
        for value in &n.readings {
            // A value that overflows at its scale is not any figure.
            let allowed = if n.percent {
                &self.percents
            } else {
                &self.values
            };
            if let Some(scaled) = value.checked_mul(n.scale)
                && near(allowed, scaled, tol)
            {
                return true;
            }
        }
        // A number too long or too large for the decimal type has no reading, and nothing explains it.
        let Some(first) = n.readings.first() else {
            return false;
        };
        if n.decimals == 0 && n.scale == Decimal::ONE && !n.percent {
            let int = first.abs();
            // Years the statements cover (and the ones just around them).
            if let Ok(year) = i32::try_from(int.mantissa())
                && int.scale() == 0
                && year >= self.years.0.saturating_sub(1)
                && year <= self.years.1.saturating_add(1)
            {
                return true;
            }
            let after = word_after(text, n.end);
            let before = word_before(text, n.start);
            // Day numbers in dates ("31 décembre", "December 31").
            if int <= Decimal::new(31, 0) && (is_month(&after) || is_month(&before)) {
                return true;
            }
            // "3 years" when the statements have at least three periods.
            if int <= Decimal::from(self.periods) && PERIOD_WORDS.contains(&after.as_str()) {
                return true;
            }
        }
        false
    }
}

/// Whether a sorted list holds a value within `tol` of `x`.
fn near(values: &[Decimal], x: Decimal, tol: Decimal) -> bool {
    let lo = x.checked_sub(tol).unwrap_or(Decimal::MIN);
    let hi = x.checked_add(tol).unwrap_or(Decimal::MAX);
    let start = values.partition_point(|v| *v < lo);
    values.get(start).is_some_and(|v| *v <= hi)
}

/// Adds a value a report may state: as it is and times 100 to what plain numbers may be; times 100 (and as it is,
/// when its unit is not known) to what a number with a percent sign may be.
fn add(values: &mut Vec<Decimal>, percents: &mut Vec<Decimal>, v: Decimal, unitless: bool) {
    let a = v.abs();
    values.push(a);
    if unitless {
        percents.push(a);
    }
    if let Some(pct) = a.checked_mul(Decimal::ONE_HUNDRED) {
        values.push(pct);
        percents.push(pct);
    }
}

fn settle(values: &mut Vec<Decimal>) {
    values.sort_unstable();
    values.dedup();
}

fn is_month(word: &str) -> bool {
    MONTHS.contains(&word)
}

fn word_after(text: &str, from: usize) -> String {
    text[from..]
        .trim_start()
        .split(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("")
        .to_lowercase()
}

fn word_before(text: &str, to: usize) -> String {
    text[..to]
        .trim_end()
        .rsplit(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("")
        .to_lowercase()
}

/// A number found in a report.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    start: usize,
    end: usize,
    /// The plausible values (two when a separator is ambiguous, e.g. `1,234` in French text), absolute.
    readings: Vec<Decimal>,
    decimals: u32,
    scale: Decimal,
    percent: bool,
}

impl Number {
    /// Half a unit of the last digit shown, at the number's scale.
    fn tolerance(&self) -> Decimal {
        // The decimal type holds at most 28 decimal places; more than 27 shown is read as exact.
        let half_unit =
            Decimal::try_new(5, self.decimals.saturating_add(1)).unwrap_or(Decimal::ZERO);
        half_unit.checked_mul(self.scale).unwrap_or(half_unit)
    }
}

fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Finds the numbers of a text in a language's formats.
fn scan(text: &str, language: Language) -> Vec<Number> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let prev = if i > 0 { Some(chars[i - 1].1) } else { None };
        let in_word = prev.is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '@');
        // A number in other digits than ASCII ("¼", "½", "²", "١٢", "１２"): the SDK never writes one, so no
        // figure explains it; it is reported whole, with no reading.
        if !c.is_ascii_digit() && c.is_numeric() && !in_word {
            let mut j = i;
            while j < chars.len() && chars[j].1.is_numeric() {
                j += 1;
            }
            out.push(Number {
                start: at,
                end: chars.get(j).map_or(text.len(), |(b, _)| *b),
                readings: Vec::new(),
                decimals: 0,
                scale: Decimal::ONE,
                percent: false,
            });
            i = j;
            continue;
        }
        if !c.is_ascii_digit() || in_word {
            i += 1;
            // Skip the rest of an identifier such as FY2023 or c12.
            if c.is_alphanumeric() {
                while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_') {
                    i += 1;
                }
            }
            continue;
        }
        let start = match prev {
            Some('-' | '−' | '+') => chars[i - 1].0,
            _ => at,
        };
        // Groups of digits and the separators between them.
        let mut groups: Vec<String> = Vec::new();
        let mut seps: Vec<char> = Vec::new();
        let mut j = i;
        loop {
            let mut run = String::new();
            while j < chars.len() && chars[j].1.is_ascii_digit() {
                run.push(chars[j].1);
                j += 1;
            }
            groups.push(run);
            if j + 1 < chars.len()
                && matches!(chars[j].1, ',' | '.' | '\'') | is_group_space(chars[j].1)
                && chars[j + 1].1.is_ascii_digit()
            {
                seps.push(chars[j].1);
                j += 1;
            } else {
                break;
            }
        }
        let (readings, decimals, consumed) = interpret(&groups, &seps, language);
        // `consumed` groups were used; rewind to the end of the last one.
        let mut end_idx = i;
        for (g, group) in groups.iter().take(consumed).enumerate() {
            end_idx += group.len();
            if g + 1 < consumed {
                end_idx += 1;
            }
        }
        let end = chars.get(end_idx).map_or(text.len(), |(b, _)| *b);
        let (scale, percent, suffix_end) = suffix(text, end);
        out.push(Number {
            start,
            end: suffix_end.max(end),
            readings,
            decimals,
            scale,
            percent,
        });
        i = end_idx;
        // A number glued to letters (`3x`, `12k`) is still one token; skip what follows the suffix.
    }
    out
}

/// Reads digit groups as one number. Returns the readings, decimals shown and how many groups were used.
fn interpret(groups: &[String], seps: &[char], language: Language) -> (Vec<Decimal>, u32, usize) {
    let group_char = match language {
        Language::En => ',',
        Language::Fr => ' ',
    };
    let mut int = groups[0].clone();
    let mut used = 1;
    // Thousands groups: a group separator followed by exactly three digits, after a first group of 1–3 digits.
    let grouping_allowed = groups[0].len() <= 3;
    while used < groups.len() {
        let sep = seps[used - 1];
        let is_group_sep =
            sep == group_char || (language == Language::Fr && is_group_space(sep)) || sep == '\'';
        if grouping_allowed && is_group_sep && groups[used].len() == 3 {
            int.push_str(&groups[used]);
            used += 1;
        } else {
            break;
        }
    }
    let mut readings = Vec::new();
    let mut decimals = 0;
    if used < groups.len() && matches!(seps[used - 1], ',' | '.') {
        let frac = &groups[used];
        decimals = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        // Exact parsing: digits the decimal type cannot hold make the number unreadable (and so ungrounded),
        // never silently rounded to something that happens to match.
        if let Ok(v) = Decimal::from_str_exact(&format!("{int}.{frac}")) {
            readings.push(v);
        }
        // In French text, `1,234` could be an English-style thousands group.
        if language == Language::Fr
            && seps[used - 1] == ','
            && used == 1
            && frac.len() == 3
            && let Ok(v) = Decimal::from_str_exact(&format!("{int}{frac}"))
        {
            readings.push(v);
        }
        used += 1;
    } else if let Ok(v) = Decimal::from_str_exact(&int) {
        readings.push(v);
    }
    (readings, decimals, used)
}

/// A suffix after a number: a percent sign, percentage points, or a scale word. Returns the scale, whether the
/// number is a percentage, and where the suffix ends.
fn suffix(text: &str, from: usize) -> (Decimal, bool, usize) {
    let rest = &text[from..];
    let trimmed = rest.trim_start_matches(is_group_space);
    let skipped = rest.len() - trimmed.len();
    let word: String = trimmed
        .chars()
        .take_while(|c| c.is_alphabetic() || *c == '%' || *c == '$')
        .collect();
    let lower = word.to_lowercase();
    let at = from + skipped + word.len();
    if trimmed.starts_with('%') {
        return (Decimal::ONE, true, from + skipped + 1);
    }
    match lower.as_str() {
        "pts" | "pt" | "points" | "point" | "pp" | "pb" => (Decimal::ONE, true, at),
        "k" | "k$" => (Decimal::new(1000, 0), false, at),
        "thousand" | "thousands" => (Decimal::new(1000, 0), false, at),
        "m" | "m$" | "mm" | "mm$" | "million" | "millions" => {
            (Decimal::new(1_000_000, 0), false, at)
        }
        "md" | "md$" | "g" | "g$" | "milliard" | "milliards" | "billion" | "billions" | "b" => {
            (Decimal::new(1_000_000_000, 0), false, at)
        }
        _ => (Decimal::ONE, false, from),
    }
}

#[cfg(test)]
mod tests;
