//! The exact tier on a store the host provides (a Django cache, memcached, a mobile key-value store…), written
//! in Python, JS, Kotlin or Swift: the host implements a [`KeyValueStore`] of strings; [`HostCache`] keeps the
//! format, the storage time and the lifetime checks in the core, the same for every binding.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Cache, Cached};
use crate::analysis::Analysis;
use crate::error::{Error, Result};

/// A host's store of strings. Values are analyses as JSON: client data, to be protected like any.
#[async_trait::async_trait]
pub trait KeyValueStore: Send + Sync + std::fmt::Debug {
    /// The value stored under `key` for `tenant`, `None` when there is none (or it expired in the host's store).
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key`, for `client` of `tenant` (so a client's entries can be dropped together).
    async fn put(&self, tenant: &str, client: &str, key: &str, value: String) -> Result<()>;
    /// Drops every entry of `tenant`.
    async fn invalidate_tenant(&self, tenant: &str) -> Result<()>;
    /// Drops every entry of `client` of `tenant`.
    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()>;
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    stored_at: DateTime<Utc>,
    analysis: Analysis,
}

/// The exact tier over a host's [`KeyValueStore`]: entries carry the time they were stored and expire `ttl` after
/// it; an entry that is not what the SDK stored, or another tenant's, is never served.
#[derive(Debug, Clone)]
pub struct HostCache {
    store: Arc<dyn KeyValueStore>,
    ttl: Duration,
}

impl HostCache {
    /// The exact tier over a host's store; entries live `ttl` (at least a second).
    pub fn new(store: Arc<dyn KeyValueStore>, ttl: Duration) -> Result<Self> {
        if ttl.is_zero() {
            return Err(Error::invalid_argument("ttl", "must be positive"));
        }
        Ok(HostCache { store, ttl })
    }
}

#[async_trait::async_trait]
impl Cache for HostCache {
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<Cached>> {
        let Some(text) = self.store.get(tenant, key).await? else {
            return Ok(None);
        };
        let envelope: Envelope = serde_json::from_str(&text).map_err(|e| Error::Integrity {
            reason: format!("the host's cache returned an entry the SDK did not store: {e}"),
        })?;
        let age = (Utc::now() - envelope.stored_at)
            .to_std()
            .unwrap_or_default();
        if envelope.analysis.tenant != tenant || age >= self.ttl {
            return Ok(None);
        }
        Ok(Some(Cached {
            analysis: Arc::new(envelope.analysis),
            stored_at: envelope.stored_at,
        }))
    }

    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()> {
        let value = serde_json::json!({"stored_at": Utc::now(), "analysis": analysis.as_ref()});
        self.store
            .put(&analysis.tenant, &analysis.client, key, value.to_string())
            .await
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        self.store.invalidate_tenant(tenant).await
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        self.store.invalidate_client(tenant, client).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Map(Mutex<HashMap<(String, String), String>>);

    #[async_trait::async_trait]
    impl KeyValueStore for Map {
        async fn get(&self, tenant: &str, key: &str) -> Result<Option<String>> {
            Ok(self
                .0
                .lock()
                .map_err(|_| Error::Internal("poisoned".into()))?
                .get(&(tenant.into(), key.into()))
                .cloned())
        }
        async fn put(&self, tenant: &str, _client: &str, key: &str, value: String) -> Result<()> {
            self.0
                .lock()
                .map_err(|_| Error::Internal("poisoned".into()))?
                .insert((tenant.into(), key.into()), value);
            Ok(())
        }
        async fn invalidate_tenant(&self, _tenant: &str) -> Result<()> {
            Ok(())
        }
        async fn invalidate_client(&self, _tenant: &str, _client: &str) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn entries_round_trip_expire_and_refuse_garbage() {
        let store = Arc::new(Map::default());
        let cache = HostCache::new(store.clone(), Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("{e}"));
        let statements = crate::Statements::from_json_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/data/bistro-saint-denis.json"
            ))
            .unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = crate::Pipeline::default()
            .analyze(crate::AnalysisRequest::new(statements, "Marges ?").tenant("t"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        cache
            .put("k", Arc::new(a))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            cache
                .get("t", "k")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        );
        // Another tenant asking for the same key (a host store keyed on the key alone) gets nothing.
        let copied = store
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&("t".into(), "k".into()))
            .cloned();
        store
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(("u".into(), "k".into()), copied.unwrap_or_default());
        assert!(
            cache
                .get("u", "k")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
        );
        store
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(("t".into(), "g".into()), "garbage".into());
        assert!(matches!(
            cache.get("t", "g").await,
            Err(Error::Integrity { .. })
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            cache
                .get("t", "k")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
        );
        assert!(HostCache::new(store, Duration::ZERO).is_err());
    }
}
