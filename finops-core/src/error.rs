//! The one error type of finops. Hosts match on its variants; bindings map each variant to an exception or
//! error class of the same name, and [`Error::code`] gives a stable string for logs and error payloads.

use serde::Serialize;

/// One problem found in a host's input: where it is (a JSON path such as
/// `periods[0].balance_sheet.total_assets`) and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    /// JSON path of the offending field; `$` for the document itself.
    pub field: String,
    /// A sentence a person can act on.
    pub reason: String,
}

impl FieldIssue {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.reason)
    }
}

/// Everything that can go wrong in finops.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The statements document was refused. `field` and `reason` describe the first problem; `issues` lists
    /// every problem found (the first one included), in document order.
    #[error("invalid statements at `{field}`: {reason}{}", more_suffix(issues))]
    InvalidStatements {
        field: String,
        reason: String,
        issues: Vec<FieldIssue>,
    },

    /// A Researcher expression was refused or could not be evaluated.
    #[error("invalid expression `{expression}` at character {position}: {reason}")]
    InvalidExpression {
        expression: String,
        /// 0-based character offset where the problem was found.
        position: usize,
        reason: String,
    },

    /// A request or configuration value given by the host is not acceptable.
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument { field: String, reason: String },

    /// A language model provider failed (network, HTTP status, timeout, malformed or broken answer).
    #[error("provider `{provider}` failed: {reason}")]
    Provider {
        provider: String,
        reason: String,
        /// Whether trying the same call again may succeed.
        retryable: bool,
        /// The HTTP status, when the server answered with one.
        status: Option<u16>,
        /// How long the server asked us to wait (`Retry-After`).
        retry_after: Option<std::time::Duration>,
    },

    /// The principal may not do this (another tenant, or a Client outside its own company).
    #[error("access denied: {reason}")]
    AccessDenied { reason: String },

    /// Encrypted data did not authenticate: altered, moved to another row or tenant, or the wrong key.
    #[error("integrity check failed: {reason}")]
    Integrity { reason: String },

    /// A key needed to read data is not available (unknown, or destroyed by an erasure).
    #[error("key `{key_id}` unavailable: {reason}")]
    KeyUnavailable { key_id: String, reason: String },

    /// A host's identity token was refused. `kind` says why, stably: `malformed`, `algorithm`, `signature`,
    /// `expired`, `not_yet_valid`, `audience`, `issuer`, `missing_claim`, `invalid_claim`.
    #[error("token refused ({kind}): {reason}")]
    InvalidToken { kind: String, reason: String },

    /// Too many requests for a tenant or principal; try again after `retry_after`.
    #[error("rate limited ({scope}): retry after {} ms", retry_after.as_millis())]
    RateLimited {
        scope: String,
        retry_after: std::time::Duration,
    },

    /// The tenant's monthly budget would be exceeded: the analysis was not started.
    #[error(
        "monthly budget of tenant `{tenant}` reached: {spent_usd} of {limit_usd} USD spent or reserved"
    )]
    BudgetExceeded {
        tenant: String,
        limit_usd: rust_decimal::Decimal,
        spent_usd: rust_decimal::Decimal,
    },

    /// The analysis was cancelled before it finished.
    #[error("analysis cancelled")]
    Cancelled,

    /// An invariant of finops itself was broken: a bug to report, never the host's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

fn more_suffix(issues: &[FieldIssue]) -> String {
    match issues.len() {
        0 | 1 => String::new(),
        n => format!(
            " (and {} more problem{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    }
}

impl Error {
    /// A stable, machine-readable code for this error, identical in every binding.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidStatements { .. } => "invalid_statements",
            Error::InvalidExpression { .. } => "invalid_expression",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Provider { .. } => "provider",
            Error::AccessDenied { .. } => "access_denied",
            Error::Integrity { .. } => "integrity",
            Error::KeyUnavailable { .. } => "key_unavailable",
            Error::InvalidToken { .. } => "invalid_token",
            Error::RateLimited { .. } => "rate_limited",
            Error::BudgetExceeded { .. } => "budget_exceeded",
            Error::Cancelled => "cancelled",
            Error::Internal(_) => "internal",
        }
    }

    /// The input field an error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidStatements { field, .. } | Error::InvalidArgument { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    pub(crate) fn invalid_statements(mut issues: Vec<FieldIssue>) -> Self {
        if issues.is_empty() {
            issues.push(FieldIssue::new("$", "the document was refused"));
        }
        let first = issues[0].clone();
        Error::InvalidStatements {
            field: first.field,
            reason: first.reason,
            issues,
        }
    }

    /// A provider failure with no HTTP status.
    pub fn provider(
        provider: impl Into<String>,
        reason: impl Into<String>,
        retryable: bool,
    ) -> Self {
        Error::Provider {
            provider: provider.into(),
            reason: reason.into(),
            retryable,
            status: None,
            retry_after: None,
        }
    }

    /// Whether trying again may succeed (only provider failures can be).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Provider {
                retryable: true,
                ..
            }
        )
    }

    pub(crate) fn invalid_argument(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
