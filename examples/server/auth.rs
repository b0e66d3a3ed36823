//! Who is calling: a bearer JWT checked by the SDK's verifier (a JWKS URL, a public key file, or in development a
//! secret this process made), then the per-tenant and per-person rate limits. Every `/v1` route takes a [`Caller`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use finops_core::security::jwt::JwtVerifier;
use finops_core::security::limits::RateLimits;
use finops_core::security::{Principal, Role};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The development issuer and audience of tokens [`DevTokens`] signs.
pub const DEV_ISSUER: &str = "finops-server-dev";
/// The audience every token must carry unless `--audience` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "finops-server";

/// Verifies tokens and applies the rate limits.
#[derive(Debug)]
pub struct Auth {
    verifier: JwtVerifier,
    fresh: bool,
    limits: Option<RateLimits>,
    dev: Option<DevTokens>,
}

impl Auth {
    /// `fresh`: refetch the key set once on an unknown `kid` (JWKS URLs, where keys rotate).
    pub fn new(
        verifier: JwtVerifier,
        fresh: bool,
        limits: Option<RateLimits>,
        dev: Option<DevTokens>,
    ) -> Self {
        Auth {
            verifier,
            fresh,
            limits,
            dev,
        }
    }

    /// The development token issuer, when this server runs without an identity provider.
    pub fn dev(&self) -> Option<&DevTokens> {
        self.dev.as_ref()
    }

    /// The principal a bearer token names, or 401.
    pub async fn principal(&self, token: &str) -> ApiResult<Principal> {
        let verified = if self.fresh {
            self.verifier.verify_fresh(token).await
        } else {
            self.verifier.verify(token)
        };
        Ok(verified?)
    }

    /// 429 with `Retry-After` once the tenant or the person has made too many requests this minute.
    pub fn admit(&self, principal: &Principal) -> ApiResult<()> {
        if let Some(limits) = &self.limits {
            let who = principal.sub.as_deref().unwrap_or(match principal.role {
                Role::Client => principal.client.as_deref().unwrap_or("client"),
                Role::Cpa => "cpa",
                Role::Admin => "admin",
            });
            limits.check(&principal.tenant, who)?;
        }
        Ok(())
    }
}

/// A development identity provider: signs HS256 tokens with a secret made at start (never written anywhere), for
/// the page's sign-in form. Off whenever the server is given a real key set or key.
#[derive(Debug)]
pub struct DevTokens {
    key: jsonwebtoken::EncodingKey,
    audience: String,
}

/// What the development sign-in asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    /// The CPA firm.
    pub tenant: String,
    /// `admin`, `cpa` or `client`.
    pub role: String,
    /// The client company, for a Client.
    #[serde(default)]
    pub client: Option<String>,
    /// Who signs in (shown in the audit trail).
    #[serde(default)]
    pub sub: Option<String>,
}

/// A signed development token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DevToken {
    /// The bearer token.
    pub token: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

impl DevTokens {
    /// A secret of 32 random bytes and the verifier that accepts what it signs.
    pub fn generate(audience: &str) -> finops_core::Result<(Self, JwtVerifier)> {
        // 64 hex characters of a fresh 256-bit key: the HMAC secret, as text.
        let secret = finops_core::security::crypto::SecretKey::generate()?.to_hex();
        let verifier = JwtVerifier::hs256(secret.as_bytes(), DEV_ISSUER, audience)?
            .max_lifetime(Duration::from_secs(12 * 3600))?;
        Ok((
            DevTokens {
                key: jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
                audience: audience.to_string(),
            },
            verifier,
        ))
    }

    /// A token for the principal the request names (checked as any principal is).
    pub fn issue(&self, request: &DevTokenRequest) -> ApiResult<DevToken> {
        let role: Role = request.role.parse()?;
        let sub = request
            .sub
            .clone()
            .unwrap_or_else(|| format!("{}@{}", request.role, request.tenant));
        let principal = Principal::new(request.tenant.clone(), role, request.client.clone())?
            .with_sub(Some(sub.clone()))?;
        let now = chrono::Utc::now().timestamp();
        let lifetime = 8 * 3600;
        let claims = serde_json::json!({
            "iss": DEV_ISSUER, "aud": self.audience, "sub": sub, "iat": now, "exp": now + lifetime,
            "tenant": principal.tenant, "role": role.to_string(), "client": principal.client,
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.key,
        )
        .map_err(|e| finops_core::Error::Internal(format!("signing a development token: {e}")))?;
        Ok(DevToken {
            token,
            expires_in: lifetime as u64,
        })
    }
}

/// The authenticated, admitted principal of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> ApiResult<&Principal> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(&format!(
                "a {} may not {what}",
                self.0.role
            )))
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(parts: &Parts) -> ApiResult<&str> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("no Authorization header (Bearer token)"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header is not `Bearer <token>`",
        )),
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Self> {
        let token = bearer(parts)?;
        let principal = state.auth.principal(token).await?;
        state.auth.admit(&principal)?;
        Ok(Caller(principal))
    }
}
