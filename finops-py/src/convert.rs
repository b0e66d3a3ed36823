//! Host input to core types, and core output to Python objects.

use std::sync::Arc;

use finops_core::Statements;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::{invalid_argument, to_py};

/// A parsed, validated statements document, reusable across calls (`finops.Statements`).
#[pyclass(module = "finops", name = "Statements", frozen)]
pub(crate) struct PyStatements {
    pub(crate) inner: Arc<Statements>,
}

#[pymethods]
impl PyStatements {
    /// Parses a document given as JSON text, bytes, a dict or a path.
    #[new]
    fn new(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyStatements {
            inner: statements(py, source)?,
        })
    }

    /// The canonical SHA-256 fingerprint (insensitive to key order and number formatting).
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// Period labels, oldest first.
    #[getter]
    fn periods(&self) -> Vec<String> {
        self.inner
            .periods()
            .iter()
            .map(|p| p.label.to_string())
            .collect()
    }

    /// Non-fatal problems: a list of dicts with `code`, `field`, `message`.
    #[getter]
    fn warnings(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(
            py,
            &serde_json::to_string(self.inner.warnings()).map_err(internal)?,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Statements(company={:?}, periods={:?})",
            self.inner.company().name,
            self.periods()
        )
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> PyErr {
    to_py(finops_core::Error::Internal(e.to_string()))
}

/// Statements from JSON text (a str starting with `{`), bytes, a dict, a path (str or os.PathLike) or a
/// `finops.Statements`. Parsing runs without the GIL.
pub(crate) fn statements(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Arc<Statements>> {
    if let Ok(s) = source.cast::<PyStatements>() {
        return Ok(Arc::clone(&s.get().inner));
    }
    let bytes = source_bytes(py, source)?;
    let parsed = crate::runtime::guard(|| {
        py.detach(|| Statements::from_json_slice(&bytes))
            .map_err(to_py)
    })?;
    Ok(Arc::new(parsed))
}

/// The statements as JSON text, for a job another process will read (a `finops.Statements` gives its canonical
/// form). Checked when the job is enqueued.
pub(crate) fn statements_json(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = source.cast::<PyStatements>() {
        return Ok(s.get().inner.canonical_json());
    }
    String::from_utf8(source_bytes(py, source)?)
        .map_err(|_| invalid_argument("statements", "the document is not UTF-8 text"))
}

/// The bytes of a statements source that is not already a `finops.Statements`.
fn source_bytes(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(if let Ok(b) = source.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(s) = source.cast::<PyString>() {
        let text: String = s.extract()?;
        if text.trim_start().starts_with('{') {
            text.into_bytes()
        } else {
            read_path(&text)?
        }
    } else if source.cast::<PyDict>().is_ok() {
        // Decimal and other non-JSON numbers become strings, which the statements format accepts exactly.
        let json = py.import("json")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", py.get_type::<PyString>())?;
        let text: String = json
            .call_method("dumps", (source,), Some(&kwargs))?
            .extract()?;
        text.into_bytes()
    } else if let Ok(path) = py.import("os")?.call_method1("fspath", (source,)) {
        read_path(&path.extract::<String>()?)?
    } else {
        let kind = source.get_type().name()?.to_string();
        return Err(invalid_argument(
            "statements",
            format!("expected JSON text, bytes, a dict, a path or finops.Statements, not {kind}"),
        ));
    })
}

fn read_path(path: &str) -> PyResult<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| invalid_argument("statements", format!("cannot read `{path}`: {e}")))
}

/// A JSON-serializable value as Python objects, from inside a future (takes the GIL).
pub(crate) fn to_python<T: serde::Serialize>(value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_string(value).map_err(internal)?;
    Python::attach(|py| json_to_py(py, &json))
}

/// A JSON text as Python objects (dicts, lists, str, numbers), through Python's own `json` module.
pub(crate) fn json_to_py(py: Python<'_>, json: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
}
