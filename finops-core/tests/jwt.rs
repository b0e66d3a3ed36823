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
