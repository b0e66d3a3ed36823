#![allow(clippy::expect_used, clippy::panic)] // A benchmark stops at the first failure, loudly.
//! The reference server (`finops-server`): what it adds to an analysis over calling the SDK directly, and how many
//! live event streams one instance holds.
//!
//! ```text
//! cargo build --release -p finops-examples --bin finops-server
//! ulimit -n 20000 && cargo bench -p finops-benches --bench server
//! ```
//!
//! 1. Added latency: the same analysis (the example company, offline analyst) run N times through
//!    `Finops::analyze` in this process; N times through the same path as the server's without HTTP (a durable
//!    in-process queue in a SQLite vault, a worker, a follower, the stored result); then N times through the server
//!    as a client sees it (`POST /v1/analyses`, its server-sent events to `finished`, `GET /v1/analyses/{id}`);
//!    p50/p99 of each and of the differences. Also a plain authenticated read (`GET /v1/analyses/{id}`).
//! 2. Streams: a server with no worker holds one queued job; 250, 500, 1,000 and 2,000 clients follow it over
//!    server-sent events at once. After each step: the server's resident memory and its growth per stream, and its
//!    CPU while the streams idle for 10 s.
//!
//! The binary is `FINOPS_SERVER_BIN`, else `<target>/release/finops-server`. Results go to benches/RESULTS.md.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use finops_core::queue::{self, JobSpec, LocalQueue, Queue, Worker};
use finops_core::{AnalysisRequest, Finops, Statements};
use futures::StreamExt;

const RUNS: usize = 300;

fn server_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("FINOPS_SERVER_BIN") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    target.join("release").join("finops-server")
}

struct Server {
    child: Child,
    url: String,
    _data: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._data);
    }
}

fn start(args: &[&str]) -> Server {
    let bin = server_bin();
    assert!(
        bin.exists(),
        "{}: cargo build --release -p finops-examples --bin finops-server",
        bin.display()
    );
    let data = std::env::temp_dir().join(format!("finops-bench-server-{}", uuid::Uuid::new_v4()));
    let mut child = Command::new(bin)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tenant-rate",
            "0",
            "--person-rate",
            "0",
        ])
        .arg("--data-dir")
        .arg(&data)
        .args(args)
        .env("FINOPS_LOG", "warn")
        .env_remove("OPENROUTER_API_KEY")
        .env_remove("FINOPS_OPENAI_BASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server's first lines")
            .expect("text");
        if let Some(rest) = line.strip_prefix("finops-server listening on ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url,
        _data: data,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&ms, 0.5), percentile(&ms, 0.99));
    println!(
        "{name:<44} p50 {p50:>8.3} ms   p99 {p99:>8.3} ms   ({} runs)",
        ms.len()
    );
    (p50, p99)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// User + system CPU ticks of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

async fn token(client: &reqwest::Client, url: &str) -> String {
    let r = client
        .post(format!("{url}/v1/dev/token"))
        .header("content-type", "application/json")
        .body(r#"{"tenant": "bench-firm", "role": "cpa", "sub": "bench"}"#)
        .send()
        .await
        .expect("token");
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    v["token"].as_str().expect("token").to_string()
}

async fn submit(client: &reqwest::Client, url: &str, token: &str, body: &str) -> String {
    let r = client
        .post(format!("{url}/v1/analyses"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    v["id"].as_str().expect("id").to_string()
}

async fn added_latency(document: &str) {
    let statements = Statements::from_json_str(document).expect("statements");
    let question = "Analyse la rentabilité du bistro sur trois ans";
    let fo = Finops::offline();
    let mut direct = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        fo.analyze(AnalysisRequest::new(statements.clone(), question).tenant("bench-firm"))
            .await
            .expect("analysis");
        direct.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The same path without HTTP: a durable in-process queue in a SQLite vault, a worker, a follower, the result.
    let dir = std::env::temp_dir().join(format!("finops-bench-queue-{}", uuid::Uuid::new_v4()));
    let vault = std::sync::Arc::new(
        finops_core::store::open_local_vault(&dir)
            .await
            .expect("vault"),
    );
    let queue: std::sync::Arc<dyn Queue> = std::sync::Arc::new(
        LocalQueue::durable(10_000, vault.clone())
            .await
            .expect("queue"),
    );
    let worker =
        Worker::new(queue.clone(), fo.pipeline().clone(), vault.clone(), 2).expect("worker");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let mut queued = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let started = Instant::now();
        let mut spec = JobSpec::new("bench-firm", format!("k-{i}"), document, question);
        spec.events = true;
        spec.client = Some("bistro".into());
        let id = queue.enqueue(&spec).await.expect("enqueue");
        let events: Vec<_> = queue::follow(queue.clone(), "bench-firm", id.clone())
            .collect()
            .await;
        assert!(events.iter().all(Result::is_ok));
        queue::result(queue.as_ref(), &vault, "bench-firm", &id)
            .await
            .expect("result")
            .expect("stored");
        queued.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = stop.send(());
    running.await.expect("worker task").expect("worker");
    let _ = std::fs::remove_dir_all(&dir);

    let server = start(&[]);
    let client = reqwest::Client::new();
    let token = token(&client, &server.url).await;
    let body = serde_json::json!({
        "statements": serde_json::from_str::<serde_json::Value>(document).expect("json"),
        "question": question, "client": "bistro",
    })
    .to_string();
    let mut through = Vec::with_capacity(RUNS);
    let mut ids = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let id = submit(&client, &server.url, &token, &body).await;
        let events = client
            .get(format!("{}/v1/analyses/{id}/events", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("events")
            .text()
            .await
            .expect("stream");
        assert!(events.contains("\"status\":\"succeeded\""), "{events}");
        let view = client
            .get(format!("{}/v1/analyses/{id}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("result");
        assert_eq!(view.status(), 200);
        view.bytes().await.expect("body");
        through.push(started.elapsed().as_secs_f64() * 1000.0);
        ids.push(id);
    }
    let mut reads = Vec::with_capacity(RUNS);
    for id in ids.iter().cycle().take(RUNS * 3) {
        let started = Instant::now();
        let r = client
            .get(format!("{}/v1/analyses/{id}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("read");
        r.bytes().await.expect("body");
        reads.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("== added latency (offline analyst, the example company) ==");
    let (d50, d99) = summary("SDK direct: Finops::analyze", direct);
    let (q50, q99) = summary("SDK: durable queue + worker + follow + result", queued);
    let (s50, s99) = summary("server: POST + events to finished + GET", through);
    println!(
        "{:<44} p50 {:>8.3} ms   p99 {:>8.3} ms",
        "added by the server over Finops::analyze",
        s50 - d50,
        s99 - d99
    );
    println!(
        "{:<44} p50 {:>8.3} ms   p99 {:>8.3} ms",
        "added by HTTP, auth and JSON (over the queue)",
        s50 - q50,
        s99 - q99
    );
    summary("server: GET /v1/analyses/{id} (stored)", reads);
}

async fn streams(document: &str) {
    let server = start(&["--workers", "0", "--max-streams", "10000"]);
    let pid = server.child.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let token = token(&client, &server.url).await;
    let body = serde_json::json!({
        "statements": serde_json::from_str::<serde_json::Value>(document).expect("json"),
        "question": "Marges ?", "client": "bistro",
    })
    .to_string();
    let id = submit(&client, &server.url, &token, &body).await;
    let base = rss_kib(pid);
    println!("== concurrent event streams (one queued job, no worker) ==");
    println!(
        "server resident memory before: {:.1} MiB",
        base as f64 / 1024.0
    );
    let mut open = Vec::new();
    let mut previous = (0usize, base);
    for target in [250usize, 500, 1000, 2000] {
        let started = Instant::now();
        while open.len() < target {
            let batch: Vec<_> = (open.len()..target.min(open.len() + 100))
                .map(|_| {
                    client
                        .get(format!("{}/v1/analyses/{id}/events", server.url))
                        .bearer_auth(&token)
                        .send()
                })
                .collect();
            for r in futures::future::join_all(batch).await {
                let mut r = r.expect("stream");
                assert_eq!(r.status(), 200);
                // The first event (or a keep-alive) proves the stream is live.
                let first = tokio::time::timeout(Duration::from_secs(20), r.chunk())
                    .await
                    .expect("first bytes")
                    .expect("chunk");
                assert!(first.is_some());
                open.push(r);
            }
        }
        let opened = started.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = rss_kib(pid);
        let ticks = cpu_ticks(pid);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let cpu = (cpu_ticks(pid) - ticks) as f64 / 100.0 / 10.0 * 100.0;
        let per_stream = (rss as f64 - previous.1 as f64) / (target - previous.0) as f64;
        println!(
            "{target:>5} streams: opened in {:>6.2} s, RSS {:>7.1} MiB, +{per_stream:>6.1} KiB per stream since {}, \
             {:>5.1} % of a core while idle",
            opened.as_secs_f64(),
            rss as f64 / 1024.0,
            previous.0,
            cpu
        );
        previous = (target, rss);
    }
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let gauge = metrics
        .lines()
        .find(|l| l.starts_with("finops_event_streams "))
        .unwrap_or("finops_event_streams ?");
    println!("server's own count: {gauge}");
    drop(open);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let document = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    ))
    .expect("example company");
    runtime.block_on(async {
        added_latency(&document).await;
        streams(&document).await;
    });
}
