//! The result cache (DESIGN.md "Caching"): an analysis is reused only for the same tenant, the same statements
//! (canonical fingerprint), the same question once normalized (case, accents, whitespace, punctuation), the same
//! language and the same pipeline configuration (models, providers, prompt version). Never another tenant's or
//! another document's answer. A hit costs $0.
//!
//! This is the exact cache; the semantic cache, the plan cache and the scale-out backends are not built yet.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::pipeline::{Analysis, Language, Pipeline, intent};
use crate::provider::Phase;

/// Where cached analyses live. Implementations must be safe to share between tasks.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &str) -> Result<Option<Arc<Analysis>>>;
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

/// What identifies a pipeline's configuration in cache keys: each phase's provider and model, and the prompt
/// version. Changing any of them misses the cache.
pub fn config_version(pipeline: &Pipeline) -> String {
    pipeline.config_version.to_string()
}

pub(crate) fn config_version_of(phases: &[Option<crate::pipeline::PhaseConfig>; 3]) -> String {
    let mut parts = vec![format!("prompts={}", crate::pipeline::PROMPT_VERSION)];
    for phase in Phase::ALL {
        parts.push(match &phases[phase as usize] {
            Some(c) => format!("{phase}={}/{}", c.provider.name(), c.model),
            None => format!("{phase}=offline"),
        });
    }
    parts.join(";")
}

/// The embedded exact cache: in memory (moka), size-bounded, with an absolute time-to-live.
#[derive(Debug, Clone)]
pub struct MemoryCache {
    entries: moka::future::Cache<String, Arc<Analysis>>,
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
    async fn get(&self, key: &str) -> Result<Option<Arc<Analysis>>> {
        Ok(self.entries.get(key).await)
    }

    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()> {
        self.entries.insert(key.to_string(), analysis).await;
        Ok(())
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        let tenant = tenant.to_string();
        self.entries
            .invalidate_entries_if(move |_, a| a.tenant == tenant)
            .map_err(|e| crate::Error::Internal(format!("cache invalidation: {e}")))?;
        self.entries.run_pending_tasks().await;
        Ok(())
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        let (tenant, client) = (tenant.to_string(), client.to_string());
        self.entries
            .invalidate_entries_if(move |_, a| a.tenant == tenant && a.client == client)
            .map_err(|e| crate::Error::Internal(format!("cache invalidation: {e}")))?;
        self.entries.run_pending_tasks().await;
        Ok(())
    }
}
