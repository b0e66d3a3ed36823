#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What is particular to each queue backend: the in-process queue's bound, priorities and restart, workers running
//! jobs on PostgreSQL and Redis, ended jobs forgotten after the retention. What every backend must do is the
//! conformance suite in `queue_conformance.rs`.

use std::sync::Arc;
use std::time::Duration;

use finops_core::Pipeline;
use finops_core::queue::{JobSpec, JobStatus, PgQueue, Queue, Worker};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::security::{Principal, Role};
use finops_core::store::{PostgresStore, Store, Vault};

fn bistro() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .unwrap()
}

async fn setup() -> Option<(Arc<PgQueue>, Arc<Vault>, String)> {
    let url = std::env::var("FINOPS_TEST_POSTGRES_URL").ok()?;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    // A queue of its own: tests run in parallel on one database.
    let name = uuid::Uuid::new_v4().to_string();
    let queue = Arc::new(
        PgQueue::connect(&url, vault.clone())
            .await
            .unwrap()
            .named(&name)
            .unwrap(),
    );
    Some((queue, vault, format!("firm-{name}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_jobs_and_stores_each_result_once() {
    let Some((queue, vault, tenant)) = setup().await else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    let mut ids = Vec::new();
    for i in 0..20 {
        let spec = JobSpec::new(
            &tenant,
            format!("k-{i}"),
            bistro(),
            "Analyse la rentabilité",
        );
        ids.push(queue.enqueue(&spec).await.unwrap());
    }
    let worker = Worker::new(queue.clone(), Pipeline::offline(), vault.clone(), 4).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move {
            worker
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
        }
    });
    for _ in 0..200 {
        let mut done = 0;
        for id in &ids {
            if queue.status(&tenant, id).await.unwrap().unwrap().status == JobStatus::Succeeded {
                done += 1;
            }
        }
        if done == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(());
    let stats = running.await.unwrap().unwrap();
    assert_eq!(stats.succeeded, 20);
    let principal = Principal::new(tenant.clone(), Role::Cpa, None).unwrap();
    let stored = vault.list_analyses(&principal).await.unwrap();
    assert_eq!(stored.len(), 20, "one stored analysis per job");
    for id in &ids {
        let info = queue.status(&tenant, id).await.unwrap().unwrap();
        assert_eq!(info.result_id.as_deref(), Some(id.as_str()));
        assert_eq!(
            vault
                .load_analysis(&principal, &tenant, id)
                .await
                .unwrap()
                .id,
            *id
        );
    }
    assert!(Worker::new(queue, Pipeline::offline(), vault, 0).is_err());
}

use finops_core::queue::LocalQueue;
use finops_core::store::SqliteStore;

async fn local_vault(path: &std::path::Path, keys: Arc<LocalKeyProvider>) -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.unwrap());
    Arc::new(Vault::open(store, keys).await.unwrap())
}

#[tokio::test]
async fn the_local_queue_has_the_same_semantics_bounds_itself_and_resumes_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("finops-queue-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("finops.db");
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let ids = {
        let queue = LocalQueue::durable(3, local_vault(&path, keys.clone()).await)
            .await
            .unwrap();
        let mut spec = JobSpec::new("firm", "k-1", bistro(), "Marges ?");
        spec.max_attempts = 2;
        let id = queue.enqueue(&spec).await.unwrap();
        assert_eq!(
            queue.enqueue(&spec).await.unwrap(),
            id,
            "same key, same job"
        );
        let mut ids = vec![id.clone()];
        for i in 2..=3 {
            let mut s = JobSpec::new("firm", format!("k-{i}"), bistro(), "Marges ?");
            s.priority = i;
            ids.push(queue.enqueue(&s).await.unwrap());
        }
        // Bounded: a fourth unfinished job is refused with a typed, retryable error.
        let full = queue
            .enqueue(&JobSpec::new("firm", "k-4", bistro(), "Marges ?"))
            .await
            .unwrap_err();
        assert_eq!(full.code(), "rate_limited");
        // Highest priority first; a claimed job is nobody else's until its lease passes.
        let a = queue
            .claim("a", Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.id, ids[2]);
        assert!(queue.complete(&a, &a.id).await.unwrap());
        let b = queue
            .claim("b", Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.id, ids[1]);
        let c = queue
            .claim("c", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.id, ids[0]);
        tokio::time::sleep(Duration::from_millis(150)).await;
        // c's lease passed: d takes the job (attempt 2), c's completion is refused, and a retryable failure on
        // the last attempt sends it to the dead letters.
        let d = queue
            .claim("d", Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.id.as_str(), d.attempt), (ids[0].as_str(), 2));
        assert!(!queue.complete(&c, "x").await.unwrap());
        assert_eq!(
            queue.fail(&d, "provider down", true).await.unwrap(),
            JobStatus::Dead
        );
        assert_eq!(queue.dead_letters("firm").await.unwrap().len(), 1);
        assert!(queue.status("other-firm", &ids[1]).await.unwrap().is_none());
        // The process stops while b is running.
        ids
    };
    let vault = local_vault(&path, keys).await;
    let queue = Arc::new(LocalQueue::durable(3, vault.clone()).await.unwrap());
    assert_eq!(
        queue.status("firm", &ids[2]).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
    assert_eq!(
        queue.status("firm", &ids[0]).await.unwrap().unwrap().status,
        JobStatus::Dead
    );
    assert_eq!(
        queue.status("firm", &ids[1]).await.unwrap().unwrap().status,
        JobStatus::Queued,
        "the job that was running is queued again after the restart"
    );
    let worker = Worker::new(queue.clone(), Pipeline::offline(), vault.clone(), 2).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    for _ in 0..100 {
        if queue.status("firm", &ids[1]).await.unwrap().unwrap().status == JobStatus::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tx.send(());
    assert_eq!(running.await.unwrap().unwrap().succeeded, 1);
    let principal = Principal::new("firm", Role::Cpa, None).unwrap();
    assert_eq!(
        vault
            .load_analysis(&principal, "firm", &ids[1])
            .await
            .unwrap()
            .id,
        ids[1]
    );
    // The file holds no question or statement in clear.
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(dir.join("finops.db-wal")).unwrap_or_default());
    assert!(!raw.windows(8).any(|w| w == b"Marges ?"));
    // Ended jobs (three here, kept for the retention) do not count against the capacity; a cancelled one frees
    // its place.
    let spec = |k: &str| JobSpec::new("firm", k, bistro(), "Marges ?");
    let first = queue.enqueue(&spec("k-5")).await.unwrap();
    for k in ["k-6", "k-7"] {
        queue.enqueue(&spec(k)).await.unwrap();
    }
    assert_eq!(
        queue.enqueue(&spec("k-8")).await.unwrap_err().code(),
        "rate_limited"
    );
    assert_eq!(
        queue.cancel("firm", &first).await.unwrap(),
        Some(JobStatus::Cancelled)
    );
    queue.enqueue(&spec("k-8")).await.unwrap();
    assert!(LocalQueue::new(0).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

use finops_core::queue::RedisQueue;

/// The test Redis's URL, a vault over an in-memory store, and a queue name of the test's own.
async fn redis_setup() -> Option<(String, Arc<Vault>, String)> {
    let Ok(url) = std::env::var("FINOPS_TEST_REDIS_URL") else {
        eprintln!("FINOPS_TEST_REDIS_URL is not set: scripts/test starts Redis and sets it");
        return None;
    };
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    Some((url, vault, uuid::Uuid::new_v4().to_string()))
}

#[tokio::test]
async fn a_worker_runs_jobs_on_redis_streams_and_bad_names_are_refused() {
    let Some((url, vault, name)) = redis_setup().await else {
        return;
    };
    let queue = RedisQueue::connect(&url, &name, vault.clone())
        .await
        .unwrap();
    // A worker on this queue.
    let queue = Arc::new(queue);
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..10 {
            v.push(
                queue
                    .enqueue(&JobSpec::new(
                        "firm",
                        format!("w-{i}"),
                        bistro(),
                        "Analyse la rentabilité",
                    ))
                    .await
                    .unwrap(),
            );
        }
        v
    };
    let worker = Worker::new(queue.clone(), Pipeline::offline(), vault.clone(), 3).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    for _ in 0..200 {
        let mut done = 0;
        for id in &ids {
            if queue.status("firm", id).await.unwrap().unwrap().status == JobStatus::Succeeded {
                done += 1;
            }
        }
        if done == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = tx.send(());
    assert_eq!(running.await.unwrap().unwrap().succeeded, 10);
    assert!(
        RedisQueue::connect("http://x", "q", vault.clone())
            .await
            .unwrap_err()
            .field()
            .is_some()
    );
    assert!(
        RedisQueue::connect(&url, " ", vault)
            .await
            .unwrap_err()
            .field()
            .is_some()
    );
}

/// Ends one job of `tenant` each way a job ends: succeeded, dead (after its only attempt) and cancelled; their ids.
async fn end_one_job_each_way(
    queue: &dyn Queue,
    tenant: &str,
    lease: Duration,
) -> (String, String, String) {
    let done = queue
        .enqueue(&JobSpec::new(tenant, "done", bistro(), "Marges ?"))
        .await
        .unwrap();
    let job = queue.claim("w", lease).await.unwrap().unwrap();
    assert!(queue.complete(&job, &job.id).await.unwrap());
    let mut once = JobSpec::new(tenant, "dead", bistro(), "Marges ?");
    once.max_attempts = 1;
    let dead = queue.enqueue(&once).await.unwrap();
    let job = queue.claim("w", lease).await.unwrap().unwrap();
    assert_eq!(
        queue.fail(&job, "bad", false).await.unwrap(),
        JobStatus::Dead
    );
    let cancelled = queue
        .enqueue(&JobSpec::new(tenant, "cancelled", bistro(), "Marges ?"))
        .await
        .unwrap();
    assert_eq!(
        queue.cancel(tenant, &cancelled).await.unwrap(),
        Some(JobStatus::Cancelled)
    );
    (done, dead, cancelled)
}

#[tokio::test]
async fn ended_jobs_are_deleted_after_the_retention_and_others_are_kept() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    let name = uuid::Uuid::new_v4().to_string();
    let queue = PgQueue::connect(&url, vault)
        .await
        .unwrap()
        .named(&name)
        .unwrap()
        .retention(Duration::from_secs(1));
    let tenant = format!("firm-{name}");
    let lease = Duration::from_secs(30);

    let (done, dead, cancelled) = end_one_job_each_way(&queue, &tenant, lease).await;
    let waiting = queue
        .enqueue(&JobSpec::new(&tenant, "waiting", bistro(), "Marges ?"))
        .await
        .unwrap();
    let mut retried = JobSpec::new(&tenant, "retried", bistro(), "Marges ?");
    retried.priority = 9;
    let retried = queue.enqueue(&retried).await.unwrap();
    let job = queue.claim("w", lease).await.unwrap().unwrap();
    assert_eq!(job.id, retried);
    assert_eq!(
        queue.fail(&job, "timeout", true).await.unwrap(),
        JobStatus::Queued
    );

    assert_eq!(
        queue.prune(true).await.unwrap(),
        0,
        "nothing ended a second ago yet"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(queue.prune(true).await.unwrap(), 3);
    assert_eq!(
        queue.prune(false).await.unwrap(),
        0,
        "at most once a minute unless forced"
    );
    for id in [&done, &dead, &cancelled] {
        assert!(queue.status(&tenant, id).await.unwrap().is_none(), "{id}");
    }
    assert!(queue.dead_letters(&tenant).await.unwrap().is_empty());
    for id in [&waiting, &retried] {
        assert_eq!(
            queue.status(&tenant, id).await.unwrap().unwrap().status,
            JobStatus::Queued
        );
    }
    // The idempotency key went with the job: the same key now makes a new job.
    let again = queue
        .enqueue(&JobSpec::new(&tenant, "done", bistro(), "Marges ?"))
        .await
        .unwrap();
    assert_ne!(again, done);
}

#[tokio::test]
async fn redis_forgets_ended_jobs_after_the_retention_and_keeps_the_stream_short() {
    let Some((url, vault, name)) = redis_setup().await else {
        return;
    };
    let queue = RedisQueue::connect(&url, &name, vault)
        .await
        .unwrap()
        .retention(Duration::from_secs(1));
    let lease = Duration::from_secs(30);
    let tenant = "firm";

    let (done, dead, cancelled) = end_one_job_each_way(&queue, tenant, lease).await;
    let waiting = queue
        .enqueue(&JobSpec::new(tenant, "waiting", bistro(), "Marges ?"))
        .await
        .unwrap();

    // Jobs that ended after a worker took them leave the stream at once: what is left is the waiting job's entry
    // and the one of the job cancelled before any worker read it (the next reader drops it).
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("finops:{name}:jobs");
    let len: u64 = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 2);
    for id in [&done, &dead, &cancelled] {
        assert!(
            queue
                .status(tenant, id)
                .await
                .unwrap()
                .unwrap()
                .status
                .is_terminal()
        );
    }
    assert_eq!(queue.dead_letters(tenant).await.unwrap().len(), 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    for id in [&done, &dead, &cancelled] {
        assert!(queue.status(tenant, id).await.unwrap().is_none(), "{id}");
    }
    assert!(queue.dead_letters(tenant).await.unwrap().is_empty());
    assert_eq!(
        queue
            .status(tenant, &waiting)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Queued
    );
    // The idempotency key expired with the job: the same key makes a new job.
    let again = queue
        .enqueue(&JobSpec::new(tenant, "done", bistro(), "Marges ?"))
        .await
        .unwrap();
    assert_ne!(again, done);
    let left: u64 = redis::cmd("EXISTS")
        .arg(format!("finops:{name}:job:{done}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
