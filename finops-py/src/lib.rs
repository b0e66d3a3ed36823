//! The `finops` Python module: a thin layer over `finops-core` that converts types, maps errors to exceptions and
//! bridges async (asyncio ↔ tokio). No analysis logic lives here.

mod analysis;
mod convert;
mod errors;
mod finops;
mod portfolio;
mod provider;
mod queue;
mod results;
mod runtime;
mod vault;

use finops_core::metrics;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{internal, json_to_py, statements};
use crate::errors::to_py;

/// Every catalogue metric for every period, as dicts (`id`, `metric`, `period`, `value` as a decimal string or
/// None, `unit`, `basis`, `formula`, `inputs`, `reason`). Runs without the GIL.
#[pyfunction]
fn compute_metrics(py: Python<'_>, statements: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    runtime::guard(|| {
        let parsed = self::statements(py, statements)?;
        let figures = py.detach(|| metrics::compute_all(&parsed));
        // Built directly rather than through JSON: this is the hot path of data teams' notebooks.
        let list = PyList::empty(py);
        for f in &figures {
            list.append(figure(py, f)?)?;
        }
        Ok(list.into_any().unbind())
    })
}

fn figure<'py>(py: Python<'py>, f: &metrics::Figure) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "id"), &f.id)?;
    d.set_item(intern!(py, "metric"), f.metric.id())?;
    d.set_item(intern!(py, "period"), &*f.period)?;
    d.set_item(intern!(py, "value"), f.value.map(|v| v.to_string()))?;
    d.set_item(intern!(py, "unit"), unit(f.unit))?;
    let basis = match f.basis {
        metrics::Basis::Average => "average",
        metrics::Basis::Closing => "closing",
    };
    d.set_item(intern!(py, "basis"), basis)?;
    d.set_item(intern!(py, "formula"), &*f.formula)?;
    let inputs = PyList::empty(py);
    for i in &f.inputs {
        let input = PyDict::new(py);
        input.set_item(intern!(py, "line"), &*i.line)?;
        input.set_item(intern!(py, "period"), &*i.period)?;
        input.set_item(intern!(py, "value"), i.value.to_string())?;
        if let Some(accounts) = &i.accounts {
            let list = PyList::empty(py);
            for a in accounts.iter() {
                let account = PyDict::new(py);
                account.set_item(intern!(py, "account"), &a.account)?;
                account.set_item(intern!(py, "name"), &a.name)?;
                account.set_item(intern!(py, "amount"), a.amount.to_string())?;
                list.append(account)?;
            }
            input.set_item(intern!(py, "accounts"), list)?;
        }
        inputs.append(input)?;
    }
    d.set_item(intern!(py, "inputs"), inputs)?;
    if let Some(r) = &f.reason {
        d.set_item(intern!(py, "reason"), r)?;
    }
    Ok(d)
}

fn unit(u: metrics::Unit) -> &'static str {
    match u {
        metrics::Unit::Ratio => "ratio",
        metrics::Unit::Percent => "percent",
        metrics::Unit::Amount => "amount",
        metrics::Unit::Days => "days",
    }
}

/// Evaluates a Researcher expression exactly for a period: a dict with `expression`, `period`, `value` (decimal
/// string) and `inputs`.
#[pyfunction]
fn evaluate(
    py: Python<'_>,
    statements: &Bound<'_, PyAny>,
    expression: &str,
    period: &str,
) -> PyResult<Py<PyAny>> {
    runtime::guard(|| {
        let parsed = self::statements(py, statements)?;
        let c = metrics::expr::evaluate(&parsed, expression, period).map_err(to_py)?;
        json_to_py(py, &serde_json::to_string(&c).map_err(internal)?)
    })
}

/// The bridge's handle, to forget the cached loggers and levels.
static LOGGING: std::sync::OnceLock<pyo3_log::ResetHandle> = std::sync::OnceLock::new();

/// Re-reads the levels of Python's loggers (finops caches them): call it after changing a level at run time.
#[pyfunction]
fn refresh_logging() {
    if let Some(handle) = LOGGING.get() {
        handle.reset();
    }
}

#[pymodule]
fn _finops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // finops's log records go to Python's `logging`, under loggers named after the Rust modules
    // (`finops_core.pipeline.run`, ...), info and above. Each logger's level is read once and cached, so a record
    // Python would drop costs no GIL (reading it at every record made concurrent analyses 2-3 times slower, the
    // tokio threads queueing for the GIL); `finops.refresh_logging()` re-reads the levels after a change. A second
    // import in the same process keeps the first bridge.
    if let Ok(handle) = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?
        .filter(log::LevelFilter::Info)
        .install()
    {
        let _ = LOGGING.set(handle);
    }
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(runtime::drain_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(compute_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(refresh_logging, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(convert::read_statements, m)?)?;
    m.add_function(wrap_pyfunction!(convert::build_statements, m)?)?;
    m.add_function(wrap_pyfunction!(portfolio::screen, m)?)?;
    m.add_function(wrap_pyfunction!(portfolio::compute_metrics_table, m)?)?;
    m.add_function(wrap_pyfunction!(portfolio::peer_benchmarks, m)?)?;
    m.add_class::<convert::PyStatements>()?;
    m.add_class::<analysis::PyAnalysis>()?;
    m.add_class::<results::PyFigure>()?;
    m.add_class::<results::PyFigureInput>()?;
    m.add_class::<results::PyComputation>()?;
    m.add_class::<results::PyFinding>()?;
    m.add_class::<results::PyPhaseUsage>()?;
    m.add_class::<results::PyAnalysisPlan>()?;
    m.add_class::<analysis::PyEvent>()?;
    m.add_class::<analysis::PyEventStream>()?;
    m.add_class::<finops::PyFinops>()?;
    m.add_class::<finops::PyPrincipal>()?;
    m.add_class::<provider::PyScriptedProvider>()?;
    m.add_class::<queue::PyQueue>()?;
    m.add_class::<vault::PyVault>()?;
    m.add_class::<vault::PyJwtVerifier>()?;
    m.add_function(wrap_pyfunction!(vault::verify_audit, m)?)?;
    m.add_class::<queue::PyJobEvents>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
