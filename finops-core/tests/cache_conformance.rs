#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The exact cache tier's conformance suite: `exact_cache_conformance!` expands to one named test per behaviour
//! for each `Cache` backend — moka in memory, the vault's store (SQLite), Redis (values sealed with the vault's
//! keys) and a host's key-value store behind `HostCache` — so a failure names the behaviour and the backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use finops_core::Analysis;
use finops_core::cache::{Cache, HostCache, KeyValueStore, MemoryCache, RedisCache, StoreCache};
use finops_core::pipeline::{AnalysisRequest, Pipeline};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{SqliteStore, Store, Vault};

/// How long entries live in these tests.
const TTL: Duration = Duration::from_millis(1500);

fn statements() -> finops_core::Statements {
    finops_core::Statements::from_json_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/data/bistro-saint-denis.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// An analysis of `client` in `tenant` (the offline analyst's: real, complete, free).
async fn analysis(tenant: &str, client: &str) -> Arc<Analysis> {
    let request = AnalysisRequest::new(statements(), "Is our working capital getting tighter?")
        .tenant(tenant)
        .client(client);
    Arc::new(Pipeline::offline().analyze(request).await.unwrap())
}

async fn vault() -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    Arc::new(Vault::open(store, keys).await.unwrap())
}

/// A host's store: a map of strings, as a Django cache or a mobile app's key-value store would be.
#[derive(Debug, Default)]
struct MapStore {
    values: Mutex<HashMap<(String, String), (String, String)>>,
}

#[async_trait::async_trait]
impl KeyValueStore for MapStore {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        let values = self.values.lock().unwrap();
        Ok(values
            .get(&(tenant.to_string(), key.to_string()))
            .map(|(_, v)| v.clone()))
    }
    async fn put(
        &self,
        tenant: &str,
        client: &str,
        key: &str,
        value: String,
    ) -> finops_core::Result<()> {
        let mut values = self.values.lock().unwrap();
        values.insert((tenant.into(), key.into()), (client.into(), value));
        Ok(())
    }
    async fn invalidate_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.values.lock().unwrap().retain(|(t, _), _| t != tenant);
        Ok(())
    }
    async fn invalidate_client(&self, tenant: &str, client: &str) -> finops_core::Result<()> {
        self.values
            .lock()
            .unwrap()
            .retain(|(t, _), (c, _)| !(t == tenant && c == client));
        Ok(())
    }
}

fn unique(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

mod behaviours {
    use super::*;

    pub async fn a_stored_analysis_comes_back_by_tenant_and_key(cache: Arc<dyn Cache>) {
        let tenant = unique("firm");
        let a = analysis(&tenant, "bistro").await;
        cache.put("k1", a.clone()).await.unwrap();
        let hit = cache.get(&tenant, "k1").await.unwrap().expect("a hit");
        assert_eq!(hit.analysis.id, a.id);
        assert_eq!(hit.analysis.report, a.report);
        assert_eq!(hit.analysis.figures.len(), a.figures.len());
        let age = chrono::Utc::now() - hit.stored_at;
        assert!(
            age >= chrono::Duration::zero() && age < chrono::Duration::seconds(5),
            "{age}"
        );
        assert!(
            cache.get(&tenant, "k2").await.unwrap().is_none(),
            "an unknown key misses"
        );
    }

    pub async fn another_tenant_never_reads_an_entry(cache: Arc<dyn Cache>) {
        let (mine, theirs) = (unique("firm"), unique("firm"));
        cache
            .put("shared-key", analysis(&mine, "bistro").await)
            .await
            .unwrap();
        assert!(cache.get(&theirs, "shared-key").await.unwrap().is_none());
        assert!(cache.get(&mine, "shared-key").await.unwrap().is_some());
    }

    pub async fn invalidating_a_client_drops_only_its_entries(cache: Arc<dyn Cache>) {
        let tenant = unique("firm");
        cache
            .put("k-bistro", analysis(&tenant, "bistro").await)
            .await
            .unwrap();
        cache
            .put("k-garage", analysis(&tenant, "garage").await)
            .await
            .unwrap();
        cache.invalidate_client(&tenant, "bistro").await.unwrap();
        assert!(cache.get(&tenant, "k-bistro").await.unwrap().is_none());
        assert!(cache.get(&tenant, "k-garage").await.unwrap().is_some());
    }

    pub async fn invalidating_a_tenant_drops_only_its_entries(cache: Arc<dyn Cache>) {
        let (mine, theirs) = (unique("firm"), unique("firm"));
        cache
            .put("k1", analysis(&mine, "bistro").await)
            .await
            .unwrap();
        cache
            .put("k2", analysis(&mine, "garage").await)
            .await
            .unwrap();
        cache
            .put("k1", analysis(&theirs, "bistro").await)
            .await
            .unwrap();
        cache.invalidate_tenant(&mine).await.unwrap();
        assert!(cache.get(&mine, "k1").await.unwrap().is_none());
        assert!(cache.get(&mine, "k2").await.unwrap().is_none());
        assert!(cache.get(&theirs, "k1").await.unwrap().is_some());
    }

    pub async fn entries_expire_and_a_hit_does_not_extend_them(cache: Arc<dyn Cache>) {
        let tenant = unique("firm");
        cache
            .put("k1", analysis(&tenant, "bistro").await)
            .await
            .unwrap();
        tokio::time::sleep(TTL / 2).await;
        assert!(
            cache.get(&tenant, "k1").await.unwrap().is_some(),
            "still fresh"
        );
        tokio::time::sleep(TTL / 2 + Duration::from_millis(700)).await;
        assert!(
            cache.get(&tenant, "k1").await.unwrap().is_none(),
            "expired, the hit did not extend it"
        );
    }

    pub async fn a_new_analysis_replaces_the_entry(cache: Arc<dyn Cache>) {
        let tenant = unique("firm");
        cache
            .put("k1", analysis(&tenant, "bistro").await)
            .await
            .unwrap();
        let newer = analysis(&tenant, "bistro").await;
        cache.put("k1", newer.clone()).await.unwrap();
        assert_eq!(
            cache.get(&tenant, "k1").await.unwrap().unwrap().analysis.id,
            newer.id
        );
    }
}

/// One test per behaviour for the exact tier `$make` opens (an `Option<Arc<dyn Cache>>`: `None` when its server
/// is not configured, said on stderr).
macro_rules! exact_cache_conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            exact_cache_conformance!(@tests $make;
                a_stored_analysis_comes_back_by_tenant_and_key,
                another_tenant_never_reads_an_entry,
                invalidating_a_client_drops_only_its_entries,
                invalidating_a_tenant_drops_only_its_entries,
                entries_expire_and_a_hit_does_not_extend_them,
                a_new_analysis_replaces_the_entry,
            );
        }
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                let cache: Option<Arc<dyn Cache>> = $make;
                if let Some(cache) = cache {
                    super::behaviours::$behaviour(cache).await;
                }
            }
        )+
    };
}

exact_cache_conformance!(moka, Some(Arc::new(MemoryCache::new(1000, TTL))));
exact_cache_conformance!(
    store,
    Some(Arc::new(StoreCache::new(vault().await, TTL).unwrap()))
);
exact_cache_conformance!(
    host,
    Some(Arc::new(
        HostCache::new(Arc::new(MapStore::default()), TTL).unwrap()
    ))
);
exact_cache_conformance!(
    redis,
    match std::env::var("FINOPS_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => Some(Arc::new(
            RedisCache::connect(&url, vault().await, TTL).await.unwrap()
        )),
        None => {
            eprintln!(
                "FINOPS_TEST_REDIS_URL is not set: run scripts/services (scripts/test does) to test Redis"
            );
            None
        }
    }
);
