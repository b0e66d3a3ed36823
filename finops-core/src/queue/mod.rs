//! Jobs and workers (DESIGN.md "Queues"): a host enqueues analyses; workers, in this process or in others, claim
//! them, run the pipeline and store each result once. Delivery is at least once: a job whose worker dies is
//! claimed again when its lease expires; its result is stored under the job's id, so a second run replaces the
//! first instead of adding a copy. A job that keeps failing lands in the dead letters after its attempts.
//!
//! Backends: in process ([`LocalQueue`]: bounded, optionally recorded in a vault's store so a restart resumes
//! its jobs), PostgreSQL ([`PgQueue`]: `FOR UPDATE SKIP LOCKED`, leases, `LISTEN/NOTIFY`) and Redis Streams
//! ([`RedisQueue`]: consumer group, `XAUTOCLAIM`, delayed retries, a dead-letter stream).

mod local;
mod postgres;
mod redis_queue;
pub mod worker;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pipeline::Language;

pub use local::LocalQueue;
pub use postgres::PgQueue;
pub use redis_queue::RedisQueue;
pub use worker::{Worker, WorkerStats};

/// An analysis to run. The statements and the question are client data: backends keep them encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub tenant: String,
    /// The client company (a slug of the company name when `None`).
    #[serde(default)]
    pub client: Option<String>,
    /// Enqueuing the same key twice (per tenant) returns the first job.
    pub idempotency_key: String,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Attempts before the job goes to the dead letters (1 to 20).
    pub max_attempts: u32,
    /// The `finops.statements/v1` document.
    pub statements_json: String,
    pub question: String,
    #[serde(default)]
    pub language: Option<Language>,
}

impl JobSpec {
    pub fn new(
        tenant: impl Into<String>,
        idempotency_key: impl Into<String>,
        statements_json: impl Into<String>,
        question: impl Into<String>,
    ) -> Self {
        JobSpec {
            tenant: tenant.into(),
            client: None,
            idempotency_key: idempotency_key.into(),
            priority: 0,
            max_attempts: 3,
            statements_json: statements_json.into(),
            question: question.into(),
            language: None,
        }
    }

    /// Refuses what no worker could run, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.checked_client().map(|_| ())
    }

    fn check_fields(&self) -> Result<()> {
        let id = |field: &str, v: &str| -> Result<()> {
            if v.trim().is_empty() || v.chars().count() > crate::pipeline::MAX_ID_CHARS {
                return Err(Error::invalid_argument(
                    field,
                    format!("must be 1 to {} characters", crate::pipeline::MAX_ID_CHARS),
                ));
            }
            Ok(())
        };
        id("tenant", &self.tenant)?;
        id("idempotency_key", &self.idempotency_key)?;
        if !(1..=20).contains(&self.max_attempts) {
            return Err(Error::invalid_argument(
                "max_attempts",
                format!("{} is outside 1..=20", self.max_attempts),
            ));
        }
        Ok(())
    }

    /// Validates the job (as [`JobSpec::validate`]) and returns the client id its results are filed under, from
    /// one parse of the statements.
    pub(crate) fn checked_client(&self) -> Result<String> {
        self.check_fields()?;
        // The request the worker will build, checked now so a bad job is refused at the door.
        let request = self.request()?;
        request.validate()?;
        Ok(request.client_id())
    }

    /// The pipeline request this job runs.
    pub fn request(&self) -> Result<crate::pipeline::AnalysisRequest> {
        let statements = crate::Statements::from_json_str(&self.statements_json)?;
        let mut r = crate::pipeline::AnalysisRequest::new(statements, self.question.clone())
            .tenant(self.tenant.clone());
        if let Some(c) = &self.client {
            r = r.client(c.clone());
        }
        if let Some(l) = self.language {
            r = r.language(l);
        }
        Ok(r)
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    /// Failed on every attempt: in the dead letters.
    Dead,
}

impl JobStatus {
    pub fn id(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "dead" => JobStatus::Dead,
            other => {
                return Err(Error::Integrity {
                    reason: format!("unknown job status `{other}`"),
                });
            }
        })
    }
}

/// What a host can see of a job (no client data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub tenant: String,
    pub idempotency_key: String,
    pub status: JobStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    /// The last failure.
    pub error: Option<String>,
    /// The stored analysis (its id is the job's).
    pub result_id: Option<String>,
}

/// A job a worker holds until its lease ends.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub spec: JobSpec,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Who holds the lease.
    pub worker: String,
}

/// A job queue. Implementations must be safe to share between tasks and processes.
#[async_trait::async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Adds a job (or returns the existing one with the same tenant and idempotency key); returns its id.
    async fn enqueue(&self, spec: &JobSpec) -> Result<String>;
    /// The next runnable job (highest priority, oldest first), leased to `worker` for `lease`; a job whose lease
    /// expired (its worker died) is runnable again.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claimed>>;
    /// Marks a job done; false when the lease was lost (another worker holds the job now).
    async fn complete(&self, job: &Claimed, result_id: &str) -> Result<bool>;
    /// Records a failure: the job runs again after a backoff, or goes to the dead letters after its attempts
    /// (at once when not `retryable`). Returns the new status.
    async fn fail(&self, job: &Claimed, error: &str, retryable: bool) -> Result<JobStatus>;
    /// Extends a running job's lease (long analyses).
    async fn heartbeat(&self, job: &Claimed, lease: Duration) -> Result<bool>;
    async fn status(&self, tenant: &str, id: &str) -> Result<Option<JobInfo>>;
    /// A tenant's jobs in the dead letters.
    async fn dead_letters(&self, tenant: &str) -> Result<Vec<JobInfo>>;
    /// Waits until new work may be there (a notification), at most `timeout`.
    async fn wait_for_work(&self, timeout: Duration);
}

/// Opens the queue a URL names and the vault that keeps payload keys and results:
/// - `postgres://…[#name]`: the jobs table and the store in that database (`store` may name another);
/// - `redis://…[#name]`: Redis Streams; `store` is required (`postgres://…`, or a SQLite file path when every
///   worker runs on one machine).
///
/// The queue name (the URL fragment) defaults to `default`; the master key comes from `FINOPS_MASTER_KEY`. Every
/// process of a deployment calls this with the same URLs.
pub async fn connect(
    url: &str,
    store: Option<&str>,
) -> Result<(
    std::sync::Arc<dyn Queue>,
    std::sync::Arc<crate::store::Vault>,
)> {
    use std::sync::Arc;
    let (url, name) = url.split_once('#').unwrap_or((url, "default"));
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let redis = url.starts_with("redis://") || url.starts_with("rediss://");
    if !postgres && !redis {
        return Err(Error::invalid_argument(
            "queue",
            "must be a postgres:// or redis:// URL",
        ));
    }
    let store_url = match (store, postgres) {
        (Some(s), _) => s,
        (None, true) => url,
        (None, false) => {
            return Err(Error::invalid_argument(
                "store",
                "a Redis queue needs a store for keys and results (postgres://… or a SQLite file path)",
            ));
        }
    };
    let store: Arc<dyn crate::store::Store> =
        if store_url.starts_with("postgres://") || store_url.starts_with("postgresql://") {
            Arc::new(crate::store::PostgresStore::connect(store_url).await?)
        } else {
            Arc::new(crate::store::SqliteStore::open(std::path::Path::new(store_url)).await?)
        };
    let vault = Arc::new(crate::store::Vault::open(store, crate::cache::master_key(None)?).await?);
    let queue: Arc<dyn Queue> = if postgres {
        Arc::new(PgQueue::connect(url, vault.clone()).await?.named(name)?)
    } else {
        Arc::new(RedisQueue::connect(url, name, vault.clone()).await?)
    };
    Ok((queue, vault))
}

/// The wait before attempt `attempt + 1`: 200 ms doubling, at most 30 s, with ±20 % jitter.
pub fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(8).saturating_sub(1));
    let ms = base.min(30_000);
    let jitter = fastrand::u64(0..=ms / 5);
    Duration::from_millis(ms - ms / 10 + jitter)
}
