//! Persistence: the [`Store`] trait keeps encrypted records, audit entries and wrapped data keys; backends are
//! SQLite (embedded default, one file) and PostgreSQL. A store only ever sees ciphertext, hashes and ids: the
//! [`Vault`] encrypts, checks the principal, and audits, over any store.

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod vault;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::security::crypto::{KeyProvider, LocalKeyProvider, Sealed, SecretKey, WrappedKey};

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use vault::{ErasureListener, Review, ReviewAction, ReviewNote, ReviewStatus, Vault};

/// The record kinds the caches keep in a store (exact, semantic and plan tiers): an erasure removes them too.
pub const CACHE_KINDS: &[&str] = &["cache.exact", "cache.semantic", "cache.plan"];

/// The master key: `FINOPS_MASTER_KEY` (64 hex characters), else `dir/master.key` (created on first use only
/// when `dir` holds no data yet). A `FINOPS_MASTER_KEY` that is set but empty is an error, not a reason to use
/// another key: a deployment that meant to pass its key and failed must not start writing under a new one.
pub fn master_key(dir: Option<&std::path::Path>) -> Result<std::sync::Arc<dyn KeyProvider>> {
    match std::env::var_os("FINOPS_MASTER_KEY") {
        Some(value) => {
            let hex = value.to_str().ok_or_else(|| {
                crate::Error::invalid_argument(
                    "FINOPS_MASTER_KEY",
                    "is not text (64 hex characters)",
                )
            })?;
            if hex.trim().is_empty() {
                return Err(crate::Error::invalid_argument(
                    "FINOPS_MASTER_KEY",
                    "is set but empty: give the deployment's key (64 hex characters) or unset it",
                ));
            }
            Ok(std::sync::Arc::new(LocalKeyProvider::new(
                "env",
                SecretKey::from_hex("FINOPS_MASTER_KEY", hex)?,
            )))
        }
        None => match dir {
            Some(d) => {
                let path = d.join("master.key");
                // Data already there without its key: the key was lost or moved, and a new one would silently
                // make every record unreadable.
                if !path.exists() && d.join("finops.db").exists() {
                    return Err(crate::Error::KeyUnavailable {
                        key_id: "file".into(),
                        reason: format!(
                            "{} holds data (finops.db) but its master key {} is missing: restore the key file \
                             (or set FINOPS_MASTER_KEY); a new key would not read the existing data",
                            d.display(),
                            path.display()
                        ),
                    });
                }
                Ok(std::sync::Arc::new(LocalKeyProvider::from_file(&path)?))
            }
            None => Err(crate::Error::invalid_argument(
                "FINOPS_MASTER_KEY",
                "a shared store needs the deployment's master key (64 hex characters) in FINOPS_MASTER_KEY",
            )),
        },
    }
}

/// The embedded vault under `dir`: `finops.db` (SQLite) and the master key.
pub async fn open_local_vault(dir: &std::path::Path) -> Result<Vault> {
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::Error::invalid_argument("data_dir", format!("cannot create {}: {e}", dir.display()))
    })?;
    // The key first: opening the store creates `finops.db`, after which a missing key is an error.
    let keys = master_key(Some(dir))?;
    let store = open_sqlite(&dir.join("finops.db"), "data_dir").await?;
    Vault::open(store, keys).await
}

/// Whether `url` names a PostgreSQL database.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The PostgreSQL store at `url` (given in `field`); refused by name in a build without the `postgres` feature.
pub(crate) async fn connect_postgres(url: &str, field: &str) -> Result<std::sync::Arc<dyn Store>> {
    #[cfg(feature = "postgres")]
    {
        let _ = field;
        Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err(crate::Error::feature_disabled(
            field,
            "the PostgreSQL store",
            "postgres",
        ))
    }
}

/// The SQLite store in the file `path` (given in `field`); refused by name in a build without the `sqlite`
/// feature.
pub(crate) async fn open_sqlite(
    path: &std::path::Path,
    field: &str,
) -> Result<std::sync::Arc<dyn Store>> {
    #[cfg(feature = "sqlite")]
    {
        let _ = field;
        Ok(std::sync::Arc::new(SqliteStore::open(path).await?))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = path;
        Err(crate::Error::feature_disabled(
            field,
            "the embedded SQLite vault",
            "sqlite",
        ))
    }
}

/// Opens the vault a host names with one string, as the bindings take it:
/// - `postgres://…`: the PostgreSQL store, shared by processes (the master key from `FINOPS_MASTER_KEY`);
/// - anything else is a directory: the embedded default, `finops.db` (SQLite) and the master key (from
///   `FINOPS_MASTER_KEY`, else `master.key` there, generated on first use), as the main example's `--data-dir`.
pub async fn open(location: &str) -> Result<Vault> {
    let location = location.trim();
    if location.is_empty() {
        return Err(crate::Error::invalid_argument(
            "store",
            "must be a directory or a postgres:// URL",
        ));
    }
    if is_postgres_url(location) {
        let store = connect_postgres(location, "store").await?;
        return Vault::open(store, master_key(None)?).await;
    }
    if location.contains("://") {
        return Err(crate::Error::invalid_argument(
            "store",
            "only postgres:// URLs and directories are stores",
        ));
    }
    open_local_vault(std::path::Path::new(location)).await
}

/// One encrypted record as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRow {
    /// e.g. `analysis`.
    pub kind: String,
    /// The CPA firm.
    pub tenant: String,
    /// The record's id.
    pub id: String,
    /// A keyed hash of the client id (so a client's records can be listed without storing who the client is).
    pub client_tag: String,
    /// RFC 3339.
    pub created_at: String,
    /// The encrypted record.
    pub sealed: Sealed,
}

/// One audit entry as a store keeps it: the entry encrypted, its chain hashes in clear (they reveal nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// The CPA firm whose chain it is.
    pub tenant: String,
    /// Its position in the chain, from 1.
    pub seq: u64,
    /// The hash of this entry over the previous hash.
    pub hash: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// The encrypted entry.
    pub sealed: Sealed,
    /// The tenant's signed head after this entry (a record of its own): a store writes it in the same
    /// transaction as the entry (for several entries, the last one's), so the stored head always names the last
    /// stored entry and a trail cut short no longer matches it. Not read back with the entries.
    #[serde(default)]
    pub head: Option<RecordRow>,
}

/// Where records, audit entries and wrapped keys live. Implementations must be safe to share between tasks.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Inserts or replaces a record.
    async fn put_record(&self, row: &RecordRow) -> Result<()>;
    /// Inserts a record unless one with the same kind, tenant and id exists; true when it was inserted (a job's
    /// result is stored once however many times the job is delivered).
    async fn insert_record(&self, row: &RecordRow) -> Result<bool>;
    /// Inserts a record and appends an audit row in one transaction (a job's result and its charge: both or
    /// neither). False, with nothing written, when the record exists; an error, with nothing written, when the
    /// audit sequence number is taken.
    async fn insert_record_audited(&self, row: &RecordRow, audit: &AuditRow) -> Result<bool>;
    /// Inserts records and appends their audit rows in one transaction (several jobs' results and charges,
    /// one commit): all or nothing — an error, with nothing written, when a record exists or a sequence number
    /// is taken. At most 500 items.
    async fn insert_records_audited(&self, items: &[(RecordRow, AuditRow)]) -> Result<()>;
    /// Writes a record over the one of the same kind, tenant and id, with its audit row, in one transaction (a
    /// CPA replacing an unsigned draft). Like every audit write, refused when the row does not follow the
    /// tenant's last stored entry.
    async fn replace_record_audited(&self, row: &RecordRow, audit: &AuditRow) -> Result<()>;
    /// One record, `None` when there is none.
    async fn get_record(&self, kind: &str, tenant: &str, id: &str) -> Result<Option<RecordRow>>;
    /// The records of two kinds under one id (an analysis and its review), in one round trip where the backend
    /// allows.
    async fn get_record_pair(
        &self,
        kinds: [&str; 2],
        tenant: &str,
        id: &str,
    ) -> Result<[Option<RecordRow>; 2]> {
        Ok([
            self.get_record(kinds[0], tenant, id).await?,
            self.get_record(kinds[1], tenant, id).await?,
        ])
    }
    /// Deletes a record; true when there was one.
    async fn delete_record(&self, kind: &str, tenant: &str, id: &str) -> Result<bool>;
    /// A tenant's records of a kind, oldest first, optionally only one client's.
    async fn list_records(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: Option<&str>,
    ) -> Result<Vec<RecordRow>>;
    /// Appends an audit entry; a second entry with the same (tenant, seq) is refused.
    async fn append_audit(&self, row: &AuditRow) -> Result<()>;
    /// A tenant's audit entries in sequence order.
    async fn audit(&self, tenant: &str) -> Result<Vec<AuditRow>>;
    /// Stores a wrapped data key.
    async fn put_key(&self, key: &WrappedKey) -> Result<()>;
    /// Stores an owner's first data key unless the owner has one already (another process sharing the store
    /// created it first): true when this key was stored. Atomic, so processes agree on one first key.
    async fn put_first_key(&self, key: &WrappedKey) -> Result<bool>;
    /// Every wrapped data key.
    async fn keys(&self) -> Result<Vec<WrappedKey>>;
    /// The data keys of one owner (a tenant, or a client's scope), oldest first.
    async fn keys_of(&self, owner: &str) -> Result<Vec<WrappedKey>>;
    /// Destroys the data keys of one key owner (a client's scope): crypto-shredding of that client.
    async fn delete_keys(&self, owner: &str) -> Result<()>;
    /// The tenants that have records of a kind (a queue resuming its jobs after a restart).
    async fn tenants_with(&self, kind: &str) -> Result<Vec<String>>;
    /// Erasure: removes a tenant's keys (its own and its clients' scopes, `tenant#…`), records and audit entries.
    async fn erase_tenant(&self, tenant: &str) -> Result<()>;
    /// The budget ledger's reservation (see [`crate::security::limits::BudgetLedger::reserve`]), atomic across the
    /// processes sharing the store.
    async fn budget_reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: rust_decimal::Decimal,
        limit: rust_decimal::Decimal,
        ttl: std::time::Duration,
    ) -> Result<std::result::Result<String, rust_decimal::Decimal>>;
    /// The budget ledger's settlement of a reservation.
    async fn budget_settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        estimate: rust_decimal::Decimal,
        actual: rust_decimal::Decimal,
    ) -> Result<()>;
    /// What a tenant spent in a month.
    async fn budget_spent(&self, tenant: &str, month: &str) -> Result<rust_decimal::Decimal>;
    /// Closes the store's connections: later calls fail with a backend error. Idempotent; the default does
    /// nothing (a store without connections).
    async fn close(&self) {}
}

/// Whether an audit row follows the tenant's last stored entry (`last`: its sequence number and hash), as every
/// store checks inside the transaction that writes it: a row written after another process's, or after an
/// erasure of the chain, is refused (retryable) instead of forking the chain.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn check_follows(
    backend: crate::BackendKind,
    row: &AuditRow,
    last: Option<(i64, String)>,
) -> Result<()> {
    let follows = match &last {
        None => row.seq == 1 && row.prev_hash == crate::security::audit::GENESIS,
        Some((seq, hash)) => {
            u64::try_from(*seq).is_ok_and(|s| s.checked_add(1) == Some(row.seq))
                && *hash == row.prev_hash
        }
    };
    if follows {
        Ok(())
    } else {
        Err(crate::Error::Backend {
            backend,
            reason: format!(
                "audit entry {} of tenant `{}` does not follow the stored chain (another process wrote first)",
                row.seq, row.tenant
            ),
            retryable: true,
        })
    }
}

/// A store as the budgets' ledger, shared by every process that uses it.
#[derive(Debug, Clone)]
pub struct StoreLedger(pub std::sync::Arc<dyn Store>);

#[async_trait::async_trait]
impl crate::security::limits::BudgetLedger for StoreLedger {
    async fn reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: rust_decimal::Decimal,
        limit: rust_decimal::Decimal,
        ttl: std::time::Duration,
    ) -> Result<std::result::Result<String, rust_decimal::Decimal>> {
        self.0
            .budget_reserve(tenant, month, amount, limit, ttl)
            .await
    }

    async fn settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        estimate: rust_decimal::Decimal,
        actual: rust_decimal::Decimal,
    ) -> Result<()> {
        self.0
            .budget_settle(tenant, month, id, estimate, actual)
            .await
    }

    async fn spent(&self, tenant: &str, month: &str) -> Result<rust_decimal::Decimal> {
        self.0.budget_spent(tenant, month).await
    }
}

/// A decimal a store kept as text.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn stored_decimal(text: &str) -> Result<rust_decimal::Decimal> {
    text.parse().map_err(|_| crate::Error::Integrity {
        reason: format!("the budget ledger holds `{text}`, which is not an amount"),
    })
}

/// What a reservation decides, once the store read the tenant's month (amounts as the store keeps them, text):
/// what is spent, the reservations that expired (they now count as spent), and the live ones. Returns the new
/// spent and `Ok(())` to reserve, or `Err(committed)` with what is spent and reserved when refused.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn budget_decision(
    spent: rust_decimal::Decimal,
    expired: &[String],
    held: &[String],
    amount: rust_decimal::Decimal,
    limit: rust_decimal::Decimal,
) -> Result<(
    rust_decimal::Decimal,
    std::result::Result<(), rust_decimal::Decimal>,
)> {
    let mut spent = spent;
    for a in expired {
        spent = spent.saturating_add(stored_decimal(a)?);
    }
    let mut committed = spent;
    for a in held {
        committed = committed.saturating_add(stored_decimal(a)?);
    }
    let decision = if crate::security::limits::refuses(committed, amount, limit) {
        Err(committed)
    } else {
        Ok(())
    };
    Ok((spent, decision))
}

/// What is spent once a reservation is settled at `actual`: added, or — when the reservation had expired and was
/// counted at its `estimate` meanwhile — corrected by the difference (never below zero).
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn settled_spent(
    spent: rust_decimal::Decimal,
    reservation_was_live: bool,
    estimate: rust_decimal::Decimal,
    actual: rust_decimal::Decimal,
) -> rust_decimal::Decimal {
    if reservation_was_live {
        spent.saturating_add(actual)
    } else {
        spent
            .saturating_add(actual)
            .saturating_sub(estimate)
            .max(rust_decimal::Decimal::ZERO)
    }
}
