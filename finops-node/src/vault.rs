//! `Vault` (stored analyses, review and sign-off, the audit trail, keys, erasure), `JwtVerifier` and
//! `verifyAudit`: principals and analyses cross as JSON; every rule is the core vault's.

use std::sync::Arc;

use finops_core::pipeline::Analysis;
use finops_core::security::audit;
use finops_core::security::jwt::JwtVerifier;
use finops_core::store::{self, ReviewAction, Vault};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use crate::{invalid, js_error, principal_from, to_json};

fn principal(json: &str) -> Result<finops_core::security::Principal> {
    let v: Value =
        serde_json::from_str(json).map_err(|_| invalid("principal", "must be an object"))?;
    principal_from(&v)
}

/// An opened vault.
#[napi]
pub struct NativeVault {
    pub(crate) inner: Arc<Vault>,
}

/// Opens a vault: a directory (embedded SQLite and its `master.key`) or a `postgres://` URL (`FINOPS_MASTER_KEY`).
#[napi]
pub async fn open_vault(location: String, require_sign_off: bool) -> Result<NativeVault> {
    let vault = store::open(&location).await.map_err(|e| js_error(&e))?;
    Ok(NativeVault {
        inner: Arc::new(vault.require_sign_off(require_sign_off)),
    })
}

#[napi]
impl NativeVault {
    /// Stores the job results waiting for a commit and closes the store's connections; later calls reject with a
    /// backend error.
    #[napi]
    pub async fn close(&self) {
        self.inner.close().await;
    }

    /// Stores an analysis (its JSON as `Finops.analyze` gave it) for the principal, and audits it.
    #[napi]
    pub async fn save(&self, principal_json: String, analysis_json: String) -> Result<()> {
        let who = principal(&principal_json)?;
        let analysis: Analysis = serde_json::from_str(&analysis_json).map_err(|e| {
            invalid(
                "analysis",
                format!("not an Analysis as finops returns it: {e}"),
            )
        })?;
        self.inner
            .save_analysis(&who, &analysis)
            .await
            .map_err(|e| js_error(&e))
    }

    /// An analysis of the principal's firm it may see, as JSON.
    #[napi]
    pub async fn get(&self, principal_json: String, id: String) -> Result<String> {
        let who = principal(&principal_json)?;
        let a = self
            .inner
            .load_analysis(&who, &who.tenant, &id)
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&a)
    }

    /// The analyses the principal may see, oldest first, as a JSON array.
    #[napi]
    pub async fn list(&self, principal_json: String) -> Result<String> {
        let who = principal(&principal_json)?;
        let all = self
            .inner
            .list_analyses(&who)
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&all)
    }

    /// An analysis's review, as JSON.
    #[napi]
    pub async fn review(&self, principal_json: String, id: String) -> Result<String> {
        let who = principal(&principal_json)?;
        let r = self
            .inner
            .review(&who, &who.tenant, &id)
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&r)
    }

    /// A CPA's action on a review (`annotate` with a note, `reviewed`, `sign_off`); the review after it, as JSON.
    #[napi]
    pub async fn act(
        &self,
        principal_json: String,
        id: String,
        action: String,
        note: Option<String>,
    ) -> Result<String> {
        let who = principal(&principal_json)?;
        let action = ReviewAction::parse(&action, note).map_err(|e| js_error(&e))?;
        let r = self
            .inner
            .act_on_review(&who, &who.tenant, &id, action)
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&r)
    }

    /// The firm's audit trail as verified JSON Lines (Admins only).
    #[napi]
    pub async fn export_audit(&self, principal_json: String) -> Result<String> {
        let who = principal(&principal_json)?;
        self.inner
            .export_audit(&who)
            .await
            .map_err(|e| js_error(&e))
    }

    /// Checks an export of this firm's trail with the firm's key (hashes, MACs, signed head); its entries as JSON.
    #[napi]
    pub async fn verify_audit(&self, principal_json: String, jsonl: String) -> Result<String> {
        let who = principal(&principal_json)?;
        let entries = self
            .inner
            .verify_audit_export(&who, &jsonl)
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&entries)
    }

    /// A new data key for the firm (Admins only); its id.
    #[napi]
    pub async fn rotate_key(&self, principal_json: String) -> Result<String> {
        let who = principal(&principal_json)?;
        self.inner.rotate_key(&who).await.map_err(|e| js_error(&e))
    }

    /// Re-encrypts the firm's records under its current keys (Admins only); how many moved.
    #[napi]
    pub async fn reencrypt(&self, principal_json: String) -> Result<u32> {
        let who = principal(&principal_json)?;
        let n = self.inner.reencrypt(&who).await.map_err(|e| js_error(&e))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Crypto-shreds one client company (Admins only); how many records went.
    #[napi]
    pub async fn erase_client(&self, principal_json: String, client: String) -> Result<u32> {
        let who = principal(&principal_json)?;
        let n = self
            .inner
            .erase_client(&who, &client)
            .await
            .map_err(|e| js_error(&e))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Crypto-shreds the whole firm (Admins only).
    #[napi]
    pub async fn erase_tenant(&self, principal_json: String) -> Result<()> {
        let who = principal(&principal_json)?;
        self.inner
            .erase_tenant(&who)
            .await
            .map_err(|e| js_error(&e))
    }
}

/// Checks an exported audit trail (hashes and order); its entries as a JSON array.
#[napi(catch_unwind)]
pub fn verify_audit(jsonl: String) -> Result<String> {
    let (entries, _head) = audit::verify_jsonl(&jsonl).map_err(|e| js_error(&e))?;
    to_json(&entries)
}

/// Verifies the host identity provider's tokens into principals.
#[napi]
pub struct NativeJwtVerifier {
    inner: JwtVerifier,
}

#[napi]
impl NativeJwtVerifier {
    /// `HS256` with a secret, `RS256` / `ES256` with a PEM public key (text or bytes).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        algorithm: String,
        key: Either<String, Buffer>,
        issuer: String,
        audience: String,
    ) -> Result<Self> {
        let key: Vec<u8> = match key {
            Either::A(text) => text.into_bytes(),
            Either::B(bytes) => bytes.to_vec(),
        };
        Ok(NativeJwtVerifier {
            inner: JwtVerifier::with_algorithm(&algorithm, &key, &issuer, &audience)
                .map_err(|e| js_error(&e))?,
        })
    }

    /// The principal a valid token names, as JSON.
    #[napi(catch_unwind)]
    pub fn verify(&self, token: String) -> Result<String> {
        let p = self.inner.verify(&token).map_err(|e| js_error(&e))?;
        to_json(&p)
    }
}
