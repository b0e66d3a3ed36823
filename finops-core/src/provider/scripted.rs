//! A provider that replays scripted answers: the test double of every pipeline test, public so hosts can test
//! their own integration without a model.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use futures::stream;

use super::{ChatChunk, ChatRequest, ChatStream, Phase, Provider, TokenUsage};
use crate::error::{Error, Result};

/// One scripted answer: text (streamed in pieces) with its usage, or an error.
#[derive(Debug, Clone)]
pub enum ScriptedReply {
    /// An answer.
    Text {
        /// Streamed as one delta per piece.
        pieces: Vec<String>,
        /// The usage reported after the last piece.
        usage: TokenUsage,
    },
    /// The call fails with this error before any text.
    Fail(Error),
    /// Streams these pieces, then fails: an answer that breaks mid-way.
    Broken {
        /// The text streamed before the failure.
        pieces: Vec<String>,
        /// The failure.
        error: Error,
    },
}

impl ScriptedReply {
    /// A text answer streamed in pieces of about `size` characters, with the given token counts.
    pub fn text(text: impl Into<String>, input_tokens: u64, output_tokens: u64) -> Self {
        let text = text.into();
        let mut pieces = Vec::new();
        let mut piece = String::new();
        for c in text.chars() {
            piece.push(c);
            if piece.len() >= 32 {
                pieces.push(std::mem::take(&mut piece));
            }
        }
        if !piece.is_empty() || pieces.is_empty() {
            pieces.push(piece);
        }
        ScriptedReply::Text {
            pieces,
            usage: TokenUsage {
                input_tokens,
                output_tokens,
                ..TokenUsage::default()
            },
        }
    }
}

#[derive(Debug, Default)]
struct Script {
    replies: HashMap<Phase, VecDeque<ScriptedReply>>,
    requests: Vec<ChatRequest>,
}

/// Replays queued answers per phase, in order. A call with nothing left in its phase's queue fails with a
/// non-retryable [`Error::Provider`], so a test never hangs on a missing answer.
///
/// ```
/// use finops_core::provider::{Phase, ScriptedProvider};
/// let provider = ScriptedProvider::new()
///     .reply(Phase::Analyst, r#"{"intent":"profitability","metrics":["gross_margin"],"periods":[]}"#)
///     .latency(std::time::Duration::from_millis(5));
/// assert_eq!(provider.remaining(Phase::Analyst), 1);
/// ```
#[derive(Debug, Default)]
pub struct ScriptedProvider {
    script: Mutex<Script>,
    latency: Duration,
    name: String,
}

impl ScriptedProvider {
    /// A provider with no answers queued (queue them with `reply` and `fail`).
    pub fn new() -> Self {
        ScriptedProvider {
            name: "scripted".into(),
            ..Self::default()
        }
    }

    /// Names the provider in usage records (default `scripted`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Queues a text answer for a phase (usage: 100 input and 50 output tokens).
    pub fn reply(self, phase: Phase, text: impl Into<String>) -> Self {
        self.push(phase, ScriptedReply::text(text, 100, 50))
    }

    /// Queues an error for a phase.
    pub fn fail(self, phase: Phase, error: Error) -> Self {
        self.push(phase, ScriptedReply::Fail(error))
    }

    /// Queues any reply for a phase.
    pub fn push(self, phase: Phase, reply: ScriptedReply) -> Self {
        self.lock()
            .replies
            .entry(phase)
            .or_default()
            .push_back(reply);
        self
    }

    /// Queues a reply without consuming the provider (for hosts that hold it behind a shared reference).
    pub fn enqueue(&self, phase: Phase, reply: ScriptedReply) {
        self.lock()
            .replies
            .entry(phase)
            .or_default()
            .push_back(reply);
    }

    /// Waits this long before answering each call.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Replies still queued for a phase.
    pub fn remaining(&self, phase: Phase) -> usize {
        self.lock().replies.get(&phase).map_or(0, VecDeque::len)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        // A poisoned lock only means another test thread panicked; the script itself is still consistent.
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let phase = request.phase;
        let reply = {
            let mut script = self.lock();
            script.requests.push(request);
            script.replies.get_mut(&phase).and_then(VecDeque::pop_front)
        };
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        match reply {
            None => Err(Error::provider(
                &self.name,
                format!("no scripted reply left for the {phase} phase"),
                false,
            )),
            Some(ScriptedReply::Fail(e)) => Err(e),
            Some(ScriptedReply::Broken { pieces, error }) => {
                let chunks = pieces
                    .into_iter()
                    .map(|text| Ok(ChatChunk::Delta { text }))
                    .chain(std::iter::once(Err(error)));
                Ok(Box::pin(stream::iter(chunks)))
            }
            Some(ScriptedReply::Text { pieces, usage }) => {
                let chunks = pieces
                    .into_iter()
                    .map(|text| Ok(ChatChunk::Delta { text }))
                    .chain(std::iter::once(Ok(ChatChunk::Usage { usage })));
                Ok(Box::pin(stream::iter(chunks)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, collect};

    fn request(phase: Phase) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::user("hi")],
            temperature: None,
            max_tokens: None,
            json_mode: false,
            schema: None,
            phase,
        }
    }

    #[tokio::test]
    async fn replays_in_order_per_phase_and_fails_when_empty() {
        let p = ScriptedProvider::new()
            .reply(Phase::Analyst, "a1")
            .reply(Phase::Researcher, "r1")
            .push(Phase::Analyst, ScriptedReply::text("x".repeat(70), 7, 3));
        let r = collect(p.chat(request(Phase::Researcher)).await.unwrap(), |_| {})
            .await
            .unwrap();
        assert_eq!(r.text, "r1");
        let r = collect(p.chat(request(Phase::Analyst)).await.unwrap(), |_| {})
            .await
            .unwrap();
        assert_eq!(r.text, "a1");
        let mut deltas = 0;
        let r = collect(p.chat(request(Phase::Analyst)).await.unwrap(), |c| {
            if matches!(c, crate::provider::ChatChunk::Delta { .. }) {
                deltas += 1;
            }
        })
        .await
        .unwrap();
        assert_eq!((r.text.len(), deltas), (70, 3));
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (7, 3));
        let e = p.chat(request(Phase::Analyst)).await.err().unwrap();
        assert_eq!(e.code(), "provider");
        assert_eq!(p.requests().len(), 4);
    }

    #[tokio::test]
    async fn injected_errors_are_returned() {
        let p =
            ScriptedProvider::new().fail(Phase::Validator, Error::provider("x", "HTTP 503", true));
        let e = p.chat(request(Phase::Validator)).await.err().unwrap();
        assert!(matches!(
            e,
            Error::Provider {
                retryable: true,
                ..
            }
        ));
    }
}
