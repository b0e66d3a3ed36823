//! The vault (stored analyses, review and sign-off, the audit trail, keys, erasure), the JWT verifier and the
//! audit check for Kotlin and Swift. Every rule is the core vault's.

use std::sync::Arc;

use finops_core::pipeline;
use finops_core::security::Principal;
use finops_core::security::audit::{self, AuditEntry};
use finops_core::security::jwt::JwtVerifier as CoreJwtVerifier;
use finops_core::store::{self, ReviewAction};

use crate::{AnalysisResult, FinopsError, PrincipalFfi, ReviewActionFfi, result, word};

/// A CPA's note on an analysis.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReviewNoteFfi {
    pub by: PrincipalFfi,
    /// RFC 3339.
    pub at: String,
    pub text: String,
}

/// Where an analysis stands in the firm's review.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReviewFfi {
    /// `draft`, `reviewed` or `signed_off`.
    pub status: String,
    pub notes: Vec<ReviewNoteFfi>,
    pub reviewed_by: Option<PrincipalFfi>,
    pub signed_off_by: Option<PrincipalFfi>,
    pub signed_off_at: Option<String>,
}

impl From<store::Review> for ReviewFfi {
    fn from(r: store::Review) -> Self {
        ReviewFfi {
            status: word(&r.status),
            notes: r
                .notes
                .into_iter()
                .map(|n| ReviewNoteFfi {
                    by: n.by.into(),
                    at: n.at,
                    text: n.text,
                })
                .collect(),
            reviewed_by: r.reviewed_by.map(Into::into),
            signed_off_by: r.signed_off_by.map(Into::into),
            signed_off_at: r.signed_off_at,
        }
    }
}

/// One entry of a firm's hash-chained audit trail (no client data).
#[derive(Debug, Clone, uniffi::Record)]
pub struct AuditEntryFfi {
    pub seq: u64,
    pub at: String,
    pub tenant: String,
    pub actor: Option<PrincipalFfi>,
    /// e.g. `analysis`, `access_denied`, `review`, `key_rotated`, `client_erasure`.
    pub action: String,
    pub subject: Option<String>,
    /// The entry's details as JSON.
    pub details_json: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryFfi {
    fn from(e: AuditEntry) -> Self {
        AuditEntryFfi {
            seq: e.seq,
            at: e.at,
            tenant: e.tenant,
            actor: e.actor.map(Into::into),
            action: e.action,
            subject: e.subject,
            details_json: e.details.to_string(),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// Analyses stored encrypted (one key per client company), every read and write checked against the principal
/// and audited.
#[derive(uniffi::Object)]
pub struct Vault {
    pub(crate) inner: Arc<store::Vault>,
}

/// Opens a vault: a directory (embedded SQLite and its `master.key`; on a phone, the app's private files
/// directory) or a `postgres://` URL (`FINOPS_MASTER_KEY`). `require_sign_off`: a Client sees an analysis only
/// once a CPA of the firm signed it off.
#[uniffi::export(async_runtime = "tokio")]
pub async fn open_vault(
    location: String,
    require_sign_off: bool,
) -> Result<Arc<Vault>, FinopsError> {
    crate::runtime::guard_async(async move {
        let inner = store::open(&location).await?;
        Ok(Arc::new(Vault {
            inner: Arc::new(inner.require_sign_off(require_sign_off)),
        }))
    })
    .await
}

fn u64_of(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[uniffi::export(async_runtime = "tokio")]
impl Vault {
    /// Stores an analysis (as `analyze` returned it) for the principal, and audits it.
    pub async fn save(
        &self,
        principal: PrincipalFfi,
        analysis: AnalysisResult,
    ) -> Result<(), FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            let a: pipeline::Analysis =
                serde_json::from_str(&analysis.json).map_err(|e| FinopsError::InvalidArgument {
                    field: "analysis.json".into(),
                    reason: format!("not an Analysis as finops returns it: {e}"),
                })?;
            Ok(self.inner.save_analysis(&who, &a).await?)
        })
        .await
    }

    /// An analysis of the principal's firm it may see (a Client: its own company's, signed off if required).
    pub async fn get(
        &self,
        principal: PrincipalFfi,
        id: String,
    ) -> Result<AnalysisResult, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            let a = self.inner.load_analysis(&who, &who.tenant, &id).await?;
            result(&a)
        })
        .await
    }

    /// The analyses the principal may see, oldest first.
    pub async fn list(&self, principal: PrincipalFfi) -> Result<Vec<AnalysisResult>, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            self.inner
                .list_analyses(&who)
                .await?
                .iter()
                .map(result)
                .collect()
        })
        .await
    }

    /// An analysis's review.
    pub async fn review(
        &self,
        principal: PrincipalFfi,
        id: String,
    ) -> Result<ReviewFfi, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(self.inner.review(&who, &who.tenant, &id).await?.into())
        })
        .await
    }

    /// A CPA of the firm acts on a review: `Annotate` (with a note), `Reviewed` or `SignOff`; the review after.
    pub async fn act(
        &self,
        principal: PrincipalFfi,
        id: String,
        action: ReviewActionFfi,
        note: Option<String>,
    ) -> Result<ReviewFfi, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            let action = ReviewAction::parse(action.id(), note)?;
            Ok(self
                .inner
                .act_on_review(&who, &who.tenant, &id, action)
                .await?
                .into())
        })
        .await
    }

    /// The firm's audit trail as verified JSON Lines (Admins only).
    pub async fn export_audit(&self, principal: PrincipalFfi) -> Result<String, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(self.inner.export_audit(&who).await?)
        })
        .await
    }

    /// Checks an export of this firm's trail with the firm's key (hashes, MACs, signed head); its entries. An
    /// export edited (even with hashes recomputed), cut short or from another firm is an `Integrity` error.
    pub async fn verify_audit(
        &self,
        principal: PrincipalFfi,
        jsonl: String,
    ) -> Result<Vec<AuditEntryFfi>, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(self
                .inner
                .verify_audit_export(&who, &jsonl)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    /// New writes use a new data key; older records still read (Admins only). The key id.
    pub async fn rotate_key(&self, principal: PrincipalFfi) -> Result<String, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(self.inner.rotate_key(&who).await?)
        })
        .await
    }

    /// Re-encrypts the firm's records under its current keys (Admins only); how many moved.
    pub async fn reencrypt(&self, principal: PrincipalFfi) -> Result<u64, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(u64_of(self.inner.reencrypt(&who).await?))
        })
        .await
    }

    /// Destroys one client company's keys and records (Admins only, audited); how many records went.
    pub async fn erase_client(
        &self,
        principal: PrincipalFfi,
        client: String,
    ) -> Result<u64, FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(u64_of(self.inner.erase_client(&who, &client).await?))
        })
        .await
    }

    /// Destroys every key of the firm: nothing it stored can be read again (Admins only).
    pub async fn erase_tenant(&self, principal: PrincipalFfi) -> Result<(), FinopsError> {
        crate::runtime::guard_async(async move {
            let who: Principal = principal.try_into()?;
            Ok(self.inner.erase_tenant(&who).await?)
        })
        .await
    }
}

/// Checks an exported audit trail's structure (every hash, the chain's order, the head's count); its entries. An
/// edited, deleted or reordered entry is an `Integrity` error. `Vault.verifyAudit` also checks the MACs with the
/// firm's key (whoever can rewrite a file can recompute hashes).
#[uniffi::export]
pub fn verify_audit(jsonl: String) -> Result<Vec<AuditEntryFfi>, FinopsError> {
    crate::runtime::guard(|| {
        Ok(audit::verify_jsonl(&jsonl)?
            .0
            .into_iter()
            .map(Into::into)
            .collect())
    })
}

/// Tokens of the host's identity provider into principals.
#[derive(uniffi::Object)]
pub struct JwtVerifier {
    inner: CoreJwtVerifier,
}

#[uniffi::export]
impl JwtVerifier {
    /// `HS256` with a secret, `RS256` / `ES256` with a PEM public key (as UTF-8 bytes).
    #[uniffi::constructor]
    pub fn new(
        algorithm: String,
        key: Vec<u8>,
        issuer: String,
        audience: String,
    ) -> Result<Arc<Self>, FinopsError> {
        crate::runtime::guard(|| {
            Ok(Arc::new(JwtVerifier {
                inner: CoreJwtVerifier::with_algorithm(&algorithm, &key, &issuer, &audience)?,
            }))
        })
    }

    /// The principal a valid token names; an `InvalidToken` error with its `kind` otherwise.
    pub fn verify(&self, token: String) -> Result<PrincipalFfi, FinopsError> {
        crate::runtime::guard(|| Ok(self.inner.verify(&token)?.into()))
    }
}
