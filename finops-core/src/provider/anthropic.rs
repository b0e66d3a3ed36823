//! The Anthropic Messages API, native: `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`, and
//! its own streaming events (`message_start`, `content_block_delta`, `message_delta`, `message_stop`, `error`).

use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use serde_json::{Value, json};

use super::http::{self, ApiKey, HttpOptions};
use super::{ChatChunk, ChatRequest, ChatStream, PromptCacheTtl, Provider, Role, TokenUsage};
use crate::error::{Error, Result};

pub use super::http::ANTHROPIC_BASE_URL;
/// The `anthropic-version` header sent with every call.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The `anthropic-beta` flag sent with hour-long prompt-cache entries.
pub const EXTENDED_CACHE_TTL_BETA: &str = "extended-cache-ttl-2025-04-11";

/// Claude through Anthropic's own API.
#[derive(Debug, Clone)]
pub struct Anthropic {
    base_url: String,
    key: ApiKey,
    client: reqwest::Client,
    prompt_cache: PromptCacheTtl,
}

impl Anthropic {
    /// Anthropic's API with `key`.
    pub fn new(key: ApiKey) -> Result<Self> {
        Self::with_options(ANTHROPIC_BASE_URL, key, &HttpOptions::default())
    }

    /// Another base URL (a proxy, or a test server).
    pub fn with_options(base_url: &str, key: ApiKey, options: &HttpOptions) -> Result<Self> {
        crate::provider::http::check_base_url(base_url)?;
        Ok(Anthropic {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            client: options.client()?,
            prompt_cache: PromptCacheTtl::default(),
        })
    }

    /// How long the prompt cache keeps each phase's stable prefix (five minutes by default).
    pub fn prompt_cache(mut self, ttl: PromptCacheTtl) -> Self {
        self.prompt_cache = ttl;
        self
    }

    fn body(&self, request: &ChatRequest) -> Value {
        // System messages go in `system`; the conversation must alternate user / assistant.
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| {
                let role = if m.role == Role::Assistant {
                    "assistant"
                } else {
                    "user"
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens.unwrap_or(4096),
            "stream": true,
        });
        if !system.is_empty() {
            // The system prompt is each phase's stable prefix: marked as the prompt cache's breakpoint, so later
            // calls read it at the cache price (tools, when sent, are part of that prefix).
            body["system"] = json!([{
                "type": "text",
                "text": system.join("\n\n"),
                "cache_control": self.prompt_cache.marker(),
            }]);
        }
        if let Some(schema) = &request.schema {
            // Structured output as a forced tool call: the answer is the tool's input, streamed as JSON deltas.
            // Tools come first in the cached prefix: the phase's stable schema keeps that prefix the same from one
            // analysis to the next (a schema narrowed to each document's ids would make every prefix new), and
            // the pipeline checks each answer against the narrowed one.
            body["tools"] = json!([{
                "name": schema.name,
                "description": "Give the answer: its arguments are the whole answer.",
                "input_schema": schema.stable.as_ref().unwrap_or(&schema.schema),
            }]);
            body["tool_choice"] = json!({"type": "tool", "name": schema.name});
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

/// Anthropic counts cache reads and writes apart from `input_tokens`; finops counts every input token in
/// `input_tokens`, cache reads also in `cached_input_tokens` and cache writes in `cache_write_tokens`.
fn usage(v: &Value) -> TokenUsage {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let written = n("cache_creation_input_tokens");
    // `cache_creation` splits the writes by how long they are kept (an hour's cost more).
    let written_1h = v
        .pointer("/cache_creation/ephemeral_1h_input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(written);
    TokenUsage {
        input_tokens: n("input_tokens")
            .saturating_add(cached)
            .saturating_add(written),
        output_tokens: n("output_tokens"),
        cached_input_tokens: cached,
        cache_write_tokens: written,
        cache_write_1h_tokens: written_1h,
        reasoning_tokens: 0,
        cost_usd: None,
    }
}

pub(crate) enum Step {
    Chunks(Vec<ChatChunk>),
    Done,
}

pub(crate) fn event(name: &str, data: &str, key: &ApiKey) -> Result<Step> {
    let v: Value = serde_json::from_str(data).map_err(|e| {
        Error::provider(
            "anthropic",
            format!("malformed event in the answer stream: {e}"),
            true,
        )
    })?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
    Ok(match kind {
        "message_start" => {
            let mut u = v.pointer("/message/usage").map(usage).unwrap_or_default();
            // `message_delta` reports the cumulative output count; the start's (usually 1) would be counted twice.
            u.output_tokens = 0;
            Step::Chunks(vec![ChatChunk::Usage { usage: u }])
        }
        "content_block_delta" => match v
            .pointer("/delta/text")
            .or_else(|| v.pointer("/delta/partial_json"))
            .and_then(Value::as_str)
        {
            Some(t) if !t.is_empty() => Step::Chunks(vec![ChatChunk::Delta {
                text: t.to_string(),
            }]),
            _ => Step::Chunks(Vec::new()),
        },
        // The final output count; input was reported by message_start.
        "message_delta" => {
            let out = v
                .pointer("/usage/output_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Step::Chunks(vec![ChatChunk::Usage {
                usage: TokenUsage {
                    output_tokens: out,
                    ..TokenUsage::default()
                },
            }])
        }
        "message_stop" => Step::Done,
        "error" => {
            let message = v
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            // Errors inside a 200 stream are the server's (overloaded_error, api_error): worth another try.
            return Err(Error::provider(
                "anthropic",
                format!("error inside the answer stream: {}", key.scrub(message)),
                true,
            ));
        }
        _ => Step::Chunks(Vec::new()),
    })
}

#[async_trait::async_trait]
impl Provider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let mut call = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header("content-type", "application/json");
        if self.prompt_cache == PromptCacheTtl::OneHour {
            // The hour-long cache entry was introduced behind this beta flag; sending it is harmless where it is
            // generally available.
            call = call.header("anthropic-beta", EXTENDED_CACHE_TTL_BETA);
        }
        let response = call
            .body(self.body(&request).to_string())
            .send()
            .await
            .map_err(|e| http::transport_error("anthropic", &e, Some(&self.key)))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = http::error_body(response).await;
            return Err(http::status_error(
                "anthropic",
                status,
                &headers,
                &body,
                Some(&self.key),
            ));
        }
        let events = response.bytes_stream().eventsource();
        let key = self.key.clone();
        let s = stream::unfold((events, false, key), |(mut events, done, key)| async move {
            if done {
                return None;
            }
            loop {
                let failure = match events.next().await {
                    None => Error::provider(
                        "anthropic",
                        "the answer stream ended before `message_stop`",
                        true,
                    ),
                    Some(Err(e)) => Error::provider(
                        "anthropic",
                        format!("the answer stream broke: {}", key.scrub(&e.to_string())),
                        true,
                    ),
                    Some(Ok(ev)) => match event(&ev.event, &ev.data, &key) {
                        Ok(Step::Done) => return None,
                        Ok(Step::Chunks(c)) if c.is_empty() => continue,
                        Ok(Step::Chunks(c)) => {
                            return Some((c.into_iter().map(Ok).collect(), (events, false, key)));
                        }
                        Err(e) => e,
                    },
                };
                return Some((vec![Err(failure)], (events, true, key)));
            }
        });
        Ok(Box::pin(s.flat_map(stream::iter)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Phase};

    fn provider() -> Anthropic {
        Anthropic::with_options(
            "http://127.0.0.1:9",
            ApiKey::new("sk-ant-test").unwrap(),
            &HttpOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn system_messages_move_to_the_system_field() {
        let body = provider().body(&ChatRequest {
            model: "claude-sonnet-4-5".into(),
            messages: vec![
                Message::system("plan"),
                Message::user("q"),
                Message::assistant("a"),
                Message::user("fix"),
            ],
            temperature: Some(0.0),
            max_tokens: None,
            json_mode: true,
            schema: None,
            phase: Phase::Analyst,
        });
        assert_eq!(body["system"][0]["text"], "plan");
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(body["messages"].as_array().unwrap().len(), 3);
        assert_eq!(body["max_tokens"], 4096);
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn a_schema_becomes_a_forced_tool_call_streamed_as_json_deltas() {
        let schema = json!({"type": "object", "properties": {"report": {"type": "string"}}, "required": ["report"], "additionalProperties": false});
        let body = provider().body(&ChatRequest {
            model: "claude-sonnet-4-5".into(),
            messages: vec![Message::system("s"), Message::user("q")],
            temperature: None,
            max_tokens: Some(900),
            json_mode: true,
            schema: Some(crate::provider::ResponseSchema {
                name: "validator_answer".into(),
                schema: schema.clone(),
                stable: None,
            }),
            phase: Phase::Validator,
        });
        assert_eq!(body["tools"][0]["name"], "validator_answer");
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "validator_answer"})
        );
        assert_eq!(body["max_tokens"], 900);
        let k = ApiKey::new("sk-ant-0123456789abcdef").unwrap();
        let Step::Chunks(c) = event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"report\": \"Bo"}}"#, &k).unwrap() else { panic!() };
        assert_eq!(
            c,
            vec![ChatChunk::Delta {
                text: "{\"report\": \"Bo".into()
            }]
        );
    }

    #[test]
    fn streaming_events_map_to_chunks() {
        let k = ApiKey::new("sk-ant-0123456789abcdef").unwrap();
        let Step::Chunks(c) = event("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":12,"cache_read_input_tokens":8,"output_tokens":1}}}"#, &k).unwrap() else { panic!() };
        let ChatChunk::Usage { usage } = &c[0] else {
            panic!()
        };
        assert_eq!((usage.input_tokens, usage.cached_input_tokens), (20, 8));
        assert_eq!(
            usage.output_tokens, 0,
            "the final count comes with message_delta"
        );
        let Step::Chunks(c) = event("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":50,"cache_creation_input_tokens":1200,"cache_read_input_tokens":0,"output_tokens":1}}}"#, &k).unwrap() else { panic!() };
        let ChatChunk::Usage { usage } = &c[0] else {
            panic!()
        };
        assert_eq!(
            (
                usage.input_tokens,
                usage.cache_write_tokens,
                usage.cached_input_tokens
            ),
            (1250, 1200, 0)
        );
        let Step::Chunks(c) = event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bon"}}"#, &k).unwrap() else { panic!() };
        assert_eq!(c, vec![ChatChunk::Delta { text: "Bon".into() }]);
        assert!(matches!(
            event("message_stop", r#"{"type":"message_stop"}"#, &k).unwrap(),
            Step::Done
        ));
        let e = event(
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            &k,
        )
        .err()
        .unwrap();
        assert!(e.is_retryable() && e.to_string().contains("Overloaded"));
    }
}
