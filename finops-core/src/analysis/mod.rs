//! The contracts every layer speaks (ARCHITECTURE.md "Layers"): what a host asks ([`AnalysisRequest`]), who asks
//! ([`Principal`]), what it gets back ([`Analysis`], its plan, figures, findings, usage and [`Event`]s), and the
//! language and intent rules shared by the caches and the offline analyst. This module depends only on
//! `statements`, `metrics` and `error`; everything above it (providers, security, stores, caches, queues, the
//! pipeline) imports it, never the other way round.

pub mod intent;
mod language;
mod principal;
mod types;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::statements::Statements;

pub use language::Language;

/// A duration given in seconds: finite, within `[min, max]`, named by its path when it is not.
pub fn seconds(field: &str, value: f64, min: f64, max: f64) -> Result<Duration> {
    if !value.is_finite() || value < min || value > max {
        return Err(Error::invalid_argument(
            field,
            if value.abs() < 1e15 {
                format!("{value} is not a number of seconds from {min} to {max}")
            } else {
                format!("{value:e} is not a number of seconds from {min} to {max}")
            },
        ));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|e| Error::invalid_argument(field, format!("{value} seconds: {e}")))
}

/// What a queue's worker runs each job with: the [`crate::Pipeline`] (converted with `.into()`), or a host's own
/// analyzer. It returns the analysis without saving it: the worker stores each job's result itself, once, under the
/// job's id.
#[async_trait::async_trait]
pub trait Analyzer: Send + Sync + fmt::Debug {
    /// Runs `request` to its end, sending its events (all but `Completed` and `Failed`, whose outcome the caller
    /// gets back) to `events` when it is given.
    async fn run(
        &self,
        request: AnalysisRequest,
        events: Option<futures::channel::mpsc::UnboundedSender<Event>>,
    ) -> Result<Analysis>;
}
pub use principal::{Principal, Role};
pub use types::*;

/// The three phases of an analysis, each of which may use its own provider and model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Plans the analysis.
    Analyst,
    /// Requests exact computations and writes findings.
    Researcher,
    /// Checks the findings and writes the report.
    Validator,
}

impl Phase {
    /// The three phases, in the order they run.
    pub const ALL: [Phase; 3] = [Phase::Analyst, Phase::Researcher, Phase::Validator];

    /// The stable name (`analyst`, `researcher`, `validator`).
    pub fn id(self) -> &'static str {
        match self {
            Phase::Analyst => "analyst",
            Phase::Researcher => "researcher",
            Phase::Validator => "validator",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Phase {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Phase::ALL.into_iter().find(|p| p.id() == s).ok_or_else(|| {
            Error::invalid_argument(
                "phase",
                format!("unknown phase `{s}`: expected analyst, researcher or validator"),
            )
        })
    }
}

/// What to analyse, for whom.
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    /// The client's statements.
    pub statements: Arc<Statements>,
    /// The question, in French or English.
    pub question: String,
    /// The report language; detected from the question when `None`.
    pub language: Option<Language>,
    /// The CPA firm the analysis runs for.
    pub tenant: String,
    /// The client company; a slug of the company name when `None`.
    pub client: Option<String>,
    /// Who asks; checked against tenant and client when set.
    pub principal: Option<Principal>,
    /// Whether this request reads and writes the caches (default: both).
    pub cache_mode: CacheMode,
    /// Reuse only cache entries younger than this.
    pub max_cache_age: Option<std::time::Duration>,
    /// The firm's clients to benchmark this client against when the plan asks for peers (the client itself may be
    /// among them, by its id). Without it, the pipeline reads the portfolio from the vault when there is one.
    pub peers: Option<Arc<[crate::portfolio::Client]>>,
}

/// How one request uses the caches (as TensorZero offers them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// Read and write.
    #[default]
    On,
    /// Neither read nor write.
    Off,
    /// Reuse entries, keep nothing new.
    ReadOnly,
    /// Never reuse (a fresh run), but keep the result for later requests.
    WriteOnly,
}

impl CacheMode {
    /// Whether this mode may answer from the cache.
    pub fn reads(self) -> bool {
        matches!(self, CacheMode::On | CacheMode::ReadOnly)
    }

    /// Whether this mode keeps new results in the cache.
    pub fn writes(self) -> bool {
        matches!(self, CacheMode::On | CacheMode::WriteOnly)
    }

    /// `on`, `off`, `read_only` / `read-only`, `write_only` / `write-only`.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "on" => Ok(CacheMode::On),
            "off" => Ok(CacheMode::Off),
            "read_only" => Ok(CacheMode::ReadOnly),
            "write_only" => Ok(CacheMode::WriteOnly),
            _ => Err(Error::invalid_argument(
                field,
                format!("`{text}` is not one of on, off, read_only, write_only"),
            )),
        }
    }
}

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 4000;
/// Longest tenant or client id accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

impl AnalysisRequest {
    /// A request with the defaults: the language detected from the question, the default tenant and client.
    pub fn new(statements: impl Into<Arc<Statements>>, question: impl Into<String>) -> Self {
        AnalysisRequest {
            statements: statements.into(),
            question: question.into(),
            language: None,
            tenant: "default".into(),
            client: None,
            principal: None,
            cache_mode: CacheMode::On,
            max_cache_age: None,
            peers: None,
        }
    }

    /// The firm's clients to benchmark this client against (see [`AnalysisRequest::peers`]).
    pub fn peers(mut self, clients: impl Into<Arc<[crate::portfolio::Client]>>) -> Self {
        self.peers = Some(clients.into());
        self
    }

    /// How this request uses the caches.
    pub fn cache_mode(mut self, mode: CacheMode) -> Self {
        self.cache_mode = mode;
        self
    }

    /// Reuse only cache entries younger than `age`.
    pub fn max_cache_age(mut self, age: std::time::Duration) -> Self {
        self.max_cache_age = Some(age);
        self
    }

    /// Writes the report in `language` whatever the question's.
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// The CPA firm the analysis belongs to (caches, budgets, storage and audit are per tenant).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The client company (by default derived from the statements' company name).
    pub fn client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// Runs as `principal`: its tenant, and for a Client its own company.
    /// [`Pipeline::analyze`](crate::Pipeline::analyze) refuses a principal that may not see the request's client
    /// with [`Error::AccessDenied`].
    pub fn principal(mut self, principal: Principal) -> Self {
        self.tenant.clone_from(&principal.tenant);
        if self.client.is_none() {
            self.client.clone_from(&principal.client);
        }
        self.principal = Some(principal);
        self
    }

    /// Refuses an empty or oversized question and malformed ids, naming the field.
    pub fn validate(&self) -> Result<()> {
        let q = self.question.trim();
        if q.is_empty() {
            return Err(Error::invalid_argument("question", "must not be empty"));
        }
        let chars = self.question.chars().count();
        if chars > MAX_QUESTION_CHARS {
            return Err(Error::invalid_argument(
                "question",
                format!("is {chars} characters long; the limit is {MAX_QUESTION_CHARS}"),
            ));
        }
        if self
            .question
            .chars()
            .any(|c| c.is_control() && !c.is_whitespace())
        {
            return Err(Error::invalid_argument(
                "question",
                "contains control characters",
            ));
        }
        check_id("tenant", &self.tenant)?;
        if let Some(client) = &self.client {
            check_id("client", client)?;
        }
        if let Some(p) = &self.principal {
            p.authorize(&self.tenant, &self.client_id())?;
        }
        Ok(())
    }

    /// The client id: as given, or derived from the company name (see [`default_client_id`]).
    pub fn client_id(&self) -> String {
        match &self.client {
            Some(c) => c.clone(),
            None => default_client_id(&self.statements.company().name),
        }
    }
}

pub(crate) fn check_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument(field, "must not be empty"));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(Error::invalid_argument(
            field,
            format!("is longer than {MAX_ID_CHARS} characters"),
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(Error::invalid_argument(
            field,
            "may only contain ASCII letters, digits, `-`, `_`, `.` and `:`",
        ));
    }
    Ok(())
}

/// The client id of a company that was given none: a readable part (the name folded to ASCII letters and digits)
/// and a hash of the whole name, lower-cased and in Unicode's composed form. Names that differ only by accents or
/// punctuation (`Café Lévis` and `Cafe Levis`), or that have no Latin letter at all (`北京饭店`, `مطعم`), get ids
/// of their own; the same name typed again (another case, another Unicode form, other spacing) gets the same.
pub fn default_client_id(name: &str) -> String {
    use sha2::{Digest, Sha256};
    use unicode_normalization::UnicodeNormalization;
    let canonical: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .nfc()
        .collect();
    let hash: String = Sha256::digest(canonical.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let readable: String = intent::fold(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let readable = readable
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let room = MAX_ID_CHARS - hash.len() - 1;
    let readable: String = readable.chars().take(room).collect();
    let readable = readable.trim_end_matches('-');
    if readable.is_empty() {
        format!("client-{hash}")
    } else {
        format!("{readable}-{hash}")
    }
}
