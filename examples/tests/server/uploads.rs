//! Uploads refused by field, documents and metrics, hostile bodies.

use super::*;

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
    // The server answers 413 once the body passes its limit and may close the connection before the client has
    // written the rest: the client then sees the refusal as a broken pipe (or a reset) while writing the body.
    match post_form(form).await {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(closed_while_writing(&e), "{e:?}"),
    }
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
    let view = fetch_view(&s, &cpa, &id).await;
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

/// Whether a request failed because the server closed the connection while the body was being written.
fn closed_while_writing(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
        }
        source = s.source();
    }
    false
}
