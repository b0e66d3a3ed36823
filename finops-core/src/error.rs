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
        /// The JSON path of the first problem.
        field: String,
        /// Why it was refused.
        reason: String,
        /// Every problem, in document order.
        issues: Vec<FieldIssue>,
    },

    /// A Researcher expression was refused or could not be evaluated.
    #[error("invalid expression `{expression}` at character {position}: {reason}")]
    InvalidExpression {
        /// The expression as given.
        expression: String,
        /// 0-based character offset where the problem was found.
        position: usize,
        /// Why it was refused.
        reason: String,
    },

    /// A request or configuration value given by the host is not acceptable.
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument {
        /// The argument or configuration path (`providers.openrouter.max_retries`).
        field: String,
        /// Why it was refused.
        reason: String,
    },

    /// A language model provider failed (network, HTTP status, timeout, malformed or broken answer).
    #[error("provider `{provider}` failed: {reason}")]
    Provider {
        /// The provider's name (`openrouter`, `anthropic`, a host's).
        provider: String,
        /// What happened, with any key scrubbed.
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
    AccessDenied {
        /// What was refused and why.
        reason: String,
    },

    /// Encrypted data did not authenticate: altered, moved to another row or tenant, or the wrong key.
    #[error("integrity check failed: {reason}")]
    Integrity {
        /// What failed to authenticate.
        reason: String,
    },

    /// A key needed to read data is not available (unknown, or destroyed by an erasure).
    #[error("key `{key_id}` unavailable: {reason}")]
    KeyUnavailable {
        /// The key's id.
        key_id: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// A host's identity token was refused; `kind` says why.
    #[error("token refused ({kind}): {reason}")]
    InvalidToken {
        /// The kind of refusal, stable across bindings.
        kind: TokenRefusal,
        /// The verifier's explanation.
        reason: String,
    },

    /// Too many requests for a tenant or principal, or a full queue; try again after `retry_after`.
    #[error("rate limited ({scope}): retry after {} ms", retry_after.as_millis())]
    RateLimited {
        /// What the limit counts.
        scope: RateLimitScope,
        /// How long to wait before trying again.
        retry_after: std::time::Duration,
    },

    /// A backend finops relies on failed: a database, a cache or queue server, the semantic index, or a host's
    /// own code behind a trait. Not the host's input and not a bug in finops: `retryable` says whether the same
    /// call may succeed later (a dropped connection, a busy database) or not (a refused query, a full disk).
    #[error("{backend} backend failed: {reason}")]
    Backend {
        /// Which backend failed.
        backend: BackendKind,
        /// What happened (URLs with their passwords redacted).
        reason: String,
        /// Whether the same call may succeed later.
        retryable: bool,
    },

    /// The tenant's monthly budget would be exceeded: the analysis was not started.
    #[error(
        "monthly budget of tenant `{tenant}` reached: {spent_usd} of {limit_usd} USD spent or reserved"
    )]
    BudgetExceeded {
        /// The firm whose budget is reached.
        tenant: String,
        /// The monthly limit, in USD.
        limit_usd: rust_decimal::Decimal,
        /// What is spent and reserved this month, in USD.
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
            Error::Backend { .. } => "backend",
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

    /// Whether trying again may succeed: a provider or backend failure that says so, a rate limit (after its
    /// wait).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Provider {
                retryable: true,
                ..
            } | Error::Backend {
                retryable: true,
                ..
            } | Error::RateLimited { .. }
        )
    }

    /// A backend failure.
    pub fn backend(backend: BackendKind, reason: impl Into<String>, retryable: bool) -> Self {
        Error::Backend {
            backend,
            reason: reason.into(),
            retryable,
        }
    }

    /// A database failure through sqlx. Retryable when the connection or pool failed, or the database asks for
    /// a retry (PostgreSQL serialization failures, deadlocks, shutdowns, too many connections; SQLite busy or
    /// locked); not when the query itself was refused.
    #[cfg(any(feature = "postgres", feature = "sqlite"))]
    pub(crate) fn from_sqlx(backend: BackendKind, context: &str, err: &sqlx::Error) -> Self {
        let retryable = match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref(),
                Some(
                    "40001"
                        | "40P01"
                        | "57P01"
                        | "57P02"
                        | "57P03"
                        | "53300"
                        | "08000"
                        | "08003"
                        | "08006"
                        | "5"
                        | "6"
                        | "261"
                        | "262"
                        | "517"
                )
            ),
            _ => false,
        };
        Error::backend(backend, format!("{context}: {err}"), retryable)
    }

    /// A failure to connect to a database at `url_field`: a URL sqlx cannot read is the host's argument; a server
    /// that cannot be reached or refuses the login is a backend failure.
    #[cfg(feature = "postgres")]
    pub(crate) fn from_sqlx_connect(
        backend: BackendKind,
        url_field: &str,
        err: &sqlx::Error,
    ) -> Self {
        match err {
            sqlx::Error::Configuration(_) => {
                Error::invalid_argument(url_field, format!("cannot connect: {err}"))
            }
            other => Error::from_sqlx(backend, &format!("cannot connect ({url_field})"), other),
        }
    }

    /// A Redis failure. Retryable when the connection failed, dropped or timed out.
    #[cfg(feature = "redis")]
    pub(crate) fn from_redis(context: &str, err: &redis::RedisError) -> Self {
        let retryable = err.is_io_error()
            || err.is_timeout()
            || err.is_connection_dropped()
            || err.is_connection_refusal();
        Error::backend(BackendKind::Redis, format!("{context}: {err}"), retryable)
    }

    /// The one serialized form of this error, identical in every binding: each binding builds its exception or
    /// error object from it, field by field, without knowing the variants.
    pub fn payload(&self) -> ErrorPayload {
        use serde_json::json;
        let mut details = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            details.insert(k.to_string(), v);
        };
        let (field, reason) = match self {
            Error::InvalidStatements {
                field,
                reason,
                issues,
            } => {
                put("issues", json!(issues));
                (Some(field.clone()), Some(reason.clone()))
            }
            Error::InvalidExpression {
                expression,
                position,
                reason,
            } => {
                put("expression", json!(expression));
                put("position", json!(position));
                (None, Some(reason.clone()))
            }
            Error::InvalidArgument { field, reason } => (Some(field.clone()), Some(reason.clone())),
            Error::Provider {
                provider,
                reason,
                status,
                retry_after,
                ..
            } => {
                put("provider", json!(provider));
                put("status", json!(status));
                put("retry_after_ms", json!(retry_after.map(millis)));
                (None, Some(reason.clone()))
            }
            Error::AccessDenied { reason } | Error::Integrity { reason } => {
                (None, Some(reason.clone()))
            }
            Error::KeyUnavailable { key_id, reason } => {
                put("key_id", json!(key_id));
                (None, Some(reason.clone()))
            }
            Error::InvalidToken { kind, reason } => {
                put("kind", json!(kind));
                (None, Some(reason.clone()))
            }
            Error::RateLimited { scope, retry_after } => {
                put("scope", json!(scope));
                put("retry_after_ms", json!(millis(*retry_after)));
                (None, None)
            }
            Error::BudgetExceeded {
                tenant,
                limit_usd,
                spent_usd,
            } => {
                put("tenant", json!(tenant));
                put("limit_usd", json!(limit_usd.to_string()));
                put("spent_usd", json!(spent_usd.to_string()));
                (None, None)
            }
            Error::Backend {
                backend, reason, ..
            } => {
                put("backend", json!(backend));
                (None, Some(reason.clone()))
            }
            Error::Cancelled => (None, None),
            Error::Internal(reason) => (None, Some(reason.clone())),
        };
        ErrorPayload {
            code: self.code(),
            message: self.to_string(),
            field,
            reason,
            retryable: self.is_retryable(),
            details,
        }
    }

    pub(crate) fn invalid_argument(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A host configured (in `field`) a part finops was built without: the cargo `feature` that brings it.
    #[allow(dead_code, reason = "only called in builds leaving some feature out")]
    pub(crate) fn feature_disabled(field: impl Into<String>, what: &str, feature: &str) -> Self {
        Error::invalid_argument(
            field,
            format!(
                "{what} is not in this build of finops: it was compiled without the `{feature}` cargo feature"
            ),
        )
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An error in the form every binding reads: a stable `code` (see [`Error::code`]), the message, the input
/// `field` and `reason` when there are, whether a retry may help, and the variant's other values in `details`
/// (`issues`, `provider`, `status`, `retry_after_ms`, `scope`, `kind`, `backend`, `key_id`, `tenant`,
/// `limit_usd`, `spent_usd`, `expression`, `position`; amounts as decimal strings, durations in milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorPayload {
    /// The stable code ([`Error::code`]).
    pub code: &'static str,
    /// The error's message.
    pub message: String,
    /// The input field, when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, when the variant has a reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether trying again may succeed.
    pub retryable: bool,
    /// The variant's other values.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.payload().serialize(serializer)
    }
}

macro_rules! closed_names {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// The stable name, as serialized and as every binding shows it.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.id())
            }
        }
    };
}

closed_names!(
    /// Why an identity token was refused.
    TokenRefusal {
        /// Not a JWT, or a part is not valid base64 or JSON.
        Malformed => "malformed",
        /// An algorithm the verifier does not accept (or `none`).
        Algorithm => "algorithm",
        /// The signature does not verify with any configured key.
        Signature => "signature",
        /// Past its `exp`.
        Expired => "expired",
        /// Before its `nbf`.
        NotYetValid => "not_yet_valid",
        /// Issued for another audience.
        Audience => "audience",
        /// Issued by another issuer.
        Issuer => "issuer",
        /// A claim finops needs (tenant, role) is absent.
        MissingClaim => "missing_claim",
        /// A claim has a value finops cannot use (an unknown role, a malformed id).
        InvalidClaim => "invalid_claim",
    }
);

closed_names!(
    /// What a rate limit counts.
    RateLimitScope {
        /// A CPA firm's requests per minute.
        Tenant => "tenant",
        /// One principal's requests per minute.
        Principal => "principal",
        /// A queue at capacity (backpressure).
        Queue => "queue",
    }
);

closed_names!(
    /// Which backend failed.
    BackendKind {
        /// The embedded SQLite store.
        Sqlite => "sqlite",
        /// A PostgreSQL store, queue or cache synchronisation.
        Postgres => "postgres",
        /// A Redis cache or queue.
        Redis => "redis",
        /// The in-process semantic index (usearch).
        SemanticIndex => "semantic_index",
        /// A host's own implementation of a trait (a cache, a store, a callback).
        Host => "host",
        /// An identity provider's published key set (JWKS).
        Identity => "identity",
    }
);

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
