//! Report languages: detection from a question, and how each language writes numbers.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::Unit;

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// French.
    Fr,
    /// English.
    En,
}

impl Language {
    /// The ISO 639-1 code (`fr`, `en`).
    pub fn id(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// Guesses the language of a question. French wins on accents or common French words; English otherwise.
    pub fn detect(question: &str) -> Language {
        const FRENCH: &[&str] = &[
            "le",
            "la",
            "les",
            "des",
            "du",
            "de",
            "est",
            "sont",
            "notre",
            "nos",
            "quel",
            "quelle",
            "quels",
            "quelles",
            "comment",
            "pourquoi",
            "analyse",
            "analyser",
            "rentabilité",
            "liquidité",
            "endettement",
            "dette",
            "marge",
            "ans",
            "année",
            "années",
            "une",
            "un",
            "sur",
            "et",
            "avec",
            "entreprise",
            "santé",
            "trésorerie",
            "croissance",
            "est-ce",
        ];
        const ENGLISH: &[&str] = &[
            "the", "is", "are", "our", "what", "how", "why", "analyse", "analyze", "margin",
            "years", "year", "and", "with", "of", "company", "health", "cash", "growth", "debt",
            "does", "do", "getting",
        ];
        let lower = question.to_lowercase();
        let mut fr = 0;
        let mut en = 0;
        for word in lower.split(|c: char| !c.is_alphanumeric() && c != '-') {
            if word.is_empty() {
                continue;
            }
            if FRENCH.contains(&word) {
                fr += 2;
            }
            if ENGLISH.contains(&word) {
                en += 2;
            }
            if word.chars().any(|c| "éèêàâçùûôîïë".contains(c)) {
                fr += 1;
            }
        }
        if fr > en { Language::Fr } else { Language::En }
    }

    /// Writes a number with `dp` decimal places in this language's style: `1,234.56` or `1 234,56`.
    pub fn number(self, value: Decimal, dp: u32) -> String {
        let rounded = value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        let text = format!("{:.*}", dp as usize, rounded.abs());
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let (group, decimal) = match self {
            Language::En => (',', '.'),
            Language::Fr => (' ', ','),
        };
        let mut out = String::with_capacity(text.len() + 8);
        if rounded.is_sign_negative() && !rounded.is_zero() {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(decimal);
            out.push_str(frac);
        }
        out
    }

    /// Writes a figure's value the way a report shows it: amounts with no decimals and the currency, percentages
    /// with two decimals, ratios with two, days with one.
    pub fn value(self, value: Decimal, unit: Unit, currency: &str) -> String {
        match (unit, self) {
            (Unit::Amount, _) => format!("{} {currency}", self.number(value, 0)),
            (Unit::Percent, Language::En) => {
                format!("{}%", self.number(value * Decimal::ONE_HUNDRED, 2))
            }
            (Unit::Percent, Language::Fr) => {
                format!("{} %", self.number(value * Decimal::ONE_HUNDRED, 2))
            }
            (Unit::Ratio, _) => self.number(value, 2),
            (Unit::Days, Language::En) => format!("{} days", self.number(value, 1)),
            (Unit::Days, Language::Fr) => format!("{} jours", self.number(value, 1)),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Language {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "fr-ca" | "fr-fr" | "french" | "français" => Ok(Language::Fr),
            "en" | "en-ca" | "en-us" | "en-gb" | "english" | "anglais" => Ok(Language::En),
            _ => Err(Error::invalid_argument(
                "language",
                format!("unsupported language `{s}`: expected fr or en"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_french_and_english_questions() {
        assert_eq!(
            Language::detect("Analyse la rentabilité du bistro sur trois ans"),
            Language::Fr
        );
        assert_eq!(
            Language::detect("Est-ce que notre trésorerie se resserre ?"),
            Language::Fr
        );
        assert_eq!(
            Language::detect("Is our working capital getting tighter?"),
            Language::En
        );
        assert_eq!(Language::detect("How profitable were we?"), Language::En);
        assert_eq!(Language::detect("???"), Language::En);
    }

    #[test]
    fn formats_numbers_per_language() {
        let v: Decimal = "-1234567.891".parse().unwrap();
        assert_eq!(Language::En.number(v, 2), "-1,234,567.89");
        assert_eq!(Language::Fr.number(v, 2), "-1 234 567,89");
        assert_eq!(Language::En.number(Decimal::new(5, 1), 0), "1");
        assert_eq!(Language::En.number(Decimal::new(-4, 3), 2), "0.00");
        assert_eq!(
            Language::Fr.value(Decimal::new(6897, 4), Unit::Percent, "CAD"),
            "68,97 %"
        );
        assert_eq!(
            Language::En.value(Decimal::new(6897, 4), Unit::Percent, "CAD"),
            "68.97%"
        );
        assert_eq!(
            Language::Fr.value(Decimal::new(1234, 0), Unit::Amount, "CAD"),
            "1 234 CAD"
        );
    }

    #[test]
    fn parses_language_names_and_refuses_others() {
        assert_eq!("FR".parse::<Language>().unwrap(), Language::Fr);
        assert_eq!("en-CA".parse::<Language>().unwrap(), Language::En);
        let e = "de".parse::<Language>().unwrap_err();
        assert_eq!(e.field(), Some("language"));
    }
}
