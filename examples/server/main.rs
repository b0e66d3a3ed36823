//! `finops-server`: the reference host. A REST API with live event streams (server-sent events and WebSocket),
//! JWT roles and tenant scoping, review and sign-off, audit export and erasure, OpenAPI, Prometheus metrics, and
//! a web page for CPAs and their clients — all on finops-core.
//!
//! ```text
//! finops-server [--listen 127.0.0.1:8080] [--data-dir .finops-server]            embedded: SQLite vault, in-process queue
//! finops-server --queue postgres://…[#name] [--store URL] [--workers 0]          several instances, separate workers
//! finops-server --jwks-url https://idp/.well-known/jwks.json --issuer I [--audience A]   real identity provider
//! finops-server --jwt-key public.pem --jwt-algorithm RS256 --issuer I
//! ```
//!
//! Without `--jwks-url` or `--jwt-key` the server runs in development sign-in mode: `POST /v1/dev/token` signs
//! tokens for any firm and role with a secret made at start (say so on stderr; never on a shared network). Models
//! come from `--config` (a `FinopsConfig` JSON file) or the environment as for `analyze`; with none, the offline
//! analyst answers. Exit codes: 0 after a graceful stop (SIGTERM, Ctrl-C), 2 bad input (named), 1 other failure.

mod api;
mod auth;
mod error;
mod export;
mod openapi;
#[path = "../shutdown.rs"]
mod shutdown;
mod state;
mod telemetry;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use finops_core::analysis::Analyzer;
use finops_core::queue::{LocalQueue, Queue, Worker};
use finops_core::security::jwt::JwtVerifier;
use finops_core::security::limits::RateLimits;
use finops_core::store::Vault;
use finops_core::{Error, Finops, FinopsConfig};

use crate::auth::{Auth, DEFAULT_AUDIENCE, DevTokens};
use crate::shutdown::shutdown;
use crate::state::AppState;
use crate::telemetry::{MeteredAnalyzer, Metrics};

#[derive(Debug, Parser)]
#[command(
    name = "finops-server",
    about = "The finops reference server: API, live streams and web page"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the embedded vault (SQLite) and its key live, when no `--store` or `--queue` says otherwise.
    #[arg(long, default_value = ".finops-server")]
    data_dir: PathBuf,
    /// A shared queue (`postgres://…` or `redis://…`, optional `#name`) for several instances and workers.
    #[arg(long)]
    queue: Option<String>,
    /// The vault's store (`postgres://…` or a directory) when not the data directory or the queue's database.
    #[arg(long)]
    store: Option<String>,
    /// Analyses this process runs at once; 0 runs none (separate `worker` processes do).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// A `FinopsConfig` JSON file (providers, models, budgets, caches); the environment otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The identity provider's JWKS URL.
    #[arg(long)]
    jwks_url: Option<String>,
    /// A PEM public key file verifying tokens (with `--jwt-algorithm`).
    #[arg(long)]
    jwt_key: Option<PathBuf>,
    /// `RS256` or `ES256` for `--jwt-key`.
    #[arg(long, default_value = "RS256")]
    jwt_algorithm: String,
    /// The tokens' issuer (`iss`), required with `--jwks-url` or `--jwt-key`.
    #[arg(long)]
    issuer: Option<String>,
    /// The tokens' audience (`aud`).
    #[arg(long, default_value = DEFAULT_AUDIENCE)]
    audience: String,
    /// Requests per minute per firm (0: no limit).
    #[arg(long, default_value_t = 600)]
    tenant_rate: u32,
    /// Requests per minute per person (0: no limit).
    #[arg(long, default_value_t = 240)]
    person_rate: u32,
    /// The largest request body, in MiB (uploads included).
    #[arg(long, default_value_t = 20)]
    max_body_mib: usize,
    /// Event streams held open at once.
    #[arg(long, default_value_t = 4096)]
    max_streams: usize,
    /// Logs as JSON lines (else human-readable); the level comes from `FINOPS_LOG` (default `info`).
    #[arg(long)]
    log_json: bool,
}

/// A refused input, named.
pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(args.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.field().is_some() { 2 } else { 1 })
        }
    }
}

fn init_logs(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FINOPS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let stop = shutdown()?;
    let fo = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                crate::invalid("--config", format!("cannot read {}: {e}", path.display()))
            })?;
            Finops::from_config(FinopsConfig::from_json(&text)?).await?
        }
        None => Finops::from_env().await?,
    };
    for route in fo.routes() {
        tracing::info!(%route, "model route");
    }
    let (queue, vault) = open_backends(&args).await?;
    let auth = authentication(&args).await?;
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(AppState {
        queue: queue.clone(),
        vault: vault.clone(),
        auth,
        metrics: metrics.clone(),
        max_body_bytes: args.max_body_mib.saturating_mul(1024 * 1024),
        max_streams: args.max_streams,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| crate::invalid("--listen", format!("{}: {e}", args.listen)))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = if args.workers > 0 {
        let analyzer: Arc<dyn Analyzer> = Arc::new(MeteredAnalyzer {
            inner: Arc::new(fo.pipeline().clone()),
            metrics,
        });
        let worker = Worker::new(queue.clone(), analyzer, vault.clone(), args.workers)?;
        let mut rx = stop_rx.clone();
        Some(tokio::spawn(async move {
            worker
                .run(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        }))
    } else {
        None
    };
    let local = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("the listening address: {e}")))?;
    eprintln!(
        "finops-server listening on http://{local}/ (API under /v1, OpenAPI at /openapi.json)"
    );
    let mut rx = stop_rx;
    // Small writes (an event, a short answer) leave at once instead of waiting for Nagle's algorithm and the
    // peer's delayed ACK (40 ms a response, measured in benches/server.rs).
    let listener = {
        use axum::serve::ListenerExt;
        listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        })
    };
    let serve = axum::serve(listener, api::router(state)).with_graceful_shutdown(async move {
        let _ = rx.wait_for(|s| *s).await;
    });
    let stopper = tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    serve
        .await
        .map_err(|e| Error::Internal(format!("serving: {e}")))?;
    stopper.abort();
    if let Some(w) = worker {
        match w.await {
            Ok(Ok(stats)) => eprintln!(
                "worker stopped: {} succeeded, {} dead",
                stats.succeeded, stats.dead
            ),
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(Error::Internal(format!("the worker task: {e}"))),
        }
    }
    queue.close().await;
    vault.close().await;
    Ok(())
}

/// The queue and the vault (Clients see only signed-off analyses): a shared queue over the store (`--store`, else
/// the queue's own PostgreSQL database), or the embedded pair in the data directory.
async fn open_backends(args: &Args) -> Result<(Arc<dyn Queue>, Arc<Vault>), Error> {
    let store = match (&args.store, &args.queue) {
        (Some(s), _) => Some(s.as_str()),
        (None, Some(q)) if q.starts_with("postgres://") || q.starts_with("postgresql://") => {
            Some(q.split_once('#').map_or(q.as_str(), |(base, _)| base))
        }
        (None, Some(_)) => {
            return Err(crate::invalid(
                "--store",
                "a Redis queue needs a store for keys and results (postgres://… or a directory)",
            ));
        }
        (None, None) => None,
    };
    let vault = match store {
        Some(location) => finops_core::store::open(location).await?,
        None => {
            std::fs::create_dir_all(&args.data_dir).map_err(|e| {
                crate::invalid(
                    "--data-dir",
                    format!("cannot create {}: {e}", args.data_dir.display()),
                )
            })?;
            finops_core::store::open_local_vault(&args.data_dir).await?
        }
    };
    let vault = Arc::new(vault.require_sign_off(true));
    let queue: Arc<dyn Queue> = match &args.queue {
        Some(url) => finops_core::queue::open_with_vault(url, vault.clone(), None).await?,
        // Recorded in the vault's store, so a restart resumes the jobs it had.
        None => Arc::new(LocalQueue::durable(10_000, vault.clone()).await?),
    };
    Ok((queue, vault))
}

async fn authentication(args: &Args) -> Result<Auth, Error> {
    let limits = match (args.tenant_rate, args.person_rate) {
        (0, 0) => None,
        (t, p) => Some(RateLimits::per_minute(
            if t == 0 { u32::MAX } else { t },
            if p == 0 { u32::MAX } else { p },
        )?),
    };
    let issuer = || {
        args.issuer.clone().ok_or_else(|| {
            crate::invalid(
                "--issuer",
                "required with --jwks-url or --jwt-key (the tokens' `iss`)",
            )
        })
    };
    if let Some(url) = &args.jwks_url {
        let verifier = JwtVerifier::from_jwks_url(url, &issuer()?, &args.audience)
            .await?
            .jwks_refresh_after(Duration::from_secs(300));
        return Ok(Auth::new(verifier, true, limits, None));
    }
    if let Some(path) = &args.jwt_key {
        let pem = std::fs::read(path).map_err(|e| {
            crate::invalid("--jwt-key", format!("cannot read {}: {e}", path.display()))
        })?;
        let verifier = match args.jwt_algorithm.as_str() {
            "RS256" => JwtVerifier::rs256_pem(&pem, &issuer()?, &args.audience)?,
            "ES256" => JwtVerifier::es256_pem(&pem, &issuer()?, &args.audience)?,
            other => {
                return Err(crate::invalid(
                    "--jwt-algorithm",
                    format!("`{other}`: expected RS256 or ES256"),
                ));
            }
        };
        return Ok(Auth::new(verifier, false, limits, None));
    }
    let (dev, verifier) = DevTokens::generate(&args.audience)?;
    eprintln!(
        "development sign-in: POST /v1/dev/token signs tokens for any firm and role (give --jwks-url or --jwt-key \
         for real identities)"
    );
    Ok(Auth::new(verifier, false, limits, Some(dev)))
}
