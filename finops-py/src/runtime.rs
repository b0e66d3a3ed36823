//! Python awaitables backed by Rust futures, counted so the interpreter's exit can wait for them.
//!
//! pyo3-async-runtimes completes a Python future from a tokio thread that takes the GIL. If the interpreter starts
//! finalizing meanwhile (a script's last `await` returned and it exits), CPython 3.11 kills that thread while it
//! holds the GIL: the process aborts or segfaults after the program's work is done
//! (PyO3/pyo3-async-runtimes#40). The package registers [`drain_at_exit`] with `atexit`: it waits, without the
//! GIL, for every Rust future still running (they end soon after asyncio cancels them) and then for the
//! completions in progress.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use pyo3::prelude::*;
use std::panic::AssertUnwindSafe;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static USED: AtomicBool = AtomicBool::new(false);

/// One Rust future behind a Python awaitable, counted until it ends or is dropped.
struct Flight;

impl Flight {
    fn start() -> Self {
        USED.store(true, Ordering::Relaxed);
        IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        Flight
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `pyo3_async_runtimes::tokio::future_into_py`, counted; a panic in the future raises `finops.InternalError`
/// (not pyo3's `PanicException`, which `except Exception` does not catch).
pub(crate) fn future_into_py<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let flight = Flight::start();
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let _flight = flight;
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(internal(panic)),
        }
    })
}

/// Runs a synchronous entry point's body; a panic raises `finops.InternalError` instead of `PanicException`.
pub(crate) fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(internal(panic)))
}

fn internal(panic: Box<dyn std::any::Any + Send>) -> PyErr {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    crate::errors::to_py(finops_core::Error::Internal(format!(
        "finops panicked (a bug; please report it): {what}"
    )))
}

/// Raises a panic inside finops, synchronously or in a future: the tests check it arrives as `InternalError`.
#[pyfunction]
pub(crate) fn _panic_for_tests(py: Python<'_>, asynchronous: bool) -> PyResult<Py<PyAny>> {
    fn boom() -> PyResult<()> {
        let empty: Vec<u8> = Vec::new();
        // An out-of-bounds index, as a bug in finops would.
        let _ = empty[std::hint::black_box(0)];
        Ok(())
    }
    if asynchronous {
        Ok(future_into_py(py, async move { boom() })?.unbind())
    } else {
        guard(boom).map(|()| py.None())
    }
}

/// Called by `atexit`: waits (at most 2 s, without the GIL) for the Rust futures still running, then briefly for
/// the threads completing their Python futures.
#[pyfunction]
pub(crate) fn drain_at_exit(py: Python<'_>) {
    if !USED.load(Ordering::Relaxed) {
        return;
    }
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while IN_FLIGHT.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
    });
}
