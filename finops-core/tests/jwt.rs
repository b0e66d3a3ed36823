#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! JWT verification into a Principal, and every way a token is refused.

use finops_core::Error;
use finops_core::security::Role;
use finops_core::security::jwt::JwtVerifier;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISS: &str = "https://idp.example";
const AUD: &str = "finops";
const SECRET: &[u8] = b"a-shared-secret-of-at-least-32-bytes!!";

fn keys(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "user-1", "iss": ISS, "aud": AUD, "exp": now() + 600, "tenant": "firm-a", "role": "cpa"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs(c: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn kind(e: Error) -> String {
    match e {
        Error::InvalidToken { kind, .. } => kind.to_string(),
        other => panic!("not a token error: {other}"),
    }
}

#[test]
fn valid_tokens_of_each_algorithm_become_principals() {
    let v = JwtVerifier::hs256(SECRET, ISS, AUD).unwrap();
    let p = v.verify(&hs(&claims(json!({})))).unwrap();
    assert_eq!(
        (p.tenant.as_str(), p.role, p.client),
        ("firm-a", Role::Cpa, None)
    );

    let rs = JwtVerifier::rs256_pem(&keys("rsa.pub.pem"), ISS, AUD).unwrap();
    let token = encode(
        &Header::new(Algorithm::RS256),
        &claims(json!({"role": "client", "client": "bistro"})),
        &EncodingKey::from_rsa_pem(&keys("rsa.pem")).unwrap(),
    )
    .unwrap();
    let p = rs.verify(&token).unwrap();
    assert_eq!(
        (p.role, p.client.as_deref()),
        (Role::Client, Some("bistro"))
    );

    let es = JwtVerifier::es256_pem(&keys("ec.pub.pem"), ISS, AUD).unwrap();
    let token = encode(
        &Header::new(Algorithm::ES256),
        &claims(json!({"role": "admin"})),
        &EncodingKey::from_ec_pem(&keys("ec.pk8.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(es.verify(&token).unwrap().role, Role::Admin);
}

#[test]
fn every_refusal_has_its_own_kind() {
    let v = JwtVerifier::hs256(SECRET, ISS, AUD).unwrap();
    // alg: none, unsigned.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSIsImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUiLCJhdWQiOiJmaW5vcHMiLCJleHAiOjQxMDI0NDQ4MDAsInRlbmFudCI6ImZpcm0tYSIsInJvbGUiOiJhZG1pbiJ9.";
    assert_eq!(kind(v.verify(none).unwrap_err()), "algorithm");
    // The same with the header's keys in another order ({"typ":"JWT","alg":"none"}).
    let reordered = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.{}.",
        none.split('.').nth(1).unwrap()
    );
    assert_eq!(kind(v.verify(&reordered).unwrap_err()), "algorithm");
    // Another algorithm than the verifier's (an RS256 token for an HS256 verifier).
    let rs_token = encode(
        &Header::new(Algorithm::RS256),
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(&keys("rsa.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(kind(v.verify(&rs_token).unwrap_err()), "algorithm");
    // Signed with another secret.
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!!"),
    )
    .unwrap();
    assert_eq!(kind(v.verify(&forged).unwrap_err()), "signature");
    // A payload edited after signing.
    let good = hs(&claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        hs(&claims(json!({"role": "admin"})))
            .split('.')
            .nth(1)
            .unwrap(),
        parts[2]
    );
    assert_eq!(kind(v.verify(&tampered).unwrap_err()), "signature");
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"exp": now() - 3600}))))
                .unwrap_err()
        ),
        "expired"
    );
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"nbf": now() + 3600}))))
                .unwrap_err()
        ),
        "not_yet_valid"
    );
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"aud": "someone-else"}))))
                .unwrap_err()
        ),
        "audience"
    );
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"iss": "https://evil.example"}))))
                .unwrap_err()
        ),
        "issuer"
    );
    for missing in ["exp", "sub", "tenant", "role"] {
        assert_eq!(
            kind(v.verify(&hs(&claims(json!({missing: null})))).unwrap_err()),
            "missing_claim",
            "{missing}"
        );
    }
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"role": "client"}))))
                .unwrap_err()
        ),
        "missing_claim"
    );
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"role": "auditor"}))))
                .unwrap_err()
        ),
        "invalid_claim"
    );
    assert_eq!(
        kind(
            v.verify(&hs(&claims(json!({"tenant": "a b"}))))
                .unwrap_err()
        ),
        "invalid_claim"
    );
    assert_eq!(kind(v.verify("not.a.jwt").unwrap_err()), "malformed");
    assert_eq!(kind(v.verify("").unwrap_err()), "malformed");
}

#[test]
fn verifier_configuration_is_checked() {
    assert_eq!(
        JwtVerifier::hs256(b"short", ISS, AUD).unwrap_err().field(),
        Some("jwt_secret")
    );
    assert_eq!(
        JwtVerifier::rs256_pem(b"not a key", ISS, AUD)
            .unwrap_err()
            .field(),
        Some("jwt_public_key")
    );
    assert!(JwtVerifier::hs256(SECRET, "", AUD).is_err());
    // The bindings name the algorithm as text.
    assert!(JwtVerifier::with_algorithm("HS256", SECRET, ISS, AUD).is_ok());
    assert_eq!(
        JwtVerifier::with_algorithm("ES256", b"not a key", ISS, AUD)
            .unwrap_err()
            .field(),
        Some("jwt_public_key")
    );
    for alg in ["none", "HS512", "hs256", ""] {
        assert_eq!(
            JwtVerifier::with_algorithm(alg, SECRET, ISS, AUD)
                .unwrap_err()
                .field(),
            Some("jwt_algorithm"),
            "{alg}"
        );
    }
    let v = JwtVerifier::hs256(SECRET, ISS, AUD).unwrap();
    assert!(!format!("{v:?}").contains("a-shared-secret"));
}

/// A key set with the test RSA key (kid `rsa-1`) and EC key (kid `ec-1`), as an identity provider publishes it.
fn jwks(kids: &[&str]) -> String {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    let mut set = JwkSet { keys: Vec::new() };
    for kid in kids {
        let (pem, alg) = if kid.starts_with("rsa") {
            ("rsa.pem", Algorithm::RS256)
        } else {
            ("ec.pk8.pem", Algorithm::ES256)
        };
        let enc = if alg == Algorithm::RS256 {
            EncodingKey::from_rsa_pem(&keys(pem)).unwrap()
        } else {
            EncodingKey::from_ec_pem(&keys(pem)).unwrap()
        };
        let mut jwk = Jwk::from_encoding_key(&enc, alg).unwrap();
        jwk.common.key_id = Some((*kid).to_string());
        set.keys.push(jwk);
    }
    serde_json::to_string(&set).unwrap()
}

fn signed(kid: Option<&str>, alg: Algorithm, c: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    let key = if alg == Algorithm::RS256 {
        EncodingKey::from_rsa_pem(&keys("rsa.pem")).unwrap()
    } else {
        EncodingKey::from_ec_pem(&keys("ec.pk8.pem")).unwrap()
    };
    encode(&header, c, &key).unwrap()
}

#[test]
fn a_key_set_picks_the_key_the_token_names_and_keeps_the_sub() {
    let v = JwtVerifier::from_jwks(&jwks(&["rsa-1", "ec-1"]), ISS, AUD).unwrap();
    let c = claims(json!({"sub": "auth0|42"}));
    let p = v
        .verify(&signed(Some("rsa-1"), Algorithm::RS256, &c))
        .unwrap();
    assert_eq!(
        p.sub.as_deref(),
        Some("auth0|42"),
        "the sub is kept for the audit trail"
    );
    assert!(
        v.verify(&signed(Some("ec-1"), Algorithm::ES256, &c))
            .is_ok()
    );
    // A kid the set does not have, a kid naming a key of another algorithm, no kid among several keys.
    assert_eq!(
        kind(
            v.verify(&signed(Some("rsa-2"), Algorithm::RS256, &c))
                .unwrap_err()
        ),
        "signature"
    );
    assert_eq!(
        kind(
            v.verify(&signed(Some("ec-1"), Algorithm::RS256, &c))
                .unwrap_err()
        ),
        "algorithm"
    );
    assert_eq!(
        kind(v.verify(&signed(None, Algorithm::RS256, &c)).unwrap_err()),
        "signature"
    );
    // Symmetric keys and garbage are refused as key sets.
    let oct = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","alg":"HS256","kid":"h"}]}"#;
    for bad in [oct, "{}", r#"{"keys":[]}"#, "not json"] {
        assert!(JwtVerifier::from_jwks(bad, ISS, AUD).is_err(), "{bad}");
    }
}

#[test]
fn a_maximum_lifetime_refuses_long_lived_tokens() {
    let v = JwtVerifier::hs256(SECRET, ISS, AUD)
        .unwrap()
        .max_lifetime(std::time::Duration::from_secs(3600))
        .unwrap();
    assert!(
        v.verify(&hs(&claims(json!({"iat": now(), "exp": now() + 600}))))
            .is_ok()
    );
    let long = claims(json!({"iat": now(), "exp": now() + 30 * 24 * 3600}));
    assert_eq!(kind(v.verify(&hs(&long)).unwrap_err()), "invalid_claim");
    assert_eq!(
        kind(v.verify(&hs(&claims(json!({})))).unwrap_err()),
        "missing_claim",
        "iat is required"
    );
    let future = claims(json!({"iat": now() + 3000, "exp": now() + 3600}));
    assert_eq!(kind(v.verify(&hs(&future)).unwrap_err()), "invalid_claim");
    assert!(
        JwtVerifier::hs256(SECRET, ISS, AUD)
            .unwrap()
            .max_lifetime(std::time::Duration::ZERO)
            .is_err()
    );
}

#[test]
fn a_pem_key_is_never_taken_as_an_hs256_secret() {
    for pem in ["rsa.pub.pem", "ec.pub.pem"] {
        let e = JwtVerifier::hs256(&keys(pem), ISS, AUD).unwrap_err();
        assert_eq!(e.field(), Some("jwt_secret"), "{e}");
        assert!(JwtVerifier::with_algorithm("HS256", &keys(pem), ISS, AUD).is_err());
    }
}

#[tokio::test]
async fn a_key_set_url_is_fetched_again_when_the_provider_rotates_its_keys() {
    use std::sync::{Arc, Mutex};
    let served = Arc::new(Mutex::new(jwks(&["rsa-1"])));
    let body = served.clone();
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { body.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let v = JwtVerifier::from_jwks_url(&url, ISS, AUD).await.unwrap();
    let c = claims(json!({}));
    assert!(
        v.verify_fresh(&signed(Some("rsa-1"), Algorithm::RS256, &c))
            .await
            .is_ok()
    );
    // The provider rotates: its set now holds a new key only.
    *served.lock().unwrap() = jwks(&["ec-1"]);
    let token = signed(Some("ec-1"), Algorithm::ES256, &c);
    assert_eq!(
        kind(v.verify(&token).unwrap_err()),
        "signature",
        "not known before a fetch"
    );
    // The first fetch was just now: the next is allowed 30 s later, so a flood of unknown kids costs one fetch.
    assert!(v.verify_fresh(&token).await.is_err());
    assert!(
        JwtVerifier::from_jwks_url("http://example.com/jwks", ISS, AUD)
            .await
            .is_err(),
        "http only on loopback"
    );
    // Once the interval has passed, an unknown kid fetches the set again and the new key verifies.
    let v = v.jwks_refresh_after(std::time::Duration::ZERO);
    assert_eq!(v.verify_fresh(&token).await.unwrap().tenant, "firm-a");
    // The old key is gone from the set.
    let old = signed(Some("rsa-1"), Algorithm::RS256, &c);
    assert_eq!(kind(v.verify_fresh(&old).await.unwrap_err()), "signature");
}
