#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `Queue` conformance suite: `queue_conformance!` expands to one named test per behaviour for each backend —
//! the in-process queue, PostgreSQL and Redis Streams — so a failure names the behaviour and the backend
//! (`redis::a_claimed_job_is_nobody_elses_until_its_lease_passes`). Behaviours: idempotent enqueue, exclusive
//! claims and leases, heartbeats, retries after a backoff, dead letters, tenant scoping, refused jobs, batch
//! claims and enqueues, following and cancelling a job, and a job delivered twice being stored and charged once.
//! For PostgreSQL and Redis the worker and the submitter use separate connections and separate vaults over the
//! same store, as two processes would.

use std::sync::Arc;
use std::time::Duration;

use finops_core::Pipeline;
use finops_core::pipeline::Event;
use finops_core::provider::ScriptedProvider;
use finops_core::queue::{
    JobEvent, JobSpec, JobStatus, LocalQueue, PgQueue, Queue, QueueCounts, RedisQueue, Worker,
    follow,
};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::security::{Principal, Role};
use finops_core::store::{PostgresStore, SqliteStore, Store, Vault};
use futures::StreamExt;

fn bistro() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .unwrap()
}

/// Two views of one queue: the workers' and the submitter's.
struct Setup {
    runner: Arc<dyn Queue>,
    runner_vault: Arc<Vault>,
    submitter: Arc<dyn Queue>,
    submitter_vault: Arc<Vault>,
    tenant: String,
}

async fn vault_over(store: Arc<dyn Store>, keys: &Arc<LocalKeyProvider>) -> Arc<Vault> {
    Arc::new(Vault::open(store, keys.clone()).await.unwrap())
}

fn keys() -> Arc<LocalKeyProvider> {
    Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()))
}

async fn local(dir: &std::path::Path) -> Setup {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("f.db")).await.unwrap());
    let vault = vault_over(store, &keys()).await;
    let queue: Arc<dyn Queue> = Arc::new(LocalQueue::new(100).unwrap());
    Setup {
        runner: queue.clone(),
        runner_vault: vault.clone(),
        submitter: queue,
        submitter_vault: vault,
        tenant: "firm-local".into(),
    }
}

fn postgres_url() -> String {
    std::env::var("FINOPS_TEST_POSTGRES_URL")
        .expect("FINOPS_TEST_POSTGRES_URL: scripts/test starts PostgreSQL and sets it")
}

async fn pg_vault(keys: &Arc<LocalKeyProvider>) -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&postgres_url()).await.unwrap());
    vault_over(store, keys).await
}

async fn postgres() -> Setup {
    let keys = keys();
    let name = uuid::Uuid::new_v4().to_string();
    let (runner_vault, submitter_vault) = (pg_vault(&keys).await, pg_vault(&keys).await);
    let open = |vault: Arc<Vault>| {
        let name = name.clone();
        async move {
            let q = PgQueue::connect(&postgres_url(), vault).await.unwrap();
            Arc::new(q.named(&name).unwrap()) as Arc<dyn Queue>
        }
    };
    Setup {
        runner: open(runner_vault.clone()).await,
        submitter: open(submitter_vault.clone()).await,
        runner_vault,
        submitter_vault,
        tenant: format!("firm-{name}"),
    }
}

async fn redis() -> Setup {
    let url = std::env::var("FINOPS_TEST_REDIS_URL")
        .expect("FINOPS_TEST_REDIS_URL: scripts/test starts Redis and sets it");
    let keys = keys();
    let name = uuid::Uuid::new_v4().to_string();
    let (runner_vault, submitter_vault) = (pg_vault(&keys).await, pg_vault(&keys).await);
    let open = |vault: Arc<Vault>| {
        let (url, name) = (url.clone(), name.clone());
        async move { Arc::new(RedisQueue::connect(&url, &name, vault).await.unwrap()) as Arc<dyn Queue> }
    };
    Setup {
        runner: open(runner_vault.clone()).await,
        submitter: open(submitter_vault.clone()).await,
        runner_vault,
        submitter_vault,
        tenant: format!("firm-{name}"),
    }
}

fn spec(tenant: &str, key: &str) -> JobSpec {
    JobSpec::new(
        tenant,
        key,
        bistro(),
        "Is our working capital getting tighter?",
    )
}

/// The same tenant and key give the same job; another tenant's key is its own; the payload comes back decrypted.
async fn enqueue_is_idempotent_per_tenant_and_key(s: Setup) {
    let t = s.tenant.as_str();
    let job = spec(t, "k-1");
    let id = s.submitter.enqueue(&job).await.unwrap();
    assert_eq!(
        s.submitter.enqueue(&job).await.unwrap(),
        id,
        "same key, same job"
    );
    let theirs = s
        .submitter
        .enqueue(&spec(&format!("{t}-other"), "k-1"))
        .await
        .unwrap();
    assert_ne!(theirs, id, "another tenant's key is its own");
    let claimed = s
        .runner
        .claim("a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let mine = if claimed.id == id {
        claimed
    } else {
        s.runner
            .claim("a", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(mine.id, id);
    assert_eq!(mine.spec, job, "the payload comes back decrypted");
}

/// One claim at a time: nobody else gets the job while its lease holds or is renewed; once the lease passes
/// another worker takes it (the next attempt), and the first worker's late completion is refused.
async fn a_claimed_job_is_nobody_elses_until_its_lease_passes(s: Setup) {
    let t = s.tenant.as_str();
    let id = s.submitter.enqueue(&spec(t, "k-1")).await.unwrap();
    // Every claimer passes the same lease (with Redis the lease is the entries' idle time).
    // Wide margins: the claims and heartbeats below may run late on a loaded machine.
    let lease = Duration::from_millis(900);
    let a = s.runner.claim("a", lease).await.unwrap().unwrap();
    assert_eq!((a.id.as_str(), a.attempt), (id.as_str(), 1));
    assert!(s.runner.claim("b", lease).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        s.runner.heartbeat(&a, lease).await.unwrap(),
        "a still holds it"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        s.runner.claim("b", lease).await.unwrap().is_none(),
        "the heartbeat held"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let b = s.runner.claim("b", lease).await.unwrap().unwrap();
    assert_eq!((b.id.as_str(), b.attempt), (id.as_str(), 2));
    assert!(
        !s.runner.complete(&a, "x").await.unwrap(),
        "a lost its lease"
    );
    assert!(s.runner.complete(&b, &b.id).await.unwrap());
    let info = s.submitter.status(t, &id).await.unwrap().unwrap();
    assert_eq!(
        (info.status, info.result_id.as_deref()),
        (JobStatus::Succeeded, Some(id.as_str()))
    );
}

/// A retryable failure before the last attempt queues the job again after a backoff, not at once.
async fn a_retryable_failure_runs_again_after_a_backoff(s: Setup) {
    let t = s.tenant.as_str();
    let id = s.submitter.enqueue(&spec(t, "k-2")).await.unwrap();
    let c = s
        .runner
        .claim("c", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let failed = std::time::Instant::now();
    assert_eq!(
        s.runner.fail(&c, "timeout", true).await.unwrap(),
        JobStatus::Queued
    );
    let early = s.runner.claim("c", Duration::from_secs(5)).await.unwrap();
    // The first backoff is at least 180 ms: a claim answered within 150 ms of the failure must find nothing. On a
    // loaded machine the claim can come later, after the backoff, and then it may take the job.
    let again = match early {
        None => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            s.runner
                .claim("c", Duration::from_secs(5))
                .await
                .unwrap()
                .unwrap()
        }
        Some(job) => {
            assert!(
                failed.elapsed() >= Duration::from_millis(150),
                "claimed {:?} after the failure, within the backoff",
                failed.elapsed()
            );
            job
        }
    };
    assert_eq!((again.id.as_str(), again.attempt), (id.as_str(), 2));
    assert!(s.runner.complete(&again, &again.id).await.unwrap());
    assert_eq!(
        s.submitter.status(t, &id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
}

/// A failure on the last attempt, or one not worth retrying, sends the job to its tenant's dead letters.
/// `counts` follows jobs from queued to running to the dead letters (a backend that cannot count says `None`).
async fn counts_jobs_by_status(s: Setup) {
    let t = s.tenant.as_str();
    let Some(empty) = s.submitter.counts().await.unwrap() else {
        return;
    };
    assert_eq!(empty, QueueCounts::default());
    s.submitter.enqueue(&spec(t, "c-1")).await.unwrap();
    s.submitter.enqueue(&spec(t, "c-2")).await.unwrap();
    let counts = |q, r, d| QueueCounts {
        queued: q,
        running: r,
        dead: d,
    };
    assert_eq!(s.runner.counts().await.unwrap(), Some(counts(2, 0, 0)));
    let job = s
        .runner
        .claim("a", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.submitter.counts().await.unwrap(), Some(counts(1, 1, 0)));
    s.runner.fail(&job, "bad statements", false).await.unwrap();
    assert_eq!(s.submitter.counts().await.unwrap(), Some(counts(1, 0, 1)));
}

async fn failures_that_end_a_job_go_to_the_dead_letters(s: Setup) {
    let t = s.tenant.as_str();
    let mut last = spec(t, "k-last");
    last.max_attempts = 1;
    let id = s.submitter.enqueue(&last).await.unwrap();
    let a = s
        .runner
        .claim("a", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.runner.fail(&a, "provider down", true).await.unwrap(),
        JobStatus::Dead
    );
    let fatal = s.submitter.enqueue(&spec(t, "k-fatal")).await.unwrap();
    let b = s
        .runner
        .claim("b", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.id, fatal);
    assert_eq!(
        s.runner.fail(&b, "bad statements", false).await.unwrap(),
        JobStatus::Dead
    );
    let dead = s.submitter.dead_letters(t).await.unwrap();
    let mut errors: Vec<(String, Option<String>)> =
        dead.into_iter().map(|d| (d.id, d.error)).collect();
    errors.sort();
    let mut expected = vec![
        (id, Some("provider down".to_string())),
        (fatal, Some("bad statements".to_string())),
    ];
    expected.sort();
    assert_eq!(errors, expected);
    assert!(
        s.submitter
            .dead_letters(&format!("{t}-other"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Another tenant sees nothing of a job: not its status, not its cancellation.
async fn jobs_are_seen_only_by_their_tenant(s: Setup) {
    let t = s.tenant.as_str();
    let id = s.submitter.enqueue(&spec(t, "k-1")).await.unwrap();
    assert!(s.submitter.status(t, &id).await.unwrap().is_some());
    assert!(
        s.submitter
            .status("someone-else", &id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.submitter.cancel("someone-else", &id).await.unwrap(), None);
    assert_eq!(
        s.submitter.status(t, &id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
}

/// Bad jobs are refused at the door, naming the field.
async fn bad_jobs_are_refused_naming_the_field(s: Setup) {
    let t = s.tenant.as_str();
    assert!(
        s.submitter
            .enqueue(&JobSpec::new(t, "k-3", "{}", "q"))
            .await
            .unwrap_err()
            .field()
            .is_some()
    );
    assert_eq!(
        s.submitter
            .enqueue(&JobSpec::new(t, " ", bistro(), "q"))
            .await
            .unwrap_err()
            .field(),
        Some("idempotency_key")
    );
    for traceparent in [
        "nope",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ] {
        let mut traced = spec(t, "k-6");
        traced.traceparent = Some(traceparent.into());
        assert_eq!(
            s.submitter.enqueue(&traced).await.unwrap_err().field(),
            Some("traceparent")
        );
    }
    let mut bad = spec(t, "k-4");
    bad.max_attempts = 0;
    assert_eq!(
        s.submitter.enqueue(&bad).await.unwrap_err().field(),
        Some("max_attempts")
    );
    assert_eq!(
        s.submitter
            .enqueue(&spec("", "k-5"))
            .await
            .unwrap_err()
            .field(),
        Some("tenant")
    );
}

/// One test per behaviour for a backend; `$setup` opens it (a `Setup`), `$priorities` says whether it honours
/// job priorities.
macro_rules! queue_conformance {
    ($backend:ident, $setup:expr, priorities: $priorities:expr) => {
        mod $backend {
            use super::*;

            queue_conformance!(@tests $setup;
                enqueue_is_idempotent_per_tenant_and_key,
                a_claimed_job_is_nobody_elses_until_its_lease_passes,
                a_retryable_failure_runs_again_after_a_backoff,
                failures_that_end_a_job_go_to_the_dead_letters,
                jobs_are_seen_only_by_their_tenant,
                bad_jobs_are_refused_naming_the_field,
                batch_enqueue,
                counts_jobs_by_status,
            );

            #[tokio::test]
            async fn batch_claims() {
                super::batch_claims($setup, $priorities).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn follow_and_cancel() {
                super::follow_and_cancel($setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivered_twice() {
                super::delivered_twice($setup).await;
            }
        }
    };
    (@tests $setup:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                super::$behaviour($setup).await;
            }
        )+
    };
}

queue_conformance!(in_process, local(&temp_dir()).await, priorities: true);
queue_conformance!(postgres, postgres().await, priorities: true);
queue_conformance!(redis, redis().await, priorities: false);

/// A directory of the test's own (the in-process queue's vault file); left for the OS to clean.
fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("finops-queue-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn collect(queue: Arc<dyn Queue>, tenant: String, id: String) -> Vec<JobEvent> {
    tokio::time::timeout(
        Duration::from_secs(60),
        follow(queue, tenant, id).map(Result::unwrap).collect(),
    )
    .await
    .expect("the job's events end")
}

fn spawn_worker(
    s: &Setup,
    pipeline: Pipeline,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<finops_core::Result<finops_core::queue::WorkerStats>>,
) {
    let worker = Worker::new(s.runner.clone(), pipeline, s.runner_vault.clone(), 4)
        .unwrap()
        .lease(Duration::from_millis(900))
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    (stop, handle)
}

/// Follows jobs with and without relayed events, and cancels a queued and a running job.
async fn follow_and_cancel(s: Setup) {
    let t = s.tenant.as_str();
    // A queued job cancelled before any worker runs: it never runs, and its follower learns it at once.
    let mut queued = JobSpec::new(t, "cancel-queued", bistro(), "Marges ?");
    queued.events = true;
    let queued = s.submitter.enqueue(&queued).await.unwrap();
    assert_eq!(
        s.submitter.cancel(t, &queued).await.unwrap(),
        Some(JobStatus::Cancelled)
    );
    assert_eq!(
        collect(s.submitter.clone(), t.into(), queued.clone()).await,
        vec![JobEvent::Finished {
            status: JobStatus::Cancelled,
            result_id: None,
            error: Some("cancelled".into())
        }]
    );
    // Another tenant cannot cancel (nor see) it; an unknown id is None.
    assert_eq!(
        s.submitter.cancel("other-firm", &queued).await.unwrap(),
        None
    );
    assert_eq!(s.submitter.cancel(t, "no-such-job").await.unwrap(), None);
    let err = follow(s.submitter.clone(), "other-firm", queued.clone())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.field(), Some("id"));

    // A job with events, followed by the submitter while the runner's worker runs it.
    let mut spec = JobSpec::new(t, "with-events", bistro(), "Analyse la rentabilité");
    spec.events = true;
    let id = s.submitter.enqueue(&spec).await.unwrap();
    let quiet = s
        .submitter
        .enqueue(&JobSpec::new(t, "quiet", bistro(), "Is our debt too high?"))
        .await
        .unwrap();
    let following = tokio::spawn(collect(s.submitter.clone(), t.to_string(), id.clone()));
    let (stop, worker) = spawn_worker(&s, Pipeline::offline());
    let events = following.await.unwrap();
    assert_eq!(events.first(), Some(&JobEvent::Started { attempt: 1 }));
    assert!(
        events.iter().any(|e| matches!(
            e,
            JobEvent::Analysis {
                attempt: 1,
                event: Event::PhaseStarted { .. }
            }
        )),
        "the analysis's own events are relayed: {events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(
            e,
            JobEvent::Analysis {
                event: Event::Completed { .. },
                ..
            }
        )),
        "the result is stored, not relayed"
    );
    assert_eq!(
        events.last(),
        Some(&JobEvent::Finished {
            status: JobStatus::Succeeded,
            result_id: Some(id.clone()),
            error: None
        })
    );
    // The submitter reads the result from its own vault.
    let cpa = Principal::new(t, Role::Cpa, None).unwrap();
    let analysis = s.submitter_vault.load_analysis(&cpa, t, &id).await.unwrap();
    assert_eq!(analysis.id, id);
    // Without relayed events a follower still learns the end (from the status).
    let quiet_events = collect(s.submitter.clone(), t.into(), quiet.clone()).await;
    assert_eq!(
        quiet_events,
        vec![JobEvent::Finished {
            status: JobStatus::Succeeded,
            result_id: Some(quiet.clone()),
            error: None
        }]
    );
    let _ = stop.send(());
    worker.await.unwrap().unwrap();

    // A running job cancelled: its worker drops the run at its next heartbeat and stores nothing.
    let slow = Pipeline::builder()
        .provider(
            Arc::new(ScriptedProvider::new().latency(Duration::from_secs(60))),
            "a",
            "r",
            "v",
        )
        .build();
    let (stop, worker) = spawn_worker(&s, slow);
    let mut spec = JobSpec::new(t, "cancel-running", bistro(), "Analyse la liquidité");
    spec.events = true;
    let running = s.submitter.enqueue(&spec).await.unwrap();
    let mut stream = follow(s.submitter.clone(), t, running.clone());
    let first = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, JobEvent::Started { attempt: 1 });
    assert_eq!(
        s.submitter.cancel(t, &running).await.unwrap(),
        Some(JobStatus::Cancelled)
    );
    let rest: Vec<JobEvent> = tokio::time::timeout(
        Duration::from_secs(30),
        stream.map(Result::unwrap).collect(),
    )
    .await
    .unwrap();
    assert!(matches!(
        rest.last(),
        Some(JobEvent::Finished {
            status: JobStatus::Cancelled,
            ..
        })
    ));
    // The worker drops the run at its next heartbeat (lease 900 ms: every 300 ms), so a stopping worker does
    // not wait for the 60 s the provider would take.
    let _ = stop.send(());
    let stats = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the cancelled run is dropped")
        .unwrap()
        .unwrap();
    assert_eq!((stats.stopped, stats.succeeded), (1, 0));
    assert!(
        s.submitter_vault
            .load_analysis(&cpa, t, &running)
            .await
            .is_err(),
        "nothing stored for a cancelled job"
    );
    assert_eq!(
        s.submitter.cancel(t, &id).await.unwrap(),
        Some(JobStatus::Succeeded),
        "an ended job stays as it ended"
    );
}

/// A worker that stored a job's result died before completing it: the next delivery completes the job without
/// running or charging it again.
async fn delivered_twice(s: Setup) {
    let t = s.tenant.as_str();
    let id = s
        .submitter
        .enqueue(&JobSpec::new(
            t,
            "twice",
            bistro(),
            "Analyse la rentabilité",
        ))
        .await
        .unwrap();
    // The first delivery: claimed, run and stored, then the worker "dies" (no completion).
    let first = s
        .runner
        .claim("doomed", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    let request = first.spec.request().unwrap();
    let client = request.client_id();
    let mut analysis = Pipeline::offline().analyze(request).await.unwrap();
    analysis.id.clone_from(&id);
    let cpa = Principal::new(t, Role::Cpa, Some(client)).unwrap();
    assert!(
        s.runner_vault
            .save_job_result(&cpa, &analysis)
            .await
            .unwrap()
    );
    // A concurrent duplicate is discarded: stored once.
    assert!(
        !s.runner_vault
            .save_job_result(&cpa, &analysis)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The second delivery, after the lease.
    let (stop, worker) = spawn_worker(&s, Pipeline::offline());
    let end = collect(s.submitter.clone(), t.into(), id.clone()).await;
    let _ = stop.send(());
    let stats = worker.await.unwrap().unwrap();
    assert_eq!(stats.succeeded, 1);
    assert_eq!(
        end,
        vec![JobEvent::Finished {
            status: JobStatus::Succeeded,
            result_id: Some(id.clone()),
            error: None
        }]
    );
    let admin = Principal::new(t, Role::Admin, None).unwrap();
    let trail = s.submitter_vault.export_audit(&admin).await.unwrap();
    let actions: Vec<String> = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["subject"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        vec!["analysis", "analysis_discarded"],
        "one charge; the discarded duplicate is visible but not a second analysis"
    );
    let stored = s
        .submitter_vault
        .list_analyses(&Principal::new(t, Role::Cpa, None).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

/// A batch claim fills several slots at once: never the same job twice, highest priority first where the
/// backend honours priorities.
async fn batch_claims(s: Setup, priorities: bool) {
    let t = s.tenant.as_str();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut spec = JobSpec::new(t, format!("b{i}"), bistro(), "Marges ?");
        spec.priority = i;
        ids.push(s.submitter.enqueue(&spec).await.unwrap());
    }
    let lease = Duration::from_secs(30);
    let first = s.runner.claim_batch("w1", lease, 3).await.unwrap();
    let second = s.runner.claim_batch("w2", lease, 10).await.unwrap();
    assert_eq!((first.len(), second.len()), (3, 2));
    let mut all: Vec<&str> = first.iter().chain(&second).map(|c| c.id.as_str()).collect();
    if priorities {
        let wanted: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
        assert_eq!(all, wanted, "highest priority first");
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 5, "no job claimed twice");
    assert!(
        s.runner
            .claim_batch("w3", lease, 4)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(first.iter().all(|c| c.worker == "w1" && c.attempt == 1));
}

/// Many jobs in one call: ids in order, a key given twice (or enqueued before) is one job, and one bad job
/// refuses the batch by name with nothing enqueued.
async fn batch_enqueue(s: Setup) {
    let t = s.tenant.as_str();
    let before = s
        .submitter
        .enqueue(&JobSpec::new(t, "m-0", bistro(), "Marges ?"))
        .await
        .unwrap();
    let specs: Vec<JobSpec> = ["m-0", "m-1", "m-2", "m-1"]
        .iter()
        .map(|k| JobSpec::new(t, *k, bistro(), "Marges ?"))
        .collect();
    let ids = s.submitter.enqueue_many(&specs).await.unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], before);
    assert_eq!(ids[1], ids[3]);
    assert_ne!(ids[1], ids[2]);
    for id in &ids {
        let info = s.submitter.status(t, id).await.unwrap().unwrap();
        assert_eq!(info.status, JobStatus::Queued);
    }
    let mut bad = vec![
        JobSpec::new(t, "m-3", bistro(), "Marges ?"),
        JobSpec::new(t, "m-4", bistro(), "Marges ?"),
    ];
    bad[1].max_attempts = 0;
    let err = s.submitter.enqueue_many(&bad).await.unwrap_err();
    assert_eq!(err.field(), Some("jobs[1].max_attempts"));
    let mut broken = JobSpec::new(t, "m-5", "{\"format\": 1}", "Marges ?");
    broken.priority = 1;
    let err = s.submitter.enqueue_many(&[broken]).await.unwrap_err();
    assert!(
        err.field().unwrap().starts_with("jobs[0].statements_json"),
        "{err}"
    );
    // Nothing of a refused batch was enqueued: m-3 is new when enqueued now.
    let m3 = s.submitter.enqueue(&bad[0]).await.unwrap();
    assert!(!ids.contains(&m3));
    let claimed = s
        .runner
        .claim_batch("w", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4, "m-0, m-1, m-2 and m-3");
    assert!(s.submitter.enqueue_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_full_in_process_queue_refuses_a_whole_batch() {
    let queue = LocalQueue::new(2).unwrap();
    let specs: Vec<JobSpec> = (0..3)
        .map(|i| JobSpec::new("firm", format!("k{i}"), bistro(), "Marges ?"))
        .collect();
    let err = queue.enqueue_many(&specs).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    // Nothing of it was enqueued: two jobs still fit.
    assert_eq!(queue.enqueue_many(&specs[..2]).await.unwrap().len(), 2);
    let too_many = vec![specs[0].clone(); finops_core::queue::MAX_BATCH + 1];
    assert_eq!(
        queue.enqueue_many(&too_many).await.unwrap_err().field(),
        Some("jobs")
    );
}

/// A host may drop a queue where no tokio runtime runs (a Python object collected on a thread of its own).
#[test]
fn queues_can_be_dropped_outside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (pg, redis) = runtime.block_on(async { (postgres().await, redis().await) });
    let follower = pg.submitter.clone();
    runtime.block_on(async {
        // A follower started: the listener task exists too.
        let _ = follower.signal("x");
    });
    drop(runtime);
    drop(follower);
    drop(pg);
    drop(redis);
}

/// An ended in-process job is forgotten after the retention (its status, its key, its record in the store), so
/// a long-running process does not keep every job it ever ran; jobs still running are kept.
#[tokio::test]
async fn the_in_process_queue_forgets_ended_jobs_after_the_retention() {
    let path = std::env::temp_dir().join(format!("finops-retention-{}.db", uuid::Uuid::new_v4()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let vault = vault_over(store, &keys()).await;
    let queue = LocalQueue::durable(100, vault.clone())
        .await
        .unwrap()
        .retention(Duration::from_secs(1));
    let done = queue
        .enqueue(&JobSpec::new("firm", "done", bistro(), "Marges ?"))
        .await
        .unwrap();
    let claimed = queue
        .claim("w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.complete(&claimed, &done).await.unwrap());
    let waiting = queue
        .enqueue(&JobSpec::new("firm", "waiting", bistro(), "Marges ?"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The next claim looks for ended jobs: the finished one goes, the queued one is claimed.
    let next = queue
        .claim("w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, waiting);
    assert!(queue.status("firm", &done).await.unwrap().is_none());
    let again = queue
        .enqueue(&JobSpec::new("firm", "done", bistro(), "Marges ?"))
        .await
        .unwrap();
    assert_ne!(again, done, "the key is free again");
    // Gone from the store too: a restart does not bring it back.
    let reopened = LocalQueue::durable(100, vault).await.unwrap();
    assert!(reopened.status("firm", &done).await.unwrap().is_none());
    assert!(reopened.status("firm", &waiting).await.unwrap().is_some());
    std::fs::remove_file(&path).ok();
}
