//! Cancellation tokens (an AbortSignal in `index.js`) and the stream of an analysis's events.

use crate::*;

/// Cancels a running analysis (`index.js` wires an AbortSignal to it).
#[napi]
pub struct CancelToken {
    pub(crate) tx: tokio::sync::watch::Sender<bool>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl CancelToken {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        CancelToken {
            tx: tokio::sync::watch::channel(false).0,
        }
    }

    #[napi(catch_unwind)]
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

pub(crate) async fn cancelled(mut rx: tokio::sync::watch::Receiver<bool>) {
    // An error means the token is gone: never cancelled.
    if rx.wait_for(|c| *c).await.is_err() {
        futures::future::pending::<()>().await;
    }
}

/// The events of one analysis: `next()` resolves to the next event as JSON, or null at the end. Its token
/// (an AbortSignal in `index.js`) cancels it: a pending `next()` rejects with `Cancelled` and the work stops.
#[napi]
pub struct NativeEventStream {
    pub(crate) inner: Arc<tokio::sync::Mutex<Option<EventStream>>>,
    pub(crate) cancel: tokio::sync::watch::Receiver<bool>,
}

#[napi]
impl NativeEventStream {
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let mut guard = self.inner.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        tokio::select! {
            event = stream.next() => event.map(|e| to_json(&e)).transpose(),
            () = cancelled(self.cancel.clone()) => {
                guard.take();
                Err(js_error(&Error::Cancelled))
            }
        }
    }

    /// Drops the analysis now (breaking out of `for await` calls this), instead of when JS collects the object.
    #[napi]
    pub async fn close(&self) {
        self.inner.lock().await.take();
    }
}
