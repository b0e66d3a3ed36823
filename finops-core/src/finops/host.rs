//! The host's own objects (a provider, an embedder, a cache store written in Python, JS, Kotlin or Swift) under
//! the same time limits as the SDK's built-in ones: a callback that hangs fails its call, it does not hold an
//! analysis or a worker's slot forever.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::KeyValueStore;
use crate::embed::Embedder;
use crate::error::{BackendKind, Error, Result};

fn late(what: &str, limit: Duration) -> Error {
    Error::backend(
        BackendKind::Host,
        format!(
            "the host's {what} did not answer within {} s",
            limit.as_secs_f64()
        ),
        true,
    )
}

async fn within<T>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(late(what, limit)))
}

/// A host's embedder, each call bounded.
#[derive(Debug)]
pub(crate) struct TimedEmbedder {
    pub(crate) inner: Arc<dyn Embedder>,
    pub(crate) limit: Duration,
}

#[async_trait::async_trait]
impl Embedder for TimedEmbedder {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        within("embedder", self.limit, self.inner.embed(texts)).await
    }
}

/// A host's cache store, each call bounded.
#[derive(Debug)]
pub(crate) struct TimedStore {
    pub(crate) inner: Arc<dyn KeyValueStore>,
    pub(crate) limit: Duration,
}

#[async_trait::async_trait]
impl KeyValueStore for TimedStore {
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<String>> {
        within("cache store", self.limit, self.inner.get(tenant, key)).await
    }

    async fn put(&self, tenant: &str, client: &str, key: &str, value: String) -> Result<()> {
        within(
            "cache store",
            self.limit,
            self.inner.put(tenant, client, key, value),
        )
        .await
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        within(
            "cache store",
            self.limit,
            self.inner.invalidate_tenant(tenant),
        )
        .await
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        within(
            "cache store",
            self.limit,
            self.inner.invalidate_client(tenant, client),
        )
        .await
    }
}
