//! First-chunk and total timeouts around any provider.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::provider::{ChatRequest, ChatStream, Provider};

/// Fails a call whose first chunk takes longer than `first_chunk`, or whose whole answer takes longer than `total`.
#[derive(Debug)]
pub struct Timeout {
    inner: Arc<dyn Provider>,
    first_chunk: Duration,
    total: Duration,
}

impl Timeout {
    /// Limits `inner`'s wait for the first piece of an answer and for the whole answer.
    pub fn new(inner: Arc<dyn Provider>, first_chunk: Duration, total: Duration) -> Self {
        Timeout {
            inner,
            first_chunk,
            total,
        }
    }
}

#[async_trait::async_trait]
impl Provider for Timeout {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let name = self.inner.name().to_string();
        let start = Instant::now();
        let deadline = start + self.total;
        let first_deadline = (start + self.first_chunk).min(deadline);
        let timed_out = |what: &str, after: Duration| {
            Error::provider(
                &name,
                format!("{what} timed out after {} ms", after.as_millis()),
                true,
            )
        };
        let inner = match tokio::time::timeout_at(first_deadline, self.inner.chat(request)).await {
            Ok(r) => r?,
            Err(_) => return Err(timed_out("waiting for the answer", self.first_chunk)),
        };
        let (first, total) = (self.first_chunk, self.total);
        let s = stream::unfold(
            (inner, true, false),
            move |(mut inner, first_pending, done)| {
                let name = name.clone();
                async move {
                    if done {
                        return None;
                    }
                    let (until, limit, what) = if first_pending {
                        (first_deadline, first, "waiting for the first chunk")
                    } else {
                        (deadline, total, "the answer")
                    };
                    match tokio::time::timeout_at(until, inner.next()).await {
                        Ok(Some(item)) => {
                            let failed = item.is_err();
                            Some((item, (inner, false, failed)))
                        }
                        Ok(None) => None,
                        Err(_) => Some((
                            Err(Error::provider(
                                &name,
                                format!("{what} timed out after {} ms", limit.as_millis()),
                                true,
                            )),
                            (inner, false, true),
                        )),
                    }
                }
            },
        );
        Ok(Box::pin(s))
    }
}
