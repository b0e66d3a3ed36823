//! What a provider written in the host's language (Python, JS, Kotlin, Swift) answers, read once here for every
//! binding: the text alone, or `{text, input_tokens?, output_tokens?, cost_usd?}`. A malformed answer is a
//! provider failure naming the field, never a silent zero.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{ChatStream, TokenUsage, whole_answer};
use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    Text(String),
    Full(FullAnswer),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullAnswer {
    text: String,
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    /// A number or a decimal text.
    #[serde(default)]
    cost_usd: Option<Decimal>,
}

/// A host provider's answer as a stream of one whole answer (with its usage when the answer gives any).
///
/// ```
/// use finops_core::provider::host_answer;
/// assert!(host_answer("mine", r#""plain text""#).is_ok());
/// assert!(host_answer("mine", r#"{"text": "t", "input_tokens": 12, "cost_usd": "0.0004"}"#).is_ok());
/// let e = host_answer("mine", r#"{"text": "t", "input_tokens": -1}"#).err().unwrap();
/// assert!(e.to_string().contains("input_tokens"));
/// # Ok::<(), finops_core::Error>(())
/// ```
pub fn host_answer(provider: &str, json: &str) -> Result<ChatStream> {
    let bad =
        |why: String| Error::provider(provider, format!("the provider's answer {why}"), false);
    let mut de = serde_json::Deserializer::from_str(json);
    let answer: Answer = serde_path_to_error::deserialize(&mut de).map_err(|_| {
        // Untagged: say what was expected, then what the object form refuses (the useful message).
        match serde_json::from_str::<FullAnswer>(json) {
            Err(e) if json.trim_start().starts_with('{') => bad(format!(
                "is not {{text, input_tokens?, output_tokens?, cost_usd?}}: {e}"
            )),
            _ => bad("is neither a text nor an object with `text`".into()),
        }
    })?;
    Ok(match answer {
        Answer::Text(text) => whole_answer(text, None),
        Answer::Full(a) => {
            if a.cost_usd.is_some_and(|c| c.is_sign_negative()) {
                return Err(bad("has a negative `cost_usd`".into()));
            }
            let usage =
                (a.input_tokens.is_some() || a.output_tokens.is_some() || a.cost_usd.is_some())
                    .then(|| TokenUsage {
                        input_tokens: a.input_tokens.unwrap_or(0),
                        output_tokens: a.output_tokens.unwrap_or(0),
                        cost_usd: a.cost_usd,
                        ..TokenUsage::default()
                    });
            whole_answer(a.text, usage)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn usage_of(json: &str) -> Option<TokenUsage> {
        let chunks: Vec<_> = futures::executor::block_on(host_answer("h", json).unwrap().collect());
        chunks.into_iter().find_map(|c| match c {
            Ok(crate::provider::ChatChunk::Usage { usage }) => Some(usage),
            _ => None,
        })
    }

    #[test]
    fn text_and_usage_are_read_and_bad_fields_named() {
        assert_eq!(usage_of(r#""hello""#), None);
        let u = usage_of(
            r#"{"text": "t", "input_tokens": 12, "output_tokens": 3, "cost_usd": 0.0004}"#,
        )
        .unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (12, 3));
        assert_eq!(u.cost_usd.unwrap().to_string(), "0.0004");
        assert_eq!(
            usage_of(r#"{"text": "t", "cost_usd": "1.5"}"#)
                .unwrap()
                .cost_usd
                .unwrap()
                .to_string(),
            "1.5"
        );
        for (json, needle) in [
            (r#"{"text": "t", "input_tokens": -1}"#, "input_tokens"),
            (r#"{"text": "t", "output_tokens": 1.5}"#, "output_tokens"),
            (r#"{"text": "t", "cost_usd": "lots"}"#, "cost_usd"),
            (r#"{"text": "t", "cost_usd": -2}"#, "negative"),
            (r#"{"txt": "t"}"#, "txt"),
            (r#"42"#, "neither"),
            (r#"{"text": "t", "tokens": 3}"#, "tokens"),
        ] {
            let e = host_answer("h", json).err().unwrap();
            assert!(e.to_string().contains(needle), "{json}: {e}");
            assert!(!e.is_retryable());
        }
    }
}
