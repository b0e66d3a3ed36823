//! Language model providers: the [`Provider`] trait every backend implements (HTTP providers, the scripted test
//! double, and providers written by a host in Python, JavaScript or Kotlin through the bindings).
//!
//! The trait is object-safe (`Arc<dyn Provider>`) and deliberately small: one streamed chat call. Retries, timeouts
//! and fallbacks are composed around providers, never inside them.

#[cfg(feature = "http-providers")]
pub mod anthropic;
mod host;
pub mod http;
#[cfg(feature = "http-providers")]
pub mod openai_compat;
pub mod pricing;
pub mod resilience;
mod scripted;

use std::fmt;
use std::pin::Pin;

use futures::{Stream, StreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[cfg(feature = "http-providers")]
pub use anthropic::Anthropic;
pub use host::host_answer;
pub use http::{ApiKey, HttpOptions};
#[cfg(feature = "http-providers")]
pub use openai_compat::{OpenAiCompatible, StructuredMode};
pub use pricing::{ModelPrice, PriceTable, UnpricedPolicy};
pub use scripted::{ScriptedProvider, ScriptedReply};

/// The phases are part of the contracts; re-exported here where providers are chosen per phase.
pub use crate::analysis::Phase;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions: the phase's prompt.
    System,
    /// The request: the statements' figures and the question.
    User,
    /// An earlier answer of the model (for a repair request).
    Assistant,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message (an earlier answer).
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model as the provider names it, e.g. `anthropic/claude-sonnet-4.5`.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Sampling temperature, when the phase sets one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub temperature: Option<f32>,
    /// The most output tokens the answer may use (the phase's budget).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_tokens: Option<u32>,
    /// Ask the provider for a JSON object (servers that cannot are still parsed and repaired by the pipeline).
    #[serde(default)]
    pub json_mode: bool,
    /// The JSON Schema the answer must follow, when the caller has one: sent as structured outputs
    /// (`response_format: json_schema`) to OpenAI-compatible servers, as a forced tool call to Anthropic, and
    /// learned down to `json_object` on a server that refuses it. Implies `json_mode`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<ResponseSchema>,
    /// The pipeline phase that makes the call (a provider may route or log by it).
    pub phase: Phase,
}

/// A JSON Schema an answer must follow, with the name providers show for it (`^[a-zA-Z0-9_-]{1,64}$`).
///
/// The schema is "strict" in OpenAI's sense: every object lists all its properties as required and allows no
/// others, so a server that enforces it can only produce answers of that shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSchema {
    /// The schema's name (`analyst_plan`, …), as OpenAI's `json_schema.name` and Anthropic's tool name.
    pub name: String,
    /// The JSON Schema (draft 2020-12).
    pub schema: serde_json::Value,
    /// The same answer's schema before it was narrowed to this request (no document's ids in it): the same for
    /// every request of a phase. A provider that caches the prompt prefix together with its tools (Anthropic) sends
    /// this one, so the prefix stays the same from one analysis to the next; the pipeline still checks every answer
    /// against the request. `None`: `schema` is sent everywhere.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stable: Option<serde_json::Value>,
}

/// How long a provider keeps a prompt prefix marked for caching (Anthropic's `cache_control`, also through
/// OpenRouter). A five-minute entry costs 1.25× the input price to write, an hour's 2×; a read costs 0.1×. Five
/// minutes pays when the same phase runs again within minutes (a busy firm); an hour, when questions come a few
/// times an hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptCacheTtl {
    /// Five minutes, refreshed on each read (the providers' default).
    #[default]
    #[serde(alias = "5m")]
    FiveMinutes,
    /// One hour, refreshed on each read.
    #[serde(alias = "1h")]
    OneHour,
}

impl PromptCacheTtl {
    /// The `cache_control` marker of a cached block.
    pub fn marker(self) -> serde_json::Value {
        match self {
            PromptCacheTtl::FiveMinutes => serde_json::json!({"type": "ephemeral"}),
            PromptCacheTtl::OneHour => serde_json::json!({"type": "ephemeral", "ttl": "1h"}),
        }
    }

    /// Parses `5m` or `1h` (a host's configuration).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "5m" => Some(PromptCacheTtl::FiveMinutes),
            "1h" => Some(PromptCacheTtl::OneHour),
            _ => None,
        }
    }
}

/// Tokens used by one call (or summed over several), and the cost the provider reported when it did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Every input token, prompt-cache reads and writes included.
    pub input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache (part of `input_tokens`).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache (part of `input_tokens`; Anthropic bills them above
    /// the input price).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Of `cache_write_tokens`, those written for an hour (Anthropic bills them at 2× the input price, five-minute
    /// writes at 1.25×).
    #[serde(default)]
    pub cache_write_1h_tokens: u64,
    /// Output tokens spent on reasoning before the answer, when the provider reports them.
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Cost in USD as reported by the provider (OpenRouter does), preferred over a price table.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_usd: Option<Decimal>,
}

impl TokenUsage {
    /// Adds another usage's token counts (not its cost).
    pub fn add_tokens(&mut self, other: &TokenUsage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.cache_write_1h_tokens = self
            .cache_write_1h_tokens
            .saturating_add(other.cache_write_1h_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
    }

    /// Adds another call's usage. A summed cost is known only if every part's cost was.
    pub fn add(&mut self, other: &TokenUsage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.cache_write_1h_tokens = self
            .cache_write_1h_tokens
            .saturating_add(other.cache_write_1h_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
    }
}

/// One piece of a streamed chat response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatChunk {
    /// The next piece of the answer's text.
    Delta {
        /// The text received since the last piece.
        text: String,
    },
    /// Token usage for the call, usually sent once at the end.
    Usage {
        /// The call's tokens (and cost, when the provider reports it).
        usage: TokenUsage,
    },
    /// A resilience layer is trying again after a failure: discard the text received so far.
    Retry {
        /// The attempt about to be made (2 for the first retry).
        attempt: u32,
        /// Why the previous attempt failed.
        reason: String,
    },
    /// A fallback layer moved to the next provider: discard the text received so far.
    Fallback {
        /// The provider that failed.
        from: String,
        /// The provider asked next.
        to: String,
        /// The model the next provider is asked for.
        model: String,
        /// Why the previous provider failed.
        reason: String,
    },
}

/// A streamed chat response. Dropping it cancels the call.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatChunk>> + Send>>;

/// A chat completion backend.
///
/// Implementations must be cheap to share (`Arc<dyn Provider>`) and safe to call concurrently.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// A short name for usage records and errors, e.g. `openrouter` or `scripted`.
    fn name(&self) -> &str;

    /// Starts a chat completion and streams its answer.
    async fn chat(&self, request: ChatRequest) -> Result<ChatStream>;
}

/// The longest answer a phase takes (far above what its output budget allows): a provider streaming without end
/// fails the call instead of filling memory.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A stream of one whole answer (and its usage, when known): what a provider that does not stream returns, e.g.
/// one written in a host language.
pub fn whole_answer(text: String, usage: Option<TokenUsage>) -> ChatStream {
    let mut chunks = vec![Ok(ChatChunk::Delta { text })];
    if let Some(usage) = usage {
        chunks.push(Ok(ChatChunk::Usage { usage }));
    }
    Box::pin(futures::stream::iter(chunks))
}

/// A whole chat answer, collected from a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatResponse {
    /// The final attempt's text (text from attempts that failed is discarded).
    pub text: String,
    /// Usage summed over every attempt (failed attempts may still be billed).
    pub usage: TokenUsage,
    /// How many times a layer retried.
    pub retries: u32,
    /// How many times a layer fell back to another provider.
    pub fallbacks: u32,
    /// The provider and model that gave the answer, when a fallback changed them.
    pub served_by: Option<(String, String)>,
}

/// Reads a chat stream to its end, calling `on_chunk` with each chunk as it arrives (text deltas, usage, retries,
/// fallbacks). A stream that fails returns the error: its partial text is never returned as an answer.
pub async fn collect(
    mut stream: ChatStream,
    mut on_chunk: impl FnMut(&ChatChunk),
) -> Result<ChatResponse> {
    let mut response = ChatResponse::default();
    let mut total: Option<TokenUsage> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        on_chunk(&chunk);
        match chunk {
            ChatChunk::Delta { text } => {
                if response.text.len().saturating_add(text.len()) > MAX_ANSWER_BYTES {
                    return Err(Error::provider(
                        "answer",
                        format!(
                            "the model's answer passed {MAX_ANSWER_BYTES} bytes; no phase's answer is that long"
                        ),
                        false,
                    ));
                }
                response.text.push_str(&text)
            }
            ChatChunk::Usage { usage } => match &mut total {
                Some(t) => t.add(&usage),
                None => total = Some(usage),
            },
            ChatChunk::Retry { .. } => {
                response.text.clear();
                response.retries += 1;
            }
            ChatChunk::Fallback { to, model, .. } => {
                response.text.clear();
                response.fallbacks += 1;
                response.served_by = Some((to, model));
            }
        }
    }
    response.usage = total.unwrap_or_default();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_answer_fails_instead_of_filling_memory() {
        let piece = "x".repeat(64 * 1024);
        let chunks = (0..(MAX_ANSWER_BYTES / piece.len() + 2)).map(|_| {
            Ok(ChatChunk::Delta {
                text: piece.clone(),
            })
        });
        let stream: ChatStream = Box::pin(futures::stream::iter(chunks.collect::<Vec<_>>()));
        let e = futures::executor::block_on(collect(stream, |_| {})).unwrap_err();
        assert!(e.to_string().contains("passed"), "{e}");
        let fine: ChatStream = Box::pin(futures::stream::iter(vec![Ok(ChatChunk::Delta {
            text: piece.clone(),
        })]));
        assert_eq!(
            futures::executor::block_on(collect(fine, |_| {}))
                .unwrap()
                .text
                .len(),
            piece.len()
        );
    }

    #[test]
    fn phases_parse_and_refuse_unknown_names() {
        for p in Phase::ALL {
            assert_eq!(p.id().parse::<Phase>().ok(), Some(p));
        }
        let e = "planner".parse::<Phase>().unwrap_err();
        assert_eq!(e.field(), Some("phase"));
    }

    #[test]
    fn usage_sums_and_cost_is_known_only_when_every_part_is() {
        let mut a = TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: Some(Decimal::new(1, 3)),
            ..TokenUsage::default()
        };
        a.add(&TokenUsage {
            input_tokens: 1,
            output_tokens: 2,
            cost_usd: Some(Decimal::new(2, 3)),
            ..TokenUsage::default()
        });
        assert_eq!((a.input_tokens, a.output_tokens), (11, 7));
        assert_eq!(a.cost_usd, Some(Decimal::new(3, 3)));
        a.add(&TokenUsage::default());
        assert_eq!(a.cost_usd, None);
    }
}
