//! Analyses: sealed under the client's key, saved (a job's result once, in group commits), read and listed as the principal may.

use super::*;

impl Vault {
    /// An analysis as the store keeps it (its JSON encrypted with its client's key, the client kept only as a
    /// keyed tag), once the principal may store it; a denial is audited.
    pub(super) async fn sealed_analysis(
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

    /// Stores an analysis (its JSON encrypted; the client kept only as a keyed tag) and its audit entry, in one
    /// transaction. Working papers are not rewritten: an id already stored is refused, except that a CPA of the
    /// firm may replace a draft nobody signed off (audited as `analysis_replaced`).
    pub async fn save_analysis(&self, principal: &Principal, analysis: &Analysis) -> Result<()> {
        let row = self.sealed_analysis(principal, analysis).await?;
        let tenant = &analysis.tenant;
        let details = audit::analysis_details(analysis, &row.client_tag);
        let store = &self.store;
        let _one_at_a_time = self.append.lock().await;
        let stored = self
            .append_audited_locked(
                tenant,
                Some(principal),
                "analysis",
                Some(&analysis.id),
                details.clone(),
                |audit| {
                    let row = &row;
                    async move { store.insert_record_audited(row, &audit).await }
                },
            )
            .await?;
        if stored.is_some() {
            return Ok(());
        }
        // The id is taken.
        let refusal = if principal.role != Role::Cpa || principal.tenant != *tenant {
            Some("an analysis with this id is stored; only a CPA of the firm may replace a draft")
        } else if self.signed_off(tenant, &analysis.id).await? {
            Some("this analysis is signed off: working papers cannot be rewritten")
        } else {
            None
        };
        if let Some(reason) = refusal {
            drop(_one_at_a_time);
            let e = Error::AccessDenied {
                reason: reason.into(),
            };
            return Err(self.deny(principal, tenant, Some(&analysis.id), e).await);
        }
        self.append_audited_locked(
            tenant,
            Some(principal),
            "analysis_replaced",
            Some(&analysis.id),
            details,
            |audit| {
                let row = &row;
                async move {
                    store
                        .replace_record_audited(row, &audit)
                        .await
                        .map(|()| true)
                }
            },
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
        let details = audit::analysis_details(analysis, &record.client_tag);
        let (done, result) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PendingResult {
                record,
                principal: principal.clone(),
                details,
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
    pub(super) async fn commit_pending(&self) {
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
    pub(super) async fn commit_results(&self, tenant: &str, items: Vec<PendingResult>) {
        let prepared: Result<Vec<(AuditEntry, AuditRow)>> = async {
            self.load_audit(tenant).await?;
            let mut prev = self.audit.last(tenant);
            let mut out = Vec::with_capacity(items.len());
            self.ensure_key(tenant).await?;
            for item in &items {
                let actor = self.recorded_actor(tenant, &item.principal)?;
                let mut entry = AuditLog::entry_after(
                    prev.take(),
                    tenant,
                    Some(&actor),
                    "analysis",
                    Some(&item.record.id),
                    item.details.clone(),
                )?;
                entry.mac = self.keyring.mac(tenant, &entry.mac_message())?;
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
                let mut done = Vec::with_capacity(items.len());
                for ((entry, _), item) in prepared.into_iter().zip(items) {
                    done.push((item.done, self.audit.push(entry).map(|()| true)));
                }
                for (to, result) in done {
                    let _ = to.send(result);
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
    pub(super) async fn save_result_locked(&self, item: &PendingResult) -> Result<bool> {
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
    /// with [`Vault::require_sign_off`] a Client sees only signed-off analyses. A signed-off analysis is checked
    /// against the hash recorded at sign-off: one replaced in the store since (an older version put back, say)
    /// is refused as an integrity error.
    pub async fn load_analysis(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
    ) -> Result<Analysis> {
        // The analysis and its review in one read; the review only once the principal may read the analysis.
        let [row, review_row] = if principal.tenant == tenant {
            self.store
                .get_record_pair([ANALYSIS, REVIEW], tenant, id)
                .await?
        } else {
            [None, None]
        };
        let (analysis, plain) = self.read_analysis_row(principal, tenant, id, row).await?;
        let review = match review_row {
            Some(r) => Some(self.open_review(r).await?.0),
            None => None,
        };
        let signed = review
            .as_ref()
            .filter(|r| r.status == ReviewStatus::SignedOff);
        let expected = signed.and_then(|r| r.content_sha256.as_deref());
        // Hashed only when there is a signed-off hash to compare with.
        let content_hash = expected.map(|_| content_sha256(&plain));
        if let Some(expected) = expected
            && Some(expected) != content_hash.as_deref()
        {
            return Err(Error::Integrity {
                reason: format!(
                    "analysis `{id}` is not the one signed off (its content changed since the sign-off)"
                ),
            });
        }
        if self.require_sign_off && principal.role == Role::Client && signed.is_none() {
            let e = Error::AccessDenied {
                reason: "this analysis awaits a CPA's sign-off".into(),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        Ok(analysis)
    }

    pub(super) async fn load_analysis_unchecked_sign_off(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
    ) -> Result<Analysis> {
        let row = if principal.tenant == tenant {
            self.store.get_record(ANALYSIS, tenant, id).await?
        } else {
            None
        };
        Ok(self.read_analysis_row(principal, tenant, id, row).await?.0)
    }

    /// The analysis in `row` (read by the caller) if the principal may read it (sign-off aside), with its
    /// plaintext.
    pub(super) async fn read_analysis_row(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
        row: Option<RecordRow>,
    ) -> Result<(Analysis, Zeroizing<Vec<u8>>)> {
        if principal.tenant != tenant {
            let e = Error::AccessDenied {
                reason: format!(
                    "principal of tenant `{}` may not read tenant `{tenant}`",
                    principal.tenant
                ),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        let row = row.ok_or_else(|| {
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
        let analysis = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!("analysis `{id}` is not readable: {e}"),
        })?;
        Ok((analysis, plain))
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
}

/// The SHA-256 (hex) of an analysis's stored content, recorded at sign-off.
pub(super) fn content_sha256(plain: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(plain)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
