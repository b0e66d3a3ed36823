//! Figure references: the Researcher's findings and the Validator's report refer to numbers by id instead of
//! typing them — `{{gross_margin@FY2023}}`, `{{c1}}`, `{{peer_gross_margin@FY2023}}`, and a change between two
//! figures of the same unit, `{{revenue@FY2022 -> revenue@FY2023}}` — and the SDK writes each number in the
//! report's language and display style (French `68,97 %` with no-break-space groups, English `68.97%`). A model
//! then cannot mistype a figure; numbers it still types are grounded as before.
//!
//! Direction words next to a reference are checked against the figures: "margins rose to {{gross_margin@FY2023}}"
//! when they fell is refused with the reason (a change's sign, or a figure against the same metric's previous
//! period). "Improve" and "worsen" are checked only for metrics where better has a side
//! ([`MetricId::higher_is_better`]).

use rust_decimal::Decimal;

use super::{ComputationRecord, Language};
use crate::metrics::{Figure, MetricId, Unit};
use crate::portfolio::Benchmark;

/// The most references one text may hold (a report is a page; more is a model looping).
const MAX_REFERENCES: usize = 400;

/// What the references of an analysis may point to.
#[derive(Clone, Copy)]
pub(crate) struct References<'a> {
    pub(crate) figures: &'a [Figure],
    pub(crate) computations: &'a [ComputationRecord],
    pub(crate) benchmarks: &'a [Benchmark],
    /// Computation ids requested in the same answer and not evaluated yet (they may be referred to).
    pub(crate) pending: &'a [String],
    /// Amounts of the statement line the question is about (`cash@FY2023`, `total_debt@FY2022`), oldest first:
    /// "how much cash do we have?" is answered with `{{cash@FY2023}}`.
    pub(crate) lines: &'a [(String, Decimal)],
    pub(crate) language: Language,
    pub(crate) currency: &'a str,
}

/// A text with its references written out.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub(crate) text: String,
    /// Every id referred to, in order of first use.
    pub(crate) ids: Vec<String>,
    /// The changes written (`b - a`), which grounding then accepts as the SDK's own numbers.
    pub(crate) changes: Vec<Decimal>,
    /// Direction words that contradict the reference they stand next to, each as a reason.
    pub(crate) contradictions: Vec<String>,
}

/// One value a reference resolves to.
struct Value {
    value: Decimal,
    unit: Unit,
    metric: Option<MetricId>,
    /// The same metric's value in the previous period, when the id is a figure that has one.
    previous: Option<Decimal>,
}

/// Where a reference sits in the text, and the sign of the movement it shows (`None`: no movement known).
struct Placed {
    start: usize,
    end: usize,
    /// The movement this reference shows: a change's sign, or a figure against its metric's previous period.
    sign: Option<std::cmp::Ordering>,
    metric: Option<MetricId>,
    /// A single figure's value (a change has none).
    value: Option<Decimal>,
    /// Written as a starting point ("from {{a}}", "par rapport à {{a}}"): a direction word is not about it.
    baseline: bool,
}

impl<'a> References<'a> {
    /// References to `figures` only; computations, peer benchmarks and pending ids are added with struct update.
    pub(crate) fn new(figures: &'a [Figure], language: Language, currency: &'a str) -> Self {
        References {
            figures,
            computations: &[],
            benchmarks: &[],
            pending: &[],
            lines: &[],
            language,
            currency,
        }
    }

    /// Every id a text may refer to or cite: figures and computations that have a value, peer benchmarks, and the
    /// amounts of the line the question is about.
    pub(crate) fn citable(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let figures = self.figures;
        let computations = self.computations;
        let benchmarks = self.benchmarks;
        let lines = self.lines;
        figures
            .iter()
            .filter(|f| f.value.is_some())
            .map(|f| f.id.as_str())
            .chain(
                computations
                    .iter()
                    .filter(|c| c.value.is_some())
                    .map(|c| c.id.as_str()),
            )
            .chain(benchmarks.iter().map(|b| b.id.as_str()))
            .chain(lines.iter().map(|(id, _)| id.as_str()))
    }

    /// Whether `id` may be cited (see [`References::citable`]).
    pub(crate) fn knows(&self, id: &str) -> bool {
        self.citable().any(|c| c == id)
    }

    fn lookup(&self, id: &str) -> Result<Option<Value>, String> {
        if let Some(f) = self.figures.iter().find(|f| f.id == id) {
            let Some(value) = f.value else {
                return Err(format!(
                    "`{{{{{id}}}}}` is not computable ({}): say so in words",
                    f.reason.as_deref().unwrap_or("no value")
                ));
            };
            let previous = self.previous(f);
            return Ok(Some(Value {
                value,
                unit: f.unit,
                metric: Some(f.metric),
                previous,
            }));
        }
        if let Some(c) = self.computations.iter().find(|c| c.id == id) {
            let Some(value) = c.value else {
                return Err(format!(
                    "`{{{{{id}}}}}` could not be evaluated ({})",
                    c.error.as_deref().unwrap_or("no value")
                ));
            };
            return Ok(Some(Value {
                value,
                unit: Unit::Ratio,
                metric: None,
                previous: None,
            }));
        }
        if let Some(b) = self.benchmarks.iter().find(|b| b.id == id) {
            // A peer benchmark is written as the company's percentile among its cohort.
            return Ok(Some(Value {
                value: b.percentile,
                unit: Unit::Ratio,
                metric: None,
                previous: None,
            }));
        }
        if let Some(at) = self.lines.iter().position(|(l, _)| l == id) {
            // The same line's previous amount shows its movement.
            let previous = at.checked_sub(1).map(|i| self.lines[i].1);
            return Ok(Some(Value {
                value: self.lines[at].1,
                unit: Unit::Amount,
                metric: None,
                previous,
            }));
        }
        if self.pending.iter().any(|p| p == id) {
            return Ok(None);
        }
        let known: Vec<&str> = self.citable().take(16).collect();
        Err(format!(
            "`{{{{{id}}}}}` is not a figure, computation, peer benchmark or line id (ids given: {})",
            known.join(", ")
        ))
    }

    /// The same metric's figure in the period just before `f`'s, among the figures given.
    fn previous(&self, f: &Figure) -> Option<Decimal> {
        let mut same: Vec<&Figure> = self
            .figures
            .iter()
            .filter(|g| g.metric == f.metric)
            .collect();
        // Figures come in period order per metric; find f and take the one before it.
        same.dedup_by(|a, b| a.id == b.id);
        let at = same.iter().position(|g| g.id == f.id)?;
        at.checked_sub(1).and_then(|i| same[i].value)
    }

    fn display(&self, v: &Value) -> String {
        self.styled(self.language.value(v.value, v.unit, self.currency))
    }

    /// French keeps a number, its groups and its unit on one line: no-break spaces (`1 234 567 $`, `68,97 %`).
    fn styled(&self, shown: String) -> String {
        match self.language {
            Language::Fr => shown.replace(' ', "\u{a0}"),
            Language::En => shown,
        }
    }

    fn display_change(&self, delta: Decimal, unit: Unit) -> String {
        let sign = if delta.is_sign_negative() && !delta.is_zero() {
            "-"
        } else {
            "+"
        };
        let magnitude = delta.abs();
        let body = match unit {
            Unit::Percent => {
                let points = self.language.number(magnitude * Decimal::ONE_HUNDRED, 2);
                match self.language {
                    Language::En => format!("{points} pts"),
                    Language::Fr => format!("{points}\u{a0}pts"),
                }
            }
            _ => self.language.value(magnitude, unit, self.currency),
        };
        self.styled(format!("{sign}{body}"))
    }

    /// Writes out every reference of `text`. Errors name each unknown or malformed reference (a repairable
    /// error: the model is told which and why).
    pub(crate) fn render(&self, text: &str) -> Result<Rendered, Vec<String>> {
        let mut out = Rendered {
            text: String::with_capacity(text.len()),
            ..Rendered::default()
        };
        let mut problems = Vec::new();
        let mut placed: Vec<Placed> = Vec::new();
        let mut rest = text;
        let mut count = 0usize;
        while let Some(open) = rest.find("{{") {
            out.text.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                problems.push("a reference `{{` is never closed with `}}`".to_string());
                out.text.push_str(&rest[open..]);
                rest = "";
                break;
            };
            count += 1;
            if count > MAX_REFERENCES {
                problems.push(format!("more than {MAX_REFERENCES} references"));
                break;
            }
            let inner = after[..close].trim();
            let start = out.text.len();
            let mut value = None;
            let (written, sign, metric) = match inner.split_once("->") {
                Some((a, b)) => match self.change(a.trim(), b.trim(), &mut out) {
                    Ok(x) => x,
                    Err(e) => {
                        problems.push(e);
                        (String::new(), None, None)
                    }
                },
                None => match self.lookup(inner) {
                    Ok(Some(v)) => {
                        let sign = v.previous.map(|p| v.value.cmp(&p));
                        remember(&mut out.ids, inner);
                        value = Some(v.value);
                        (self.display(&v), sign, v.metric)
                    }
                    Ok(None) => {
                        remember(&mut out.ids, inner);
                        (format!("{{{{{inner}}}}}"), None, None)
                    }
                    Err(e) => {
                        problems.push(e);
                        (String::new(), None, None)
                    }
                },
            };
            // A number glued to a word ("liabilities{{current_ratio@FY2023}}") is written apart from it: the
            // reader sees "liabilities 1.81", and grounding reads the number, not the tail of a word.
            let glued = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
            let start = if !written.is_empty() && glued(out.text.chars().next_back()) {
                out.text.push(' ');
                out.text.len()
            } else {
                start
            };
            let baseline = is_baseline(&out.text[..start]);
            out.text.push_str(&written);
            let end = out.text.len();
            if !written.is_empty() && glued(after[close + 2..].chars().next()) {
                out.text.push(' ');
            }
            placed.push(Placed {
                start,
                end,
                sign,
                metric,
                value,
                baseline,
            });
            rest = &after[close + 2..];
        }
        out.text.push_str(rest);
        if problems.is_empty() {
            out.contradictions = directions(&out.text, &placed);
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Only whether every reference of `text` resolves (the repairable part), without writing it out.
    pub(crate) fn check(&self, text: &str) -> Result<(), String> {
        self.render(text).map(|_| ()).map_err(|p| p.join("; "))
    }

    fn change(
        &self,
        a: &str,
        b: &str,
        out: &mut Rendered,
    ) -> Result<(String, Option<std::cmp::Ordering>, Option<MetricId>), String> {
        let (Some(x), Some(y)) = (self.lookup(a)?, self.lookup(b)?) else {
            return Err(format!(
                "`{{{{{a} -> {b}}}}}` refers to a computation not evaluated yet: refer to it after its result"
            ));
        };
        if x.unit != y.unit {
            return Err(format!(
                "`{{{{{a} -> {b}}}}}` compares figures of different units"
            ));
        }
        let delta = y
            .value
            .checked_sub(x.value)
            .ok_or_else(|| format!("`{{{{{a} -> {b}}}}}` is out of range"))?;
        remember(&mut out.ids, a);
        remember(&mut out.ids, b);
        out.changes.push(delta);
        let metric = if x.metric == y.metric { x.metric } else { None };
        Ok((
            self.display_change(delta, x.unit),
            Some(y.value.cmp(&x.value)),
            metric,
        ))
    }
}

/// The amounts of the line a question is about ([`crate::analysis::intent::Cues::line`]) in the planned periods,
/// oldest first, as references name them (`cash@FY2023`): what [`References::lines`] holds.
pub(crate) fn subject_lines(
    cues: &crate::analysis::intent::Cues,
    periods: &[String],
) -> Vec<(String, Decimal)> {
    let Some((subject, amounts)) = &cues.line else {
        return Vec::new();
    };
    periods
        .iter()
        .filter_map(|p| {
            let (_, v) = amounts.iter().find(|(label, _)| label == p)?;
            Some((format!("{}@{p}", subject.id()), *v))
        })
        .collect()
}

fn remember(ids: &mut Vec<String>, id: &str) {
    if !ids.iter().any(|i| i == id) {
        ids.push(id.to_string());
    }
}

/// What a word says about a movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Up,
    Down,
    Better,
    Worse,
}

fn word(w: &str) -> Option<Word> {
    const UP: &[&str] = &[
        "increase",
        "increased",
        "increases",
        "increasing",
        "rose",
        "rise",
        "rises",
        "risen",
        "rising",
        "grew",
        "grow",
        "grows",
        "growing",
        "climbed",
        "jumped",
        "hausse",
        "augmenté",
        "augmentée",
        "augmentés",
        "augmentées",
        "augmentation",
        "augmente",
        "progressé",
        "progresse",
        "progression",
        "grimpé",
        "accru",
        "accrue",
        "monté",
        "montée",
    ];
    const DOWN: &[&str] = &[
        "decrease",
        "decreased",
        "decreases",
        "decreasing",
        "fell",
        "fall",
        "falls",
        "fallen",
        "falling",
        "declined",
        "decline",
        "declines",
        "declining",
        "dropped",
        "drop",
        "drops",
        "shrank",
        "baisse",
        "diminué",
        "diminuée",
        "diminués",
        "diminuées",
        "diminution",
        "diminue",
        "recul",
        "reculé",
        "reculée",
        "chuté",
        "chute",
        "repli",
        "replié",
        "fléchi",
        "baissé",
        "baissée",
    ];
    const BETTER: &[&str] = &[
        "improved",
        "improvement",
        "improves",
        "improving",
        "strengthened",
        "amélioration",
        "amélioré",
        "améliorée",
        "améliore",
        "renforcé",
        "renforcée",
        "improve",
        "strengthens",
    ];
    const WORSE: &[&str] = &[
        "deteriorated",
        "deterioration",
        "worsened",
        "worsening",
        "weakened",
        "détérioration",
        "détérioré",
        "détériorée",
        "détériore",
        "dégradation",
        "dégradé",
        "dégradée",
        "dégrade",
        "affaibli",
        "affaiblie",
        "worsens",
        "weakens",
        "deteriorates",
    ];
    if UP.contains(&w) {
        Some(Word::Up)
    } else if DOWN.contains(&w) {
        Some(Word::Down)
    } else if BETTER.contains(&w) {
        Some(Word::Better)
    } else if WORSE.contains(&w) {
        Some(Word::Worse)
    } else {
        None
    }
}

/// Whether the words just before a reference make it a starting point: "from", "since", "than", "versus",
/// "depuis", "contre", "par rapport à", "comparé à".
fn is_baseline(before: &str) -> bool {
    // Only the last two words matter: read from the end, not the whole text before each reference.
    let mut tail = before
        .rsplit(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase);
    let (one, two) = (tail.next(), tail.next());
    let last = |n: usize| {
        if n == 1 {
            one.as_deref()
        } else {
            two.as_deref()
        }
    };
    matches!(
        last(1),
        Some("from" | "since" | "than" | "versus" | "vs" | "against" | "depuis" | "contre")
    ) || (last(1) == Some("à") && matches!(last(2), Some("rapport" | "comparé" | "comparée")))
        || (last(1) == Some("de")
            && matches!(last(2), Some("passé" | "passée" | "passe" | "partant")))
}

/// The direction words that contradict the reference they describe, each as a reason. A word describes the
/// nearest reference of its clause that is not a starting point; a figure written after a starting point of the
/// same metric ("from {{a}} to {{b}}") moves against that point, else against its previous period. A negation
/// just before the word ("did not rise", "n'a pas augmenté") makes it no claim.
fn directions(text: &str, placed: &[Placed]) -> Vec<String> {
    use std::cmp::Ordering;
    let mut problems = Vec::new();
    let boundary = |c: char| matches!(c, '.' | ';' | '\n' | '!' | '?' | ',');
    // Clauses as byte ranges; references are never cut (their text is numbers and units).
    let mut clauses = Vec::new();
    let mut from = 0;
    for (i, c) in text.char_indices() {
        if boundary(c) && !placed.iter().any(|p| p.start <= i && i < p.end) {
            clauses.push((from, i));
            from = i + c.len_utf8();
        }
    }
    clauses.push((from, text.len()));
    for (lo, hi) in clauses {
        let refs: Vec<&Placed> = placed
            .iter()
            .filter(|p| p.start >= lo && p.end <= hi)
            .collect();
        if refs.is_empty() {
            continue;
        }
        // Signs within the clause: against a starting point of the same metric when there is one.
        let signs: Vec<Option<Ordering>> = refs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let start = refs[..i]
                    .iter()
                    .rev()
                    .find(|b| b.baseline && b.metric.is_some() && b.metric == p.metric);
                match (start.and_then(|b| b.value), p.value) {
                    (Some(b), Some(v)) => Some(v.cmp(&b)),
                    _ => p.sign,
                }
            })
            .collect();
        let mut previous: Option<String> = None;
        for (at, piece) in spans(text, lo, hi) {
            if refs.iter().any(|p| p.start <= at && at < p.end) {
                continue;
            }
            let w = piece.to_lowercase();
            let negated = matches!(
                previous.as_deref(),
                Some("not" | "no" | "never" | "pas" | "jamais" | "ni")
            );
            previous = Some(w.clone());
            let Some(said) = word(&w) else { continue };
            if negated {
                continue;
            }
            let nearest = refs
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.baseline)
                .min_by_key(|(_, p)| {
                    if p.start > at {
                        p.start - at
                    } else {
                        at.saturating_sub(p.end)
                    }
                });
            let Some((i, p)) = nearest else { continue };
            let Some(sign) = signs[i] else { continue };
            let wrong = match (said, sign) {
                (_, Ordering::Equal) => false,
                (Word::Up, s) => s == Ordering::Less,
                (Word::Down, s) => s == Ordering::Greater,
                (Word::Better | Word::Worse, s) => {
                    match p.metric.and_then(MetricId::higher_is_better) {
                        Some(higher_better) => {
                            let improved = (s == Ordering::Greater) == higher_better;
                            (said == Word::Better) != improved
                        }
                        None => false,
                    }
                }
            };
            if wrong {
                let shown = &text[p.start..p.end];
                let actual = if sign == Ordering::Greater {
                    "went up"
                } else {
                    "went down"
                };
                let claim = match said {
                    Word::Up => "a rise",
                    Word::Down => "a fall",
                    Word::Better => "an improvement",
                    Word::Worse => "a deterioration",
                };
                problems.push(format!(
                    "the text says {claim} (`{piece}`) next to {shown}, but the figure {actual}"
                ));
            }
        }
    }
    problems
}

/// The words of `text[lo..hi]`, each with its byte offset in `text`.
fn spans(text: &str, lo: usize, hi: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text[lo..hi].char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((lo + s, &text[lo + s..lo + i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((lo + s, &text[lo + s..hi]));
    }
    out
}

#[cfg(test)]
mod tests;
