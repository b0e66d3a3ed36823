//! The records the caches keep in the vault's store, sealed like analyses.

use super::*;

impl Vault {
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

    /// Encrypts a cache value kept elsewhere (Redis): the client's keyed tag and the sealed body.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
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
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
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
}
