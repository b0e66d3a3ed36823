//! Every finops error as a Kotlin exception / Swift error, with the same fields as the core's.

use super::*;

/// One problem in a refused statements document.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FieldIssue {
    pub field: String,
    pub reason: String,
}

/// Every finops error, with the same fields as the core's.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FinopsError {
    #[error("invalid statements at `{field}`: {reason}")]
    InvalidStatements {
        field: String,
        reason: String,
        issues: Vec<FieldIssue>,
    },
    #[error("invalid expression `{expression}` at character {position}: {reason}")]
    InvalidExpression {
        expression: String,
        position: u32,
        reason: String,
    },
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("provider `{provider}` failed: {reason}")]
    Provider {
        provider: String,
        reason: String,
        retryable: bool,
        status: Option<u16>,
        retry_after_secs: Option<f64>,
    },
    #[error("access denied: {reason}")]
    AccessDenied { reason: String },
    #[error("rate limited ({scope}): retry after {retry_after_secs} s")]
    RateLimited {
        scope: String,
        retry_after_secs: f64,
    },
    #[error("monthly budget of `{tenant}` reached: {spent_usd} of {limit_usd} USD")]
    BudgetExceeded {
        tenant: String,
        limit_usd: String,
        spent_usd: String,
    },
    /// A host identity token was refused; `kind`: malformed, algorithm, signature, expired, not_yet_valid,
    /// audience, issuer, missing_claim, invalid_claim.
    #[error("token refused ({kind}): {reason}")]
    InvalidToken { kind: String, reason: String },
    /// Stored or exported data did not check out (altered, moved, reordered, or the wrong key).
    #[error("integrity check failed: {reason}")]
    Integrity { reason: String },
    /// A key needed to read data is unknown or was destroyed by an erasure.
    #[error("key `{key_id}` unavailable: {reason}")]
    KeyUnavailable { key_id: String, reason: String },
    /// A database, cache or queue server, the semantic index or a host's own code failed; `backend`: sqlite,
    /// postgres, redis, semantic_index or host.
    #[error("{backend} backend failed: {reason}")]
    Backend {
        backend: String,
        reason: String,
        retryable: bool,
    },
    #[error("analysis cancelled")]
    Cancelled,
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl From<Error> for FinopsError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidStatements {
                field,
                reason,
                issues,
            } => FinopsError::InvalidStatements {
                field,
                reason,
                issues: issues
                    .into_iter()
                    .map(|i| FieldIssue {
                        field: i.field,
                        reason: i.reason,
                    })
                    .collect(),
            },
            Error::InvalidExpression {
                expression,
                position,
                reason,
            } => FinopsError::InvalidExpression {
                expression,
                position: u32::try_from(position).unwrap_or(u32::MAX),
                reason,
            },
            Error::InvalidArgument { field, reason } => {
                FinopsError::InvalidArgument { field, reason }
            }
            Error::Provider {
                provider,
                reason,
                retryable,
                status,
                retry_after,
            } => FinopsError::Provider {
                provider,
                reason,
                retryable,
                status,
                retry_after_secs: retry_after.map(|d| d.as_secs_f64()),
            },
            Error::AccessDenied { reason } => FinopsError::AccessDenied { reason },
            Error::RateLimited { scope, retry_after } => FinopsError::RateLimited {
                scope: scope.to_string(),
                retry_after_secs: retry_after.as_secs_f64(),
            },
            Error::BudgetExceeded {
                tenant,
                limit_usd,
                spent_usd,
            } => FinopsError::BudgetExceeded {
                tenant,
                limit_usd: limit_usd.to_string(),
                spent_usd: spent_usd.to_string(),
            },
            Error::InvalidToken { kind, reason } => FinopsError::InvalidToken {
                kind: kind.to_string(),
                reason,
            },
            Error::Backend {
                backend,
                reason,
                retryable,
            } => FinopsError::Backend {
                backend: backend.to_string(),
                reason,
                retryable,
            },
            Error::Integrity { reason } => FinopsError::Integrity { reason },
            Error::KeyUnavailable { key_id, reason } => {
                FinopsError::KeyUnavailable { key_id, reason }
            }
            Error::Cancelled => FinopsError::Cancelled,
            other => FinopsError::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FinopsError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FinopsError::Internal {
            detail: format!("a foreign callback failed: {}", e.reason),
        }
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> FinopsError {
    FinopsError::Internal {
        detail: e.to_string(),
    }
}
