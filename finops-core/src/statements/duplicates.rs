//! JSON objects that repeat a key are refused: decoding into a map would silently keep only the last value, and a
//! CPA's software must never lose an amount without saying so. The document is decoded once, by a decoder that
//! builds the JSON value and notices a repeated key as it inserts it; the repeated key's path is only written
//! out when there is one.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a document could not be decoded.
pub(super) enum Refusal {
    Malformed(serde_json::Error),
    /// The JSON path of the first repeated key.
    Duplicate(String),
}

/// The document as a JSON value (numbers keep their exact text), or why it was refused.
pub(super) fn decode(json: &[u8]) -> Result<Value, Refusal> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let decoded = Strict.deserialize(&mut de).map_err(Refusal::Malformed)?;
    de.end().map_err(Refusal::Malformed)?;
    match decoded {
        Decoded::Value(v) => Ok(v),
        Decoded::Duplicate(mut path) => {
            path.reverse();
            let mut out = String::new();
            for segment in path {
                match segment {
                    Segment::Key(k) if out.is_empty() => out.push_str(&k),
                    Segment::Key(k) => {
                        out.push('.');
                        out.push_str(&k);
                    }
                    Segment::Index(i) => out.push_str(&format!("[{i}]")),
                }
            }
            Err(Refusal::Duplicate(out))
        }
    }
}

enum Decoded {
    Value(Value),
    /// The repeated key's path, innermost segment first (each level adds its own as the answer goes up).
    Duplicate(Vec<Segment>),
}

enum Segment {
    Key(String),
    Index(usize),
}

/// serde_json's name for a number kept as its text (feature `arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Decoded;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decoded, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Decoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decoded, A::Error> {
        let mut out = Map::new();
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if first && key == NUMBER_TOKEN {
                // A number, handed over as its exact text: read back by serde_json's own number type.
                let text: String = map.next_value()?;
                let number: Number =
                    serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
                return Ok(Decoded::Value(Value::Number(number)));
            }
            first = false;
            if out.contains_key(&key) {
                map.next_value::<IgnoredAny>()?;
                drain_map(&mut map)?;
                return Ok(Decoded::Duplicate(vec![Segment::Key(key)]));
            }
            match map.next_value_seed(Strict)? {
                Decoded::Value(v) => {
                    out.insert(key, v);
                }
                Decoded::Duplicate(mut path) => {
                    path.push(Segment::Key(key));
                    drain_map(&mut map)?;
                    return Ok(Decoded::Duplicate(path));
                }
            }
        }
        Ok(Decoded::Value(Value::Object(out)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Decoded, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Strict)? {
            match item {
                Decoded::Value(v) => out.push(v),
                Decoded::Duplicate(mut path) => {
                    path.push(Segment::Index(out.len()));
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Decoded::Duplicate(path));
                }
            }
        }
        Ok(Decoded::Value(Value::Array(out)))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::Bool(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::Number(n.into())))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::Number(n.into())))
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Decoded, E> {
        Number::from_f64(n)
            .map(|n| Decoded::Value(Value::Number(n)))
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::String(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::String(s)))
    }
    fn visit_unit<E>(self) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Decoded, E> {
        Ok(Decoded::Value(Value::Null))
    }
}

/// Reads the rest of an object whose answer is already known, so the decoder still checks the whole text.
fn drain_map<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    while map.next_key::<IgnoredAny>()?.is_some() {
        map.next_value::<IgnoredAny>()?;
    }
    Ok(())
}
