//! The vault: analyses and audit entries encrypted per tenant over any [`Store`], every read and write checked
//! against the principal, every decision audited.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::{AuditRow, RecordRow, Store};
use crate::error::{Error, Result};
use crate::pipeline::Analysis;
use crate::security::audit::{self, AuditEntry, AuditLog};
use crate::security::crypto::{KeyProvider, Keyring};
use crate::security::{Principal, Role};

const ANALYSIS: &str = "analysis";
const AUDIT: &str = "audit";

/// Encrypted, access-controlled, audited persistence of analyses.
#[derive(Debug)]
pub struct Vault {
    store: Arc<dyn Store>,
    keyring: Keyring,
    audit: AuditLog,
    /// Tenants whose audit chain was read back from the store.
    loaded: Mutex<HashSet<String>>,
}

impl Vault {
    /// Opens a vault over a store, loading the wrapped data keys it holds.
    pub async fn open(store: Arc<dyn Store>, keys: Arc<dyn KeyProvider>) -> Result<Self> {
        let keyring = Keyring::new(keys);
        keyring.load(store.keys().await?);
        Ok(Vault {
            store,
            keyring,
            audit: AuditLog::new(),
            loaded: Mutex::new(HashSet::new()),
        })
    }

    async fn persist_keys(&self) -> Result<()> {
        // Few keys per tenant: writing them all again is simpler than tracking which are new, and idempotent.
        for k in self.keyring.wrapped_keys() {
            self.store.put_key(&k).await?;
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
            let plain = self
                .keyring
                .decrypt(tenant, AUDIT, &row.seq.to_string(), &row.sealed)?;
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
        self.load_audit(tenant).await?;
        let entry = self.audit.append(tenant, actor, action, subject, details)?;
        let body = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
        let sealed = self
            .keyring
            .encrypt(tenant, AUDIT, &entry.seq.to_string(), &body)?;
        self.persist_keys().await?;
        self.store
            .append_audit(&AuditRow {
                tenant: tenant.to_string(),
                seq: entry.seq,
                hash: entry.hash.clone(),
                prev_hash: entry.prev_hash.clone(),
                sealed,
            })
            .await?;
        Ok(entry)
    }

    async fn deny(
        &self,
        principal: &Principal,
        tenant: &str,
        subject: Option<&str>,
        e: Error,
    ) -> Error {
        // The denial is audited in the principal's own tenant; if that fails, the denial still stands.
        let reason = e.to_string();
        let _ = self
            .record(
                &principal.tenant,
                Some(principal),
                "access_denied",
                subject,
                serde_json::json!({"tenant": tenant, "reason": reason}),
            )
            .await;
        e
    }

    /// Stores an analysis (its JSON encrypted; the client kept only as a keyed tag) and audits it.
    pub async fn save_analysis(&self, principal: &Principal, analysis: &Analysis) -> Result<()> {
        if let Err(e) = principal.authorize(&analysis.tenant, &analysis.client) {
            return Err(self
                .deny(principal, &analysis.tenant, Some(&analysis.id), e)
                .await);
        }
        let tenant = &analysis.tenant;
        let body = serde_json::to_vec(analysis).map_err(|e| Error::Internal(e.to_string()))?;
        let sealed = self
            .keyring
            .encrypt(tenant, ANALYSIS, &analysis.id, &body)?;
        let client_tag = self.keyring.tag(tenant, &analysis.client)?;
        self.persist_keys().await?;
        self.store
            .put_record(&RecordRow {
                kind: ANALYSIS.into(),
                tenant: tenant.clone(),
                id: analysis.id.clone(),
                client_tag,
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                sealed,
            })
            .await?;
        self.record(
            tenant,
            Some(principal),
            "analysis",
            Some(&analysis.id),
            audit::analysis_details(analysis),
        )
        .await?;
        Ok(())
    }

    /// Reads an analysis the principal may see; a Client asking for another company's is denied and audited.
    pub async fn load_analysis(
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
            let own = principal
                .client
                .as_deref()
                .map(|c| self.keyring.tag(tenant, c))
                .transpose()?;
            if own.as_deref() != Some(row.client_tag.as_str()) {
                let e = Error::AccessDenied {
                    reason: "a Client principal may only see its own company".into(),
                };
                return Err(self.deny(principal, tenant, Some(id), e).await);
            }
        }
        let plain = self.keyring.decrypt(tenant, ANALYSIS, id, &row.sealed)?;
        serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!("analysis `{id}` is not readable: {e}"),
        })
    }

    /// The analyses the principal may see in its tenant (a Client: its own company's), oldest first.
    pub async fn list_analyses(&self, principal: &Principal) -> Result<Vec<Analysis>> {
        let tenant = &principal.tenant;
        let tag = match (principal.role, &principal.client) {
            (Role::Client, Some(c)) => Some(self.keyring.tag(tenant, c)?),
            _ => None,
        };
        let mut out = Vec::new();
        for row in self
            .store
            .list_records(ANALYSIS, tenant, tag.as_deref())
            .await?
        {
            let plain = self
                .keyring
                .decrypt(tenant, ANALYSIS, &row.id, &row.sealed)?;
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

    /// Erases a tenant (Admins only): its data keys are destroyed (crypto-shredding) and its records deleted.
    pub async fn erase_tenant(&self, principal: &Principal) -> Result<()> {
        if principal.role != Role::Admin {
            let e = Error::AccessDenied {
                reason: "only an Admin may erase the firm's data".into(),
            };
            return Err(self.deny(principal, &principal.tenant, None, e).await);
        }
        self.keyring.shred(&principal.tenant);
        self.store.erase_tenant(&principal.tenant).await
    }
}
