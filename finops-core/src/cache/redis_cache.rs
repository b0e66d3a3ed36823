//! The exact tier on Redis, shared by every process of a deployment. Values are encrypted with the vault's
//! per-client keys before they leave the process; Redis sees hashes, tags and ciphertext only. Entries expire with
//! Redis's own `EX` (absolute: a read does not extend them).
//!
//! Layout: `finops:exact:<key>` → the sealed entry; `finops:exact-t:<tenant hash>` and
//! `finops:exact-c:<tenant hash>:<client tag>` → the keys to drop on invalidation.
//!
//! URLs: `redis://host:port[/db]` in plaintext, or `rediss://…` over TLS verified against the system's roots or
//! the authority in `?ca_file=/path/ca.pem` (finops's own parameter, removed before the URL reaches Redis). TLS is
//! never skipped: a server that does not speak it, or whose certificate does not verify, fails the connection.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Cache, Cached, EXACT_KIND};
use crate::analysis::Analysis;
use crate::error::{Error, Result};
use crate::security::crypto::Sealed;
use crate::store::Vault;

fn redis_error(e: redis::RedisError) -> Error {
    Error::from_redis("redis cache", &e)
}

#[derive(Serialize, Deserialize)]
struct Entry {
    tenant: String,
    client_tag: String,
    stored_at: DateTime<Utc>,
    sealed: Sealed,
}

/// The shared exact tier.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    vault: Arc<Vault>,
    ttl: Duration,
    prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn tenant_hash(tenant: &str) -> String {
    Sha256::digest(tenant.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Redis client for `url` (given in `field`): `redis://host:port[/db]` in plaintext, or `rediss://…` over TLS
/// verified against the system's roots, or against the authority in `?ca_file=/path/ca.pem` (a managed Redis with
/// its own CA, a self-signed test server). TLS is never skipped: a `rediss://` server that does not speak TLS, or
/// whose certificate does not verify, fails the connection.
pub(crate) fn redis_client(url: &str, field: &str) -> Result<redis::Client> {
    let invalid = |reason: String| Error::invalid_argument(field, reason);
    let mut parsed = url::Url::parse(url).map_err(|e| invalid(format!("not a Redis URL: {e}")))?;
    let ca_file = parsed
        .query_pairs()
        .find(|(k, _)| k == "ca_file")
        .map(|(_, v)| v.into_owned());
    let Some(ca_file) = ca_file else {
        return redis::Client::open(url).map_err(|e| invalid(format!("not a Redis URL: {e}")));
    };
    if parsed.scheme() != "rediss" {
        return Err(invalid(
            "`ca_file` verifies a TLS server: the URL must start with rediss://".into(),
        ));
    }
    let others: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "ca_file")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if others.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(others);
    }
    let pem = std::fs::read(&ca_file)
        .map_err(|e| invalid(format!("cannot read ca_file `{ca_file}`: {e}")))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(invalid(format!(
            "ca_file `{ca_file}` holds no PEM certificate"
        )));
    }
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    redis::Client::build_with_tls(parsed.as_str(), certificates)
        .map_err(|e| invalid(format!("cannot use ca_file `{ca_file}`: {e}")))
}

/// Connects to `client` once before its connection manager does: a server that cannot be reached, or whose TLS
/// certificate does not verify, fails now, in one attempt, instead of after the manager's retries (reconnections
/// later keep them).
pub(crate) async fn redis_manager(
    client: &redis::Client,
    context: &str,
) -> Result<ConnectionManager> {
    let failed = |e: redis::RedisError| Error::from_redis(context, &e);
    let probe = client
        .get_multiplexed_async_connection()
        .await
        .map_err(failed)?;
    drop(probe);
    ConnectionManager::new(client.clone()).await.map_err(failed)
}

impl RedisCache {
    /// Connects to `url` (`redis://host:port[/db]`, or `rediss://…[?ca_file=…]`: see the module notes); entries
    /// live `ttl` (at least one second).
    pub async fn connect(url: &str, vault: Arc<Vault>, ttl: Duration) -> Result<Self> {
        if ttl.as_secs() == 0 {
            return Err(Error::invalid_argument(
                "ttl",
                "must be at least one second",
            ));
        }
        let client = redis_client(url, "cache.redis_url")?;
        let conn = redis_manager(&client, "redis cache").await?;
        Ok(RedisCache {
            conn,
            vault,
            ttl,
            prefix: "finops".into(),
        })
    }

    /// Keys under another prefix (tests, or several deployments on one Redis).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// An entry's key: per tenant, as the `Cache` contract has it (another tenant's entry under the same key is
    /// another entry, never overwritten nor invalidated with it).
    fn entry_key(&self, tenant: &str, key: &str) -> String {
        format!("{}:exact:{}:{key}", self.prefix, tenant_hash(tenant))
    }

    fn tenant_set(&self, tenant: &str) -> String {
        format!("{}:exact-t:{}", self.prefix, tenant_hash(tenant))
    }

    fn client_set(&self, tenant: &str, tag: &str) -> String {
        format!("{}:exact-c:{}:{tag}", self.prefix, tenant_hash(tenant))
    }

    async fn drop_set(&self, tenant: &str, set: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let keys: Vec<String> = redis::cmd("SMEMBERS")
            .arg(set)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in &keys {
            pipe.cmd("DEL").arg(self.entry_key(tenant, k)).ignore();
        }
        pipe.cmd("DEL").arg(set).ignore();
        let () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, tenant: &str, key: &str) -> Result<Option<Cached>> {
        let mut conn = self.conn.clone();
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.entry_key(tenant, key))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let entry: Entry = serde_json::from_slice(&raw).map_err(|e| Error::Integrity {
            reason: format!("redis cache entry: {e}"),
        })?;
        if entry.tenant != tenant {
            return Ok(None);
        }
        let Some(plain) = self
            .vault
            .open_cache_value(EXACT_KIND, tenant, &entry.client_tag, key, &entry.sealed)
            .await?
        else {
            return Ok(None);
        };
        let analysis: Analysis = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!("redis cache entry: {e}"),
        })?;
        Ok(Some(Cached {
            analysis: Arc::new(analysis),
            stored_at: entry.stored_at,
        }))
    }

    async fn put(&self, key: &str, analysis: Arc<Analysis>) -> Result<()> {
        let body =
            serde_json::to_vec(analysis.as_ref()).map_err(|e| Error::Internal(e.to_string()))?;
        let (client_tag, sealed) = self
            .vault
            .seal_cache_value(EXACT_KIND, &analysis.tenant, &analysis.client, key, &body)
            .await?;
        let entry = Entry {
            tenant: analysis.tenant.clone(),
            client_tag: client_tag.clone(),
            stored_at: Utc::now(),
            sealed,
        };
        let raw = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
        // Milliseconds: an entry lives its TTL exactly, not a truncated number of seconds.
        let ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let (tenant_set, client_set) = (
            self.tenant_set(&analysis.tenant),
            self.client_set(&analysis.tenant, &client_tag),
        );
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.entry_key(&analysis.tenant, key))
            .arg(raw)
            .arg("PX")
            .arg(ms)
            .ignore()
            .cmd("SADD")
            .arg(&tenant_set)
            .arg(key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&tenant_set)
            .arg(ms)
            .ignore()
            .cmd("SADD")
            .arg(&client_set)
            .arg(key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&client_set)
            .arg(ms)
            .ignore();
        let mut conn = self.conn.clone();
        let () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        Ok(())
    }

    async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        self.drop_set(tenant, &self.tenant_set(tenant)).await
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        let tag = self.vault.client_tag(tenant, client).await?;
        self.drop_set(tenant, &self.client_set(tenant, &tag)).await
    }
}
