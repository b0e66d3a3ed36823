//! The SDK's own tokio runtime and the handle of a streamed analysis.

use super::*;

pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, FinopsError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("finops")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FinopsError::Internal {
            detail: format!("cannot start the runtime: {e}"),
        })
}

/// A streamed analysis running in the background. `cancel()` (or dropping the handle) stops it.
#[derive(uniffi::Object)]
pub struct AnalysisTask {
    pub(crate) handle: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[uniffi::export]
impl AnalysisTask {
    /// Stops the analysis; no event follows except those already delivered.
    pub fn cancel(&self) {
        if let Some(h) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
    }

    /// Whether the analysis has finished (completed, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_none_or(|h| h.is_finished())
    }
}

impl Drop for AnalysisTask {
    fn drop(&mut self) {
        self.cancel();
    }
}
