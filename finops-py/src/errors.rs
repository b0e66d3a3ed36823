//! `finops_core::Error` as Python exceptions: one class per kind under `finops.FinopsError`, with the same fields.

use finops_core::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

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
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

fn with_attrs(py: Python<'_>, err: PyErr, attrs: &[(&str, Py<PyAny>)], code: &str) -> PyErr {
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail; if it did, the message still stands.
    let _ = value.setattr("code", code);
    for (name, v) in attrs {
        let _ = value.setattr(*name, v.bind(py));
    }
    err
}

/// Converts a core error into the matching Python exception, with `code` and the error's fields as attributes.
pub(crate) fn to_py(e: Error) -> PyErr {
    Python::attach(|py| {
        let message = e.to_string();
        let code = e.code();
        let s = |v: &str| -> Py<PyAny> {
            v.into_pyobject(py)
                .map(|o| o.into_any().unbind())
                .unwrap_or_else(|_| py.None())
        };
        match e {
            Error::InvalidStatements {
                field,
                reason,
                issues,
            } => {
                let list = PyList::empty(py);
                for i in &issues {
                    let d = PyDict::new(py);
                    let _ = d.set_item("field", &i.field);
                    let _ = d.set_item("reason", &i.reason);
                    let _ = list.append(d);
                }
                let err = InvalidStatementsError::new_err(message);
                with_attrs(
                    py,
                    err,
                    &[
                        ("field", s(&field)),
                        ("reason", s(&reason)),
                        ("issues", list.into_any().unbind()),
                    ],
                    code,
                )
            }
            Error::InvalidExpression {
                expression,
                position,
                reason,
            } => {
                let pos = position
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None());
                let err = InvalidExpressionError::new_err(message);
                with_attrs(
                    py,
                    err,
                    &[
                        ("expression", s(&expression)),
                        ("position", pos),
                        ("reason", s(&reason)),
                    ],
                    code,
                )
            }
            Error::InvalidArgument { field, reason } => {
                let err = InvalidArgumentError::new_err(message);
                with_attrs(
                    py,
                    err,
                    &[("field", s(&field)), ("reason", s(&reason))],
                    code,
                )
            }
            Error::Provider {
                provider,
                reason,
                retryable,
                status,
                retry_after,
            } => {
                let err = if status == Some(429) {
                    RateLimitedError::new_err(message)
                } else {
                    ProviderError::new_err(message)
                };
                let opt = |v: Option<Py<PyAny>>| v.unwrap_or_else(|| py.None());
                let status = opt(status
                    .and_then(|s| s.into_pyobject(py).ok())
                    .map(|o| o.into_any().unbind()));
                let after = opt(retry_after
                    .and_then(|d| d.as_secs_f64().into_pyobject(py).ok())
                    .map(|o| o.into_any().unbind()));
                let retryable = opt(retryable
                    .into_pyobject(py)
                    .ok()
                    .map(|o| o.to_owned().into_any().unbind()));
                with_attrs(
                    py,
                    err,
                    &[
                        ("provider", s(&provider)),
                        ("reason", s(&reason)),
                        ("retryable", retryable),
                        ("status", status),
                        ("retry_after", after),
                    ],
                    code,
                )
            }
            Error::AccessDenied { reason } => with_attrs(
                py,
                AccessDeniedError::new_err(message),
                &[("reason", s(&reason))],
                code,
            ),
            Error::RateLimited { scope, retry_after } => {
                let after = retry_after
                    .as_secs_f64()
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None());
                with_attrs(
                    py,
                    RateLimitedError::new_err(message),
                    &[
                        ("scope", s(&scope)),
                        ("retry_after", after),
                        ("status", py.None()),
                    ],
                    code,
                )
            }
            Error::BudgetExceeded {
                tenant,
                limit_usd,
                spent_usd,
            } => {
                let dec = |d: finops_core::Decimal| -> Py<PyAny> {
                    py.import("decimal")
                        .and_then(|m| m.getattr("Decimal"))
                        .and_then(|c| c.call1((d.to_string(),)))
                        .map(|o| o.unbind())
                        .unwrap_or_else(|_| py.None())
                };
                with_attrs(
                    py,
                    BudgetExceededError::new_err(message),
                    &[
                        ("tenant", s(&tenant)),
                        ("limit_usd", dec(limit_usd)),
                        ("spent_usd", dec(spent_usd)),
                    ],
                    code,
                )
            }
            Error::InvalidToken { kind, reason } => with_attrs(
                py,
                InvalidTokenError::new_err(message),
                &[("kind", s(&kind)), ("reason", s(&reason))],
                code,
            ),
            Error::Integrity { reason } => with_attrs(
                py,
                IntegrityError::new_err(message),
                &[("reason", s(&reason))],
                code,
            ),
            Error::KeyUnavailable { key_id, reason } => with_attrs(
                py,
                KeyUnavailableError::new_err(message),
                &[("key_id", s(&key_id)), ("reason", s(&reason))],
                code,
            ),
            Error::Cancelled => with_attrs(py, AnalysisCancelledError::new_err(message), &[], code),
            other => with_attrs(py, InternalError::new_err(other.to_string()), &[], code),
        }
    })
}

/// A core error for a bad argument, as a Python exception.
pub(crate) fn invalid_argument(field: &str, reason: impl Into<String>) -> PyErr {
    to_py(Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    })
}
