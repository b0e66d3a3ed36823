//! The result cache (README "Caching"): an analysis is reused only for the same tenant, the same statements
//! (canonical fingerprint), the same question once normalized (case, accents, whitespace, punctuation), the same
//! language and the same pipeline configuration (models, providers, prompt version). Never another tenant's or
//! another document's answer. A hit costs $0.
//!
//! Three tiers, tried in order: the exact tier ([`Cache`]: [`MemoryCache`] in process, [`StoreCache`] in the
//! vault's store, [`RedisCache`] shared), the semantic tier ([`SemanticCache`]: a close question, reused only if
//! the [`guard`] agrees) and the plan tier ([`PlanCache`]: the Analyst's plan for a close question in the same
//! sector; the Researcher and the Validator still run on the client's own numbers).

pub mod guard;
mod host;
mod index;
mod options;
#[cfg(feature = "redis")]
mod redis_cache;
pub mod semantic;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::analysis::{Analysis, Language, intent};
use crate::error::{Error, Result};
use crate::store::Vault;

/// Where the embedded caches keep their store and key (moved to [`crate::store`]; kept here for existing callers).
pub use crate::store::{master_key, open_local_vault};
pub use guard::Signature;
pub use host::{HostCache, KeyValueStore};
pub use options::{CacheOptions, Caches};
#[cfg(feature = "redis")]
pub use redis_cache::RedisCache;
#[cfg(feature = "redis")]
pub(crate) use redis_cache::{redis_client, redis_manager};
pub use semantic::{
    Hit, Miss, PlanCache, PlanEntry, Scope, SemanticCache, SemanticOptions, SemanticTier,
};

/// The record kinds the cache tiers keep in a vault's store (erasing a client deletes them).
pub use crate::store::CACHE_KINDS as DURABLE_KINDS;
const EXACT_KIND: &str = crate::store::CACHE_KINDS[0];

/// An exact-tier entry.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The stored analysis.
    pub analysis: Arc<Analysis>,
    /// When it was stored (entries never live longer than their TTL; a request may ask for younger ones).
    pub stored_at: DateTime<Utc>,
}

/// Where exactly-keyed analyses live. Implementations must be safe to share between tasks. Entries expire an
/// absolute time after they were stored: a hit does not extend them.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug {
    /// The entry stored under `key` for `tenant`, `None` when there is none or it expired.
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<Cached>>;
    /// Keeps an analysis (its tenant and client are the analysis's own).
    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()>;
    /// Drops every entry of a tenant.
    async fn invalidate_tenant(&self, tenant: &str) -> Result<()>;
    /// Drops every entry of one client of a tenant.
    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()>;
}

/// The exact key: tenant, statements fingerprint, normalized question, language and pipeline configuration.
pub fn exact_key(
    tenant: &str,
    fingerprint: &str,
    question: &str,
    language: Language,
    config: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        tenant,
        fingerprint,
        &intent::fold(question),
        language.id(),
        config,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The embedded exact cache: in memory (moka), size-bounded, with an absolute time-to-live.
#[derive(Debug, Clone)]
pub struct MemoryCache {
    entries: moka::future::Cache<String, Cached>,
}

impl MemoryCache {
    /// At most `capacity` analyses, each kept `ttl` at most.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        MemoryCache {
            entries: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
        }
    }

    /// Entries held now (after pending maintenance).
    pub async fn len(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }

    /// Whether the cache holds nothing.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(10_000, Duration::from_secs(24 * 3600))
    }
}

#[async_trait::async_trait]
impl Cache for MemoryCache {
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<Cached>> {
        // The key already hashes the tenant; checking it again costs nothing and survives a key collision.
        Ok(self
            .entries
            .get(key)
            .await
            .filter(|c| c.analysis.tenant == tenant))
    }

    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()> {
        let entry = Cached {
            analysis,
            stored_at: Utc::now(),
        };
        self.entries.insert(key.to_string(), entry).await;
        Ok(())
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        let tenant = tenant.to_string();
        self.entries
            .invalidate_entries_if(move |_, c| c.analysis.tenant == tenant)
            .map_err(|e| crate::Error::Internal(format!("cache invalidation: {e}")))?;
        self.entries.run_pending_tasks().await;
        Ok(())
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        let (tenant, client) = (tenant.to_string(), client.to_string());
        self.entries
            .invalidate_entries_if(move |_, c| {
                c.analysis.tenant == tenant && c.analysis.client == client
            })
            .map_err(|e| crate::Error::Internal(format!("cache invalidation: {e}")))?;
        self.entries.run_pending_tasks().await;
        Ok(())
    }
}

/// The exact tier in a vault's store (SQLite under `--data-dir`, or a shared PostgreSQL): entries survive the
/// process and are encrypted like analyses, with the client's scope key.
#[derive(Debug, Clone)]
pub struct StoreCache {
    vault: Arc<Vault>,
    ttl: Duration,
}

impl StoreCache {
    /// The exact tier in a vault's store (encrypted with the client's key); entries live `ttl`.
    pub fn new(vault: Arc<Vault>, ttl: Duration) -> Result<Self> {
        if ttl.is_zero() {
            return Err(Error::invalid_argument("ttl", "must be positive"));
        }
        Ok(StoreCache { vault, ttl })
    }
}

fn expired(stored_at: DateTime<Utc>, ttl: Duration) -> bool {
    (Utc::now() - stored_at).to_std().unwrap_or(Duration::ZERO) >= ttl
}

#[async_trait::async_trait]
impl Cache for StoreCache {
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<Cached>> {
        let Some((row, plain)) = self.vault.get_cache_record(EXACT_KIND, tenant, key).await? else {
            return Ok(None);
        };
        let stored_at = DateTime::parse_from_rfc3339(&row.created_at)
            .map_err(|e| Error::Integrity {
                reason: format!("cache entry time: {e}"),
            })?
            .with_timezone(&Utc);
        if expired(stored_at, self.ttl) {
            self.vault
                .delete_cache_record(EXACT_KIND, tenant, key)
                .await?;
            return Ok(None);
        }
        let analysis: Analysis = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!("cache entry: {e}"),
        })?;
        Ok(Some(Cached {
            analysis: Arc::new(analysis),
            stored_at,
        }))
    }

    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()> {
        let body =
            serde_json::to_vec(analysis.as_ref()).map_err(|e| Error::Internal(e.to_string()))?;
        self.vault
            .put_cache_record(EXACT_KIND, &analysis.tenant, &analysis.client, key, &body)
            .await
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        self.vault
            .delete_cache_records(EXACT_KIND, tenant, None)
            .await
            .map(|_| ())
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        let tag = self.vault.client_tag(tenant, client).await?;
        self.vault
            .delete_cache_records(EXACT_KIND, tenant, Some(&tag))
            .await
            .map(|_| ())
    }
}
