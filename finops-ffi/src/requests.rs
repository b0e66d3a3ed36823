//! What an app passes in: models, limits, principals, cache options, analysis requests.

use super::*;

/// Model per phase; the product's defaults where null.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct Models {
    #[uniffi(default = None)]
    pub analyst: Option<String>,
    #[uniffi(default = None)]
    pub researcher: Option<String>,
    #[uniffi(default = None)]
    pub validator: Option<String>,
}

/// Requests per minute.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RateLimitsFfi {
    pub per_tenant: u32,
    pub per_principal: u32,
}

/// Who asks.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PrincipalFfi {
    pub tenant: String,
    pub role: RoleFfi,
    #[uniffi(default = None)]
    pub client: Option<String>,
    /// Who the person is at the identity provider (a verified token's `sub`), kept for the audit trail.
    #[uniffi(default = None)]
    pub sub: Option<String>,
}

impl TryFrom<PrincipalFfi> for Principal {
    type Error = FinopsError;
    fn try_from(p: PrincipalFfi) -> Result<Self, FinopsError> {
        Ok(Principal::new(p.tenant, p.role.into(), p.client)?.with_sub(p.sub)?)
    }
}

impl From<Principal> for PrincipalFfi {
    fn from(p: Principal) -> Self {
        PrincipalFfi {
            tenant: p.tenant,
            role: p.role.into(),
            client: p.client,
            sub: p.sub,
        }
    }
}

/// The caches (see `finops_core::cache::CacheOptions`): every field optional, the defaults are the embedded
/// in-memory tiers.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CacheOptionsFfi {
    #[uniffi(default = None)]
    pub exact: Option<bool>,
    #[uniffi(default = None)]
    pub semantic: Option<bool>,
    #[uniffi(default = None)]
    pub plans: Option<bool>,
    #[uniffi(default = None)]
    pub share_plans: Option<bool>,
    /// Minimum cosine similarity in (0, 1]; the guard still decides.
    #[uniffi(default = None)]
    pub threshold: Option<f32>,
    #[uniffi(default = None)]
    pub ttl_seconds: Option<u64>,
    #[uniffi(default = None)]
    pub capacity: Option<u64>,
    /// An encrypted SQLite store under this folder (the app's files directory on a phone).
    #[uniffi(default = None)]
    pub data_dir: Option<String>,
    #[uniffi(default = None)]
    pub postgres_url: Option<String>,
    #[uniffi(default = None)]
    pub redis_url: Option<String>,
}

impl From<CacheOptionsFfi> for CacheOptions {
    fn from(o: CacheOptionsFfi) -> Self {
        let d = CacheOptions::default();
        CacheOptions {
            exact: o.exact.unwrap_or(d.exact),
            semantic: o.semantic.unwrap_or(d.semantic),
            plans: o.plans.unwrap_or(d.plans),
            share_plans: o.share_plans.unwrap_or(d.share_plans),
            threshold: o.threshold.unwrap_or(d.threshold),
            ttl_seconds: o.ttl_seconds.unwrap_or(d.ttl_seconds),
            capacity: o.capacity.unwrap_or(d.capacity),
            data_dir: o.data_dir.map(Into::into),
            postgres_url: o.postgres_url,
            redis_url: o.redis_url,
        }
    }
}

/// What to analyse, for whom.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisRequestFfi {
    pub statements_json: String,
    pub question: String,
    /// `fr` or `en`; detected from the question when null.
    #[uniffi(default = None)]
    pub language: Option<String>,
    #[uniffi(default = None)]
    pub tenant: Option<String>,
    #[uniffi(default = None)]
    pub client: Option<String>,
    #[uniffi(default = None)]
    pub principal: Option<PrincipalFfi>,
    #[uniffi(default = None)]
    pub cache_mode: Option<CacheModeFfi>,
    /// Reuse only cache entries younger than this many milliseconds.
    #[uniffi(default = None)]
    pub max_cache_age_ms: Option<u64>,
}
