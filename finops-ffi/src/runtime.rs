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

/// Runs an exported function's body; a panic (a bug in finops) becomes `FinopsError.Internal` instead of uniffi's
/// generic `InternalException`, so a host's handling of finops errors covers it.
pub(crate) fn guard<T>(body: impl FnOnce() -> Result<T, FinopsError>) -> Result<T, FinopsError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|p| Err(panicked(p)))
}

/// [`guard`] for an async function.
pub(crate) async fn guard_async<T>(
    body: impl std::future::Future<Output = Result<T, FinopsError>>,
) -> Result<T, FinopsError> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(body)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(panicked(p)))
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> FinopsError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    FinopsError::Internal {
        detail: format!("finops panicked (a bug; please report it): {what}"),
    }
}

/// Panics inside finops, synchronously or not: the Kotlin tests check it arrives as `FinopsException.Internal`.
#[uniffi::export]
pub fn panic_for_tests() -> Result<(), FinopsError> {
    guard(boom)
}

/// The same, in a suspending call.
#[uniffi::export]
pub async fn panic_for_tests_async() -> Result<(), FinopsError> {
    guard_async(async { boom() }).await
}

fn boom() -> Result<(), FinopsError> {
    let empty: Vec<u8> = Vec::new();
    // An out-of-bounds index, as a bug in finops would.
    let _ = empty[std::hint::black_box(0)];
    Ok(())
}
