//! Which periods a question is about: the ones it names ("FY2021 vs FY2023", "since 2021", « de 2021 à 2023 »),
//! the latest and the one before it for "last year", the latest three otherwise; and the years it names that the
//! statements do not cover.

use super::fold;
use crate::statements::{Period, Statements};

const NUMBER_WORDS: &[(&str, usize)] = &[
    ("two", 2),
    ("deux", 2),
    ("three", 3),
    ("trois", 3),
    ("four", 4),
    ("quatre", 4),
    ("five", 5),
    ("cinq", 5),
];

/// Phrases that name the latest year of the statements (accent-folded): statements are history, so "this year"
/// and "last year" are both the latest period a document holds.
const LATEST_YEAR_WORDS: &[&str] = &[
    "last year",
    "this year",
    "past year",
    "latest year",
    "most recent year",
    "current year",
    "previous year",
    "prior year",
    "year over year",
    "year on year",
    "yoy",
    "l an dernier",
    "l annee derniere",
    "l an passe",
    "l annee passee",
    "cette annee",
    "annee en cours",
    "annee precedente",
    "dernier exercice",
    "exercice precedent",
    "exercice ecoule",
    "exercice en cours",
    "sur un an",
    "d une annee sur l autre",
    "a year ago",
    "il y a un an",
];

/// The periods a question is about (labels, oldest first): the labels or years it names, its last N years, the
/// latest year ("last year", « l'an dernier ») with the one before it, or by default the latest three. A single period brings its previous consecutive period for comparison.
pub fn periods(question: &str, statements: &Statements) -> Vec<String> {
    let folded = fold(question);
    let words: Vec<&str> = folded.split(' ').collect();
    let all = statements.periods();
    let mut chosen: Vec<usize> = (0..all.len())
        .filter(|&i| {
            let label = fold(&all[i].label);
            let year = all[i].end.format("%Y").to_string();
            (!label.is_empty() && format!(" {folded} ").contains(&format!(" {label} ")))
                || words.contains(&year.as_str())
        })
        .collect();
    match chosen.as_slice() {
        // "Since 2021", « depuis 2022 », "2021 onwards": from that period to the latest.
        [one] if words.iter().any(|w| SINCE_WORDS.contains(w)) => {
            chosen = (*one..all.len()).collect();
        }
        // "From 2021 to 2023", « de 2021 à 2023 », "between FY2021 and FY2023": every period in between too, so a
        // turn in the middle is seen ("FY2021 vs FY2023" compares the two ends only).
        [first, .., last] if names_a_range(&words, &all[*first]) => {
            chosen = (*first..=*last).collect();
        }
        _ => {}
    }
    if chosen.is_empty() {
        let last_n = words.windows(2).enumerate().find_map(|(i, w)| {
            let unit = matches!(
                w[1],
                "years"
                    | "ans"
                    | "annees"
                    | "exercices"
                    | "periods"
                    | "periodes"
                    | "year"
                    | "an"
                    | "annee"
            );
            let n = w[0].parse::<usize>().ok().or_else(|| {
                NUMBER_WORDS
                    .iter()
                    .find(|(word, _)| *word == w[0])
                    .map(|(_, n)| *n)
            });
            // "Two years ago", « il y a deux ans »: that year and every one since, so the two ends are compared.
            let ago =
                words.get(i + 2) == Some(&"ago") || i >= 3 && words[i - 3..i] == ["il", "y", "a"];
            if unit {
                n.map(|n| if ago { n.saturating_add(1) } else { n })
            } else {
                None
            }
        });
        // "Last year", « l'an dernier », "year over year": the latest period, with the one before it.
        let padded = format!(" {folded} ");
        let latest = last_n.is_none()
            && LATEST_YEAR_WORDS.iter().any(|p| {
                padded.match_indices(p).any(|(i, _)| {
                    padded[..i].ends_with(' ') && padded[i + p.len()..].starts_with(' ')
                })
            });
        let n = if latest { 1 } else { last_n.unwrap_or(3) }.clamp(1, all.len().max(1));
        chosen = (all.len().saturating_sub(n)..all.len()).collect();
    }
    if chosen.len() == 1
        && let Some(prev) = statements.previous_consecutive(chosen[0])
        && let Some(idx) = statements.period_index(&prev.label)
    {
        chosen.insert(0, idx);
    }
    chosen.iter().map(|&i| all[i].label.to_string()).collect()
}

/// Words that make one period named the start of a run to the latest ("since 2021", « à partir de 2022 »).
const SINCE_WORDS: &[&str] = &[
    "since", "depuis", "partir", "starting", "onward", "onwards", "from",
];

/// Words that join two periods into a range, right after the first ("2021 to 2023", « 2021 à 2023 », « 2021
/// jusqu'en 2023 »), and words that make any two named periods one ("between", « entre »).
const RANGE_AFTER: &[&str] = &["to", "a", "au", "through", "thru", "until", "till", "jusqu"];
const RANGE_WORDS: &[&str] = &["between", "entre"];

/// Whether the question names a range that starts at `first` (the earliest period it names), rather than two
/// periods to compare.
fn names_a_range(words: &[&str], first: &Period) -> bool {
    let label = fold(&first.label);
    let year = first.end.format("%Y").to_string();
    let at = words.iter().position(|w| *w == label || *w == year);
    words.iter().any(|w| RANGE_WORDS.contains(w))
        || at
            .and_then(|i| words.get(i + 1))
            .is_some_and(|w| RANGE_AFTER.contains(w))
}

/// The years a question names ("2019", "FY2019", « ex2019 ») that no period of the statements is labelled with or
/// ends in: "did sales fall in 2019?" on books from FY2022 cannot be answered for 2019.
pub fn years_outside(question: &str, statements: &Statements) -> Vec<String> {
    let covered = |year: &str| {
        statements
            .periods()
            .iter()
            .any(|p| p.end.format("%Y").to_string() == year || fold(&p.label).contains(year))
    };
    let mut out: Vec<String> = Vec::new();
    for word in fold(question).split(' ') {
        let digits = word
            .strip_prefix("fy")
            .or_else(|| word.strip_prefix("ex"))
            .unwrap_or(word);
        let year = digits.len() == 4
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits.starts_with("19") || digits.starts_with("20"));
        if year && !covered(digits) && !out.iter().any(|y| y == digits) {
            out.push(digits.to_string());
        }
    }
    out
}
