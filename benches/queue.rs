#![allow(clippy::expect_used, clippy::panic)] // A benchmark stops at the first failure, loudly.
//! The PostgreSQL queue: jobs per second end to end (enqueue → analysis run by the offline analyst → result
//! stored encrypted → job completed) and the enqueue-to-start latency of an idle worker woken by NOTIFY.
//!
//! `FINOPS_TEST_POSTGRES_URL=postgres://… cargo bench -p finops-benches --bench queue` (release; `scripts/services`
//! starts a local PostgreSQL and prints the URL). Results go to benches/RESULTS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use finops_core::Pipeline;
use finops_core::queue::{JobSpec, JobStatus, PgQueue, Queue, Worker};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{PostgresStore, Store, Vault};

async fn setup(url: &str) -> (Arc<PgQueue>, Arc<Vault>, String) {
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(url).await.expect("store"));
    let keys = Arc::new(LocalKeyProvider::new(
        "bench",
        SecretKey::generate().expect("key"),
    ));
    let vault = Arc::new(Vault::open(store, keys).await.expect("vault"));
    let name = uuid::Uuid::new_v4().to_string();
    let queue = Arc::new(
        PgQueue::connect(url, vault.clone())
            .await
            .expect("queue")
            .named(&name)
            .expect("name"),
    );
    (queue, vault, format!("bench-{name}"))
}

fn main() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!("FINOPS_TEST_POSTGRES_URL is not set (eval \"$(scripts/services)\")");
        return;
    };
    let statements = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .expect("bistro");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Throughput: N jobs enqueued, then one worker (concurrency 8) runs them all.
        let (queue, vault, tenant) = setup(&url).await;
        let n = 2000;
        let t = Instant::now();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let spec = JobSpec::new(&tenant, format!("k{i}"), &statements, "Analyse la rentabilité");
            ids.push(queue.enqueue(&spec).await.expect("enqueue"));
        }
        let enqueue = t.elapsed();
        let worker = Worker::new(queue.clone(), Pipeline::offline(), vault.clone(), 8).expect("worker");
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
        loop {
            let last = queue.status(&tenant, &ids[n - 1]).await.expect("status");
            let first = queue.status(&tenant, &ids[0]).await.expect("status");
            if last.is_some_and(|j| j.status == JobStatus::Succeeded)
                && first.is_some_and(|j| j.status == JobStatus::Succeeded)
            {
                let mut all = true;
                for id in &ids {
                    if queue.status(&tenant, id).await.expect("status").map(|j| j.status) != Some(JobStatus::Succeeded) {
                        all = false;
                        break;
                    }
                }
                if all {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let run = t.elapsed();
        let _ = tx.send(());
        let stats = running.await.expect("join").expect("worker");
        println!("== PostgreSQL queue (one worker process, concurrency 8, offline analyst) ==");
        println!("enqueue {n} jobs (seal + insert + NOTIFY)   {:.0} jobs/s", n as f64 / enqueue.as_secs_f64());
        println!(
            "run {n} jobs end to end (claim → analyze → store encrypted + audit → complete)   {:.0} jobs/s ({} succeeded)",
            n as f64 / run.as_secs_f64(),
            stats.succeeded
        );

        // Enqueue-to-start: an idle claimer waiting on LISTEN; one job at a time.
        let (queue, _vault, tenant) = setup(&url).await;
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        let claimer = tokio::spawn({
            let queue = queue.clone();
            async move {
                loop {
                    match queue.claim("bench", Duration::from_secs(30)).await.expect("claim") {
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
            let spec = JobSpec::new(&tenant, format!("l{i}"), &statements, "Marges ?");
            let t = Instant::now();
            queue.enqueue(&spec).await.expect("enqueue");
            let started = started_rx.recv().await.expect("started");
            latencies.push(started.duration_since(t));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        claimer.abort();
        latencies.sort();
        println!(
            "enqueue-to-start, idle worker woken by NOTIFY   p50 {:.2} ms · p99 {:.2} ms (200 jobs, one at a time; includes the enqueue itself)",
            latencies[100].as_secs_f64() * 1000.0,
            latencies[198].as_secs_f64() * 1000.0
        );
    });
}
