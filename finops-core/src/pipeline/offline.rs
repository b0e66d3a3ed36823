//! The offline analyst's findings and report: templated French or English prose over the exact figures, written
//! like a CPA's short memo (headline figures, trends, what stands out, caveats). It needs no model, so a host
//! always gets a correct analysis.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::labels::{metric_name, reason};
use super::{AnalysisPlan, ComputationRecord, Finding, FindingStatus, Intent, Language};
use crate::analysis::intent::Cues;
use crate::metrics::{Figure, MetricId, Unit, expr};
use crate::statements::Statements;

/// Trend computations for the plan's comparisons, evaluated exactly (ids `t1`, `t2`, …).
pub fn trend_computations(plan: &AnalysisPlan, statements: &Statements) -> Vec<ComputationRecord> {
    plan.comparisons
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let expression = format!("{m} - {m}[{}]", c.from, m = c.metric.id());
            let result = expr::evaluate(statements, &expression, &c.to);
            ComputationRecord::from_result(format!("t{}", i + 1), expression, c.to.clone(), result)
        })
        .collect()
}

fn value(figures: &[Figure], metric: MetricId, period: &str) -> Option<Decimal> {
    figures
        .iter()
        .find(|f| f.metric == metric && &*f.period == period)
        .and_then(|f| f.value)
}

fn shown(language: Language, v: Decimal, unit: Unit, currency: &str) -> String {
    language.value(v, unit, currency)
}

/// A change as a report writes it: percentage points for percentages, the unit otherwise, with a sign; a change
/// that rounds to nothing at display precision reads "stable".
fn change(language: Language, delta: Decimal, unit: Unit, currency: &str) -> String {
    let (shown_delta, body) = match unit {
        Unit::Percent => {
            let pts = delta * Decimal::ONE_HUNDRED;
            (
                pts.round_dp(2),
                format!("{} pts", language.number(pts.abs(), 2)),
            )
        }
        Unit::Amount => (delta.round(), shown(language, delta.abs(), unit, currency)),
        Unit::Ratio => (
            delta.round_dp(2),
            shown(language, delta.abs(), unit, currency),
        ),
        Unit::Days => (
            delta.round_dp(1),
            shown(language, delta.abs(), unit, currency),
        ),
    };
    if shown_delta.is_zero() {
        return "stable".into();
    }
    let sign = if shown_delta.is_sign_negative() {
        "-"
    } else {
        "+"
    };
    format!("{sign}{body}")
}

/// What stands out: rule-based observations on the latest period, each citing its figures.
pub fn findings(plan: &AnalysisPlan, figures: &[Figure], statements: &Statements) -> Vec<Finding> {
    let lang = plan.language;
    let currency = &statements.company().currency;
    let Some(latest) = plan.periods.last() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let has = |m: MetricId| plan.metrics.contains(&m);
    let mut push = |text: String, metric: MetricId| {
        out.push(Finding {
            text,
            cites: vec![Figure::make_id(metric, latest)],
            status: FindingStatus::Confirmed,
            note: None,
        });
    };
    let fmt = |m: MetricId, v: Decimal| shown(lang, v, m.unit(), currency);
    let one = Decimal::ONE;
    let two = Decimal::TWO;

    if has(MetricId::CurrentRatio)
        && let Some(v) = value(figures, MetricId::CurrentRatio, latest)
    {
        if v < one {
            push(
                match lang {
                    Language::En => format!(
                        "Current liabilities exceed current assets in {latest} (current ratio {}): short-term obligations are not covered by short-term resources.",
                        fmt(MetricId::CurrentRatio, v)
                    ),
                    Language::Fr => format!(
                        "Le passif à court terme dépasse l'actif à court terme en {latest} (ratio de liquidité générale de {}) : les obligations à court terme ne sont pas couvertes.",
                        fmt(MetricId::CurrentRatio, v)
                    ),
                },
                MetricId::CurrentRatio,
            );
        } else if v >= two {
            push(
                match lang {
                    Language::En => format!(
                        "Liquidity is comfortable in {latest}: current assets cover current liabilities {} times.",
                        fmt(MetricId::CurrentRatio, v)
                    ),
                    Language::Fr => format!(
                        "La liquidité est confortable en {latest} : l'actif à court terme couvre {} fois le passif à court terme.",
                        fmt(MetricId::CurrentRatio, v)
                    ),
                },
                MetricId::CurrentRatio,
            );
        }
    }
    if has(MetricId::DebtToEquity) {
        let equity = statements
            .period(latest)
            .and_then(|p| p.amount(crate::statements::Line::TotalEquity));
        if let Some(e) = equity
            && e <= Decimal::ZERO
        {
            push(
                match lang {
                    Language::En => format!(
                        "Equity is negative in {latest} ({}): liabilities exceed assets, and equity-based ratios are not meaningful.",
                        fmt(MetricId::WorkingCapital, e)
                    ),
                    Language::Fr => format!(
                        "Les capitaux propres sont négatifs en {latest} ({}) : le passif dépasse l'actif et les ratios fondés sur les capitaux propres n'ont pas de sens.",
                        fmt(MetricId::WorkingCapital, e)
                    ),
                },
                MetricId::DebtToEquity,
            );
        } else if let Some(v) = value(figures, MetricId::DebtToEquity, latest)
            && v > two
        {
            push(
                match lang {
                    Language::En => format!(
                        "Leverage is high in {latest}: debt is {} times equity.",
                        fmt(MetricId::DebtToEquity, v)
                    ),
                    Language::Fr => format!(
                        "L'endettement est élevé en {latest} : la dette représente {} fois les capitaux propres.",
                        fmt(MetricId::DebtToEquity, v)
                    ),
                },
                MetricId::DebtToEquity,
            );
        }
    }
    if has(MetricId::InterestCoverage)
        && let Some(v) = value(figures, MetricId::InterestCoverage, latest)
    {
        let f = fmt(MetricId::InterestCoverage, v);
        if v < Decimal::ZERO {
            push(
                match lang {
                    Language::En => format!(
                        "Operating income is negative in {latest} (interest coverage {f}): operations do not cover interest at all."
                    ),
                    Language::Fr => format!(
                        "Le résultat d'exploitation est négatif en {latest} (couverture des intérêts de {f}) : l'exploitation ne couvre pas du tout les intérêts."
                    ),
                },
                MetricId::InterestCoverage,
            );
        } else if v < INTEREST_COVERAGE_THIN {
            push(
                match lang {
                    Language::En => format!(
                        "Interest coverage is thin in {latest} ({f}): operating income barely covers interest."
                    ),
                    Language::Fr => format!(
                        "La couverture des intérêts est faible en {latest} ({f}) : le résultat d'exploitation couvre à peine les intérêts."
                    ),
                },
                MetricId::InterestCoverage,
            );
        }
    }
    if has(MetricId::NetMargin)
        && let Some(v) = value(figures, MetricId::NetMargin, latest)
        && v < Decimal::ZERO
    {
        push(
            match lang {
                Language::En => format!(
                    "The company made a loss in {latest} (net margin {}).",
                    fmt(MetricId::NetMargin, v)
                ),
                Language::Fr => format!(
                    "L'entreprise a subi une perte en {latest} (marge nette de {}).",
                    fmt(MetricId::NetMargin, v)
                ),
            },
            MetricId::NetMargin,
        );
    }
    if has(MetricId::RevenueGrowth)
        && let Some(v) = value(figures, MetricId::RevenueGrowth, latest)
    {
        let (en, fr) = if v < Decimal::ZERO {
            ("fell", "ont reculé")
        } else {
            ("grew", "ont progressé")
        };
        push(
            match lang {
                Language::En => format!(
                    "Revenue {en} by {} in {latest}.",
                    fmt(MetricId::RevenueGrowth, v.abs())
                ),
                Language::Fr => format!(
                    "Les revenus {fr} de {} en {latest}.",
                    fmt(MetricId::RevenueGrowth, v.abs())
                ),
            },
            MetricId::RevenueGrowth,
        );
    }
    if has(MetricId::FreeCashFlow)
        && let Some(v) = value(figures, MetricId::FreeCashFlow, latest)
        && v < Decimal::ZERO
    {
        push(
            match lang {
                Language::En => format!(
                    "Free cash flow is negative in {latest} ({}): investment exceeded the cash generated by operations.",
                    fmt(MetricId::FreeCashFlow, v)
                ),
                Language::Fr => format!(
                    "Le flux de trésorerie disponible est négatif en {latest} ({}) : les investissements ont dépassé la trésorerie générée par l'exploitation.",
                    fmt(MetricId::FreeCashFlow, v)
                ),
            },
            MetricId::FreeCashFlow,
        );
    }
    if has(MetricId::OperatingCashFlowRatio)
        && let Some(v) = value(figures, MetricId::OperatingCashFlowRatio, latest)
        && v < Decimal::ZERO
    {
        push(
            match lang {
                Language::En => format!(
                    "Operations consumed cash in {latest} (operating cash flow ratio {}): the business did not fund itself from its activity.",
                    fmt(MetricId::OperatingCashFlowRatio, v)
                ),
                Language::Fr => format!(
                    "L'exploitation a consommé de la trésorerie en {latest} (ratio des flux de trésorerie d'exploitation de {}) : l'activité ne s'est pas financée elle-même.",
                    fmt(MetricId::OperatingCashFlowRatio, v)
                ),
            },
            MetricId::OperatingCashFlowRatio,
        );
    }
    if has(MetricId::DaysSalesOutstanding)
        && let Some(v) = value(figures, MetricId::DaysSalesOutstanding, latest)
        && v > Decimal::new(60, 0)
    {
        push(
            match lang {
                Language::En => format!(
                    "Customers take {} on average to pay in {latest}: collection deserves attention.",
                    fmt(MetricId::DaysSalesOutstanding, v)
                ),
                Language::Fr => format!(
                    "Les clients paient en moyenne en {} en {latest} : le recouvrement mérite une attention.",
                    fmt(MetricId::DaysSalesOutstanding, v)
                ),
            },
            MetricId::DaysSalesOutstanding,
        );
    }
    if has(MetricId::NetDebtToEbitda)
        && let Some(v) = value(figures, MetricId::NetDebtToEbitda, latest)
        && v > Decimal::new(3, 0)
    {
        push(
            match lang {
                Language::En => format!(
                    "Net debt is {} times EBITDA in {latest}, above the level lenders usually accept.",
                    fmt(MetricId::NetDebtToEbitda, v)
                ),
                Language::Fr => format!(
                    "La dette nette atteint {} fois le BAIIA en {latest}, au-delà de ce que les prêteurs acceptent habituellement.",
                    fmt(MetricId::NetDebtToEbitda, v)
                ),
            },
            MetricId::NetDebtToEbitda,
        );
    }
    out.extend(movements(plan, figures, currency));
    out
}

/// Interest coverage under this is thin: operating income barely covers interest.
const INTEREST_COVERAGE_THIN: Decimal = Decimal::from_parts(15, 0, 0, false, 1);

/// Days sales, inventory or payables outstanding up by more than this between the first and last planned periods is
/// a threshold crossed.
const DAYS_JUMP: i64 = 15;

/// A relative change smaller than this is not one of the "largest movements".
const NOTABLE_CHANGE_PERCENT: i64 = 10;

/// The largest movements between the first and last planned periods (at most two, each at least 10 % of the
/// starting value), and collection, stock or supplier payment slowing by more than 15 days: each finding cites
/// both figures.
fn movements(plan: &AnalysisPlan, figures: &[Figure], currency: &str) -> Vec<Finding> {
    let lang = plan.language;
    let (Some(first), Some(last)) = (plan.periods.first(), plan.periods.last()) else {
        return Vec::new();
    };
    if first == last {
        return Vec::new();
    }
    let mut out = Vec::new();
    let pair = |m: MetricId| Some((value(figures, m, first)?, value(figures, m, last)?));
    let cites = |m: MetricId| vec![Figure::make_id(m, first), Figure::make_id(m, last)];
    let fmt = |m: MetricId, v: Decimal| shown(lang, v, m.unit(), currency);
    // A cycle that lengthens by more than 15 days: customers paying later, stock sitting longer, suppliers paid
    // later (often a sign of cash strain).
    for (m, en, fr) in [
        (
            MetricId::DaysSalesOutstanding,
            "Customers pay more slowly: days sales outstanding",
            "Les clients paient plus lentement : le délai moyen de recouvrement",
        ),
        (
            MetricId::DaysInventoryOutstanding,
            "Stock sits longer: days inventory outstanding",
            "Les stocks tournent plus lentement : le délai de rotation des stocks",
        ),
        (
            MetricId::DaysPayablesOutstanding,
            "Suppliers are paid more slowly, which can signal cash strain: days payables outstanding",
            "Les fournisseurs sont payés plus lentement, ce qui peut signaler une tension de trésorerie : le délai moyen de paiement des fournisseurs",
        ),
    ] {
        if plan.metrics.contains(&m)
            && let Some((a, b)) = pair(m)
            && b - a > Decimal::from(DAYS_JUMP)
        {
            out.push(Finding {
                text: match lang {
                    Language::En => format!(
                        "{en} went from {} in {first} to {} in {last} ({}).",
                        fmt(m, a),
                        fmt(m, b),
                        change(lang, b - a, m.unit(), currency)
                    ),
                    Language::Fr => format!(
                        "{fr} passe de {} en {first} à {} en {last} ({}).",
                        fmt(m, a),
                        fmt(m, b),
                        change(lang, b - a, m.unit(), currency)
                    ),
                },
                cites: cites(m),
                status: FindingStatus::Confirmed,
                note: None,
            });
        }
    }
    // Relative size of each planned metric's movement; growth rates are already changes, so they are left out.
    let mut moves: Vec<(Decimal, MetricId, Decimal, Decimal)> = plan
        .metrics
        .iter()
        .filter(|m| !matches!(m, MetricId::RevenueGrowth | MetricId::NetIncomeGrowth))
        .filter_map(|m| {
            let (a, b) = pair(*m)?;
            let relative = (b - a).checked_div(a.abs())?.abs();
            Some((relative, *m, a, b))
        })
        .filter(|(r, ..)| *r * Decimal::ONE_HUNDRED >= Decimal::from(NOTABLE_CHANGE_PERCENT))
        .collect();
    moves.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    for (_, m, a, b) in moves.into_iter().take(2) {
        // Inside a French sentence, with its article: « le rendement des capitaux propres passe de … ».
        let name = match lang {
            Language::En => metric_name(m, lang).to_string(),
            Language::Fr => super::labels::lower_first(&super::labels::metric_subject(m, lang)),
        };
        let (en, fr) = if b > a {
            ("rose", "en hausse")
        } else {
            ("fell", "en baisse")
        };
        let text = match lang {
            Language::En => format!(
                "Among the largest movements: {name} {en} from {} in {first} to {} in {last}.",
                fmt(m, a),
                fmt(m, b)
            ),
            Language::Fr => format!(
                "Parmi les plus fortes variations : {name} passe de {} en {first} à {} en {last}, {fr}.",
                fmt(m, a),
                fmt(m, b)
            ),
        };
        out.push(Finding {
            text,
            cites: cites(m),
            status: FindingStatus::Confirmed,
            note: None,
        });
    }
    out
}

fn title(plan: &AnalysisPlan) -> String {
    let lang = plan.language;
    let subject = if plan.intents.contains(&Intent::HealthCheck) {
        match lang {
            Language::En => "Financial health check".to_string(),
            Language::Fr => "Bilan de santé financière".to_string(),
        }
    } else {
        let names: Vec<&str> = plan
            .intents
            .iter()
            .map(|i| match (i, lang) {
                (Intent::Profitability, Language::En) => "profitability",
                (Intent::Profitability, Language::Fr) => "rentabilité",
                (Intent::Liquidity, Language::En) => "liquidity",
                (Intent::Liquidity, Language::Fr) => "liquidité",
                (Intent::Solvency, Language::En) => "debt and solvency",
                (Intent::Solvency, Language::Fr) => "endettement et solvabilité",
                (Intent::Efficiency, Language::En) => "operating efficiency",
                (Intent::Efficiency, Language::Fr) => "efficacité opérationnelle",
                (Intent::Growth, Language::En) => "growth",
                (Intent::Growth, Language::Fr) => "croissance",
                (Intent::CashFlow, Language::En) => "cash flow",
                (Intent::CashFlow, Language::Fr) => "flux de trésorerie",
                (Intent::HealthCheck, _) => "",
            })
            .collect();
        let joined = names.join(match lang {
            Language::En => ", ",
            Language::Fr => ", ",
        });
        match lang {
            Language::En => format!("Analysis of {joined}"),
            Language::Fr => format!("Analyse : {joined}"),
        }
    };
    let span = match (plan.periods.first(), plan.periods.last()) {
        (Some(a), Some(b)) if a != b => match lang {
            Language::En => format!(" — {a} to {b}"),
            Language::Fr => format!(" — {a} à {b}"),
        },
        (Some(a), _) => format!(" — {a}"),
        _ => String::new(),
    };
    format!("## {subject}{span}")
}

/// One finding per peer benchmark: where the company stands among the firm's other clients of its sector, citing
/// the benchmark and the company's own figure. Other clients' figures are never written.
pub fn benchmark_findings(
    benchmarks: &[crate::portfolio::Benchmark],
    language: Language,
    currency: &str,
) -> Vec<Finding> {
    benchmarks
        .iter()
        .filter_map(|b| {
            let value = b.figure.value?;
            let name = metric_name(b.metric, language);
            let shown = shown(language, value, b.metric.unit(), currency);
            let percentile = language.number(b.percentile, 2);
            let n = b.cohort_size;
            let text = match language {
                Language::En => {
                    let quartile = match b.quartile {
                        4 => "the highest quartile",
                        3 => "the third quartile",
                        2 => "the second quartile",
                        _ => "the lowest quartile",
                    };
                    format!(
                        "{name} in {} ({shown}) is in {quartile} of the firm's {n} other clients of {} (percentile {percentile}).",
                        b.period, b.cohort
                    )
                }
                Language::Fr => {
                    let quartile = match b.quartile {
                        4 => "le quartile supérieur",
                        3 => "le troisième quartile",
                        2 => "le deuxième quartile",
                        _ => "le quartile inférieur",
                    };
                    format!(
                        "{name} en {} ({shown}) : dans {quartile} des {n} autres clients du cabinet ({}), centile {percentile}.",
                        b.period, b.cohort
                    )
                }
            };
            Some(Finding {
                text,
                cites: vec![b.id.clone(), b.figure.id.clone()],
                status: FindingStatus::Confirmed,
                note: None,
            })
        })
        .collect()
}

/// The offline memo for a plan: a direct answer (about the metrics the question names first, and "Yes." or "No."
/// for a yes/no question about a movement: [`Cues`]), headline figures, trends, what stands out and caveats, in the
/// plan's language.
pub fn report(
    plan: &AnalysisPlan,
    figures: &[Figure],
    computations: &[ComputationRecord],
    findings: &[Finding],
    statements: &Statements,
    cues: &Cues,
    notes: &[String],
) -> String {
    let lang = plan.language;
    let currency = &statements.company().currency;
    let mut md = title(plan);
    md.push_str("\n\n");
    if let Some(answer) = direct_answer(plan, figures, currency, cues) {
        md.push_str(&answer);
        md.push_str("\n\n");
    }
    md.push_str(match lang {
        Language::En => "### Headline figures\n\n| Metric |",
        Language::Fr => "### Chiffres clés\n\n| Indicateur |",
    });
    for p in &plan.periods {
        let _ = write!(md, " {p} |");
    }
    md.push_str("\n| --- |");
    for _ in &plan.periods {
        md.push_str(" ---: |");
    }
    for m in &plan.metrics {
        let _ = write!(md, "\n| {} |", metric_name(*m, lang));
        for p in &plan.periods {
            let cell = match value(figures, *m, p) {
                Some(v) => shown(lang, v, m.unit(), currency),
                None => "n/d".into(),
            };
            let _ = write!(md, " {cell} |");
        }
    }
    md.push_str("\n\n");

    let trends: Vec<String> = plan
        .comparisons
        .iter()
        .zip(computations.iter().filter(|c| c.id.starts_with('t')))
        .filter_map(|(c, t)| {
            let from = value(figures, c.metric, &c.from)?;
            let to = value(figures, c.metric, &c.to)?;
            let delta = t.value?;
            let unit = c.metric.unit();
            let name = metric_name(c.metric, lang);
            Some(match lang {
                Language::En => format!(
                    "- {name}: {} in {} to {} in {} ({}).",
                    shown(lang, from, unit, currency),
                    c.from,
                    shown(lang, to, unit, currency),
                    c.to,
                    change(lang, delta, unit, currency)
                ),
                Language::Fr => format!(
                    "- {name} : {} en {} contre {} en {} ({}).",
                    shown(lang, to, unit, currency),
                    c.to,
                    shown(lang, from, unit, currency),
                    c.from,
                    change(lang, delta, unit, currency)
                ),
            })
        })
        .collect();
    if !trends.is_empty() {
        md.push_str(match lang {
            Language::En => "### Trends\n\n",
            Language::Fr => "### Tendances\n\n",
        });
        md.push_str(&trends.join("\n"));
        md.push_str("\n\n");
    }

    md.push_str(match lang {
        Language::En => "### What stands out\n\n",
        Language::Fr => "### Points saillants\n\n",
    });
    let standing = stands_out(findings);
    if standing.is_empty() {
        md.push_str(match lang {
            Language::En => "- Nothing unusual stands out in the figures analysed.\n",
            Language::Fr => "- Rien d'inhabituel ne ressort des chiffres analysés.\n",
        });
    }
    for line in standing {
        let _ = writeln!(md, "- {line}");
    }
    md.push_str(match lang {
        Language::En => "\n### Caveats\n\n",
        Language::Fr => "\n### Mises en garde\n\n",
    });
    for line in caveats(figures, statements, notes, lang) {
        let _ = writeln!(md, "- {line}");
    }
    md
}

/// What stands out, one line each: the findings not rejected.
pub(crate) fn stands_out(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.status != FindingStatus::Rejected)
        .map(|f| f.text.clone())
        .collect()
}

/// The caveats the SDK knows, one line each: the statements are not audited, each figure that could not be
/// computed and why, each warning on the statements, then `notes`.
pub(crate) fn caveats(
    figures: &[Figure],
    statements: &Statements,
    notes: &[String],
    lang: Language,
) -> Vec<String> {
    let mut out = vec![match lang {
        Language::En => "Figures are computed exactly from the statements provided, which this analysis does not audit.".to_string(),
        Language::Fr => "Les chiffres sont calculés exactement à partir des états fournis, que cette analyse ne vérifie pas.".to_string(),
    }];
    for f in figures.iter().filter(|f| f.value.is_none()) {
        let why = f
            .reason
            .as_deref()
            .map(|r| reason(r, lang))
            .unwrap_or_default();
        let name = metric_name(f.metric, lang);
        out.push(match lang {
            Language::En => format!("{name} ({}) is not computable: {why}.", f.period),
            Language::Fr => format!("{name} ({}) n'est pas calculable : {why}.", f.period),
        });
    }
    for w in statements.warnings() {
        out.push(match lang {
            Language::En => format!("Warning on `{}`: {}", w.field, w.message),
            Language::Fr => format!("Avertissement sur `{}` : {}", w.field, w.message),
        });
    }
    out.extend(notes.iter().cloned());
    out
}

mod answer;
pub use answer::direct_answer;
pub(crate) use answer::figures_answer;

#[cfg(test)]
mod tests;
