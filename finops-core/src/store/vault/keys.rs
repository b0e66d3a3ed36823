//! Data keys: per tenant and per client, wrapped by the master key, created once across processes, rotated, and used to open records.

use super::*;

impl Vault {
    pub(super) async fn persist_keys(&self) -> Result<()> {
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

    /// Key rotation (Admins only): new writes use a new data key; older records still read. Returns the key id.
    pub async fn rotate_key(&self, principal: &Principal) -> Result<String> {
        self.require_admin(principal, "rotate the firm's keys")
            .await?;
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
        self.require_admin(principal, "re-encrypt the firm's data")
            .await?;
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
    pub(super) async fn refresh_owner(&self, key_owner: &str) -> Result<()> {
        let stored = self.store.keys_of(key_owner).await?;
        self.load_new_keys(stored);
        Ok(())
    }

    /// Takes the store's keys of an owner when its first key is not the one held here: another process erased the
    /// owner (destroying the keys this vault still holds) and the store has new ones.
    pub(super) async fn resync_owner(&self, key_owner: &str) -> Result<()> {
        let stored = self.store.keys_of(key_owner).await?;
        let held = self.keyring.first_key_id(key_owner);
        if held.is_none() || stored.first().map(|k| &k.key_id) == held.as_ref() {
            self.load_new_keys(stored);
            return Ok(());
        }
        self.keyring.shred(key_owner);
        {
            let prefix = format!("{key_owner}:");
            let mut persisted = self.persisted.lock().unwrap_or_else(|p| p.into_inner());
            persisted.retain(|k| !k.starts_with(&prefix));
        }
        self.load_new_keys(stored);
        Ok(())
    }

    /// Takes the stored keys this vault does not hold yet.
    pub(super) fn load_new_keys(&self, stored: Vec<WrappedKey>) {
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

    pub(super) fn open_row_now(&self, row: &RecordRow) -> Result<Zeroizing<Vec<u8>>> {
        self.keyring.decrypt(
            &owner(&row.tenant, &row.client_tag),
            &row.kind,
            &row.id,
            &row.sealed,
        )
    }

    /// Decrypts a record with its client's key, loading the keys other processes sharing the store wrote since
    /// this vault opened when the key is not known here yet.
    pub(super) async fn open_row(&self, row: &RecordRow) -> Result<Zeroizing<Vec<u8>>> {
        match self.open_row_now(row) {
            Err(Error::KeyUnavailable { .. }) => {
                self.refresh_keys().await?;
                self.open_row_now(row)
            }
            other => other,
        }
    }

    /// The keyed tag cache entries know a client by.
    pub(crate) async fn client_tag(&self, tenant: &str, client: &str) -> Result<String> {
        self.ensure_key(tenant).await?;
        self.keyring.tag(tenant, client)
    }

    /// The key owner of a client's records (`tenant#tag`), with its data key in place.
    pub(super) async fn client_scope(&self, tenant: &str, client_tag: &str) -> Result<String> {
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
}
