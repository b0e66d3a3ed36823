//! The offline memo's first words: a direct answer to the question, about the metrics it names and its family's
//! headline figures, with "Yes." or "No." for a yes/no question about a movement.

use std::cmp::Ordering;
use std::fmt::Write as _;

use rust_decimal::Decimal;

mod levels;
mod lines;

use super::{INTEREST_COVERAGE_THIN, shown, value};
use crate::analysis::intent::{Asked, Cues};
use crate::analysis::{AnalysisPlan, Intent, Language};
use crate::metrics::{Category, Figure, MetricId, Unit};
use crate::pipeline::labels::{metric_subject, reason};
use levels::{every_answer, level_sentences, level_subject, line_answer};

/// The metrics that answer each intent first, in order of preference (the first the plan computed is used).
fn headline_metrics(intent: Intent) -> &'static [MetricId] {
    match intent {
        Intent::Profitability => &[
            MetricId::NetMargin,
            MetricId::GrossMargin,
            MetricId::OperatingMargin,
        ],
        Intent::Liquidity => &[MetricId::WorkingCapital, MetricId::CurrentRatio],
        Intent::Solvency => &[
            MetricId::DebtToEquity,
            MetricId::InterestCoverage,
            MetricId::DebtToAssets,
        ],
        Intent::Efficiency => &[MetricId::CashConversionCycle, MetricId::AssetTurnover],
        Intent::Growth => &[MetricId::RevenueGrowth],
        Intent::CashFlow => &[MetricId::FreeCashFlow, MetricId::OperatingCashFlowRatio],
        Intent::HealthCheck => &[
            MetricId::NetMargin,
            MetricId::CurrentRatio,
            MetricId::DebtToEquity,
        ],
    }
}

/// The period among `inner` (those strictly between the two ends) whose value lies furthest outside the two ends'
/// range, if any does: `(label, value, true)` for a low, `false` for a high.
fn turning_point(
    inner: &[String],
    figures: &[Figure],
    metric: MetricId,
    from: Decimal,
    to: Decimal,
) -> Option<(String, Decimal, bool)> {
    let (lo, hi) = (from.min(to), from.max(to));
    let mut best: Option<(String, Decimal, bool, Decimal)> = None;
    for p in inner {
        let Some(v) = value(figures, metric, p) else {
            continue;
        };
        let (gap, low) = if v < lo {
            (lo - v, true)
        } else if v > hi {
            (v - hi, false)
        } else {
            continue;
        };
        if best.as_ref().is_none_or(|b| gap > b.3) {
            best = Some((p.clone(), v, low, gap));
        }
    }
    best.map(|(label, v, low, _)| (label, v, low))
}

/// What a headline metric's latest value means where it crosses a line a reader checks first, as a clause to end
/// its sentence with (no number of its own): current assets not covering current liabilities (a current ratio
/// under 1, negative working capital), a loss, negative equity, interest coverage under 1.5, a cash conversion
/// cycle below zero (suppliers financing the operating cycle).
fn latest_state(metric: MetricId, v: Decimal, period: &str, lang: Language) -> Option<String> {
    let text = match (metric, lang) {
        (MetricId::CurrentRatio, Language::En) => {
            if v < Decimal::ONE {
                format!("; in {period} current assets do not cover current liabilities")
            } else {
                format!("; in {period} current assets cover current liabilities")
            }
        }
        (MetricId::CurrentRatio, Language::Fr) => {
            if v < Decimal::ONE {
                format!(
                    " ; en {period}, l'actif à court terme ne couvre pas le passif à court terme"
                )
            } else {
                format!(" ; en {period}, l'actif à court terme couvre le passif à court terme")
            }
        }
        (MetricId::WorkingCapital, Language::En) if v < Decimal::ZERO => {
            format!("; in {period} current liabilities exceed current assets")
        }
        (MetricId::WorkingCapital, Language::Fr) if v < Decimal::ZERO => {
            format!(" ; en {period}, le passif à court terme dépasse l'actif à court terme")
        }
        (MetricId::NetMargin, Language::En) if v < Decimal::ZERO => {
            format!("; the company made a loss in {period}")
        }
        (MetricId::NetMargin, Language::Fr) if v < Decimal::ZERO => {
            format!(" ; l'entreprise est en perte en {period}")
        }
        (MetricId::InterestCoverage, Language::En) if v < Decimal::ZERO => {
            format!("; in {period} operating income does not cover interest at all")
        }
        (MetricId::InterestCoverage, Language::Fr) if v < Decimal::ZERO => {
            format!(" ; en {period}, le résultat d'exploitation ne couvre pas du tout les intérêts")
        }
        (MetricId::InterestCoverage, Language::En) if v < INTEREST_COVERAGE_THIN => {
            format!("; in {period} operating income barely covers interest")
        }
        (MetricId::InterestCoverage, Language::Fr) if v < INTEREST_COVERAGE_THIN => {
            format!(" ; en {period}, le résultat d'exploitation couvre à peine les intérêts")
        }
        (MetricId::CashConversionCycle, Language::En) if v < Decimal::ZERO => {
            format!(
                "; in {period} suppliers are paid after customers have paid, so they finance the operating cycle"
            )
        }
        (MetricId::CashConversionCycle, Language::Fr) if v < Decimal::ZERO => {
            format!(
                " ; en {period}, les fournisseurs sont payés après l'encaissement des clients et financent le cycle d'exploitation"
            )
        }
        (MetricId::DebtToEquity, Language::En) if v < Decimal::ZERO => {
            format!("; equity is negative in {period}")
        }
        (MetricId::DebtToEquity, Language::Fr) if v < Decimal::ZERO => {
            format!(" ; les capitaux propres sont négatifs en {period}")
        }
        _ => return None,
    };
    Some(text)
}

/// One metric's sentence of the direct answer, with what a yes/no question needs to know of it.
struct Told {
    metric: MetricId,
    sentence: String,
    /// Whether the metric got better (`None`: no direction known, held, or no way is better).
    better: Option<bool>,
    /// `1` rose, `-1` fell, `0` held as displayed; `None` with a single period.
    direction: Option<i8>,
    latest: Decimal,
}

/// The memo's first words: a direct answer, one sentence per metric the question names, then per headline metric
/// of the question's intents, at most three, from the first planned period where each is computable to the last.
/// Each says whether the metric improved or worsened where the catalogue says which way is better (`rose`,
/// `fell`, `held` as the displayed values show), and the state of its latest value where it crosses a line a
/// reader checks first (current assets not covering short-term liabilities, a loss, negative equity). A yes/no
/// question about a movement ("is working capital getting tighter?", « nos clients paient-ils plus lentement ? »)
/// gets "Yes." or "No." first when every sentence about its subject agrees. Every number is a figure.
pub fn direct_answer(
    plan: &AnalysisPlan,
    figures: &[Figure],
    currency: &str,
    cues: &Cues,
) -> Option<String> {
    let lang = plan.language;
    let mut text = String::from(match lang {
        Language::En => "**In short.** ",
        Language::Fr => "**En bref.** ",
    });
    // Years the question names that the books do not cover come first: the rest is about other years.
    if let (Some(first), Some(last)) = (plan.periods.first(), plan.periods.last())
        && !cues.outside.is_empty()
    {
        let span = if first == last {
            first.clone()
        } else {
            match lang {
                Language::En => format!("{first} to {last}"),
                Language::Fr => format!("{first} à {last}"),
            }
        };
        let _ = match lang {
            Language::En => write!(
                text,
                "The statements do not cover {}; this answer is about {span}. ",
                cues.outside.join(" and ")
            ),
            Language::Fr => write!(
                text,
                "Les états financiers ne couvrent pas {} ; cette réponse porte sur {span}. ",
                cues.outside.join(" et ")
            ),
        };
    }
    // A level held to a statement line, or its movement, is read from it, whether or not a ratio over it is
    // computable; a level every year must meet, from every planned value.
    let special = line_answer(plan, cues, currency)
        .or_else(|| lines::line_movement(plan, cues, currency))
        .or_else(|| every_answer(plan, figures, cues, currency));
    // An amount asked for ("how much cash do we have?") comes first, whatever else is told.
    let amount = lines::line_amount(plan, cues, currency);
    let (told, named) = match (told(plan, figures, currency, cues), &special) {
        (Some(told), _) => told,
        (None, Some(_)) => (Vec::new(), 0),
        (None, None) if amount.is_some() => (Vec::new(), 0),
        (None, None) => {
            match not_computable(plan, figures, cues) {
                Some(why) => text.push_str(&why),
                None if cues.outside.is_empty() => return None,
                None => {}
            }
            return Some(text.trim_end().to_string());
        }
    };
    let asked = cues.asked.filter(|_| cues.outside.is_empty());
    let (verdict, levels) = match (special, asked) {
        (Some((yes, sentence)), _) => (Some(yes), vec![sentence]),
        (None, Some(asked)) => {
            let verdict = verdict(asked, &told, named);
            let levels = match asked {
                Asked::Level(level) if verdict.is_some() => {
                    level_sentences(level, level_subject(level, &told, named), plan, currency)
                }
                _ => Vec::new(),
            };
            (verdict, levels)
        }
        (None, None) => (None, Vec::new()),
    };
    match (verdict, lang) {
        (Some(true), Language::En) => text.push_str("Yes. "),
        (Some(false), Language::En) => text.push_str("No. "),
        (Some(true), Language::Fr) => text.push_str("Oui. "),
        (Some(false), Language::Fr) => text.push_str("Non. "),
        (None, _) => {}
    }
    let sentences: Vec<&str> = amount
        .iter()
        .chain(&levels)
        .map(String::as_str)
        .chain(told.iter().map(|t| t.sentence.as_str()))
        .collect();
    text.push_str(&sentences.join(" "));
    Some(text)
}

/// The direct answer when no metric it would speak of has a value in the latest planned period ("did sales fall
/// in 2022?" where 2022 is the first year of the statements): why, for the metrics the question names, else for
/// the plan's first two.
fn not_computable(plan: &AnalysisPlan, figures: &[Figure], cues: &Cues) -> Option<String> {
    let lang = plan.language;
    let last = plan.periods.last()?;
    let named: Vec<MetricId> = cues
        .metrics
        .iter()
        .copied()
        .filter(|m| plan.metrics.contains(m))
        .collect();
    let metrics = if named.is_empty() {
        plan.metrics.iter().copied().take(2).collect()
    } else {
        named
    };
    let sentences: Vec<String> = metrics
        .iter()
        .take(3)
        .filter_map(|m| {
            let figure = figures
                .iter()
                .find(|f| f.metric == *m && &*f.period == last.as_str() && f.value.is_none())?;
            let why = reason(figure.reason.as_deref()?, lang);
            let name = metric_subject(*m, lang);
            Some(match lang {
                Language::En => format!("{name} cannot be computed for {last}: {why}."),
                Language::Fr if name.starts_with("Les ") => {
                    format!("{name} ne sont pas calculables en {last} : {why}.")
                }
                Language::Fr => format!("{name} n'est pas calculable en {last} : {why}."),
            })
        })
        .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

/// What the figures answer to a yes/no question about a movement, with the sentences about its subject that show
/// it: `None` when the question is not one, or when its subject's figures disagree. The Validator's report is held
/// to it.
pub(crate) fn figures_answer(
    plan: &AnalysisPlan,
    figures: &[Figure],
    currency: &str,
    cues: &Cues,
) -> Option<(bool, String)> {
    let asked = cues.asked.filter(|_| cues.outside.is_empty())?;
    if let Some(answer) = line_answer(plan, cues, currency)
        .or_else(|| lines::line_movement(plan, cues, currency))
        .or_else(|| every_answer(plan, figures, cues, currency))
    {
        return Some(answer);
    }
    let (told, named) = told(plan, figures, currency, cues)?;
    let answer = verdict(asked, &told, named)?;
    let (mut shown, subject): (Vec<String>, &[Told]) = match asked {
        Asked::Level(level) => {
            let subject = level_subject(level, &told, named);
            (level_sentences(level, subject, plan, currency), subject)
        }
        _ => (Vec::new(), subject(&told, named)),
    };
    shown.extend(subject.iter().map(|t| t.sentence.clone()));
    Some((answer, shown.join(" ")))
}

/// The figures' yes or no to what the question asks, about its subject ([`subject`]). A level is asked of the
/// metrics the question names: with none named, there is no answer ("is it above 1.5?" of what?).
fn verdict(asked: Asked, told: &[Told], named: usize) -> Option<bool> {
    match asked {
        Asked::Level(level) if level.metric.is_none() && named == 0 => None,
        Asked::Level(level) => yes_or_no(asked, level_subject(level, told, named)),
        _ => yes_or_no(asked, subject(told, named)),
    }
}

/// The question's subject among the sentences: the metrics it names, else every headline told.
fn subject(told: &[Told], named: usize) -> &[Told] {
    if named > 0 {
        &told[..named.min(told.len())]
    } else {
        told
    }
}

/// The direct answer's sentences (at most three), and how many of the first are about metrics the question names.
fn told(
    plan: &AnalysisPlan,
    figures: &[Figure],
    currency: &str,
    cues: &Cues,
) -> Option<(Vec<Told>, usize)> {
    let last = plan.periods.last()?;
    // The metrics the question names come first ("our gross margin", "do customers pay later?").
    let mut chosen: Vec<MetricId> = cues
        .metrics
        .iter()
        .copied()
        .filter(|m| plan.metrics.contains(m) && value(figures, *m, last).is_some())
        .collect();
    // Whether an amount rose or fell ("did net income fall?") is its growth's sign: that answers, first, and the
    // amount's margin named with it is said after, as context (it can fall over three years while the amount grew
    // in the last one).
    let growth = chosen
        .iter()
        .filter(|m| m.category() == Category::Growth)
        .count();
    let named = if matches!(cues.asked, Some(Asked::Up | Asked::Down)) && growth > 0 {
        chosen.sort_by_key(|m| m.category() != Category::Growth);
        growth
    } else {
        chosen.len()
    };
    for intent in &plan.intents {
        let picks: Vec<MetricId> = headline_metrics(*intent)
            .iter()
            .copied()
            .filter(|m| plan.metrics.contains(m) && value(figures, *m, last).is_some())
            .collect();
        // A health check states each family's figure; liquidity both the working capital and whether current
        // assets cover current liabilities; solvency both the debt and whether profits carry its interest; another
        // intent its first available figure.
        let take = match intent {
            Intent::HealthCheck => picks.len(),
            Intent::Liquidity | Intent::Solvency => 2,
            _ => 1,
        };
        for m in picks.into_iter().take(take) {
            if !chosen.contains(&m) {
                chosen.push(m);
            }
        }
    }
    let told: Vec<Told> = chosen
        .into_iter()
        .take(3)
        .filter_map(|m| tell(plan, figures, currency, m))
        .collect();
    (!told.is_empty()).then_some((told, named))
}

/// The answer to a yes/no question about a movement, when every metric of its subject gives the same one. A growth
/// rate answers "did it grow?" by its sign, not by its own movement: sales that grew 5 % after 10 % did grow.
fn yes_or_no(asked: Asked, subject: &[Told]) -> Option<bool> {
    let mut answer = None;
    for t in subject {
        let growth = t.metric.category() == Category::Growth;
        // Speed is fewer days for a number of days, whichever way the catalogue calls better (paying suppliers
        // faster is fewer days payable, neither good nor bad); for anything else it is good or bad news.
        let days = t.metric.unit() == Unit::Days;
        let this = match (asked, days) {
            (Asked::Better, _) | (Asked::Faster, false) => {
                t.better.or((t.direction == Some(0)).then_some(false))
            }
            (Asked::Worse, _) | (Asked::Slower, false) => t
                .better
                .map(|b| !b)
                .or((t.direction == Some(0)).then_some(false)),
            // A threshold written in another unit than the figure's ("above $100k" of a margin) has no answer.
            (Asked::Level(level), _) => {
                let unit = t.metric.unit();
                level.fits(unit).then(|| level.holds(t.latest, unit))
            }
            (Asked::Up, _) if growth => Some(t.latest > Decimal::ZERO),
            (Asked::Down, _) if growth => Some(t.latest < Decimal::ZERO),
            (Asked::Up, _) | (Asked::Slower, true) => t.direction.map(|d| d > 0),
            (Asked::Down, _) | (Asked::Faster, true) => t.direction.map(|d| d < 0),
        }?;
        if answer.is_some_and(|a| a != this) {
            return None;
        }
        answer = Some(this);
    }
    answer
}

/// One metric's sentence, from the first planned period where it is computable (growth has no value in a
/// document's first period) to the last.
fn tell(plan: &AnalysisPlan, figures: &[Figure], currency: &str, m: MetricId) -> Option<Told> {
    let lang = plan.language;
    let last = plan.periods.last()?;
    let name = metric_subject(m, lang);
    let to = value(figures, m, last)?;
    let b = shown(lang, to, m.unit(), currency);
    let earlier = &plan.periods[..plan.periods.len() - 1];
    let start = earlier.iter().position(|p| value(figures, m, p).is_some());
    let state = latest_state(m, to, last, lang).unwrap_or_default();
    let Some(at) = start else {
        let growth = growth_sentence(m, lang, None, (last, to), currency);
        let sentence = match (lang, growth) {
            (_, Some(said)) => format!("{said}{state}."),
            (Language::En, None) => format!("{name} is {b} in {last}{state}."),
            (Language::Fr, None) => format!("{name} est de {b} en {last}{state}."),
        };
        return Some(Told {
            metric: m,
            sentence,
            better: None,
            direction: None,
            latest: to,
        });
    };
    let first = &earlier[at];
    let from = value(figures, m, first)?;
    let inner = &earlier[at + 1..];
    let a = shown(lang, from, m.unit(), currency);
    let direction: i8 = if a == b {
        0
    } else if to > from {
        1
    } else {
        -1
    };
    // A period in between that went beyond both ends is said: a rise can follow a dip.
    let between = turning_point(inner, figures, m, from, to)
        .map(|(label, v, low)| (label, shown(lang, v, m.unit(), currency), low))
        // One that displays as an end's value is no turn to a reader ("after a high of 1.08" when it ends at 1.08).
        .filter(|(_, v, _)| *v != a && *v != b)
        .map(|(label, v, low)| match (lang, low) {
            (Language::En, true) => format!(", after a low of {v} in {label}"),
            (Language::En, false) => format!(", after a high of {v} in {label}"),
            (Language::Fr, true) => format!(", après un creux à {v} en {label}"),
            (Language::Fr, false) => format!(", après un sommet à {v} en {label}"),
        })
        .unwrap_or_default();
    // Whether the movement is good news, where the catalogue knows which way is better. A leverage ratio below
    // zero has a negative denominator (equity, EBITDA): falling there is no improvement, so it gets no verdict.
    // Days below zero are no such artefact: a cash conversion cycle rising from -33 to 15 days is worse.
    let better = match m.higher_is_better() {
        _ if direction == 0 => None,
        Some(false) if m.unit() == Unit::Ratio && (from < Decimal::ZERO || to < Decimal::ZERO) => {
            None
        }
        h => h.map(|h| h == (direction > 0)),
    };
    let sentence = match lang {
        _ if m.category() == Category::Growth => {
            let said = growth_sentence(m, lang, Some((first, from)), (last, to), currency);
            format!(
                "{}{state}.",
                said.unwrap_or_else(|| format!("{name} {b} ({last})"))
            )
        }
        Language::En => {
            let verdict = match better {
                Some(true) => " improved: it",
                Some(false) => " worsened: it",
                None => "",
            };
            match direction {
                1 => format!(
                    "{name}{verdict} rose from {a} in {first} to {b} in {last}{between}{state}."
                ),
                -1 => format!(
                    "{name}{verdict} fell from {a} in {first} to {b} in {last}{between}{state}."
                ),
                _ => format!("{name} held at {b} from {first} to {last}{between}{state}."),
            }
        }
        Language::Fr => {
            let verdict = match better {
                Some(true) => " s'améliore",
                Some(false) => " se dégrade",
                None => "",
            };
            // With no verdict, the movement is the verb: « le délai … passe de 118,2 jours … à 84,1 jours ».
            let moves = if verdict.is_empty() { " passe" } else { " :" };
            match direction {
                1 => format!(
                    "{name}{verdict}{moves} de {a} en {first} à {b} en {last}, en hausse{between}{state}."
                ),
                -1 => format!(
                    "{name}{verdict}{moves} de {a} en {first} à {b} en {last}, en baisse{between}{state}."
                ),
                _ => {
                    let held = if name.starts_with("Les ") {
                        "sont stables"
                    } else {
                        "est stable"
                    };
                    format!("{name} {held} à {b} de {first} à {last}{between}{state}.")
                }
            }
        }
    };
    Some(Told {
        metric: m,
        sentence,
        better,
        direction: Some(direction),
        latest: to,
    })
}

/// A growth rate said as what the amount did ("Revenue grew 5.71% in FY2023, after a fall of 5.07% in FY2022"),
/// not as a rate that "improved from -5.07% to 5.71%"; from its first computable planned period (when there is one
/// before the last) to the last.
/// `None` for a growth rate whose amount has no name here.
fn growth_sentence(
    m: MetricId,
    lang: Language,
    before: Option<(&str, Decimal)>,
    (last, to): (&str, Decimal),
    currency: &str,
) -> Option<String> {
    let amount = amount_subject(m, lang)?;
    // « Les revenus », as the catalogue names them (« Croissance des revenus »), take a plural verb.
    let plural = amount.starts_with("Les ");
    let fr = |one: &'static str, many: &'static str| if plural { many } else { one };
    let size = |v: Decimal| shown(lang, v.abs(), m.unit(), currency);
    let now = match (lang, to.cmp(&Decimal::ZERO)) {
        (Language::En, Ordering::Greater) => format!("{amount} grew {} in {last}", size(to)),
        (Language::En, Ordering::Less) => format!("{amount} fell {} in {last}", size(to)),
        (Language::En, Ordering::Equal) => format!("{amount} was unchanged in {last}"),
        (Language::Fr, Ordering::Greater) => format!(
            "{amount} {} de {} en {last}",
            fr("progresse", "progressent"),
            size(to)
        ),
        (Language::Fr, Ordering::Less) => format!(
            "{amount} {} de {} en {last}",
            fr("recule", "reculent"),
            size(to)
        ),
        (Language::Fr, Ordering::Equal) => {
            format!("{amount} {} en {last}", fr("est stable", "sont stables"))
        }
    };
    let Some((first, from)) = before else {
        return Some(now);
    };
    let before = match (lang, from.cmp(&Decimal::ZERO)) {
        (Language::En, Ordering::Greater) => format!("growth of {} in {first}", size(from)),
        (Language::En, Ordering::Less) => format!("a fall of {} in {first}", size(from)),
        (Language::En, Ordering::Equal) => format!("no change in {first}"),
        (Language::Fr, Ordering::Greater) => format!("une hausse de {} en {first}", size(from)),
        (Language::Fr, Ordering::Less) => format!("un recul de {} en {first}", size(from)),
        (Language::Fr, Ordering::Equal) => format!("une variation nulle en {first}"),
    };
    Some(match lang {
        Language::En => format!("{now}, after {before}"),
        Language::Fr => format!("{now}, après {before}"),
    })
}

/// The amount a growth rate measures, as the subject of a sentence ("Revenue", « Les revenus »).
pub(super) fn amount_subject(m: MetricId, lang: Language) -> Option<&'static str> {
    Some(match (m, lang) {
        (MetricId::RevenueGrowth, Language::En) => "Revenue",
        (MetricId::RevenueGrowth, Language::Fr) => "Les revenus",
        (MetricId::NetIncomeGrowth, Language::En) => "Net income",
        (MetricId::NetIncomeGrowth, Language::Fr) => "Le résultat net",
        _ => return None,
    })
}
