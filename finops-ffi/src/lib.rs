//! The uniffi facade of finops for Kotlin (Android, desktop JVM) and Swift (iOS, macOS) hosts. It converts types,
//! maps errors and bridges async; the analysis itself is finops-core's.

mod enums;
mod providers;
mod vault;

pub use enums::{CacheModeFfi, PhaseFfi, ReviewActionFfi, RoleFfi};
pub use providers::{ApiKeyFfi, ProviderConfigFfi, ProvidersFfi};

use std::sync::{Arc, Mutex, OnceLock};

use finops_core::cache::CacheOptions;
use finops_core::embed::Embedder;
use finops_core::finops::{FinopsConfig, RequestOptions};
use finops_core::pipeline::{self, AnalysisRequest};
use finops_core::provider::{ChatRequest, ChatStream, Provider, TokenUsage};
use finops_core::security::Principal;
use finops_core::{Decimal, Error, Statements, metrics};
use futures::StreamExt;

uniffi::setup_scaffolding!();

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

fn internal(e: impl std::fmt::Display) -> FinopsError {
    FinopsError::Internal {
        detail: e.to_string(),
    }
}

/// An input amount a figure used.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FigureInput {
    pub line: String,
    pub period: String,
    /// Exact decimal as text.
    pub value: String,
}

/// A computed metric with its provenance.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Figure {
    pub id: String,
    pub metric: String,
    pub period: String,
    /// Exact decimal as text (percentages as fractions), or null when not computable.
    pub value: Option<String>,
    pub unit: String,
    pub basis: String,
    pub formula: String,
    pub inputs: Vec<FigureInput>,
    pub reason: Option<String>,
}

fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn figure(f: &metrics::Figure) -> Figure {
    Figure {
        id: f.id.clone(),
        metric: f.metric.id().to_string(),
        period: f.period.to_string(),
        value: f.value.map(|v| v.to_string()),
        unit: word(&f.unit),
        basis: word(&f.basis),
        formula: f.formula.to_string(),
        inputs: f
            .inputs
            .iter()
            .map(|i| FigureInput {
                line: i.line.to_string(),
                period: i.period.to_string(),
                value: i.value.to_string(),
            })
            .collect(),
        reason: f.reason.clone(),
    }
}

/// Every catalogue metric for every period of a `finops.statements/v1` JSON document.
#[uniffi::export]
pub fn compute_metrics(statements_json: String) -> Result<Vec<Figure>, FinopsError> {
    let s = Statements::from_json_str(&statements_json)?;
    Ok(metrics::compute_all(&s).iter().map(figure).collect())
}

/// A chat message a provider receives.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// What a foreign provider's `chat` receives.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatRequestFfi {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub json_mode: bool,
    /// `analyst`, `researcher` or `validator`.
    pub phase: PhaseFfi,
}

/// A foreign provider's answer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatAnswer {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD as decimal text, when the provider knows it.
    pub cost_usd: Option<String>,
}

/// A language model provider written in Kotlin or Swift. Throw `FinopsError.Provider` (with `retryable`) for a
/// failure.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait ChatProvider: Send + Sync {
    fn name(&self) -> String;
    async fn chat(&self, request: ChatRequestFfi) -> Result<ChatAnswer, FinopsError>;
}

/// An embedder written in Kotlin or Swift.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TextEmbedder: Send + Sync {
    fn dimensions(&self) -> u32;
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, FinopsError>;
}

/// The exact cache tier's store, written in Kotlin or Swift (a key-value store of strings: values are analyses as
/// JSON, client data to protect like any). The SDK decides what goes in and what may come out.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    async fn get(&self, tenant: String, key: String) -> Result<Option<String>, FinopsError>;
    async fn put(
        &self,
        tenant: String,
        client: String,
        key: String,
        value: String,
    ) -> Result<(), FinopsError>;
    async fn invalidate_tenant(&self, tenant: String) -> Result<(), FinopsError>;
    async fn invalidate_client(&self, tenant: String, client: String) -> Result<(), FinopsError>;
}

struct ForeignCache {
    inner: Arc<dyn CacheStore>,
}

impl std::fmt::Debug for ForeignCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignCache").finish()
    }
}

#[async_trait::async_trait]
impl finops_core::cache::KeyValueStore for ForeignCache {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        self.inner
            .get(tenant.into(), key.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn put(
        &self,
        tenant: &str,
        client: &str,
        key: &str,
        value: String,
    ) -> finops_core::Result<()> {
        self.inner
            .put(tenant.into(), client.into(), key.into(), value)
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn invalidate_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.inner
            .invalidate_tenant(tenant.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> finops_core::Result<()> {
        self.inner
            .invalidate_client(tenant.into(), client.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }
}

struct ForeignProvider {
    inner: Arc<dyn ChatProvider>,
    name: String,
}

impl std::fmt::Debug for ForeignProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignProvider")
            .field("name", &self.name)
            .finish()
    }
}

fn back_to_core(name: &str, e: FinopsError) -> Error {
    match e {
        FinopsError::Provider {
            reason, retryable, ..
        } => Error::provider(name, reason, retryable),
        other => Error::provider(name, other.to_string(), false),
    }
}

#[async_trait::async_trait]
impl Provider for ForeignProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        let request = ChatRequestFfi {
            model: request.model,
            messages: request
                .messages
                .iter()
                .map(|m| ChatMessage {
                    role: word(&m.role),
                    content: m.content.clone(),
                })
                .collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            json_mode: request.json_mode,
            phase: request.phase.into(),
        };
        let answer = self
            .inner
            .chat(request)
            .await
            .map_err(|e| back_to_core(&self.name, e))?;
        let cost = match answer.cost_usd {
            None => None,
            Some(c) => Some(c.parse::<Decimal>().map_err(|_| {
                Error::provider(&self.name, format!("cost_usd `{c}` is not a number"), false)
            })?),
        };
        let usage = TokenUsage {
            input_tokens: answer.input_tokens,
            output_tokens: answer.output_tokens,
            cost_usd: cost,
            ..TokenUsage::default()
        };
        Ok(finops_core::provider::whole_answer(
            answer.text,
            Some(usage),
        ))
    }
}

struct ForeignEmbedder {
    inner: Arc<dyn TextEmbedder>,
    dimensions: usize,
}

impl std::fmt::Debug for ForeignEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignEmbedder")
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

#[async_trait::async_trait]
impl Embedder for ForeignEmbedder {
    fn name(&self) -> &str {
        "foreign"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        self.inner
            .embed(texts)
            .await
            .map_err(|e| back_to_core("foreign", e))
    }
}

/// Model per phase; the product's defaults where null.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct Models {
    #[uniffi(default = None)]
    pub analyst: Option<String>,
    #[uniffi(default = None)]
    pub researcher: Option<String>,
    #[uniffi(default = None)]
    pub validator: Option<String>,
}

/// Requests per minute.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RateLimitsFfi {
    pub per_tenant: u32,
    pub per_principal: u32,
}

/// Who asks.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PrincipalFfi {
    pub tenant: String,
    pub role: RoleFfi,
    #[uniffi(default = None)]
    pub client: Option<String>,
}

impl TryFrom<PrincipalFfi> for Principal {
    type Error = FinopsError;
    fn try_from(p: PrincipalFfi) -> Result<Self, FinopsError> {
        Ok(Principal::new(p.tenant, p.role.into(), p.client)?)
    }
}

impl From<Principal> for PrincipalFfi {
    fn from(p: Principal) -> Self {
        PrincipalFfi {
            tenant: p.tenant,
            role: p.role.into(),
            client: p.client,
        }
    }
}

/// The caches (see `finops_core::cache::CacheOptions`): every field optional, the defaults are the embedded
/// in-memory tiers.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CacheOptionsFfi {
    #[uniffi(default = None)]
    pub exact: Option<bool>,
    #[uniffi(default = None)]
    pub semantic: Option<bool>,
    #[uniffi(default = None)]
    pub plans: Option<bool>,
    #[uniffi(default = None)]
    pub share_plans: Option<bool>,
    /// Minimum cosine similarity in (0, 1]; the guard still decides.
    #[uniffi(default = None)]
    pub threshold: Option<f32>,
    #[uniffi(default = None)]
    pub ttl_seconds: Option<u64>,
    #[uniffi(default = None)]
    pub capacity: Option<u64>,
    /// An encrypted SQLite store under this folder (the app's files directory on a phone).
    #[uniffi(default = None)]
    pub data_dir: Option<String>,
    #[uniffi(default = None)]
    pub postgres_url: Option<String>,
    #[uniffi(default = None)]
    pub redis_url: Option<String>,
}

impl From<CacheOptionsFfi> for CacheOptions {
    fn from(o: CacheOptionsFfi) -> Self {
        let d = CacheOptions::default();
        CacheOptions {
            exact: o.exact.unwrap_or(d.exact),
            semantic: o.semantic.unwrap_or(d.semantic),
            plans: o.plans.unwrap_or(d.plans),
            share_plans: o.share_plans.unwrap_or(d.share_plans),
            threshold: o.threshold.unwrap_or(d.threshold),
            ttl_seconds: o.ttl_seconds.unwrap_or(d.ttl_seconds),
            capacity: o.capacity.unwrap_or(d.capacity),
            data_dir: o.data_dir.map(Into::into),
            postgres_url: o.postgres_url,
            redis_url: o.redis_url,
        }
    }
}

/// What to analyse, for whom.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisRequestFfi {
    pub statements_json: String,
    pub question: String,
    /// `fr` or `en`; detected from the question when null.
    #[uniffi(default = None)]
    pub language: Option<String>,
    #[uniffi(default = None)]
    pub tenant: Option<String>,
    #[uniffi(default = None)]
    pub client: Option<String>,
    #[uniffi(default = None)]
    pub principal: Option<PrincipalFfi>,
    #[uniffi(default = None)]
    pub cache_mode: Option<CacheModeFfi>,
    /// Reuse only cache entries younger than this many milliseconds.
    #[uniffi(default = None)]
    pub max_cache_age_ms: Option<u64>,
}

/// The main facts of an `Analysis`, plus the whole contract as JSON.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisResult {
    pub id: String,
    pub tenant: String,
    pub client: String,
    pub language: String,
    pub report: String,
    /// `validator`, `validator_repaired` or `offline`.
    pub report_source: String,
    pub grounded: bool,
    pub degraded: bool,
    pub degraded_reason: Option<String>,
    /// USD as decimal text; null when unknown.
    pub total_cost_usd: Option<String>,
    /// `miss`, `exact`, `semantic` or `plan`.
    pub cache: String,
    /// What a cache hit did not spend (USD decimal text); null on a miss. Never part of `total_cost_usd`.
    pub saved_usd: Option<String>,
    /// The similarity of the reused question (semantic and plan hits), decimal text.
    pub cache_similarity: Option<String>,
    pub figures: Vec<Figure>,
    /// The whole `Analysis` (plan, findings, usage per phase, …) as JSON.
    pub json: String,
}

fn result(a: &pipeline::Analysis) -> Result<AnalysisResult, FinopsError> {
    Ok(AnalysisResult {
        id: a.id.clone(),
        tenant: a.tenant.clone(),
        client: a.client.clone(),
        language: a.language.id().to_string(),
        report: a.report.clone(),
        report_source: word(&a.report_source),
        grounded: a.validation.grounded,
        degraded: a.degraded,
        degraded_reason: a.degraded_reason.clone(),
        total_cost_usd: a.total_cost_usd.map(|c| c.to_string()),
        cache: word(&a.cache),
        saved_usd: a.saved_usd.map(|c| c.to_string()),
        cache_similarity: a.cache_similarity.map(|c| c.to_string()),
        figures: a.figures.iter().map(figure).collect(),
        json: serde_json::to_string(a).map_err(internal)?,
    })
}

/// One event of a running analysis.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AnalysisEvent {
    /// `queued`, `phase_started`, `text_delta`, `retry`, `fallback`, `computation_done`, `phase_finished`,
    /// `cache_hit`, `degraded`, `completed` or `failed`.
    pub kind: String,
    pub phase: Option<PhaseFfi>,
    pub text: Option<String>,
    pub reason: Option<String>,
    pub analysis: Option<AnalysisResult>,
    /// The event as JSON.
    pub json: String,
}

fn event(e: &pipeline::Event) -> Result<AnalysisEvent, FinopsError> {
    use pipeline::Event as E;
    let phase = match e {
        E::PhaseStarted { phase }
        | E::TextDelta { phase, .. }
        | E::Retry { phase, .. }
        | E::Fallback { phase, .. }
        | E::Degraded { phase, .. } => Some((*phase).into()),
        E::PhaseFinished { usage } => Some(usage.phase.into()),
        _ => None,
    };
    let reason = match e {
        E::Retry { reason, .. } | E::Fallback { reason, .. } | E::Degraded { reason, .. } => {
            Some(reason.clone())
        }
        E::Failed { error } => Some(error.message.clone()),
        _ => None,
    };
    Ok(AnalysisEvent {
        kind: e.kind().to_string(),
        phase,
        text: match e {
            E::TextDelta { text, .. } => Some(text.clone()),
            _ => None,
        },
        reason,
        analysis: match e {
            E::Completed { analysis } => Some(result(analysis)?),
            _ => None,
        },
        json: serde_json::to_string(e).map_err(internal)?,
    })
}

/// Receives the events of a streamed analysis, in order, on a background thread.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: AnalysisEvent);
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, FinopsError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("finops")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FinopsError::Internal {
            detail: format!("cannot start the runtime: {e}"),
        })
}

/// A streamed analysis running in the background. `cancel()` (or dropping the handle) stops it.
#[derive(uniffi::Object)]
pub struct AnalysisTask {
    handle: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[uniffi::export]
impl AnalysisTask {
    /// Stops the analysis; no event follows except those already delivered.
    pub fn cancel(&self) {
        if let Some(h) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
    }

    /// Whether the analysis has finished (completed, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_none_or(|h| h.is_finished())
    }
}

impl Drop for AnalysisTask {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The SDK: the core's facade, built from the app's configuration.
#[derive(uniffi::Object)]
pub struct Finops {
    inner: finops_core::Finops,
}

fn request(r: AnalysisRequestFfi) -> Result<AnalysisRequest, FinopsError> {
    let statements = Statements::from_json_str(&r.statements_json)?;
    let options = RequestOptions {
        language: r.language,
        tenant: r.tenant,
        client: r.client,
        principal: r.principal.map(TryInto::try_into).transpose()?,
        cache_mode: r.cache_mode.map(|m| m.id().to_string()),
        // Kotlin and Swift give milliseconds; the core takes seconds.
        max_cache_age: r.max_cache_age_ms.map(|ms| ms as f64 / 1000.0),
    };
    Ok(options.request(statements, r.question)?)
}

#[uniffi::export(async_runtime = "tokio")]
impl Finops {
    /// `providers`: built-in providers with their own keys (one configuration per firm is normal); `provider`: one
    /// foreign provider for every phase; `models` apply to either. With neither, providers come from the
    /// environment (the offline analyst when none is configured), or only the offline analyst when `offline`.
    /// `budgets`: monthly USD per tenant (decimal text); `rate_limits`: requests per minute. `cache`: the caches
    /// (none when null and no `cache_store`); `cache_store`: the exact tier on the app's own store. `vault`: every
    /// analysis is saved there (encrypted, audited) before it is returned. `config_json`: the core's whole
    /// configuration as JSON (`unpriced`, `prices`, ...), under the arguments above. The core checks every value.
    #[uniffi::constructor(default(providers = None, provider = None, models = None, embedder = None, offline = false, budgets = None, rate_limits = None, cache = None, cache_store = None, vault = None, config_json = None))]
    // Kotlin and Swift callers name these arguments, with defaults: a constructor mirrors them one to one.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        providers: Option<ProvidersFfi>,
        provider: Option<Arc<dyn ChatProvider>>,
        models: Option<Models>,
        embedder: Option<Arc<dyn TextEmbedder>>,
        offline: bool,
        budgets: Option<std::collections::HashMap<String, String>>,
        rate_limits: Option<RateLimitsFfi>,
        cache: Option<CacheOptionsFfi>,
        cache_store: Option<Arc<dyn CacheStore>>,
        vault: Option<Arc<vault::Vault>>,
        config_json: Option<String>,
    ) -> Result<Arc<Self>, FinopsError> {
        let mut config = match &config_json {
            Some(j) => FinopsConfig::from_json(j)?,
            None => FinopsConfig::default(),
        };
        if let Some(p) = providers {
            config.providers = p.into();
        }
        if let Some(m) = models {
            config.models = finops_core::finops::ModelsConfig {
                analyst: m.analyst,
                researcher: m.researcher,
                validator: m.validator,
            };
        }
        config.offline |= offline;
        if let Some(b) = budgets {
            config.budgets = finops_core::finops::budgets_from_texts(b)?;
        }
        if let Some(r) = rate_limits {
            config.rate_limits = Some(finops_core::finops::RateLimitsConfig {
                per_tenant: r.per_tenant,
                per_principal: r.per_principal,
            });
        }
        if let Some(c) = cache {
            config.cache = Some(CacheOptions::from(c));
        }
        let mut builder = finops_core::Finops::builder().config(config);
        if let Some(p) = provider {
            let name = p.name();
            builder = builder.provider(Arc::new(ForeignProvider { inner: p, name }));
        }
        if let Some(e) = embedder {
            let dimensions = e.dimensions() as usize;
            builder = builder.embedder(Arc::new(ForeignEmbedder {
                inner: e,
                dimensions,
            }));
        }
        if let Some(store) = cache_store {
            builder = builder.host_cache(Arc::new(ForeignCache { inner: store }));
        }
        if let Some(v) = vault {
            builder = builder.vault(Arc::clone(&v.inner));
        }
        // Opening stores is async: on the SDK's own runtime, which outlives every `Finops`.
        let inner = runtime()?.block_on(builder.build())?;
        Ok(Arc::new(Finops { inner }))
    }

    /// Providers from the environment.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>, FinopsError> {
        let inner = runtime()?.block_on(finops_core::Finops::from_env())?;
        Ok(Arc::new(Finops { inner }))
    }

    /// Each phase's route; no key appears.
    pub fn routes(&self) -> Vec<String> {
        self.inner.routes().to_vec()
    }

    /// Runs an analysis (a suspend function in Kotlin, async in Swift); cancelling the caller cancels it.
    pub async fn analyze(
        &self,
        request: AnalysisRequestFfi,
    ) -> Result<AnalysisResult, FinopsError> {
        let request = self::request(request)?;
        let analysis = self.inner.analyze(request).await?;
        result(&analysis)
    }

    /// Runs an analysis in the background, delivering its events to `listener`. Bad requests fail here.
    pub fn stream(
        &self,
        request: AnalysisRequestFfi,
        listener: Arc<dyn EventListener>,
    ) -> Result<Arc<AnalysisTask>, FinopsError> {
        let request = self::request(request)?;
        let mut events = self.inner.stream(request);
        let handle = runtime()?.spawn(async move {
            while let Some(e) = events.next().await {
                match event(&e) {
                    Ok(ev) => listener.on_event(ev),
                    Err(err) => {
                        listener.on_event(AnalysisEvent {
                            kind: "failed".into(),
                            phase: None,
                            text: None,
                            reason: Some(err.to_string()),
                            analysis: None,
                            json: "{}".into(),
                        });
                        break;
                    }
                }
            }
        });
        Ok(Arc::new(AnalysisTask {
            handle: Mutex::new(Some(handle)),
        }))
    }

    /// The configured embedder's vectors, checked (one per text, right length, finite).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, FinopsError> {
        Ok(self.inner.embed(texts).await?)
    }
}
