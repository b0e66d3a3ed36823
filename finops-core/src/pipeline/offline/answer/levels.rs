//! The direct answer to a question that holds a figure to a level: a metric's latest value against the question's
//! threshold ("Current ratio is 1.81 in FY2023, above 1.5."), every planned value ("… above 1 in every year."),
//! or a statement line's amount or sign ("Revenue is 3,331,833 CAD in FY2023, above 3,000,000 CAD.").

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::super::{shown, value};
use super::{Told, subject};
use crate::analysis::intent::{Asked, Cues, Level};
use crate::analysis::{AnalysisPlan, Language};
use crate::metrics::{Figure, MetricId, Unit};
use crate::pipeline::labels::metric_subject;

/// The answer to a level every planned period must meet ("has the current ratio stayed above 1 every year?"), for
/// the metric its words name or the first the question names: whether each computable period meets it, and the
/// sentence that lists them ("Current ratio: 1.25 in FY2021, 2.16 in FY2022, 1.81 in FY2023; above 1 in every
/// year.", or the years that miss it).
pub(super) fn every_answer(
    plan: &AnalysisPlan,
    figures: &[Figure],
    cues: &Cues,
    currency: &str,
) -> Option<(bool, String)> {
    let Some(Asked::Level(level)) = cues.asked.filter(|_| cues.outside.is_empty()) else {
        return None;
    };
    if !level.every {
        return None;
    }
    let metric = level.metric.or_else(|| {
        cues.metrics
            .iter()
            .copied()
            .find(|m| plan.metrics.contains(m))
    })?;
    let lang = plan.language;
    let unit = metric.unit();
    if !level.fits(unit) {
        return None;
    }
    let values: Vec<(&str, Decimal)> = plan
        .periods
        .iter()
        .filter_map(|p| Some((p.as_str(), value(figures, metric, p)?)))
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(every_sentence(
        &metric_subject(metric, lang),
        &values,
        unit,
        level,
        lang,
        currency,
    ))
}

/// Whether every value meets `level`, and the sentence that lists them with the years that miss it: "Current
/// ratio: 1.25 in FY2021, 2.16 in FY2022 and 1.81 in FY2023; not above 1.5 in FY2021."
fn every_sentence(
    name: &str,
    values: &[(&str, Decimal)],
    unit: Unit,
    level: Level,
    lang: Language,
    currency: &str,
) -> (bool, String) {
    let missed: Vec<&str> = values
        .iter()
        .filter(|(_, v)| !level.holds(*v, unit))
        .map(|(p, _)| *p)
        .collect();
    let at = level.shown(unit, lang, currency);
    let listed: Vec<String> = values
        .iter()
        .map(|(p, v)| match lang {
            Language::En => format!("{} in {p}", shown(lang, *v, unit, currency)),
            Language::Fr => format!("{} en {p}", shown(lang, *v, unit, currency)),
        })
        .collect();
    let side = match (lang, level.above, level.inclusive) {
        (Language::En, true, false) => format!("above {at}"),
        (Language::En, true, true) => format!("at or above {at}"),
        (Language::En, false, false) => format!("below {at}"),
        (Language::En, false, true) => format!("at or below {at}"),
        (Language::Fr, true, false) => format!("au-dessus de {at}"),
        (Language::Fr, true, true) => format!("au moins à {at}"),
        (Language::Fr, false, false) => format!("en dessous de {at}"),
        (Language::Fr, false, true) => format!("au plus à {at}"),
    };
    let and = match lang {
        Language::En => " and ",
        Language::Fr => " et ",
    };
    let verdict = match (lang, missed.is_empty()) {
        (Language::En, true) => format!("{side} in every year"),
        (Language::Fr, true) => format!("{side} chaque année"),
        (Language::En, false) => format!("not {side} in {}", missed.join(and)),
        (Language::Fr, false) => format!("pas {side} en {}", missed.join(and)),
    };
    let sentence = match lang {
        Language::En => format!("{name}: {}; {verdict}.", listed.join(", ")),
        Language::Fr => format!("{name} : {} ; {verdict}.", listed.join(", ")),
    };
    (missed.is_empty(), sentence)
}

/// The sentences a level is held to: the metric its words name ("did we make a profit?": net margin), else the
/// question's subject.
pub(super) fn level_subject(level: Level, told: &[Told], named: usize) -> &[Told] {
    match level.metric {
        Some(m) => told
            .iter()
            .position(|t| t.metric == m)
            .map_or(&[], |i| &told[i..=i]),
        None => subject(told, named),
    }
}

/// The answer to a level held to a statement line ([`Cues::line`]: "is revenue above $3M?", "is our equity
/// negative?"), from its amount in the plan's latest period: whether it holds, and the sentence that shows it.
pub(super) fn line_answer(
    plan: &AnalysisPlan,
    cues: &Cues,
    currency: &str,
) -> Option<(bool, String)> {
    let Some(Asked::Level(level)) = cues.asked.filter(|_| cues.outside.is_empty()) else {
        return None;
    };
    let (line, amounts) = cues.line.as_ref()?;
    let last = plan.periods.last()?;
    let (_, amount) = amounts.iter().find(|(label, _)| label == last)?;
    let lang = plan.language;
    let v = shown(lang, *amount, Unit::Amount, currency);
    // The line as a subject, and in French its agreement: « Les capitaux propres sont positifs ».
    let super::lines::LineName {
        en,
        fr,
        en_plural,
        feminine,
        plural,
    } = super::lines::line_subject(*line)?;
    if level.every {
        // Every planned period's amount, each held to the level ("has our equity stayed positive every year?").
        let values: Vec<(&str, Decimal)> = plan
            .periods
            .iter()
            .filter_map(|p| {
                let (_, a) = amounts.iter().find(|(label, _)| label == p)?;
                Some((p.as_str(), *a))
            })
            .collect();
        return Some(every_sentence(
            match lang {
                Language::En => en,
                Language::Fr => fr,
            },
            &values,
            Unit::Amount,
            level,
            lang,
            currency,
        ));
    }
    let is = if plural { "sont" } else { "est" };
    let agree = |word: &str| {
        let mut w = word.to_string();
        if feminine {
            w.push('e');
        }
        if plural {
            w.push('s');
        }
        w
    };
    let en_is = if en_plural { "are" } else { "is" };
    let sentence = if level.threshold.is_zero() && level.unit.is_none() {
        match (lang, amount.cmp(&Decimal::ZERO)) {
            (Language::En, Ordering::Greater) => format!("{en} {en_is} positive in {last}: {v}."),
            (Language::En, Ordering::Less) => format!("{en} {en_is} negative in {last}: {v}."),
            (Language::En, Ordering::Equal) => format!("{en} {en_is} zero in {last}."),
            (Language::Fr, Ordering::Greater) => {
                format!(
                    "{fr} {is} {} en {last} : {v}.",
                    agree("positif").replace("fe", "ve")
                )
            }
            (Language::Fr, Ordering::Less) => {
                format!(
                    "{fr} {is} {} en {last} : {v}.",
                    agree("négatif").replace("fe", "ve")
                )
            }
            (Language::Fr, Ordering::Equal) => {
                format!(
                    "{fr} {is} {} en {last}.",
                    agree("nul").replace("nule", "nulle")
                )
            }
        }
    } else {
        let subject = match lang {
            Language::En => en,
            Language::Fr => fr,
        };
        let place = place(level, *amount, Unit::Amount, lang, currency);
        let plural = match lang {
            Language::En => en_plural,
            Language::Fr => plural,
        };
        stands(subject, plural, &v, last, &place, lang)
    };
    Some((level.holds(*amount, Unit::Amount), sentence))
}

/// Where each metric of a level question's subject stands against its threshold, in the latest planned period:
/// "Gross margin is 68.97% in FY2023, above 60%." The threshold is the question's, written in the metric's unit.
pub(super) fn level_sentences(
    level: Level,
    subject: &[Told],
    plan: &AnalysisPlan,
    currency: &str,
) -> Vec<String> {
    let lang = plan.language;
    let Some(last) = plan.periods.last() else {
        return Vec::new();
    };
    subject
        .iter()
        .map(|t| {
            let unit = t.metric.unit();
            let name = metric_subject(t.metric, lang);
            let v = shown(lang, t.latest, unit, currency);
            // A sign of net margin is whether the company made a profit.
            if t.metric == MetricId::NetMargin && level.threshold.is_zero() && level.unit.is_none()
            {
                return match (lang, t.latest.cmp(&Decimal::ZERO)) {
                    (Language::En, Ordering::Greater) => {
                        format!("The company made a profit in {last}: net margin is {v}.")
                    }
                    (Language::En, Ordering::Less) => {
                        format!("The company made a loss in {last}: net margin is {v}.")
                    }
                    (Language::En, Ordering::Equal) => {
                        format!("The company broke even in {last}: net margin is {v}.")
                    }
                    (Language::Fr, Ordering::Greater) => {
                        format!(
                            "L'entreprise est bénéficiaire en {last} : la marge nette est de {v}."
                        )
                    }
                    (Language::Fr, Ordering::Less) => {
                        format!("L'entreprise est en perte en {last} : la marge nette est de {v}.")
                    }
                    (Language::Fr, Ordering::Equal) => {
                        format!(
                            "L'entreprise est à l'équilibre en {last} : la marge nette est de {v}."
                        )
                    }
                };
            }
            let place = place(level, t.latest, unit, lang, currency);
            let plural = lang == Language::Fr && name.starts_with("Les ");
            stands(&name, plural, &v, last, &place, lang)
        })
        .collect()
}

/// Where a value stands against a level's threshold, as a report says it beside the value: "above 1.5", « en
/// dessous de 45 jours », "at 68.97%" (equal as displayed).
fn place(level: Level, value: Decimal, unit: Unit, lang: Language, currency: &str) -> String {
    let at = level.shown(unit, lang, currency);
    let strictly = |above: bool| {
        Level {
            above,
            inclusive: false,
            ..level
        }
        .holds(value, unit)
    };
    match (lang, strictly(true), strictly(false)) {
        (Language::En, true, _) => format!("above {at}"),
        (Language::En, _, true) => format!("below {at}"),
        (Language::En, _, _) => format!("at {at}"),
        (Language::Fr, true, _) => format!("au-dessus de {at}"),
        (Language::Fr, _, true) => format!("en dessous de {at}"),
        (Language::Fr, _, _) => format!("au niveau de {at}"),
    }
}

/// A figure's sentence against a level: "Gross margin is 68.97% in FY2023, above 60%.", « Les capitaux propres
/// sont de … » for a plural subject.
fn stands(
    subject: &str,
    plural: bool,
    value: &str,
    period: &str,
    place: &str,
    lang: Language,
) -> String {
    match (lang, plural) {
        (Language::En, true) => format!("{subject} are {value} in {period}, {place}."),
        (Language::En, false) => format!("{subject} is {value} in {period}, {place}."),
        (Language::Fr, true) => format!("{subject} sont de {value} en {period}, {place}."),
        (Language::Fr, false) => format!("{subject} est de {value} en {period}, {place}."),
    }
}
