//! Turns a host identity provider's JWT into a [`Principal`]. One algorithm per verifier (HS256, RS256 or ES256),
//! with issuer and audience required; `alg: none`, another algorithm, a bad signature, an expired or not-yet-valid
//! token, the wrong audience or issuer, and missing claims are each refused with a distinct `kind`.
//!
//! Claims read: `sub`, `exp`, `iss`, `aud` (required), `tenant`, `role` (`admin` | `cpa` | `client`) and, for a
//! client, `client`.

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

/// Verifies tokens of one issuer and audience with one key.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    fn new(key: DecodingKey, algorithm: Algorithm, issuer: &str, audience: &str) -> Result<Self> {
        if issuer.trim().is_empty() || audience.trim().is_empty() {
            return Err(Error::invalid_argument(
                "jwt",
                "issuer and audience are required",
            ));
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(JwtVerifier { key, validation })
    }

    /// HS256 with a shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self> {
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

    /// A verifier for the algorithm a host names (`HS256` with a secret, `RS256` or `ES256` with a PEM public key).
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
            other => Err(Error::invalid_argument(
                "jwt_algorithm",
                format!("`{other}` is not HS256, RS256 or ES256"),
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
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(refused(
                TokenRefusal::Algorithm,
                format!(
                    "{:?} is not the accepted algorithm {:?}",
                    header.alg, self.validation.algorithms
                ),
            ));
        }
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &self.validation)
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
        Principal::new(tenant, role, text("client")).map_err(|e| match e {
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
