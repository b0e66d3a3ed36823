//! A circuit breaker per provider: after N consecutive failed calls it refuses calls for a cool-down, then lets one
//! probe through; the probe's outcome closes or reopens it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, stream};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::provider::{ChatRequest, ChatStream, Provider};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The breaker's state as a host can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    threshold: u32,
    cool_down: Duration,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value, valid whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, ok: bool) {
        let mut s = self.lock();
        *s = match (*s, ok) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (_, false) => State::Open {
                until: Instant::now() + self.cool_down,
            },
        };
    }

    /// A probe that ended without an outcome (the caller dropped it): let another one through.
    fn abandon(&self) {
        let mut s = self.lock();
        if *s == (State::HalfOpen { probing: true }) {
            *s = State::HalfOpen { probing: false };
        }
    }
}

/// Refuses calls while the provider is failing, so a fallback answers at once instead of after timeouts.
#[derive(Debug)]
pub struct CircuitBreaker {
    inner: Arc<dyn Provider>,
    shared: Arc<Shared>,
}

impl CircuitBreaker {
    /// Opens after `threshold` consecutive failures of `inner` and refuses calls for `cool_down`.
    pub fn new(inner: Arc<dyn Provider>, threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            inner,
            shared: Arc::new(Shared {
                state: Mutex::new(State::Closed { failures: 0 }),
                threshold: threshold.max(1),
                cool_down,
            }),
        }
    }

    /// Whether the breaker is closed, open or half-open.
    pub fn state(&self) -> BreakerState {
        match *self.shared.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// Records the call's outcome when the stream ends, or abandons the probe when it is dropped first.
struct Outcome {
    shared: Arc<Shared>,
    recorded: bool,
}

impl Outcome {
    fn record(&mut self, ok: bool) {
        if !self.recorded {
            self.recorded = true;
            self.shared.record(ok);
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        if !self.recorded {
            self.shared.abandon();
        }
    }
}

#[async_trait::async_trait]
impl Provider for CircuitBreaker {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        {
            let mut s = self.shared.lock();
            match *s {
                State::Closed { .. } => {}
                State::Open { until } if Instant::now() >= until => {
                    *s = State::HalfOpen { probing: true };
                }
                State::HalfOpen { probing: false } => *s = State::HalfOpen { probing: true },
                State::Open { .. } | State::HalfOpen { probing: true } => {
                    return Err(Error::provider(
                        self.inner.name(),
                        "circuit open after repeated failures; not calling the provider",
                        false,
                    ));
                }
            }
        }
        let mut outcome = Outcome {
            shared: Arc::clone(&self.shared),
            recorded: false,
        };
        let inner = match self.inner.chat(request).await {
            Ok(s) => s,
            Err(e) => {
                outcome.record(false);
                return Err(e);
            }
        };
        let s = stream::unfold((inner, outcome), |(mut inner, mut outcome)| async move {
            match inner.next().await {
                Some(Ok(chunk)) => Some((Ok(chunk), (inner, outcome))),
                Some(Err(e)) => {
                    outcome.record(false);
                    Some((Err(e), (inner, outcome)))
                }
                None => {
                    outcome.record(true);
                    None
                }
            }
        });
        Ok(Box::pin(s))
    }
}
