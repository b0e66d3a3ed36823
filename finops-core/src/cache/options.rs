//! One description of the caches a host wants, shared by the main example and the three bindings (which pass it
//! as a dict, an object or a JSON string): which tiers, their thresholds and lifetimes, and where they live.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::sync::{CacheSync, FollowHandle, Follower};
use super::{Cache, MemoryCache, PlanCache, SemanticCache, SemanticOptions, StoreCache};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::store::{Vault, connect_postgres, master_key, open_local_vault};

/// What to cache and where (every field optional; the defaults are the embedded, in-memory caches). `Debug`
/// shows the URLs without their passwords.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheOptions {
    /// The exact tier (same statements, same normalized question).
    pub exact: bool,
    /// The semantic tier (a close question the guard accepts).
    pub semantic: bool,
    /// The Analyst plan tier.
    pub plans: bool,
    /// Share plans across tenants (they carry no client data).
    pub share_plans: bool,
    /// Minimum cosine similarity for the semantic and plan tiers.
    pub threshold: f32,
    /// Absolute lifetime of an entry, in seconds.
    pub ttl_seconds: u64,
    /// Entries kept in memory by the exact tier, and per scope by the semantic tiers.
    pub capacity: u64,
    /// Keep the caches in an encrypted SQLite store under this folder (`finops.db`, master key in `master.key`
    /// or `FINOPS_MASTER_KEY`), so a later process reuses them.
    pub data_dir: Option<PathBuf>,
    /// Keep the caches in this PostgreSQL database instead, shared by every process; processes announce new and
    /// invalidated semantic entries to each other (`LISTEN/NOTIFY`).
    pub postgres_url: Option<String>,
    /// The exact tier on this Redis, shared by every process (values encrypted with the store's keys).
    pub redis_url: Option<String>,
}

impl std::fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(crate::security::redact_url);
        f.debug_struct("CacheOptions")
            .field("exact", &self.exact)
            .field("semantic", &self.semantic)
            .field("plans", &self.plans)
            .field("share_plans", &self.share_plans)
            .field("threshold", &self.threshold)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("capacity", &self.capacity)
            .field("data_dir", &self.data_dir)
            .field("postgres_url", &url(&self.postgres_url))
            .field("redis_url", &url(&self.redis_url))
            .finish()
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            exact: true,
            semantic: true,
            plans: true,
            share_plans: false,
            threshold: SemanticOptions::default().threshold,
            ttl_seconds: 7 * 24 * 3600,
            capacity: 10_000,
            data_dir: None,
            postgres_url: None,
            redis_url: None,
        }
    }
}

impl CacheOptions {
    /// From JSON text (`{"threshold": 0.85, "data_dir": ".finops"}`); unknown or mistyped fields are named.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_argument("cache", format!("not JSON: {e}")))?;
        let Some(fields) = value.as_object() else {
            return Err(Error::invalid_argument("cache", "must be an object"));
        };
        // Each field alone, so the error names the one that is unknown or of the wrong type.
        for (name, v) in fields {
            let single =
                serde_json::Value::Object([(name.clone(), v.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<CacheOptions>(single) {
                return Err(Error::invalid_argument(
                    format!("cache.{name}"),
                    e.to_string(),
                ));
            }
        }
        let options: CacheOptions = serde_json::from_value(value)
            .map_err(|e| Error::invalid_argument("cache", e.to_string()))?;
        options.validate()?;
        Ok(options)
    }

    /// Checks every option, naming the first bad one (`cache.threshold`).
    pub fn validate(&self) -> Result<()> {
        self.semantic_options()
            .validate()
            .map_err(|e| match e.field() {
                Some(f) => Error::invalid_argument(format!("cache.{f}"), e.to_string()),
                None => e,
            })?;
        if self.ttl_seconds == 0 {
            return Err(Error::invalid_argument(
                "cache.ttl_seconds",
                "must be positive",
            ));
        }
        if self.capacity == 0 {
            return Err(Error::invalid_argument(
                "cache.capacity",
                "must be positive",
            ));
        }
        if self.data_dir.is_some() && self.postgres_url.is_some() {
            return Err(Error::invalid_argument(
                "cache.postgres_url",
                "give either data_dir or postgres_url, not both",
            ));
        }
        if self.redis_url.is_some() && self.data_dir.is_none() && self.postgres_url.is_none() {
            return Err(Error::invalid_argument(
                "cache.redis_url",
                "needs data_dir or postgres_url: the store keeps the keys that encrypt what Redis holds",
            ));
        }
        Ok(())
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }

    fn semantic_options(&self) -> SemanticOptions {
        SemanticOptions {
            threshold: self.threshold,
            ttl: Duration::from_secs(self.ttl_seconds.max(1)),
            max_entries_per_scope: usize::try_from(self.capacity).unwrap_or(usize::MAX).max(1),
            ..SemanticOptions::default()
        }
    }

    /// Opens the stores and builds the tiers.
    pub async fn open(&self, embedder: Arc<dyn Embedder>) -> Result<Caches> {
        self.open_with(None, embedder).await
    }

    /// The same over a vault the host already opened (its `data_dir` or PostgreSQL store), so analyses and
    /// cache entries share one store and one set of keys.
    pub async fn open_with(
        &self,
        vault: Option<Arc<Vault>>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Caches> {
        self.validate()?;
        let vault: Option<Arc<Vault>> = match (vault, &self.data_dir, &self.postgres_url) {
            (Some(v), _, _) => Some(v),
            (None, Some(dir), _) => Some(Arc::new(open_local_vault(dir).await?)),
            (None, None, Some(url)) => {
                let store = connect_postgres(url, "cache.postgres_url").await?;
                Some(Arc::new(Vault::open(store, master_key(None)?).await?))
            }
            (None, None, None) => None,
        };
        let sync = match &self.postgres_url {
            Some(url) => Some(CacheSync::connect(url).await?),
            None => None,
        };
        let exact: Option<Arc<dyn Cache>> = match (self.exact, &self.redis_url, &vault) {
            (false, _, _) => None,
            (true, Some(url), Some(v)) => Some(redis_cache(url, v, self.ttl()).await?),
            (true, None, Some(v)) => Some(Arc::new(StoreCache::new(v.clone(), self.ttl())?)),
            (true, _, None) => Some(Arc::new(MemoryCache::new(self.capacity, self.ttl()))),
        };
        let semantic = if self.semantic {
            let mut t = SemanticCache::new(embedder.clone(), self.semantic_options())?;
            if let Some(v) = &vault {
                t = t.durable(v.clone());
            }
            if let Some(s) = &sync {
                t = t.synced(s.clone());
            }
            Some(Arc::new(t))
        } else {
            None
        };
        let plans = if self.plans {
            let mut t = PlanCache::new(embedder, self.semantic_options())?;
            if let Some(v) = &vault {
                t = t.durable(v.clone());
            }
            if let Some(s) = &sync {
                t = t.synced(s.clone());
            }
            Some(Arc::new(t))
        } else {
            None
        };
        let follow = match &sync {
            Some(s) => {
                let mut followers: Vec<Arc<dyn Follower>> = Vec::new();
                if let Some(t) = &semantic {
                    followers.push(t.clone());
                }
                if let Some(t) = &plans {
                    followers.push(t.clone());
                }
                Some(Arc::new(s.follow(followers).await?))
            }
            None => None,
        };
        Ok(Caches {
            exact,
            semantic,
            plans,
            share_plans: self.share_plans,
            follow,
        })
    }
}

#[cfg(feature = "redis")]
async fn redis_cache(url: &str, vault: &Arc<Vault>, ttl: Duration) -> Result<Arc<dyn Cache>> {
    Ok(Arc::new(
        super::RedisCache::connect(url, vault.clone(), ttl).await?,
    ))
}

#[cfg(not(feature = "redis"))]
async fn redis_cache(url: &str, vault: &Arc<Vault>, ttl: Duration) -> Result<Arc<dyn Cache>> {
    let _ = (url, vault, ttl);
    Err(Error::feature_disabled(
        "cache.redis_url",
        "the Redis result cache",
        "redis",
    ))
}

/// The opened tiers, ready for the pipeline builder's `caches` (caches sit below the pipeline: no link up).
#[derive(Debug, Clone)]
pub struct Caches {
    /// The exact tier (memory, store, Redis or a host's store).
    pub exact: Option<Arc<dyn Cache>>,
    /// The semantic result tier.
    pub semantic: Option<Arc<SemanticCache>>,
    /// The Analyst plan tier.
    pub plans: Option<Arc<PlanCache>>,
    /// Whether plans are shared among the tenants of a deployment (the shared pool).
    pub share_plans: bool,
    /// Applies other processes' announcements while the caches (or a pipeline using them) live.
    pub(crate) follow: Option<Arc<FollowHandle>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_json_name_the_bad_field() {
        let o = CacheOptions::from_json(r#"{"threshold": 0.9, "share_plans": true}"#).unwrap();
        assert!(o.exact && o.semantic && o.plans && o.share_plans);
        assert_eq!(o.threshold, 0.9);
        for (text, field) in [
            (r#"{"threshold": 1.5}"#, "cache.threshold"),
            (r#"{"threshold": "high"}"#, "cache.threshold"),
            (r#"{"ttl_seconds": 0}"#, "cache.ttl_seconds"),
            (r#"{"capacity": 0}"#, "cache.capacity"),
            (r#"{"treshold": 0.9}"#, "cache.treshold"),
            (r#"{"redis_url": "redis://127.0.0.1"}"#, "cache.redis_url"),
            (
                r#"{"data_dir": "/tmp/x", "postgres_url": "postgres://x"}"#,
                "cache.postgres_url",
            ),
            ("[1, 2]", "cache"),
        ] {
            let e = CacheOptions::from_json(text).unwrap_err();
            assert_eq!(e.field(), Some(field), "{text}: {e}");
        }
    }

    #[tokio::test]
    async fn the_embedded_defaults_open_in_memory() {
        let caches = CacheOptions::default()
            .open(Arc::new(crate::embed::HashingEmbedder::default()))
            .await
            .unwrap();
        assert!(caches.exact.is_some() && caches.semantic.is_some() && caches.plans.is_some());
        let pipeline = crate::Pipeline::builder().caches(&caches).build();
        let statements = crate::Statements::from_json_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/data/bistro-saint-denis.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let statements = Arc::new(statements);
        let ask = || crate::AnalysisRequest::new(statements.clone(), "How profitable are we?");
        let first = pipeline.analyze(ask()).await.unwrap();
        let second = pipeline.analyze(ask()).await.unwrap();
        assert_eq!(first.cache, crate::analysis::CacheOutcome::Miss);
        assert_eq!(second.cache, crate::analysis::CacheOutcome::Exact);
    }
}
