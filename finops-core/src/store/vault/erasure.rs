//! Erasure of a client or a whole firm (Admins only): its keys destroyed, its records deleted, and every cache
//! tier told (through the [`ErasureListener`]s) to drop what it derived from them.

use super::*;

impl Vault {
    /// Erases one client company of the firm (Admins only): its data keys are destroyed (crypto-shredding) and
    /// its analyses, reviews and statements deleted; the rest of the firm is untouched. Returns how many records went.
    pub async fn erase_client(&self, principal: &Principal, client: &str) -> Result<usize> {
        self.require_admin(principal, "erase a client's data")
            .await?;
        let tenant = &principal.tenant;
        let tag = self.client_tag(tenant, client).await?;
        let scope = owner(tenant, &tag);
        self.keyring.shred(&scope);
        self.store.delete_keys(&scope).await?;
        let mut erased = 0;
        for kind in [ANALYSIS, REVIEW, portfolio::STATEMENTS]
            .into_iter()
            .chain(crate::store::CACHE_KINDS.iter().copied())
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
        let mut purge_failed = None;
        for listener in self.erasure_listeners() {
            if let Err(e) = listener.client_erased(tenant, client).await {
                purge_failed.get_or_insert(e);
            }
        }
        self.record(
            tenant,
            Some(principal),
            "client_erasure",
            None,
            serde_json::json!({
                "client_tag": tag,
                "records": erased,
                "caches_purged": purge_failed.is_none(),
            }),
        )
        .await?;
        // The store's part is done (and audited); a cache that could not be purged is an error the Admin retries.
        match purge_failed {
            Some(e) => Err(e),
            None => Ok(erased),
        }
    }

    /// Erases a tenant (Admins only): its data keys are destroyed (crypto-shredding) and its records deleted.
    pub async fn erase_tenant(&self, principal: &Principal) -> Result<()> {
        self.require_admin(principal, "erase the firm's data")
            .await?;
        let tenant = &principal.tenant;
        // No append of this process between the erasure and the new chain's first entry (other processes are held
        // off by the store: their next entry does not follow the new chain, so they read it and append after).
        let _one_at_a_time = self.append.lock().await;
        self.forget_chain(tenant);
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
        let mut purge_failed = None;
        for listener in self.erasure_listeners() {
            if let Err(e) = listener.tenant_erased(tenant).await {
                purge_failed.get_or_insert(e);
            }
        }
        let store = &self.store;
        self.append_audited_locked(
            tenant,
            Some(principal),
            "erasure",
            None,
            serde_json::json!({
                "erased_entries": entries,
                "erased_chain_last_hash": last_hash,
                "caches_purged": purge_failed.is_none(),
            }),
            |row| async move { store.append_audit(&row).await.map(|()| true) },
        )
        .await?;
        match purge_failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
