//! The vault: analyses and audit entries encrypted per tenant over any [`Store`], every read and write checked
//! against the principal, every decision audited.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::{AuditRow, RecordRow, Store};
use crate::analysis::Analysis;
use crate::error::{Error, Result};
use crate::security::audit::{self, AuditEntry, AuditLog};
use crate::security::crypto::{KeyProvider, Keyring, WrappedKey};
use crate::security::{Principal, Role};
use zeroize::Zeroizing;

mod analyses;
mod audit_trail;
mod cache_records;
mod erasure;
mod keys;
mod portfolio;
mod review;

pub use review::{Review, ReviewAction, ReviewNote, ReviewStatus};

const ANALYSIS: &str = "analysis";
const AUDIT: &str = "audit";
const REVIEW: &str = "review";
/// The record holding a tenant's signed audit head (kind and id).
const AUDIT_HEAD: &str = "audit.head";

/// Analyses and reviews are encrypted with keys scoped to their client, so one client can be erased alone.
fn owner(tenant: &str, client_tag: &str) -> String {
    format!("{tenant}#{client_tag}")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Told of every erasure a vault performs, so that what was derived from the erased data elsewhere (the caches'
/// tiers in memory, in Redis, in a host's store, in other processes) goes too. A pipeline built with a vault and
/// caches registers one ([`Vault::on_erasure`]).
#[async_trait::async_trait]
pub trait ErasureListener: Send + Sync + std::fmt::Debug {
    /// One client of a tenant was erased.
    async fn client_erased(&self, tenant: &str, client: &str) -> Result<()>;
    /// A whole tenant was erased.
    async fn tenant_erased(&self, tenant: &str) -> Result<()>;
}

/// Encrypted, access-controlled, audited persistence of analyses.
#[derive(Debug)]
pub struct Vault {
    store: Arc<dyn Store>,
    keyring: Keyring,
    audit: AuditLog,
    /// Tenants whose audit chain was read back from the store.
    loaded: Mutex<HashSet<String>>,
    /// Data keys the store already holds.
    persisted: Mutex<HashSet<String>>,
    /// Clients see an analysis only once a CPA signed it off.
    require_sign_off: bool,
    /// One audit append at a time in this process: an entry is written only after the one before it is stored
    /// (or was read back), so concurrent tasks cannot break the chain.
    append: tokio::sync::Mutex<()>,
    /// Jobs' results waiting for the next group commit (see [`Vault::save_job_result`]).
    pending: Mutex<Vec<PendingResult>>,
    /// One first-key creation at a time in this process (see [`Vault::ensure_key`]).
    first_keys: tokio::sync::Mutex<()>,
    /// Told of each erasure (held weakly: a pipeline dropped stops listening).
    listeners: Mutex<Vec<std::sync::Weak<dyn ErasureListener>>>,
}

/// A job's result (sealed) and what its audit entry says, until a commit stores both.
#[derive(Debug)]
struct PendingResult {
    record: RecordRow,
    principal: Principal,
    details: serde_json::Value,
    done: tokio::sync::oneshot::Sender<Result<bool>>,
}

/// Results committed in one transaction at most.
const COMMIT_BATCH: usize = 500;

impl Vault {
    /// Opens a vault over a store, loading the wrapped data keys it holds.
    pub async fn open(store: Arc<dyn Store>, keys: Arc<dyn KeyProvider>) -> Result<Self> {
        let keyring = Keyring::new(keys);
        let stored = store.keys().await?;
        let persisted = stored.iter().map(|k| k.key_id.clone()).collect();
        keyring.load(stored);
        Ok(Vault {
            store,
            keyring,
            audit: AuditLog::tail_only(),
            loaded: Mutex::new(HashSet::new()),
            persisted: Mutex::new(persisted),
            require_sign_off: false,
            append: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            first_keys: tokio::sync::Mutex::new(()),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// The budgets' ledger in this vault's store, shared by every process using the store.
    pub fn budget_ledger(&self) -> Arc<dyn crate::security::limits::BudgetLedger> {
        Arc::new(super::StoreLedger(Arc::clone(&self.store)))
    }

    /// Registers a listener told of every erasure this vault performs (held weakly).
    pub fn on_erasure(&self, listener: std::sync::Weak<dyn ErasureListener>) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(listener);
    }

    /// The live listeners.
    fn erasure_listeners(&self) -> Vec<Arc<dyn ErasureListener>> {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .collect()
    }

    /// Clients see an analysis only once a CPA of the firm signed it off.
    /// Refuses (and audits the refusal) unless `principal` is an Admin of its firm; `what` completes "only an
    /// Admin may …".
    async fn require_admin(&self, principal: &Principal, what: &str) -> Result<()> {
        if principal.role == Role::Admin {
            return Ok(());
        }
        let e = Error::AccessDenied {
            reason: format!("only an Admin may {what}"),
        };
        Err(self.deny(principal, &principal.tenant, None, e).await)
    }

    /// Stores the job results waiting for a group commit, then closes the store's connections; later calls fail
    /// with a backend error. Idempotent.
    pub async fn close(&self) {
        self.commit_pending().await;
        self.store.close().await;
    }

    /// Whether a Client sees an analysis only after a CPA signed it off.
    pub fn require_sign_off(mut self, on: bool) -> Self {
        self.require_sign_off = on;
        self
    }
}
