//! The Redis Streams queue: jobs are stream entries read by a consumer group; a worker's entry stays pending until
//! it is acknowledged, and an entry idle for longer than the lease (its worker died) is taken over with
//! `XAUTOCLAIM`. Retries wait in a sorted set until their backoff ends; jobs that keep failing go to a dead-letter
//! stream. Each job's state (status, attempts, sealed payload, result) lives in a hash beside the stream.
//!
//! Keys, under `finops:<queue name>`: `:jobs` (stream, group `workers`), `:job:<id>` (hash), `:key:<tenant
//! hash>:<idempotency key>` (the job id), `:delayed` (sorted set of retries), `:dead` (stream of dead letters),
//! `:events:<id>` (a job's event log: a stream of sealed batches) and the channel `:events` (a job id when its
//! events or status change).
//! Priorities are not honoured by this backend (one stream, first in first out). The lease is the entries' idle
//! time: a claimer takes over entries idle for longer than the `lease` it passes, so every worker of a queue
//! should use the same lease (heartbeats reset the idle time).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use sha2::{Digest, Sha256};

use super::{Claimed, JobEvent, JobInfo, JobSpec, JobStatus, Queue, Signals, backoff};
use crate::error::{Error, Result};
use crate::security::crypto::Sealed;
use crate::store::Vault;

mod claims;
mod events;
mod scripts;

use scripts::{CANCEL, COMPLETE, FORGET_LATER, START};

const KIND: &str = "job";
const GROUP: &str = "workers";
/// A job's event stream keeps about this many batches and lives a day after its last one.
const EVENTS_MAX: u32 = 10_000;
const EVENTS_TTL_SECONDS: u64 = 86_400;

fn e(err: redis::RedisError) -> Error {
    Error::from_redis("redis queue", &err)
}

/// Jobs in Redis Streams.
pub struct RedisQueue {
    conn: ConnectionManager,
    vault: Arc<Vault>,
    prefix: String,
    /// Wakes idle workers: every enqueue publishes on `<prefix>:wake`.
    wake: tokio::sync::Mutex<redis::aio::PubSub>,
    client: redis::Client,
    /// Followers' wake-ups, fed by a subscription to `<prefix>:events` started with the first follower.
    signals: Arc<Signals>,
    following: std::sync::atomic::AtomicBool,
    /// When this process last moved due retries back to the stream (ms since the epoch).
    promoted: std::sync::atomic::AtomicI64,
    /// How long an ended job stays known (its hash, its idempotency key, its dead letter).
    retention: Duration,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisQueue {
    /// Connects to `url` (`redis://host:port[/db]`, or `rediss://…[?ca_file=…]` over TLS) and uses the queue
    /// `name`.
    pub async fn connect(url: &str, name: &str, vault: Arc<Vault>) -> Result<Self> {
        if name.trim().is_empty() || name.len() > 64 {
            return Err(Error::invalid_argument(
                "queue",
                "a queue name has 1 to 64 characters",
            ));
        }
        let client = crate::cache::redis_client(url, "queue")?;
        let mut conn = crate::cache::redis_manager(&client, "redis queue").await?;
        let prefix = format!("finops:{name}");
        let mut wake = client.get_async_pubsub().await.map_err(e)?;
        wake.subscribe(format!("{prefix}:wake")).await.map_err(e)?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(format!("{prefix}:jobs"))
            .arg(GROUP)
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(err) = created
            && err.code() != Some("BUSYGROUP")
        {
            return Err(e(err));
        }
        Ok(RedisQueue {
            conn,
            vault,
            prefix,
            wake: tokio::sync::Mutex::new(wake),
            client,
            signals: Arc::default(),
            following: std::sync::atomic::AtomicBool::new(false),
            promoted: std::sync::atomic::AtomicI64::new(0),
            retention: Duration::from_secs(86_400),
        })
    }

    /// How long an ended job (succeeded, dead or cancelled) stays known before Redis forgets it (default a day;
    /// at least a second): its status, result id and idempotency key (the same key then makes a new job), and its
    /// dead letter. Its stream entry goes as soon as it ends.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::from_secs(1));
        self
    }

    fn retention_secs(&self) -> u64 {
        self.retention.as_secs().max(1)
    }

    fn jobs(&self) -> String {
        format!("{}:jobs", self.prefix)
    }

    fn job(&self, id: &str) -> String {
        format!("{}:job:{id}", self.prefix)
    }

    /// The key holding the id of the job enqueued with a spec's tenant and idempotency key.
    fn key(&self, spec: &JobSpec) -> String {
        format!(
            "{}:key:{}:{}",
            self.prefix,
            tenant_hash(&spec.tenant),
            spec.idempotency_key
        )
    }

    /// Adds a new job's hash and stream entry to a pipeline.
    fn add_job(
        &self,
        pipe: &mut redis::Pipeline,
        id: &str,
        spec: &JobSpec,
        client_tag: &str,
        sealed: &Sealed,
    ) {
        pipe.cmd("HSET")
            .arg(self.job(id))
            .arg("tenant")
            .arg(&spec.tenant)
            .arg("key")
            .arg(&spec.idempotency_key)
            .arg("ikey")
            .arg(self.key(spec))
            .arg("client_tag")
            .arg(client_tag)
            .arg("payload")
            .arg(sealed.to_bytes())
            .arg("status")
            .arg("queued")
            .arg("attempts")
            .arg(0)
            .arg("max_attempts")
            .arg(spec.max_attempts)
            .ignore()
            .cmd("XADD")
            .arg(self.jobs())
            .arg("*")
            .arg("id")
            .arg(id)
            .ignore();
    }

    fn events(&self, id: &str) -> String {
        format!("{}:events:{id}", self.prefix)
    }

    async fn fields(&self, id: &str) -> Result<std::collections::HashMap<String, Vec<u8>>> {
        let mut conn = self.conn.clone();
        redis::cmd("HGETALL")
            .arg(self.job(id))
            .query_async(&mut conn)
            .await
            .map_err(e)
    }

    fn info(id: &str, f: &std::collections::HashMap<String, Vec<u8>>) -> Result<JobInfo> {
        let text = |k: &str| f.get(k).map(|v| String::from_utf8_lossy(v).to_string());
        let number = |k: &str| text(k).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        Ok(JobInfo {
            id: id.to_string(),
            tenant: text("tenant").unwrap_or_default(),
            idempotency_key: text("key").unwrap_or_default(),
            status: JobStatus::parse(&text("status").unwrap_or_default())?,
            attempts: number("attempts"),
            max_attempts: number("max_attempts"),
            error: text("error"),
            result_id: text("result_id"),
        })
    }
}

fn tenant_hash(tenant: &str) -> String {
    Sha256::digest(tenant.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[async_trait::async_trait]
impl Queue for RedisQueue {
    async fn enqueue(&self, spec: &JobSpec) -> Result<String> {
        let client = spec.checked_client()?;
        let mut conn = self.conn.clone();
        let key = self.key(spec);
        let id = uuid::Uuid::new_v4().to_string();
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&id)
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map_err(e)?;
        if set.is_none() {
            let existing: String = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(e)?;
            return Ok(existing);
        }
        let body = serde_json::to_vec(spec).map_err(|err| Error::Internal(err.to_string()))?;
        let (client_tag, sealed) = self
            .vault
            .seal_cache_value(KIND, &spec.tenant, &client, &id, &body)
            .await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.add_job(&mut pipe, &id, spec, &client_tag, &sealed);
        pipe.cmd("PUBLISH")
            .arg(format!("{}:wake", self.prefix))
            .arg(&id)
            .ignore();
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(id)
    }

    async fn enqueue_many(&self, specs: &[JobSpec]) -> Result<Vec<String>> {
        let clients = super::check_batch(specs)?;
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        // Each key is taken by its new id unless a job holds it already (`SET … NX GET` answers that job's id).
        let fresh: Vec<String> = specs
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let mut pipe = redis::pipe();
        for (spec, id) in specs.iter().zip(&fresh) {
            pipe.cmd("SET")
                .arg(self.key(spec))
                .arg(id)
                .arg("NX")
                .arg("GET");
        }
        let held: Vec<Option<String>> = pipe.query_async(&mut conn).await.map_err(e)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut ids = Vec::with_capacity(specs.len());
        for (((spec, client), id), held) in specs.iter().zip(&clients).zip(fresh).zip(held) {
            match held {
                // Enqueued before, or earlier in this batch (the second `SET` saw the first's id).
                Some(existing) => ids.push(existing),
                None => {
                    let body =
                        serde_json::to_vec(spec).map_err(|err| Error::Internal(err.to_string()))?;
                    let (client_tag, sealed) = self
                        .vault
                        .seal_cache_value(KIND, &spec.tenant, client, &id, &body)
                        .await?;
                    self.add_job(&mut pipe, &id, spec, &client_tag, &sealed);
                    ids.push(id);
                }
            }
        }
        pipe.cmd("PUBLISH")
            .arg(format!("{}:wake", self.prefix))
            .arg("batch")
            .ignore();
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(ids)
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claimed>> {
        Ok(self.claim_batch(worker, lease, 1).await?.pop())
    }

    async fn claim_batch(&self, worker: &str, lease: Duration, max: usize) -> Result<Vec<Claimed>> {
        self.promote_now_and_then().await?;
        let mut conn = self.conn.clone();
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        let max = max.clamp(1, 1000);
        let mut out = Vec::new();
        // Entries that turn out finished or unreadable do not count: a few rounds to fill the slots.
        for _ in 0..16 {
            let want = max - out.len();
            if want == 0 {
                break;
            }
            // Entries whose worker went silent for longer than the lease, then new ones.
            let stale: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(self.jobs())
                .arg(GROUP)
                .arg(worker)
                .arg(lease_ms)
                .arg("0-0")
                .arg("COUNT")
                .arg(want)
                .query_async(&mut conn)
                .await
                .map_err(e)?;
            let mut entries = stale.claimed;
            if entries.len() < want {
                let fresh: Option<StreamReadReply> = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(worker)
                    .arg("COUNT")
                    .arg(want - entries.len())
                    .arg("STREAMS")
                    .arg(self.jobs())
                    .arg(">")
                    .query_async(&mut conn)
                    .await
                    .map_err(e)?;
                entries.extend(
                    fresh
                        .and_then(|r| r.keys.into_iter().next())
                        .map(|k| k.ids)
                        .unwrap_or_default(),
                );
            }
            if entries.is_empty() {
                break;
            }
            for entry in entries {
                if let Some(job) = self.start(worker, entry).await? {
                    out.push(job);
                }
            }
        }
        Ok(out)
    }

    async fn complete(&self, job: &Claimed, result_id: &str) -> Result<bool> {
        let mut conn = self.conn.clone();
        let done: i64 = redis::Script::new(COMPLETE)
            .key(self.job(&job.id))
            .key(self.jobs())
            .arg(&job.worker)
            .arg(result_id)
            .arg(self.retention_secs())
            .invoke_async(&mut conn)
            .await
            .map_err(e)?;
        Ok(done == 1)
    }

    async fn fail(&self, job: &Claimed, error: &str, retryable: bool) -> Result<JobStatus> {
        let f = self.fields(&job.id).await?;
        let info = Self::info(&job.id, &f)?;
        let holder = f
            .get("worker")
            .map(|v| String::from_utf8_lossy(v).to_string());
        if info.status != JobStatus::Running || holder.as_deref() != Some(job.worker.as_str()) {
            return Ok(info.status);
        }
        let msg = f
            .get("msg")
            .map(|v| String::from_utf8_lossy(v).to_string())
            .unwrap_or_default();
        if !(retryable && info.attempts < info.max_attempts) {
            self.bury(&job.id, &msg, &info.tenant, error).await?;
            return Ok(JobStatus::Dead);
        }
        let run_at = chrono::Utc::now().timestamp_millis()
            + i64::try_from(backoff(job.attempt).as_millis()).unwrap_or(30_000);
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(self.job(&job.id))
            .arg("status")
            .arg("queued")
            .arg("error")
            .arg(error)
            .ignore()
            .cmd("XACK")
            .arg(self.jobs())
            .arg(GROUP)
            .arg(&msg)
            .ignore()
            .cmd("ZADD")
            .arg(format!("{}:delayed", self.prefix))
            .arg(run_at)
            .arg(&job.id)
            .ignore();
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(JobStatus::Queued)
    }

    async fn heartbeat(&self, job: &Claimed, _lease: Duration) -> Result<bool> {
        let f = self.fields(&job.id).await?;
        let holder = f
            .get("worker")
            .map(|v| String::from_utf8_lossy(v).to_string());
        if holder.as_deref() != Some(job.worker.as_str())
            || f.get("status").map(Vec::as_slice) != Some(&b"running"[..])
        {
            return Ok(false);
        }
        let msg = f
            .get("msg")
            .map(|v| String::from_utf8_lossy(v).to_string())
            .unwrap_or_default();
        // Claiming its own entry again resets the entry's idle time: the lease starts over.
        let mut conn = self.conn.clone();
        let claimed: Vec<String> = redis::cmd("XCLAIM")
            .arg(self.jobs())
            .arg(GROUP)
            .arg(&job.worker)
            .arg(0)
            .arg(&msg)
            .arg("JUSTID")
            .query_async(&mut conn)
            .await
            .map_err(e)?;
        Ok(!claimed.is_empty())
    }

    async fn status(&self, tenant: &str, id: &str) -> Result<Option<JobInfo>> {
        let f = self.fields(id).await?;
        if f.is_empty() {
            return Ok(None);
        }
        let info = Self::info(id, &f)?;
        Ok((info.tenant == tenant).then_some(info))
    }

    async fn dead_letters(&self, tenant: &str) -> Result<Vec<JobInfo>> {
        let mut conn = self.conn.clone();
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(format!("{}:dead", self.prefix))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .map_err(e)?;
        let mut out = Vec::new();
        for entry in entries.ids {
            if entry.get::<String>("tenant").as_deref() != Some(tenant) {
                continue;
            }
            if let Some(id) = entry.get::<String>("id")
                && let Some(info) = self.status(tenant, &id).await?
            {
                out.push(info);
            }
        }
        Ok(out)
    }

    async fn wait_for_work(&self, timeout: Duration) {
        use futures::StreamExt;
        // An enqueue publishes on the wake channel; retries becoming due are found by the next claim, so the wait
        // is also bounded (at most half a second).
        let mut wake = self.wake.lock().await;
        let mut messages = wake.on_message();
        let _ =
            tokio::time::timeout(timeout.min(Duration::from_millis(500)), messages.next()).await;
    }

    async fn cancel(&self, tenant: &str, id: &str) -> Result<Option<JobStatus>> {
        let mut conn = self.conn.clone();
        let status: Option<String> = redis::Script::new(CANCEL)
            .key(self.job(id))
            .key(self.jobs())
            .key(format!("{}:delayed", self.prefix))
            .key(format!("{}:events", self.prefix))
            .arg(id)
            .arg(tenant)
            .arg(self.retention_secs())
            .invoke_async(&mut conn)
            .await
            .map_err(e)?;
        status.as_deref().map(JobStatus::parse).transpose()
    }

    async fn publish(&self, job: &Claimed, client: &str, events: &[JobEvent]) -> Result<()> {
        self.publish_events(job, client, events).await
    }

    async fn read_events(
        &self,
        tenant: &str,
        id: &str,
        cursor: &str,
    ) -> Result<(Vec<JobEvent>, String)> {
        self.read_event_batches(tenant, id, cursor).await
    }

    fn signal(&self, id: &str) -> Arc<tokio::sync::Notify> {
        self.start_following();
        self.signals.get(id)
    }
}
