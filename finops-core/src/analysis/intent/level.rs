//! Levels a yes/no question holds a figure to: "is the current ratio above 1.5?", « la marge brute dépasse-t-elle
//! 60 % ? », "is net debt to EBITDA under 3x?", "is free cash flow positive?". The offline memo answers them from
//! the latest planned value, and the Validator's report is held to that answer.

use rust_decimal::Decimal;

use super::fold;
use crate::analysis::Language;
use crate::metrics::{MetricId, Unit};

/// A threshold a figure must be above or below, as the question wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Level {
    /// Above the threshold (`false`: below it).
    pub above: bool,
    /// Whether the threshold itself meets the level ("at least", « au moins »).
    pub inclusive: bool,
    /// The number as written: `60` for "60 %", `1.5` for « 1,5 », `100000` for "$100k", `-4` for "-4 %"; zero for
    /// "positive".
    pub threshold: Decimal,
    /// The unit the question wrote it in: a percentage ("60 %", "60 percent"), an amount ("$100k", « 100 000 $ »,
    /// "1.2 million", a bare number of 10,000 or more), days ("45 days"), times ("3x", « 2 fois »); `None` for a
    /// smaller bare number, which takes the unit of the figure it is held to.
    pub unit: Option<Unit>,
    /// The metric the words themselves hold to the level, whatever else the question names: net margin for "did we
    /// make a profit?" (a profit is net income above zero). `None`: the metrics the question names.
    #[serde(default)]
    pub metric: Option<MetricId>,
    /// Whether every planned period must meet it ("has the current ratio stayed above 1 every year?", « la marge
    /// a-t-elle toujours été positive ? »), not only the latest.
    #[serde(default)]
    pub every: bool,
}

/// Comparison phrases, accent-folded, each followed by the threshold: whether it asks for above, and whether the
/// threshold itself passes.
const COMPARATORS: &[(&str, bool, bool)] = &[
    ("above", true, false),
    ("over", true, false),
    ("more than", true, false),
    ("greater than", true, false),
    ("higher than", true, false),
    ("bigger than", true, false),
    ("larger than", true, false),
    ("exceed", true, false),
    ("exceeds", true, false),
    ("exceeding", true, false),
    ("at least", true, true),
    ("no less than", true, true),
    ("not less than", true, true),
    ("superieur a", true, false),
    ("superieure a", true, false),
    ("superieurs a", true, false),
    ("superieures a", true, false),
    ("au dessus de", true, false),
    ("plus de", true, false),
    ("plus eleve que", true, false),
    ("plus elevee que", true, false),
    ("plus eleves que", true, false),
    ("plus elevees que", true, false),
    ("plus grand que", true, false),
    ("plus grande que", true, false),
    ("depasse", true, false),
    ("depassent", true, false),
    ("depasser", true, false),
    ("excede", true, false),
    ("excedent", true, false),
    ("au moins", true, true),
    ("pas moins de", true, true),
    ("superieur ou egal a", true, true),
    ("superieure ou egale a", true, true),
    ("below", false, false),
    ("under", false, false),
    ("less than", false, false),
    ("lower than", false, false),
    ("smaller than", false, false),
    ("fewer than", false, false),
    ("at most", false, true),
    ("no more than", false, true),
    ("not more than", false, true),
    ("inferieur a", false, false),
    ("inferieure a", false, false),
    ("inferieurs a", false, false),
    ("inferieures a", false, false),
    ("en dessous de", false, false),
    ("au dessous de", false, false),
    ("sous", false, false),
    ("moins de", false, false),
    ("moins que", false, false),
    ("plus bas que", false, false),
    ("plus basse que", false, false),
    ("plus faible que", false, false),
    ("au plus", false, true),
    ("pas plus de", false, true),
    ("inferieur ou egal a", false, true),
    ("inferieure ou egale a", false, true),
];

/// Words that hold a figure to zero: "positive", « négatifs ».
const SIGNS: &[(&str, bool)] = &[
    ("positive", true),
    ("positif", true),
    ("positifs", true),
    ("positives", true),
    ("negative", false),
    ("negatif", false),
    ("negatifs", false),
    ("negatives", false),
];

/// The pronouns of a French inverted question, between a verb and its object (« dépasse-t-il », « excèdent-ils »).
const INVERTED: &[&str] = &["t", "il", "elle", "ils", "elles", "on"];

/// Words that may stand between a comparison and its number ("above the 65 % target"; only these, so "over the
/// last 3 years" is no threshold).
const BEFORE_NUMBER: &[&str] = &[
    "the", "a", "an", "our", "le", "la", "les", "l", "un", "une", "notre", "nos",
];

/// Phrases that ask whether the company made a profit (net income above zero) or a loss (below it), accent-folded,
/// matched as whole words: "are we profitable?", « sommes-nous en perte ? », "did we lose money in 2022?".
const PROFIT_SIGNS: &[(&str, bool)] = &[
    ("profitable", true),
    ("rentable", true),
    ("rentables", true),
    ("beneficiaire", true),
    ("beneficiaires", true),
    ("make money", true),
    ("makes money", true),
    ("made money", true),
    ("making money", true),
    ("make a profit", true),
    ("makes a profit", true),
    ("made a profit", true),
    ("making a profit", true),
    ("turn a profit", true),
    ("turned a profit", true),
    ("in the black", true),
    ("gagne de l argent", true),
    ("gagnons de l argent", true),
    ("gagner de l argent", true),
    ("fait des benefices", true),
    ("faisons des benefices", true),
    ("faire des benefices", true),
    ("en benefice", true),
    ("unprofitable", false),
    ("deficitaire", false),
    ("deficitaires", false),
    ("lose money", false),
    ("loses money", false),
    ("lost money", false),
    ("losing money", false),
    ("make a loss", false),
    ("made a loss", false),
    ("making a loss", false),
    ("run at a loss", false),
    ("in the red", false),
    ("en perte", false),
    ("a perte", false),
    ("perd de l argent", false),
    ("perdons de l argent", false),
    ("perdu de l argent", false),
    ("perdre de l argent", false),
    ("dans le rouge", false),
    ("en deficit", false),
];

/// Words that make a profit word a comparison ("more profitable", « plus rentable »): a movement, not a sign.
const COMPARATIVES: &[&str] = &[
    "more", "less", "most", "least", "as", "so", "too", "plus", "moins", "aussi", "si", "trop",
];

/// Whether a question asks if the company made a profit or a loss, as a level of net margin (its sign is net
/// income's): "are we profitable?" is above zero, "did we lose money?" below. Not a comparison ("more profitable").
pub fn profit_sign(question: &str) -> Option<Level> {
    profit_sign_folded(&fold(question))
}

/// [`profit_sign`] of a question already folded ([`fold`]).
pub(super) fn profit_sign_folded(folded: &str) -> Option<Level> {
    let mut found: Vec<bool> = Vec::new();
    for (phrase, profit) in PROFIT_SIGNS {
        for at in whole_phrase_at(folded, phrase) {
            let before = folded[..at].trim_end().rsplit(' ').next().unwrap_or("");
            if COMPARATIVES.contains(&before) {
                return None;
            }
            found.push(*profit);
        }
    }
    found.sort_unstable();
    found.dedup();
    match found[..] {
        [profit] => Some(Level {
            every: every(folded),
            above: profit,
            inclusive: false,
            threshold: Decimal::ZERO,
            unit: None,
            metric: Some(MetricId::NetMargin),
        }),
        _ => None,
    }
}

/// Words after a number that make it a span of time ("over 3 years"), not a threshold.
const SPANS: &[&str] = &[
    "year",
    "years",
    "an",
    "ans",
    "annee",
    "annees",
    "exercice",
    "exercices",
    "month",
    "months",
    "mois",
    "quarter",
    "quarters",
    "trimestre",
    "trimestres",
    "period",
    "periods",
    "periode",
    "periodes",
];

/// A question's pieces: folded words, numbers (with what scales them) and percent signs.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A number, and whether it could be a year (four digits, no separator, no decimals).
    Number(Decimal, bool),
    Percent,
    /// A currency sign: `$`, `€`, `£`.
    Currency,
}

/// Splits a question into [`Token`]s. A number keeps its separators: `1,5` and `1.5` are one and a half, `1,500`,
/// `1 500` and `1 500` fifteen hundred (a comma before exactly three digits groups them).
fn tokens(question: &str) -> Vec<Token> {
    let chars: Vec<char> = question.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            // A minus sign right before the digits, not a hyphen inside a word ("-4 %", "−5 %"; not "FY-2023").
            let negative = i > 0
                && matches!(chars[i - 1], '-' | '\u{2212}')
                && (i < 2 || !chars[i - 2].is_alphanumeric());
            let (number, year, next) = number_at(&chars, i);
            if let Some(n) = number {
                out.push(Token::Number(
                    if negative { -n } else { n },
                    year && !negative,
                ));
            }
            i = next;
        } else if c == '%' {
            out.push(Token::Percent);
            i += 1;
        } else if matches!(c, '$' | '€' | '£') {
            out.push(Token::Currency);
            i += 1;
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() && !chars[i].is_ascii_digit() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word.is_ascii() {
                out.push(Token::Word(word.to_ascii_lowercase()));
            } else {
                out.extend(
                    fold(&word)
                        .split(' ')
                        .filter(|w| !w.is_empty())
                        .map(|w| Token::Word(w.to_string())),
                );
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The number starting at `start`: its value (`None` when it does not parse), whether it could be a year, and the
/// index after it.
fn number_at(chars: &[char], start: usize) -> (Option<Decimal>, bool, usize) {
    let digit = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
    let run = |k: usize| (k..).take_while(|&j| digit(j)).count();
    let mut int = String::new();
    let mut frac = String::new();
    let mut i = start;
    let first = run(i);
    int.extend(&chars[i..i + first]);
    i += first;
    let mut grouped = false;
    while let Some(&sep) = chars.get(i) {
        let after = run(i + 1);
        if after == 0 {
            break;
        }
        let group = after == 3 && !digit(i + 4);
        match sep {
            // Spaces (plain, no-break, narrow no-break) only ever group.
            ' ' | '\u{a0}' | '\u{202f}' if group => grouped = true,
            ',' if group => grouped = true,
            // The decimals, after groups or not ("1,500.25", « 1 500,25 »).
            ',' | '.' => {
                frac.extend(&chars[i + 1..i + 1 + after]);
                i += 1 + after;
                break;
            }
            _ => break,
        }
        int.extend(&chars[i + 1..i + 1 + after]);
        i += 1 + after;
    }
    let text = if frac.is_empty() {
        int.clone()
    } else {
        format!("{int}.{frac}")
    };
    let year = !grouped && frac.is_empty() && int.len() == 4;
    (text.parse::<Decimal>().ok(), year, i)
}

/// The level a question holds a figure to, if it names exactly one: a comparison followed by a number ("above
/// 1.5", « supérieur à 60 % », "more than $100k", "under 45 days"), or a sign ("positive", « négatifs »). A year
/// ("higher than 2022") or a span of time ("over 3 years") is no threshold.
pub fn level(question: &str) -> Option<Level> {
    level_folded(question, &fold(question))
}

/// [`level`] of a question and its folded text ([`fold`]).
pub(super) fn level_folded(question: &str, folded: &str) -> Option<Level> {
    // Most questions name no number and no sign: nothing to read.
    if !question.bytes().any(|b| b.is_ascii_digit())
        && !folded
            .split(' ')
            .any(|w| SIGNS.iter().any(|(s, _)| *s == w))
    {
        return None;
    }
    let tokens = tokens(question);
    let mut found: Vec<Level> = Vec::new();
    // The tokens a comparison already read: "no more than 3" is not also "more than 3".
    let mut read_to = 0;
    for (at, token) in tokens.iter().enumerate() {
        let Token::Word(word) = token else { continue };
        if at < read_to {
            continue;
        }
        if let Some((_, positive)) = SIGNS.iter().find(|(w, _)| w == word) {
            found.push(Level {
                above: *positive,
                inclusive: false,
                threshold: Decimal::ZERO,
                unit: None,
                metric: None,
                every: false,
            });
            continue;
        }
        for (phrase, above, inclusive) in COMPARATORS {
            let words: Vec<&str> = phrase.split(' ').collect();
            let matches = words
                .iter()
                .enumerate()
                .all(|(k, w)| matches!(tokens.get(at + k), Some(Token::Word(t)) if t == w));
            if !matches {
                continue;
            }
            // French puts the subject after the verb: « dépasse-t-elle 60 % ».
            let mut from = at + words.len();
            while matches!(tokens.get(from), Some(Token::Word(w))
                if INVERTED.contains(&w.as_str()) || BEFORE_NUMBER.contains(&w.as_str()))
            {
                from += 1;
            }
            if let Some(threshold) = threshold(&tokens[from..]) {
                found.push(Level {
                    above: *above,
                    inclusive: *inclusive,
                    ..threshold
                });
                read_to = from;
                break;
            }
        }
    }
    found.dedup();
    match found[..] {
        [one] => Some(Level {
            every: every(folded),
            ..one
        }),
        _ => None,
    }
}

/// Phrases that hold every period to a level, accent-folded, as whole words.
const EVERY: &[&str] = &[
    "every year",
    "each year",
    "every period",
    "each period",
    "all years",
    "all the years",
    "all three years",
    "throughout",
    "consistently",
    "always",
    "chaque annee",
    "chaque exercice",
    "chaque periode",
    "toutes les annees",
    "tous les exercices",
    "toujours",
    "constamment",
];

/// Whether a folded question holds every planned period to its level ([`EVERY`]).
fn every(folded: &str) -> bool {
    EVERY
        .iter()
        .any(|p| whole_phrase_at(folded, p).next().is_some())
}

/// Where `phrase` occurs in a folded text as whole words (byte offsets).
fn whole_phrase_at<'a>(folded: &'a str, phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    folded
        .match_indices(phrase)
        .map(|(at, _)| at)
        .filter(move |&at| {
            let end = at + phrase.len();
            (at == 0 || folded.as_bytes()[at - 1] == b' ')
                && (end == folded.len() || folded.as_bytes()[end] == b' ')
        })
}

/// The smallest bare number read as an amount.
const BARE_AMOUNT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// The threshold at the start of `rest` (after a comparison): a number, scaled by `k`, `m`, "million", and the unit
/// written with it (`%`, "percent", « pour cent », a currency, "days", "x").
fn threshold(rest: &[Token]) -> Option<Level> {
    let (money, rest) = match rest.first() {
        Some(Token::Currency) => (true, &rest[1..]),
        _ => (false, rest),
    };
    let Some(Token::Number(mut n, year)) = rest.first().cloned() else {
        return None;
    };
    let next = |k: usize| match rest.get(k) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let mut unit = money.then_some(Unit::Amount);
    match (rest.get(1), next(1), next(2)) {
        (Some(Token::Percent), _, _) => unit = Some(Unit::Percent),
        (_, Some("percent" | "pourcent"), _) | (_, Some("pour"), Some("cent")) => {
            unit = Some(Unit::Percent);
        }
        (Some(Token::Currency), _, _)
        | (_, Some("dollar" | "dollars" | "euro" | "euros" | "cad" | "usd" | "eur"), _) => {
            unit = Some(Unit::Amount);
        }
        (_, Some("k" | "thousand" | "mille"), _) => {
            n = n.checked_mul(Decimal::from(1_000))?;
            unit = Some(Unit::Amount);
        }
        (_, Some("m" | "million" | "millions" | "mm"), _) => {
            n = n.checked_mul(Decimal::from(1_000_000))?;
            unit = Some(Unit::Amount);
        }
        (_, Some("day" | "days" | "jour" | "jours"), _) => unit = Some(Unit::Days),
        (_, Some("x" | "times" | "fois"), _) => unit = Some(Unit::Ratio),
        (_, Some(w), _) if SPANS.contains(&w) => return None,
        _ => {}
    }
    if year && unit.is_none() && (1900..=2100).contains(&n.mantissa()) {
        return None;
    }
    // A bare number of ten thousand or more is an amount ("is EBITDA above 400000?"): no margin, ratio or count of
    // days a question holds to a level is that large.
    if unit.is_none() && n.abs() >= BARE_AMOUNT {
        unit = Some(Unit::Amount);
    }
    Some(Level {
        above: true,
        inclusive: false,
        threshold: n.normalize(),
        unit,
        metric: None,
        every: false,
    })
}

impl Level {
    /// Whether it was written as a percentage.
    pub fn percent(&self) -> bool {
        self.unit == Some(Unit::Percent)
    }

    /// Whether it can be held to a figure of `unit`: a bare number to any, a percentage to a percentage or a ratio
    /// (a ratio's "50 %" is 0.5), anything else to its own unit only ("above $100k" says nothing of a margin).
    pub fn fits(&self, unit: Unit) -> bool {
        match self.unit {
            None => true,
            Some(Unit::Percent) => matches!(unit, Unit::Percent | Unit::Ratio),
            Some(written) => written == unit,
        }
    }
    /// The threshold in the unit of a figure: a percentage's "60" or "60 %" is 0.60 (a margin is a fraction), a
    /// ratio's "50 %" is 0.5, anything else as written.
    pub fn threshold_for(&self, unit: Unit) -> Decimal {
        if self.percent() || unit == Unit::Percent {
            self.threshold / Decimal::ONE_HUNDRED
        } else {
            self.threshold
        }
    }

    /// Whether a figure of `unit` meets the level, compared as the report displays it (a gross margin of 68.966 %
    /// shown as 68.97 % is not below 68.97 %).
    pub fn holds(&self, value: Decimal, unit: Unit) -> bool {
        let shown = value.round_dp_with_strategy(
            display_places(unit),
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
        let t = self.threshold_for(unit);
        match (self.above, self.inclusive) {
            (true, false) => shown > t,
            (true, true) => shown >= t,
            (false, false) => shown < t,
            (false, true) => shown <= t,
        }
    }

    /// The threshold as a report writes it beside a figure of `unit`: "60%" / « 60 % », "1.5" / « 1,5 », "45
    /// days", "100,000 CAD"; "zero" / « zéro » for a sign.
    pub fn shown(&self, unit: Unit, language: Language, currency: &str) -> String {
        if self.threshold.is_zero() {
            return match language {
                Language::En => "zero".into(),
                Language::Fr => "zéro".into(),
            };
        }
        let n = |v: Decimal| language.number(v, v.normalize().scale().min(4));
        if self.percent() || unit == Unit::Percent {
            return match language {
                Language::En => format!("{}%", n(self.threshold)),
                Language::Fr => format!("{} %", n(self.threshold)),
            };
        }
        match (unit, language) {
            (Unit::Amount, _) => format!("{} {currency}", n(self.threshold)),
            (Unit::Days, Language::En) => format!("{} days", n(self.threshold)),
            (Unit::Days, Language::Fr) => format!("{} jours", n(self.threshold)),
            _ => n(self.threshold),
        }
    }
}

/// The decimal places a report shows a figure of `unit` with (percentages as fractions).
fn display_places(unit: Unit) -> u32 {
    match unit {
        Unit::Amount => 0,
        Unit::Percent => 4,
        Unit::Ratio => 2,
        Unit::Days => 1,
    }
}

#[cfg(test)]
#[path = "level_tests.rs"]
mod tests;
