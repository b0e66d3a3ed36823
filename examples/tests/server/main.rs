#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `finops-server` as a client sees it: the binary started on a free port, called over HTTP and WebSocket.
//! Authentication failures, roles and tenant scoping (another firm's ids are 404), rate limits with
//! `Retry-After`, resumable server-sent events, the WebSocket, cancellation, refused uploads named by field, the
//! OpenAPI document and the metrics — and hostile bodies never make it answer 5xx.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

mod auth;
mod events;
mod uploads;

pub(crate) const PROVIDER_VARS: &[&str] = &[
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "FINOPS_OPENAI_BASE_URL",
    "FINOPS_MASTER_KEY",
];

pub(crate) fn bistro() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/bistro-saint-denis.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// A running server and what it wrote on stderr.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) log: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(args: &[&str]) -> Server {
    start_with(args, None)
}

/// A server; `master_key` is the deployment's `FINOPS_MASTER_KEY` when several processes share a database.
pub(crate) fn start_with(args: &[&str], master_key: Option<&str>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_finops-server"));
    for v in PROVIDER_VARS {
        c.env_remove(v);
    }
    if let Some(k) = master_key {
        c.env("FINOPS_MASTER_KEY", k);
    }
    c.args(args);
    spawn(c, data)
}

/// Starts `c` (a `finops-server` command) on a free port with its data in `data`, and waits for it to listen.
pub(crate) fn spawn(mut c: Command, data: tempfile::TempDir) -> Server {
    c.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("FINOPS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("finops-server listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
    Server {
        child,
        url: url.trim_end_matches('/').to_string(),
        log,
        _data: data,
    }
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

pub(crate) async fn dev_token(
    s: &Server,
    tenant: &str,
    role: &str,
    client: Option<&str>,
) -> String {
    let mut body =
        json!({"tenant": tenant, "role": role, "sub": format!("{role}-{}", uuid::Uuid::new_v4())});
    if let Some(c) = client {
        body["client"] = c.into();
    }
    let r = http()
        .post(format!("{}/v1/dev/token", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn submit(s: &Server, token: &str, question: &str, client: &str) -> String {
    let r = http()
        .post(format!("{}/v1/analyses", s.url))
        .bearer_auth(token)
        .json(&json!({"statements": bistro(), "question": question, "client": client}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/analyses/{}", body["id"].as_str().unwrap())
    );
    body["id"].as_str().unwrap().to_string()
}

/// The job's server-sent events as (id, event name, data), to the end of the stream.
pub(crate) async fn sse(
    s: &Server,
    token: &str,
    id: &str,
    last: Option<&str>,
) -> Vec<(u64, String, Value)> {
    let mut request = http()
        .get(format!("{}/v1/analyses/{id}/events", s.url))
        .bearer_auth(token);
    if let Some(l) = last {
        request = request.header("Last-Event-ID", l);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = tokio::time::timeout(Duration::from_secs(60), r.text())
        .await
        .unwrap()
        .unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let (mut id, mut name, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            Some((id?, name, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

pub(crate) async fn get(s: &Server, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// `GET /v1/analyses/{id}` as JSON.
pub(crate) async fn fetch_view(s: &Server, token: &str, id: &str) -> Value {
    get(s, token, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

pub(crate) async fn error_field(r: reqwest::Response) -> (u16, Option<String>, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    (
        status,
        e["field"].as_str().map(str::to_string),
        e["reason"].as_str().unwrap_or_default().to_string(),
    )
}
