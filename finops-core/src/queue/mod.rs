//! Jobs and workers (README "Scale out"): a host enqueues analyses; workers, in this process or in others, claim
//! them, run the pipeline and store each result once. Delivery is at least once: a job whose worker dies is
//! claimed again when its lease expires; its result is stored under the job's id, so a second run replaces the
//! first instead of adding a copy. A job that keeps failing lands in the dead letters after its attempts.
//!
//! Backends: in process ([`LocalQueue`]: bounded, optionally recorded in a vault's store so a restart resumes
//! its jobs), PostgreSQL ([`PgQueue`]: `FOR UPDATE SKIP LOCKED`, leases, `LISTEN/NOTIFY`) and Redis Streams
//! ([`RedisQueue`]: consumer group, `XAUTOCLAIM`, delayed retries, a dead-letter stream).
//!
//! The process that submits a job can [`follow`] it while another runs it (the job's encrypted event log, with
//! `LISTEN/NOTIFY` or pub/sub wake-ups) and [`Queue::cancel`] it, queued or running. A result is stored with its
//! `analysis` audit entry in one transaction, and a job whose result an earlier delivery stored is completed
//! without running again: one stored analysis and one charge per job.

mod connect;
mod local;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis_streams;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::analysis::{Event, Language};
use crate::error::{Error, Result};

pub use connect::{connect, connect_with, open_with_vault};
pub use local::LocalQueue;
#[cfg(feature = "postgres")]
pub use postgres::PgQueue;
#[cfg(feature = "redis")]
pub use redis_streams::RedisQueue;
pub use worker::{Worker, WorkerStats};

/// An analysis to run. The statements and the question are client data: backends keep them encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The CPA firm the job belongs to; every read of the job is scoped to it.
    pub tenant: String,
    /// The client company (a slug of the company name when `None`).
    #[serde(default)]
    pub client: Option<String>,
    /// Enqueuing the same key twice (per tenant) returns the first job.
    pub idempotency_key: String,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Attempts before the job goes to the dead letters (1 to 20; 3 when a document leaves it out).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The `finops.statements/v1` document.
    pub statements_json: String,
    /// The question, as for an analysis.
    pub question: String,
    /// The report's language; detected from the question when absent.
    #[serde(default)]
    pub language: Option<Language>,
    /// Relays the analysis's events to [`follow`]ers in other processes. Off by default: every batch of events
    /// is a write to the backend. Without it a follower still learns how the job ends.
    #[serde(default)]
    pub events: bool,
    /// The W3C trace context (`traceparent`, `00-<trace id>-<span id>-<flags>`) of the request that enqueued the
    /// job: the worker's span for the job carries it, so one trace id follows an analysis from the host's request
    /// to whichever process runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

fn default_attempts() -> u32 {
    3
}

impl JobSpec {
    /// A job from JSON (`tenant`, `idempotency_key`, `statements_json`, `question`, and optionally `client`,
    /// `priority`, `max_attempts`, `language`, `events`), as the bindings pass it: an unknown field, a wrong type or
    /// a bad value is named.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let spec: JobSpec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "job".to_string() } else { path };
            Error::invalid_argument(field, e.inner().to_string())
        })?;
        spec.check_fields()?;
        Ok(spec)
    }

    /// A job with the default attempts and no client, principal or events (set the fields to change them).
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
            events: false,
            traceparent: None,
        }
    }

    /// Refuses what no worker could run, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.checked_client().map(|_| ())
    }

    fn check_fields(&self) -> Result<()> {
        let id = |field: &str, v: &str| -> Result<()> {
            if v.trim().is_empty() || v.chars().count() > crate::analysis::MAX_ID_CHARS {
                return Err(Error::invalid_argument(
                    field,
                    format!("must be 1 to {} characters", crate::analysis::MAX_ID_CHARS),
                ));
            }
            Ok(())
        };
        id("tenant", &self.tenant)?;
        id("idempotency_key", &self.idempotency_key)?;
        if let Some(t) = &self.traceparent
            && !is_traceparent(t)
        {
            return Err(Error::invalid_argument(
                "traceparent",
                "must be a W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>, ids not all zero",
            ));
        }
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
    pub fn request(&self) -> Result<crate::analysis::AnalysisRequest> {
        let statements = parsed(&self.statements_json)?;
        let mut r = crate::analysis::AnalysisRequest::new(statements, self.question.clone())
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

/// The record kind a job's sealed events are bound to.
#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
const EVENT_KIND: &str = "job_event";

/// Seals a batch of a job's events for its log with its client's key: the client tag and the bytes to store.
#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
pub(crate) async fn seal_events(
    vault: &crate::store::Vault,
    job: &Claimed,
    client: &str,
    events: &[JobEvent],
) -> Result<(String, Vec<u8>)> {
    let body = serde_json::to_vec(events).map_err(|e| Error::Internal(e.to_string()))?;
    let (client_tag, sealed) = vault
        .seal_cache_value(EVENT_KIND, &job.spec.tenant, client, &job.id, &body)
        .await?;
    Ok((client_tag, sealed.to_bytes()))
}

/// Opens a batch [`seal_events`] made; a batch of an erased client reads as no events.
#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
pub(crate) async fn open_events(
    vault: &crate::store::Vault,
    tenant: &str,
    id: &str,
    client_tag: &str,
    payload: &[u8],
) -> Result<Vec<JobEvent>> {
    let bad = |err: String| Error::Integrity {
        reason: format!("job {id} events: {err}"),
    };
    let sealed =
        crate::security::crypto::Sealed::from_bytes(payload).map_err(|e| bad(e.to_string()))?;
    match vault
        .open_cache_value(EVENT_KIND, tenant, client_tag, id, &sealed)
        .await?
    {
        Some(plain) => serde_json::from_slice(&plain).map_err(|e| bad(e.to_string())),
        None => Ok(Vec::new()),
    }
}

/// The most jobs one [`Queue::enqueue_many`] takes.
pub const MAX_BATCH: usize = 10_000;

/// Checks a batch of jobs before any is enqueued; returns each job's client. An error names the job.
pub(crate) fn check_batch(specs: &[JobSpec]) -> Result<Vec<String>> {
    if specs.len() > MAX_BATCH {
        return Err(Error::invalid_argument(
            "jobs",
            format!("{} jobs in one batch; at most {MAX_BATCH}", specs.len()),
        ));
    }
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            spec.checked_client().map_err(|e| match e {
                Error::InvalidArgument { field, reason } => Error::InvalidArgument {
                    field: format!("jobs[{i}].{field}"),
                    reason,
                },
                Error::InvalidStatements {
                    field,
                    reason,
                    issues,
                } => Error::InvalidStatements {
                    field: format!("jobs[{i}].statements_json: {field}"),
                    reason,
                    issues,
                },
                other => other,
            })
        })
        .collect()
}

/// Parses a job's statements, reusing the parse of the same text (by SHA-256) from earlier in this process:
/// reading a document is a large part of a job's cost, the text is checked when the job is enqueued and read
/// again when it runs (the same process, for the in-process queue), and a client's statements usually come with
/// several questions. Documents that fail are not kept.
fn parsed(statements_json: &str) -> Result<Arc<crate::Statements>> {
    use sha2::Digest;
    static PARSED: std::sync::OnceLock<moka::sync::Cache<[u8; 32], Arc<crate::Statements>>> =
        std::sync::OnceLock::new();
    let cache = PARSED.get_or_init(|| moka::sync::Cache::new(128));
    let key: [u8; 32] = sha2::Sha256::digest(statements_json.as_bytes()).into();
    if let Some(statements) = cache.get(&key) {
        return Ok(statements);
    }
    let statements = Arc::new(crate::Statements::from_json_str(statements_json)?);
    cache.insert(key, statements.clone());
    Ok(statements)
}

/// Whether `t` is a W3C `traceparent` of version 00 (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase) with non-zero
/// ids: what [`JobSpec::traceparent`] accepts.
pub fn is_traceparent(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    matches!(parts.as_slice(), [v, trace, span, flags]
        if *v == "00" && hex(trace, 32) && hex(span, 16) && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0') && span.bytes().any(|b| b != b'0'))
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (again, after a failed attempt that may be retried).
    Queued,
    /// A worker holds it (its lease is renewed while it runs).
    Running,
    /// Finished: the analysis is stored under the job's result id.
    Succeeded,
    /// Failed on every attempt: in the dead letters.
    Dead,
    /// Cancelled by the host before it ended.
    Cancelled,
}

impl JobStatus {
    /// The stable name (`queued`, `running`, …), as stored and as every binding shows it.
    pub fn id(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the job has ended (it will not run again).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Dead | JobStatus::Cancelled
        )
    }

    #[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "dead" => JobStatus::Dead,
            "cancelled" => JobStatus::Cancelled,
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
    /// The job's id.
    pub id: String,
    /// The CPA firm it belongs to.
    pub tenant: String,
    /// The host's key: enqueuing the same key again returns the same job.
    pub idempotency_key: String,
    /// Where the job stands.
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// The most attempts before the job is dead.
    pub max_attempts: u32,
    /// The last failure.
    pub error: Option<String>,
    /// The stored analysis (its id is the job's).
    pub result_id: Option<String>,
}

/// A job a worker holds until its lease ends.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job's id.
    pub id: String,
    /// What to run.
    pub spec: JobSpec,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Who holds the lease.
    pub worker: String,
}

/// What a follower sees of a job while a worker, perhaps in another process, runs it. The analysis's own
/// events are relayed only for jobs enqueued with [`JobSpec::events`]; `Finished` always ends the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    /// A worker began an attempt.
    Started {
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// An event of the analysis this attempt runs (`completed` is not relayed: the result is stored under the
    /// job's id, see `Finished`).
    Analysis {
        /// The attempt the event belongs to.
        attempt: u32,
        /// The analysis's event.
        event: Event,
    },
    /// The attempt failed; `status` says whether the job runs again (`queued`) or not.
    AttemptFailed {
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: String,
        /// `queued` (it runs again) or `dead`.
        status: JobStatus,
    },
    /// The job ended: succeeded (its analysis is stored under `result_id`), dead or cancelled.
    Finished {
        /// `succeeded`, `dead` or `cancelled`.
        status: JobStatus,
        /// The stored analysis's id, when the job succeeded.
        result_id: Option<String>,
        /// The last error, when it did not.
        error: Option<String>,
    },
}

/// Per-job wake-ups for followers: a backend wakes a job's followers when its events or status change (from a
/// notification of another process, or directly in process).
#[derive(Debug, Default)]
pub(crate) struct Signals {
    map: std::sync::Mutex<HashMap<String, Weak<Notify>>>,
}

impl Signals {
    pub(crate) fn get(&self, id: &str) -> Arc<Notify> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(id).and_then(Weak::upgrade) {
            return n;
        }
        if map.len() >= 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let n = Arc::new(Notify::new());
        map.insert(id.to_string(), Arc::downgrade(&n));
        n
    }

    pub(crate) fn wake(&self, id: &str) {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(id).and_then(Weak::upgrade) {
            n.notify_waiters();
        }
    }
}

/// A job queue. Implementations must be safe to share between tasks and processes.
#[async_trait::async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Adds a job (or returns the existing one with the same tenant and idempotency key); returns its id.
    async fn enqueue(&self, spec: &JobSpec) -> Result<String>;
    /// Adds several jobs (at most 10,000) and returns their ids in the same order — one round trip where the
    /// backend allows. Every job is checked first: one bad job refuses the whole batch, its error naming the job
    /// (`jobs[3].max_attempts`), and nothing is enqueued.
    async fn enqueue_many(&self, specs: &[JobSpec]) -> Result<Vec<String>> {
        check_batch(specs)?;
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            ids.push(self.enqueue(spec).await?);
        }
        Ok(ids)
    }
    /// The next runnable job (highest priority, oldest first), leased to `worker` for `lease`; a job whose lease
    /// expired (its worker died) is runnable again.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claimed>>;
    /// Up to `max` runnable jobs, in the order [`Queue::claim`] takes them (one round trip where the backend
    /// allows: a busy worker fills its free slots at once).
    async fn claim_batch(&self, worker: &str, lease: Duration, max: usize) -> Result<Vec<Claimed>> {
        let mut claimed = Vec::new();
        while claimed.len() < max {
            match self.claim(worker, lease).await? {
                Some(job) => claimed.push(job),
                None => break,
            }
        }
        Ok(claimed)
    }
    /// Marks a job done; false when the lease was lost (another worker holds the job now).
    async fn complete(&self, job: &Claimed, result_id: &str) -> Result<bool>;
    /// Records a failure: the job runs again after a backoff, or goes to the dead letters after its attempts
    /// (at once when not `retryable`). Returns the new status.
    async fn fail(&self, job: &Claimed, error: &str, retryable: bool) -> Result<JobStatus>;
    /// Extends a running job's lease (long analyses).
    async fn heartbeat(&self, job: &Claimed, lease: Duration) -> Result<bool>;
    /// The job's status, `None` when the tenant has no such job.
    async fn status(&self, tenant: &str, id: &str) -> Result<Option<JobInfo>>;
    /// A tenant's jobs in the dead letters.
    async fn dead_letters(&self, tenant: &str) -> Result<Vec<JobInfo>>;
    /// Waits until new work may be there (a notification), at most `timeout`.
    async fn wait_for_work(&self, timeout: Duration);
    /// Cancels a queued or running job (its worker stops at its next heartbeat and stores nothing). Returns the
    /// job's status after the call — `cancelled`, or how it had already ended — or `None` when the tenant has no
    /// such job.
    async fn cancel(&self, tenant: &str, id: &str) -> Result<Option<JobStatus>>;
    /// Appends events to the log of a job the caller holds (sealed with `client`'s key) and wakes its followers.
    async fn publish(&self, job: &Claimed, client: &str, events: &[JobEvent]) -> Result<()>;
    /// A job's events after `cursor` (`""` for the first), and the cursor after them.
    async fn read_events(
        &self,
        tenant: &str,
        id: &str,
        cursor: &str,
    ) -> Result<(Vec<JobEvent>, String)>;
    /// Woken when job `id`'s events or status may have changed.
    fn signal(&self, id: &str) -> Arc<Notify>;
    /// How many jobs of every tenant are queued, running and in the dead letters (for an operator's metrics; no
    /// tenant data). `None` when the backend cannot count them cheaply.
    async fn counts(&self) -> Result<Option<QueueCounts>> {
        Ok(None)
    }
    /// Closes the queue's connections (its store is the vault's, closed with it): later calls fail with a backend
    /// error. Idempotent; the default does nothing.
    async fn close(&self) {}
}

/// Jobs by status across every tenant of one queue ([`Queue::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    /// Waiting for a worker (retries after a backoff included).
    pub queued: u64,
    /// Held by a worker.
    pub running: u64,
    /// In the dead letters (until the retention removes them).
    pub dead: u64,
}

/// Streams a job's events from wherever it runs, ending with [`JobEvent::Finished`]: this process or another
/// reads the job's event log as the worker appends to it, woken by the backend's notifications (and, between
/// them, by a status check every second, so a job that ends without a word — a worker killed on its last
/// attempt, a cancellation — still ends the stream). A tenant that has no such job gets an `invalid_argument`
/// error naming `id`.
pub fn follow(
    queue: Arc<dyn Queue>,
    tenant: impl Into<String>,
    id: impl Into<String>,
) -> futures::stream::BoxStream<'static, Result<JobEvent>> {
    struct State {
        queue: Arc<dyn Queue>,
        tenant: String,
        id: String,
        cursor: String,
        pending: std::collections::VecDeque<JobEvent>,
        done: bool,
    }
    let id = id.into();
    let state = State {
        queue,
        tenant: tenant.into(),
        id,
        cursor: String::new(),
        pending: Default::default(),
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                if matches!(event, JobEvent::Finished { .. }) {
                    s.done = true;
                    s.pending.clear();
                }
                return Some((Ok(event), s));
            }
            if s.done {
                return None;
            }
            let signal = s.queue.signal(&s.id);
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let step: Result<bool> = async {
                let (events, cursor) = s.queue.read_events(&s.tenant, &s.id, &s.cursor).await?;
                s.cursor = cursor;
                if !events.is_empty() {
                    s.pending.extend(events);
                    return Ok(true);
                }
                let info =
                    s.queue.status(&s.tenant, &s.id).await?.ok_or_else(|| {
                        Error::invalid_argument("id", "no such job for this tenant")
                    })?;
                if !info.status.is_terminal() {
                    return Ok(false);
                }
                // What was published before the end, then the end itself if the worker did not say it.
                let (events, cursor) = s.queue.read_events(&s.tenant, &s.id, &s.cursor).await?;
                s.cursor = cursor;
                s.pending.extend(events);
                if !s
                    .pending
                    .iter()
                    .any(|e| matches!(e, JobEvent::Finished { .. }))
                {
                    s.pending.push_back(JobEvent::Finished {
                        status: info.status,
                        result_id: info.result_id,
                        error: info.error,
                    });
                }
                Ok(true)
            }
            .await;
            match step {
                Ok(true) => {}
                Ok(false) => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            }
        }
    });
    Box::pin(stream)
}

/// What a principal may do with its firm's jobs. The queue does not keep in clear which company a job is for,
/// so the rules are the vault's where it can apply them and stricter where it cannot: the firm's CPAs and Admins
/// see, follow and cancel its jobs; a Client reads the result of a job only through the vault (its own company's
/// analysis, signed off when sign-off is required), and does not see, follow or cancel jobs. Another firm's job
/// ids are simply not found (`None`, as for an unknown id: no oracle of which ids exist).
fn may_operate(principal: &crate::security::Principal, what: &str) -> Result<()> {
    match principal.role {
        crate::security::Role::Cpa | crate::security::Role::Admin => Ok(()),
        crate::security::Role::Client => Err(Error::AccessDenied {
            reason: format!("only the firm's CPAs and Admins may {what} its jobs"),
        }),
    }
}

/// [`Queue::status`] of a job of the principal's firm, under the role rules below: the firm's CPAs
/// and Admins see, follow and cancel its jobs; a Client does none of it (it reads its own company's result
/// through the vault); another firm's ids are not found.
pub async fn status_for(
    queue: &dyn Queue,
    principal: &crate::security::Principal,
    id: &str,
) -> Result<Option<JobInfo>> {
    may_operate(principal, "see")?;
    queue.status(&principal.tenant, id).await
}

/// [`Queue::cancel`] of a job of the principal's firm, under the role rules below: the firm's CPAs
/// and Admins see, follow and cancel its jobs; a Client does none of it (it reads its own company's result
/// through the vault); another firm's ids are not found.
pub async fn cancel_for(
    queue: &dyn Queue,
    principal: &crate::security::Principal,
    id: &str,
) -> Result<Option<JobStatus>> {
    may_operate(principal, "cancel")?;
    queue.cancel(&principal.tenant, id).await
}

/// [`follow`] for a job of the principal's firm, under the role rules below: the firm's CPAs
/// and Admins see, follow and cancel its jobs; a Client does none of it (it reads its own company's result
/// through the vault); another firm's ids are not found.
pub fn follow_for(
    queue: Arc<dyn Queue>,
    principal: &crate::security::Principal,
    id: impl Into<String>,
) -> Result<futures::stream::BoxStream<'static, Result<JobEvent>>> {
    may_operate(principal, "follow")?;
    Ok(follow(queue, principal.tenant.clone(), id))
}

/// A job's analysis once it succeeded, read from the vault as `principal` (so a Client reads only its own
/// company's, and only once signed off when the vault requires it); `None` before, or for another firm's job.
pub async fn result_for(
    queue: &dyn Queue,
    vault: &crate::store::Vault,
    principal: &crate::security::Principal,
    id: &str,
) -> Result<Option<crate::Analysis>> {
    let tenant = &principal.tenant;
    let Some(result_id) = queue.status(tenant, id).await?.and_then(|i| i.result_id) else {
        return Ok(None);
    };
    vault
        .load_analysis(principal, tenant, &result_id)
        .await
        .map(Some)
}

/// A job's analysis once it succeeded (read from the vault as a CPA of the tenant), else `None`. For a host's own
/// trusted code; requests on behalf of a person use [`result_for`].
pub async fn result(
    queue: &dyn Queue,
    vault: &crate::store::Vault,
    tenant: &str,
    id: &str,
) -> Result<Option<crate::Analysis>> {
    let Some(result_id) = queue.status(tenant, id).await?.and_then(|i| i.result_id) else {
        return Ok(None);
    };
    let cpa = crate::security::Principal::new(tenant, crate::security::Role::Cpa, None)?;
    vault
        .load_analysis(&cpa, tenant, &result_id)
        .await
        .map(Some)
}

/// The wait before attempt `attempt + 1`: 200 ms doubling, at most 30 s, with ±20 % jitter.
pub fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(8).saturating_sub(1));
    let ms = base.min(30_000);
    let jitter = fastrand::u64(0..=ms / 5);
    Duration::from_millis(ms - ms / 10 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_a_bad_one_every_time() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/data/bistro-saint-denis.json"
        ))
        .unwrap();
        let a = parsed(&text).unwrap();
        let b = parsed(&text).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same text reuses its parse");
        let other = parsed(&text.replace('\n', " ")).unwrap();
        assert_eq!(other.fingerprint(), a.fingerprint(), "the same document");
        assert!(
            !Arc::ptr_eq(&a, &other),
            "another text is parsed on its own"
        );
        for _ in 0..2 {
            assert_eq!(parsed("{").unwrap_err().code(), "invalid_statements");
        }
    }
}
