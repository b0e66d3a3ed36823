//! `finops_core::Error` as Python exceptions: one class per kind under `finops.FinopsError`, with the same fields.

use finops_core::{Error, ErrorPayload};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

create_exception!(
    finops,
    FinopsError,
    PyException,
    "Base class of every finops error."
);
create_exception!(
    finops,
    InvalidStatementsError,
    FinopsError,
    "The statements document was refused."
);
create_exception!(
    finops,
    InvalidExpressionError,
    FinopsError,
    "A Researcher expression was refused."
);
create_exception!(
    finops,
    InvalidArgumentError,
    FinopsError,
    "A request or configuration value is not acceptable."
);
create_exception!(
    finops,
    ProviderError,
    FinopsError,
    "A language model provider failed."
);
create_exception!(
    finops,
    RateLimitedError,
    ProviderError,
    "A provider answered 429 Too Many Requests, or the SDK's own rate limit was reached."
);
create_exception!(
    finops,
    BudgetExceededError,
    FinopsError,
    "The tenant's monthly budget is reached."
);
create_exception!(
    finops,
    InvalidTokenError,
    FinopsError,
    "An identity token was refused."
);
create_exception!(
    finops,
    AccessDeniedError,
    FinopsError,
    "The principal may not do this."
);
create_exception!(
    finops,
    AnalysisCancelledError,
    FinopsError,
    "The analysis was cancelled."
);
create_exception!(
    finops,
    InternalError,
    FinopsError,
    "A bug in finops itself."
);

create_exception!(
    finops,
    IntegrityError,
    FinopsError,
    "Stored or exported data did not check out: altered, moved, reordered, or read with the wrong key."
);
create_exception!(
    finops,
    KeyUnavailableError,
    FinopsError,
    "A key needed to read data is unknown or was destroyed by an erasure."
);
create_exception!(
    finops,
    BackendError,
    FinopsError,
    "A database, cache or queue server, the semantic index or a host's own code failed; `retryable` says whether to try again."
);

/// The attributes every instance of a class has (None when an error does not set them), beyond `code`,
/// `message`, `field`, `reason`, `retryable` and `details`, which every finops error has.
const DECLARED: &[(&str, &[&str])] = &[
    ("InvalidStatementsError", &["issues"]),
    ("InvalidExpressionError", &["expression", "position"]),
    ("ProviderError", &["provider", "status", "retry_after"]),
    ("RateLimitedError", &["scope"]),
    ("BudgetExceededError", &["tenant", "limit_usd", "spent_usd"]),
    ("InvalidTokenError", &["kind"]),
    ("KeyUnavailableError", &["key_id"]),
    ("BackendError", &["backend"]),
];

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FinopsError", py.get_type::<FinopsError>())?;
    m.add(
        "InvalidStatementsError",
        py.get_type::<InvalidStatementsError>(),
    )?;
    m.add(
        "InvalidExpressionError",
        py.get_type::<InvalidExpressionError>(),
    )?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("ProviderError", py.get_type::<ProviderError>())?;
    m.add("RateLimitedError", py.get_type::<RateLimitedError>())?;
    m.add("AccessDeniedError", py.get_type::<AccessDeniedError>())?;
    m.add("BudgetExceededError", py.get_type::<BudgetExceededError>())?;
    m.add("InvalidTokenError", py.get_type::<InvalidTokenError>())?;
    m.add(
        "AnalysisCancelledError",
        py.get_type::<AnalysisCancelledError>(),
    )?;
    m.add("IntegrityError", py.get_type::<IntegrityError>())?;
    m.add("KeyUnavailableError", py.get_type::<KeyUnavailableError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    let base = py.get_type::<FinopsError>();
    for name in ["code", "message", "field", "reason", "retryable", "details"] {
        base.setattr(name, py.None())?;
    }
    for (class, names) in DECLARED {
        let class = m.getattr(*class)?;
        for name in *names {
            class.setattr(*name, py.None())?;
        }
    }
    Ok(())
}

/// The exception class of an error code (a provider's 429 is a `RateLimitedError`, as the SDK's own limits).
fn class_of<'py>(py: Python<'py>, payload: &ErrorPayload) -> Bound<'py, PyType> {
    match payload.code {
        "invalid_statements" => py.get_type::<InvalidStatementsError>(),
        "invalid_expression" => py.get_type::<InvalidExpressionError>(),
        "invalid_argument" => py.get_type::<InvalidArgumentError>(),
        "provider" if payload.details.get("status") == Some(&serde_json::json!(429)) => {
            py.get_type::<RateLimitedError>()
        }
        "provider" => py.get_type::<ProviderError>(),
        "rate_limited" => py.get_type::<RateLimitedError>(),
        "budget_exceeded" => py.get_type::<BudgetExceededError>(),
        "invalid_token" => py.get_type::<InvalidTokenError>(),
        "access_denied" => py.get_type::<AccessDeniedError>(),
        "cancelled" => py.get_type::<AnalysisCancelledError>(),
        "integrity" => py.get_type::<IntegrityError>(),
        "key_unavailable" => py.get_type::<KeyUnavailableError>(),
        "backend" => py.get_type::<BackendError>(),
        _ => py.get_type::<InternalError>(),
    }
}

/// One value of an error's details as Python: amounts (`*_usd`) as `decimal.Decimal`, the rest as JSON gives it.
fn detail<'py>(
    py: Python<'py>,
    key: &str,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        serde_json::Value::String(s) if key.ends_with("_usd") => {
            py.import("decimal")?.getattr("Decimal")?.call1((s,))
        }
        other => Ok(crate::convert::json_to_py(py, &other.to_string())?.into_bound(py)),
    }
}

/// Converts a core error into its Python exception, generically from [`Error::payload`]: `code`, `message`,
/// `field`, `reason`, `retryable`, `details` (a dict), and each detail as an attribute of its own. The one unit
/// conversion: durations in milliseconds (`retry_after_ms`) are also given in seconds, as Python counts time
/// (`retry_after`).
pub(crate) fn to_py(e: Error) -> PyErr {
    let payload = e.payload();
    Python::attach(|py| {
        let err = PyErr::from_type(class_of(py, &payload), payload.message.clone());
        // Setting attributes on a fresh exception cannot fail in practice; the message stands if it did.
        let _ = fill(py, &err, &payload);
        err
    })
}

fn fill(py: Python<'_>, err: &PyErr, payload: &ErrorPayload) -> PyResult<()> {
    let value = err.value(py);
    value.setattr("code", payload.code)?;
    value.setattr("message", &payload.message)?;
    value.setattr("field", payload.field.as_deref())?;
    value.setattr("reason", payload.reason.as_deref())?;
    value.setattr("retryable", payload.retryable)?;
    let details = PyDict::new(py);
    for (key, v) in &payload.details {
        let v = detail(py, key, v)?;
        details.set_item(key, &v)?;
        match key.strip_suffix("_ms") {
            Some(name) => {
                let seconds = v.extract::<Option<f64>>()?.map(|ms| ms / 1000.0);
                value.setattr(name, seconds)?;
            }
            None => value.setattr(key.as_str(), v)?,
        }
    }
    value.setattr("details", details)?;
    Ok(())
}

/// An integer argument within `[min, max]`, or `InvalidArgumentError` naming it (never `OverflowError` or a
/// panic, whatever Python passes: negative, huge, a float, a string).
pub(crate) fn int_arg(field: &str, value: &Bound<'_, PyAny>, min: i64, max: i64) -> PyResult<i64> {
    let bad = || invalid_argument(field, format!("must be an integer from {min} to {max}"));
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(bad());
    }
    match value.extract::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(bad()),
    }
}

/// A number (Python `int` or `float`) as `f64`, or `InvalidArgumentError` naming it; the core checks its range.
pub(crate) fn float_arg(field: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid_argument(field, "must be a number"));
    }
    value
        .extract::<f64>()
        .map_err(|_| invalid_argument(field, "must be a finite number"))
}

/// A number of seconds within `[min, max]` (finite), or `InvalidArgumentError` naming it.
pub(crate) fn seconds_arg(
    field: &str,
    value: &Bound<'_, PyAny>,
    min: f64,
    max: f64,
) -> PyResult<std::time::Duration> {
    let v = float_arg(field, value)?;
    finops_core::analysis::seconds(field, v, min, max).map_err(to_py)
}

/// A core error for a bad argument, as a Python exception.
pub(crate) fn invalid_argument(field: &str, reason: impl Into<String>) -> PyErr {
    to_py(Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    })
}
