//! A firm's portfolio from Python: `finops.screen` and `finops.peer_benchmarks` over `{client id: statements}`.
//! Statements are parsed and the work runs without the GIL, on every core.

use std::sync::Arc;

use finops_core::portfolio::{self, Client, Comparison, PeriodSelector, Screen};
use finops_core::{Decimal, MetricId};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString};

use finops_core::ledger::ReadOptions;
use pyo3::types::PyBytes;
use pyo3_arrow::PyTable;

use crate::convert::{PyStatements, internal, json_to_py, read_options, source_bytes};
use crate::errors::{invalid_argument, to_py};

/// The clients of `{id: statements source}` (a dict) or `[(id, statements source)]`.
pub(crate) fn clients(py: Python<'_>, portfolio: &Bound<'_, PyAny>) -> PyResult<Vec<Client>> {
    let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = if let Ok(d) = portfolio.cast::<PyDict>()
    {
        d.iter().collect()
    } else {
        portfolio
            .try_iter()
            .map_err(|_| {
                invalid_argument(
                    "clients",
                    "expected a dict of client id → statements, or (id, statements) pairs",
                )
            })?
            .map(|item| item.and_then(|i| i.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()))
            .collect::<PyResult<_>>()
            .map_err(|_| invalid_argument("clients", "expected (client id, statements) pairs"))?
    };
    let mut sources = Vec::with_capacity(pairs.len());
    for (i, (id, source)) in pairs.into_iter().enumerate() {
        let id: String = id
            .extract()
            .map_err(|_| invalid_argument(&format!("clients[{i}]"), "a client id is a string"))?;
        sources.push((id, source));
    }
    parse(py, sources, None, "clients")
}

/// A statements source, taken from Python: already parsed, or bytes still to parse.
enum Pending {
    Parsed(Arc<finops_core::Statements>),
    Bytes(Vec<u8>),
}

/// Clients from `(id, source)`: the bytes are gathered with the GIL, then every document is parsed on every core
/// without it. A refused document is named `{label}[{id}]` with its field.
fn parse(
    py: Python<'_>,
    sources: Vec<(String, Bound<'_, PyAny>)>,
    read: Option<&ReadOptions>,
    label: &str,
) -> PyResult<Vec<Client>> {
    let mut pending = Vec::with_capacity(sources.len());
    for (id, source) in &sources {
        let item = if let Ok(s) = source.cast::<PyStatements>() {
            Pending::Parsed(Arc::clone(&s.get().inner))
        } else {
            Pending::Bytes(source_bytes(py, source).map_err(|e| {
                let message = format!("{label}[{id}]: {e}");
                PyErr::from_type(e.get_type(py), message)
            })?)
        };
        pending.push((id.clone(), item));
    }
    py.detach(|| {
        let documents: Vec<(String, &[u8])> = pending
            .iter()
            .filter_map(|(id, p)| match p {
                Pending::Bytes(b) => Some((id.clone(), b.as_slice())),
                Pending::Parsed(_) => None,
            })
            .collect();
        let mut parsed = portfolio::clients_from_documents(&documents, read, label)?.into_iter();
        let mut out = Vec::with_capacity(pending.len());
        for (id, p) in &pending {
            out.push(match p {
                Pending::Parsed(s) => Client::new(id.clone(), Arc::clone(s)),
                Pending::Bytes(_) => parsed.next().ok_or_else(|| {
                    finops_core::Error::Internal("a parsed document went missing".into())
                })?,
            });
        }
        Ok(out)
    })
    .map_err(to_py)
}

/// Every catalogue figure of every period of every source as one `pyarrow.Table` (one row per source, period
/// and metric; columns `client`, `company`, `sector`, `naics`, `period`, `period_end`, `metric`, `value` as an
/// exact decimal128, `value_f64`, `unit`, `basis`, `reason`). `sources` is a list of statements sources (the
/// client column is then the index) or a dict of client id → source; `format` and the reading options read
/// other inputs (trial balances, FEC...) one per client. Parsed and computed on every core without the GIL; the
/// table reaches pyarrow through the Arrow PyCapsule interface, without a copy.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (sources, *, format = "statements", chart = None, company = None, unmapped = "error", overrides = None, derive_cash_flow = false))]
pub(crate) fn compute_metrics_table<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyAny>,
    format: &str,
    chart: Option<&Bound<'py, PyAny>>,
    company: Option<&Bound<'py, PyDict>>,
    unmapped: &str,
    overrides: Option<&Bound<'py, PyDict>>,
    derive_cash_flow: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::runtime::guard(|| {
        let plain = format == "statements"
            && chart.is_none()
            && company.is_none()
            && overrides.is_none()
            && !derive_cash_flow;
        let read = if plain {
            None
        } else {
            Some(read_options(
                py,
                format,
                chart,
                company,
                unmapped,
                overrides,
                derive_cash_flow,
            )?)
        };
        let (pairs, label): (Vec<(String, Bound<'py, PyAny>)>, &str) = if let Ok(d) =
            sources.cast::<PyDict>()
        {
            let mut pairs = Vec::with_capacity(d.len());
            for (i, (id, source)) in d.iter().enumerate() {
                let id: String = id.extract().map_err(|_| {
                    invalid_argument(&format!("clients[{i}]"), "a client id is a string")
                })?;
                pairs.push((id, source));
            }
            (pairs, "clients")
        } else if sources.cast::<PyString>().is_ok() || sources.cast::<PyBytes>().is_ok() {
            return Err(invalid_argument(
                "sources",
                "expected a list of statements sources or a dict of client id → source, not one document",
            ));
        } else {
            let items = sources
                .try_iter()
                .map_err(|_| {
                    invalid_argument(
                        "sources",
                        "expected a list of statements sources or a dict of client id → source",
                    )
                })?
                .collect::<PyResult<Vec<_>>>()?;
            let pairs = items
                .into_iter()
                .enumerate()
                .map(|(i, source)| (i.to_string(), source))
                .collect();
            (pairs, "sources")
        };
        let portfolio = parse(py, pairs, read.as_ref(), label)?;
        let batch = py
            .detach(|| portfolio::metrics_table(&portfolio))
            .map_err(to_py)?;
        let schema = batch.schema();
        let table = PyTable::try_new(vec![batch], schema)?;
        if let Err(e) = py.import("pyarrow") {
            return Err(pyo3::exceptions::PyImportError::new_err(format!(
                "finops.compute_metrics_table returns a pyarrow.Table: install pyarrow (pip install 'finops[arrow]'); importing it failed: {e}"
            )));
        }
        table.into_pyarrow(py)
    })
}

/// An exact threshold from an int, a `decimal.Decimal`, a string, or a float (read as its shortest repr, so `0.25`
/// is 0.25 exactly).
fn threshold(value: &Bound<'_, PyAny>) -> PyResult<Decimal> {
    let text: String = if value.cast::<PyFloat>().is_ok() {
        value.repr()?.extract()?
    } else if value.cast::<PyString>().is_ok() {
        value.extract()?
    } else {
        value.str()?.extract()?
    };
    Decimal::from_str_exact(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| invalid_argument("threshold", format!("`{text}` is not an exact number")))
}

/// The clients whose figure passes the screen: a list of dicts (`client`, `company`, `figures`). `op` is `<`,
/// `<=`, `>`, `>=`, `==` or `!=`; `period` is `latest`, `each` or a label; thresholds are in the figure's unit
/// (percentages as fractions).
#[pyfunction]
#[pyo3(signature = (clients, metric, op, threshold, *, period = "latest", naics_prefix = None, sector = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn screen(
    py: Python<'_>,
    clients: &Bound<'_, PyAny>,
    metric: &str,
    op: &str,
    threshold: &Bound<'_, PyAny>,
    period: &str,
    naics_prefix: Option<String>,
    sector: Option<String>,
) -> PyResult<Py<PyAny>> {
    crate::runtime::guard(|| {
        let filter = Screen {
            metric: metric.parse::<MetricId>().map_err(to_py)?,
            period: period.parse::<PeriodSelector>().map_err(to_py)?,
            comparison: op.parse::<Comparison>().map_err(to_py)?,
            threshold: self::threshold(threshold)?,
            naics_prefix,
            sector,
        };
        let portfolio = self::clients(py, clients)?;
        let found = py
            .detach(|| portfolio::screen(&portfolio, &filter))
            .map_err(to_py)?;
        json_to_py(py, &serde_json::to_string(&found).map_err(internal)?)
    })
}

/// Where one client stands among the firm's other clients of its sector, in its latest period: a dict with
/// `benchmarks` (`id`, `metric`, `period`, `figure`, `cohort`, `cohort_size`, `percentile`, `quartile`) and
/// `missing` (`metric`, `reason`). Cohorts of fewer than five other companies are never compared.
#[pyfunction]
#[pyo3(signature = (client, clients, metrics = None))]
pub(crate) fn peer_benchmarks(
    py: Python<'_>,
    client: &str,
    clients: &Bound<'_, PyAny>,
    metrics: Option<Vec<String>>,
) -> PyResult<Py<PyAny>> {
    crate::runtime::guard(|| {
        let wanted = metrics
            .unwrap_or_default()
            .iter()
            .map(|m| m.parse::<MetricId>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_py)?;
        let portfolio = self::clients(py, clients)?;
        let (found, missing) = py
            .detach(|| portfolio::peer_benchmarks(client, &portfolio, &wanted))
            .map_err(to_py)?;
        let out = serde_json::json!({"benchmarks": found, "missing": missing});
        json_to_py(py, &out.to_string())
    })
}
