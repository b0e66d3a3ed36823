//! Tokens, roles and firms, rate limits.

use super::*;

#[tokio::test]
async fn tokens_are_checked_and_refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let public = dir.path().join("public.pem");
    let other = dir.path().join("other.pem");
    let openssl = |args: &[&str]| {
        assert!(
            Command::new("openssl")
                .args(args)
                .status()
                .unwrap()
                .success()
        );
    };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    for pem in [&key, &other] {
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &path(pem),
        ]);
    }
    openssl(&["ec", "-in", &path(&key), "-pubout", "-out", &path(&public)]);
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
    let view = fetch_view(&s, &cpa, &id).await;
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
    let view = fetch_view(&s, &client, &id).await;
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
