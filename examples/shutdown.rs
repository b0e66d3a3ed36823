//! A graceful stop for the example processes (`worker`, `finops-server`).

use finops_core::Error;

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called (first thing in `run`), so a
/// SIGTERM that arrives while the process is still starting stops it gracefully too.
pub fn shutdown() -> Result<impl std::future::Future<Output = ()>, Error> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::Internal(format!("cannot watch SIGTERM: {e}")))?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
