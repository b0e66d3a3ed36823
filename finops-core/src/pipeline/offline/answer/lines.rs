//! A statement line as the subject of a yes/no question about its movement ("did our cash go up?", « nos
//! capitaux propres ont-ils augmenté ? », "did operating cash flow improve?"): answered from the line's amounts in
//! the first and last planned periods, not from a ratio over it.

use super::super::shown;
use crate::analysis::intent::{Asked, Cues, Subject};
use crate::analysis::{AnalysisPlan, Language};
use crate::metrics::Unit;
use crate::statements::Line;

/// A line as the subject of a sentence, in English and French, and the French agreement (feminine, plural):
/// « Les capitaux propres sont positifs ». `None` for a line no question is read about.
pub(super) fn line_subject(subject: Subject) -> Option<(&'static str, &'static str, bool, bool)> {
    let line = match subject {
        Subject::Debt => return Some(("Debt", "La dette", true, false)),
        Subject::Ebitda => return Some(("EBITDA", "Le BAIIA", false, false)),
        Subject::Line(line) => line,
    };
    Some(match line {
        Line::Revenue => ("Revenue", "Le chiffre d'affaires", false, false),
        Line::NetIncome => ("Net income", "Le résultat net", false, false),
        Line::Cash => ("Cash", "La trésorerie", true, false),
        Line::TotalEquity => ("Equity", "Les capitaux propres", false, true),
        Line::OperatingCashFlow => (
            "Operating cash flow",
            "Le flux de trésorerie d'exploitation",
            false,
            false,
        ),
        _ => return None,
    })
}

/// The answer to a yes/no question about a line's movement ([`Cues::line`] read for a movement): whether it moved
/// the way asked between the first and last planned periods (more of a line is better, less debt), and the
/// sentence that shows it.
pub(super) fn line_movement(
    plan: &AnalysisPlan,
    cues: &Cues,
    currency: &str,
) -> Option<(bool, String)> {
    let asked = cues.asked.filter(|_| cues.outside.is_empty())?;
    let (line, amounts) = cues.line.as_ref()?;
    // Better is more of a line, and less debt.
    let up = match asked {
        Asked::Up => true,
        Asked::Down => false,
        Asked::Better => line.more_is_better(),
        Asked::Worse => !line.more_is_better(),
        _ => return None,
    };
    let (en, fr, _, plural) = line_subject(*line)?;
    let (first, last) = (plan.periods.first()?, plan.periods.last()?);
    if first == last {
        return None;
    }
    let amount = |p: &str| amounts.iter().find(|(l, _)| l == p).map(|(_, a)| *a);
    let (a, b) = (amount(first)?, amount(last)?);
    let lang = plan.language;
    let (from, to) = (
        shown(lang, a, Unit::Amount, currency),
        shown(lang, b, Unit::Amount, currency),
    );
    let moved = b.cmp(&a);
    let sentence = match (lang, moved) {
        (Language::En, std::cmp::Ordering::Greater) => {
            format!("{en} rose from {from} in {first} to {to} in {last}.")
        }
        (Language::En, std::cmp::Ordering::Less) => {
            format!("{en} fell from {from} in {first} to {to} in {last}.")
        }
        (Language::En, std::cmp::Ordering::Equal) => {
            format!("{en} was unchanged at {to} from {first} to {last}.")
        }
        (Language::Fr, std::cmp::Ordering::Equal) => {
            let stays = if plural { "restent" } else { "reste" };
            format!("{fr} {stays} à {to} de {first} à {last}.")
        }
        (Language::Fr, _) => {
            let passes = if plural { "passent" } else { "passe" };
            let way = if moved == std::cmp::Ordering::Greater {
                "en hausse"
            } else {
                "en baisse"
            };
            format!("{fr} {passes} de {from} en {first} à {to} en {last}, {way}.")
        }
    };
    let yes = if up { b > a } else { b < a };
    Some((yes, sentence))
}
