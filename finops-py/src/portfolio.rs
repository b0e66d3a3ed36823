//! A firm's portfolio from Python: `finops.screen` and `finops.peer_benchmarks` over `{client id: statements}`.
//! Statements are parsed and the work runs without the GIL, on every core.

use std::sync::Arc;

use finops_core::portfolio::{self, Client, Comparison, PeriodSelector, Screen};
use finops_core::{Decimal, MetricId};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString};

use crate::convert::{internal, json_to_py, statements};
use crate::errors::{invalid_argument, to_py};

/// The clients of `{id: statements source}` (a dict) or `[(id, statements source)]`.
fn clients(py: Python<'_>, portfolio: &Bound<'_, PyAny>) -> PyResult<Vec<Client>> {
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
    let mut out = Vec::with_capacity(pairs.len());
    for (i, (id, source)) in pairs.iter().enumerate() {
        let id: String = id
            .extract()
            .map_err(|_| invalid_argument(&format!("clients[{i}]"), "a client id is a string"))?;
        let parsed = statements(py, source).map_err(|e| {
            // Which client's statements were refused, in the message; the error keeps its type.
            let message = format!("client `{id}`: {e}");
            PyErr::from_type(e.get_type(py), message)
        })?;
        out.push(Client {
            id,
            statements: Arc::clone(&parsed),
        });
    }
    Ok(out)
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
