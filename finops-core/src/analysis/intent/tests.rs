//! The rules' own tables: every phrase can match the text it is matched against.

use super::phrases::METRIC_PHRASES;
use super::{RULES, fold, plain};

/// A phrase is matched against a question folded and without determiners, so a phrase written with one ("return
/// on the assets", « rendement des actifs ») would never match.
#[test]
fn every_phrase_is_written_as_the_rules_read_a_question() {
    let phrases = METRIC_PHRASES
        .iter()
        .flat_map(|(_, p)| p.iter())
        .chain(RULES.iter().flat_map(|(_, p)| p.iter()));
    let mut wrong = Vec::new();
    for phrase in phrases {
        let read = plain(&fold(phrase));
        if read.trim() != phrase.trim_end() {
            wrong.push(format!("{phrase:?} reads as {:?}", read.trim()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn determiners_are_not_read() {
    assert_eq!(plain("return on our assets"), " return on assets ");
    assert_eq!(plain("le rendement de nos actifs"), " rendement de actifs ");
    assert_eq!(plain("rendement des actifs"), " rendement de actifs ");
    assert_eq!(plain("rendement de l actif"), " rendement de actif ");
    assert_eq!(plain(""), " ");
}
