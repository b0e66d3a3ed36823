//! The audit chain: appended in order, one writer at a time per process, read back per tenant, exported verified.

use super::*;

impl Vault {
    pub(super) async fn load_audit(&self, tenant: &str) -> Result<()> {
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
    pub(super) async fn append_audited_locked<W, F>(
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
    pub(super) fn audit_row(&self, entry: &AuditEntry) -> Result<AuditRow> {
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
    pub(super) fn forget_chain(&self, tenant: &str) {
        self.audit.reset(tenant);
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant);
    }

    pub(super) async fn deny(
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

    /// The tenant's audit trail as verified JSON Lines (Admins only).
    pub async fn export_audit(&self, principal: &Principal) -> Result<String> {
        self.require_admin(principal, "export the audit trail")
            .await?;
        self.load_audit(&principal.tenant).await?;
        let chain = self.audit.entries(&principal.tenant);
        audit::verify(&chain)?;
        self.audit.export_jsonl(&principal.tenant)
    }
}
