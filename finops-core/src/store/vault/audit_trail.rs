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
        // Read concurrently with other processes' appends (and, rarely, an erasure): a check that fails is made
        // once more on a fresh read before it counts.
        let entries = match self.read_chain(tenant).await {
            Err(Error::Integrity { .. }) => self.read_chain(tenant).await?,
            other => other?,
        };
        self.audit.adopt(tenant, entries)?;
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.to_string());
        Ok(())
    }

    /// A tenant's entries from the store, each decrypted and authenticated, checked against the signed head.
    async fn read_chain(&self, tenant: &str) -> Result<Vec<AuditEntry>> {
        // The head first: entries are only ever added after it (under the store's chain check), so the entries
        // read next are at least the ones it counts.
        let head = self
            .store
            .get_record(AUDIT_HEAD, tenant, AUDIT_HEAD)
            .await?;
        let rows = self.store.audit(tenant).await?;
        if !rows.is_empty() {
            // The entries are authenticated with the tenant's first key: the store's, should another process have
            // erased the tenant since this vault read its keys.
            self.resync_owner(tenant).await?;
        }
        let mut entries = Vec::new();
        for row in rows {
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
            if !self
                .keyring
                .verify_mac(tenant, &entry.mac_message(), &entry.mac)?
            {
                return Err(Error::Integrity {
                    reason: format!(
                        "audit entry {} is not authenticated by the firm's key",
                        row.seq
                    ),
                });
            }
            entries.push(entry);
        }
        self.check_head(tenant, head, &entries)?;
        Ok(entries)
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
        self.ensure_key(tenant).await?;
        let actor = actor.map(|p| self.recorded_actor(tenant, p)).transpose()?;
        let actor = actor.as_ref();
        loop {
            attempt += 1;
            self.load_audit(tenant).await?;
            self.ensure_key(tenant).await?;
            // The chain in memory takes the entry only once the store has it: an append cancelled midway (a
            // dropped future) must not leave this process's chain ahead of the store's.
            let mut entry = self
                .audit
                .next(tenant, actor, action, subject, details.clone())?;
            entry.mac = self.keyring.mac(tenant, &entry.mac_message())?;
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

    /// The actor as an entry records it: a client id (often a slug of the company's name) becomes the firm's keyed
    /// tag of it, so the trail names no company even to someone holding an export.
    pub(super) fn recorded_actor(&self, tenant: &str, actor: &Principal) -> Result<Principal> {
        let mut recorded = actor.clone();
        if let Some(client) = &actor.client {
            recorded.client = Some(format!("tag:{}", self.keyring.tag(tenant, client)?));
        }
        Ok(recorded)
    }

    /// An audit entry as the store keeps it (encrypted with the tenant's key).
    pub(super) fn audit_row(&self, entry: &AuditEntry) -> Result<AuditRow> {
        let body = serde_json::to_vec(entry).map_err(|e| Error::Internal(e.to_string()))?;
        let tenant = &entry.tenant;
        let sealed = self
            .keyring
            .encrypt(tenant, AUDIT, &entry.seq.to_string(), &body)?;
        let head = self.head(tenant, entry.seq, &entry.hash)?;
        let head_body = serde_json::to_vec(&head).map_err(|e| Error::Internal(e.to_string()))?;
        let head = RecordRow {
            kind: AUDIT_HEAD.into(),
            tenant: tenant.clone(),
            id: AUDIT_HEAD.into(),
            client_tag: String::new(),
            created_at: now(),
            sealed: self
                .keyring
                .encrypt(tenant, AUDIT_HEAD, AUDIT_HEAD, &head_body)?,
        };
        Ok(AuditRow {
            tenant: tenant.clone(),
            seq: entry.seq,
            hash: entry.hash.clone(),
            prev_hash: entry.prev_hash.clone(),
            sealed,
            head: Some(head),
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

    /// The tenant's audit trail as verified JSON Lines ended by its signed head (Admins only).
    pub async fn export_audit(&self, principal: &Principal) -> Result<String> {
        self.require_admin(principal, "export the audit trail")
            .await?;
        let tenant = &principal.tenant;
        // Read from the store afresh (the vault keeps only each chain's last entry in memory): the entries other
        // processes appended since, each authenticated, and the stored head checked.
        let chain = match self.read_chain(tenant).await {
            Err(Error::Integrity { .. }) => self.read_chain(tenant).await?,
            other => other?,
        };
        audit::verify(&chain)?;
        let (count, last_hash) = chain
            .last()
            .map_or((0, audit::GENESIS.to_string()), |e| (e.seq, e.hash.clone()));
        let head = self.head(tenant, count, &last_hash)?;
        audit::export_jsonl(&chain, &head)
    }

    /// Verifies an exported trail of the principal's firm (Admins only): its structure (see
    /// [`audit::verify_jsonl`]) and every MAC, entries and head, with the firm's key. An export edited and
    /// re-hashed, cut short, or from another firm is refused. Returns the entries.
    pub async fn verify_audit_export(
        &self,
        principal: &Principal,
        jsonl: &str,
    ) -> Result<Vec<AuditEntry>> {
        self.require_admin(principal, "verify the audit trail")
            .await?;
        let (entries, head) = audit::verify_jsonl(jsonl)?;
        let tenant = &principal.tenant;
        if head.tenant != *tenant {
            return Err(Error::Integrity {
                reason: format!(
                    "the export is tenant `{}`'s trail, not `{tenant}`'s",
                    head.tenant
                ),
            });
        }
        self.refresh_keys().await?;
        for e in &entries {
            if !self.keyring.verify_mac(tenant, &e.mac_message(), &e.mac)? {
                return Err(Error::Integrity {
                    reason: format!(
                        "audit entry {} is not authenticated by the firm's key",
                        e.seq
                    ),
                });
            }
        }
        let message = audit::AuditHead::mac_message(tenant, head.count, &head.last_hash);
        if !self.keyring.verify_mac(tenant, &message, &head.mac)? {
            return Err(Error::Integrity {
                reason: "the export's head is not authenticated by the firm's key".into(),
            });
        }
        Ok(entries)
    }

    /// A signed head for `count` entries ending with `last_hash`.
    pub(super) fn head(
        &self,
        tenant: &str,
        count: u64,
        last_hash: &str,
    ) -> Result<audit::AuditHead> {
        let mac = self.keyring.mac(
            tenant,
            &audit::AuditHead::mac_message(tenant, count, last_hash),
        )?;
        Ok(audit::AuditHead {
            tenant: tenant.to_string(),
            count,
            last_hash: last_hash.to_string(),
            mac,
        })
    }

    /// Checks the entries read from the store against the stored head (written in the same transaction as the
    /// last entry, and read before the entries): a head counting more entries than remain, or naming another
    /// entry at its count, means entries were cut; entries without a head mean the head was deleted.
    fn check_head(
        &self,
        tenant: &str,
        head: Option<RecordRow>,
        entries: &[AuditEntry],
    ) -> Result<()> {
        let Some(row) = head else {
            if entries.is_empty() {
                return Ok(());
            }
            return Err(Error::Integrity {
                reason: format!(
                    "the audit trail of `{tenant}` has {} entries but no signed head: it was tampered with",
                    entries.len()
                ),
            });
        };
        let plain = self
            .keyring
            .decrypt(tenant, AUDIT_HEAD, AUDIT_HEAD, &row.sealed)?;
        let head: audit::AuditHead =
            serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
                reason: format!("the audit trail's head is not readable: {e}"),
            })?;
        let message = audit::AuditHead::mac_message(tenant, head.count, &head.last_hash);
        if head.tenant != tenant || !self.keyring.verify_mac(tenant, &message, &head.mac)? {
            return Err(Error::Integrity {
                reason: "the audit trail's head is not authenticated by the firm's key".into(),
            });
        }
        head.covers(entries)
    }
}
