//! finops errors as HTTP answers: one JSON body (`{"error": <the core's serialized error>}`) and a status the
//! error's kind decides. Another firm's ids, and a Client's look at another company's analysis, are 404 like an
//! id that does not exist: nobody learns which ids exist elsewhere.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use finops_core::Error;

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// 404 for `what` (nothing said about whether it exists elsewhere).
    pub fn not_found(what: &str) -> Self {
        Self::plain(
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            &format!("no such {what}"),
        )
    }

    /// 400 naming the refused field.
    pub fn bad_request(field: &str, reason: impl Into<String>) -> Self {
        crate::invalid(field, reason).into()
    }

    /// 403: the principal's role does not allow the route.
    pub fn forbidden(reason: &str) -> Self {
        Self::plain(StatusCode::FORBIDDEN, "access_denied", None, reason)
    }

    /// 401: no usable bearer token.
    pub fn unauthorized(reason: &str) -> Self {
        Self::plain(StatusCode::UNAUTHORIZED, "invalid_token", None, reason)
    }

    /// 503 with `Retry-After: 1`: this instance is at capacity.
    pub fn unavailable(reason: &str) -> Self {
        let mut e = Self::plain(StatusCode::SERVICE_UNAVAILABLE, "backend", None, reason);
        e.retry_after_seconds = Some(1);
        e
    }

    /// 413: the body is over the limit.
    pub fn too_large(field: &str, limit: usize) -> Self {
        Self::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_argument",
            Some(field),
            &format!("larger than the {limit} bytes this server accepts"),
        )
    }

    fn plain(status: StatusCode, code: &str, field: Option<&str>, reason: &str) -> Self {
        let mut body = serde_json::json!({"code": code, "message": reason, "reason": reason,
                                          "retryable": false});
        if let Some(f) = field {
            body["field"] = f.into();
        }
        ApiError {
            status,
            body: serde_json::json!({ "error": body }),
            retry_after_seconds: None,
        }
    }

    /// The status this answer carries.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// Whether `e` says an id does not exist for this principal (the vault and the queue name the field `id`).
fn is_unknown_id(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument { field, reason }
        if field == "id" && (reason.starts_with("no analysis") || reason.starts_with("no such job")))
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        if is_unknown_id(&e) {
            return ApiError::not_found("analysis");
        }
        let status = match &e {
            Error::InvalidStatements { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidExpression { .. } => StatusCode::BAD_REQUEST,
            Error::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Error::AccessDenied { .. } => StatusCode::FORBIDDEN,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::BudgetExceeded { .. } => StatusCode::PAYMENT_REQUIRED,
            Error::Cancelled => StatusCode::CONFLICT,
            Error::Provider { .. } => StatusCode::BAD_GATEWAY,
            Error::Backend { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after_seconds = match &e {
            // Whole seconds, rounded up: a client that waits what the header says is let through.
            Error::RateLimited { retry_after, .. } => {
                Some(retry_after.as_millis().div_ceil(1000).max(1) as u64)
            }
            _ => None,
        };
        let body = match status {
            // Internal details stay in the log, not in the answer.
            StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(code = e.code(), error = %e, "request failed");
                serde_json::json!({"error": {"code": e.code(), "message": "internal error",
                                              "retryable": e.is_retryable()}})
            }
            _ => serde_json::json!({ "error": e.payload() }),
        };
        ApiError {
            status,
            body,
            retry_after_seconds,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(s) = self.retry_after_seconds
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

/// A handler's result.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
