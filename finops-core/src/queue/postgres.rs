//! The PostgreSQL queue: one table, `SELECT … FOR UPDATE SKIP LOCKED` so concurrent workers never take the same
//! job, leases that expire when a worker dies, retries with backoff, dead letters, and `LISTEN/NOTIFY` so idle
//! workers wake as soon as a job arrives. Job payloads are sealed with the vault's keys (the statements and the
//! question are client data).

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use super::{Claimed, JobEvent, JobInfo, JobSpec, JobStatus, Queue, Signals, backoff};
use crate::error::{Error, Result};
use crate::security::crypto::Sealed;
use crate::store::Vault;

const CHANNEL: &str = "finops_jobs";
/// Notifications of new events or a cancellation, the payload a job id.
const EVENTS: &str = "finops_job_events";
const KIND: &str = "job";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS finops_jobs (id TEXT PRIMARY KEY, queue TEXT NOT NULL, tenant TEXT NOT NULL, idempotency_key TEXT NOT NULL, \
     client_tag TEXT NOT NULL, priority INT NOT NULL, status TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0, \
     max_attempts INT NOT NULL, run_after TIMESTAMPTZ NOT NULL DEFAULT now(), lease_until TIMESTAMPTZ, worker TEXT, \
     payload BYTEA NOT NULL, error TEXT, result_id TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
     UNIQUE (queue, tenant, idempotency_key))",
    "CREATE INDEX IF NOT EXISTS finops_jobs_runnable ON finops_jobs (queue, status, priority DESC, run_after)",
    // Claims read this one in order and stop after the jobs they take (no sort of the whole queue).
    "CREATE INDEX IF NOT EXISTS finops_jobs_queued ON finops_jobs (queue, priority DESC, run_after, created_at) \
     WHERE status = 'queued'",
    // Jobs' event logs (sealed batches), read by followers in other processes; kept a day.
    "CREATE TABLE IF NOT EXISTS finops_job_events (seq BIGSERIAL PRIMARY KEY, job_id TEXT NOT NULL, tenant TEXT NOT NULL, \
     client_tag TEXT NOT NULL, payload BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS finops_job_events_job ON finops_job_events (job_id, seq)",
    // When a job ended (succeeded, dead or cancelled): ended jobs are deleted after the queue's retention.
    "ALTER TABLE finops_jobs ADD COLUMN IF NOT EXISTS ended_at TIMESTAMPTZ",
    "CREATE INDEX IF NOT EXISTS finops_jobs_ended ON finops_jobs (queue, ended_at) WHERE ended_at IS NOT NULL",
];

/// How often a process deletes the jobs that ended more than the retention ago.
const PRUNE_EVERY_MS: i64 = 60_000;

fn e(err: sqlx::Error) -> Error {
    Error::from_sqlx(crate::BackendKind::Postgres, "postgres queue", &err)
}

/// A completion waiting for the next batch.
type Completion = (
    String,
    String,
    String,
    tokio::sync::oneshot::Sender<Result<bool>>,
);

/// Completions batched: those that arrive while an update runs go together in the next one (a busy worker
/// completes dozens of jobs per statement). Each batch runs in a task of its own, so a dropped caller cannot cut
/// it for the others.
#[derive(Clone)]
struct Completer {
    fast: PgPool,
    pending: Arc<std::sync::Mutex<Vec<Completion>>>,
    one_at_a_time: Arc<Mutex<()>>,
}

impl Completer {
    async fn complete(&self, id: &str, worker: &str, result_id: &str) -> Result<bool> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((
                id.to_string(),
                worker.to_string(),
                result_id.to_string(),
                done,
            ));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(self.clone().flush())),
            // Polled outside a tokio runtime: flush here.
            Err(_) => self.clone().flush().await,
        }
        result
            .await
            .map_err(|_| Error::Internal("postgres queue: a completion batch stopped".into()))?
    }

    async fn flush(self) {
        let _one = self.one_at_a_time.lock().await;
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        let ids: Vec<&str> = batch.iter().map(|c| c.0.as_str()).collect();
        let workers: Vec<&str> = batch.iter().map(|c| c.1.as_str()).collect();
        let results: Vec<&str> = batch.iter().map(|c| c.2.as_str()).collect();
        let done = sqlx::query(
            "UPDATE finops_jobs AS j SET status = 'succeeded', result_id = c.result_id, lease_until = NULL, \
             error = NULL, ended_at = now() FROM unnest($1::text[], $2::text[], $3::text[]) AS c(id, worker, result_id) \
             WHERE j.id = c.id AND j.worker = c.worker AND j.status = 'running' RETURNING j.id",
        )
        .bind(&ids)
        .bind(&workers)
        .bind(&results)
        .fetch_all(&self.fast)
        .await;
        match done {
            Ok(rows) => {
                let completed: std::collections::HashSet<String> =
                    rows.iter().filter_map(|r| r.try_get("id").ok()).collect();
                for (id, _, _, tx) in batch {
                    let _ = tx.send(Ok(completed.contains(&id)));
                }
            }
            Err(err) => {
                let reason = format!("postgres queue: {err}");
                for (.., tx) in batch {
                    let _ = tx.send(Err(Error::Internal(reason.clone())));
                }
            }
        }
    }
}

/// Jobs in PostgreSQL.
pub struct PgQueue {
    /// Enqueues and reads: an enqueue is committed durably before it returns.
    pool: PgPool,
    /// Claims, completions, failures, heartbeats: `synchronous_commit = off`. A commit lost in a database crash
    /// only makes a job run again, and a job's result is stored under its id, so a rerun replaces it.
    fast: PgPool,
    /// Several named queues can share the table (one per deployment or per test).
    name: String,
    vault: Arc<Vault>,
    listener: Mutex<Option<PgListener>>,
    /// How the event followers connect (TLS included), as the pools do.
    listen_options: sqlx::postgres::PgConnectOptions,
    /// Followers' wake-ups, fed by a listener on `finops_job_events` started with the first follower.
    signals: Arc<Signals>,
    following: std::sync::atomic::AtomicBool,
    /// When this process last moved expired last attempts to the dead letters (ms since the epoch).
    swept: std::sync::atomic::AtomicI64,
    completer: Completer,
    /// How long an ended job is kept (its status, its idempotency key, its sealed payload).
    retention: Duration,
    /// When this process last deleted jobs past their retention (ms since the epoch).
    pruned: std::sync::atomic::AtomicI64,
}

impl Drop for PgQueue {
    fn drop(&mut self) {
        // sqlx's listener spawns its goodbye on the current tokio runtime when dropped, and panics without one: a
        // host may drop the queue anywhere (a Python object collected on a thread of its own). Without a runtime
        // the listener is dropped inside a throwaway one.
        if let Some(listener) = self.listener.get_mut().take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            match tokio::runtime::Builder::new_current_thread().build() {
                Ok(runtime) => {
                    let _inside = runtime.enter();
                    drop(listener);
                }
                Err(_) => std::mem::forget(listener),
            }
        }
    }
}

impl std::fmt::Debug for PgQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgQueue").field("name", &self.name).finish()
    }
}

fn info(row: &sqlx::postgres::PgRow) -> Result<JobInfo> {
    let attempts: i32 = row.try_get("attempts").map_err(e)?;
    let max_attempts: i32 = row.try_get("max_attempts").map_err(e)?;
    let status: String = row.try_get("status").map_err(e)?;
    Ok(JobInfo {
        id: row.try_get("id").map_err(e)?,
        tenant: row.try_get("tenant").map_err(e)?,
        idempotency_key: row.try_get("idempotency_key").map_err(e)?,
        status: JobStatus::parse(&status)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        max_attempts: u32::try_from(max_attempts).unwrap_or(0),
        error: row.try_get("error").map_err(e)?,
        result_id: row.try_get("result_id").map_err(e)?,
    })
}

impl PgQueue {
    /// Connects to `url` and creates the table if needed. `vault` seals the payloads: every process of the
    /// deployment opens its vault over the same store and master key.
    pub async fn connect(url: &str, vault: Arc<Vault>) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(crate::store::postgres::connect_options(url, "queue")?)
            .await
            .map_err(|err| Error::from_sqlx_connect(crate::BackendKind::Postgres, "queue", &err))?;
        // Processes starting together must not race on `CREATE TABLE IF NOT EXISTS`.
        let mut tx = pool.begin().await.map_err(e)?;
        sqlx::query("SELECT pg_advisory_xact_lock(7319027)")
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&mut *tx).await.map_err(e)?;
        }
        for (table, column) in [("finops_jobs", "payload"), ("finops_job_events", "payload")] {
            sqlx::query(crate::store::postgres::uncompressed(table, column))
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        let fast = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET synchronous_commit = off")
                        .execute(&mut *conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(crate::store::postgres::connect_options(url, "queue")?)
            .await
            .map_err(e)?;
        let options = crate::store::postgres::connect_options(url, "queue")?;
        let mut listener = crate::store::postgres::listener(options.clone())
            .await
            .map_err(e)?;
        listener.listen(CHANNEL).await.map_err(e)?;
        Ok(PgQueue {
            pool,
            fast: fast.clone(),
            name: "default".into(),
            vault,
            listener: Mutex::new(Some(listener)),
            listen_options: options,
            signals: Arc::default(),
            following: std::sync::atomic::AtomicBool::new(false),
            swept: std::sync::atomic::AtomicI64::new(0),
            retention: Duration::from_secs(86_400),
            pruned: std::sync::atomic::AtomicI64::new(0),
            completer: Completer {
                fast: fast.clone(),
                pending: Arc::default(),
                one_at_a_time: Arc::default(),
            },
        })
    }

    /// How long an ended job (succeeded, dead or cancelled) stays in the table before it is deleted with its sealed
    /// payload (default a day; at least a second): its status, its result id and its idempotency key are known
    /// until then, and enqueuing the same key afterwards makes a new job. Every process of a queue prunes (at
    /// most once a minute), so they should agree on it.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::from_secs(1));
        self
    }

    /// Deletes this queue's jobs that ended more than the retention ago (at most once a minute per process, or
    /// now with `force`); how many.
    pub async fn prune(&self, force: bool) -> Result<u64> {
        use std::sync::atomic::Ordering;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let last = self.pruned.load(Ordering::Relaxed);
        if !force
            && (now_ms - last < PRUNE_EVERY_MS
                || self
                    .pruned
                    .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err())
        {
            return Ok(0);
        }
        self.pruned.store(now_ms, Ordering::Relaxed);
        let done = sqlx::query(
            "DELETE FROM finops_jobs WHERE queue = $1 AND ended_at < now() - make_interval(secs => $2::double precision)",
        )
        .bind(&self.name)
        .bind(self.retention.as_secs_f64())
        .execute(&self.fast)
        .await
        .map_err(e)?;
        Ok(done.rows_affected())
    }

    /// Uses the named queue `name` in the same table (default `default`).
    pub fn named(mut self, name: &str) -> Result<Self> {
        if name.trim().is_empty() || name.len() > 64 {
            return Err(Error::invalid_argument(
                "queue",
                "a queue name has 1 to 64 characters",
            ));
        }
        self.name = name.to_string();
        Ok(self)
    }

    /// Relays `finops_job_events` notifications to this process's followers until the queue is dropped.
    fn start_following(&self) {
        use std::sync::atomic::Ordering;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to listen from: followers read every second instead.
            return;
        };
        if self.following.swap(true, Ordering::AcqRel) {
            return;
        }
        let (options, signals) = (self.listen_options.clone(), Arc::downgrade(&self.signals));
        runtime.spawn(async move {
            let mut listener = loop {
                let listener = async {
                    let mut l = crate::store::postgres::listener(options.clone()).await?;
                    l.listen(EVENTS).await?;
                    Ok::<_, sqlx::Error>(l)
                };
                match listener.await {
                    Ok(l) => break l,
                    Err(err) => {
                        tracing::warn!(error = %err, "following job events: cannot listen, trying again");
                        if signals.strong_count() == 0 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
                let Some(signals) = signals.upgrade() else {
                    return;
                };
                match next {
                    Ok(Ok(n)) => signals.wake(n.payload()),
                    // The listener reconnects by itself; a follower re-reads at least every second meanwhile.
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "following job events");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(_) => {}
                }
            }
        });
    }

    async fn open(&self, row: &sqlx::postgres::PgRow) -> Result<JobSpec> {
        let id: String = row.try_get("id").map_err(e)?;
        let tenant: String = row.try_get("tenant").map_err(e)?;
        let client_tag: String = row.try_get("client_tag").map_err(e)?;
        let payload: Vec<u8> = row.try_get("payload").map_err(e)?;
        let sealed = Sealed::from_bytes(&payload).map_err(|err| Error::Integrity {
            reason: format!("job {id}: {err}"),
        })?;
        let plain = self
            .vault
            .open_cache_value(KIND, &tenant, &client_tag, &id, &sealed)
            .await?
            .ok_or_else(|| Error::KeyUnavailable {
                key_id: sealed.key_id.clone(),
                reason: format!("job {id}: its client or tenant was erased"),
            })?;
        serde_json::from_slice(&plain).map_err(|err| Error::Integrity {
            reason: format!("job {id}: {err}"),
        })
    }
}

#[async_trait::async_trait]
impl Queue for PgQueue {
    async fn close(&self) {
        self.pool.close().await;
    }

    async fn enqueue(&self, spec: &JobSpec) -> Result<String> {
        let client = spec.checked_client()?;
        let id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::to_vec(spec).map_err(|x| Error::Internal(x.to_string()))?;
        let (client_tag, sealed) = self
            .vault
            .seal_cache_value(KIND, &spec.tenant, &client, &id, &body)
            .await?;
        let payload = sealed.to_bytes();
        // One statement, one commit: the job is stored and the workers are woken.
        let inserted = sqlx::query(
            "WITH inserted AS (INSERT INTO finops_jobs (id, tenant, idempotency_key, client_tag, priority, status, \
             max_attempts, payload, queue) VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8) \
             ON CONFLICT (queue, tenant, idempotency_key) DO NOTHING RETURNING id) \
             SELECT id, pg_notify($9, id) FROM inserted",
        )
        .bind(&id)
        .bind(&spec.tenant)
        .bind(&spec.idempotency_key)
        .bind(&client_tag)
        .bind(spec.priority)
        .bind(i32::try_from(spec.max_attempts).unwrap_or(3))
        .bind(payload)
        .bind(&self.name)
        .bind(CHANNEL)
        .fetch_optional(&self.pool)
        .await
        .map_err(e)?;
        match inserted {
            Some(row) => row.try_get::<String, _>("id").map_err(e),
            // The same key was enqueued before (here or by another process): that job is the answer.
            None => sqlx::query(
                "SELECT id FROM finops_jobs WHERE queue = $1 AND tenant = $2 AND idempotency_key = $3",
            )
            .bind(&self.name)
            .bind(&spec.tenant)
            .bind(&spec.idempotency_key)
            .fetch_one(&self.pool)
            .await
            .map_err(e)?
            .try_get("id")
            .map_err(e),
        }
    }

    async fn enqueue_many(&self, specs: &[JobSpec]) -> Result<Vec<String>> {
        let clients = super::check_batch(specs)?;
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(specs.len());
        let (mut tenants, mut keys, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        let (mut priorities, mut attempts, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
        for (spec, client) in specs.iter().zip(&clients) {
            let id = uuid::Uuid::new_v4().to_string();
            let body = serde_json::to_vec(spec).map_err(|x| Error::Internal(x.to_string()))?;
            let (client_tag, sealed) = self
                .vault
                .seal_cache_value(KIND, &spec.tenant, client, &id, &body)
                .await?;
            ids.push(id);
            tenants.push(spec.tenant.as_str());
            keys.push(spec.idempotency_key.as_str());
            tags.push(client_tag);
            priorities.push(spec.priority);
            attempts.push(i32::try_from(spec.max_attempts).unwrap_or(3));
            payloads.push(sealed.to_bytes());
        }
        // One statement and one durable commit for the batch, then one wake-up.
        let mut tx = self.pool.begin().await.map_err(e)?;
        sqlx::query(
            "INSERT INTO finops_jobs (id, tenant, idempotency_key, client_tag, priority, status, max_attempts, payload, queue) \
             SELECT id, tenant, key, tag, priority, 'queued', max_attempts, payload, $8 \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bytea[]) \
               AS t(id, tenant, key, tag, priority, max_attempts, payload) \
             ON CONFLICT (queue, tenant, idempotency_key) DO NOTHING",
        )
        .bind(&ids)
        .bind(&tenants)
        .bind(&keys)
        .bind(&tags)
        .bind(&priorities)
        .bind(&attempts)
        .bind(&payloads)
        .bind(&self.name)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        sqlx::query("SELECT pg_notify($1, 'batch')")
            .bind(CHANNEL)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        // Each job's id: its own, or that of the job enqueued earlier with the same key.
        let rows = sqlx::query(
            "SELECT j.tenant, j.idempotency_key, j.id FROM finops_jobs j \
             JOIN unnest($2::text[], $3::text[]) AS k(tenant, key) ON j.tenant = k.tenant AND j.idempotency_key = k.key \
             WHERE j.queue = $1",
        )
        .bind(&self.name)
        .bind(&tenants)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        let mut existing = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let tenant: String = row.try_get("tenant").map_err(e)?;
            let key: String = row.try_get("idempotency_key").map_err(e)?;
            existing.insert((tenant, key), row.try_get::<String, _>("id").map_err(e)?);
        }
        specs
            .iter()
            .map(|spec| {
                existing
                    .get(&(spec.tenant.clone(), spec.idempotency_key.clone()))
                    .cloned()
                    .ok_or_else(|| {
                        Error::Internal("postgres queue: an enqueued job is missing".into())
                    })
            })
            .collect()
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claimed>> {
        Ok(self.claim_batch(worker, lease, 1).await?.pop())
    }

    async fn claim_batch(&self, worker: &str, lease: Duration, max: usize) -> Result<Vec<Claimed>> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        // Jobs whose worker died (lease expired) are queued again, or go to the dead letters after their last
        // attempt (checked at most every 200 ms by each process: leases are seconds long).
        let now_ms = chrono::Utc::now().timestamp_millis();
        let last = self.swept.load(std::sync::atomic::Ordering::Relaxed);
        if now_ms - last >= 200
            && self
                .swept
                .compare_exchange(
                    last,
                    now_ms,
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            sqlx::query(
                "UPDATE finops_jobs SET lease_until = NULL, \
                 status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                 error = CASE WHEN attempts >= max_attempts \
                   THEN COALESCE(error, 'the worker stopped during every attempt') ELSE error END, \
                 ended_at = CASE WHEN attempts >= max_attempts THEN now() END \
                 WHERE queue = $1 AND status = 'running' AND lease_until < now()",
            )
            .bind(&self.name)
            .execute(&self.fast)
            .await
            .map_err(e)?;
            self.prune(false).await?;
        }
        let rows = sqlx::query(
            "UPDATE finops_jobs SET status = 'running', attempts = attempts + 1, worker = $1, \
             lease_until = now() + make_interval(secs => $2::double precision / 1000) \
             WHERE id IN (SELECT id FROM finops_jobs \
                         WHERE queue = $3 AND status = 'queued' AND run_after <= now() \
                         ORDER BY priority DESC, run_after, created_at \
                         FOR UPDATE SKIP LOCKED LIMIT $4) \
             RETURNING id, tenant, client_tag, payload, attempts, priority, \
             (extract(epoch FROM run_after) * 1000000)::bigint AS run_after_us, \
             (extract(epoch FROM created_at) * 1000000)::bigint AS created_us",
        )
        .bind(worker)
        .bind(lease_ms)
        .bind(&self.name)
        .bind(i64::try_from(max.clamp(1, 1000)).unwrap_or(1))
        .fetch_all(&self.fast)
        .await
        .map_err(e)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id").map_err(e)?;
            let attempt: i32 = row.try_get("attempts").map_err(e)?;
            match self.open(row).await {
                Ok(spec) => claimed.push((
                    row.try_get::<i32, _>("priority").map_err(e)?,
                    row.try_get::<i64, _>("run_after_us").map_err(e)?,
                    row.try_get::<i64, _>("created_us").map_err(e)?,
                    Claimed {
                        id,
                        spec,
                        attempt: u32::try_from(attempt).unwrap_or(1),
                        worker: worker.to_string(),
                    },
                )),
                Err(err) => {
                    // A payload no worker can read (erased client, tampered row): straight to the dead letters.
                    sqlx::query("UPDATE finops_jobs SET status = 'dead', lease_until = NULL, error = $2, ended_at = now() WHERE id = $1")
                        .bind(&id)
                        .bind(err.to_string())
                        .execute(&self.fast)
                        .await
                        .map_err(e)?;
                }
            }
        }
        // RETURNING does not keep the subquery's order.
        claimed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        Ok(claimed.into_iter().map(|(_, _, _, c)| c).collect())
    }

    async fn complete(&self, job: &Claimed, result_id: &str) -> Result<bool> {
        self.completer
            .complete(&job.id, &job.worker, result_id)
            .await
    }

    async fn fail(&self, job: &Claimed, error: &str, retryable: bool) -> Result<JobStatus> {
        let delay_ms = i64::try_from(backoff(job.attempt).as_millis()).unwrap_or(30_000);
        let row = sqlx::query(
            "UPDATE finops_jobs SET \
               status = CASE WHEN $3 AND attempts < max_attempts THEN 'queued' ELSE 'dead' END, \
               run_after = now() + make_interval(secs => $4::double precision / 1000), \
               lease_until = NULL, error = $5, \
               ended_at = CASE WHEN $3 AND attempts < max_attempts THEN NULL ELSE now() END \
             WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING status",
        )
        .bind(&job.id)
        .bind(&job.worker)
        .bind(retryable)
        .bind(delay_ms)
        .bind(error)
        .fetch_optional(&self.fast)
        .await
        .map_err(e)?;
        match row {
            Some(r) => JobStatus::parse(&r.try_get::<String, _>("status").map_err(e)?),
            // The lease was lost: the job is another worker's now.
            None => Ok(JobStatus::Running),
        }
    }

    async fn heartbeat(&self, job: &Claimed, lease: Duration) -> Result<bool> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let r = sqlx::query(
            "UPDATE finops_jobs SET lease_until = now() + make_interval(secs => $3::double precision / 1000) \
             WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
        .bind(&job.id)
        .bind(&job.worker)
        .bind(lease_ms)
        .execute(&self.fast)
        .await
        .map_err(e)?;
        Ok(r.rows_affected() == 1)
    }

    async fn status(&self, tenant: &str, id: &str) -> Result<Option<JobInfo>> {
        let row =
            sqlx::query("SELECT * FROM finops_jobs WHERE queue = $3 AND tenant = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .bind(&self.name)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
        row.as_ref().map(info).transpose()
    }

    async fn dead_letters(&self, tenant: &str) -> Result<Vec<JobInfo>> {
        let rows = sqlx::query(
            "SELECT * FROM finops_jobs WHERE queue = $2 AND tenant = $1 AND status = 'dead' ORDER BY created_at",
        )
        .bind(tenant)
        .bind(&self.name)
        .fetch_all(&self.pool)
        .await
        .map_err(e)?;
        rows.iter().map(info).collect()
    }

    async fn counts(&self) -> Result<Option<super::QueueCounts>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, count(*) FROM finops_jobs WHERE queue = $1 AND status IN ('queued', 'running', 'dead') \
             GROUP BY status",
        )
        .bind(&self.name)
        .fetch_all(&self.pool)
        .await
        .map_err(e)?;
        let mut counts = super::QueueCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "queued" => counts.queued = n,
                "running" => counts.running = n,
                _ => counts.dead = n,
            }
        }
        Ok(Some(counts))
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let mut guard = self.listener.lock().await;
        match guard.as_mut() {
            Some(listener) => {
                let _ = tokio::time::timeout(timeout, listener.recv()).await;
            }
            None => tokio::time::sleep(timeout).await,
        }
    }

    async fn cancel(&self, tenant: &str, id: &str) -> Result<Option<JobStatus>> {
        let cancelled = sqlx::query(
            "WITH c AS (UPDATE finops_jobs SET status = 'cancelled', lease_until = NULL, error = 'cancelled', ended_at = now() \
             WHERE queue = $1 AND tenant = $2 AND id = $3 AND status IN ('queued', 'running') RETURNING id) \
             SELECT id, pg_notify($4, id) FROM c",
        )
        .bind(&self.name)
        .bind(tenant)
        .bind(id)
        .bind(EVENTS)
        .fetch_optional(&self.pool)
        .await
        .map_err(e)?;
        if cancelled.is_some() {
            return Ok(Some(JobStatus::Cancelled));
        }
        Ok(self.status(tenant, id).await?.map(|i| i.status))
    }

    async fn publish(&self, job: &Claimed, client: &str, events: &[JobEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (client_tag, payload) = super::seal_events(&self.vault, job, client, events).await?;
        sqlx::query(
            "WITH ins AS (INSERT INTO finops_job_events (job_id, tenant, client_tag, payload) VALUES ($1, $2, $3, $4) \
             RETURNING job_id) SELECT pg_notify($5, job_id) FROM ins",
        )
        .bind(&job.id)
        .bind(&job.spec.tenant)
        .bind(client_tag)
        .bind(payload)
        .bind(EVENTS)
        .execute(&self.fast)
        .await
        .map_err(e)?;
        // Event logs are kept a day (checked now and then).
        if fastrand::u16(..) < 64 {
            sqlx::query(
                "DELETE FROM finops_job_events WHERE created_at < now() - interval '1 day'",
            )
            .execute(&self.fast)
            .await
            .map_err(e)?;
        }
        Ok(())
    }

    async fn read_events(
        &self,
        tenant: &str,
        id: &str,
        cursor: &str,
    ) -> Result<(Vec<JobEvent>, String)> {
        let after: i64 = if cursor.is_empty() {
            0
        } else {
            cursor
                .parse()
                .map_err(|_| Error::invalid_argument("cursor", "not a cursor of this queue"))?
        };
        let rows = sqlx::query(
            "SELECT seq, client_tag, payload FROM finops_job_events WHERE job_id = $1 AND tenant = $2 AND seq > $3 \
             ORDER BY seq LIMIT 256",
        )
        .bind(id)
        .bind(tenant)
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .map_err(e)?;
        let mut events = Vec::new();
        let mut last = after;
        for row in rows {
            last = row.try_get("seq").map_err(e)?;
            let client_tag: String = row.try_get("client_tag").map_err(e)?;
            let payload: Vec<u8> = row.try_get("payload").map_err(e)?;
            events
                .extend(super::open_events(&self.vault, tenant, id, &client_tag, &payload).await?);
        }
        Ok((events, last.to_string()))
    }

    fn signal(&self, id: &str) -> Arc<tokio::sync::Notify> {
        self.start_following();
        self.signals.get(id)
    }
}
