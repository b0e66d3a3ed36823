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

    /// The accounts that made a line in a period (dicts with `account`, `name`, `amount` as a decimal string), or
    /// None when the line was given as a plain amount.
    fn accounts(&self, py: Python<'_>, period: &str, line: &str) -> PyResult<Py<PyAny>> {
        let line: finops_core::statements::Line = line.parse().map_err(to_py)?;
        let Some(p) = self.inner.period(period) else {
            return Err(invalid_argument(
                "period",
                format!("no period labelled `{period}`"),
            ));
        };
        match p.accounts(line) {
            Some(a) => json_to_py(py, &serde_json::to_string(&**a).map_err(internal)?),
            None => Ok(py.None()),
        }
    }

    /// The company's fields as a dict (`name`, `currency`, and `sector`, `naics`, `jurisdiction` when given).
    #[getter]
    fn company(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(
            py,
            &serde_json::to_string(self.inner.company()).map_err(internal)?,
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
pub(crate) fn source_bytes(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
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

/// Reads statements from one or more sources in any format finops knows (statements, trial balance JSON or CSV,
/// FEC, QuickBooks Online or Xero report JSON): each source is a path, bytes, or text. `chart` is "gifi", "pcg",
/// a custom chart dict or the path of one; `company` supplies or overrides the company's fields; `unmapped` is
/// "error" or "other"; `overrides` maps account numbers or ids to lines; `derive_cash_flow` derives missing cash
/// flow lines from consecutive balance sheets (each derived figure lists its terms). Runs without the GIL.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (sources, *, format = "auto", chart = None, company = None, unmapped = "error", overrides = None, derive_cash_flow = false))]
pub(crate) fn read_statements(
    py: Python<'_>,
    sources: &Bound<'_, PyAny>,
    format: &str,
    chart: Option<&Bound<'_, PyAny>>,
    company: Option<&Bound<'_, PyDict>>,
    unmapped: &str,
    overrides: Option<&Bound<'_, PyDict>>,
    derive_cash_flow: bool,
) -> PyResult<PyStatements> {
    crate::runtime::guard(|| {
        let list: Vec<Bound<'_, PyAny>> = if sources.cast::<PyString>().is_ok()
            || sources.cast::<PyBytes>().is_ok()
            || sources.is_instance(&py.import("os")?.getattr("PathLike")?)?
        {
            vec![sources.clone()]
        } else {
            sources
                .try_iter()
                .map_err(|_| {
                    invalid_argument("sources", "expected a path, bytes, text, or a list of them")
                })?
                .collect::<PyResult<_>>()?
        };
        let mut inputs = Vec::with_capacity(list.len());
        for item in &list {
            inputs.push(ledger_source(py, item)?);
        }
        let options = read_options(
            py,
            format,
            chart,
            company,
            unmapped,
            overrides,
            derive_cash_flow,
        )?;
        let statements = py
            .detach(|| {
                let sources: Vec<finops_core::ledger::Source<'_>> = inputs
                    .iter()
                    .map(|(name, bytes)| match name {
                        Some(n) => finops_core::ledger::Source::named(n, bytes),
                        None => finops_core::ledger::Source::new(bytes),
                    })
                    .collect();
                finops_core::ledger::read(&sources, &options)
            })
            .map_err(to_py)?;
        Ok(PyStatements {
            inner: Arc::new(statements),
        })
    })
}

/// The reading options of `read_statements` and `compute_metrics_table`, checked by the core.
pub(crate) fn read_options(
    py: Python<'_>,
    format: &str,
    chart: Option<&Bound<'_, PyAny>>,
    company: Option<&Bound<'_, PyDict>>,
    unmapped: &str,
    overrides: Option<&Bound<'_, PyDict>>,
    derive_cash_flow: bool,
) -> PyResult<finops_core::ledger::ReadOptions> {
    let mut options = serde_json::Map::new();
    options.insert("format".into(), serde_json::Value::String(format.into()));
    options.insert(
        "unmapped".into(),
        serde_json::Value::String(unmapped.into()),
    );
    options.insert(
        "derive_cash_flow".into(),
        serde_json::Value::Bool(derive_cash_flow),
    );
    if let Some(chart) = chart {
        // A name, JSON text or a path is the core's to read; a dict is the chart itself.
        let value = if let Ok(s) = chart.cast::<PyString>() {
            serde_json::Value::String(s.extract()?)
        } else if chart.cast::<PyDict>().is_ok() {
            py_json(py, chart, "chart")?
        } else {
            let path = py
                .import("os")?
                .call_method1("fspath", (chart,))
                .map_err(|_| {
                    invalid_argument("chart", "expected \"gifi\", \"pcg\", a dict or a path")
                })?;
            serde_json::Value::String(path.extract()?)
        };
        options.insert("chart".into(), value);
    }
    if let Some(c) = company {
        options.insert("company".into(), py_json(py, c.as_any(), "company")?);
    }
    if let Some(o) = overrides {
        options.insert("overrides".into(), py_json(py, o.as_any(), "overrides")?);
    }
    finops_core::ledger::ReadOptions::from_json_value(&serde_json::Value::Object(options))
        .map_err(to_py)
}

/// A source's name (when it is a path) and bytes. Text that is not a path is the content itself.
fn ledger_source(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<(Option<String>, Vec<u8>)> {
    if let Ok(b) = item.cast::<PyBytes>() {
        return Ok((None, b.as_bytes().to_vec()));
    }
    if let Ok(s) = item.cast::<PyString>() {
        let text: String = s.extract()?;
        let looks_like_content = text.contains('\n') || text.trim_start().starts_with(['{', '[']);
        if looks_like_content {
            return Ok((None, text.into_bytes()));
        }
        return Ok((Some(text.clone()), read_path(&text)?));
    }
    if let Ok(path) = py.import("os")?.call_method1("fspath", (item,)) {
        let path: String = path.extract()?;
        return Ok((Some(path.clone()), read_path(&path)?));
    }
    let kind = item.get_type().name()?.to_string();
    Err(invalid_argument(
        "sources",
        format!("expected a path, bytes or text, not {kind}"),
    ))
}

/// A dict or list as JSON (decimals and other non-JSON values become strings).
fn py_json(py: Python<'_>, value: &Bound<'_, PyAny>, field: &str) -> PyResult<serde_json::Value> {
    let json = py.import("json")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", py.get_type::<PyString>())?;
    let text: String = json
        .call_method("dumps", (value,), Some(&kwargs))
        .map_err(|e| invalid_argument(field, format!("cannot be written as JSON: {e}")))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| invalid_argument(field, e.to_string()))
}

/// Statements from typed lines: `company` (a dict with at least `name` and `currency`) and `periods` (dicts with
/// `label`, `start`, `end`, `lines` mapping line ids to amounts, and optionally `accounts` mapping line ids to lists
/// of `{"account", "name", "amount"}`). Totals left out are computed; the result is validated like a document.
#[pyfunction]
pub(crate) fn build_statements(
    py: Python<'_>,
    company: &Bound<'_, PyDict>,
    periods: &Bound<'_, PyAny>,
) -> PyResult<PyStatements> {
    crate::runtime::guard(|| {
        let mut doc = serde_json::Map::new();
        doc.insert("company".into(), py_json(py, company.as_any(), "company")?);
        doc.insert("periods".into(), py_json(py, periods, "periods")?);
        let doc = serde_json::Value::Object(doc);
        let statements = py
            .detach(|| finops_core::statements::StatementsBuilder::from_json_value(&doc))
            .map_err(to_py)?;
        Ok(PyStatements {
            inner: Arc::new(statements),
        })
    })
}
