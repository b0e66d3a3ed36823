//! The in-process queue (the zero-setup default): jobs in memory, bounded (a full queue refuses new jobs with a
//! typed error the host can back off on), and — with a vault — recorded in its store after every change, so a
//! process that restarts resumes them: jobs that were running when it stopped run again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Claimed, JobEvent, JobInfo, JobSpec, JobStatus, Queue, Signals, backoff};
use crate::error::{Error, Result};
use crate::store::Vault;

const KIND: &str = "job";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    spec: JobSpec,
    /// The client its records are filed under (from the statements, computed once at enqueue).
    client: String,
    status: JobStatus,
    attempts: u32,
    run_after: DateTime<Utc>,
    #[serde(skip)]
    lease_until: Option<DateTime<Utc>>,
    #[serde(skip)]
    worker: Option<String>,
    error: Option<String>,
    result_id: Option<String>,
    /// Enqueue order.
    seq: u64,
    /// When it ended (succeeded, dead or cancelled); it is forgotten `retention` later.
    #[serde(default)]
    ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, Job>,
    by_key: HashMap<(String, String), String>,
    next_seq: u64,
    /// Jobs' event logs (in memory only: followers are in this process).
    events: HashMap<String, Vec<JobEvent>>,
    /// When ended jobs were last looked for.
    pruned_at: Option<DateTime<Utc>>,
    /// The jobs queued or running: claims look only at these, not at the ended jobs kept for the retention (a
    /// day's worth in a busy process).
    open: HashSet<String>,
}

impl Inner {
    /// Jobs queued or running.
    fn unfinished(&self) -> usize {
        self.open.len()
    }
}

/// Backpressure: a full queue refuses new jobs; the host waits and tries again.
fn full() -> Error {
    Error::RateLimited {
        scope: crate::error::RateLimitScope::Queue,
        retry_after: Duration::from_secs(1),
    }
}

/// A job's event log keeps at most this many events (a follower that far behind has lost the thread anyway).
const MAX_EVENTS: usize = 10_000;

/// Jobs in this process (see the module documentation).
#[derive(Debug)]
pub struct LocalQueue {
    inner: tokio::sync::Mutex<Inner>,
    wake: tokio::sync::Notify,
    signals: Signals,
    vault: Option<Arc<Vault>>,
    capacity: usize,
    retention: Duration,
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn info(id: &str, j: &Job) -> JobInfo {
    JobInfo {
        id: id.to_string(),
        tenant: j.spec.tenant.clone(),
        idempotency_key: j.spec.idempotency_key.clone(),
        status: j.status,
        attempts: j.attempts,
        max_attempts: j.spec.max_attempts,
        error: j.error.clone(),
        result_id: j.result_id.clone(),
    }
}

impl LocalQueue {
    /// At most `capacity` unfinished jobs (1 to 1,000,000), in memory only.
    pub fn new(capacity: usize) -> Result<Self> {
        if !(1..=1_000_000).contains(&capacity) {
            return Err(Error::invalid_argument(
                "capacity",
                format!("{capacity} is outside 1..=1000000"),
            ));
        }
        Ok(LocalQueue {
            inner: tokio::sync::Mutex::new(Inner::default()),
            wake: tokio::sync::Notify::new(),
            signals: Signals::default(),
            vault: None,
            capacity,
            retention: Duration::from_secs(24 * 3600),
        })
    }

    /// The same, recorded in a vault's store (encrypted); the jobs it holds are read back now, and those that were
    /// running when the last process stopped are queued again.
    pub async fn durable(capacity: usize, vault: Arc<Vault>) -> Result<Self> {
        let mut q = Self::new(capacity)?;
        let mut inner = Inner::default();
        for tenant in vault.tenants_with(KIND).await? {
            for (row, plain) in vault.cache_records(KIND, &tenant).await? {
                let mut job: Job =
                    serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
                        reason: format!("job {}: {e}", row.id),
                    })?;
                if job.status == JobStatus::Running {
                    job.status = JobStatus::Queued;
                }
                if !job.status.is_terminal() {
                    inner.open.insert(row.id.clone());
                }
                inner.next_seq = inner.next_seq.max(job.seq + 1);
                inner.by_key.insert(
                    (job.spec.tenant.clone(), job.spec.idempotency_key.clone()),
                    row.id.clone(),
                );
                inner.jobs.insert(row.id, job);
            }
        }
        q.inner = tokio::sync::Mutex::new(inner);
        q.vault = Some(vault);
        Ok(q)
    }

    /// Records a new queued job (checked by the caller) and returns its id.
    async fn insert(&self, inner: &mut Inner, spec: &JobSpec, client: String) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let job = Job {
            spec: spec.clone(),
            client,
            status: JobStatus::Queued,
            attempts: 0,
            run_after: Utc::now(),
            lease_until: None,
            worker: None,
            error: None,
            result_id: None,
            seq,
            ended_at: None,
        };
        self.persist(&id, &job).await?;
        inner.jobs.insert(id.clone(), job);
        inner.open.insert(id.clone());
        inner.by_key.insert(
            (spec.tenant.clone(), spec.idempotency_key.clone()),
            id.clone(),
        );
        Ok(id)
    }

    /// How long an ended job stays known (its status, its idempotency key, its events) before it is forgotten
    /// (default a day; at least a second). A long-running process would otherwise keep every job it ever ran.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::from_secs(1));
        self
    }

    /// Forgets the jobs that ended more than `retention` ago (at most once a second), in memory and in the store.
    async fn prune(&self, inner: &mut Inner, now: DateTime<Utc>) -> Result<()> {
        if inner
            .pruned_at
            .is_some_and(|t| now - t < chrono::Duration::seconds(1))
        {
            return Ok(());
        }
        inner.pruned_at = Some(now);
        let horizon = now - to_chrono(self.retention);
        let old: Vec<String> = inner
            .jobs
            .iter()
            .filter(|(_, j)| j.ended_at.is_some_and(|t| t < horizon))
            .map(|(id, _)| id.clone())
            .collect();
        for id in old {
            if let Some(job) = inner.jobs.remove(&id) {
                inner
                    .by_key
                    .remove(&(job.spec.tenant.clone(), job.spec.idempotency_key.clone()));
                inner.events.remove(&id);
                if let Some(vault) = &self.vault {
                    vault
                        .delete_cache_record(KIND, &job.spec.tenant, &id)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn persist(&self, id: &str, job: &Job) -> Result<()> {
        let Some(vault) = &self.vault else {
            return Ok(());
        };
        let body = serde_json::to_vec(job).map_err(|e| Error::Internal(e.to_string()))?;
        vault
            .put_cache_record(KIND, &job.spec.tenant, &job.client, id, &body)
            .await
    }
}

#[async_trait::async_trait]
impl Queue for LocalQueue {
    async fn enqueue(&self, spec: &JobSpec) -> Result<String> {
        let client = spec.checked_client()?;
        let mut inner = self.inner.lock().await;
        let key = (spec.tenant.clone(), spec.idempotency_key.clone());
        if let Some(id) = inner.by_key.get(&key) {
            return Ok(id.clone());
        }
        if inner.unfinished() >= self.capacity {
            return Err(full());
        }
        let id = self.insert(&mut inner, spec, client).await?;
        drop(inner);
        self.wake.notify_one();
        Ok(id)
    }

    async fn enqueue_many(&self, specs: &[JobSpec]) -> Result<Vec<String>> {
        let clients = super::check_batch(specs)?;
        let mut inner = self.inner.lock().await;
        // All or nothing: the batch's new jobs must fit.
        let open = inner.unfinished();
        let mut seen = std::collections::HashSet::new();
        let new = specs
            .iter()
            .filter(|s| {
                let key = (s.tenant.clone(), s.idempotency_key.clone());
                !inner.by_key.contains_key(&key) && seen.insert(key)
            })
            .count();
        if open + new > self.capacity {
            return Err(full());
        }
        let mut ids = Vec::with_capacity(specs.len());
        for (spec, client) in specs.iter().zip(clients) {
            let key = (spec.tenant.clone(), spec.idempotency_key.clone());
            if let Some(id) = inner.by_key.get(&key) {
                ids.push(id.clone());
                continue;
            }
            ids.push(self.insert(&mut inner, spec, client).await?);
        }
        drop(inner);
        self.wake.notify_waiters();
        self.wake.notify_one();
        Ok(ids)
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claimed>> {
        let mut inner = self.inner.lock().await;
        let now = Utc::now();
        self.prune(&mut inner, now).await?;
        let expired =
            |j: &Job| j.status == JobStatus::Running && j.lease_until.is_some_and(|l| l < now);
        let mut dead = Vec::new();
        let Inner { jobs, open, .. } = &mut *inner;
        for id in open.iter() {
            if let Some(j) = jobs.get_mut(id)
                && expired(j)
                && j.attempts >= j.spec.max_attempts
            {
                j.status = JobStatus::Dead;
                j.ended_at = Some(now);
                j.error
                    .get_or_insert_with(|| "the worker stopped during every attempt".into());
                dead.push(id.clone());
            }
        }
        for id in dead {
            inner.open.remove(&id);
            if let Some(j) = inner.jobs.get(&id) {
                self.persist(&id, j).await?;
            }
        }
        let pick = inner
            .open
            .iter()
            .filter_map(|id| inner.jobs.get(id).map(|j| (id, j)))
            .filter(|(_, j)| {
                (j.status == JobStatus::Queued && j.run_after <= now)
                    || (expired(j) && j.attempts < j.spec.max_attempts)
            })
            .min_by_key(|(_, j)| (-i64::from(j.spec.priority), j.run_after, j.seq))
            .map(|(id, _)| id.clone());
        let Some(id) = pick else {
            return Ok(None);
        };
        let Some(job) = inner.jobs.get_mut(&id) else {
            return Ok(None);
        };
        job.status = JobStatus::Running;
        job.attempts += 1;
        job.worker = Some(worker.to_string());
        job.lease_until = Some(now + to_chrono(lease));
        let claimed = Claimed {
            id: id.clone(),
            spec: job.spec.clone(),
            attempt: job.attempts,
            worker: worker.to_string(),
        };
        let snapshot = job.clone();
        self.persist(&id, &snapshot).await?;
        Ok(Some(claimed))
    }

    async fn complete(&self, job: &Claimed, result_id: &str) -> Result<bool> {
        let mut inner = self.inner.lock().await;
        let Some(j) = inner.jobs.get_mut(&job.id) else {
            return Ok(false);
        };
        if j.status != JobStatus::Running || j.worker.as_deref() != Some(job.worker.as_str()) {
            return Ok(false);
        }
        j.status = JobStatus::Succeeded;
        j.ended_at = Some(Utc::now());
        j.result_id = Some(result_id.to_string());
        j.lease_until = None;
        j.error = None;
        let snapshot = j.clone();
        inner.open.remove(&job.id);
        self.persist(&job.id, &snapshot).await?;
        drop(inner);
        self.signals.wake(&job.id);
        Ok(true)
    }

    async fn fail(&self, job: &Claimed, error: &str, retryable: bool) -> Result<JobStatus> {
        let mut inner = self.inner.lock().await;
        let Some(j) = inner.jobs.get_mut(&job.id) else {
            return Ok(JobStatus::Dead);
        };
        if j.status != JobStatus::Running || j.worker.as_deref() != Some(job.worker.as_str()) {
            return Ok(j.status);
        }
        j.status = if retryable && j.attempts < j.spec.max_attempts {
            JobStatus::Queued
        } else {
            JobStatus::Dead
        };
        j.run_after = Utc::now() + to_chrono(backoff(job.attempt));
        j.lease_until = None;
        j.error = Some(error.to_string());
        if j.status == JobStatus::Dead {
            j.ended_at = Some(Utc::now());
        }
        let (status, snapshot) = (j.status, j.clone());
        if status.is_terminal() {
            inner.open.remove(&job.id);
        }
        self.persist(&job.id, &snapshot).await?;
        drop(inner);
        self.signals.wake(&job.id);
        Ok(status)
    }

    async fn heartbeat(&self, job: &Claimed, lease: Duration) -> Result<bool> {
        let mut inner = self.inner.lock().await;
        match inner.jobs.get_mut(&job.id) {
            Some(j)
                if j.status == JobStatus::Running
                    && j.worker.as_deref() == Some(job.worker.as_str()) =>
            {
                j.lease_until = Some(Utc::now() + to_chrono(lease));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn status(&self, tenant: &str, id: &str) -> Result<Option<JobInfo>> {
        let inner = self.inner.lock().await;
        Ok(inner
            .jobs
            .get(id)
            .filter(|j| j.spec.tenant == tenant)
            .map(|j| info(id, j)))
    }

    async fn dead_letters(&self, tenant: &str) -> Result<Vec<JobInfo>> {
        let inner = self.inner.lock().await;
        let mut dead: Vec<(&String, &Job)> = inner
            .jobs
            .iter()
            .filter(|(_, j)| j.spec.tenant == tenant && j.status == JobStatus::Dead)
            .collect();
        dead.sort_by_key(|(_, j)| j.seq);
        Ok(dead.into_iter().map(|(id, j)| info(id, j)).collect())
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    async fn counts(&self) -> Result<Option<super::QueueCounts>> {
        let inner = self.inner.lock().await;
        let mut counts = super::QueueCounts::default();
        for job in inner.jobs.values() {
            match job.status {
                JobStatus::Queued => counts.queued += 1,
                JobStatus::Running => counts.running += 1,
                JobStatus::Dead => counts.dead += 1,
                JobStatus::Succeeded | JobStatus::Cancelled => {}
            }
        }
        Ok(Some(counts))
    }

    async fn cancel(&self, tenant: &str, id: &str) -> Result<Option<JobStatus>> {
        let mut inner = self.inner.lock().await;
        let Some(j) = inner.jobs.get_mut(id).filter(|j| j.spec.tenant == tenant) else {
            return Ok(None);
        };
        if j.status.is_terminal() {
            return Ok(Some(j.status));
        }
        j.status = JobStatus::Cancelled;
        j.ended_at = Some(Utc::now());
        j.lease_until = None;
        j.error = Some("cancelled".into());
        let snapshot = j.clone();
        inner.open.remove(id);
        self.persist(id, &snapshot).await?;
        drop(inner);
        self.signals.wake(id);
        Ok(Some(JobStatus::Cancelled))
    }

    async fn publish(&self, job: &Claimed, _client: &str, events: &[JobEvent]) -> Result<()> {
        let mut inner = self.inner.lock().await;
        let log = inner.events.entry(job.id.clone()).or_default();
        let room = MAX_EVENTS.saturating_sub(log.len());
        log.extend(events.iter().take(room).cloned());
        drop(inner);
        self.signals.wake(&job.id);
        Ok(())
    }

    async fn read_events(
        &self,
        tenant: &str,
        id: &str,
        cursor: &str,
    ) -> Result<(Vec<JobEvent>, String)> {
        let from = if cursor.is_empty() {
            0
        } else {
            cursor
                .parse::<usize>()
                .map_err(|_| Error::invalid_argument("cursor", "not a cursor of this queue"))?
        };
        let inner = self.inner.lock().await;
        if inner.jobs.get(id).is_none_or(|j| j.spec.tenant != tenant) {
            return Ok((Vec::new(), cursor.to_string()));
        }
        let log = inner.events.get(id).map_or(&[][..], Vec::as_slice);
        let new = log.get(from..).unwrap_or(&[]).to_vec();
        Ok((new, from.max(log.len()).to_string()))
    }

    fn signal(&self, id: &str) -> Arc<tokio::sync::Notify> {
        self.signals.get(id)
    }
}
