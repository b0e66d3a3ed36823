//! A worker: claims jobs, runs the pipeline with bounded concurrency, stores each result under its job's id (so
//! a job run twice after a crash is stored once), and reports failures for retry or the dead letters.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tracing::Instrument;

use futures::StreamExt;

use super::{Claimed, JobEvent, JobStatus, Queue};
use crate::analysis::{Analyzer, Event};
use crate::error::{Error, Result};
use crate::security::{Principal, Role};
use crate::store::Vault;

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Attempts that failed and were queued again.
    pub retried: u64,
    /// Jobs that failed their last attempt.
    pub dead: u64,
    /// Completions refused because the lease had passed to another worker.
    pub lost_leases: u64,
    /// Runs dropped midway because the job was cancelled or its lease passed to another worker.
    pub stopped: u64,
}

/// Runs jobs from a queue.
#[derive(Debug, Clone)]
pub struct Worker {
    queue: Arc<dyn Queue>,
    analyzer: Arc<dyn Analyzer>,
    vault: Arc<Vault>,
    name: String,
    concurrency: usize,
    lease: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    succeeded: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    lost: AtomicU64,
    stopped: AtomicU64,
}

impl Worker {
    /// `concurrency` jobs at once (1 to 256); each job is leased for `lease` and the lease renewed while it runs.
    /// `analyzer` is usually a [`crate::Pipeline`] (a pipeline's own vault is not used: the worker stores each
    /// job's result in `vault` itself, under the job's id and once).
    pub fn new(
        queue: Arc<dyn Queue>,
        analyzer: impl Into<Arc<dyn Analyzer>>,
        vault: Arc<Vault>,
        concurrency: usize,
    ) -> Result<Self> {
        if !(1..=256).contains(&concurrency) {
            return Err(Error::invalid_argument(
                "concurrency",
                format!("{concurrency} is outside 1..=256"),
            ));
        }
        Ok(Worker {
            queue,
            analyzer: analyzer.into(),
            vault,
            name: format!("worker-{}", uuid::Uuid::new_v4()),
            concurrency,
            lease: Duration::from_secs(30),
        })
    }

    /// The lease length (default 30 s): how long a dead worker's jobs wait before another worker takes them.
    /// From 0.1 s to a day; anything else is refused (field `lease`), never clamped.
    pub fn lease(self, lease: Duration) -> Result<Self> {
        self.lease_seconds(lease.as_secs_f64()).map_err(|_| {
            Error::invalid_argument("lease", format!("{lease:?} is outside 0.1 s to a day"))
        })
    }

    /// The lease length in seconds (the bindings' unit): from 0.1 to 86,400.
    pub fn lease_seconds(mut self, seconds: f64) -> Result<Self> {
        self.lease = crate::analysis::seconds("lease_seconds", seconds, 0.1, 86_400.0)?;
        Ok(self)
    }

    /// The worker's name (its lease holder id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs jobs until `shutdown` resolves, then finishes the jobs in hand (graceful stop) and returns.
    ///
    /// Several claimers (one per 8 slots, at most 4) fill the free slots, so a claim's round trip to the
    /// backend does not bound how fast jobs start.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<WorkerStats> {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let counters = Arc::new(Counters::default());
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let claimers = (self.concurrency / 8).clamp(1, 4);
        let loops = futures::future::try_join_all(
            (0..claimers)
                .map(|_| self.claim_loop(permits.clone(), counters.clone(), stopping.clone())),
        );
        tokio::pin!(shutdown, loops);
        tokio::select! {
            () = &mut shutdown => {
                let _ = stop.send(true);
                loops.await?;
            }
            ended = &mut loops => {
                ended?;
            }
        }
        Ok(WorkerStats {
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            dead: counters.dead.load(Ordering::Relaxed),
            lost_leases: counters.lost.load(Ordering::Relaxed),
            stopped: counters.stopped.load(Ordering::Relaxed),
        })
    }

    /// Claims jobs for free slots and runs them until `stopping` turns true, then waits for its jobs.
    async fn claim_loop(
        &self,
        permits: Arc<tokio::sync::Semaphore>,
        counters: Arc<Counters>,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut stopped = std::pin::pin!(async move {
            let _ = stopping.wait_for(|s| *s).await;
        });
        loop {
            let first = tokio::select! {
                () = &mut stopped => break,
                p = permits.clone().acquire_owned() => p.map_err(|_| Error::Internal("worker semaphore closed".into()))?,
            };
            // Every free slot is filled by one claim.
            let mut slots = vec![first];
            while let Ok(p) = permits.clone().try_acquire_owned() {
                slots.push(p);
            }
            let claimed = tokio::select! {
                () = &mut stopped => break,
                c = self.queue.claim_batch(&self.name, self.lease, slots.len()) => c,
            };
            match claimed {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        let Some(permit) = slots.pop() else { break };
                        let this = self.clone();
                        let counters = counters.clone();
                        // The job's span carries the enqueuing request's trace context: one trace id from the
                        // host's request to this process's run (the analysis's spans nest under it).
                        let parent = job.spec.traceparent.as_deref().unwrap_or("");
                        let span = tracing::info_span!(
                            "finops.job",
                            job.id = %job.id,
                            job.attempt = job.attempt,
                            trace_id = %parent.split('-').nth(1).unwrap_or(""),
                            traceparent = %parent,
                        );
                        tasks.spawn(
                            async move {
                                this.run_job(job, &counters).await;
                                drop(permit);
                            }
                            .instrument(span),
                        );
                    }
                }
                Ok(_) => {
                    drop(slots);
                    tokio::select! {
                        () = &mut stopped => break,
                        () = self.queue.wait_for_work(Duration::from_millis(500)) => {}
                    }
                }
                Err(e) => {
                    drop(slots);
                    tracing::warn!(code = e.code(), "claiming a job failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    async fn run_job(&self, job: Claimed, counters: &Counters) {
        // Running, relaying events if asked, until the analysis ends or the lease is lost (the job was cancelled
        // or another worker holds it now): then the run is dropped and nothing is stored.
        let outcome = tokio::select! {
            outcome = self.execute(&job) => Some(outcome),
            () = self.watch_lease(&job) => None,
        };
        let Some((client, outcome)) = outcome else {
            counters.stopped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let publish = |events: Vec<JobEvent>| {
            let (job, client) = (&job, client.clone());
            async move {
                if let Some(client) = client.as_deref().filter(|_| job.spec.events)
                    && let Err(e) = self.queue.publish(job, client, &events).await
                {
                    tracing::warn!(code = e.code(), job = %job.id, "publishing a job's events failed");
                }
            }
        };
        match outcome {
            Ok(result_id) => match self.queue.complete(&job, &result_id).await {
                Ok(true) => {
                    counters.succeeded.fetch_add(1, Ordering::Relaxed);
                    publish(vec![JobEvent::Finished {
                        status: JobStatus::Succeeded,
                        result_id: Some(result_id),
                        error: None,
                    }])
                    .await;
                }
                Ok(false) => {
                    counters.lost.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(code = e.code(), job = %job.id, "completing a job failed"),
            },
            Err(e) => {
                let retryable = e.is_retryable()
                    || matches!(
                        e,
                        Error::Internal(_) | Error::Provider { .. } | Error::Backend { .. }
                    );
                let error = e.to_string();
                match self.queue.fail(&job, &error, retryable).await {
                    Ok(status) => {
                        let mut events = vec![JobEvent::AttemptFailed {
                            attempt: job.attempt,
                            error: error.clone(),
                            status,
                        }];
                        if status == JobStatus::Dead {
                            counters.dead.fetch_add(1, Ordering::Relaxed);
                            events.push(JobEvent::Finished {
                                status,
                                result_id: None,
                                error: Some(error),
                            });
                        } else {
                            counters.retried.fetch_add(1, Ordering::Relaxed);
                        }
                        publish(events).await;
                    }
                    Err(f) => {
                        tracing::warn!(code = f.code(), job = %job.id, "recording a failure failed")
                    }
                }
            }
        }
    }

    /// Renews the lease while the job runs (every third of it, at most every 2 s so a cancellation is seen
    /// quickly); returns when the queue says the job is no longer this worker's. A failing renewal (the backend
    /// is unreachable) is tried again: the lease decides.
    async fn watch_lease(&self, job: &Claimed) {
        let every = (self.lease / 3).min(Duration::from_secs(2));
        loop {
            tokio::time::sleep(every).await;
            match self.queue.heartbeat(job, self.lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(code = e.code(), job = %job.id, "renewing a lease failed"),
            }
        }
    }

    /// Runs the analysis (relaying its events when the job asks) and stores it under the job's id, unless a
    /// previous delivery already stored it; returns the client (when the request could be read) and that id.
    async fn execute(&self, job: &Claimed) -> (Option<String>, Result<String>) {
        let request = match job.spec.request() {
            Ok(r) => r,
            Err(e) => return (None, Err(e)),
        };
        let client = request.client_id();
        let outcome = self.execute_request(job, &client, request).await;
        (Some(client), outcome)
    }

    async fn execute_request(
        &self,
        job: &Claimed,
        client: &str,
        request: crate::analysis::AnalysisRequest,
    ) -> Result<String> {
        let tenant = &job.spec.tenant;
        // A job whose result was stored by an earlier delivery (its worker died before completing it) is not
        // run, nor charged, again. A first attempt had no earlier delivery (and a duplicate would still be
        // discarded when saved).
        if job.attempt > 1 && self.vault.has_analysis(tenant, &job.id).await? {
            return Ok(job.id.clone());
        }
        let principal = Principal::new(tenant.clone(), Role::Cpa, Some(client.to_string()))?;
        let mut analysis = if job.spec.events {
            self.queue
                .publish(
                    job,
                    client,
                    &[JobEvent::Started {
                        attempt: job.attempt,
                    }],
                )
                .await?;
            let (tx, mut rx) = futures::channel::mpsc::unbounded::<Event>();
            let relay = async {
                // Events that arrive together travel together: one write per batch.
                while let Some(first) = rx.next().await {
                    let mut batch = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                    }
                    let batch: Vec<JobEvent> = batch
                        .into_iter()
                        .map(|event| JobEvent::Analysis {
                            attempt: job.attempt,
                            event,
                        })
                        .collect();
                    if let Err(e) = self.queue.publish(job, client, &batch).await {
                        tracing::warn!(code = e.code(), job = %job.id, "publishing a job's events failed");
                    }
                }
            };
            let (analysis, ()) = tokio::join!(self.analyzer.run(request, Some(tx)), relay);
            analysis?
        } else {
            self.analyzer.run(request, None).await?
        };
        analysis.id.clone_from(&job.id);
        // Stored once: a concurrent duplicate run (a lease that passed while its worker still ran) is discarded.
        self.vault.save_job_result(&principal, &analysis).await?;
        Ok(analysis.id)
    }
}
