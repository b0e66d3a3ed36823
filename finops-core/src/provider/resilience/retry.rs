//! Retries with exponential backoff and full jitter, honouring `Retry-After`; only retryable failures.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream};

use crate::error::{Error, Result};
use crate::provider::{ChatChunk, ChatRequest, ChatStream, Provider};

/// How many times to try again, and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The backoff's first step; attempt n waits a random time in `[0, min(max_backoff, base * 2^n))`.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// A server asking to wait longer than this is not retried (the fallback chain moves on instead).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based), or `None` when the error must not be retried.
    pub fn delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if attempt > self.max_retries || !error.is_retryable() {
            return None;
        }
        if let Error::Provider {
            retry_after: Some(wait),
            ..
        } = error
        {
            return (*wait <= self.max_retry_after).then_some(*wait);
        }
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_backoff);
        let nanos = u64::try_from(exp.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(fastrand::u64(0..=nanos)))
    }
}

/// Tries a call again when it fails in a retryable way (connection errors, timeouts, 408/409/429/5xx, a broken or
/// erroring stream). A 400, 401 or 403 fails at once.
#[derive(Debug)]
pub struct Retry {
    inner: Arc<dyn Provider>,
    policy: RetryPolicy,
}

impl Retry {
    /// Retries `inner`'s retryable failures as `policy` says.
    pub fn new(inner: Arc<dyn Provider>, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }
}

struct State {
    inner: Arc<dyn Provider>,
    policy: RetryPolicy,
    request: ChatRequest,
    current: Option<ChatStream>,
    attempt: u32,
    wait: Option<Duration>,
    done: bool,
}

impl State {
    /// What to do with a failure: announce a retry (and wait before the next attempt) or give up.
    fn fail(mut self, error: Error) -> Option<(Result<ChatChunk>, State)> {
        self.current = None;
        match self.policy.delay(self.attempt + 1, &error) {
            Some(wait) => {
                self.attempt += 1;
                self.wait = Some(wait);
                let chunk = ChatChunk::Retry {
                    attempt: self.attempt,
                    reason: error.to_string(),
                };
                Some((Ok(chunk), self))
            }
            None => {
                self.done = true;
                Some((Err(error), self))
            }
        }
    }
}

#[async_trait::async_trait]
impl Provider for Retry {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let state = State {
            inner: Arc::clone(&self.inner),
            policy: self.policy.clone(),
            request,
            current: None,
            attempt: 0,
            wait: None,
            done: false,
        };
        let s = stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            if st.current.is_none() {
                if let Some(wait) = st.wait.take() {
                    tokio::time::sleep(wait).await;
                }
                match st.inner.chat(st.request.clone()).await {
                    Ok(s) => st.current = Some(s),
                    Err(e) => return st.fail(e),
                }
            }
            let next = match st.current.as_mut() {
                Some(s) => s.next().await,
                None => None,
            };
            match next {
                Some(Ok(chunk)) => Some((Ok(chunk), st)),
                Some(Err(e)) => st.fail(e),
                None => None,
            }
        });
        Ok(Box::pin(s))
    }
}
