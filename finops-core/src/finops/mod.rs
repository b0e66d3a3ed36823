//! The facade (ARCHITECTURE.md "Layers"): [`Finops`] assembles everything a host configures — built-in providers
//! with their keys, base URLs, headers, timeouts, retries and breakers; models per phase; prices and the unpriced
//! policy; rate limits and budgets; caches or a host's cache; the vault; the embedder; offline mode — from one
//! [`FinopsConfig`] (data) and a [`FinopsBuilder`] (objects). Hosts and the three bindings use this and nothing
//! else to build the SDK, so every language gets the same checks, defaults and errors.
//!
//! Two instances with different keys live side by side in one process (one per CPA firm is normal):
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use finops_core::finops::{Finops, FinopsConfig};
//! let firm_a = Finops::from_json(r#"{"providers": {"openrouter": {"api_key": "sk-or-firm-a"}}}"#).await?;
//! let firm_b = Finops::from_json(r#"{"providers": {"anthropic": {"api_key": "sk-ant-firm-b"}}}"#).await?;
//! assert_eq!(firm_a.routes()[0], "analyst: openrouter anthropic/claude-sonnet-4.5");
//! assert_eq!(firm_b.routes()[0], "analyst: anthropic claude-sonnet-4-5");
//! let offline = Finops::offline();
//! assert_eq!(offline.routes()[0], "analyst: offline analyst");
//! # Ok::<(), finops_core::Error>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod host;
mod request;

use std::sync::Arc;

pub use config::{
    FinopsConfig, HostConfig, ModelsConfig, ProviderConfig, ProvidersConfig, RateLimitsConfig,
    budgets_from_texts, seconds,
};
pub use request::RequestOptions;

use crate::analysis::{Analysis, AnalysisRequest};
use crate::cache::{HostCache, KeyValueStore};
use crate::config::{Settings, offline_routes, single_provider};
use crate::embed::{Embedder, HashingEmbedder};
use crate::error::{Error, Result};
use crate::pipeline::{EventStream, Pipeline};
use crate::provider::Provider;
use crate::store::Vault;

/// The most dimensions an embedder may have (the largest embedding models have 4,096 to 12,288).
pub const MAX_EMBEDDING_DIMENSIONS: usize = 65_536;
/// The SDK, assembled: a pipeline (providers per phase, or the offline analyst), its caches and vault, and an
/// embedder. Cheap to clone and share between tasks.
#[derive(Debug, Clone)]
pub struct Finops {
    pipeline: Pipeline,
    embedder: Arc<dyn Embedder>,
    routes: Arc<[String]>,
}

/// Builds a [`Finops`] from a configuration and the host's own objects.
#[derive(Debug, Default)]
pub struct FinopsBuilder {
    config: FinopsConfig,
    provider: Option<Arc<dyn Provider>>,
    embedder: Option<Arc<dyn Embedder>>,
    host_cache: Option<Arc<dyn KeyValueStore>>,
    vault: Option<Arc<Vault>>,
}

impl FinopsBuilder {
    /// The data part of the configuration (replaces what was set before).
    pub fn config(mut self, config: FinopsConfig) -> Self {
        self.config = config;
        self
    }

    /// A host's provider (written in Rust, Python, JS or Kotlin) for every phase, with `config.models` (the
    /// product's defaults where absent). Built-in providers and the environment are then not used.
    pub fn provider(mut self, provider: Arc<dyn Provider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The embedder of the semantic and plan caches (default: the hashing embedder).
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// A host's store for the exact cache tier (the semantic and plan tiers stay in memory); its entries live
    /// `config.cache.ttl_seconds`.
    pub fn host_cache(mut self, store: Arc<dyn KeyValueStore>) -> Self {
        self.host_cache = Some(store);
        self
    }

    /// A vault the host opened: every analysis is saved there before it is returned, and the caches keep their
    /// records in it (instead of `config.vault`).
    pub fn vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Checks everything, opens what must be opened (stores, caches), and returns the SDK.
    pub async fn build(self) -> Result<Finops> {
        let config = self.config;
        config.validate()?;
        if self.provider.is_some() && config.offline {
            return Err(Error::invalid_argument(
                "offline",
                "cannot be combined with a provider",
            ));
        }
        if self.provider.is_some() && config.providers.any() {
            return Err(Error::invalid_argument(
                "provider",
                "a host provider cannot be combined with built-in providers",
            ));
        }
        let (mut pipeline, routes) = match self.provider {
            // The host's provider gets the layers a built-in one has: timeouts, retries, a circuit breaker.
            Some(p) => single_provider(
                crate::provider::resilience::layered(p, &config.host.resilience()?),
                config.models.as_array(),
            ),
            None if config.offline => (Pipeline::builder(), offline_routes()),
            None => {
                let settings: Settings = config.settings(config.reads_env(false))?;
                (settings.pipeline_builder()?, settings.routes())
            }
        };
        pipeline = pipeline.prices(config.prices()?);
        if let Some(u) = config.unpriced {
            pipeline = pipeline.unpriced(u);
        }
        let (rate_limits, budgets) = config.limits()?;
        if let Some(r) = rate_limits {
            pipeline = pipeline.rate_limits(r);
        }

        if let Some(usd) = config.fallback_estimate_usd {
            pipeline = pipeline.fallback_estimate_usd(usd);
        }
        let vault = match (self.vault, &config.vault) {
            (Some(v), _) => Some(v),
            (None, Some(location)) => Some(Arc::new(crate::store::open(location).await?)),
            (None, None) => None,
        };
        // With a vault, the budgets' ledger is its store: every process of a deployment (and a restart) shares
        // one spend, so N workers cannot spend N times a budget.
        if let Some(b) = budgets {
            pipeline = pipeline.budgets(match &vault {
                Some(v) => b.with_ledger(v.budget_ledger()),
                None => b,
            });
        }
        let call_timeout = config.host.call_timeout()?;
        let embedder: Arc<dyn Embedder> = match self.embedder {
            Some(host) => Arc::new(host::TimedEmbedder {
                inner: host,
                limit: call_timeout,
            }),
            None => Arc::new(HashingEmbedder::default()),
        };
        if !(1..=MAX_EMBEDDING_DIMENSIONS).contains(&embedder.dimensions()) {
            return Err(Error::invalid_argument(
                "embedder.dimensions",
                format!(
                    "{} is not a number of dimensions from 1 to {MAX_EMBEDDING_DIMENSIONS}",
                    embedder.dimensions()
                ),
            ));
        }
        if self.host_cache.is_some() || config.cache.is_some() {
            let options = config.cache.clone().unwrap_or_default();
            let mut caches = options
                .open_with(vault.clone(), Arc::clone(&embedder))
                .await?;
            if let Some(host) = self.host_cache.map(|inner| -> Arc<dyn KeyValueStore> {
                Arc::new(host::TimedStore {
                    inner,
                    limit: call_timeout,
                })
            }) {
                let ttl = std::time::Duration::from_secs(options.ttl_seconds);
                caches.exact = Some(Arc::new(HostCache::new(host, ttl)?));
            }
            pipeline = pipeline.caches(&caches);
        }
        if let Some(v) = vault {
            pipeline = pipeline.vault(v);
        }
        Ok(Finops {
            pipeline: pipeline.build(),
            embedder,
            routes: routes.into(),
        })
    }
}

impl Finops {
    /// A builder: the configuration and the host's own objects.
    pub fn builder() -> FinopsBuilder {
        FinopsBuilder::default()
    }

    /// From a configuration alone.
    pub async fn from_config(config: FinopsConfig) -> Result<Self> {
        Self::builder().config(config).build().await
    }

    /// From a configuration as JSON text (what the bindings pass through from a dict or an object).
    pub async fn from_json(json: &str) -> Result<Self> {
        Self::from_config(FinopsConfig::from_json(json)?).await
    }

    /// Providers and models from the environment (`OPENROUTER_API_KEY`, `FINOPS_MODEL_ANALYST`, ...); the
    /// offline analyst when none is set.
    pub async fn from_env() -> Result<Self> {
        Self::from_config(FinopsConfig {
            env: Some(true),
            ..FinopsConfig::default()
        })
        .await
    }

    /// No provider: the offline analyst does every phase; no cache, no vault.
    pub fn offline() -> Self {
        Finops {
            pipeline: Pipeline::offline(),
            embedder: Arc::new(HashingEmbedder::default()),
            routes: offline_routes().into(),
        }
    }

    /// Each phase's route, e.g. `analyst: openrouter anthropic/claude-sonnet-4.5 → anthropic claude-sonnet-4-5`.
    /// No key appears.
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// Whether any phase calls a model (otherwise the offline analyst answers every phase).
    pub fn has_provider(&self) -> bool {
        crate::analysis::Phase::ALL
            .iter()
            .any(|p| self.pipeline.phase(*p).is_some())
    }

    /// The assembled pipeline (for a queue's worker, or a host composing its own).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The embedder the caches use.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The vault analyses are saved in, if any.
    pub fn vault(&self) -> Option<&Arc<Vault>> {
        self.pipeline.vault()
    }

    /// Runs an analysis to its end. The request is checked once, here.
    pub async fn analyze(&self, request: AnalysisRequest) -> Result<Analysis> {
        self.pipeline.analyze(request).await
    }

    /// Runs an analysis, streaming its events; dropping the stream cancels it.
    pub fn stream(&self, request: AnalysisRequest) -> EventStream {
        self.pipeline.stream(request)
    }

    /// The embedder's vectors for `texts`, checked (one per text, the right length, finite).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let n = texts.len();
        let vectors = self.embedder.embed(texts).await?;
        crate::embed::check(self.embedder.as_ref(), n, &vectors)?;
        Ok(vectors)
    }

    /// Drops a tenant's entries from every result cache tier.
    pub async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        self.pipeline.invalidate_tenant(tenant).await
    }

    /// Drops one client's entries from every result cache tier.
    pub async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        self.pipeline.invalidate_client(tenant, client).await
    }
}
