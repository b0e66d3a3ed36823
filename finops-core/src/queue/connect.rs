//! Opening a queue from a URL (`postgres://…#name`, `redis://…#name`) with the vault that keeps its payload keys
//! and results, as every process of a deployment does.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "postgres")]
use super::PgQueue;
use super::Queue;
#[cfg(feature = "redis")]
use super::RedisQueue;
use crate::error::{Error, Result};

/// Opens the queue a URL names and the vault that keeps payload keys and results:
/// - `postgres://…[#name]`: the jobs table and the store in that database (`store` may name another);
/// - `redis://…[#name]`: Redis Streams; `store` is required (`postgres://…`, or a SQLite file path when every
///   worker runs on one machine).
///
/// The queue name (the URL fragment) defaults to `default`; the master key comes from `FINOPS_MASTER_KEY`. Every
/// process of a deployment calls this with the same URLs.
pub async fn connect(
    url: &str,
    store: Option<&str>,
) -> Result<(Arc<dyn Queue>, Arc<crate::store::Vault>)> {
    connect_with(url, store, None).await
}

/// [`connect`], with how long ended jobs are kept (`None`: a day; see [`PgQueue::retention`]).
pub async fn connect_with(
    url: &str,
    store: Option<&str>,
    retention: Option<Duration>,
) -> Result<(Arc<dyn Queue>, Arc<crate::store::Vault>)> {
    let (base, _) = queue_url(url)?;
    check_retention(retention)?;
    let store_url = match (store, crate::store::is_postgres_url(base)) {
        (Some(s), _) => s,
        (None, true) => base,
        (None, false) => {
            return Err(Error::invalid_argument(
                "store",
                "a Redis queue needs a store for keys and results (postgres://… or a SQLite file path)",
            ));
        }
    };
    let store = if crate::store::is_postgres_url(store_url) {
        crate::store::connect_postgres(store_url, "store").await?
    } else {
        crate::store::open_sqlite(std::path::Path::new(store_url), "store").await?
    };
    let vault = Arc::new(crate::store::Vault::open(store, crate::cache::master_key(None)?).await?);
    let queue = open_with_vault(url, vault.clone(), retention).await?;
    Ok((queue, vault))
}

/// The queue a URL names (as [`connect`] takes it) over a vault the host opened itself (its store holds the job
/// payloads' keys and the results), for a host that sets the vault up its own way (`require_sign_off`, …).
pub async fn open_with_vault(
    url: &str,
    vault: Arc<crate::store::Vault>,
    retention: Option<Duration>,
) -> Result<Arc<dyn Queue>> {
    check_retention(retention)?;
    let retention = retention.unwrap_or(Duration::from_secs(86_400));
    let (url, name) = queue_url(url)?;
    if crate::store::is_postgres_url(url) {
        postgres_queue(url, name, &vault, retention).await
    } else {
        redis_queue(url, name, &vault, retention).await
    }
}

fn check_retention(retention: Option<Duration>) -> Result<()> {
    match retention {
        Some(r) if r < Duration::from_secs(1) => Err(Error::invalid_argument(
            "retention",
            "ended jobs are kept at least a second",
        )),
        _ => Ok(()),
    }
}

/// A queue URL's server part and queue name (`#name`, `default` when absent); anything but PostgreSQL and Redis
/// is refused.
fn queue_url(url: &str) -> Result<(&str, &str)> {
    let (base, name) = url.split_once('#').unwrap_or((url, "default"));
    let postgres = crate::store::is_postgres_url(base);
    let redis = base.starts_with("redis://") || base.starts_with("rediss://");
    if !postgres && !redis {
        return Err(Error::invalid_argument(
            "queue",
            "must be a postgres:// or redis:// URL",
        ));
    }
    Ok((base, name))
}

async fn postgres_queue(
    url: &str,
    name: &str,
    vault: &Arc<crate::store::Vault>,
    retention: Duration,
) -> Result<Arc<dyn Queue>> {
    #[cfg(feature = "postgres")]
    {
        Ok(Arc::new(
            PgQueue::connect(url, vault.clone())
                .await?
                .named(name)?
                .retention(retention),
        ))
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (url, name, vault, retention);
        Err(Error::feature_disabled(
            "queue",
            "the PostgreSQL queue",
            "postgres",
        ))
    }
}

async fn redis_queue(
    url: &str,
    name: &str,
    vault: &Arc<crate::store::Vault>,
    retention: Duration,
) -> Result<Arc<dyn Queue>> {
    #[cfg(feature = "redis")]
    {
        Ok(Arc::new(
            RedisQueue::connect(url, name, vault.clone())
                .await?
                .retention(retention),
        ))
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = (url, name, vault, retention);
        Err(Error::feature_disabled("queue", "the Redis queue", "redis"))
    }
}
