//! A statement line as the subject of a question: whether it moved ("did our cash go up?", « nos capitaux propres
//! ont-ils augmenté ? », "did operating cash flow improve?"), answered from the line's amounts in the first and
//! last planned periods, not from a ratio over it; or its amount ("how much cash do we have?", « quel est notre
//! chiffre d'affaires ? »).

use super::super::shown;
use crate::analysis::intent::{Asked, Cues, Subject};
use crate::analysis::{AnalysisPlan, Language};
use crate::metrics::{DerivedLine, Unit};
use crate::statements::Line;

/// A line as the subject of a sentence, in English and French, with its agreement: "Total assets are",
/// « La trésorerie est positive », « Les capitaux propres sont positifs ».
#[derive(Debug, Clone, Copy)]
pub(super) struct LineName {
    pub en: &'static str,
    pub fr: &'static str,
    /// The English name is plural ("Total assets are").
    pub en_plural: bool,
    /// The French name is feminine.
    pub feminine: bool,
    /// The French name is plural.
    pub plural: bool,
}

const fn name(
    en: &'static str,
    fr: &'static str,
    en_plural: bool,
    feminine: bool,
    plural: bool,
) -> Option<LineName> {
    Some(LineName {
        en,
        fr,
        en_plural,
        feminine,
        plural,
    })
}

/// The name of a line a question is read about; `None` for one it never is.
pub(super) fn line_subject(subject: Subject) -> Option<LineName> {
    let line = match subject {
        Subject::Derived(derived) => {
            return match derived {
                DerivedLine::TotalDebt => name("Debt", "La dette", false, true, false),
                DerivedLine::Ebitda => name("EBITDA", "Le BAIIA", false, false, false),
                DerivedLine::GrossProfit => name(
                    "Gross profit",
                    "La marge brute en valeur",
                    false,
                    true,
                    false,
                ),
                DerivedLine::OperatingIncome => name(
                    "Operating income",
                    "Le résultat d'exploitation",
                    false,
                    false,
                    false,
                ),
                DerivedLine::IncomeBeforeTax => name(
                    "Income before tax",
                    "Le résultat avant impôt",
                    false,
                    false,
                    false,
                ),
                DerivedLine::WorkingCapital | DerivedLine::FreeCashFlow => None,
            };
        }
        Subject::Line(line) => line,
    };
    match line {
        Line::Revenue => name("Revenue", "Le chiffre d'affaires", false, false, false),
        Line::CostOfGoodsSold => name(
            "Cost of goods sold",
            "Le coût des ventes",
            false,
            false,
            false,
        ),
        Line::OperatingExpenses => name(
            "Operating expenses",
            "Les charges d'exploitation",
            true,
            true,
            true,
        ),
        Line::InterestExpense => name(
            "Interest expense",
            "Les frais financiers",
            false,
            false,
            true,
        ),
        Line::IncomeTaxExpense => name(
            "Income tax expense",
            "L'impôt sur le résultat",
            false,
            false,
            false,
        ),
        Line::DepreciationAmortization => name(
            "Depreciation and amortization",
            "Les dotations aux amortissements",
            false,
            true,
            true,
        ),
        Line::NetIncome => name("Net income", "Le résultat net", false, false, false),
        Line::Cash => name("Cash", "La trésorerie", false, true, false),
        Line::AccountsReceivable => name(
            "Accounts receivable",
            "Les créances clients",
            false,
            true,
            true,
        ),
        Line::Inventory => name("Inventory", "Les stocks", false, false, true),
        Line::TotalCurrentAssets => name(
            "Current assets",
            "L'actif à court terme",
            true,
            false,
            false,
        ),
        Line::TotalAssets => name("Total assets", "Le total de l'actif", true, false, false),
        Line::AccountsPayable => name(
            "Accounts payable",
            "Les dettes fournisseurs",
            false,
            true,
            true,
        ),
        Line::TotalCurrentLiabilities => name(
            "Current liabilities",
            "Le passif à court terme",
            true,
            false,
            false,
        ),
        Line::LongTermDebt => name(
            "Long-term debt",
            "La dette à long terme",
            false,
            true,
            false,
        ),
        Line::ShortTermDebt => name(
            "Short-term debt",
            "La dette à court terme",
            false,
            true,
            false,
        ),
        Line::TotalLiabilities => name(
            "Total liabilities",
            "Le total du passif",
            true,
            false,
            false,
        ),
        Line::TotalEquity => name("Equity", "Les capitaux propres", false, false, true),
        Line::OperatingCashFlow => name(
            "Operating cash flow",
            "Le flux de trésorerie d'exploitation",
            false,
            false,
            false,
        ),
        Line::CapitalExpenditures => name(
            "Capital expenditures",
            "Les investissements",
            true,
            false,
            true,
        ),
        Line::DividendsPaid => name("Dividends paid", "Les dividendes versés", true, false, true),
        _ => None,
    }
}

/// The answer to a question that asks for a line's amount ([`Cues::line`] with no yes/no asked: "how much cash do
/// we have?", « quel est notre chiffre d'affaires ? »): its amount in the last planned period, then in the
/// earlier ones, latest first. "Revenue was 3,036,000 CAD in FY2024, after 3,196,000 CAD in FY2023 and 2,905,000
/// CAD in FY2022."
pub(super) fn line_amount(plan: &AnalysisPlan, cues: &Cues, currency: &str) -> Option<String> {
    if cues.asked.is_some() {
        return None;
    }
    let (line, amounts) = cues.line.as_ref()?;
    let name = line_subject(*line)?;
    let lang = plan.language;
    let mut values: Vec<(&str, String)> = plan
        .periods
        .iter()
        .rev()
        .filter_map(|p| {
            let (_, a) = amounts.iter().find(|(label, _)| label == p)?;
            Some((p.as_str(), shown(lang, *a, Unit::Amount, currency)))
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    let (last, latest) = values.remove(0);
    let earlier: Vec<String> = values
        .iter()
        .map(|(p, v)| match lang {
            Language::En => format!("{v} in {p}"),
            Language::Fr => format!("{v} en {p}"),
        })
        .collect();
    let earlier = match earlier.split_last() {
        None => String::new(),
        Some((one, [])) => one.clone(),
        Some((end, rest)) => match lang {
            Language::En => format!("{} and {end}", rest.join(", ")),
            Language::Fr => format!("{} et {end}", rest.join(", ")),
        },
    };
    Some(match lang {
        Language::En => {
            let was = if name.en_plural { "were" } else { "was" };
            if earlier.is_empty() {
                format!("{} {was} {latest} in {last}.", name.en)
            } else {
                format!("{} {was} {latest} in {last}, after {earlier}.", name.en)
            }
        }
        Language::Fr => {
            let amount_to = if name.plural {
                "s'élèvent"
            } else {
                "s'élève"
            };
            if earlier.is_empty() {
                format!("{} {amount_to} à {latest} en {last}.", name.fr)
            } else {
                format!(
                    "{} {amount_to} à {latest} en {last}, après {earlier}.",
                    name.fr
                )
            }
        }
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
        Asked::Better => line.more_is_better()?,
        Asked::Worse => !line.more_is_better()?,
        _ => return None,
    };
    let LineName { en, fr, plural, .. } = line_subject(*line)?;
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
