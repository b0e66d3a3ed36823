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

const ANALYSIS: &str = "analysis";
const AUDIT: &str = "audit";
const REVIEW: &str = "review";

/// Where an analysis stands in the firm's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Draft,
    Reviewed,
    SignedOff,
}

/// A CPA's note on an analysis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewNote {
    pub by: Principal,
    /// RFC 3339.
    pub at: String,
    pub text: String,
}

/// The review of one analysis: its status, the CPAs' notes, and who signed it off when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Review {
    pub status: ReviewStatus,
    pub notes: Vec<ReviewNote>,
    pub reviewed_by: Option<Principal>,
    pub signed_off_by: Option<Principal>,
    pub signed_off_at: Option<String>,
}

/// What a CPA does to an analysis under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAction {
    Annotate(String),
    MarkReviewed,
    SignOff,
}

impl ReviewAction {
    /// The action a binding names: `annotate` (with a note), `reviewed`, or `sign_off`.
    pub fn parse(action: &str, note: Option<String>) -> Result<Self> {
        match (action, note) {
            ("annotate", Some(text)) => Ok(ReviewAction::Annotate(text)),
            ("annotate", None) => Err(Error::invalid_argument("note", "annotate needs a note")),
            ("reviewed", None) => Ok(ReviewAction::MarkReviewed),
            ("sign_off", None) => Ok(ReviewAction::SignOff),
            ("reviewed" | "sign_off", Some(_)) => Err(Error::invalid_argument(
                "note",
                "only annotate takes a note",
            )),
            (other, _) => Err(Error::invalid_argument(
                "action",
                format!("`{other}` is not annotate, reviewed or sign_off"),
            )),
        }
    }
}

/// Analyses and reviews are encrypted with keys scoped to their client, so one client can be erased alone.
fn owner(tenant: &str, client_tag: &str) -> String {
    format!("{tenant}#{client_tag}")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
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
            audit: AuditLog::new(),
            loaded: Mutex::new(HashSet::new()),
            persisted: Mutex::new(persisted),
            require_sign_off: false,
            append: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            first_keys: tokio::sync::Mutex::new(()),
        })
    }

    /// Clients see an analysis only once a CPA of the firm signed it off.
    pub fn require_sign_off(mut self, on: bool) -> Self {
        self.require_sign_off = on;
        self
    }

    async fn put_review(
        &self,
        tenant: &str,
        id: &str,
        client_tag: &str,
        review: &Review,
    ) -> Result<()> {
        let body = serde_json::to_vec(review).map_err(|e| Error::Internal(e.to_string()))?;
        let scope = self.client_scope(tenant, client_tag).await?;
        let sealed = self.keyring.encrypt(&scope, REVIEW, id, &body)?;
        self.store
            .put_record(&RecordRow {
                kind: REVIEW.into(),
                tenant: tenant.to_string(),
                id: id.to_string(),
                client_tag: client_tag.to_string(),
                created_at: now(),
                sealed,
            })
            .await
    }

    async fn get_review(&self, tenant: &str, id: &str) -> Result<Option<(Review, String)>> {
        let Some(row) = self.store.get_record(REVIEW, tenant, id).await? else {
            return Ok(None);
        };
        let plain = self.open_row(&row).await?;
        let review = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: e.to_string(),
        })?;
        Ok(Some((review, row.client_tag)))
    }

    /// The review of an analysis (anyone who may read the analysis may read its review).
    pub async fn review(&self, principal: &Principal, tenant: &str, id: &str) -> Result<Review> {
        self.load_analysis_unchecked_sign_off(principal, tenant, id)
            .await?;
        Ok(self
            .get_review(tenant, id)
            .await?
            .map(|(r, _)| r)
            .unwrap_or(Review {
                status: ReviewStatus::Draft,
                notes: Vec::new(),
                reviewed_by: None,
                signed_off_by: None,
                signed_off_at: None,
            }))
    }

    /// A CPA of the firm annotates, marks reviewed, or signs off an analysis (audited). Anyone else is denied.
    pub async fn act_on_review(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
        action: ReviewAction,
    ) -> Result<Review> {
        if principal.role != Role::Cpa || principal.tenant != tenant {
            let e = Error::AccessDenied {
                reason: "only a CPA of the firm may review or sign off an analysis".into(),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        let row = self
            .store
            .get_record(ANALYSIS, tenant, id)
            .await?
            .ok_or_else(|| {
                Error::invalid_argument("id", format!("no analysis `{id}` in tenant `{tenant}`"))
            })?;
        let mut review = self.review(principal, tenant, id).await?;
        let what = match &action {
            ReviewAction::Annotate(text) => {
                if text.trim().is_empty() {
                    return Err(Error::invalid_argument("note", "must not be empty"));
                }
                review.notes.push(ReviewNote {
                    by: principal.clone(),
                    at: now(),
                    text: text.clone(),
                });
                "annotated"
            }
            ReviewAction::MarkReviewed => {
                if review.status == ReviewStatus::Draft {
                    review.status = ReviewStatus::Reviewed;
                }
                review.reviewed_by = Some(principal.clone());
                "reviewed"
            }
            ReviewAction::SignOff => {
                review.status = ReviewStatus::SignedOff;
                review.signed_off_by = Some(principal.clone());
                review.signed_off_at = Some(now());
                "signed_off"
            }
        };
        self.put_review(tenant, id, &row.client_tag, &review)
            .await?;
        self.record(
            tenant,
            Some(principal),
            "review",
            Some(id),
            serde_json::json!({"action": what, "status": review.status}),
        )
        .await?;
        Ok(review)
    }

    async fn persist_keys(&self) -> Result<()> {
        // Only keys the store does not hold yet (a rotation, or a tenant's first key).
        let new: Vec<_> = {
            let persisted = self.persisted.lock().unwrap_or_else(|p| p.into_inner());
            self.keyring
                .wrapped_keys()
                .into_iter()
                .filter(|k| !persisted.contains(&k.key_id))
                .collect()
        };
        for k in new {
            self.store.put_key(&k).await?;
            self.persisted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(k.key_id);
        }
        Ok(())
    }

    async fn load_audit(&self, tenant: &str) -> Result<()> {
        if self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(tenant)
        {
            return Ok(());
        }
        let mut entries = Vec::new();
        for row in self.store.audit(tenant).await? {
            let seq = row.seq.to_string();
            let plain = match self.keyring.decrypt(tenant, AUDIT, &seq, &row.sealed) {
                // Written by another process sharing the store, with a key this vault has not loaded yet.
                Err(Error::KeyUnavailable { .. }) => {
                    self.refresh_keys().await?;
                    self.keyring.decrypt(tenant, AUDIT, &seq, &row.sealed)?
                }
                other => other?,
            };
            let entry: AuditEntry =
                serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
                    reason: format!("audit entry {} is not readable: {e}", row.seq),
                })?;
            if entry.hash != row.hash || entry.prev_hash != row.prev_hash || entry.seq != row.seq {
                return Err(Error::Integrity {
                    reason: format!("audit entry {} does not match its row", row.seq),
                });
            }
            entries.push(entry);
        }
        self.audit.adopt(tenant, entries)?;
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.to_string());
        Ok(())
    }

    /// Appends an audit entry (encrypted) to the tenant's chain.
    pub async fn record(
        &self,
        tenant: &str,
        actor: Option<&Principal>,
        action: &str,
        subject: Option<&str>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        let store = &self.store;
        let _one_at_a_time = self.append.lock().await;
        let entry = self
            .append_audited_locked(tenant, actor, action, subject, details, |row| async move {
                store.append_audit(&row).await.map(|()| true)
            })
            .await?;
        entry.ok_or_else(|| Error::Internal("the audit append wrote nothing".into()))
    }

    /// Appends an audit entry with `write`, which stores its row (perhaps with something else, in one
    /// transaction) and returns false when it chose to write nothing; the caller holds the append lock. Several
    /// processes may share the store (workers): when another one appended first, the store refuses this
    /// sequence number; the chain is read again and the entry appended after theirs.
    async fn append_audited_locked<W, F>(
        &self,
        tenant: &str,
        actor: Option<&Principal>,
        action: &str,
        subject: Option<&str>,
        details: serde_json::Value,
        write: W,
    ) -> Result<Option<AuditEntry>>
    where
        W: Fn(AuditRow) -> F,
        F: std::future::Future<Output = Result<bool>>,
    {
        const ATTEMPTS: usize = 50;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.load_audit(tenant).await?;
            self.ensure_key(tenant).await?;
            // The chain in memory takes the entry only once the store has it: an append cancelled midway (a
            // dropped future) must not leave this process's chain ahead of the store's.
            let entry = self
                .audit
                .next(tenant, actor, action, subject, details.clone())?;
            let row = self.audit_row(&entry)?;
            self.persist_keys().await?;
            match write(row).await {
                Ok(true) => {
                    self.audit.push(entry.clone())?;
                    return Ok(Some(entry));
                }
                Ok(false) => return Ok(None),
                Err(e) => {
                    self.forget_chain(tenant);
                    if attempt >= ATTEMPTS {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// An audit entry as the store keeps it (encrypted with the tenant's key).
    fn audit_row(&self, entry: &AuditEntry) -> Result<AuditRow> {
        let body = serde_json::to_vec(entry).map_err(|e| Error::Internal(e.to_string()))?;
        let sealed = self
            .keyring
            .encrypt(&entry.tenant, AUDIT, &entry.seq.to_string(), &body)?;
        Ok(AuditRow {
            tenant: entry.tenant.clone(),
            seq: entry.seq,
            hash: entry.hash.clone(),
            prev_hash: entry.prev_hash.clone(),
            sealed,
        })
    }

    /// Drops this process's copy of a tenant's chain: the next append reads the store's again.
    fn forget_chain(&self, tenant: &str) {
        self.audit.reset(tenant);
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant);
    }

    async fn deny(
        &self,
        principal: &Principal,
        tenant: &str,
        subject: Option<&str>,
        e: Error,
    ) -> Error {
        // The denial is audited in the trail of the firm whose data was asked for (an attempt from another firm
        // is that firm's business too); if auditing fails, the denial still stands.
        let reason = e.to_string();
        let _ = self
            .record(
                tenant,
                Some(principal),
                "access_denied",
                subject,
                serde_json::json!({"principal_tenant": principal.tenant, "reason": reason}),
            )
            .await;
        e
    }

    /// An analysis as the store keeps it (its JSON encrypted with its client's key, the client kept only as a
    /// keyed tag), once the principal may store it; a denial is audited.
    async fn sealed_analysis(
        &self,
        principal: &Principal,
        analysis: &Analysis,
    ) -> Result<RecordRow> {
        if let Err(e) = principal.authorize(&analysis.tenant, &analysis.client) {
            return Err(self
                .deny(principal, &analysis.tenant, Some(&analysis.id), e)
                .await);
        }
        let tenant = &analysis.tenant;
        let body = serde_json::to_vec(analysis).map_err(|e| Error::Internal(e.to_string()))?;
        let client_tag = self.client_tag(tenant, &analysis.client).await?;
        let scope = self.client_scope(tenant, &client_tag).await?;
        let sealed = self
            .keyring
            .encrypt(&scope, ANALYSIS, &analysis.id, &body)?;
        Ok(RecordRow {
            kind: ANALYSIS.into(),
            tenant: tenant.clone(),
            id: analysis.id.clone(),
            client_tag,
            created_at: now(),
            sealed,
        })
    }

    /// Stores an analysis (its JSON encrypted; the client kept only as a keyed tag) and audits it.
    pub async fn save_analysis(&self, principal: &Principal, analysis: &Analysis) -> Result<()> {
        let row = self.sealed_analysis(principal, analysis).await?;
        self.persist_keys().await?;
        self.store.put_record(&row).await?;
        self.record(
            &analysis.tenant,
            Some(principal),
            "analysis",
            Some(&analysis.id),
            audit::analysis_details(analysis),
        )
        .await?;
        Ok(())
    }

    /// Stores a queued job's analysis (its id is the job's) with its `analysis` audit entry, unless the job's
    /// result is already stored: a job delivered twice is stored once and charged once. A discarded duplicate
    /// run is audited as `analysis_discarded`, so its spend is visible without counting as a second analysis.
    /// True when stored.
    ///
    /// Results are group-committed: those that arrive while a commit runs are stored together in the next one
    /// (one transaction for the records and their chained audit entries), so a busy worker pays one durable
    /// commit per batch instead of one per job. The commit runs in a task of its own: dropping this future (a
    /// cancelled job) cannot cut it midway.
    pub async fn save_job_result(
        self: &Arc<Self>,
        principal: &Principal,
        analysis: &Analysis,
    ) -> Result<bool> {
        let record = self.sealed_analysis(principal, analysis).await?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PendingResult {
                record,
                principal: principal.clone(),
                details: audit::analysis_details(analysis),
                done,
            });
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let vault = Arc::clone(self);
                runtime.spawn(async move { vault.commit_pending().await });
            }
            // Polled outside a tokio runtime: commit here.
            Err(_) => self.commit_pending().await,
        }
        result
            .await
            .map_err(|_| Error::Internal("the commit of a job's result stopped".into()))?
    }

    /// Commits every pending result (none when another commit took them first).
    async fn commit_pending(&self) {
        let _one_at_a_time = self.append.lock().await;
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        // Per tenant (one chain each), in order of arrival.
        let mut by_tenant: Vec<(String, Vec<PendingResult>)> = Vec::new();
        for p in pending {
            match by_tenant.iter_mut().find(|(t, _)| *t == p.record.tenant) {
                Some((_, items)) => items.push(p),
                None => by_tenant.push((p.record.tenant.clone(), vec![p])),
            }
        }
        for (tenant, mut items) in by_tenant {
            while !items.is_empty() {
                let rest = items.split_off(items.len().min(COMMIT_BATCH));
                self.commit_results(&tenant, items).await;
                items = rest;
            }
        }
    }

    /// One transaction for a tenant's results and their audit entries; when it is refused (a result already
    /// stored by another delivery, or an audit sequence number another process took), one result at a time.
    async fn commit_results(&self, tenant: &str, items: Vec<PendingResult>) {
        let prepared: Result<Vec<(AuditEntry, AuditRow)>> = async {
            self.load_audit(tenant).await?;
            let mut prev = self.audit.last(tenant);
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                let entry = AuditLog::entry_after(
                    prev.take(),
                    tenant,
                    Some(&item.principal),
                    "analysis",
                    Some(&item.record.id),
                    item.details.clone(),
                )?;
                prev = Some((entry.seq, entry.hash.clone()));
                let row = self.audit_row(&entry)?;
                out.push((entry, row));
            }
            self.persist_keys().await?;
            Ok(out)
        }
        .await;
        if let Ok(prepared) = prepared {
            let rows: Vec<(RecordRow, AuditRow)> = items
                .iter()
                .zip(&prepared)
                .map(|(item, (_, row))| (item.record.clone(), row.clone()))
                .collect();
            if self.store.insert_records_audited(&rows).await.is_ok() {
                for ((entry, _), item) in prepared.into_iter().zip(items) {
                    let pushed = self.audit.push(entry);
                    let _ = item.done.send(pushed.map(|()| true));
                }
                return;
            }
            self.forget_chain(tenant);
        }
        for item in items {
            let saved = self.save_result_locked(&item).await;
            let _ = item.done.send(saved);
        }
    }

    /// One result and its charge in one transaction, or `analysis_discarded` when the result is stored already.
    async fn save_result_locked(&self, item: &PendingResult) -> Result<bool> {
        let (store, record) = (&self.store, &item.record);
        let (tenant, id) = (&record.tenant, &record.id);
        let stored = self
            .append_audited_locked(
                tenant,
                Some(&item.principal),
                "analysis",
                Some(id),
                item.details.clone(),
                |row| async move { store.insert_record_audited(record, &row).await },
            )
            .await?;
        if stored.is_some() {
            return Ok(true);
        }
        self.append_audited_locked(
            tenant,
            Some(&item.principal),
            "analysis_discarded",
            Some(id),
            item.details.clone(),
            |row| async move { store.append_audit(&row).await.map(|()| true) },
        )
        .await?;
        Ok(false)
    }

    /// Whether an analysis with this id is stored for the tenant (a job's result, before running it again).
    pub async fn has_analysis(&self, tenant: &str, id: &str) -> Result<bool> {
        Ok(self.store.get_record(ANALYSIS, tenant, id).await?.is_some())
    }

    /// Reads an analysis the principal may see; a Client asking for another company's is denied and audited, and
    /// with [`Vault::require_sign_off`] a Client sees only signed-off analyses.
    pub async fn load_analysis(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
    ) -> Result<Analysis> {
        let analysis = self
            .load_analysis_unchecked_sign_off(principal, tenant, id)
            .await?;
        if self.require_sign_off
            && principal.role == Role::Client
            && !self.signed_off(tenant, id).await?
        {
            let e = Error::AccessDenied {
                reason: "this analysis awaits a CPA's sign-off".into(),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        Ok(analysis)
    }

    async fn signed_off(&self, tenant: &str, id: &str) -> Result<bool> {
        Ok(self
            .get_review(tenant, id)
            .await?
            .is_some_and(|(r, _)| r.status == ReviewStatus::SignedOff))
    }

    async fn load_analysis_unchecked_sign_off(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
    ) -> Result<Analysis> {
        if principal.tenant != tenant {
            let e = Error::AccessDenied {
                reason: format!(
                    "principal of tenant `{}` may not read tenant `{tenant}`",
                    principal.tenant
                ),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        let row = self
            .store
            .get_record(ANALYSIS, tenant, id)
            .await?
            .ok_or_else(|| {
                Error::invalid_argument("id", format!("no analysis `{id}` in tenant `{tenant}`"))
            })?;
        if principal.role == Role::Client {
            let own = match principal.client.as_deref() {
                Some(c) => Some(self.client_tag(tenant, c).await?),
                None => None,
            };
            if own.as_deref() != Some(row.client_tag.as_str()) {
                let e = Error::AccessDenied {
                    reason: "a Client principal may only see its own company".into(),
                };
                return Err(self.deny(principal, tenant, Some(id), e).await);
            }
        }
        let plain = self.open_row(&row).await?;
        serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!("analysis `{id}` is not readable: {e}"),
        })
    }

    /// The analyses the principal may see in its tenant (a Client: its own company's), oldest first.
    pub async fn list_analyses(&self, principal: &Principal) -> Result<Vec<Analysis>> {
        let tenant = &principal.tenant;
        let tag = match (principal.role, &principal.client) {
            (Role::Client, Some(c)) => Some(self.client_tag(tenant, c).await?),
            _ => None,
        };
        let mut out = Vec::new();
        for row in self
            .store
            .list_records(ANALYSIS, tenant, tag.as_deref())
            .await?
        {
            if self.require_sign_off
                && principal.role == Role::Client
                && !self.signed_off(tenant, &row.id).await?
            {
                continue;
            }
            let plain = self.open_row(&row).await?;
            out.push(
                serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
                    reason: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }

    /// The tenant's audit trail as verified JSON Lines (Admins only).
    pub async fn export_audit(&self, principal: &Principal) -> Result<String> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may export the audit trail".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        self.load_audit(&principal.tenant).await?;
        let chain = self.audit.entries(&principal.tenant);
        audit::verify(&chain)?;
        self.audit.export_jsonl(&principal.tenant)
    }

    /// Key rotation (Admins only): new writes use a new data key; older records still read. Returns the key id.
    pub async fn rotate_key(&self, principal: &Principal) -> Result<String> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may rotate the firm's keys".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        let key_id = self.keyring.rotate(&principal.tenant)?;
        for scope in self.keyring.owners(&format!("{}#", principal.tenant)) {
            self.keyring.rotate(&scope)?;
        }
        self.persist_keys().await?;
        self.record(
            &principal.tenant,
            Some(principal),
            "key_rotated",
            Some(&key_id),
            serde_json::json!({}),
        )
        .await?;
        Ok(key_id)
    }

    /// Re-encrypts every analysis of the tenant with its current data key (Admins only; after a rotation).
    /// Returns how many records moved.
    pub async fn reencrypt(&self, principal: &Principal) -> Result<usize> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may re-encrypt the firm's data".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        let tenant = &principal.tenant;
        // Records another process wrote may use keys this vault has not loaded yet.
        self.refresh_keys().await?;
        let mut moved = 0;
        for kind in [ANALYSIS, REVIEW] {
            for mut row in self.store.list_records(kind, tenant, None).await? {
                let scope = owner(tenant, &row.client_tag);
                let sealed = self.keyring.reencrypt(&scope, kind, &row.id, &row.sealed)?;
                if sealed.key_id != row.sealed.key_id {
                    moved += 1;
                }
                row.sealed = sealed;
                self.store.put_record(&row).await?;
            }
        }
        self.record(
            tenant,
            Some(principal),
            "reencrypted",
            None,
            serde_json::json!({"records": moved}),
        )
        .await?;
        Ok(moved)
    }

    /// Loads data keys other processes wrote to the store since this vault opened (a shared PostgreSQL store).
    pub(crate) async fn refresh_keys(&self) -> Result<()> {
        let stored = self.store.keys().await?;
        self.load_new_keys(stored);
        Ok(())
    }

    /// [`Vault::refresh_keys`] for one key owner only (reads its keys, not the whole table).
    async fn refresh_owner(&self, key_owner: &str) -> Result<()> {
        let stored = self.store.keys_of(key_owner).await?;
        self.load_new_keys(stored);
        Ok(())
    }

    /// Takes the stored keys this vault does not hold yet.
    fn load_new_keys(&self, stored: Vec<WrappedKey>) {
        // Checked and marked under one lock, so two concurrent refreshes do not load a key twice.
        let fresh: Vec<WrappedKey> = {
            let mut persisted = self.persisted.lock().unwrap_or_else(|p| p.into_inner());
            stored
                .into_iter()
                .filter(|k| persisted.insert(k.key_id.clone()))
                .collect()
        };
        if !fresh.is_empty() {
            self.keyring.load(fresh);
        }
    }

    /// Stores one cache entry, encrypted with the client's scope key (so erasing the client shreds it too).
    /// Cache entries are the pipeline's, not a principal's: they are only ever served within the same tenant.
    pub(crate) async fn put_cache_record(
        &self,
        kind: &str,
        tenant: &str,
        client: &str,
        id: &str,
        body: &[u8],
    ) -> Result<()> {
        // Another process may have created the tenant's keys: `client_tag` uses theirs rather than start a second set.
        let client_tag = self.client_tag(tenant, client).await?;
        let scope = self.client_scope(tenant, &client_tag).await?;
        let sealed = self.keyring.encrypt(&scope, kind, id, body)?;
        self.persist_keys().await?;
        self.store
            .put_record(&RecordRow {
                kind: kind.into(),
                tenant: tenant.to_string(),
                id: id.to_string(),
                client_tag,
                created_at: now(),
                sealed,
            })
            .await
    }

    fn open_row_now(&self, row: &RecordRow) -> Result<Zeroizing<Vec<u8>>> {
        self.keyring.decrypt(
            &owner(&row.tenant, &row.client_tag),
            &row.kind,
            &row.id,
            &row.sealed,
        )
    }

    /// Decrypts a record with its client's key, loading the keys other processes sharing the store wrote since
    /// this vault opened when the key is not known here yet.
    async fn open_row(&self, row: &RecordRow) -> Result<Zeroizing<Vec<u8>>> {
        match self.open_row_now(row) {
            Err(Error::KeyUnavailable { .. }) => {
                self.refresh_keys().await?;
                self.open_row_now(row)
            }
            other => other,
        }
    }

    /// Encrypts a cache value kept elsewhere (Redis): the client's keyed tag and the sealed body.
    pub(crate) async fn seal_cache_value(
        &self,
        kind: &str,
        tenant: &str,
        client: &str,
        id: &str,
        body: &[u8],
    ) -> Result<(String, crate::security::crypto::Sealed)> {
        let client_tag = self.client_tag(tenant, client).await?;
        let scope = self.client_scope(tenant, &client_tag).await?;
        let sealed = self.keyring.encrypt(&scope, kind, id, body)?;
        self.persist_keys().await?;
        Ok((client_tag, sealed))
    }

    /// Decrypts a value sealed by [`Vault::seal_cache_value`]; `None` when its client or tenant was erased.
    pub(crate) async fn open_cache_value(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: &str,
        id: &str,
        sealed: &crate::security::crypto::Sealed,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let row = RecordRow {
            kind: kind.into(),
            tenant: tenant.into(),
            id: id.into(),
            client_tag: client_tag.into(),
            created_at: String::new(),
            sealed: sealed.clone(),
        };
        match self.open_row(&row).await {
            Ok(plain) => Ok(Some(plain)),
            Err(Error::KeyUnavailable { .. } | Error::Integrity { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One cache entry, decrypted; `None` when absent or unreadable (its client was erased).
    pub(crate) async fn get_cache_record(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(RecordRow, Zeroizing<Vec<u8>>)>> {
        let Some(row) = self.store.get_record(kind, tenant, id).await? else {
            return Ok(None);
        };
        match self.open_row(&row).await {
            Ok(plain) => Ok(Some((row, plain))),
            Err(Error::KeyUnavailable { .. } | Error::Integrity { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A tenant's cache entries of a kind, decrypted, oldest first; unreadable ones (erased clients) are skipped.
    pub(crate) async fn cache_records(
        &self,
        kind: &str,
        tenant: &str,
    ) -> Result<Vec<(RecordRow, Zeroizing<Vec<u8>>)>> {
        let mut out = Vec::new();
        for row in self.store.list_records(kind, tenant, None).await? {
            match self.open_row(&row).await {
                Ok(plain) => out.push((row, plain)),
                Err(Error::KeyUnavailable { .. } | Error::Integrity { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The keyed tag cache entries know a client by.
    pub(crate) async fn client_tag(&self, tenant: &str, client: &str) -> Result<String> {
        self.ensure_key(tenant).await?;
        self.keyring.tag(tenant, client)
    }

    /// The key owner of a client's records (`tenant#tag`), with its data key in place.
    async fn client_scope(&self, tenant: &str, client_tag: &str) -> Result<String> {
        let scope = owner(tenant, client_tag);
        self.ensure_key(&scope).await?;
        Ok(scope)
    }

    /// Makes sure a key owner (a tenant, or a client's scope) has a data key, agreed with every process sharing the
    /// store: the store's keys are read first; a new first key is kept only if the store takes it as the owner's
    /// first (`Store::put_first_key`), else the one another process stored first is used. Without this, two
    /// processes meeting a new firm at once would each start their own keys, and one client's records would be
    /// split under two tags (listed apart, and an erasure would miss some).
    pub(crate) async fn ensure_key(&self, key_owner: &str) -> Result<()> {
        if self.keyring.has_key(key_owner) {
            return Ok(());
        }
        let _one_at_a_time = self.first_keys.lock().await;
        if self.keyring.has_key(key_owner) {
            return Ok(());
        }
        self.refresh_owner(key_owner).await?;
        if self.keyring.has_key(key_owner) {
            return Ok(());
        }
        let key = self.keyring.new_key(key_owner)?;
        if self.store.put_first_key(&key).await? {
            self.persisted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.key_id.clone());
            self.keyring.load(vec![key]);
            return Ok(());
        }
        self.refresh_owner(key_owner).await?;
        if self.keyring.has_key(key_owner) {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "the store refused a first key for `{key_owner}` and holds none"
            )))
        }
    }

    /// Deletes cache entries of a tenant (only one client's with its `client_tag`); returns how many.
    pub(crate) async fn delete_cache_records(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: Option<&str>,
    ) -> Result<usize> {
        let mut n = 0;
        for row in self.store.list_records(kind, tenant, client_tag).await? {
            if self.store.delete_record(kind, tenant, &row.id).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The tenants with records of a kind.
    pub(crate) async fn tenants_with(&self, kind: &str) -> Result<Vec<String>> {
        self.store.tenants_with(kind).await
    }

    /// Deletes one cache entry.
    pub(crate) async fn delete_cache_record(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<bool> {
        self.store.delete_record(kind, tenant, id).await
    }

    /// Erases one client company of the firm (Admins only): its data keys are destroyed (crypto-shredding) and
    /// its analyses and reviews deleted; the rest of the firm is untouched. Returns how many records went.
    pub async fn erase_client(&self, principal: &Principal, client: &str) -> Result<usize> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may erase a client's data".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        let tenant = &principal.tenant;
        let tag = self.client_tag(tenant, client).await?;
        let scope = owner(tenant, &tag);
        self.keyring.shred(&scope);
        self.store.delete_keys(&scope).await?;
        let mut erased = 0;
        for kind in [ANALYSIS, REVIEW]
            .into_iter()
            .chain(super::CACHE_KINDS.iter().copied())
        {
            for row in self.store.list_records(kind, tenant, Some(&tag)).await? {
                if self.store.delete_record(kind, tenant, &row.id).await? {
                    erased += 1;
                }
            }
        }
        let scoped = format!("{scope}:");
        self.persisted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k| !k.starts_with(&scoped));
        self.record(
            tenant,
            Some(principal),
            "client_erasure",
            None,
            serde_json::json!({"client_tag": tag, "records": erased}),
        )
        .await?;
        Ok(erased)
    }

    /// Erases a tenant (Admins only): its data keys are destroyed (crypto-shredding) and its records deleted.
    pub async fn erase_tenant(&self, principal: &Principal) -> Result<()> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may erase the firm's data".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        let tenant = &principal.tenant;
        self.load_audit(tenant).await?;
        self.keyring.shred(tenant);
        for scope in self.keyring.owners(&format!("{tenant}#")) {
            self.keyring.shred(&scope);
        }
        self.store.erase_tenant(tenant).await?;
        let (own, scoped) = (format!("{tenant}:"), format!("{tenant}#"));
        self.persisted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k| !k.starts_with(&own) && !k.starts_with(&scoped));
        // The old trail was encrypted with the destroyed keys: a new chain starts with the erasure, and keeps the
        // old chain's length and last hash as evidence of what was erased.
        let (entries, last_hash) = self.audit.reset(tenant);
        self.record(
            tenant,
            Some(principal),
            "erasure",
            None,
            serde_json::json!({"erased_entries": entries, "erased_chain_last_hash": last_hash}),
        )
        .await?;
        Ok(())
    }
}
