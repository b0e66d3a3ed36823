#![allow(clippy::expect_used, clippy::panic)] // A benchmark stops at the first failure, loudly.
//! The queues (in process, PostgreSQL, Redis Streams): enqueue rate, jobs per second end to end (enqueue →
//! analysis by the offline analyst → result stored encrypted with its audit entry → job completed), and the
//! enqueue-to-start latency of an idle worker.
//!
//! `eval "$(scripts/services)" && cargo bench -p finops-benches --bench queue` (release; the services script
//! starts local PostgreSQL and Redis and prints their URLs). Results go to benches/RESULTS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use finops_core::Pipeline;
use finops_core::queue::{JobSpec, JobStatus, LocalQueue, PgQueue, Queue, RedisQueue, Worker};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{PostgresStore, SqliteStore, Store, Vault};

/// Jobs a worker runs at once: results are group-committed, so more jobs in flight means more results per
/// durable commit.
const CONCURRENCY: usize = 64;

async fn vault(url: &str) -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(url).await.expect("store"));
    let keys = Arc::new(LocalKeyProvider::new(
        "bench",
        SecretKey::generate().expect("key"),
    ));
    Arc::new(Vault::open(store, keys).await.expect("vault"))
}

/// A fresh queue of the backend, its vault (results in PostgreSQL, or in a SQLite file for `in-process+sqlite`) and
/// a tenant of its own.
async fn setup(
    backend: &str,
    pg: &str,
    redis: Option<&str>,
) -> (Arc<dyn Queue>, Arc<Vault>, String) {
    let name = uuid::Uuid::new_v4().to_string();
    let vault = if backend == "in-process+sqlite" {
        // The embedded default: results in a SQLite file.
        let path = std::env::temp_dir().join(format!("finops-bench-{name}.db"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
        let keys = Arc::new(LocalKeyProvider::new(
            "bench",
            SecretKey::generate().expect("key"),
        ));
        Arc::new(Vault::open(store, keys).await.expect("vault"))
    } else {
        vault(pg).await
    };
    let queue: Arc<dyn Queue> = match backend {
        "in-process" | "in-process+sqlite" => Arc::new(LocalQueue::new(1_000_000).expect("local")),
        "postgres" => Arc::new(
            PgQueue::connect(pg, vault.clone())
                .await
                .expect("queue")
                .named(&name)
                .expect("name"),
        ),
        _ => Arc::new(
            RedisQueue::connect(redis.expect("a Redis URL"), &name, vault.clone())
                .await
                .expect("queue"),
        ),
    };
    (queue, vault, format!("bench-{name}"))
}

async fn bench(backend: &str, pg: &str, redis: Option<&str>, statements: &str) {
    // Throughput: N jobs enqueued, then one worker runs them all.
    let (queue, vault, tenant) = setup(backend, pg, redis).await;
    let n = 2000;
    let t = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let spec = JobSpec::new(
            &tenant,
            format!("k{i}"),
            statements,
            "Analyse la rentabilité",
        );
        ids.push(queue.enqueue(&spec).await.expect("enqueue"));
    }
    let enqueue = t.elapsed();
    // The same number again in batches of 500 (`enqueue_many`), into a queue of its own.
    let (batch_queue, _, batch_tenant) = setup(backend, pg, redis).await;
    let specs: Vec<JobSpec> = (0..n)
        .map(|i| {
            JobSpec::new(
                &batch_tenant,
                format!("b{i}"),
                statements,
                "Analyse la rentabilité",
            )
        })
        .collect();
    let t = Instant::now();
    for batch in specs.chunks(500) {
        batch_queue.enqueue_many(batch).await.expect("enqueue_many");
    }
    let enqueue_many = t.elapsed();
    let worker = Worker::new(
        queue.clone(),
        Pipeline::offline(),
        vault.clone(),
        CONCURRENCY,
    )
    .expect("worker");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move {
            worker
                .run(async {
                    let _ = rx.await;
                })
                .await
        }
    });
    let t = Instant::now();
    let mut next = 0;
    while next < n {
        match queue.status(&tenant, &ids[next]).await.expect("status") {
            Some(j) if j.status == JobStatus::Succeeded => next += 1,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let run = t.elapsed();
    let _ = tx.send(());
    let stats = running.await.expect("join").expect("worker");

    // Enqueue-to-start: an idle claimer waiting for work; one job at a time.
    let (queue, _vault, tenant) = setup(backend, pg, redis).await;
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let claimer = tokio::spawn({
        let queue = queue.clone();
        async move {
            loop {
                match queue
                    .claim("bench", Duration::from_secs(30))
                    .await
                    .expect("claim")
                {
                    Some(job) => {
                        let _ = started_tx.send(Instant::now());
                        queue.complete(&job, &job.id).await.expect("complete");
                    }
                    None => queue.wait_for_work(Duration::from_millis(500)).await,
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut latencies = Vec::new();
    for i in 0..200 {
        let spec = JobSpec::new(&tenant, format!("l{i}"), statements, "Marges ?");
        let t = Instant::now();
        queue.enqueue(&spec).await.expect("enqueue");
        let started = started_rx.recv().await.expect("started");
        latencies.push(started.duration_since(t));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    claimer.abort();
    latencies.sort();
    println!(
        "{backend:<17} enqueue {:>6.0} jobs/s (batches of 500: {:>6.0}) · end to end {:>5.0} jobs/s ({} succeeded) · enqueue-to-start p50 {:.2} ms p99 {:.2} ms",
        n as f64 / enqueue.as_secs_f64(),
        n as f64 / enqueue_many.as_secs_f64(),
        n as f64 / run.as_secs_f64(),
        stats.succeeded,
        latencies[100].as_secs_f64() * 1000.0,
        latencies[198].as_secs_f64() * 1000.0
    );
}

fn main() {
    let Ok(pg) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!("FINOPS_TEST_POSTGRES_URL is not set (eval \"$(scripts/services)\")");
        return;
    };
    let redis = std::env::var("FINOPS_TEST_REDIS_URL").ok();
    let statements = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .expect("bistro");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "== Queues: 2,000 jobs, one worker (concurrency {CONCURRENCY}), offline analyst, results stored in PostgreSQL =="
    );
    rt.block_on(async {
        // `FINOPS_BENCH_ONLY=postgres` (or `in-process`, `redis`) runs one backend, e.g. under a profiler.
        let only = std::env::var("FINOPS_BENCH_ONLY").ok();
        let wanted = |b: &str| only.as_deref().is_none_or(|o| o == b);
        if wanted("in-process") {
            bench("in-process", &pg, None, &statements).await;
        }
        if wanted("in-process+sqlite") {
            bench("in-process+sqlite", &pg, None, &statements).await;
        }
        if wanted("postgres") {
            bench("postgres", &pg, None, &statements).await;
        }
        if redis.is_some() && wanted("redis") {
            bench("redis", &pg, redis.as_deref(), &statements).await;
        }
    });
}
