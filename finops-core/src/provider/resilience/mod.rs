//! Resilience, composed as layers around any [`Provider`] (an HTTP one or one a host wrote in Python): timeouts,
//! retries with backoff that honour `Retry-After`, a circuit breaker, and a fallback chain. Each layer is itself a
//! `Provider`, and a failure anywhere in a stream — before the first byte, mid-answer, or an error event inside a
//! 200 answer — reaches the layers above like any other failure. When a layer tries again it first sends a
//! [`ChatChunk::Retry`](super::ChatChunk::Retry) or [`ChatChunk::Fallback`](super::ChatChunk::Fallback) so the consumer discards the partial text.
//!
//! ```
//! use std::sync::Arc;
//! use finops_core::provider::{Phase, ScriptedProvider, resilience::{Resilience, layered}};
//! let primary = Arc::new(ScriptedProvider::new().named("primary"));
//! let provider = layered(primary, &Resilience::default());
//! assert_eq!(provider.name(), "primary");
//! ```

mod breaker;
mod fallback;
mod retry;
mod timeout;

use std::sync::Arc;
use std::time::Duration;

pub use breaker::CircuitBreaker;
pub use fallback::Fallback;
pub use retry::{Retry, RetryPolicy};
pub use timeout::Timeout;

use super::Provider;

/// The layers' settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Resilience {
    /// Until the first chunk of an answer arrives.
    pub first_chunk_timeout: Duration,
    /// The whole answer.
    pub total_timeout: Duration,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
    /// Consecutive failed calls that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit refuses calls before one probe is let through.
    pub breaker_cool_down: Duration,
}

impl Default for Resilience {
    fn default() -> Self {
        Resilience {
            first_chunk_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(30),
        }
    }
}

/// `Retry(CircuitBreaker(Timeout(provider)))`: each attempt is timed, counts for the breaker, and is retried if
/// it failed in a retryable way. Wrap several of these in a [`Fallback`] for a chain.
pub fn layered(provider: Arc<dyn Provider>, options: &Resilience) -> Arc<dyn Provider> {
    let timed = Arc::new(Timeout::new(
        provider,
        options.first_chunk_timeout,
        options.total_timeout,
    ));
    let guarded = Arc::new(CircuitBreaker::new(
        timed,
        options.breaker_threshold,
        options.breaker_cool_down,
    ));
    Arc::new(Retry::new(guarded, options.retry.clone()))
}

#[cfg(test)]
mod tests;
