//! Keeps the semantic tiers of several processes in step over one PostgreSQL database: each process keeps its
//! own usearch index; new entries and invalidations are announced with `NOTIFY` and applied by the others from a
//! `LISTEN` connection. Announcements carry ids only (tenant, entry id, client tag): the entries themselves are
//! read from the store, encrypted.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::error::{Error, Result};

/// The PostgreSQL channel.
pub const CHANNEL: &str = "finops_cache";

/// One announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The record kind (`cache.semantic`, `cache.plan`).
    pub kind: String,
    /// The tenant whose entries changed.
    pub tenant: String,
    /// True for a new entry (`id` set); false for an invalidation (of one client with `client_tag`).
    pub put: bool,
    /// The new entry's id (a put).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client whose entries were dropped (an invalidation of one client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tag: Option<String>,
    /// The announcing process (its own notices are not applied twice).
    pub origin: String,
}

/// Something that applies notices: a semantic tier.
#[async_trait::async_trait]
pub trait Follower: Send + Sync {
    /// Applies another process's announcement.
    async fn apply(&self, notice: &Notice) -> Result<()>;
}

#[async_trait::async_trait]
impl<V> Follower for super::semantic::SemanticTier<V>
where
    V: super::semantic::TierKind + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    async fn apply(&self, notice: &Notice) -> Result<()> {
        super::semantic::SemanticTier::apply(self, notice).await
    }
}

#[cfg(feature = "postgres")]
fn pg_error(e: sqlx::Error) -> Error {
    Error::from_sqlx(crate::BackendKind::Postgres, "cache sync", &e)
}

/// A process's connection to the shared announcements.
#[cfg(feature = "postgres")]
#[derive(Debug)]
pub struct CacheSync {
    url: String,
    pool: PgPool,
    origin: String,
}

#[cfg(feature = "postgres")]
impl CacheSync {
    /// Connects to the PostgreSQL database the shared store uses.
    pub async fn connect(url: &str) -> Result<Arc<Self>> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(crate::store::postgres::connect_options(
                url,
                "cache.postgres_url",
            )?)
            .await
            .map_err(pg_error)?;
        Ok(Arc::new(CacheSync {
            url: url.to_string(),
            pool,
            origin: uuid::Uuid::new_v4().to_string(),
        }))
    }

    async fn announce(&self, notice: &Notice) -> Result<()> {
        let payload = serde_json::to_string(notice).map_err(|x| Error::Internal(x.to_string()))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    pub(crate) async fn announce_put(&self, kind: &str, tenant: &str, id: &str) -> Result<()> {
        self.announce(&Notice {
            kind: kind.into(),
            tenant: tenant.into(),
            put: true,
            id: Some(id.into()),
            client_tag: None,
            origin: self.origin.clone(),
        })
        .await
    }

    pub(crate) async fn announce_invalidation(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: Option<&str>,
    ) -> Result<()> {
        self.announce(&Notice {
            kind: kind.into(),
            tenant: tenant.into(),
            put: false,
            id: None,
            client_tag: client_tag.map(str::to_string),
            origin: self.origin.clone(),
        })
        .await
    }

    /// Starts listening now (so nothing announced after this returns is missed) and applies the other processes'
    /// notices to `followers` in a background task until the returned handle is aborted or dropped.
    pub async fn follow(&self, followers: Vec<Arc<dyn Follower>>) -> Result<FollowHandle> {
        let options = crate::store::postgres::connect_options(&self.url, "cache.postgres_url")?;
        let mut listener = crate::store::postgres::listener(options)
            .await
            .map_err(pg_error)?;
        listener.listen(CHANNEL).await.map_err(pg_error)?;
        let origin = self.origin.clone();
        let task = tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection.
                let notification = match listener.recv().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "cache sync: listen failed");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let Ok(notice) = serde_json::from_str::<Notice>(notification.payload()) else {
                    continue;
                };
                if notice.origin == origin {
                    continue;
                }
                for f in &followers {
                    if let Err(e) = f.apply(&notice).await {
                        tracing::warn!(code = e.code(), "cache sync: applying a notice failed");
                    }
                }
            }
        });
        Ok(FollowHandle(task))
    }
}

/// Announcements need PostgreSQL: in a build without the `postgres` feature no `CacheSync` can exist, and
/// [`CacheSync::connect`] says so.
#[cfg(not(feature = "postgres"))]
#[derive(Debug)]
pub struct CacheSync {
    never: std::convert::Infallible,
}

#[cfg(not(feature = "postgres"))]
impl CacheSync {
    /// Refused: this build has no PostgreSQL.
    pub async fn connect(url: &str) -> Result<Arc<Self>> {
        let _ = url;
        Err(Error::feature_disabled(
            "cache.postgres_url",
            "cache synchronisation over PostgreSQL",
            "postgres",
        ))
    }

    pub(crate) async fn announce_put(&self, _kind: &str, _tenant: &str, _id: &str) -> Result<()> {
        match self.never {}
    }

    pub(crate) async fn announce_invalidation(
        &self,
        _kind: &str,
        _tenant: &str,
        _client_tag: Option<&str>,
    ) -> Result<()> {
        match self.never {}
    }

    /// Never called: no `CacheSync` exists in this build.
    pub async fn follow(&self, _followers: Vec<Arc<dyn Follower>>) -> Result<FollowHandle> {
        match self.never {}
    }
}

/// Stops following when dropped.
#[derive(Debug)]
pub struct FollowHandle(tokio::task::JoinHandle<()>);

impl Drop for FollowHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}
