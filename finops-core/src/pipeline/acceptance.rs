//! A report must answer before it is accepted. Grounding only proves that the numbers a report states are the
//! SDK's; a report of one word has none and would pass. These checks are the ones the SDK can make itself: the report
//! is long enough to answer, it is in the asked language, it states the plan's headline figures (at least one of
//! the latest period), and it addresses each planned metric (by name, id or one of its values) or says why not.

use rust_decimal::Decimal;

use super::labels::metric_name;
use super::references::References;
use super::{AnalysisPlan, Language};
use crate::analysis::intent;
use crate::metrics::{Figure, MetricId, Unit};

/// Fewer words than this are not a sentence that answers ("Yes").
pub(crate) const MIN_ANSWER_WORDS: usize = 4;

/// Fewer characters than this cannot answer a question with figures.
const MIN_CHARS: usize = 40;

/// Why a report cannot be accepted as the answer (empty when it can), each reason a sentence for the repair round.
/// `prose` is what the model wrote itself (the whole report when it wrote it whole; without the headings and
/// references the SDK wrote when it sent sections): the language check reads it.
pub(crate) fn problems(
    report: &str,
    prose: &str,
    plan: &AnalysisPlan,
    figures: &[Figure],
) -> Vec<String> {
    let mut out = Vec::new();
    let text = report.trim();
    let words = text.split_whitespace().count();
    if text.chars().count() < MIN_CHARS || words < 6 {
        out.push(format!(
            "the report is {} characters long: it must state the plan's headline figures and answer the question",
            text.chars().count()
        ));
        return out;
    }
    let language = plan.language;
    // Ids written raw (`gross_margin@FY2023`) are not words of any language: the check reads the rest.
    let words_only: Vec<&str> = prose
        .split_whitespace()
        .filter(|w| !w.contains('@') && !w.contains('_'))
        .collect();
    if words_only.len() >= 12 && Language::detect(&words_only.join(" ")) != language {
        out.push(match language {
            Language::En => "the report is not written in English, the language asked".to_string(),
            Language::Fr => "the report is not written in French, the language asked".to_string(),
        });
    }
    let folded = text.to_lowercase();
    let mentions = |metric: MetricId, period: Option<&str>| {
        figures
            .iter()
            .filter(|f| f.metric == metric && period.is_none_or(|p| &*f.period == p))
            .filter_map(|f| f.value)
            .any(|v| {
                renderings(v, metric.unit())
                    .iter()
                    .any(|r| text.contains(r))
            })
    };
    if let Some(latest) = plan.periods.last() {
        let computable: Vec<MetricId> = plan
            .metrics
            .iter()
            .copied()
            .filter(|m| {
                figures
                    .iter()
                    .any(|f| f.metric == *m && &*f.period == latest.as_str() && f.value.is_some())
            })
            .collect();
        if !computable.is_empty() && !computable.iter().any(|m| mentions(*m, Some(latest))) {
            let names: Vec<&str> = computable
                .iter()
                .take(3)
                .map(|m| metric_name(*m, language))
                .collect();
            out.push(format!(
                "the report states none of the plan's figures for {latest} (for example {})",
                names.join(", ")
            ));
        }
    }
    let missing: Vec<&str> = plan
        .metrics
        .iter()
        .copied()
        .filter(|m| {
            let name = metric_name(*m, language).to_lowercase();
            !folded.contains(&name) && !folded.contains(m.id()) && !mentions(*m, None)
        })
        .map(|m| metric_name(m, language))
        .collect();
    if !missing.is_empty() {
        out.push(format!(
            "the report does not address {}: state each planned figure, or say why it is not computable",
            missing.join(", ")
        ));
    }
    out
}

/// Letters of another script than a French or English report's (Latin) in one text, from which it is not prose in
/// the asked language.
const MAX_FOREIGN_LETTERS: usize = 3;

/// A sentence of fewer words than this said twice is not a loop ("Yes. Yes.").
const LOOP_MIN_WORDS: usize = 4;

/// A run of this many words (a reference counts as its id's words), written this many times in one text, is a
/// loop even with no sentence end in it. Long enough that parallel sentences about different figures, which
/// differ in their references, never match.
const LOOP_RUN_WORDS: usize = 8;
const LOOP_RUN_TIMES: usize = 3;

/// A text's words for the loop checks, lower-cased: letters, digits, `$`, `%` and apostrophes (a reference counts
/// as its id's words).
fn lower_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '$' | '%' | '\'')))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// An HTML tag in prose (`<b>`, `</i>`, `<br/>`): a model's markup, which the report's reader would see raw (and a
/// host page might not escape). A `<` in prose ("a ratio < 1") is not one.
fn markup(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        if starts_tag
            && let Some(close) = after.find('>')
            && close <= 40
            && !after[..close].contains('<')
        {
            return Some(&rest[open..open + close + 2]);
        }
        rest = after;
    }
    None
}

/// Texts that are not prose a reader can use, the failures of a model that writes without following: a text that
/// says the same sentence twice (a loop; a different figure makes a different sentence), template placeholders
/// left in (`$X`, `X%`, `XX`), and letters of another script than the report's (Cyrillic in a French report). Each
/// reason names the field. `texts` are the model's texts by field, references as written.
pub(crate) fn garbled(texts: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    // Sentences said so far, in any section: the sections are one report to its reader.
    let mut said: Vec<String> = Vec::new();
    for (field, text) in texts {
        let own = super::report::without_references(text);
        let mut looped = None;
        for sentence in text.split(['.', '!', '?', ';', '\n']) {
            let words = lower_words(sentence);
            if words.len() < LOOP_MIN_WORDS {
                continue;
            }
            let sentence = words.join(" ");
            if said.contains(&sentence) {
                looped = Some(sentence);
                break;
            }
            said.push(sentence);
        }
        if let Some(sentence) = looped {
            let shown: String = sentence.chars().take(60).collect();
            out.push(format!(
                "`{field}` says the same sentence twice (\"{shown}\"): say each thing once"
            ));
            continue;
        }
        // A loop with no sentence end in it, each turn citing another figure: a run of words said again and again.
        let words = lower_words(text);
        let mut runs: std::collections::HashMap<&[String], usize> =
            std::collections::HashMap::new();
        let repeated = words.windows(LOOP_RUN_WORDS).find(|run| {
            let n = runs.entry(run).or_insert(0);
            *n += 1;
            *n >= LOOP_RUN_TIMES
        });
        if let Some(run) = repeated {
            out.push(format!(
                "`{field}` repeats itself (\"{}\", {LOOP_RUN_TIMES} times): say each thing once",
                run.join(" ")
            ));
            continue;
        }
        if let Some(tag) = markup(&own) {
            out.push(format!(
                "`{field}` holds markup (`{tag}`): write plain sentences, the SDK lays the report out"
            ));
            continue;
        }
        if let Some(p) = own.split_whitespace().find(|w| is_placeholder(w)) {
            out.push(format!(
                "`{field}` holds a placeholder (`{p}`) where a figure belongs: refer to the figure by its id"
            ));
            continue;
        }
        if let Some(sign) = orphan_sign(text) {
            out.push(format!(
                "`{field}` has a `{sign}` with no number: refer to the figure by its id, the SDK writes it with its sign"
            ));
            continue;
        }
        let foreign = own
            .chars()
            .filter(|c| c.is_alphabetic() && !is_latin(*c))
            .count();
        if foreign >= MAX_FOREIGN_LETTERS {
            out.push(format!(
                "`{field}` is partly written in another script than the report's language"
            ));
        }
    }
    out
}

/// A percent or currency sign with no number beside it (" at  % of"): the number was left out. A sign next to a
/// digit or a reference (`{{c1}} %`, `$ {{free_cash_flow@FY2023}}`) is not one.
fn orphan_sign(text: &str) -> Option<char> {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !matches!(c, '%' | '$' | '€') {
            continue;
        }
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after = chars
            .get(i + 1..)
            .and_then(|rest| rest.iter().find(|c| !c.is_whitespace()));
        let numeric =
            |c: Option<&char>| c.is_some_and(|c| c.is_ascii_digit() || matches!(c, '}' | '{'));
        if !numeric(before) && !numeric(after) {
            return Some(*c);
        }
    }
    None
}

/// A template's stand-in for a number: `$X`, `X%`, `XX`, `X.X`, `$N`, `Y%` (letters X, Y or N only, with a
/// currency sign, a percent sign, a decimal point or doubled).
fn is_placeholder(word: &str) -> bool {
    let w = word.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '!' | '?'));
    let w = w.strip_suffix('.').unwrap_or(w);
    let core: String = w
        .chars()
        .filter(|c| !matches!(c, '$' | '%' | '€' | '.'))
        .collect();
    let marked = w.len() > core.len() || core.len() >= 2;
    !core.is_empty()
        && marked
        && core.chars().all(|c| matches!(c, 'X' | 'x' | 'Y' | 'N'))
        && (core.chars().all(|c| c == 'X' || c == 'x') || w.contains(['$', '%', '€']))
}

/// Latin script: ASCII letters and the Latin-1, Extended-A/B and Additional ranges (every French letter).
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c, '\u{c0}'..='\u{24f}' | '\u{1e00}'..='\u{1eff}')
        || matches!(c, 'ª' | 'º')
}

/// A sectioned report's answer that cites none of the plan's figures, when the plan has one to cite: "Yes, it is
/// getting tighter" states a verdict with nothing the SDK can check it against (the metric lines under it are the
/// SDK's, not the model's). An answer states the figures that show it, by reference (`{{working_capital@FY2023}}`,
/// or a change between two). `texts` are the model's texts by field, references as written.
pub(crate) fn answer_cites(
    texts: &[(String, String)],
    plan: &AnalysisPlan,
    figures: &[Figure],
    lines: &[(String, Decimal)],
) -> Option<String> {
    let (_, answer) = texts.iter().find(|(field, _)| field == "report.answer")?;
    // A planned figure, or an amount of the line the question is about.
    let planned = |id: &str| {
        lines.iter().any(|(l, _)| l == id)
            || figures
                .iter()
                .find(|f| f.id == id)
                .is_some_and(|f| f.value.is_some() && plan.metrics.contains(&f.metric))
    };
    let example = plan.periods.last().and_then(|latest| {
        plan.metrics.iter().find_map(|m| {
            figures
                .iter()
                .find(|f| f.metric == *m && &*f.period == latest.as_str() && f.value.is_some())
        })
    })?;
    let mut rest = answer.as_str();
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        if after[..close].split("->").any(|id| planned(id.trim())) {
            return None;
        }
        rest = &after[close + 2..];
    }
    Some(format!(
        "`report.answer` cites none of the plan's figures: answer with the figures that show it, by reference \
         (such as `{{{{{}}}}}`)",
        example.id
    ))
}

/// An answer to a question that asks for a line's amount ("how much cash do we have?") that does not state it in
/// the latest planned period, by reference (`{{cash@FY2023}}`) or typed: the reason, with the reference to use.
/// `texts` are the model's texts by field, references as written; `refs` resolve them, with the line's amounts.
pub(crate) fn states_amount(
    texts: &[(String, String)],
    refs: References<'_>,
    cues: &intent::Cues,
) -> Option<String> {
    if cues.asked.is_some() {
        return None;
    }
    let (subject, _) = cues.line.as_ref()?;
    let (id, latest) = refs.lines.last()?;
    let (field, answer) = texts
        .iter()
        .find(|(field, _)| field == "report.answer")
        .or_else(|| texts.iter().find(|(field, _)| field == "report"))?;
    // References that do not resolve are reported by the rendering itself.
    let written = refs.render(answer).ok()?.text;
    let stated = renderings(*latest, Unit::Amount)
        .iter()
        .any(|r| written.contains(r.as_str()));
    let period = id.split_once('@').map_or("", |(_, p)| p);
    (!stated).then(|| {
        format!(
            "`{field}` does not state what the question asks for, {} in {period}: write it as `{{{{{id}}}}}`",
            subject.id()
        )
    })
}

/// A yes or a no against the figures. A yes/no question about a movement ("is our working capital getting
/// tighter?") answered "Yes" where the figures of its subject say no, or the other way round, is refused with
/// what the figures show; so is the answer that opens with one when they disagree among themselves. The yes or no
/// is the answer's first word (`report.answer`, or the whole report when the model wrote it whole); an answer in
/// other words is left to the direction checks.
pub(crate) fn yes_no(
    texts: &[(String, String)],
    cues: &intent::Cues,
    plan: &AnalysisPlan,
    figures: &[Figure],
    currency: &str,
) -> Option<String> {
    let (field, answer) = texts
        .iter()
        .find(|(field, _)| field == "report.answer")
        .or_else(|| texts.iter().find(|(field, _)| field == "report"))?;
    let folded = crate::analysis::intent::fold(answer);
    let said = match folded.split(' ').next()? {
        "yes" | "oui" => true,
        "no" | "non" => false,
        _ => return None,
    };
    let (expected, shown) = super::offline::figures_answer(plan, figures, currency, cues)?;
    (said != expected).then(|| {
        let (s, e) = match (plan.language, said) {
            (Language::Fr, true) => ("Oui", "non"),
            (Language::Fr, false) => ("Non", "oui"),
            (Language::En, true) => ("Yes", "no"),
            (Language::En, false) => ("No", "yes"),
        };
        format!("`{field}` opens with \"{s}\" but the figures answer {e}: {shown}")
    })
}

/// Texts the model did not write for this report: a section that only repeats its instructions (small models copy
/// a prompt's placeholders, such as "the first sentence: the direct answer to the question"), repeats the question,
/// holds no word and no reference (`...`), or an answer of fewer than four words. Each reason names the field, for
/// the repair round. `texts` are the model's texts by field, `told` what it was told, [`normalized`] (once per
/// process: the prompt and schema are the same for every request).
pub(crate) fn echoes(texts: &[(String, String)], question: &str, told: &str) -> Vec<String> {
    let asked = normalized(question);
    let mut out = Vec::new();
    for (field, text) in texts {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        // Ids written raw (`debt_to_assets`, `gross_margin@FY2023`) are not words either.
        let own = normalized(
            &super::report::without_references(text)
                .split_whitespace()
                .filter(|w| !w.contains('_') && !w.contains('@'))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let shown: String = text.chars().take(60).collect();
        if own.is_empty() {
            if !text.contains("{{") {
                out.push(format!(
                    "`{field}` holds no words (`{shown}`): write what it should say, or leave it empty"
                ));
            }
            continue;
        }
        let words = own.split(' ').count();
        if field == "report.answer" && words < MIN_ANSWER_WORDS {
            out.push(format!(
                "`report.answer` is {words} word(s) (`{shown}`): answer the question in a sentence, with its figures"
            ));
        } else if words >= 3 && told.contains(&own) {
            out.push(format!(
                "`{field}` repeats the instructions (\"{shown}\") instead of saying something about this company"
            ));
        } else if own == asked {
            out.push(format!(
                "`{field}` repeats the question instead of answering it"
            ));
        }
    }
    out
}

/// Lower case words of letters and digits, one space apart: what two texts are compared on.
pub(crate) fn normalized(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ways a report may write a value: the display rounding of its unit and one place less, with either decimal
/// mark, grouped as each language groups thousands or not grouped.
fn renderings(value: Decimal, unit: Unit) -> Vec<String> {
    let (v, places): (Decimal, &[u32]) = match unit {
        Unit::Percent => (value * Decimal::ONE_HUNDRED, &[2, 1]),
        Unit::Ratio => (value, &[2, 1]),
        Unit::Amount => (value, &[0]),
        Unit::Days => (value, &[1, 0]),
    };
    let mut out = Vec::new();
    for dp in places {
        for language in [Language::En, Language::Fr] {
            let grouped = language.number(v.abs(), *dp);
            let plain: String = grouped
                .chars()
                .filter(|c| {
                    !matches!(c, ',' | ' ' | '\u{a0}' | '\u{202f}')
                        || Some(*c) == decimal_mark(language, dp)
                })
                .collect();
            // French groups with spaces, which the SDK's own rendering makes no-break.
            out.push(grouped.replace(' ', "\u{a0}"));
            out.push(grouped);
            out.push(plain);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The decimal mark a language writes, when the rendering has decimals.
fn decimal_mark(language: Language, places: &u32) -> Option<char> {
    (*places > 0).then_some(match language {
        Language::En => '.',
        Language::Fr => ',',
    })
}

#[cfg(test)]
mod tests {
    use super::{echoes, normalized};

    const TOLD: &str = "Then write the report: \"answer\": \"the first sentence: the direct answer to the question\", \
                        \"trends\": \"...\"";

    fn texts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn a_section_copied_from_the_instructions_or_empty_of_words_is_named() {
        let question = "Is our working capital getting tighter?";
        let found = echoes(
            &texts(&[
                (
                    "report.answer",
                    "The first sentence: the direct answer to the question.",
                ),
                ("report.trends", "..."),
                ("report.caveats", "  "),
                ("report.metrics.current_ratio.comment", "debt_to_assets"),
                (
                    "report.stands_out",
                    "is our working capital getting TIGHTER",
                ),
            ]),
            question,
            &normalized(TOLD),
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("`report.answer` repeats the instructions"));
        assert!(found[1].starts_with("`report.trends` holds no words"));
        assert!(found[2].starts_with("`report.metrics.current_ratio.comment` holds no words"));
        assert!(found[3].starts_with("`report.stands_out` repeats the question"));
        // A bare "Yes" answers nothing a CPA can use; a reference is not a word.
        for short in ["Yes.", "Oui, {{working_capital@FY2023}}."] {
            let found = echoes(
                &texts(&[("report.answer", short)]),
                question,
                &normalized(TOLD),
            );
            assert!(
                found.len() == 1 && found[0].starts_with("`report.answer` is 1 word(s)"),
                "{found:?}"
            );
        }
    }

    #[test]
    fn the_models_own_words_and_bare_references_pass() {
        let found = echoes(
            &texts(&[
                (
                    "report.answer",
                    "No: working capital grew to {{working_capital@FY2023}}.",
                ),
                (
                    "report.metrics.current_ratio.comment",
                    "{{current_ratio@FY2023}}",
                ),
                ("report.trends", "The answer rose."),
                ("report.caveats", ""),
            ]),
            "Is our working capital getting tighter?",
            &normalized(TOLD),
        );
        assert!(found.is_empty(), "{found:?}");
    }
}

#[cfg(test)]
mod answer_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::{answer_cites, garbled};

    #[test]
    fn loops_placeholders_and_other_scripts_are_not_prose() {
        let one = |field: &str, text: &str| vec![(field.to_string(), text.to_string())];
        for (text, reason) in [
            // Seen on SmolLM2: a sentence said again, and a template's placeholders.
            (
                "Current ratio is getting tighter than ever. Current ratio is getting tighter than ever!",
                "says the same sentence twice",
            ),
            (
                "The current ratio is over $X% of current assets.",
                "placeholder (`$X%`)",
            ),
            ("The margin reached X% in FY2023.", "placeholder (`X%`)"),
            ("Revenue was $X, up from $N.", "placeholder (`$X,`)"),
            ("Margins held at XX for the year.", "placeholder (`XX`)"),
            // Seen on SmolLM2 once digits were out of its grammar: the sign with no number.
            (
                "Debt to assets are currently at  % of the previous period.",
                "a `%` with no number",
            ),
            // Seen on Gemma: a loop with no full stop, each turn citing another figure, and HTML.
            (
                "We continued our plans{{gross_margin@FY2023}} and are in a position to comment on the results of \
                 FY2023 due to uncertainty, and we continued our plans{{net_margin@FY2023}} and are in a position to \
                 comment on the results of FY2023 due to uncertainty, and we continued our plans{{c1}} and are in a \
                 position to comment on the results of FY2023 due to uncertainty",
                "repeats itself",
            ),
            (
                "Results were hit by COVID-<i><b>pandemic</b></i> effects.",
                "markup (`<i>`)",
            ),
            // Seen on SmolLM2: Cyrillic inside a French report.
            ("février, р. эталі насерева (финансмотра)", "another script"),
        ] {
            let found = garbled(&one("report.trends", text));
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(found[0].contains("report.trends"), "{found:?}");
            assert!(found[0].contains(reason), "{text}: {found:?}");
        }
        // The same sentence in two sections is said twice in one report; it is named where it comes back.
        let two = vec![
            (
                "report.answer".to_string(),
                "Liquidity is comfortable this year.".to_string(),
            ),
            (
                "report.caveats".to_string(),
                "Liquidity is comfortable this year.".to_string(),
            ),
        ];
        let found = garbled(&two);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("`report.caveats` says the same sentence twice"),
            "{found:?}"
        );
        // Prose a careful model writes: parallel sentences about different figures, French letters, a century.
        for text in [
            "Gross margin rose from {{gross_margin@FY2022}} to {{gross_margin@FY2023}}. Net margin rose from \
             {{net_margin@FY2022}} to {{net_margin@FY2023}}. Operating margin rose from {{operating_margin@FY2022}} \
             to {{operating_margin@FY2023}}.",
            "Revenue growth is not computable for FY2021. Net income growth is not computable for FY2021.",
            "La marge brute s'améliore légèrement ; l'écart reste élevé, à {{gross_margin@FY2023}}. Ça tient.",
            "Une tendance du XXe siècle : oui, oui. Yes. Yes.",
            "The ratio is X times lower than the sector (no figure).",
            "Free cash flow: {{free_cash_flow@FY2023}} $, margin {{c1}} %, cash $ {{cash@FY2023}}.",
            "A current ratio < 1 would be a concern; here it is not, and x <y holds.",
            "Revenue growth is not computable for FY2021 for lack of a previous period; net income growth is not \
             computable for FY2021 for lack of a previous period; EBITDA growth neither.",
            "In FY2023 the gross margin was {{gross_margin@FY2023}}, in FY2023 the net margin was \
             {{net_margin@FY2023}}, and in FY2023 the operating margin was {{operating_margin@FY2023}}.",
        ] {
            assert!(
                garbled(&one("report.trends", text)).is_empty(),
                "{text}: {:?}",
                garbled(&one("report.trends", text))
            );
        }
    }
    use super::yes_no;
    use crate::analysis::{AnalysisPlan, Intent, Language};
    use crate::metrics::{self, MetricId};

    #[test]
    fn an_answer_must_cite_a_planned_figure_when_there_is_one() {
        let s = crate::testing::bistro();
        let plan = AnalysisPlan {
            intents: vec![Intent::Liquidity],
            metrics: vec![MetricId::WorkingCapital, MetricId::CurrentRatio],
            periods: vec!["FY2022".into(), "FY2023".into()],
            comparisons: Vec::new(),
            language: Language::En,
            benchmark: false,
        };
        let figures = metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
        let answer = |text: &str| vec![("report.answer".to_string(), text.to_string())];
        for (text, ok) in [
            ("Yes, it is getting tighter than ever.", false),
            // A figure that is not the plan's does not state the plan's answer.
            ("Margins are fine: {{gross_margin@FY2023}}.", false),
            ("Not tighter: {{working_capital@FY2023}}.", true),
            (
                "Not tighter: {{ current_ratio@FY2022 -> current_ratio@FY2023 }}.",
                true,
            ),
            ("Not tighter {{c1}} and {{working_capital@FY2022}}.", true),
        ] {
            let found = answer_cites(&answer(text), &plan, &figures, &[]);
            assert_eq!(found.is_none(), ok, "{text}: {found:?}");
            if let Some(reason) = found {
                assert!(reason.contains("report.answer"), "{reason}");
                assert!(reason.contains("{{working_capital@FY2023}}"), "{reason}");
            }
        }
        // A report written whole has no answer field to check; a plan with nothing computable asks for nothing.
        let whole = vec![("report".to_string(), "Yes.".to_string())];
        assert!(answer_cites(&whole, &plan, &figures, &[]).is_none());
        let empty = AnalysisPlan {
            metrics: Vec::new(),
            ..plan.clone()
        };
        assert!(answer_cites(&answer("Yes, fine."), &empty, &figures, &[]).is_none());
    }

    #[test]
    fn a_yes_or_no_is_held_to_the_figures_in_both_languages() {
        let s = crate::testing::bistro();
        // The bistro's customers took 29.0 days to pay in FY2021 and 41.2 in FY2023: they pay more slowly.
        let question = "Nos clients paient-ils plus lentement ?";
        let plan = crate::analysis::intent::plan(question, &s, Language::Fr);
        let figures = metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
        let answer = |text: &str| vec![("report.answer".to_string(), text.to_string())];
        let check = |text: &str| {
            yes_no(
                &answer(text),
                &crate::analysis::intent::cues(question),
                &plan,
                &figures,
                "CAD",
            )
        };
        let reason = check("Non, nos clients paient à {{days_sales_outstanding@FY2023}}.").unwrap();
        assert!(
            reason.starts_with("`report.answer` opens with \"Non\" but the figures answer oui")
                && reason.contains("Le délai moyen de recouvrement se dégrade"),
            "{reason}"
        );
        assert!(check("Oui : {{days_sales_outstanding@FY2023}} jours en moyenne.").is_none());
        assert!(check("**Oui.** Les clients paient plus lentement.").is_none());
        // An answer in other words is left to the direction checks; "Nonobstant" is not "non".
        assert!(check("Les clients paient en {{days_sales_outstanding@FY2023}}.").is_none());
        assert!(check("Nonobstant la saison, oui.").is_none());
        // Not a yes/no question: nothing to hold.
        let other = "Pourquoi nos clients paient-ils plus lentement ?";
        assert!(
            yes_no(
                &answer("Non, pas du tout."),
                &crate::analysis::intent::cues(other),
                &plan,
                &figures,
                "CAD"
            )
            .is_none()
        );
        // English, a report written whole.
        let question = "Did our current ratio go up?";
        let plan = crate::analysis::intent::plan(question, &s, Language::En);
        let figures = metrics::compute(&s, &plan.metrics, &plan.periods).unwrap();
        let whole = vec![("report".to_string(), "No: it fell.".to_string())];
        let reason = yes_no(
            &whole,
            &crate::analysis::intent::cues(question),
            &plan,
            &figures,
            "CAD",
        )
        .unwrap();
        assert!(
            reason.starts_with("`report` opens with \"No\" but the figures answer yes"),
            "{reason}"
        );
    }
}
