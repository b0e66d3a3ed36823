//! Enqueues analyses for the workers (`worker`) and, with `--wait`, waits for them and prints their results.
//!
//! ```text
//! submit --queue postgres://…|redis://… [--store URL] --statements PATH --question TEXT [--tenant ID] [--count N]
//!        [--max-attempts N] [--wait] [--json]
//! ```
//!
//! Each of the N jobs gets its own idempotency key (this run's id and its number), so running `submit` again
//! enqueues new jobs and never duplicates one. With `--wait`, the jobs relay their events: `submit` follows them
//! while the workers (other processes, other machines) run them, printing their progress on stderr (attempts,
//! phases, failures), then one line per job on stdout (or one JSON object per line with `--json`) once all are
//! done: succeeded ones with their report's first line and cost, dead ones with their last error. The master key
//! comes from `FINOPS_MASTER_KEY` as for `worker`.
//!
//! Exit codes: 0 when every job succeeded (or without `--wait`), 3 when some went to the dead letters, 2 bad
//! input, 1 other failure.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use finops_core::Error;
use finops_core::pipeline::Event;
use finops_core::queue::{JobEvent, JobSpec, JobStatus, follow};
use finops_core::security::{Principal, Role};
use futures::StreamExt;

#[derive(Debug, Parser)]
#[command(
    name = "submit",
    about = "Enqueues finops analyses and optionally waits for them"
)]
struct Args {
    /// The queue: `postgres://…` or `redis://…`, with an optional `#name`.
    #[arg(long)]
    queue: String,
    /// Where keys and results live when the queue is Redis: `postgres://…` or a SQLite file path.
    #[arg(long)]
    store: Option<String>,
    /// A finops.statements/v1 document.
    #[arg(long)]
    statements: PathBuf,
    #[arg(long)]
    question: String,
    #[arg(long, default_value = "default")]
    tenant: String,
    /// How many jobs (each with its own idempotency key).
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Attempts per job before the dead letters (a worker killed mid-job counts as an attempt).
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Wait for every job and print the results.
    #[arg(long)]
    wait: bool,
    /// Print JSON objects instead of text lines.
    #[arg(long)]
    json: bool,
}

fn run(args: &Args) -> Result<bool, Error> {
    if args.count == 0 || args.count > 100_000 {
        return Err(Error::InvalidArgument {
            field: "--count".into(),
            reason: "must be 1 to 100000".into(),
        });
    }
    let text = std::fs::read_to_string(&args.statements).map_err(|e| Error::InvalidArgument {
        field: "--statements".into(),
        reason: format!("cannot read {}: {e}", args.statements.display()),
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let (queue, vault) =
            finops_core::queue::connect(&args.queue, args.store.as_deref()).await?;
        let run_id = uuid::Uuid::new_v4();
        let specs: Vec<JobSpec> = (0..args.count)
            .map(|i| {
                let mut spec =
                    JobSpec::new(&args.tenant, format!("{run_id}-{i}"), &text, &args.question);
                spec.max_attempts = args.max_attempts;
                spec.events = args.wait;
                spec
            })
            .collect();
        // In batches: one round trip (and one durable commit) per thousand jobs.
        let mut ids = Vec::with_capacity(args.count);
        for batch in specs.chunks(1000) {
            ids.extend(queue.enqueue_many(batch).await?);
        }
        eprintln!("enqueued {} job(s) for tenant {}", ids.len(), args.tenant);
        if !args.wait {
            for id in &ids {
                println!("{id}");
            }
            return Ok(true);
        }
        // Follow the jobs (64 at a time: a job's events are kept, so one followed later replays them).
        let started = Instant::now();
        let mut following = futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let (queue, tenant) = (queue.clone(), args.tenant.clone());
                async move {
                    let mut events = follow(queue, tenant, id.clone());
                    while let Some(event) = events.next().await {
                        if let Some(line) = progress(&event?) {
                            eprintln!("{} {line}", &id[..id.len().min(8)]);
                        }
                    }
                    Ok::<_, Error>(())
                }
            })
            .buffer_unordered(64);
        while let Some(done) = following.next().await {
            done?;
        }
        let mut last = Vec::with_capacity(ids.len());
        for id in &ids {
            last.push(
                queue.status(&args.tenant, id).await?.ok_or_else(|| {
                    Error::Internal(format!("job {id} disappeared from the queue"))
                })?,
            );
        }
        eprintln!("all done in {:.1} s", started.elapsed().as_secs_f64());
        let principal = Principal::new(args.tenant.clone(), Role::Cpa, None)?;
        let mut all_ok = true;
        for job in &last {
            let analysis = match (&job.status, &job.result_id) {
                (JobStatus::Succeeded, Some(r)) => {
                    Some(vault.load_analysis(&principal, &args.tenant, r).await?)
                }
                _ => None,
            };
            all_ok &= analysis.is_some();
            if args.json {
                let line = serde_json::json!({
                    "job": job.id,
                    "status": job.status,
                    "attempts": job.attempts,
                    "error": job.error,
                    "analysis": analysis,
                });
                println!("{line}");
            } else {
                match analysis {
                    Some(a) => println!(
                        "{} succeeded after {} attempt(s) · cost {} · {}",
                        job.id,
                        job.attempts,
                        a.total_cost_usd
                            .map_or("unknown".into(), |c| format!("${}", c.round_dp(6))),
                        a.report
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                    ),
                    None => println!(
                        "{} {} after {} attempt(s): {}",
                        job.id,
                        job.status.id(),
                        job.attempts,
                        job.error.as_deref().unwrap_or("no error recorded")
                    ),
                }
            }
        }
        Ok(all_ok)
    })
}

/// A progress line for a job's event (the text the models stream is left out).
fn progress(event: &JobEvent) -> Option<String> {
    Some(match event {
        JobEvent::Started { attempt } => format!("attempt {attempt} started"),
        JobEvent::Analysis { event, .. } => match event {
            Event::PhaseStarted { phase } => format!("{} started", phase.id()),
            Event::PhaseFinished { usage } => format!("{} finished", usage.phase.id()),
            Event::TextDelta { .. } | Event::ComputationDone { .. } => return None,
            other => other.kind().to_string(),
        },
        JobEvent::AttemptFailed {
            attempt,
            error,
            status,
        } => format!("attempt {attempt} failed ({}): {error}", status.id()),
        JobEvent::Finished { status, .. } => status.id().to_string(),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.field().is_some() { 2 } else { 1 })
        }
    }
}
