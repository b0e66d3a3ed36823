//! A worker process: runs queued analyses until SIGTERM or Ctrl-C (graceful: the jobs in hand finish), or
//! SIGKILL (its jobs are taken by another worker when their lease ends).
//!
//! ```text
//! worker --queue postgres://user:pass@host/db [--concurrency N] [--lease-seconds S]
//! worker --queue redis://host:6379 --store postgres://… [--concurrency N] [--lease-seconds S]
//! ```
//!
//! Every process of a deployment shares the database and the master key (`FINOPS_MASTER_KEY`, 64 hex
//! characters): job payloads and results are encrypted with the tenants' keys kept in that database. Providers
//! come from the environment as for `analyze` (the offline analyst when none is configured).
//!
//! Exit codes: 0 after a graceful stop, 2 bad input (the field named on stderr), 1 other failure.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod shutdown;
use finops_core::Error;
use finops_core::config::Settings;
use finops_core::queue::Worker;
use shutdown::shutdown;

#[derive(Debug, Parser)]
#[command(name = "worker", about = "Runs queued finops analyses until stopped")]
struct Args {
    /// The queue: `postgres://…` or `redis://…`, with an optional `#name`.
    #[arg(long)]
    queue: String,
    /// Where keys and results live when the queue is Redis: `postgres://…` or a SQLite file path.
    #[arg(long)]
    store: Option<String>,
    /// Analyses run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// How long a job stays with this worker without news before another worker may take it.
    #[arg(long, default_value_t = 30)]
    lease_seconds: u64,
}

fn run(args: &Args) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let pipeline = Settings::from_env()?.pipeline()?;
    runtime.block_on(async {
        let stop = shutdown()?;
        let (queue, vault) =
            finops_core::queue::connect(&args.queue, args.store.as_deref()).await?;
        let worker = Worker::new(queue, pipeline, vault, args.concurrency)?
            .lease(Duration::from_secs(args.lease_seconds))?;
        eprintln!("{} ready (concurrency {})", worker.name(), args.concurrency);
        let stats = worker.run(stop).await?;
        eprintln!(
            "{} stopped: {} succeeded, {} retried, {} dead, {} lost leases, {} runs dropped (cancelled)",
            worker.name(),
            stats.succeeded,
            stats.retried,
            stats.dead,
            stats.lost_leases,
            stats.stopped
        );
        Ok(())
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.field().is_some() { 2 } else { 1 })
        }
    }
}
