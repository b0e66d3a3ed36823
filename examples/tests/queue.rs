#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scale-out recipe, end to end: `submit` enqueues, several `worker` processes run the jobs while they are
//! killed with SIGKILL at random moments and restarted; every job completes, each result is stored once, a poison
//! job goes to the dead letters without blocking the others, and SIGTERM stops a worker gracefully.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use finops_core::queue::{JobStatus, PgQueue, Queue, RedisQueue};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::security::{Principal, Role};
use finops_core::store::{PostgresStore, Store, Vault};

const BISTRO: &str = "data/bistro-saint-denis.json";
const PROVIDER_VARS: &[&str] = &[
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "FINOPS_OPENAI_BASE_URL",
];

fn command(bin: &str, key: &str) -> Command {
    let mut c = Command::new(bin);
    for v in PROVIDER_VARS {
        c.env_remove(v);
    }
    c.env("FINOPS_MASTER_KEY", key)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn worker(url: &str, store: Option<&str>, key: &str) -> Child {
    let mut c = command(env!("CARGO_BIN_EXE_worker"), key);
    if let Some(s) = store {
        c.args(["--store", s]);
    }
    c.args(["--queue", url, "--concurrency", "4", "--lease-seconds", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn postgresql_jobs_survive_killed_workers_and_are_stored_once() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    chaos(&url, None);
}

#[test]
fn redis_streams_jobs_survive_killed_workers_and_are_stored_once() {
    let (Ok(redis), Ok(pg)) = (
        std::env::var("FINOPS_TEST_REDIS_URL"),
        std::env::var("FINOPS_TEST_POSTGRES_URL"),
    ) else {
        eprintln!(
            "FINOPS_TEST_REDIS_URL / FINOPS_TEST_POSTGRES_URL are not set: scripts/test sets them"
        );
        return;
    };
    chaos(&redis, Some(&pg));
}

/// 500 jobs through `submit`, 3 `worker` processes killed at random and restarted, a poison job, SIGTERM at the
/// end. `store` is where keys and results live when the queue is not PostgreSQL itself.
fn chaos(queue_url: &str, store: Option<&str>) {
    let url = store.unwrap_or(queue_url).to_string();
    let is_redis = queue_url.starts_with("redis://");
    let key = SecretKey::generate().unwrap().to_hex().to_string();
    let tenant = format!("chaos-{}", uuid::Uuid::new_v4());
    // A queue of its own (`#name`): other tests share the database.
    let url_q = format!("{queue_url}#{tenant}");
    let jobs = 500;
    let mut submit = command(env!("CARGO_BIN_EXE_submit"), &key);
    if let Some(s) = store {
        submit.args(["--store", s]);
    }
    let out = submit
        .args([
            "--queue",
            &url_q,
            "--statements",
            BISTRO,
            "--question",
            "Analyse la rentabilité",
        ])
        .args([
            "--tenant",
            &tenant,
            "--count",
            &jobs.to_string(),
            "--max-attempts",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (Random kills hit the jobs in hand again and again, as a reclaimed job runs first: each kill that catches a
    // job counts as one of its attempts, hence 10.)
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), jobs);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (queue, vault) = rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
        let keys = Arc::new(LocalKeyProvider::new(
            "env",
            SecretKey::from_hex("k", &key).unwrap(),
        ));
        let vault = Arc::new(Vault::open(store, keys).await.unwrap());
        let queue: Box<dyn Queue> = if is_redis {
            Box::new(
                RedisQueue::connect(queue_url, &tenant, vault.clone())
                    .await
                    .unwrap(),
            )
        } else {
            Box::new(
                PgQueue::connect(&url, vault.clone())
                    .await
                    .unwrap()
                    .named(&tenant)
                    .unwrap(),
            )
        };
        (queue, vault)
    });
    // A poison job: its payload cannot be opened by any worker.
    rt.block_on(async {
        if is_redis {
            let client = redis::Client::open(queue_url).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let () = redis::cmd("HSET")
                .arg(format!("finops:{tenant}:job:{}", ids[0]))
                .arg("payload")
                .arg("garbage")
                .query_async(&mut conn)
                .await
                .unwrap();
        } else {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query("UPDATE finops_jobs SET payload = 'garbage' WHERE id = $1")
                .bind(&ids[0])
                .execute(&pool)
                .await
                .unwrap();
        }
    });

    let mut workers: Vec<Child> = (0..3).map(|_| worker(&url_q, store, &key)).collect();
    let started = Instant::now();
    let mut kills = 0;
    let mut rng = fastrand::Rng::with_seed(11);
    let pending = |queue: &dyn Queue| -> usize {
        rt.block_on(async {
            let mut n = 0;
            for id in &ids {
                let s = queue.status(&tenant, id).await.unwrap().unwrap().status;
                if !matches!(s, JobStatus::Succeeded | JobStatus::Dead) {
                    n += 1;
                }
            }
            n
        })
    };
    while pending(queue.as_ref()) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "jobs stuck: {} pending",
            pending(queue.as_ref())
        );
        std::thread::sleep(Duration::from_millis(200 + rng.u64(0..500)));
        if kills < 20 {
            let victim = rng.usize(..workers.len());
            workers[victim].kill().unwrap(); // SIGKILL
            workers[victim].wait().unwrap();
            workers[victim] = worker(&url_q, store, &key);
            kills += 1;
        }
    }
    // SIGTERM: a graceful stop, exit status 0 (after a moment, so a just-restarted worker is up).
    std::thread::sleep(Duration::from_millis(1500));
    for w in &mut workers {
        Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status()
            .unwrap();
    }
    for w in &mut workers {
        let status = w.wait().unwrap();
        assert!(
            status.success(),
            "a worker did not stop gracefully: {status}"
        );
    }

    // Read everything, close the connections inside their runtime, then check (a failed check must not drop
    // them outside it).
    let poison = ids[0].clone();
    let (dead, stored, infos, trail) = rt.block_on(async move {
        let dead = queue.dead_letters(&tenant).await.unwrap();
        let principal = Principal::new(tenant.clone(), Role::Cpa, None).unwrap();
        let stored = vault.list_analyses(&principal).await.unwrap().len();
        let admin = Principal::new(tenant.clone(), Role::Admin, None).unwrap();
        let trail = vault.export_audit(&admin).await.unwrap();
        let mut infos = Vec::new();
        for id in &ids[1..] {
            infos.push(queue.status(&tenant, id).await.unwrap().unwrap());
        }
        drop(queue);
        drop(vault);
        (dead, stored, infos, trail)
    });
    assert_eq!(
        dead.len(),
        1,
        "{:?}",
        dead.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(dead[0].id, poison);
    assert!(dead[0].error.is_some(), "the poison job says why");
    assert_eq!(stored, jobs - 1, "each result stored exactly once");
    // And charged once: one `analysis` entry per job in the (verified) audit trail, however many deliveries.
    let mut charged: Vec<String> = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "analysis")
        .map(|e| e["subject"].as_str().unwrap().to_string())
        .collect();
    charged.sort();
    let before = charged.len();
    charged.dedup();
    assert_eq!((before, charged.len()), (jobs - 1, jobs - 1));
    assert_eq!(infos.len(), jobs - 1);
    for info in &infos {
        assert_eq!(info.status, JobStatus::Succeeded, "{info:?}");
        assert_eq!(info.result_id.as_deref(), Some(info.id.as_str()));
    }
    eprintln!(
        "{jobs} jobs, {kills} workers killed, done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `submit --wait` follows its jobs while a `worker` process runs them: progress on stderr, then one JSON object
/// per job on stdout.
#[test]
fn submit_waits_for_its_jobs_and_streams_their_progress() {
    let url = std::env::var("FINOPS_TEST_POSTGRES_URL")
        .expect("FINOPS_TEST_POSTGRES_URL: scripts/test starts PostgreSQL and sets it");
    let key = SecretKey::generate().unwrap().to_hex().to_string();
    let tenant = format!("wait-{}", uuid::Uuid::new_v4());
    let url_q = format!("{url}#{tenant}");
    let mut w = worker(&url_q, None, &key);
    let out = command(env!("CARGO_BIN_EXE_submit"), &key)
        .args(["--queue", &url_q, "--statements", BISTRO])
        .args(["--question", "Is our debt too high?", "--tenant", &tenant])
        .args(["--count", "3", "--wait", "--json"])
        .output()
        .unwrap();
    Command::new("kill")
        .args(["-TERM", &w.id().to_string()])
        .status()
        .unwrap();
    assert!(w.wait().unwrap().success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(l["status"], "succeeded", "{l}");
        assert_eq!(l["analysis"]["id"], l["job"]);
        let job = l["job"].as_str().unwrap();
        // Each job's progress was streamed from the worker's process.
        for step in [
            "attempt 1 started",
            "analyst started",
            "validator finished",
            "succeeded",
        ] {
            assert!(
                stderr.contains(&format!("{} {step}", &job[..8])),
                "no `{step}` for {job} in:\n{stderr}"
            );
        }
    }
}
