//! The embedded default store: one SQLite file (sqlx), created and migrated on open.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{AuditRow, RecordRow, Store};
use crate::error::{Error, Result};
use crate::security::crypto::{Sealed, WrappedKey};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, client_tag TEXT NOT NULL, \
     created_at TEXT NOT NULL, key_id TEXT NOT NULL, nonce BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, tenant, id))",
    "CREATE INDEX IF NOT EXISTS records_client ON records (kind, tenant, client_tag)",
    "CREATE TABLE IF NOT EXISTS audit (tenant TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, \
     key_id TEXT NOT NULL, nonce BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (tenant, seq))",
    "CREATE TABLE IF NOT EXISTS data_keys (tenant TEXT NOT NULL, key_id TEXT NOT NULL, master_id TEXT NOT NULL, \
     wrapped BLOB NOT NULL, PRIMARY KEY (tenant, key_id))",
    "CREATE TABLE IF NOT EXISTS budget_spent (tenant TEXT NOT NULL, month TEXT NOT NULL, spent TEXT NOT NULL, \
     PRIMARY KEY (tenant, month))",
    "CREATE TABLE IF NOT EXISTS budget_reservations (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, month TEXT NOT NULL, \
     amount TEXT NOT NULL, expires_at INTEGER NOT NULL)",
];

/// SQLite through sqlx.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn e(err: sqlx::Error) -> Error {
    Error::from_sqlx(crate::BackendKind::Sqlite, "sqlite store", &err)
}

fn sealed(row: &sqlx::sqlite::SqliteRow) -> Result<Sealed> {
    Ok(Sealed {
        key_id: row.try_get("key_id").map_err(e)?,
        nonce: row.try_get("nonce").map_err(e)?,
        ciphertext: row.try_get("body").map_err(e)?,
    })
}

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<RecordRow> {
    Ok(RecordRow {
        kind: row.try_get("kind").map_err(e)?,
        tenant: row.try_get("tenant").map_err(e)?,
        id: row.try_get("id").map_err(e)?,
        client_tag: row.try_get("client_tag").map_err(e)?,
        created_at: row.try_get("created_at").map_err(e)?,
        sealed: sealed(row)?,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: &std::path::Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::invalid_argument(
                    "data_dir",
                    format!("cannot create {}: {err}", dir.display()),
                )
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Deleted rows are overwritten with zeros, not left in free pages: an erased client's wrapped keys
            // and records cannot be read back from the file.
            .pragma("secure_delete", "ON");
        Self::connect(options, 4).await
    }

    /// An in-memory database (tests).
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(e)?;
        // One connection: each in-memory connection would be its own database.
        Self::connect(options, 1).await
    }

    /// Copies the write-ahead log into the database and empties it: the log's frames still hold the pages as they
    /// were before a deletion (secure_delete zeroes the database, not old frames).
    async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(e)?;
        Ok(())
    }

    async fn connect(options: SqliteConnectOptions, connections: u32) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .map_err(e)?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&pool).await.map_err(e)?;
        }
        Ok(SqliteStore { pool })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn close(&self) {
        self.pool.close().await;
    }

    async fn put_record(&self, r: &RecordRow) -> Result<()> {
        put_record_query(r).execute(&self.pool).await.map_err(e)?;
        Ok(())
    }

    async fn insert_record(&self, r: &RecordRow) -> Result<bool> {
        let done = insert_new_record(r).execute(&self.pool).await.map_err(e)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_record_audited(&self, r: &RecordRow, a: &AuditRow) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(e)?;
        let done = insert_new_record(r).execute(&mut *tx).await.map_err(e)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        follows_chain(&mut tx, a).await?;
        append_audit_row(a)?.execute(&mut *tx).await.map_err(e)?;
        put_head(&mut tx, a).await?;
        tx.commit().await.map_err(e)?;
        Ok(true)
    }

    async fn replace_record_audited(&self, r: &RecordRow, a: &AuditRow) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(e)?;
        follows_chain(&mut tx, a).await?;
        put_record_query(r).execute(&mut *tx).await.map_err(e)?;
        append_audit_row(a)?.execute(&mut *tx).await.map_err(e)?;
        put_head(&mut tx, a).await?;
        tx.commit().await.map_err(e)?;
        Ok(())
    }

    async fn insert_records_audited(&self, items: &[(RecordRow, AuditRow)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut records = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) ",
        );
        records.push_values(items, |mut b, (r, _)| {
            b.push_bind(&r.kind)
                .push_bind(&r.tenant)
                .push_bind(&r.id)
                .push_bind(&r.client_tag)
                .push_bind(&r.created_at)
                .push_bind(&r.sealed.key_id)
                .push_bind(&r.sealed.nonce)
                .push_bind(&r.sealed.ciphertext);
        });
        let mut audit = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit (tenant, seq, hash, prev_hash, key_id, nonce, body) ",
        );
        let mut seqs = Vec::with_capacity(items.len());
        for (_, a) in items {
            seqs.push(i64::try_from(a.seq).map_err(|x| Error::Internal(x.to_string()))?);
        }
        audit.push_values(items.iter().zip(&seqs), |mut b, ((_, a), seq)| {
            b.push_bind(&a.tenant)
                .push_bind(*seq)
                .push_bind(&a.hash)
                .push_bind(&a.prev_hash)
                .push_bind(&a.sealed.key_id)
                .push_bind(&a.sealed.nonce)
                .push_bind(&a.sealed.ciphertext);
        });
        let mut tx = self.pool.begin().await.map_err(e)?;
        follows_chain(&mut tx, &items[0].1).await?;
        records.build().execute(&mut *tx).await.map_err(e)?;
        audit.build().execute(&mut *tx).await.map_err(e)?;
        if let Some((_, last)) = items.last() {
            put_head(&mut tx, last).await?;
        }
        tx.commit().await.map_err(e)?;
        Ok(())
    }

    async fn get_record(&self, kind: &str, tenant: &str, id: &str) -> Result<Option<RecordRow>> {
        let row = sqlx::query("SELECT * FROM records WHERE kind = ? AND tenant = ? AND id = ?")
            .bind(kind)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(e)?;
        row.as_ref().map(record).transpose()
    }

    async fn get_record_pair(
        &self,
        kinds: [&str; 2],
        tenant: &str,
        id: &str,
    ) -> Result<[Option<RecordRow>; 2]> {
        let rows =
            sqlx::query("SELECT * FROM records WHERE kind IN (?, ?) AND tenant = ? AND id = ?")
                .bind(kinds[0])
                .bind(kinds[1])
                .bind(tenant)
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
        let mut out = [None, None];
        for row in &rows {
            let r = record(row)?;
            if let Some(slot) = kinds.iter().position(|k| *k == r.kind) {
                out[slot] = Some(r);
            }
        }
        Ok(out)
    }

    async fn delete_record(&self, kind: &str, tenant: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM records WHERE kind = ? AND tenant = ? AND id = ?")
            .bind(kind)
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(e)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_records(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: Option<&str>,
    ) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query(
            "SELECT * FROM records WHERE kind = ? AND tenant = ? AND (? IS NULL OR client_tag = ?) ORDER BY created_at, id",
        )
        .bind(kind)
        .bind(tenant)
        .bind(client_tag)
        .bind(client_tag)
        .fetch_all(&self.pool)
        .await
        .map_err(e)?;
        rows.iter().map(record).collect()
    }

    async fn append_audit(&self, a: &AuditRow) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(e)?;
        follows_chain(&mut tx, a).await?;
        append_audit_row(a)?.execute(&mut *tx).await.map_err(e)?;
        put_head(&mut tx, a).await?;
        tx.commit().await.map_err(e)?;
        Ok(())
    }

    async fn audit(&self, tenant: &str) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE tenant = ? ORDER BY seq")
            .bind(tenant)
            .fetch_all(&self.pool)
            .await
            .map_err(e)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq").map_err(e)?;
                Ok(AuditRow {
                    tenant: r.try_get("tenant").map_err(e)?,
                    seq: u64::try_from(seq).map_err(|x| Error::Internal(x.to_string()))?,
                    hash: r.try_get("hash").map_err(e)?,
                    prev_hash: r.try_get("prev_hash").map_err(e)?,
                    sealed: sealed(r)?,
                    head: None,
                })
            })
            .collect()
    }

    async fn put_key(&self, k: &WrappedKey) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO data_keys (tenant, key_id, master_id, wrapped) VALUES (?, ?, ?, ?)")
            .bind(&k.tenant)
            .bind(&k.key_id)
            .bind(&k.master_id)
            .bind(&k.wrapped)
            .execute(&self.pool)
            .await
            .map_err(e)?;
        Ok(())
    }

    async fn put_first_key(&self, k: &WrappedKey) -> Result<bool> {
        // One statement, and SQLite runs one writer at a time: the check and the insert cannot interleave.
        let done = sqlx::query(
            "INSERT INTO data_keys (tenant, key_id, master_id, wrapped) SELECT ?1, ?2, ?3, ?4 \
             WHERE NOT EXISTS (SELECT 1 FROM data_keys WHERE tenant = ?1)",
        )
        .bind(&k.tenant)
        .bind(&k.key_id)
        .bind(&k.master_id)
        .bind(&k.wrapped)
        .execute(&self.pool)
        .await
        .map_err(e)?;
        Ok(done.rows_affected() == 1)
    }

    async fn keys(&self) -> Result<Vec<WrappedKey>> {
        let rows = sqlx::query("SELECT * FROM data_keys ORDER BY rowid")
            .fetch_all(&self.pool)
            .await
            .map_err(e)?;
        rows.iter().map(wrapped_key).collect()
    }

    async fn keys_of(&self, owner: &str) -> Result<Vec<WrappedKey>> {
        let rows = sqlx::query("SELECT * FROM data_keys WHERE tenant = ? ORDER BY rowid")
            .bind(owner)
            .fetch_all(&self.pool)
            .await
            .map_err(e)?;
        rows.iter().map(wrapped_key).collect()
    }

    async fn delete_keys(&self, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM data_keys WHERE tenant = ?")
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(e)?;
        self.checkpoint().await
    }

    async fn tenants_with(&self, kind: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT DISTINCT tenant FROM records WHERE kind = ? ORDER BY tenant")
                .bind(kind)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("tenant").map_err(e))
            .collect()
    }

    async fn budget_reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: rust_decimal::Decimal,
        limit: rust_decimal::Decimal,
        ttl: std::time::Duration,
    ) -> Result<std::result::Result<String, rust_decimal::Decimal>> {
        let now = chrono::Utc::now().timestamp();
        let mut tx = self.pool.begin().await.map_err(e)?;
        // A write first: the transaction holds SQLite's write lock before it reads, so two processes take turns.
        let expired: Vec<String> = sqlx::query_scalar(
            "DELETE FROM budget_reservations WHERE tenant = ? AND month = ? AND expires_at < ? RETURNING amount",
        )
        .bind(tenant)
        .bind(month)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(e)?;
        let spent = budget_spent_in(&mut tx, tenant, month).await?;
        let held: Vec<String> = sqlx::query_scalar(
            "SELECT amount FROM budget_reservations WHERE tenant = ? AND month = ?",
        )
        .bind(tenant)
        .bind(month)
        .fetch_all(&mut *tx)
        .await
        .map_err(e)?;
        let (spent, decision) = super::budget_decision(spent, &expired, &held, amount, limit)?;
        put_budget_spent(&mut tx, tenant, month, spent).await?;
        let outcome = match decision {
            Ok(()) => {
                let id = uuid::Uuid::new_v4().to_string();
                let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
                sqlx::query(
                    "INSERT INTO budget_reservations (id, tenant, month, amount, expires_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&id)
                .bind(tenant)
                .bind(month)
                .bind(amount.to_string())
                .bind(now.saturating_add(ttl))
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                Ok(id)
            }
            Err(committed) => Err(committed),
        };
        tx.commit().await.map_err(e)?;
        Ok(outcome)
    }

    async fn budget_settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        estimate: rust_decimal::Decimal,
        actual: rust_decimal::Decimal,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(e)?;
        let removed = sqlx::query("DELETE FROM budget_reservations WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(e)?
            .rows_affected();
        let spent = budget_spent_in(&mut tx, tenant, month).await?;
        let spent = super::settled_spent(spent, removed == 1, estimate, actual);
        put_budget_spent(&mut tx, tenant, month, spent).await?;
        tx.commit().await.map_err(e)?;
        Ok(())
    }

    async fn budget_spent(&self, tenant: &str, month: &str) -> Result<rust_decimal::Decimal> {
        let mut conn = self.pool.acquire().await.map_err(e)?;
        budget_spent_in(&mut conn, tenant, month).await
    }

    async fn erase_tenant(&self, tenant: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(e)?;
        for statement in [
            "DELETE FROM audit WHERE tenant = ?1",
            "DELETE FROM data_keys WHERE tenant = ?1 OR substr(tenant, 1, length(?1) + 1) = ?1 || '#'",
            "DELETE FROM records WHERE tenant = ?",
        ] {
            sqlx::query(statement)
                .bind(tenant)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        // Reclaim the freed pages so the erased ciphertext does not linger in the file.
        sqlx::query("VACUUM").execute(&self.pool).await.map_err(e)?;
        self.checkpoint().await?;
        Ok(())
    }
}

/// Inserts a record unless its kind, tenant and id are taken.
fn insert_new_record<'a>(
    r: &'a RecordRow,
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    record_query(
        "INSERT INTO records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (kind, tenant, id) DO NOTHING",
        r,
    )
}

/// `sql` (an insert of a record's eight columns, in table order) with a record's values bound.
fn record_query<'a>(
    sql: &'static str,
    r: &'a RecordRow,
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(sql)
        .bind(&r.kind)
        .bind(&r.tenant)
        .bind(&r.id)
        .bind(&r.client_tag)
        .bind(&r.created_at)
        .bind(&r.sealed.key_id)
        .bind(&r.sealed.nonce)
        .bind(&r.sealed.ciphertext)
}

/// Writes an audit row's signed head, in the row's transaction.
async fn put_head(tx: &mut sqlx::SqliteConnection, a: &AuditRow) -> Result<()> {
    if let Some(head) = &a.head {
        put_record_query(head).execute(&mut *tx).await.map_err(e)?;
    }
    Ok(())
}

/// What a tenant spent in a month, as the ledger holds it (zero when nothing yet).
async fn budget_spent_in(
    conn: &mut sqlx::SqliteConnection,
    tenant: &str,
    month: &str,
) -> Result<rust_decimal::Decimal> {
    let spent: Option<String> =
        sqlx::query_scalar("SELECT spent FROM budget_spent WHERE tenant = ? AND month = ?")
            .bind(tenant)
            .bind(month)
            .fetch_optional(&mut *conn)
            .await
            .map_err(e)?;
    spent.map_or(Ok(rust_decimal::Decimal::ZERO), |s| {
        super::stored_decimal(&s)
    })
}

/// Records what a tenant spent in a month.
async fn put_budget_spent(
    conn: &mut sqlx::SqliteConnection,
    tenant: &str,
    month: &str,
    spent: rust_decimal::Decimal,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO budget_spent (tenant, month, spent) VALUES (?, ?, ?) \
         ON CONFLICT (tenant, month) DO UPDATE SET spent = excluded.spent",
    )
    .bind(tenant)
    .bind(month)
    .bind(spent.to_string())
    .execute(&mut *conn)
    .await
    .map_err(e)?;
    Ok(())
}

/// Writes a record, replacing the one of the same kind, tenant and id.
fn put_record_query(
    r: &RecordRow,
) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    record_query(
        "INSERT INTO records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (kind, tenant, id) DO UPDATE SET client_tag = excluded.client_tag, created_at = excluded.created_at, \
         key_id = excluded.key_id, nonce = excluded.nonce, body = excluded.body",
        r,
    )
}

/// Refuses an audit row that does not follow the tenant's last stored entry (another process appended first, or
/// the tenant was erased meanwhile): the vault reads the chain again and appends after it, so the chain never
/// forks. Inside the write's transaction; SQLite lets one writer commit at a time.
async fn follows_chain(tx: &mut sqlx::SqliteConnection, a: &AuditRow) -> Result<()> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit WHERE tenant = ? ORDER BY seq DESC LIMIT 1")
            .bind(&a.tenant)
            .fetch_optional(&mut *tx)
            .await
            .map_err(e)?;
    super::check_follows(crate::BackendKind::Sqlite, a, last)
}

/// Appends an audit row (refused when its sequence number is taken).
fn append_audit_row<'a>(
    a: &'a AuditRow,
) -> Result<sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>> {
    let seq = i64::try_from(a.seq).map_err(|x| Error::Internal(x.to_string()))?;
    Ok(sqlx::query("INSERT INTO audit (tenant, seq, hash, prev_hash, key_id, nonce, body) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&a.tenant)
        .bind(seq)
        .bind(&a.hash)
        .bind(&a.prev_hash)
        .bind(&a.sealed.key_id)
        .bind(&a.sealed.nonce)
        .bind(&a.sealed.ciphertext))
}

/// A stored data key from its row.
fn wrapped_key(r: &sqlx::sqlite::SqliteRow) -> Result<WrappedKey> {
    Ok(WrappedKey {
        tenant: r.try_get("tenant").map_err(e)?,
        key_id: r.try_get("key_id").map_err(e)?,
        master_id: r.try_get("master_id").map_err(e)?,
        wrapped: r.try_get("wrapped").map_err(e)?,
    })
}
