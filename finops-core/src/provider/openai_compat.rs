//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenRouter (the default), OpenAI,
//! DeepSeek, and local servers such as llama.cpp, vLLM or Ollama. Streams with server-sent events, parsed by
//! `eventsource-stream`.

use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::http::{self, ApiKey, HttpOptions};
use super::{ChatChunk, ChatRequest, ChatStream, Provider, Role, TokenUsage};
use crate::error::{Error, Result};

pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEEPSEEK_BASE_URL: &str = "https://api.deepseek.com/v1";

/// A provider speaking the OpenAI chat completions protocol.
///
/// ```
/// use finops_core::provider::{ApiKey, OpenAiCompatible};
/// let local = OpenAiCompatible::new("local", "http://127.0.0.1:8080/v1", None)?;
/// let openrouter = OpenAiCompatible::openrouter(ApiKey::new("sk-or-…")?)?;
/// assert_eq!(openrouter.base_url(), "https://openrouter.ai/api/v1");
/// # Ok::<(), finops_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    name: String,
    base_url: String,
    key: Option<ApiKey>,
    client: reqwest::Client,
    streaming: bool,
    json_mode: bool,
    openrouter: bool,
}

impl OpenAiCompatible {
    /// A provider at `base_url` (ending in `/v1` for most servers). The URL must be http(s).
    pub fn new(name: impl Into<String>, base_url: &str, key: Option<ApiKey>) -> Result<Self> {
        Self::with_options(name, base_url, key, &HttpOptions::default())
    }

    pub fn with_options(
        name: impl Into<String>,
        base_url: &str,
        key: Option<ApiKey>,
        options: &HttpOptions,
    ) -> Result<Self> {
        let url = crate::provider::http::check_base_url(base_url)?;
        Ok(OpenAiCompatible {
            name: name.into(),
            base_url: base_url.trim_end_matches('/').to_string(),
            openrouter: url.host_str() == Some("openrouter.ai"),
            key,
            client: options.client()?,
            streaming: true,
            json_mode: true,
        })
    }

    pub fn openrouter(key: ApiKey) -> Result<Self> {
        Self::new("openrouter", OPENROUTER_BASE_URL, Some(key))
    }

    pub fn openai(key: ApiKey) -> Result<Self> {
        Self::new("openai", OPENAI_BASE_URL, Some(key))
    }

    pub fn deepseek(key: ApiKey) -> Result<Self> {
        Self::new("deepseek", DEEPSEEK_BASE_URL, Some(key))
    }

    /// Streams answers with server-sent events (default) or asks for whole answers.
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Sends `response_format: json_object` when a request asks for JSON (default on; turn off for servers that
    /// reject it — the pipeline still parses and repairs).
    pub fn json_mode(mut self, on: bool) -> Self {
        self.json_mode = on;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let mut body =
            json!({"model": request.model, "messages": messages, "stream": self.streaming});
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(m) = request.max_tokens {
            body["max_tokens"] = json!(m);
        }
        if request.json_mode && self.json_mode {
            body["response_format"] = json!({"type": "json_object"});
        }
        if self.streaming {
            body["stream_options"] = json!({"include_usage": true});
        }
        if self.openrouter {
            // Ask OpenRouter to report the call's cost in `usage.cost`.
            body["usage"] = json!({"include": true});
        }
        body
    }
}

/// Usage as OpenAI-compatible servers report it (OpenRouter adds `cost` in USD).
fn usage(v: &Value) -> TokenUsage {
    let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let cost = v.get("cost").and_then(|c| match c {
        Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
        Value::String(s) => s.parse::<Decimal>().ok(),
        _ => None,
    });
    TokenUsage {
        input_tokens: n("/prompt_tokens"),
        output_tokens: n("/completion_tokens"),
        cached_input_tokens: n("/prompt_tokens_details/cached_tokens"),
        reasoning_tokens: n("/completion_tokens_details/reasoning_tokens"),
        cost_usd: cost,
    }
}

/// The chunks of one streamed event's JSON, or the error it carries.
pub(crate) fn chunks(provider: &str, data: &str, key: Option<&ApiKey>) -> Result<Vec<ChatChunk>> {
    let v: Value = serde_json::from_str(data).map_err(|e| {
        Error::provider(
            provider,
            format!("malformed event in the answer stream: {e}"),
            true,
        )
    })?;
    if let Some(err) = v.get("error") {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| err.to_string(), str::to_string);
        let message = key.map_or(message.clone(), |k| k.scrub(&message));
        return Err(Error::provider(
            provider,
            format!("error inside the answer stream: {message}"),
            true,
        ));
    }
    let mut out = Vec::new();
    if let Some(text) = v
        .pointer("/choices/0/delta/content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        out.push(ChatChunk::Delta {
            text: text.to_string(),
        });
    }
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        out.push(ChatChunk::Usage { usage: usage(u) });
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let mut builder = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .header("content-type", "application/json")
            .body(self.body(&request).to_string());
        if let Some(k) = &self.key {
            builder = builder.bearer_auth(k.expose());
        }
        if self.openrouter {
            builder = builder.header("X-Title", "finops");
        }
        let name = self.name.clone();
        let key = self.key.clone();
        let response = builder
            .send()
            .await
            .map_err(|e| http::transport_error(&name, &e, key.as_ref()))?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let headers = response.headers().clone();
            let body = http::error_body(response).await;
            return Err(http::status_error(
                &name,
                status,
                &headers,
                &body,
                key.as_ref(),
            ));
        }
        if !self.streaming {
            let body = response
                .text()
                .await
                .map_err(|e| http::transport_error(&name, &e, key.as_ref()))?;
            let v: Value = serde_json::from_str(&body).map_err(|e| {
                Error::provider(&name, format!("the answer is not JSON: {e}"), true)
            })?;
            let text = v
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::provider(&name, "the answer has no message content", true))?;
            let mut out = vec![Ok(ChatChunk::Delta {
                text: text.to_string(),
            })];
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                out.push(Ok(ChatChunk::Usage { usage: usage(u) }));
            }
            return Ok(Box::pin(stream::iter(out)));
        }

        // Streamed: every event until `[DONE]`. A stream that ends without it broke mid-answer: an error, so the
        // partial text is never taken for a finished answer.
        let events = response.bytes_stream().eventsource();
        let state = (events, false, name, key);
        let s = stream::unfold(state, |(mut events, done, name, key)| async move {
            if done {
                return None;
            }
            loop {
                match events.next().await {
                    None => {
                        let e =
                            Error::provider(&name, "the answer stream ended before `[DONE]`", true);
                        return Some((vec![Err(e)], (events, true, name, key)));
                    }
                    Some(Err(e)) => {
                        let e = Error::provider(
                            &name,
                            format!(
                                "the answer stream broke: {}",
                                key.as_ref()
                                    .map_or(e.to_string(), |k| k.scrub(&e.to_string()))
                            ),
                            true,
                        );
                        return Some((vec![Err(e)], (events, true, name, key)));
                    }
                    Some(Ok(event)) => {
                        let data = event.data.trim();
                        if data == "[DONE]" {
                            return None;
                        }
                        if data.is_empty() || data.starts_with(':') {
                            continue;
                        }
                        match chunks(&name, data, key.as_ref()) {
                            Ok(c) if c.is_empty() => continue,
                            Ok(c) => {
                                return Some((
                                    c.into_iter().map(Ok).collect(),
                                    (events, false, name, key),
                                ));
                            }
                            Err(e) => return Some((vec![Err(e)], (events, true, name, key))),
                        }
                    }
                }
            }
        });
        Ok(Box::pin(s.flat_map(stream::iter)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Phase};

    #[test]
    fn bad_base_urls_are_refused() {
        for url in ["not a url", "ftp://x/v1", ""] {
            let e = OpenAiCompatible::new("x", url, None).unwrap_err();
            assert_eq!(e.field(), Some("base_url"), "{url}");
        }
    }

    #[test]
    fn request_body_asks_for_json_usage_and_openrouter_cost() {
        let p = OpenAiCompatible::openrouter(ApiKey::new("k-123").unwrap()).unwrap();
        let body = p.body(&ChatRequest {
            model: "anthropic/claude-sonnet-4.5".into(),
            messages: vec![Message::system("s"), Message::user("u")],
            temperature: Some(0.0),
            max_tokens: Some(100),
            json_mode: true,
            phase: Phase::Analyst,
        });
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["usage"]["include"], true);
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(!format!("{p:?}").contains("k-123"));
    }

    #[test]
    fn events_become_chunks_or_errors() {
        let c = chunks("x", r#"{"choices":[{"delta":{"content":"Hi"}}]}"#, None).unwrap();
        assert_eq!(c, vec![ChatChunk::Delta { text: "Hi".into() }]);
        let c = chunks(
            "x",
            r#"{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"cost":0.00042,
               "prompt_tokens_details":{"cached_tokens":4}}}"#,
            None,
        )
        .unwrap();
        let ChatChunk::Usage { usage } = &c[0] else {
            panic!()
        };
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_input_tokens
            ),
            (10, 3, 4)
        );
        assert_eq!(usage.cost_usd, Some(Decimal::new(42, 5)));
        let e = chunks("x", r#"{"error":{"message":"overloaded"}}"#, None).unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("overloaded"));
        assert!(chunks("x", "{truncated", None).is_err());
    }
}
