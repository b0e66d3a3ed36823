//! The PostgreSQL store (sqlx), for hosts that run several processes against one database.

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{AuditRow, RecordRow, Store};
use crate::error::{Error, Result};
use crate::security::crypto::{Sealed, WrappedKey};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS finops_records (kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, client_tag TEXT NOT NULL, \
     created_at TEXT NOT NULL, key_id TEXT NOT NULL, nonce BYTEA NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (kind, tenant, id))",
    "CREATE INDEX IF NOT EXISTS finops_records_client ON finops_records (kind, tenant, client_tag)",
    "CREATE TABLE IF NOT EXISTS finops_audit (tenant TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, \
     key_id TEXT NOT NULL, nonce BYTEA NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (tenant, seq))",
    "CREATE TABLE IF NOT EXISTS finops_keys (ord BIGSERIAL, tenant TEXT NOT NULL, key_id TEXT NOT NULL, master_id TEXT NOT NULL, \
     wrapped BYTEA NOT NULL, PRIMARY KEY (tenant, key_id))",
    "CREATE TABLE IF NOT EXISTS finops_budget_spent (tenant TEXT NOT NULL, month TEXT NOT NULL, spent TEXT NOT NULL, \
     PRIMARY KEY (tenant, month))",
    "CREATE TABLE IF NOT EXISTS finops_budget_reservations (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, month TEXT NOT NULL, \
     amount TEXT NOT NULL, expires_at BIGINT NOT NULL)",
];

/// A statement that stores a column of ciphertext out of line without compression (once): ciphertext does not
/// compress, and PostgreSQL would try on every value over 2 kB.
pub(crate) fn uncompressed(
    table: &'static str,
    column: &'static str,
) -> sqlx::AssertSqlSafe<String> {
    // Only the crate's own table and column names (static strings) are formatted in.
    sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN IF (SELECT attstorage FROM pg_attribute WHERE attrelid = '{table}'::regclass \
         AND attname = '{column}') <> 'e' THEN ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL; \
         END IF; END $$"
    ))
}

/// PostgreSQL through sqlx.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn e(err: sqlx::Error) -> Error {
    Error::from_sqlx(crate::BackendKind::Postgres, "postgres store", &err)
}

fn sealed(row: &sqlx::postgres::PgRow) -> Result<Sealed> {
    Ok(Sealed {
        key_id: row.try_get("key_id").map_err(e)?,
        nonce: row.try_get("nonce").map_err(e)?,
        ciphertext: row.try_get("body").map_err(e)?,
    })
}

fn record(row: &sqlx::postgres::PgRow) -> Result<RecordRow> {
    Ok(RecordRow {
        kind: row.try_get("kind").map_err(e)?,
        tenant: row.try_get("tenant").map_err(e)?,
        id: row.try_get("id").map_err(e)?,
        client_tag: row.try_get("client_tag").map_err(e)?,
        created_at: row.try_get("created_at").map_err(e)?,
        sealed: sealed(row)?,
    })
}

/// How long one SQL statement may run (lock waits included) before PostgreSQL cancels it: a stuck statement fails
/// its call instead of holding a connection, an analysis or a worker's slot forever.
pub(crate) const STATEMENT_TIMEOUT: &str = "30s";

/// The connection options of `url`, with the statement timeout every finops connection sets.
///
/// TLS follows libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`, with
/// `sslrootcert=/path/ca.pem`): a mode that requires TLS fails rather than talk plaintext. One default is stricter
/// than libpq's: with no `sslmode` (in the URL or `PGSSLMODE`), a server that is not on loopback or a Unix socket
/// is connected to with `require`, so client data never crosses a network in clear because a URL left the mode
/// out; `sslmode=prefer` or `disable` says so explicitly.
pub(crate) fn connect_options(url: &str, field: &str) -> Result<sqlx::postgres::PgConnectOptions> {
    use sqlx::postgres::PgSslMode;
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|err| Error::from_sqlx_connect(crate::BackendKind::Postgres, field, &err))?;
    let mode_given = url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .any(|(k, _)| k == "sslmode" || k == "ssl-mode")
        })
        .unwrap_or(false)
        || std::env::var_os("PGSSLMODE").is_some();
    // A root certificate the host named must be readable: a missing file is the host's mistake, said as such
    // (sqlx would report an I/O failure of the database, as if retrying could help).
    if let Ok(parsed) = url::Url::parse(url)
        && let Some((_, path)) = parsed.query_pairs().find(|(k, _)| k == "sslrootcert")
        && let Err(err) = std::fs::metadata(path.as_ref())
    {
        return Err(Error::invalid_argument(
            field,
            format!("cannot read sslrootcert `{path}`: {err}"),
        ));
    }
    let options = if !mode_given && !is_local_host(options.get_host()) {
        options.ssl_mode(PgSslMode::Require)
    } else {
        options
    };
    Ok(options.options([("statement_timeout", STATEMENT_TIMEOUT)]))
}

/// Loopback, `localhost` or a Unix socket directory: where plaintext never leaves the machine.
fn is_local_host(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `LISTEN` connection with the same options (TLS included) as the pools: one connection, reopened by sqlx
/// when it drops.
pub(crate) async fn listener(
    options: sqlx::postgres::PgConnectOptions,
) -> std::result::Result<sqlx::postgres::PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    Ok(listener)
}

impl PostgresStore {
    /// The statement timeout its connections run with (PostgreSQL's `SHOW statement_timeout`).
    pub async fn statement_timeout(&self) -> Result<String> {
        sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(&self.pool)
            .await
            .map_err(e)
    }

    /// Connects to `url` (`postgres://user:pass@host/db`) and creates the tables if needed.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(connect_options(url, "postgres_url")?)
            .await
            .map_err(|err| {
                Error::from_sqlx_connect(crate::BackendKind::Postgres, "postgres_url", &err)
            })?;
        // Processes starting together must not race on `CREATE TABLE IF NOT EXISTS`.
        let mut tx = pool.begin().await.map_err(e)?;
        sqlx::query("SELECT pg_advisory_xact_lock(7319026)")
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&mut *tx).await.map_err(e)?;
        }
        for (table, column) in [("finops_records", "body"), ("finops_audit", "body")] {
            sqlx::query(uncompressed(table, column))
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        Ok(PostgresStore { pool })
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
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
        let mut records = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO finops_records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) ",
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
        let mut audit = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO finops_audit (tenant, seq, hash, prev_hash, key_id, nonce, body) ",
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
        let row =
            sqlx::query("SELECT * FROM finops_records WHERE kind = $1 AND tenant = $2 AND id = $3")
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
        let rows = sqlx::query(
            "SELECT * FROM finops_records WHERE kind IN ($1, $2) AND tenant = $3 AND id = $4",
        )
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
        let done =
            sqlx::query("DELETE FROM finops_records WHERE kind = $1 AND tenant = $2 AND id = $3")
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
            "SELECT * FROM finops_records WHERE kind = $1 AND tenant = $2 AND ($3::TEXT IS NULL OR client_tag = $3) ORDER BY created_at, id",
        )
        .bind(kind)
        .bind(tenant)
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
        let rows = sqlx::query("SELECT * FROM finops_audit WHERE tenant = $1 ORDER BY seq")
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
        sqlx::query(
            "INSERT INTO finops_keys (tenant, key_id, master_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, key_id) DO NOTHING",
        )
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
        // Under READ COMMITTED two transactions could both see no key: a lock per owner orders them.
        let mut tx = self.pool.begin().await.map_err(e)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7319028))")
            .bind(&k.tenant)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        let done = sqlx::query(
            "INSERT INTO finops_keys (tenant, key_id, master_id, wrapped) SELECT $1, $2, $3, $4 \
             WHERE NOT EXISTS (SELECT 1 FROM finops_keys WHERE tenant = $1)",
        )
        .bind(&k.tenant)
        .bind(&k.key_id)
        .bind(&k.master_id)
        .bind(&k.wrapped)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        Ok(done.rows_affected() == 1)
    }

    async fn keys(&self) -> Result<Vec<WrappedKey>> {
        let rows = sqlx::query("SELECT * FROM finops_keys ORDER BY ord")
            .fetch_all(&self.pool)
            .await
            .map_err(e)?;
        rows.iter().map(wrapped_key).collect()
    }

    async fn keys_of(&self, owner: &str) -> Result<Vec<WrappedKey>> {
        let rows = sqlx::query("SELECT * FROM finops_keys WHERE tenant = $1 ORDER BY ord")
            .bind(owner)
            .fetch_all(&self.pool)
            .await
            .map_err(e)?;
        rows.iter().map(wrapped_key).collect()
    }

    async fn delete_keys(&self, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM finops_keys WHERE tenant = $1")
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(e)?;
        Ok(())
    }

    async fn tenants_with(&self, kind: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT tenant FROM finops_records WHERE kind = $1 ORDER BY tenant",
        )
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
        lock_budget(&mut tx, tenant, month).await?;
        let expired: Vec<String> = sqlx::query_scalar(
            "DELETE FROM finops_budget_reservations WHERE tenant = $1 AND month = $2 AND expires_at < $3 RETURNING amount",
        )
        .bind(tenant)
        .bind(month)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(e)?;
        let spent = budget_spent_in(&mut tx, tenant, month).await?;
        let held: Vec<String> = sqlx::query_scalar(
            "SELECT amount FROM finops_budget_reservations WHERE tenant = $1 AND month = $2",
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
                    "INSERT INTO finops_budget_reservations (id, tenant, month, amount, expires_at) VALUES ($1, $2, $3, $4, $5)",
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
        lock_budget(&mut tx, tenant, month).await?;
        let removed = sqlx::query("DELETE FROM finops_budget_reservations WHERE id = $1")
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
        // The same lock as audit appends: none interleaves with the erasure of the chain.
        lock_chain(&mut tx, tenant).await?;
        for statement in [
            "DELETE FROM finops_audit WHERE tenant = $1",
            "DELETE FROM finops_keys WHERE tenant = $1 OR left(tenant, length($1) + 1) = $1 || '#'",
            "DELETE FROM finops_records WHERE tenant = $1",
        ] {
            sqlx::query(statement)
                .bind(tenant)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        Ok(())
    }
}

/// Writes an audit row's signed head, in the row's transaction.
async fn put_head(tx: &mut sqlx::PgConnection, a: &AuditRow) -> Result<()> {
    if let Some(head) = &a.head {
        put_record_query(head).execute(&mut *tx).await.map_err(e)?;
    }
    Ok(())
}

/// Writes a record, replacing the one of the same kind, tenant and id.
fn put_record_query(
    r: &RecordRow,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    record_query(
        "INSERT INTO finops_records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (kind, tenant, id) DO UPDATE SET client_tag = EXCLUDED.client_tag, created_at = EXCLUDED.created_at, \
         key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, body = EXCLUDED.body",
        r,
    )
}

/// One budget writer per tenant and month at a time, across processes, until the transaction ends.
async fn lock_budget(tx: &mut sqlx::PgConnection, tenant: &str, month: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7319030))")
        .bind(tenant)
        .bind(month)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
    Ok(())
}

async fn budget_spent_in(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    month: &str,
) -> Result<rust_decimal::Decimal> {
    let spent: Option<String> = sqlx::query_scalar(
        "SELECT spent FROM finops_budget_spent WHERE tenant = $1 AND month = $2",
    )
    .bind(tenant)
    .bind(month)
    .fetch_optional(&mut *conn)
    .await
    .map_err(e)?;
    spent.map_or(Ok(rust_decimal::Decimal::ZERO), |s| {
        super::stored_decimal(&s)
    })
}

async fn put_budget_spent(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    month: &str,
    spent: rust_decimal::Decimal,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO finops_budget_spent (tenant, month, spent) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant, month) DO UPDATE SET spent = EXCLUDED.spent",
    )
    .bind(tenant)
    .bind(month)
    .bind(spent.to_string())
    .execute(&mut *conn)
    .await
    .map_err(e)?;
    Ok(())
}

/// One audit writer (or erasure) per tenant at a time, across processes, until the transaction ends.
async fn lock_chain(tx: &mut sqlx::PgConnection, tenant: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7319029))")
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
    Ok(())
}

/// Refuses an audit row that does not follow the tenant's last stored entry (another process appended first, or
/// the tenant was erased meanwhile): the vault reads the chain again and appends after it, so the chain never
/// forks. Inside the write's transaction, under the tenant's chain lock.
async fn follows_chain(tx: &mut sqlx::PgConnection, a: &AuditRow) -> Result<()> {
    lock_chain(tx, &a.tenant).await?;
    let last: Option<(i64, String)> = sqlx::query_as(
        "SELECT seq, hash FROM finops_audit WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(&a.tenant)
    .fetch_optional(&mut *tx)
    .await
    .map_err(e)?;
    super::check_follows(crate::BackendKind::Postgres, a, last)
}

/// Inserts a record unless its kind, tenant and id are taken.
fn insert_new_record<'a>(
    r: &'a RecordRow,
) -> sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments> {
    record_query(
        "INSERT INTO finops_records (kind, tenant, id, client_tag, created_at, key_id, nonce, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind, tenant, id) DO NOTHING",
        r,
    )
}

/// `sql` (an insert of a record's eight columns, in table order) with a record's values bound.
fn record_query<'a>(
    sql: &'static str,
    r: &'a RecordRow,
) -> sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments> {
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

/// Appends an audit row (refused when its sequence number is taken).
fn append_audit_row<'a>(
    a: &'a AuditRow,
) -> Result<sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments>> {
    let seq = i64::try_from(a.seq).map_err(|x| Error::Internal(x.to_string()))?;
    Ok(sqlx::query("INSERT INTO finops_audit (tenant, seq, hash, prev_hash, key_id, nonce, body) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&a.tenant)
        .bind(seq)
        .bind(&a.hash)
        .bind(&a.prev_hash)
        .bind(&a.sealed.key_id)
        .bind(&a.sealed.nonce)
        .bind(&a.sealed.ciphertext))
}

/// A stored data key from its row.
fn wrapped_key(r: &sqlx::postgres::PgRow) -> Result<WrappedKey> {
    Ok(WrappedKey {
        tenant: r.try_get("tenant").map_err(e)?,
        key_id: r.try_get("key_id").map_err(e)?,
        master_id: r.try_get("master_id").map_err(e)?,
        wrapped: r.try_get("wrapped").map_err(e)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sqlx::postgres::PgSslMode;

    fn mode(url: &str) -> PgSslMode {
        connect_options(url, "postgres_url").unwrap().get_ssl_mode()
    }

    #[test]
    fn a_remote_server_without_a_mode_gets_tls_required_and_an_explicit_mode_is_kept() {
        // PGSSLMODE in the test's environment would be the host's explicit choice: none of these cases apply.
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        assert!(matches!(
            mode("postgres://u:p@db.example.com/f"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://u:p@10.0.0.7:5432/f"),
            PgSslMode::Require
        ));
        for local in [
            "postgres://u:p@127.0.0.1/f",
            "postgres://u:p@localhost/f",
            "postgres://u:p@[::1]:5432/f",
            "postgres:///f?host=/var/run/postgresql",
        ] {
            assert!(matches!(mode(local), PgSslMode::Prefer), "{local}");
        }
        assert!(matches!(
            mode("postgres://u:p@db.example.com/f?sslmode=disable"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://u:p@db.example.com/f?sslmode=verify-full"),
            PgSslMode::VerifyFull
        ));
    }

    #[test]
    fn an_unreadable_root_certificate_is_named() {
        let e = connect_options(
            "postgres://u:p@db.example.com/f?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "vault",
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("vault"));
    }
}
