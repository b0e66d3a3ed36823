//! `finops.Analysis`, `finops.Event` and the async iterator of events.

use std::sync::Arc;

use finops_core::pipeline::{Analysis, Event, EventStream};
use futures::StreamExt;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use crate::convert::{internal, json_to_py};
use crate::results::{PyAnalysisPlan, PyComputation, PyFigure, PyFinding, PyPhaseUsage, decimal};

/// The result of an analysis. Attributes are built on access; `to_dict()` / `to_json()` give the whole contract.
#[pyclass(module = "finops", name = "Analysis", frozen)]
pub(crate) struct PyAnalysis {
    pub(crate) inner: Arc<Analysis>,
}

impl PyAnalysis {
    fn part<T: serde::Serialize>(&self, py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
        json_to_py(py, &serde_json::to_string(value).map_err(internal)?)
    }
}

#[pymethods]
impl PyAnalysis {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    #[getter]
    fn tenant(&self) -> &str {
        &self.inner.tenant
    }
    #[getter]
    fn client(&self) -> &str {
        &self.inner.client
    }
    #[getter]
    fn question(&self) -> &str {
        &self.inner.question
    }
    #[getter]
    fn language(&self) -> &str {
        self.inner.language.id()
    }
    #[getter]
    fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }
    /// The Markdown report.
    #[getter]
    fn report(&self) -> &str {
        &self.inner.report
    }
    /// `validator`, `validator_repaired` or `offline`.
    #[getter]
    fn report_source(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &self.inner.report_source)
    }
    #[getter]
    fn degraded(&self) -> bool {
        self.inner.degraded
    }
    #[getter]
    fn degraded_reason(&self) -> Option<&str> {
        self.inner.degraded_reason.as_deref()
    }
    /// Total cost in USD as a `decimal.Decimal`, or None when some call's cost is unknown.
    #[getter]
    fn total_cost_usd(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.total_cost_usd)
    }
    #[getter]
    fn grounded(&self) -> bool {
        self.inner.validation.grounded
    }
    #[getter]
    fn plan(&self) -> PyAnalysisPlan {
        PyAnalysisPlan {
            inner: self.inner.plan.clone(),
        }
    }
    /// The figures, each with its exact `decimal.Decimal` value and the inputs it came from.
    #[getter]
    fn figures(&self) -> Vec<PyFigure> {
        PyFigure::list(&self.inner.figures)
    }
    /// Where the client stands among the firm's other clients of its sector (dicts: `id`, `metric`, `period`,
    /// `figure`, `cohort`, `cohort_size`, `percentile`, `quartile`); empty unless the plan asked for peers.
    #[getter]
    fn benchmarks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &self.inner.benchmarks)
    }
    #[getter]
    fn computations(&self) -> Vec<PyComputation> {
        PyComputation::list(&self.inner.computations)
    }
    #[getter]
    fn findings(&self) -> Vec<PyFinding> {
        PyFinding::list(&self.inner.findings)
    }
    #[getter]
    fn validation(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &self.inner.validation)
    }
    /// Usage and cost per phase.
    #[getter]
    fn usage(&self) -> Vec<PyPhaseUsage> {
        PyPhaseUsage::list(&self.inner.usage)
    }
    #[getter]
    fn cache(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &self.inner.cache)
    }
    /// The similarity of the reused question (semantic and plan hits), a `decimal.Decimal`, else None.
    #[getter]
    fn cache_similarity(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.cache_similarity)
    }
    /// What a cache hit did not spend (USD, `decimal.Decimal`); None on a miss. Never part of `total_cost_usd`.
    #[getter]
    fn saved_usd(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.saved_usd)
    }
    #[getter]
    fn timings(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &self.inner.timings)
    }
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.inner).map_err(internal)
    }
    /// An analysis from its JSON contract (as `to_json()` gives it, or a host stored it); a document that is not
    /// one raises `InvalidArgumentError` naming where.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let analysis: Analysis = serde_json::from_str(text).map_err(|e| {
            crate::errors::invalid_argument("analysis", format!("not an analysis: {e}"))
        })?;
        Ok(PyAnalysis {
            inner: Arc::new(analysis),
        })
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyAnalysis>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, &*self.inner)
    }
    fn __repr__(&self) -> String {
        let source = serde_json::to_value(self.inner.report_source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        format!(
            "Analysis(id={:?}, language={:?}, figures={}, report_source={source:?}, degraded={})",
            self.inner.id,
            self.inner.language.id(),
            self.inner.figures.len(),
            if self.inner.degraded { "True" } else { "False" }
        )
    }
}

/// One event of a running analysis. `type` says which; the other attributes are set when they apply.
#[pyclass(module = "finops", name = "Event", frozen)]
pub(crate) struct PyEvent {
    inner: Event,
}

#[pymethods]
impl PyEvent {
    /// `queued`, `phase_started`, `text_delta`, `retry`, `fallback`, `computation_done`, `phase_finished`,
    /// `cache_hit`, `degraded`, `completed` or `failed`.
    #[getter(r#type)]
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    #[getter]
    fn phase(&self) -> Option<&'static str> {
        match &self.inner {
            Event::PhaseStarted { phase }
            | Event::TextDelta { phase, .. }
            | Event::Retry { phase, .. }
            | Event::Fallback { phase, .. }
            | Event::Degraded { phase, .. } => Some(phase.id()),
            Event::PhaseFinished { usage } => Some(usage.phase.id()),
            _ => None,
        }
    }
    /// The text piece of a `text_delta`.
    #[getter]
    fn text(&self) -> Option<&str> {
        match &self.inner {
            Event::TextDelta { text, .. } => Some(text),
            _ => None,
        }
    }
    /// Why a `retry`, `fallback` or `degraded` happened.
    #[getter]
    fn reason(&self) -> Option<&str> {
        match &self.inner {
            Event::Retry { reason, .. }
            | Event::Fallback { reason, .. }
            | Event::Degraded { reason, .. } => Some(reason),
            _ => None,
        }
    }
    /// The finished analysis of a `completed` event.
    #[getter]
    fn analysis(&self) -> Option<PyAnalysis> {
        match &self.inner {
            Event::Completed { analysis } => Some(PyAnalysis {
                inner: Arc::new((**analysis).clone()),
            }),
            _ => None,
        }
    }
    /// The error of a `failed` event: a dict with `code`, `message` and `field`.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.inner {
            Event::Failed { error } => {
                json_to_py(py, &serde_json::to_string(error).map_err(internal)?)
            }
            _ => Ok(py.None()),
        }
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &serde_json::to_string(&self.inner).map_err(internal)?)
    }
    fn __repr__(&self) -> String {
        match self.phase() {
            Some(p) => format!("Event(type={:?}, phase={p:?})", self.kind()),
            None => format!("Event(type={:?})", self.kind()),
        }
    }
}

/// `async for event in fo.stream(...)`. The analysis runs as the iterator is consumed; dropping it (or breaking
/// out of the loop) cancels the work.
#[pyclass(module = "finops", name = "EventStream", frozen)]
pub(crate) struct PyEventStream {
    pub(crate) inner: Arc<tokio::sync::Mutex<EventStream>>,
}

#[pymethods]
impl PyEventStream {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        crate::runtime::future_into_py(py, async move {
            let next = inner.lock().await.next().await;
            match next {
                Some(event) => Ok(PyEvent { inner: event }),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }
}
