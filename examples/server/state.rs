//! What every handler shares: the queue jobs go through, the vault results and reviews live in, authentication,
//! metrics and limits.

use std::sync::Arc;

use finops_core::queue::Queue;
use finops_core::store::Vault;

use crate::auth::Auth;
use crate::telemetry::Metrics;

/// The server's shared state.
#[derive(Debug)]
pub struct AppState {
    /// Where analyses wait for a worker (this process's or another's).
    pub queue: Arc<dyn Queue>,
    /// Results, reviews, audit trail and keys.
    pub vault: Arc<Vault>,
    /// Tokens and rate limits.
    pub auth: Auth,
    /// What `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Open event streams allowed at once (a stream past it gets 503).
    pub max_streams: usize,
}
