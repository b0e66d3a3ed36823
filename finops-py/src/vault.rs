//! `finops.Vault` (stored analyses, review and sign-off, the audit trail, keys and erasure), `finops.JwtVerifier`
//! and `finops.verify_audit`. Every rule (who may read, review, export or erase) is the core vault's.

use std::sync::Arc;

use finops_core::security::audit;
use finops_core::security::jwt::JwtVerifier;
use finops_core::store::{self, ReviewAction, Vault};
use pyo3::prelude::*;

use crate::analysis::PyAnalysis;
use crate::convert::{internal, json_to_py, to_python};
use crate::errors::to_py;
use crate::finops::PyPrincipal;
use crate::runtime::future_into_py;

/// Encrypted, access-checked, audited storage of analyses (`await Vault.open(location)`).
#[pyclass(module = "finops", name = "Vault", frozen)]
pub(crate) struct PyVault {
    pub(crate) inner: Arc<Vault>,
}

#[pymethods]
impl PyVault {
    /// `await Vault.open(location)`: a directory (the embedded default: `finops.db` and `master.key` there) or a
    /// `postgres://` URL (the master key from `FINOPS_MASTER_KEY`). `require_sign_off=True`: a Client sees an
    /// analysis only once a CPA of the firm signed it off.
    #[staticmethod]
    #[pyo3(signature = (location, *, require_sign_off = false))]
    fn open(
        py: Python<'_>,
        location: String,
        require_sign_off: bool,
    ) -> PyResult<Bound<'_, PyAny>> {
        future_into_py(py, async move {
            let vault = store::open(&location).await.map_err(to_py)?;
            Ok(PyVault {
                inner: Arc::new(vault.require_sign_off(require_sign_off)),
            })
        })
    }

    /// `await x.close()`: stores the job results waiting for a commit and closes the store's connections; later calls raise `BackendError`. Idempotent.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        future_into_py(py, async move {
            inner.close().await;
            Ok(())
        })
    }

    /// `async with await finops.Vault.open(...) as x:` closes it on the way out.
    fn __aenter__<'py>(slf: Bound<'py, Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.unbind();
        future_into_py(py, async move { Ok(this) })
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _kind: Bound<'py, PyAny>,
        _value: Bound<'py, PyAny>,
        _traceback: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }

    /// `await v.save(principal, analysis)`: stores the analysis encrypted (under its client's key) and appends
    /// its audit entry; the principal must be allowed to act for the analysis's tenant and client.
    fn save<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        analysis: &PyAnalysis,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who, analysis) = (
            Arc::clone(&self.inner),
            principal.inner.clone(),
            Arc::clone(&analysis.inner),
        );
        future_into_py(py, async move {
            vault.save_analysis(&who, &analysis).await.map_err(to_py)
        })
    }

    /// `await v.get(principal, analysis_id)`: an analysis of the principal's tenant it may see (a Client: its own
    /// company's, and signed off when the vault requires it). Denials raise `AccessDeniedError` and are audited.
    fn get<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        analysis_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            let a = vault
                .load_analysis(&who, &who.tenant, &analysis_id)
                .await
                .map_err(to_py)?;
            Ok(PyAnalysis { inner: Arc::new(a) })
        })
    }

    /// `await v.list(principal)`: the analyses the principal may see, oldest first.
    fn list<'py>(&self, py: Python<'py>, principal: &PyPrincipal) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            let all = vault.list_analyses(&who).await.map_err(to_py)?;
            Ok(all
                .into_iter()
                .map(|a| PyAnalysis { inner: Arc::new(a) })
                .collect::<Vec<_>>())
        })
    }

    /// `await v.review(principal, analysis_id)`: the review as a dict (`status`: `draft`, `reviewed` or
    /// `signed_off`; `notes`; `reviewed_by`; `signed_off_by`; `signed_off_at`).
    fn review<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        analysis_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            let r = vault
                .review(&who, &who.tenant, &analysis_id)
                .await
                .map_err(to_py)?;
            to_python(&r)
        })
    }

    /// `await v.act(principal, analysis_id, "annotate", note="…")`, `"reviewed"` or `"sign_off"`: a CPA of the
    /// firm acts on the review (audited); the updated review as a dict. Anyone else raises `AccessDeniedError`.
    #[pyo3(signature = (principal, analysis_id, action, *, note = None))]
    fn act<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        analysis_id: String,
        action: &str,
        note: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action = ReviewAction::parse(action, note).map_err(to_py)?;
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            let r = vault
                .act_on_review(&who, &who.tenant, &analysis_id, action)
                .await
                .map_err(to_py)?;
            to_python(&r)
        })
    }

    /// `await v.export_audit(admin)`: the firm's audit trail as verified JSON Lines (Admins only).
    fn export_audit<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(
            py,
            async move { vault.export_audit(&who).await.map_err(to_py) },
        )
    }

    /// `await v.verify_audit(admin, jsonl)`: checks an export of this firm's trail with the firm's key — every
    /// hash, every entry's MAC and the signed head — and returns its entries as dicts; an export edited (even
    /// with hashes recomputed), cut short or from another firm raises `IntegrityError`.
    fn verify_audit<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        jsonl: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            let entries = vault
                .verify_audit_export(&who, &jsonl)
                .await
                .map_err(to_py)?;
            let text = serde_json::to_string(&entries).map_err(internal)?;
            Python::attach(|py| json_to_py(py, &text))
        })
    }

    /// `await v.rotate_key(admin)`: new writes use a new data key (older records still read); the key id.
    fn rotate_key<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(
            py,
            async move { vault.rotate_key(&who).await.map_err(to_py) },
        )
    }

    /// `await v.reencrypt(admin)`: re-encrypts the firm's records under its current keys; how many.
    fn reencrypt<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(
            py,
            async move { vault.reencrypt(&who).await.map_err(to_py) },
        )
    }

    /// `await v.erase_client(admin, client)`: destroys the client's keys (crypto-shredding) and deletes its
    /// records; how many records. Audited.
    fn erase_client<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
        client: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(py, async move {
            vault.erase_client(&who, &client).await.map_err(to_py)
        })
    }

    /// `await v.erase_tenant(admin)`: destroys every key of the firm; nothing it stored can be read again.
    fn erase_tenant<'py>(
        &self,
        py: Python<'py>,
        principal: &PyPrincipal,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (vault, who) = (Arc::clone(&self.inner), principal.inner.clone());
        future_into_py(
            py,
            async move { vault.erase_tenant(&who).await.map_err(to_py) },
        )
    }
}

/// `finops.verify_audit(jsonl)`: checks an exported audit trail's structure (every hash, the chain's order, the
/// head's count) and returns its entries as dicts; an edited, deleted or reordered entry raises `IntegrityError`.
/// Whoever can rewrite the file can recompute hashes: `Vault.verify_audit` also checks the MACs with the firm's key.
#[pyfunction]
pub(crate) fn verify_audit(py: Python<'_>, jsonl: &str) -> PyResult<Py<PyAny>> {
    let (entries, _head) = audit::verify_jsonl(jsonl).map_err(to_py)?;
    json_to_py(py, &serde_json::to_string(&entries).map_err(internal)?)
}

/// Verifies the host identity provider's tokens into principals: `JwtVerifier("HS256", secret, issuer=…,
/// audience=…)`, or `"RS256"` / `"ES256"` with a PEM public key.
#[pyclass(module = "finops", name = "JwtVerifier", frozen)]
pub(crate) struct PyJwtVerifier {
    inner: JwtVerifier,
}

#[pymethods]
impl PyJwtVerifier {
    #[new]
    #[pyo3(signature = (algorithm, key, *, issuer, audience))]
    fn new(
        algorithm: &str,
        key: &Bound<'_, PyAny>,
        issuer: &str,
        audience: &str,
    ) -> PyResult<Self> {
        let key: Vec<u8> = if let Ok(text) = key.extract::<String>() {
            text.into_bytes()
        } else {
            key.cast::<pyo3::types::PyBytes>()
                .map_err(|_| crate::errors::invalid_argument("jwt_key", "must be str or bytes"))?
                .as_bytes()
                .to_vec()
        };
        Ok(PyJwtVerifier {
            inner: JwtVerifier::with_algorithm(algorithm, &key, issuer, audience).map_err(to_py)?,
        })
    }

    /// The principal a valid token names; a refused token raises `InvalidTokenError` with its `kind`.
    fn verify(&self, token: &str) -> PyResult<PyPrincipal> {
        Ok(PyPrincipal {
            inner: self.inner.verify(token).map_err(to_py)?,
        })
    }
}
