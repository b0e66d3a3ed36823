//! A worker: claims jobs, runs the pipeline with bounded concurrency, stores each result under its job's id (so
//! a job run twice after a crash is stored once), and reports failures for retry or the dead letters.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Claimed, JobStatus, Queue};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::security::{Principal, Role};
use crate::store::Vault;

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub succeeded: u64,
    pub retried: u64,
    pub dead: u64,
    /// Completions refused because the lease had passed to another worker.
    pub lost_leases: u64,
}

/// Runs jobs from a queue.
#[derive(Debug, Clone)]
pub struct Worker {
    queue: Arc<dyn Queue>,
    pipeline: Pipeline,
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
}

impl Worker {
    /// `concurrency` jobs at once (1 to 256); each job is leased for `lease` and the lease renewed while it runs.
    pub fn new(
        queue: Arc<dyn Queue>,
        pipeline: Pipeline,
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
            pipeline,
            vault,
            name: format!("worker-{}", uuid::Uuid::new_v4()),
            concurrency,
            lease: Duration::from_secs(30),
        })
    }

    /// The lease length (default 30 s): how long a dead worker's jobs wait before another worker takes them.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs jobs until `shutdown` resolves, then finishes the jobs in hand (graceful stop) and returns.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<WorkerStats> {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let counters = Arc::new(Counters::default());
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                p = permits.clone().acquire_owned() => p.map_err(|_| Error::Internal("worker semaphore closed".into()))?,
            };
            let claimed = tokio::select! {
                () = &mut shutdown => break,
                c = self.queue.claim(&self.name, self.lease) => c,
            };
            match claimed {
                Ok(Some(job)) => {
                    let this = self.clone();
                    let counters = counters.clone();
                    tasks.spawn(async move {
                        this.run_job(job, &counters).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = self.queue.wait_for_work(Duration::from_millis(500)) => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(code = e.code(), "claiming a job failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        Ok(WorkerStats {
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            dead: counters.dead.load(Ordering::Relaxed),
            lost_leases: counters.lost.load(Ordering::Relaxed),
        })
    }

    async fn run_job(&self, job: Claimed, counters: &Counters) {
        // The lease is renewed while the analysis runs.
        let heartbeat = {
            let (queue, job, lease) = (self.queue.clone(), job.clone(), self.lease);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if !matches!(queue.heartbeat(&job, lease).await, Ok(true)) {
                        break;
                    }
                }
            })
        };
        let outcome = self.execute(&job).await;
        heartbeat.abort();
        match outcome {
            Ok(result_id) => match self.queue.complete(&job, &result_id).await {
                Ok(true) => {
                    counters.succeeded.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {
                    counters.lost.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(code = e.code(), job = %job.id, "completing a job failed"),
            },
            Err(e) => {
                let retryable =
                    e.is_retryable() || matches!(e, Error::Internal(_) | Error::Provider { .. });
                match self.queue.fail(&job, &e.to_string(), retryable).await {
                    Ok(JobStatus::Dead) => {
                        counters.dead.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        counters.retried.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(f) => {
                        tracing::warn!(code = f.code(), job = %job.id, "recording a failure failed")
                    }
                }
            }
        }
    }

    /// Runs the analysis and stores it under the job's id; returns that id.
    async fn execute(&self, job: &Claimed) -> Result<String> {
        let request = job.spec.request()?;
        let client = request.client_id();
        let principal = Principal::new(job.spec.tenant.clone(), Role::Cpa, Some(client.clone()))?;
        let mut analysis = self.pipeline.analyze(request).await?;
        analysis.id.clone_from(&job.id);
        self.vault.save_analysis(&principal, &analysis).await?;
        Ok(analysis.id)
    }
}
