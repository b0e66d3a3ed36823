//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenRouter (the default), OpenAI,
//! DeepSeek, and local servers such as llama.cpp, vLLM or Ollama. Streams with server-sent events, parsed by
//! `eventsource-stream`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::http::{self, ApiKey, HttpOptions};
use super::{
    ChatChunk, ChatRequest, ChatStream, PromptCacheTtl, Provider, ResponseSchema, Role, TokenUsage,
};
use crate::error::{Error, Result};

pub use super::http::{DEEPSEEK_BASE_URL, OPENAI_BASE_URL, OPENROUTER_BASE_URL};

/// How a server is asked for an answer of a given shape, from the strictest to none. Servers differ: OpenAI,
/// OpenRouter, vLLM and llama.cpp's `llama-server` take `json_schema`; llama-cpp-python takes a schema inside
/// `json_object` (and refuses `json_schema`); DeepSeek takes only `json_object`; some take nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StructuredMode {
    /// `response_format: {type: "json_schema", json_schema: {name, strict: true, schema}}`.
    JsonSchema,
    /// `response_format: {type: "json_object", schema}` (llama-cpp-python's grammar-constrained form).
    JsonObjectSchema,
    /// `response_format: {type: "json_object"}`: valid JSON, any shape.
    JsonObject,
    /// No `response_format`: the pipeline parses and repairs what comes back.
    Plain,
}

impl StructuredMode {
    /// The next, laxer form to try after a server refused this one.
    fn laxer(self) -> Option<StructuredMode> {
        match self {
            StructuredMode::JsonSchema => Some(StructuredMode::JsonObjectSchema),
            StructuredMode::JsonObjectSchema => Some(StructuredMode::JsonObject),
            StructuredMode::JsonObject => Some(StructuredMode::Plain),
            StructuredMode::Plain => None,
        }
    }

    /// The stable name (`json_schema`, `json_object_schema`, `json_object`, `plain`).
    pub fn id(self) -> &'static str {
        match self {
            StructuredMode::JsonSchema => "json_schema",
            StructuredMode::JsonObjectSchema => "json_object_schema",
            StructuredMode::JsonObject => "json_object",
            StructuredMode::Plain => "plain",
        }
    }
}

/// Whether an error answer refuses the request's `response_format` (rather than anything else in it): a 400/422
/// naming it, or a 500 whose body is a validation error of that field (llama-cpp-python answers `json_schema`
/// with a 500 carrying pydantic's `literal_error` on `response_format`).
fn refuses_response_format(status: u16, body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    let names =
        b.contains("response_format") || b.contains("json_schema") || b.contains("response format");
    match status {
        400 | 415 | 422 | 501 => names,
        500 => {
            b.contains("response_format")
                && [
                    "validation",
                    "literal_error",
                    "not supported",
                    "unsupported",
                ]
                .iter()
                .any(|w| b.contains(w))
        }
        _ => false,
    }
}

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
    /// The strictest form this provider tries first (`JsonSchema` unless the host says otherwise).
    strictest: StructuredMode,
    /// What each model (route) accepted, learned from the first refusal and remembered for every later call.
    learned: Arc<Mutex<HashMap<String, StructuredMode>>>,
    openrouter: bool,
    /// How long OpenRouter's Anthropic routes keep the marked prefix.
    prompt_cache: PromptCacheTtl,
}

impl OpenAiCompatible {
    /// A provider at `base_url` (ending in `/v1` for most servers). The URL must be http(s).
    pub fn new(name: impl Into<String>, base_url: &str, key: Option<ApiKey>) -> Result<Self> {
        Self::with_options(name, base_url, key, &HttpOptions::default())
    }

    /// A provider named `name` at `base_url`, with a key (none for a local server) and HTTP options.
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
            strictest: StructuredMode::JsonSchema,
            learned: Arc::default(),
            prompt_cache: PromptCacheTtl::default(),
        })
    }

    /// OpenRouter, with its key.
    pub fn openrouter(key: ApiKey) -> Result<Self> {
        Self::new("openrouter", OPENROUTER_BASE_URL, Some(key))
    }

    /// OpenAI, with its key.
    pub fn openai(key: ApiKey) -> Result<Self> {
        Self::new("openai", OPENAI_BASE_URL, Some(key))
    }

    /// DeepSeek, with its key.
    pub fn deepseek(key: ApiKey) -> Result<Self> {
        Self::new("deepseek", DEEPSEEK_BASE_URL, Some(key))
    }

    /// Streams answers with server-sent events (default) or asks for whole answers.
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Sends `response_format` when a request asks for JSON (default on; turn off for servers that reject it —
    /// the pipeline still parses and repairs). A server that refuses a form is also learned from, per model.
    pub fn json_mode(mut self, on: bool) -> Self {
        self.strictest = if on {
            StructuredMode::JsonSchema
        } else {
            StructuredMode::Plain
        };
        self
    }

    /// Speaks OpenRouter's extensions (the call's cost in `usage`, prompt-cache markers for Anthropic models):
    /// on by itself for `openrouter.ai`; for a proxy in front of OpenRouter, or a test server.
    pub fn openrouter_extensions(mut self, on: bool) -> Self {
        self.openrouter = on;
        self
    }

    /// How long the prompt cache keeps each phase's marked prefix, on routes that take markers (Anthropic models
    /// behind OpenRouter); five minutes by default.
    pub fn prompt_cache(mut self, ttl: PromptCacheTtl) -> Self {
        self.prompt_cache = ttl;
        self
    }

    /// The strictest form of structured output to try first (laxer forms are learned from refusals).
    pub fn structured_mode(mut self, mode: StructuredMode) -> Self {
        self.strictest = mode;
        self
    }

    /// The form of structured output this provider uses for `model` now: the strictest, or what a refusal taught.
    pub fn structured_mode_for(&self, model: &str) -> StructuredMode {
        self.learned
            .lock()
            .ok()
            .and_then(|l| l.get(model).copied())
            .map_or(self.strictest, |m| m.max(self.strictest))
    }

    fn learn(&self, model: &str, mode: StructuredMode) {
        if let Ok(mut l) = self.learned.lock() {
            let e = l.entry(model.to_string()).or_insert(mode);
            *e = (*e).max(mode);
        }
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Anthropic models behind OpenRouter cache a prompt prefix only where a `cache_control` marker says so.
    fn marks_cache(&self, model: &str) -> bool {
        self.openrouter && model.starts_with("anthropic/")
    }

    fn body(&self, request: &ChatRequest, mode: StructuredMode) -> Value {
        let mark = self.marks_cache(&request.model);
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                if mark && m.role == Role::System {
                    // The system prompt is each phase's stable prefix: the breakpoint of the prompt cache.
                    json!({"role": role, "content": [
                        {"type": "text", "text": m.content, "cache_control": self.prompt_cache.marker()}
                    ]})
                } else {
                    json!({"role": role, "content": m.content})
                }
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
        if let Some(format) = response_format(request, mode) {
            body["response_format"] = format;
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

/// The `response_format` a request gets in a given mode, if any.
fn response_format(request: &ChatRequest, mode: StructuredMode) -> Option<Value> {
    let wants_json = request.json_mode || request.schema.is_some();
    match (mode, &request.schema) {
        (StructuredMode::Plain, _) => None,
        _ if !wants_json => None,
        (StructuredMode::JsonSchema, Some(ResponseSchema { name, schema, .. })) => Some(json!({
            "type": "json_schema",
            "json_schema": {"name": name, "strict": true, "schema": schema}
        })),
        (StructuredMode::JsonObjectSchema, Some(ResponseSchema { schema, .. })) => {
            Some(json!({"type": "json_object", "schema": schema}))
        }
        _ => Some(json!({"type": "json_object"})),
    }
}

/// Usage as OpenAI-compatible servers report it: cached prompt tokens in `prompt_tokens_details.cached_tokens`
/// (OpenAI, OpenRouter; OpenRouter adds `cache_write_tokens` and the call's `cost` in USD) or
/// `prompt_cache_hit_tokens` (DeepSeek). `prompt_tokens` includes both.
fn usage(v: &Value) -> TokenUsage {
    let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("/prompt_tokens_details/cached_tokens").max(n("/prompt_cache_hit_tokens"));
    let cost = v.get("cost").and_then(|c| match c {
        Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
        Value::String(s) => s.parse::<Decimal>().ok(),
        _ => None,
    });
    TokenUsage {
        input_tokens: n("/prompt_tokens"),
        output_tokens: n("/completion_tokens"),
        cached_input_tokens: cached,
        cache_write_tokens: n("/prompt_tokens_details/cache_write_tokens"),
        // OpenRouter reports the call's cost, which already prices each write by how long it is kept.
        cache_write_1h_tokens: 0,
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
        let name = self.name.clone();
        let key = self.key.clone();
        let mut mode = self.structured_mode_for(&request.model);
        // A refusal of the response format is learned once per model and the call goes on in the next laxer
        // form, so a server that cannot take schemas costs one refused request, not a failure per call.
        let response = loop {
            let mut builder = self
                .client
                .post(format!("{}/chat/completions", self.base_url))
                .header("content-type", "application/json")
                .body(self.body(&request, mode).to_string());
            if let Some(k) = &self.key {
                builder = builder.bearer_auth(k.expose());
            }
            if self.openrouter {
                builder = builder.header("X-Title", "finops");
            }
            let response = builder
                .send()
                .await
                .map_err(|e| http::transport_error(&name, &e, key.as_ref()))?;
            let status = response.status().as_u16();
            if response.status().is_success() {
                break response;
            }
            let headers = response.headers().clone();
            let body = http::error_body(response).await;
            let sent_format = response_format(&request, mode).is_some();
            if sent_format
                && refuses_response_format(status, &body)
                && let Some(next) = mode.laxer()
            {
                tracing::info!(provider = %name, model = %request.model, refused = mode.id(), next = next.id(),
                    "the server refused this response format; using the next one for this model from now on");
                self.learn(&request.model, next);
                mode = next;
                continue;
            }
            return Err(http::status_error(
                &name,
                status,
                &headers,
                &body,
                key.as_ref(),
            ));
        };
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
        let body = p.body(
            &ChatRequest {
                model: "anthropic/claude-sonnet-4.5".into(),
                messages: vec![Message::system("s"), Message::user("u")],
                temperature: Some(0.0),
                max_tokens: Some(100),
                json_mode: true,
                schema: None,
                phase: Phase::Analyst,
            },
            StructuredMode::JsonSchema,
        );
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["usage"]["include"], true);
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(!format!("{p:?}").contains("k-123"));
        let request = ChatRequest {
            model: "anthropic/claude-sonnet-4.5".into(),
            messages: vec![Message::system("s"), Message::user("u")],
            temperature: None,
            max_tokens: None,
            json_mode: true,
            schema: None,
            phase: Phase::Validator,
        };
        let hour = p.prompt_cache(PromptCacheTtl::OneHour);
        let body = hour.body(&request, StructuredMode::JsonSchema);
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            json!({"type": "ephemeral", "ttl": "1h"})
        );
        let other = ChatRequest {
            model: "deepseek/deepseek-chat".into(),
            ..request
        };
        let body = hour.body(&other, StructuredMode::JsonSchema);
        assert!(
            body["messages"][0]["content"].is_string(),
            "only Anthropic routes take markers"
        );
    }

    #[test]
    fn each_mode_asks_for_its_response_format() {
        let p = OpenAiCompatible::new("local", "http://127.0.0.1:1/v1", None).unwrap();
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![Message::system("s"), Message::user("u")],
            temperature: None,
            max_tokens: None,
            json_mode: true,
            schema: Some(ResponseSchema {
                name: "plan".into(),
                schema: schema.clone(),
                stable: None,
            }),
            phase: Phase::Analyst,
        };
        let b = p.body(&request, StructuredMode::JsonSchema);
        assert_eq!(b["response_format"]["type"], "json_schema");
        assert_eq!(b["response_format"]["json_schema"]["strict"], true);
        assert_eq!(b["response_format"]["json_schema"]["schema"], schema);
        assert_eq!(
            b["messages"][0]["content"], "s",
            "no cache marker outside OpenRouter's Anthropic models"
        );
        let b = p.body(&request, StructuredMode::JsonObjectSchema);
        assert_eq!(
            b["response_format"],
            json!({"type": "json_object", "schema": schema})
        );
        let b = p.body(&request, StructuredMode::JsonObject);
        assert_eq!(b["response_format"], json!({"type": "json_object"}));
        assert!(
            p.body(&request, StructuredMode::Plain)
                .get("response_format")
                .is_none()
        );
        assert!(refuses_response_format(
            400,
            r#"{"error":{"message":"Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."}}"#
        ));
        assert!(refuses_response_format(
            422,
            r#"{"detail":[{"loc":["body","response_format","type"],"msg":"Input should be 'text' or 'json_object'"}]}"#
        ));
        assert!(!refuses_response_format(
            400,
            r#"{"error":{"message":"maximum context length exceeded"}}"#
        ));
        assert!(refuses_response_format(
            500,
            r#"{"error":{"message":"1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type')}"}}"#
        ));
        assert!(!refuses_response_format(
            500,
            "internal error while sampling"
        ));
        assert!(!refuses_response_format(503, "response_format"));
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
        // DeepSeek names its cache hits apart; OpenRouter reports cache writes.
        let c = chunks(
            "x",
            r#"{"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":50,"prompt_cache_hit_tokens":640,"prompt_cache_miss_tokens":360}}"#,
            None,
        )
        .unwrap();
        let ChatChunk::Usage { usage } = &c[0] else {
            panic!()
        };
        assert_eq!((usage.input_tokens, usage.cached_input_tokens), (1000, 640));
        let c = chunks(
            "x",
            r#"{"choices":[],"usage":{"prompt_tokens":1500,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":1200}}}"#,
            None,
        )
        .unwrap();
        let ChatChunk::Usage { usage } = &c[0] else {
            panic!()
        };
        assert_eq!(
            (usage.cache_write_tokens, usage.cached_input_tokens),
            (1200, 0)
        );
        let e = chunks("x", r#"{"error":{"message":"overloaded"}}"#, None).unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("overloaded"));
        assert!(chunks("x", "{truncated", None).is_err());
    }
}
