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

const PROVIDER_VARS: &[&str] = &[
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "FINOPS_OPENAI_BASE_URL",
    "FINOPS_MASTER_KEY",
];

fn bistro() -> Value {
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
struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    start_with(args, None)
}

/// A server; `master_key` is the deployment's `FINOPS_MASTER_KEY` when several processes share a database.
fn start_with(args: &[&str], master_key: Option<&str>) -> Server {
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
fn spawn(mut c: Command, data: tempfile::TempDir) -> Server {
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

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn dev_token(s: &Server, tenant: &str, role: &str, client: Option<&str>) -> String {
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

async fn submit(s: &Server, token: &str, question: &str, client: &str) -> String {
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
async fn sse(s: &Server, token: &str, id: &str, last: Option<&str>) -> Vec<(u64, String, Value)> {
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

async fn get(s: &Server, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn error_field(r: reqwest::Response) -> (u16, Option<String>, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    (
        status,
        e["field"].as_str().map(str::to_string),
        e["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn tokens_are_checked_and_refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let public = dir.path().join("public.pem");
    let other = dir.path().join("other.pem");
    for (args, what) in [
        (
            vec![
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ],
            &key,
        ),
        (
            vec![
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ],
            &other,
        ),
    ] {
        assert!(
            Command::new("openssl")
                .args(args)
                .arg(what)
                .status()
                .unwrap()
                .success()
        );
    }
    assert!(
        Command::new("openssl")
            .args(["ec", "-in"])
            .arg(&key)
            .args(["-pubout", "-out"])
            .arg(&public)
            .status()
            .unwrap()
            .success()
    );
    let s = start(&[
        "--jwt-key",
        public.to_str().unwrap(),
        "--jwt-algorithm",
        "ES256",
        "--issuer",
        "https://idp.example",
    ]);
    let pkcs8 = |path: &std::path::Path| {
        let out = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
            .arg(path)
            .output()
            .unwrap();
        jsonwebtoken::EncodingKey::from_ec_pem(&out.stdout).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let sign = |key: &jsonwebtoken::EncodingKey, claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &claims,
            key,
        )
        .unwrap()
    };
    let good_claims = json!({"iss": "https://idp.example", "aud": "finops-server", "sub": "marie",
                             "exp": now + 600, "tenant": "firm-a", "role": "cpa"});
    let good = sign(&pkcs8(&key), good_claims.clone());
    assert_eq!(get(&s, &good, "/v1/analyses").await.status(), 200);

    let mut expired = good_claims.clone();
    expired["exp"] = (now - 3600).into();
    let mut audience = good_claims.clone();
    audience["aud"] = "another-app".into();
    let mut issuer = good_claims.clone();
    issuer["iss"] = "https://evil.example".into();
    let mut role = good_claims.clone();
    role["role"] = "auditor".into();
    let mut no_tenant = good_claims.clone();
    no_tenant.as_object_mut().unwrap().remove("tenant");
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        base64_url(&good_claims.to_string())
    );
    let cases = [
        (sign(&pkcs8(&key), expired), "expired"),
        (sign(&pkcs8(&key), audience), "audience"),
        (sign(&pkcs8(&key), issuer), "issuer"),
        (sign(&pkcs8(&key), role), "role"),
        (sign(&pkcs8(&key), no_tenant), "tenant"),
        (sign(&pkcs8(&other), good_claims.clone()), "signature"),
        (unsigned, "algorithm"),
        ("not-a-token".to_string(), "not a JWT"),
    ];
    for (token, why) in cases {
        let r = get(&s, &token, "/v1/analyses").await;
        assert_eq!(
            r.headers()["www-authenticate"].to_str().unwrap(),
            "Bearer error=\"invalid_token\""
        );
        let (status, _, reason) = error_field(r).await;
        assert_eq!(status, 401, "{why}");
        assert!(reason.contains(why), "{why}: {reason}");
    }
    // No header, another scheme.
    let r = http()
        .get(format!("{}/v1/analyses", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .get(format!("{}/v1/analyses", s.url))
        .header("Authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Real identities: no development sign-in.
    let r = http()
        .post(format!("{}/v1/dev/token", s.url))
        .json(&json!({"tenant": "firm-a", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn roles_and_firms_are_kept_apart() {
    let s = start(&[]);
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let question = "Analyse la rentabilité du bistro sur trois ans";
    let id = submit(&s, &cpa, question, "bistro").await;
    let events = sse(&s, &cpa, &id, None).await;
    assert_eq!(events.last().unwrap().2["status"], "succeeded");
    let view: Value = get(&s, &cpa, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "succeeded");
    assert_eq!(view["analysis"]["client"], "bistro");
    assert_eq!(view["display"]["gross_margin@FY2023"], "68,97 %");
    assert_eq!(view["review"]["status"], "draft");

    // Another firm's CPA and Admin: every route on the id is 404, as for an id that does not exist.
    let other_cpa = dev_token(&s, "firm-b", "cpa", None).await;
    let other_admin = dev_token(&s, "firm-b", "admin", None).await;
    for token in [&other_cpa, &other_admin] {
        for path in [
            format!("/v1/analyses/{id}"),
            format!("/v1/analyses/{id}/events"),
            format!("/v1/analyses/{id}/review"),
            format!("/v1/analyses/{id}/report.html"),
        ] {
            assert_eq!(get(&s, token, &path).await.status(), 404, "{path}");
        }
        let r = http()
            .delete(format!("{}/v1/analyses/{id}", s.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let list: Vec<Value> = get(&s, token, "/v1/analyses").await.json().await.unwrap();
        assert!(list.is_empty());
    }
    let r = http()
        .post(format!("{}/v1/analyses/{id}/review", s.url))
        .bearer_auth(&other_cpa)
        .json(&json!({"action": "sign_off"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The client of the company: nothing before the sign-off, not even that it exists; may not submit.
    let client = dev_token(&s, "firm-a", "client", Some("bistro")).await;
    let stranger = dev_token(&s, "firm-a", "client", Some("another-company")).await;
    assert_eq!(
        get(&s, &client, &format!("/v1/analyses/{id}"))
            .await
            .status(),
        404
    );
    let list: Vec<Value> = get(&s, &client, "/v1/analyses").await.json().await.unwrap();
    assert!(list.is_empty());
    let r = http()
        .post(format!("{}/v1/analyses", s.url))
        .bearer_auth(&client)
        .json(&json!({"statements": bistro(), "question": "Marges ?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        get(&s, &client, &format!("/v1/analyses/{id}/events"))
            .await
            .status(),
        403
    );
    // Only a CPA signs off; an Admin may not.
    let admin = dev_token(&s, "firm-a", "admin", None).await;
    for (token, status) in [(&client, 403), (&admin, 403), (&cpa, 200)] {
        let r = http()
            .post(format!("{}/v1/analyses/{id}/review", s.url))
            .bearer_auth(token)
            .json(&json!({"action": "sign_off"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }
    let view: Value = get(&s, &client, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["review"]["status"], "signed_off");
    assert_eq!(view["attempts"], Value::Null);
    let list: Vec<Value> = get(&s, &client, "/v1/analyses").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        get(&s, &stranger, &format!("/v1/analyses/{id}"))
            .await
            .status(),
        404
    );
    let html = get(&s, &client, &format!("/v1/analyses/{id}/report.html")).await;
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("68,97"));

    // The audit trail: Admins only; it holds the sign-off.
    assert_eq!(get(&s, &cpa, "/v1/audit").await.status(), 403);
    let r = get(&s, &admin, "/v1/audit").await;
    assert_eq!(r.status(), 200);
    let lines = r.text().await.unwrap();
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert!(lines.contains("signed_off"));
    // Erasure: Admins only; afterwards the client's analysis is gone.
    let erase = |token: String| {
        let url = format!("{}/v1/clients/bistro", s.url);
        async move { http().delete(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(erase(cpa.clone()).await.status(), 403);
    let r = erase(admin.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["erased"].as_u64().unwrap() >= 1);
    assert_eq!(
        get(&s, &cpa, &format!("/v1/analyses/{id}/report.html"))
            .await
            .status(),
        404
    );
    // The question is client data: never in the server's log.
    let log = s.log.lock().unwrap().clone();
    assert!(log.contains("/v1/analyses/{id}"));
    assert!(!log.contains("rentabilité"), "{log}");
}

/// Two API instances and a separate worker process over one PostgreSQL database: a job submitted to one instance
/// is run by the worker, its events stream from the other instance, and both read the result.
#[tokio::test]
async fn instances_and_workers_share_postgres() {
    let pg = std::env::var("FINOPS_TEST_POSTGRES_URL")
        .expect("FINOPS_TEST_POSTGRES_URL: scripts/test starts PostgreSQL and sets it");
    let key: String = (0..64)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap())
        .collect();
    let queue = format!("{pg}#server-{}", uuid::Uuid::new_v4());
    let a = start_with(&["--queue", &queue, "--workers", "0"], Some(&key));
    let b = start_with(&["--queue", &queue, "--workers", "0"], Some(&key));
    let mut worker = Command::new(env!("CARGO_BIN_EXE_worker"));
    for v in PROVIDER_VARS {
        worker.env_remove(v);
    }
    let mut worker = worker
        .env("FINOPS_MASTER_KEY", &key)
        .args(["--queue", &queue, "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Tokens from each instance's own development signer: each instance accepts only its own.
    // A firm of this run's own: the database keeps earlier runs' firms, whose keys another master key wrapped.
    let firm = format!("firm-{}", uuid::Uuid::new_v4());
    let cpa_a = dev_token(&a, &firm, "cpa", None).await;
    let cpa_b = dev_token(&b, &firm, "cpa", None).await;
    assert_eq!(get(&b, &cpa_a, "/v1/analyses").await.status(), 401);
    let id = submit(&a, &cpa_a, "Analyse la rentabilité", "bistro").await;
    let events = sse(&b, &cpa_b, &id, None).await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert!(events.iter().any(|e| e.1 == "phase_finished"), "{events:?}");
    assert_eq!(events.last().unwrap().2["status"], "succeeded");
    for (s, token) in [(&a, &cpa_a), (&b, &cpa_b)] {
        let view: Value = get(s, token, &format!("/v1/analyses/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["status"], "succeeded");
        assert_eq!(view["analysis"]["client"], "bistro");
    }
}

#[tokio::test]
async fn the_callers_trace_follows_the_job_to_its_worker() {
    let s = start(&[]);
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = http()
        .post(format!("{}/v1/analyses", s.url))
        .bearer_auth(&cpa)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({"statements": bistro(), "question": "Marges ?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The answer continues the caller's trace with the server's own span id.
    let answered = r.headers()["traceparent"].to_str().unwrap().to_string();
    assert!(answered.starts_with(&format!("00-{trace}-")), "{answered}");
    assert!(!answered.contains("00f067aa0ba902b7"));
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sse(&s, &cpa, &id, None).await;
    // The worker's span for the job, and the analysis's log lines inside it, carry the same trace id.
    let log = s.log.lock().unwrap().clone();
    let job_lines: Vec<&str> = log.lines().filter(|l| l.contains("finops.job{")).collect();
    assert!(!job_lines.is_empty(), "{log}");
    assert!(
        job_lines
            .iter()
            .all(|l| l.contains(&format!("trace_id={trace}"))),
        "{log}"
    );
    assert!(
        job_lines.iter().any(|l| l.contains("analysis completed")),
        "{log}"
    );
    // A malformed traceparent starts a new trace instead of being trusted.
    let r = http()
        .get(format!("{}/v1/analyses", s.url))
        .bearer_auth(&cpa)
        .header("traceparent", format!("01-{trace}-zz-01"))
        .send()
        .await
        .unwrap();
    let fresh = r.headers()["traceparent"].to_str().unwrap().to_string();
    assert!(!fresh.contains(trace) && fresh.len() == 55, "{fresh}");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let s = start(&["--person-rate", "3", "--tenant-rate", "5"]);
    let marie = dev_token(&s, "firm-a", "cpa", None).await;
    let paul = dev_token(&s, "firm-a", "cpa", None).await;
    let outsider = dev_token(&s, "firm-b", "cpa", None).await;
    for _ in 0..3 {
        assert_eq!(get(&s, &marie, "/v1/analyses").await.status(), 200);
    }
    let r = get(&s, &marie, "/v1/analyses").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(error_field(r).await.0, 429);
    // Another person of the firm has their own allowance, until the firm's is spent.
    assert_eq!(get(&s, &paul, "/v1/analyses").await.status(), 200);
    assert_eq!(get(&s, &paul, "/v1/analyses").await.status(), 200);
    assert_eq!(get(&s, &paul, "/v1/analyses").await.status(), 429);
    // Another firm is not affected.
    assert_eq!(get(&s, &outsider, "/v1/analyses").await.status(), 200);
}

#[tokio::test]
async fn event_streams_resume_and_the_websocket_carries_the_same_events() {
    let s = start(&[]);
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let id = submit(
        &s,
        &cpa,
        "Is our working capital getting tighter?",
        "bistro",
    )
    .await;
    let all = sse(&s, &cpa, &id, None).await;
    assert!(all.len() > 5, "{all:?}");
    let ids: Vec<u64> = all.iter().map(|e| e.0).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    assert_eq!(all[0].1, "started");
    for phase in ["analyst", "researcher", "validator"] {
        assert!(
            all.iter()
                .any(|e| e.1 == "phase_finished" && e.2["event"]["usage"]["phase"] == phase)
        );
    }
    assert_eq!(all.last().unwrap().1, "finished");
    // Resuming after event 4 gives exactly the rest.
    let rest = sse(&s, &cpa, &id, Some("4")).await;
    assert_eq!(rest, all[4..].to_vec());
    // A Last-Event-ID past the end gives nothing more; a malformed one is named.
    assert!(sse(&s, &cpa, &id, Some("100000")).await.is_empty());
    let r = http()
        .get(format!("{}/v1/analyses/{id}/events", s.url))
        .bearer_auth(&cpa)
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(error_field(r).await.1.as_deref(), Some("Last-Event-ID"));

    // The WebSocket: the token as the first message, then the same events.
    let ws_url = format!("{}/v1/analyses/{id}/ws", s.url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            json!({"token": cpa, "last_event_id": 2}).to_string(),
        ))
        .await
        .unwrap();
    let mut received = Vec::new();
    while let Some(m) = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .unwrap()
    {
        match m.unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                received.push((v["id"].as_u64().unwrap(), v["event"].clone()));
            }
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                assert_eq!(u16::from(frame.unwrap().code), 1000);
                break;
            }
            _ => {}
        }
    }
    let expected: Vec<(u64, Value)> = all[2..].iter().map(|e| (e.0, e.2.clone())).collect();
    assert_eq!(received, expected);

    // A bad token, another firm's job: refused with a close code.
    let outsider = dev_token(&s, "firm-b", "cpa", None).await;
    for (token, code) in [("garbage".to_string(), 4401u16), (outsider, 4404)] {
        let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
        socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                json!({ "token": token }).to_string(),
            ))
            .await
            .unwrap();
        let mut closed = None;
        while let Some(Ok(m)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = m {
                closed = frame.map(|f| u16::from(f.code));
                break;
            }
        }
        assert_eq!(closed, Some(code));
    }
}

#[tokio::test]
async fn a_queued_job_is_cancelled_and_its_followers_learn_it() {
    // No worker in this instance: the job waits in the queue.
    let s = start(&["--workers", "0"]);
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let id = submit(&s, &cpa, "Marges ?", "bistro").await;
    let view: Value = get(&s, &cpa, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "queued");
    let metrics = get(&s, &cpa, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("finops_queue_jobs{status=\"queued\"} 1"),
        "{metrics}"
    );
    let follower = {
        let (url, cpa, id) = (s.url.clone(), cpa.clone(), id.clone());
        tokio::spawn(async move {
            http()
                .get(format!("{url}/v1/analyses/{id}/events"))
                .bearer_auth(cpa)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = dev_token(&s, "firm-a", "client", Some("bistro")).await;
    for (token, status) in [(&client, 403), (&cpa, 200)] {
        let r = http()
            .delete(format!("{}/v1/analyses/{id}", s.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
        if status == 200 {
            assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
        }
    }
    let text = tokio::time::timeout(Duration::from_secs(10), follower)
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("event: finished"), "{text}");
    assert!(text.contains("\"status\":\"cancelled\""), "{text}");
}

/// A job running on a real model (the local server the tests use, one slow call per phase) is cancelled over
/// HTTP: its follower learns it, and nothing is stored.
#[tokio::test]
async fn a_running_job_is_cancelled() {
    let llm = std::env::var("FINOPS_TEST_LLM_URL")
        .expect("FINOPS_TEST_LLM_URL: scripts/test starts the local model server and sets it");
    let data = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_finops-server"));
    for v in PROVIDER_VARS {
        c.env_remove(v);
    }
    let s = {
        c.env("FINOPS_OPENAI_BASE_URL", &llm);
        spawn(c, data)
    };
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let id = submit(
        &s,
        &cpa,
        "Is our working capital getting tighter?",
        "bistro",
    )
    .await;
    // Follow until the worker has started the Analyst's call, then cancel.
    let r = http()
        .get(format!("{}/v1/analyses/{id}/events", s.url))
        .bearer_auth(&cpa)
        .send()
        .await
        .unwrap();
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: phase_started") {
        let chunk = tokio::time::timeout(Duration::from_secs(60), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let r = http()
        .delete(format!("{}/v1/analyses/{id}", s.url))
        .bearer_auth(&cpa)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    while !seen.contains("event: finished") {
        let chunk = tokio::time::timeout(Duration::from_secs(60), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"status\":\"cancelled\""), "{seen}");
    let view: Value = get(&s, &cpa, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["analysis"], Value::Null);
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_field() {
    let s = start(&["--max-body-mib", "1"]);
    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let post_json = |body: Value| {
        let (url, cpa) = (s.url.clone(), cpa.clone());
        async move {
            error_field(
                http()
                    .post(format!("{url}/v1/analyses"))
                    .bearer_auth(cpa)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let mut broken = bistro();
    broken["periods"][0]["income_statement"]["revenue"] = "lots".into();
    let cases = [
        (json!({"statements": bistro()}), "question"),
        (
            json!({"statements": bistro(), "question": "q", "extra": 1}),
            "extra",
        ),
        (json!({"question": "q"}), "statements"),
        (
            json!({"statements": bistro(), "sources": [], "question": "q"}),
            "sources",
        ),
        (
            json!({"sources": [{"name": "a.txt", "content_base64": "%%%"}], "question": "q"}),
            "sources[0].content_base64",
        ),
        (
            json!({"sources": [{"name": "a.txt"}], "question": "q"}),
            "sources[0]",
        ),
        (
            json!({"statements": bistro(), "question": "q", "language": "de"}),
            "language",
        ),
        (
            json!({"statements": bistro(), "question": "q", "options": {"format": "pdf"}}),
            "format",
        ),
        (
            json!({"statements": broken, "question": "q"}),
            "periods[0].income_statement.revenue",
        ),
        (
            json!({"statements": bistro(), "question": "   "}),
            "question",
        ),
    ];
    for (body, field) in cases {
        let (status, got, reason) = post_json(body).await;
        assert_eq!(status, 400, "{field}: {reason}");
        assert_eq!(got.as_deref(), Some(field), "{reason}");
    }
    // Wrong content type; a body over the limit.
    let r = http()
        .post(format!("{}/v1/analyses", s.url))
        .bearer_auth(&cpa)
        .body("question=q")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(error_field(r).await.1.as_deref(), Some("Content-Type"));
    let big =
        json!({"question": "q", "sources": [{"name": "big.csv", "content": "x".repeat(2 << 20)}]});
    let r = http()
        .post(format!("{}/v1/analyses", s.url))
        .bearer_auth(&cpa)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Multipart: an unknown field, no file, then two FEC files (Latin-1 bytes as they are) accepted.
    let post_form = |form: reqwest::multipart::Form| {
        http()
            .post(format!("{}/v1/analyses", s.url))
            .bearer_auth(&cpa)
            .multipart(form)
            .send()
    };
    let form = reqwest::multipart::Form::new()
        .text("question", "Marges ?")
        .text("colour", "blue");
    let r = post_form(form).await.unwrap();
    assert_eq!(error_field(r).await.1.as_deref(), Some("colour"));
    let form = reqwest::multipart::Form::new().text("question", "Marges ?");
    let r = post_form(form).await.unwrap();
    assert_eq!(error_field(r).await.1.as_deref(), Some("statements"));
    let form = reqwest::multipart::Form::new()
        .text("question", "Marges ?")
        .part(
            "files",
            reqwest::multipart::Part::bytes(vec![b'x'; 2 << 20]).file_name("big.csv"),
        );
    assert_eq!(post_form(form).await.unwrap().status(), 413);
    let fec = |year: &str| {
        let name = format!("552100554FEC{year}1231.txt");
        let bytes =
            std::fs::read(format!("{}/data/fec/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        reqwest::multipart::Part::bytes(bytes).file_name(name)
    };
    let form = reqwest::multipart::Form::new()
        .text("question", "Analyse la rentabilité")
        .text("company_name", "Bistro Saint-Denis SAS")
        .part("files", fec("2022"))
        .part("files", fec("2023"));
    let r = post_form(form).await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let events = sse(&s, &cpa, &id, None).await;
    assert_eq!(events.last().unwrap().2["status"], "succeeded");
    let view: Value = get(&s, &cpa, &format!("/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    // The FEC's accounts are behind the figures.
    let figures = view["analysis"]["figures"].as_array().unwrap();
    assert!(figures.iter().any(|f| {
        f["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["accounts"].as_array().is_some_and(|a| !a.is_empty()))
    }));
}

#[tokio::test]
async fn openapi_metrics_and_downloads() {
    let s = start(&[]);
    let doc: Value = http()
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/analyses",
        "/v1/analyses/{id}",
        "/v1/analyses/{id}/events",
        "/v1/analyses/{id}/ws",
        "/v1/analyses/{id}/review",
        "/v1/audit",
        "/v1/clients/{client}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["SubmitJson"]["properties"]["question"].is_object());

    let cpa = dev_token(&s, "firm-a", "cpa", None).await;
    let id = submit(&s, &cpa, "Analyse la rentabilité", "bistro").await;
    sse(&s, &cpa, &id, None).await;
    for (format, magic) in [
        ("pdf", b"%PDF-".as_slice()),
        ("xlsx", b"PK".as_slice()),
        ("html", b"<!doctype html>".as_slice()),
    ] {
        let r = get(&s, &cpa, &format!("/v1/analyses/{id}/report.{format}")).await;
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{format}");
    }
    assert_eq!(
        get(&s, &cpa, &format!("/v1/analyses/{id}/report.docx"))
            .await
            .status(),
        404
    );
    let metrics = http()
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "finops_analyses_total{outcome=\"degraded\"} 1",
        "finops_cache_outcomes_total{outcome=\"miss\"} 1",
        "finops_jobs_submitted_total 1",
        "finops_queue_jobs{status=\"dead\"} 0",
        "finops_http_requests_total{method=\"POST\",route=\"/v1/analyses\",status=\"202\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
}

/// Whatever body arrives — random bytes, mangled JSON, deep nesting — the answer is a 4xx with a named field (or
/// a 202 when the mangling left a valid document), never a 5xx or a dropped connection.
#[test]
fn hostile_bodies_get_a_4xx() {
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = start(&["--person-rate", "0", "--tenant-rate", "0"]);
    let cpa = runtime.block_on(dev_token(&s, "firm-a", "cpa", None));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&hostile_body(), |body| {
            runtime.block_on(async {
                let r = http()
                    .post(format!("{}/v1/analyses", s.url))
                    .bearer_auth(&cpa)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                if r.status().as_u16() != 202 {
                    let (status, field, reason) = error_field(r).await;
                    assert!((400..500).contains(&status), "{status} {reason}");
                    assert!(field.is_some(), "{reason}");
                }
            });
            Ok(())
        })
        .unwrap();
}

fn hostile_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let doc = bistro().to_string();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        (0usize..doc.len(), any::<u8>()).prop_map(move |(at, b)| {
            let mut bytes = json!({"statements": serde_json::from_str::<Value>(&doc).unwrap(), "question": "q"})
                .to_string()
                .into_bytes();
            let at = at % bytes.len();
            bytes[at] = b;
            bytes
        }),
        (1usize..3000).prop_map(|depth| {
            format!("{{\"question\": \"q\", \"statements\": {}1{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        }),
    ]
}
