//! The semantic tiers: the nearest earlier question in the same scope, found with a cosine index (HNSW with the
//! `semantic` feature, an exact scan without),
//! is reused only above a similarity threshold and only if the deterministic [`Signature`] guard agrees.
//!
//! One tier type serves two caches: results ([`SemanticCache`], scope = tenant + statements fingerprint + language +
//! configuration) and Analyst plans ([`PlanCache`], scope = tenant or the shared pool + sector + language +
//! configuration). Each scope has its own index, so a lookup cannot see another scope's entries at all.
//!
//! With a [`Vault`], entries are also written to its store, encrypted with the client's scope key, and read back
//! when a process first meets a tenant: the index is rebuilt from the stored embeddings. With a [`CacheSync`](super::sync::CacheSync)
//! (PostgreSQL `LISTEN/NOTIFY`), processes sharing one PostgreSQL store see each other's new entries and
//! invalidations.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::guard::Signature;
use super::index::VectorIndex;
use crate::analysis::{Analysis, AnalysisPlan};
use crate::embed::{self, Embedder};
use crate::error::{Error, Result};
use crate::store::Vault;

/// How a semantic tier decides and how much it keeps.
#[derive(Debug, Clone)]
pub struct SemanticOptions {
    /// Minimum cosine similarity for a candidate (the guard still decides).
    pub threshold: f32,
    /// Absolute lifetime of an entry: a hit does not extend it.
    pub ttl: Duration,
    /// Entries kept per scope; the oldest go first.
    pub max_entries_per_scope: usize,
    /// Candidates examined per lookup (nearest first).
    pub candidates: usize,
    /// Scopes (a tenant's statements and language, a sector's plans…) kept in memory; the oldest scope goes
    /// first (its entries are misses from then on), so memory is bounded whatever documents arrive.
    pub max_scopes: usize,
}

impl Default for SemanticOptions {
    fn default() -> Self {
        SemanticOptions {
            threshold: 0.80,
            ttl: Duration::from_secs(30 * 24 * 3600),
            max_entries_per_scope: 10_000,
            candidates: 8,
            max_scopes: 10_000,
        }
    }
}

impl SemanticOptions {
    /// Checks the options a host gave.
    pub fn validate(&self) -> Result<()> {
        if !(self.threshold.is_finite() && 0.0 < self.threshold && self.threshold <= 1.0) {
            return Err(Error::invalid_argument(
                "threshold",
                format!("{} is not in (0, 1]", self.threshold),
            ));
        }
        if self.ttl.is_zero() {
            return Err(Error::invalid_argument("ttl", "must be positive"));
        }
        if self.max_scopes == 0 {
            return Err(Error::invalid_argument("max_scopes", "must be at least 1"));
        }
        if self.max_entries_per_scope == 0 {
            return Err(Error::invalid_argument(
                "max_entries_per_scope",
                "must be at least 1",
            ));
        }
        if !(1..=256).contains(&self.candidates) {
            return Err(Error::invalid_argument(
                "candidates",
                format!("{} is outside 1..=256", self.candidates),
            ));
        }
        Ok(())
    }
}

/// Where an entry may be reused: the tenant that owns it and the opaque scope key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The owning tenant (the shared plan pool uses [`SHARED_TENANT`]).
    pub tenant: String,
    /// The scope's opaque key (statements fingerprint, language and configuration, or the plan pool's key).
    pub key: String,
}

/// The tenant name of the cross-tenant plan pool (plans carry no client data).
pub const SHARED_TENANT: &str = "*shared*";

/// A reused entry.
#[derive(Debug, Clone)]
pub struct Hit<V> {
    /// The reused value.
    pub value: Arc<V>,
    /// The cosine similarity of the reused question to the asked one.
    pub similarity: f32,
    /// When the value was stored.
    pub stored_at: DateTime<Utc>,
    /// The question the entry answered.
    pub question: String,
}

/// Why a lookup found nothing (for statistics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No entry in the scope at or above the threshold.
    NoCandidate,
    /// A close entry was refused by the guard (`"direction"`, `"metric"`, …).
    Guard(&'static str),
    /// The close entries were older than the TTL or the request's maximum age.
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored<V> {
    scope: String,
    question: String,
    signature: Signature,
    vector: Vec<f32>,
    value: V,
    stored_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Entry<V> {
    id: String,
    client: String,
    question: String,
    signature: Signature,
    value: Arc<V>,
    stored_at: DateTime<Utc>,
}

struct Partition<V> {
    index: VectorIndex,
    entries: HashMap<u64, Entry<V>>,
    /// Insertion order, for eviction.
    order: std::collections::VecDeque<u64>,
}

impl<V> std::fmt::Debug for Partition<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl<V> Partition<V> {
    fn new(dimensions: usize) -> Result<Self> {
        Ok(Partition {
            index: VectorIndex::new(dimensions)?,
            entries: HashMap::new(),
            order: std::collections::VecDeque::new(),
        })
    }

    fn add(&mut self, key: u64, vector: &[f32], entry: Entry<V>, max: usize) -> Result<()> {
        while self.entries.len() >= max {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.remove(old)?;
        }
        self.index.add(key, vector)?;
        self.entries.insert(key, entry);
        self.order.push_back(key);
        Ok(())
    }

    fn remove(&mut self, key: u64) -> Result<()> {
        if self.entries.remove(&key).is_some() {
            self.index.remove(key)?;
        }
        Ok(())
    }
}

/// The semantic result cache.
pub type SemanticCache = SemanticTier<Analysis>;
/// The Analyst plan cache.
pub type PlanCache = SemanticTier<PlanEntry>;

/// A cached Analyst plan and what producing it cost (what a hit saves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// The plan.
    pub plan: AnalysisPlan,
    /// USD; `None` when unknown.
    pub cost_usd: Option<rust_decimal::Decimal>,
}

/// Which durable record kind a tier writes.
pub trait TierKind {
    /// The record kind the tier's entries are stored under (`cache.semantic`, `cache.plan`).
    const KIND: &'static str;
}
impl TierKind for Analysis {
    const KIND: &'static str = "cache.semantic";
}
impl TierKind for PlanEntry {
    const KIND: &'static str = "cache.plan";
}

/// A semantic tier (see the module documentation).
pub struct SemanticTier<V> {
    embedder: Arc<dyn Embedder>,
    options: SemanticOptions,
    partitions: RwLock<HashMap<Scope, Arc<RwLock<Partition<V>>>>>,
    next_key: AtomicU64,
    vault: Option<Arc<Vault>>,
    sync: Option<Arc<super::sync::CacheSync>>,
    /// Tenants whose stored entries were loaded.
    loaded: tokio::sync::Mutex<HashSet<String>>,
    /// Entry ids already in memory (so a notification of our own write is not added twice).
    known: Mutex<HashSet<String>>,
    /// Scopes in the order they were made, for eviction beyond `max_scopes`.
    scope_order: Mutex<std::collections::VecDeque<Scope>>,
    _value: PhantomData<fn() -> V>,
}

impl<V> std::fmt::Debug for SemanticTier<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticTier")
            .field("embedder", &self.embedder.name())
            .field("options", &self.options)
            .field("durable", &self.vault.is_some())
            .finish()
    }
}

impl<V> SemanticTier<V>
where
    V: TierKind + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// An in-memory tier over an embedder.
    pub fn new(embedder: Arc<dyn Embedder>, options: SemanticOptions) -> Result<Self> {
        options.validate()?;
        if embedder.dimensions() == 0 {
            return Err(Error::invalid_argument("embedder", "has 0 dimensions"));
        }
        Ok(SemanticTier {
            embedder,
            options,
            partitions: RwLock::new(HashMap::new()),
            next_key: AtomicU64::new(1),
            vault: None,
            sync: None,
            loaded: tokio::sync::Mutex::new(HashSet::new()),
            known: Mutex::new(HashSet::new()),
            scope_order: Mutex::new(std::collections::VecDeque::new()),
            _value: PhantomData,
        })
    }

    /// Also keeps entries in a vault's store (encrypted), and reads them back per tenant on first use.
    pub fn durable(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Shares new entries and invalidations with other processes through PostgreSQL `LISTEN/NOTIFY` (the vault's
    /// store must be the same PostgreSQL database). [`super::sync::CacheSync::follow`] applies theirs.
    pub fn synced(mut self, sync: Arc<super::sync::CacheSync>) -> Self {
        self.sync = Some(sync);
        self
    }

    /// The tier's options.
    pub fn options(&self) -> &SemanticOptions {
        &self.options
    }

    /// Entries held in memory, all scopes.
    pub fn len(&self) -> usize {
        self.read_partitions()
            .values()
            .map(|p| p.read().unwrap_or_else(|e| e.into_inner()).entries.len())
            .sum()
    }

    /// Whether the tier holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read_partitions(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<Scope, Arc<RwLock<Partition<V>>>>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner())
    }

    fn partition(&self, scope: &Scope) -> Result<Arc<RwLock<Partition<V>>>> {
        if let Some(p) = self.read_partitions().get(scope) {
            return Ok(p.clone());
        }
        let mut all = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = all.get(scope) {
            return Ok(p.clone());
        }
        let p = Arc::new(RwLock::new(Partition::new(self.embedder.dimensions())?));
        all.insert(scope.clone(), p.clone());
        let mut order = self.scope_order.lock().unwrap_or_else(|e| e.into_inner());
        order.push_back(scope.clone());
        while all.len() > self.options.max_scopes {
            match order.pop_front() {
                Some(oldest) => {
                    all.remove(&oldest);
                }
                None => break,
            }
        }
        Ok(p)
    }

    /// Embeds one question (checked: length and finiteness).
    pub async fn embed(&self, question: &str) -> Result<Vec<f32>> {
        let vectors = self.embedder.embed(vec![question.to_string()]).await?;
        embed::check(self.embedder.as_ref(), 1, &vectors)?;
        vectors
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("embedder returned nothing".into()))
    }

    /// Reads a tenant's stored entries into memory, once per tenant (lookups and inserts call it).
    pub async fn load_tenant(&self, tenant: &str) -> Result<()> {
        self.ensure_loaded(tenant).await
    }

    async fn ensure_loaded(&self, tenant: &str) -> Result<()> {
        let Some(vault) = &self.vault else {
            return Ok(());
        };
        let mut loaded = self.loaded.lock().await;
        if loaded.contains(tenant) {
            return Ok(());
        }
        let now = Utc::now();
        for (row, plain) in vault.cache_records(V::KIND, tenant).await? {
            let Ok(stored) = serde_json::from_slice::<Stored<V>>(&plain) else {
                continue;
            };
            if self.expired(stored.stored_at, now, None) {
                let _ = vault.delete_cache_record(V::KIND, tenant, &row.id).await;
                continue;
            }
            self.add_stored(tenant, &row.id, &row.client_tag, stored)?;
        }
        loaded.insert(tenant.to_string());
        Ok(())
    }

    fn add_stored(&self, tenant: &str, id: &str, client: &str, stored: Stored<V>) -> Result<()> {
        if stored.vector.len() != self.embedder.dimensions() {
            // Written with another embedder: not comparable.
            return Ok(());
        }
        if !self
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string())
        {
            return Ok(());
        }
        let scope = Scope {
            tenant: tenant.to_string(),
            key: stored.scope,
        };
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let partition = self.partition(&scope)?;
        let mut p = partition.write().unwrap_or_else(|e| e.into_inner());
        p.add(
            key,
            &stored.vector,
            Entry {
                id: id.to_string(),
                client: client.to_string(),
                question: stored.question,
                signature: stored.signature,
                value: Arc::new(stored.value),
                stored_at: stored.stored_at,
            },
            self.options.max_entries_per_scope,
        )
    }

    fn expired(
        &self,
        stored_at: DateTime<Utc>,
        now: DateTime<Utc>,
        max_age: Option<Duration>,
    ) -> bool {
        let age = (now - stored_at).to_std().unwrap_or(Duration::ZERO);
        age >= self.options.ttl || max_age.is_some_and(|m| age > m)
    }

    /// The best entry of `scope` for `question`: nearest first, at or above the threshold, younger than the TTL
    /// (and `max_age`), and allowed by the guard.
    pub async fn lookup(
        &self,
        scope: &Scope,
        question: &str,
        max_age: Option<Duration>,
    ) -> Result<std::result::Result<Hit<V>, Miss>> {
        self.ensure_loaded(&scope.tenant).await?;
        let vector = self.embed(question).await?;
        Ok(self.lookup_vector(scope, question, &vector, max_age))
    }

    /// [`SemanticTier::lookup`] with the question already embedded.
    pub fn lookup_vector(
        &self,
        scope: &Scope,
        question: &str,
        vector: &[f32],
        max_age: Option<Duration>,
    ) -> std::result::Result<Hit<V>, Miss> {
        let Some(partition) = self.read_partitions().get(scope).cloned() else {
            return Err(Miss::NoCandidate);
        };
        let p = partition.read().unwrap_or_else(|e| e.into_inner());
        let Ok(found) = p.index.search(vector, self.options.candidates) else {
            return Err(Miss::NoCandidate);
        };
        let signature = Signature::of(question);
        let now = Utc::now();
        let mut miss = Miss::NoCandidate;
        for (key, distance) in &found {
            let similarity = 1.0 - distance;
            if similarity < self.options.threshold {
                break;
            }
            let Some(entry) = p.entries.get(key) else {
                continue;
            };
            if self.expired(entry.stored_at, now, max_age) {
                miss = Miss::Expired;
                continue;
            }
            if let Some(part) = entry.signature.difference(&signature) {
                if miss == Miss::NoCandidate {
                    miss = Miss::Guard(part);
                }
                continue;
            }
            return Ok(Hit {
                value: entry.value.clone(),
                similarity,
                stored_at: entry.stored_at,
                question: entry.question.clone(),
            });
        }
        Err(miss)
    }

    /// Keeps `value` as the answer to `question` in `scope`, for `client`.
    pub async fn insert(
        &self,
        scope: &Scope,
        question: &str,
        client: &str,
        value: V,
    ) -> Result<()> {
        self.ensure_loaded(&scope.tenant).await?;
        let vector = self.embed(question).await?;
        self.insert_vector(scope, question, client, vector, value)
            .await
    }

    /// [`SemanticTier::insert`] with the question already embedded.
    pub async fn insert_vector(
        &self,
        scope: &Scope,
        question: &str,
        client: &str,
        vector: Vec<f32>,
        value: V,
    ) -> Result<()> {
        let id = uuid::Uuid::new_v4().to_string();
        let stored = Stored {
            scope: scope.key.clone(),
            question: question.to_string(),
            signature: Signature::of(question),
            vector,
            value,
            stored_at: Utc::now(),
        };
        if let Some(vault) = &self.vault {
            let body = serde_json::to_vec(&stored).map_err(|e| Error::Internal(e.to_string()))?;
            vault
                .put_cache_record(V::KIND, &scope.tenant, client, &id, &body)
                .await?;
            if let Some(sync) = &self.sync {
                sync.announce_put(V::KIND, &scope.tenant, &id).await?;
            }
        }
        let client = match &self.vault {
            // Stored entries know their client by its keyed tag; memory does the same so invalidation agrees.
            Some(vault) => vault.client_tag(&scope.tenant, client).await?,
            None => client.to_string(),
        };
        self.add_stored(&scope.tenant, &id, &client, stored)
    }

    fn drop_where(&self, keep: impl Fn(&Scope, &Entry<V>) -> bool) -> Result<usize> {
        let partitions: Vec<(Scope, Arc<RwLock<Partition<V>>>)> = self
            .read_partitions()
            .iter()
            .map(|(s, p)| (s.clone(), p.clone()))
            .collect();
        let mut dropped = 0;
        for (scope, partition) in partitions {
            let mut p = partition.write().unwrap_or_else(|e| e.into_inner());
            let gone: Vec<(u64, String)> = p
                .entries
                .iter()
                .filter(|(_, e)| !keep(&scope, e))
                .map(|(k, e)| (*k, e.id.clone()))
                .collect();
            for (key, id) in gone {
                p.remove(key)?;
                p.order.retain(|k| *k != key);
                self.known
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// Drops every entry of a tenant, here, in the store and (when synced) in the other processes.
    pub async fn invalidate_tenant(&self, tenant: &str) -> Result<usize> {
        let n = self.drop_where(|s, _| s.tenant != tenant)?;
        if let Some(vault) = &self.vault {
            vault.delete_cache_records(V::KIND, tenant, None).await?;
            if let Some(sync) = &self.sync {
                sync.announce_invalidation(V::KIND, tenant, None).await?;
            }
        }
        Ok(n)
    }

    /// Drops every entry of one client of a tenant.
    pub async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<usize> {
        let client = match &self.vault {
            Some(vault) => vault.client_tag(tenant, client).await?,
            None => client.to_string(),
        };
        let n = self.drop_where(|s, e| !(s.tenant == tenant && e.client == client))?;
        if let Some(vault) = &self.vault {
            vault
                .delete_cache_records(V::KIND, tenant, Some(&client))
                .await?;
            if let Some(sync) = &self.sync {
                sync.announce_invalidation(V::KIND, tenant, Some(&client))
                    .await?;
            }
        }
        Ok(n)
    }

    /// Applies another process's announcement (see [`super::sync::CacheSync::follow`]).
    pub async fn apply(&self, note: &super::sync::Notice) -> Result<()> {
        if note.kind != V::KIND {
            return Ok(());
        }
        match &note.client_tag {
            _ if note.put => {
                // Only tenants this process already loaded: the others are read in full on first use.
                if !self.loaded.lock().await.contains(&note.tenant) && self.vault.is_some() {
                    return Ok(());
                }
                let Some(vault) = &self.vault else {
                    return Ok(());
                };
                let Some(id) = &note.id else {
                    return Ok(());
                };
                if let Some((row, plain)) =
                    vault.get_cache_record(V::KIND, &note.tenant, id).await?
                    && let Ok(stored) = serde_json::from_slice::<Stored<V>>(&plain)
                {
                    self.add_stored(&note.tenant, &row.id, &row.client_tag, stored)?;
                }
            }
            Some(tag) => {
                let tag = tag.clone();
                self.drop_where(|s, e| !(s.tenant == note.tenant && e.client == tag))?;
            }
            None => {
                self.drop_where(|s, _| s.tenant != note.tenant)?;
            }
        }
        Ok(())
    }
}
