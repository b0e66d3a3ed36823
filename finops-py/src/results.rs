//! Typed parts of an `Analysis` for Python: `Figure`, `FigureInput`, `Computation`, `Finding`, `PhaseUsage` and
//! `AnalysisPlan`, with amounts as `decimal.Decimal` and names as the core's ids. Each wraps the core's value and
//! converts on access; `to_dict()` gives the JSON contract, and `==` compares values.

use finops_core::Decimal;
use finops_core::analysis::{AnalysisPlan, ComputationRecord, Finding, PhaseUsage};
use finops_core::metrics::{Figure, FigureInput};
use pyo3::prelude::*;

use crate::convert::{internal, json_to_py};

/// A decimal as `decimal.Decimal` (None stays None).
pub(crate) fn decimal(py: Python<'_>, value: Option<Decimal>) -> PyResult<Py<PyAny>> {
    match value {
        None => Ok(py.None()),
        Some(v) => Ok(py
            .import("decimal")?
            .getattr("Decimal")?
            .call1((v.to_string(),))?
            .unbind()),
    }
}

/// A serde value's JSON form as Python (ids of enums are their JSON strings).
fn as_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    json_to_py(py, &serde_json::to_string(value).map_err(internal)?)
}

fn id_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Defines a frozen Python class over a core value with `to_dict`, `__eq__` and `__repr__`.
macro_rules! result_class {
    ($rust:ident, $py:literal, $core:ty, { $($methods:tt)* }) => {
        #[pyclass(module = "finops", name = $py, frozen)]
        pub(crate) struct $rust {
            pub(crate) inner: $core,
        }

        impl $rust {
            #[allow(dead_code, reason = "not every part is a list")]
            pub(crate) fn list(values: &[$core]) -> Vec<Self> {
                values.iter().map(|v| $rust { inner: v.clone() }).collect()
            }
        }

        #[pymethods]
        impl $rust {
            $($methods)*

            /// The JSON contract of this value, as a dict.
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                as_py(py, &self.inner)
            }
            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other
                    .cast::<$rust>()
                    .is_ok_and(|o| o.get().inner == self.inner)
            }
            /// `value["field"]` as `value.field`: reads the way the dicts of earlier versions did.
            fn __getitem__(slf: &Bound<'_, Self>, key: &str) -> PyResult<Py<PyAny>> {
                slf.getattr(key)
                    .map(Bound::unbind)
                    .map_err(|_| pyo3::exceptions::PyKeyError::new_err(key.to_string()))
            }
            fn __repr__(&self) -> String {
                format!(
                    "{}({})",
                    $py,
                    serde_json::to_string(&self.inner).unwrap_or_default()
                )
            }
        }
    };
}

result_class!(PyFigure, "Figure", Figure, {
    /// `metric@period`, e.g. `gross_margin@FY2023`: what findings cite.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric.id()
    }
    #[getter]
    fn period(&self) -> &str {
        &self.inner.period
    }
    /// The exact value (`decimal.Decimal`; percentages as fractions), or None when not computable.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.value)
    }
    /// `ratio`, `percent`, `amount` or `days`.
    #[getter]
    fn unit(&self) -> String {
        id_of(&self.inner.unit)
    }
    /// `closing` or `average`.
    #[getter]
    fn basis(&self) -> String {
        id_of(&self.inner.basis)
    }
    #[getter]
    fn formula(&self) -> &str {
        &self.inner.formula
    }
    /// The statement amounts it was computed from.
    #[getter]
    fn inputs(&self) -> Vec<PyFigureInput> {
        PyFigureInput::list(&self.inner.inputs)
    }
    /// Why there is no value, when there is none.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }
});
result_class!(PyFigureInput, "FigureInput", FigureInput, {
    /// The statement line, e.g. `revenue`.
    #[getter]
    fn line(&self) -> &str {
        &self.inner.line
    }
    #[getter]
    fn period(&self) -> &str {
        &self.inner.period
    }
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, Some(self.inner.value))
    }
    /// The ledger accounts that made the amount (dicts with `account`, `name`, `amount`), when the statements were
    /// read from a ledger; None otherwise.
    #[getter]
    fn accounts(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.inner.accounts {
            Some(a) => as_py(py, a),
            None => Ok(py.None()),
        }
    }
});
result_class!(PyComputation, "Computation", ComputationRecord, {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    #[getter]
    fn expression(&self) -> &str {
        &self.inner.expression
    }
    #[getter]
    fn period(&self) -> &str {
        &self.inner.period
    }
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.value)
    }
    #[getter]
    fn inputs(&self) -> Vec<PyFigureInput> {
        PyFigureInput::list(&self.inner.inputs)
    }
    /// Why the expression could not be evaluated, when it could not.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.inner.error.as_deref()
    }
});
result_class!(PyFinding, "Finding", Finding, {
    #[getter]
    fn text(&self) -> &str {
        &self.inner.text
    }
    /// The figure and computation ids it rests on.
    #[getter]
    fn cites(&self) -> Vec<String> {
        self.inner.cites.clone()
    }
    /// `confirmed`, `rejected` or `unchecked`.
    #[getter]
    fn status(&self) -> String {
        id_of(&self.inner.status)
    }
    #[getter]
    fn note(&self) -> Option<&str> {
        self.inner.note.as_deref()
    }
});
result_class!(PyPhaseUsage, "PhaseUsage", PhaseUsage, {
    /// `analyst`, `researcher` or `validator`.
    #[getter]
    fn phase(&self) -> &'static str {
        self.inner.phase.id()
    }
    #[getter]
    fn provider(&self) -> &str {
        &self.inner.provider
    }
    #[getter]
    fn model(&self) -> &str {
        &self.inner.model
    }
    #[getter]
    fn calls(&self) -> u32 {
        self.inner.calls
    }
    #[getter]
    fn input_tokens(&self) -> u64 {
        self.inner.input_tokens
    }
    #[getter]
    fn output_tokens(&self) -> u64 {
        self.inner.output_tokens
    }
    /// USD as `decimal.Decimal`; None when unknown (an unpriced model), never a made-up 0.
    #[getter]
    fn cost_usd(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal(py, self.inner.cost_usd)
    }
    #[getter]
    fn latency_ms(&self) -> u64 {
        self.inner.latency_ms
    }
    #[getter]
    fn cached(&self) -> bool {
        self.inner.cached
    }
    #[getter]
    fn retries(&self) -> u32 {
        self.inner.retries
    }
    #[getter]
    fn fallbacks(&self) -> u32 {
        self.inner.fallbacks
    }
    #[getter]
    fn unpriced(&self) -> bool {
        self.inner.unpriced
    }
    #[getter]
    fn usage_missing(&self) -> bool {
        self.inner.usage_missing
    }
    /// Input tokens read from the provider's prompt cache (part of `input_tokens`).
    #[getter]
    fn cached_input_tokens(&self) -> u64 {
        self.inner.cached_input_tokens
    }
    /// Input tokens written to the provider's prompt cache (part of `input_tokens`).
    #[getter]
    fn cache_write_tokens(&self) -> u64 {
        self.inner.cache_write_tokens
    }
    /// Of `cache_write_tokens`, those written for an hour (billed at the hour-long write price).
    #[getter]
    fn cache_write_1h_tokens(&self) -> u64 {
        self.inner.cache_write_1h_tokens
    }
});
result_class!(PyAnalysisPlan, "AnalysisPlan", AnalysisPlan, {
    #[getter]
    fn intents(&self) -> Vec<String> {
        self.inner.intents.iter().map(id_of).collect()
    }
    /// Catalogue metric ids.
    #[getter]
    fn metrics(&self) -> Vec<&'static str> {
        self.inner.metrics.iter().map(|m| m.id()).collect()
    }
    #[getter]
    fn periods(&self) -> Vec<String> {
        self.inner.periods.clone()
    }
    /// Dicts with `metric`, `from` and `to`.
    #[getter]
    fn comparisons(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        as_py(py, &self.inner.comparisons)
    }
    #[getter]
    fn language(&self) -> &'static str {
        self.inner.language.id()
    }
    /// Whether the plan asked where the client stands among the firm's other clients.
    #[getter]
    fn benchmark(&self) -> bool {
        self.inner.benchmark
    }
});
