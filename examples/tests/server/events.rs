//! Live events (SSE and WebSocket), cancellation, traces into workers, several instances over PostgreSQL.

use super::*;

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
        let view = fetch_view(s, token, &id).await;
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
    let view = fetch_view(&s, &cpa, &id).await;
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
    let view = fetch_view(&s, &cpa, &id).await;
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["analysis"], Value::Null);
}
