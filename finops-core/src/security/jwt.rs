//! Turns a host identity provider's JWT into a [`Principal`]. A verifier holds one key (HS256 with a secret, RS256
//! or ES256 with a PEM public key) or an identity provider's key set (JWKS, chosen by the token's `kid`, refreshed
//! from its URL when a new `kid` appears: providers rotate keys). Issuer and audience are required; `alg: none`,
//! another algorithm, a bad signature, an unknown key, an expired or not-yet-valid token, a token living longer
//! than the verifier's maximum, the wrong audience or issuer, and missing claims are each refused with a distinct
//! `kind`.
//!
//! Claims read: `sub`, `exp`, `iss`, `aud` (required), `iat` (required with a maximum lifetime), `tenant`, `role`
//! (`admin` | `cpa` | `client`) and, for a client, `client`. `sub` is kept in the principal for the audit trail.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{Principal, Role};
use crate::error::{Error, Result, TokenRefusal};

fn refused(kind: TokenRefusal, reason: impl Into<String>) -> Error {
    Error::InvalidToken {
        kind,
        reason: reason.into(),
    }
}

/// One verification key: its id (`kid`) when it came from a key set, and its algorithm.
#[derive(Clone)]
struct VerifierKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies tokens of one issuer and audience.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Arc<RwLock<Vec<VerifierKey>>>,
    issuer: String,
    audience: String,
    max_lifetime: Option<Duration>,
    /// Where the key set comes from, to fetch it again when a token names a `kid` not in it.
    jwks_url: Option<String>,
    last_fetch: Arc<Mutex<Option<Instant>>>,
    /// The least time between two fetches of the key set.
    refresh_after: Duration,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("JwtVerifier")
            .field(
                "keys",
                &keys
                    .iter()
                    .map(|k| (k.kid.clone(), k.algorithm))
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime", &self.max_lifetime)
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

/// The most a key set may weigh, and how often it is fetched again at most.
#[cfg(feature = "http-providers")]
const MAX_JWKS_BYTES: usize = 1 << 20;
const JWKS_REFRESH: Duration = Duration::from_secs(30);

impl JwtVerifier {
    fn new(key: DecodingKey, algorithm: Algorithm, issuer: &str, audience: &str) -> Result<Self> {
        Self::with_keys(
            vec![VerifierKey {
                kid: None,
                algorithm,
                key,
            }],
            issuer,
            audience,
            None,
        )
    }

    fn with_keys(
        keys: Vec<VerifierKey>,
        issuer: &str,
        audience: &str,
        jwks_url: Option<String>,
    ) -> Result<Self> {
        if issuer.trim().is_empty() || audience.trim().is_empty() {
            return Err(Error::invalid_argument(
                "jwt",
                "issuer and audience are required",
            ));
        }
        Ok(JwtVerifier {
            keys: Arc::new(RwLock::new(keys)),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            max_lifetime: None,
            jwks_url,
            last_fetch: Arc::new(Mutex::new(None)),
            refresh_after: JWKS_REFRESH,
        })
    }

    /// The least time between two fetches of the key set (default 30 s): a flood of tokens naming unknown keys
    /// costs one fetch per interval, not one per token.
    pub fn jwks_refresh_after(mut self, interval: Duration) -> Self {
        self.refresh_after = interval;
        self
    }

    /// Refuses tokens meant to live longer than `max` (from `iat` to `exp`; `iat` becomes required), so a
    /// long-lived token leaked from a host's logs is not a key for a year.
    pub fn max_lifetime(mut self, max: Duration) -> Result<Self> {
        if max.is_zero() || max > Duration::from_secs(366 * 24 * 3600) {
            return Err(Error::invalid_argument(
                "jwt_max_lifetime",
                "must be more than 0 and at most a year",
            ));
        }
        self.max_lifetime = Some(max);
        Ok(self)
    }

    /// The keys of an identity provider's key set (JWKS, as JSON): each with its `kid` and algorithm (from the
    /// key's `alg`, or its type: RSA → RS256, EC P-256 → ES256, Ed25519 → EdDSA). Symmetric keys are refused: a
    /// published key set holds public keys only.
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self> {
        Self::with_keys(parse_jwks(jwks)?, issuer, audience, None)
    }

    /// [`JwtVerifier::from_jwks`] with the key set fetched from the identity provider's URL (`https://…`, or
    /// `http://` on loopback); fetched again, at most every 30 s, when a token names a `kid` not in it (see
    /// [`JwtVerifier::verify_fresh`]).
    pub async fn from_jwks_url(url: &str, issuer: &str, audience: &str) -> Result<Self> {
        crate::provider::http::check_base_url(url).map_err(|_| {
            Error::invalid_argument(
                "jwks_url",
                "must be an https:// URL (http:// only on loopback)",
            )
        })?;
        let keys = fetch_jwks(url).await?;
        let verifier = Self::with_keys(keys, issuer, audience, Some(url.to_string()))?;
        *verifier
            .last_fetch
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(verifier)
    }

    /// [`JwtVerifier::verify`], fetching the key set again first when the token names a key it does not hold (the
    /// identity provider rotated its keys) and the last fetch is more than 30 s old.
    pub async fn verify_fresh(&self, token: &str) -> Result<Principal> {
        match self.verify(token) {
            Err(Error::InvalidToken {
                kind: TokenRefusal::Signature,
                reason,
            }) if reason.starts_with(UNKNOWN_KID) && self.jwks_url.is_some() => {
                let due = self
                    .last_fetch
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_none_or(|at| at.elapsed() >= self.refresh_after);
                if let (true, Some(url)) = (due, &self.jwks_url) {
                    *self.last_fetch.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Instant::now());
                    let keys = fetch_jwks(url).await?;
                    *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
                }
                self.verify(token)
            }
            other => other,
        }
    }

    /// HS256 with a shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self> {
        // A PEM key given as an HS256 secret would make the *public* key the signing secret: anyone could sign.
        if String::from_utf8_lossy(secret)
            .trim_start()
            .starts_with("-----BEGIN")
        {
            return Err(Error::invalid_argument(
                "jwt_secret",
                "is a PEM key: use RS256 or ES256 with the identity provider's public key",
            ));
        }
        if secret.len() < 32 {
            return Err(Error::invalid_argument(
                "jwt_secret",
                "an HS256 secret must be at least 32 bytes",
            ));
        }
        Self::new(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
            issuer,
            audience,
        )
    }

    /// RS256 with the identity provider's public key (PEM).
    pub fn rs256_pem(public_key: &[u8], issuer: &str, audience: &str) -> Result<Self> {
        let key = DecodingKey::from_rsa_pem(public_key).map_err(|e| {
            Error::invalid_argument(
                "jwt_public_key",
                format!("not an RSA public key in PEM: {e}"),
            )
        })?;
        Self::new(key, Algorithm::RS256, issuer, audience)
    }

    /// ES256 with the identity provider's public key (PEM, P-256).
    pub fn es256_pem(public_key: &[u8], issuer: &str, audience: &str) -> Result<Self> {
        let key = DecodingKey::from_ec_pem(public_key).map_err(|e| {
            Error::invalid_argument(
                "jwt_public_key",
                format!("not an EC public key in PEM: {e}"),
            )
        })?;
        Self::new(key, Algorithm::ES256, issuer, audience)
    }

    /// A verifier for the algorithm a host names (`HS256` with a secret, `RS256` or `ES256` with a PEM public key,
    /// `JWKS` with an identity provider's key set as JSON).
    pub fn with_algorithm(
        algorithm: &str,
        key: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self> {
        match algorithm {
            "HS256" => Self::hs256(key, issuer, audience),
            "RS256" => Self::rs256_pem(key, issuer, audience),
            "ES256" => Self::es256_pem(key, issuer, audience),
            "JWKS" => Self::from_jwks(&String::from_utf8_lossy(key), issuer, audience),
            other => Err(Error::invalid_argument(
                "jwt_algorithm",
                format!("`{other}` is not HS256, RS256, ES256 or JWKS"),
            )),
        }
    }

    /// The principal a valid token names.
    pub fn verify(&self, token: &str) -> Result<Principal> {
        // jsonwebtoken has no `none` algorithm, so such a header fails to parse as an unknown `alg` variant: name
        // it for what it is.
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            let unknown_alg =
                matches!(e.kind(), ErrorKind::Json(_)) && e.to_string().contains("unknown variant");
            if unknown_alg || matches!(e.kind(), ErrorKind::InvalidAlgorithmName) {
                refused(
                    TokenRefusal::Algorithm,
                    "unsigned (`alg: none`) or unknown algorithm",
                )
            } else {
                refused(TokenRefusal::Malformed, format!("not a JWT: {e}"))
            }
        })?;
        let key = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            let chosen = match &header.kid {
                Some(kid) if keys.iter().any(|k| k.kid.is_some()) => {
                    keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str()))
                }
                _ if keys.len() == 1 => keys.first(),
                _ => {
                    return Err(refused(
                        TokenRefusal::Signature,
                        format!(
                            "{UNKNOWN_KID}: the token names no `kid` and the key set has several keys"
                        ),
                    ));
                }
            };
            match chosen {
                Some(k) => k.clone(),
                None => {
                    return Err(refused(
                        TokenRefusal::Signature,
                        format!("{UNKNOWN_KID} `{}`", header.kid.unwrap_or_default()),
                    ));
                }
            }
        };
        if header.alg != key.algorithm {
            return Err(refused(
                TokenRefusal::Algorithm,
                format!(
                    "{:?} is not the accepted algorithm {:?}",
                    header.alg, key.algorithm
                ),
            ));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        if self.max_lifetime.is_some() {
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        } else {
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        }
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => {
                    refused(TokenRefusal::Signature, "the signature does not match")
                }
                ErrorKind::ExpiredSignature => {
                    refused(TokenRefusal::Expired, "the token has expired")
                }
                ErrorKind::ImmatureSignature => refused(
                    TokenRefusal::NotYetValid,
                    "the token is not valid yet (nbf)",
                ),
                ErrorKind::InvalidAudience => {
                    refused(TokenRefusal::Audience, "the token is for another audience")
                }
                ErrorKind::InvalidIssuer => {
                    refused(TokenRefusal::Issuer, "the token is from another issuer")
                }
                ErrorKind::InvalidAlgorithm => {
                    refused(TokenRefusal::Algorithm, "the token uses another algorithm")
                }
                ErrorKind::MissingRequiredClaim(c) => refused(
                    TokenRefusal::MissingClaim,
                    format!("the `{c}` claim is missing"),
                ),
                _ => refused(TokenRefusal::Malformed, e.to_string()),
            })?;
        let claims = data.claims;
        if let Some(max) = self.max_lifetime {
            let seconds = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
            let (Some(iat), Some(exp)) = (seconds("iat"), seconds("exp")) else {
                return Err(refused(
                    TokenRefusal::MissingClaim,
                    "`iat` and `exp` must be whole seconds",
                ));
            };
            let now = chrono::Utc::now().timestamp();
            let lifetime = exp.saturating_sub(iat);
            if iat > now.saturating_add(30) || lifetime < 0 || lifetime as u64 > max.as_secs() {
                return Err(refused(
                    TokenRefusal::InvalidClaim,
                    format!(
                        "the token lives {lifetime} s (from `iat` to `exp`), more than the {} s allowed",
                        max.as_secs()
                    ),
                ));
            }
        }
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let tenant = text("tenant")
            .ok_or_else(|| refused(TokenRefusal::MissingClaim, "the `tenant` claim is missing"))?;
        let role: Role = text("role")
            .ok_or_else(|| refused(TokenRefusal::MissingClaim, "the `role` claim is missing"))?
            .parse()
            .map_err(|_| {
                refused(
                    TokenRefusal::InvalidClaim,
                    "`role` must be admin, cpa or client",
                )
            })?;
        Principal::new(tenant, role, text("client"))
            .and_then(|p| p.with_sub(text("sub")))
            .map_err(|e| match e {
                Error::InvalidArgument { field, reason } => refused(
                    if field == "client" && role == Role::Client {
                        TokenRefusal::MissingClaim
                    } else {
                        TokenRefusal::InvalidClaim
                    },
                    format!("`{field}`: {reason}"),
                ),
                other => other,
            })
    }
}

/// How a refusal for a key the verifier does not hold begins (so [`JwtVerifier::verify_fresh`] knows to refetch).
const UNKNOWN_KID: &str = "no key with this kid";

fn parse_jwks(jwks: &str) -> Result<Vec<VerifierKey>> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
    let set: JwkSet = serde_json::from_str(jwks)
        .map_err(|e| Error::invalid_argument("jwks", format!("not a JWK set: {e}")))?;
    let mut keys = Vec::with_capacity(set.keys.len());
    for (i, jwk) in set.keys.iter().enumerate() {
        let field = format!("jwks.keys[{i}]");
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (_, AlgorithmParameters::OctetKey(_)) => {
                return Err(Error::invalid_argument(
                    field,
                    "a symmetric key has no place in a published key set",
                ));
            }
            (Some(a), _) => a.to_string().parse::<Algorithm>().map_err(|_| {
                Error::invalid_argument(&field, format!("algorithm `{a}` is not supported"))
            })?,
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P384 => {
                Algorithm::ES384
            }
            (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
            (None, _) => {
                return Err(Error::invalid_argument(
                    field,
                    "the key names no algorithm and its type implies none",
                ));
            }
        };
        if matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(Error::invalid_argument(
                field,
                "a symmetric algorithm has no place in a published key set",
            ));
        }
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| Error::invalid_argument(&field, format!("not a usable key: {e}")))?;
        keys.push(VerifierKey {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key,
        });
    }
    if keys.is_empty() {
        return Err(Error::invalid_argument("jwks", "the key set has no keys"));
    }
    Ok(keys)
}

#[cfg(not(feature = "http-providers"))]
async fn fetch_jwks(url: &str) -> Result<Vec<VerifierKey>> {
    let _ = url;
    Err(Error::feature_disabled(
        "jwks_url",
        "fetching a key set over HTTP",
        "http-providers",
    ))
}

#[cfg(feature = "http-providers")]
async fn fetch_jwks(url: &str) -> Result<Vec<VerifierKey>> {
    let failed = |why: String| Error::Backend {
        backend: crate::BackendKind::Identity,
        reason: format!("the identity provider's key set ({url}): {why}"),
        retryable: true,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(failed(format!("larger than {MAX_JWKS_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    parse_jwks(&String::from_utf8_lossy(&body))
}
