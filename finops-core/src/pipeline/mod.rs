//! The three-phase analysis pipeline (DESIGN.md "The pipeline"): the Analyst plans, the Researcher asks for exact
//! computations and writes findings, the Validator checks them and writes the report, and the SDK grounds every
//! number of that report. Any phase without a provider, or whose provider fails, falls back to the offline analyst,
//! so a host always gets correct figures.
//!
//! ```
//! # let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! use finops_core::pipeline::{AnalysisRequest, Pipeline};
//! let statements = finops_core::Statements::from_json_str(&json)?;
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let analysis = rt.block_on(Pipeline::offline().analyze(
//!     AnalysisRequest::new(statements, "Analyse la rentabilité du bistro sur trois ans"),
//! ))?;
//! assert_eq!(analysis.language, finops_core::pipeline::Language::Fr);
//! assert!(analysis.validation.grounded);
//! assert!(analysis.report.contains("Marge brute"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod events;
pub mod grounding;
pub mod intent;
mod labels;
mod language;
mod llm;
pub mod offline;
mod run;
mod types;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::provider::{Phase, PriceTable, Provider, UnpricedPolicy};
use crate::security::limits::{Budgets, RateLimits};
use crate::statements::Statements;

pub(crate) use events::Emitter;
pub use events::EventStream;
pub use labels::metric_name;
pub use language::Language;
pub use llm::PROMPT_VERSION;
pub use types::*;

/// The provider and model one phase uses.
#[derive(Debug, Clone)]
pub struct PhaseConfig {
    pub provider: Arc<dyn Provider>,
    pub model: String,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl PhaseConfig {
    pub fn new(provider: Arc<dyn Provider>, model: impl Into<String>) -> Self {
        PhaseConfig {
            provider,
            model: model.into(),
            temperature: Some(0.0),
            max_tokens: Some(4096),
        }
    }
}

/// What to analyse, for whom.
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    pub statements: Arc<Statements>,
    pub question: String,
    /// The report language; detected from the question when `None`.
    pub language: Option<Language>,
    /// The CPA firm the analysis runs for.
    pub tenant: String,
    /// The client company; a slug of the company name when `None`.
    pub client: Option<String>,
    /// Who asks; checked against tenant and client when set.
    pub principal: Option<crate::security::Principal>,
    /// Whether this request reads and writes the caches (default: both).
    pub cache_mode: CacheMode,
    /// Reuse only cache entries younger than this.
    pub max_cache_age: Option<std::time::Duration>,
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
    pub fn reads(self) -> bool {
        matches!(self, CacheMode::On | CacheMode::ReadOnly)
    }

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
        }
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

    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    pub fn client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// Runs as `principal`: its tenant, and for a Client its own company. [`Pipeline::analyze`] refuses a
    /// principal that may not see the request's client with [`Error::AccessDenied`].
    pub fn principal(mut self, principal: crate::security::Principal) -> Self {
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

    /// The client id: as given, or a slug of the company name.
    pub fn client_id(&self) -> String {
        match &self.client {
            Some(c) => c.clone(),
            None => slug(&self.statements.company().name),
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

fn slug(name: &str) -> String {
    let folded = intent::fold(name);
    let s: String = folded
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-').to_string();
    let s: String = s.chars().take(MAX_ID_CHARS).collect();
    if s.is_empty() { "client".into() } else { s }
}

/// The pipeline: a provider and model per phase (each optional), the price table, cheap to clone and share
/// between tasks.
#[derive(Debug, Clone)]
pub struct Pipeline {
    phases: Arc<[Option<PhaseConfig>; 3]>,
    pub(crate) prices: Arc<PriceTable>,
    unpriced: UnpricedPolicy,
    pub(crate) rate_limits: Option<Arc<RateLimits>>,
    pub(crate) budgets: Option<Budgets>,
    /// The cost reserved per model phase when the model has no price.
    pub(crate) fallback_estimate_usd: crate::Decimal,
    pub(crate) cache: Option<Arc<dyn crate::cache::Cache>>,
    pub(crate) semantic: Option<Arc<crate::cache::SemanticCache>>,
    pub(crate) plans: Option<(Arc<crate::cache::PlanCache>, bool)>,
    /// Keeps the cache tiers in step with other processes while the pipeline lives.
    cache_follow: Option<Arc<crate::cache::sync::FollowHandle>>,
    /// The configuration part of cache keys, computed once (phases never change after `build`).
    pub(crate) config_version: Arc<str>,
    /// Where every analysis is saved (encrypted, audited) before it is returned, when set.
    pub(crate) vault: Option<Arc<crate::store::Vault>>,
}

impl Default for Pipeline {
    fn default() -> Self {
        PipelineBuilder::default().build()
    }
}

/// Builds a [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineBuilder {
    phases: [Option<PhaseConfig>; 3],
    prices: PriceTable,
    unpriced: UnpricedPolicy,
    rate_limits: Option<Arc<RateLimits>>,
    budgets: Option<Budgets>,
    fallback_estimate_usd: crate::Decimal,
    cache: Option<Arc<dyn crate::cache::Cache>>,
    semantic: Option<Arc<crate::cache::SemanticCache>>,
    plans: Option<(Arc<crate::cache::PlanCache>, bool)>,
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        PipelineBuilder {
            phases: [None, None, None],
            prices: PriceTable::defaults(),
            unpriced: UnpricedPolicy::default(),
            rate_limits: None,
            budgets: None,
            // $0.10 per phase: above what the default models cost for one analysis phase.
            fallback_estimate_usd: crate::Decimal::new(10, 2),
            cache: None,
            semantic: None,
            plans: None,
        }
    }
}

impl PipelineBuilder {
    /// Sets one phase's provider and model.
    pub fn phase(mut self, phase: Phase, config: PhaseConfig) -> Self {
        self.phases[phase as usize] = Some(config);
        self
    }

    /// Uses one provider for every phase, with one model per phase.
    pub fn provider(
        self,
        provider: Arc<dyn Provider>,
        analyst_model: &str,
        researcher_model: &str,
        validator_model: &str,
    ) -> Self {
        self.phase(
            Phase::Analyst,
            PhaseConfig::new(Arc::clone(&provider), analyst_model),
        )
        .phase(
            Phase::Researcher,
            PhaseConfig::new(Arc::clone(&provider), researcher_model),
        )
        .phase(
            Phase::Validator,
            PhaseConfig::new(provider, validator_model),
        )
    }

    /// The price table used when a provider does not report a call's cost (default: [`PriceTable::defaults`]).
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// What to do with a model that has no price (default: call it and flag its cost as unknown).
    pub fn unpriced(mut self, policy: UnpricedPolicy) -> Self {
        self.unpriced = policy;
        self
    }

    /// Requests per minute per tenant and per principal.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(Arc::new(limits));
        self
    }

    /// Monthly USD budgets per tenant: each analysis reserves its estimated cost first and settles the real one.
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = Some(budgets);
        self
    }

    /// Reuses earlier analyses of the same tenant, statements, normalized question, language and configuration.
    pub fn cache(mut self, cache: Arc<dyn crate::cache::Cache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Reuses an earlier analysis of the same tenant, statements, language and configuration for a close question
    /// that the guard accepts (same intents, metrics, direction, negation, periods, numbers and names).
    pub fn semantic_cache(mut self, cache: Arc<crate::cache::SemanticCache>) -> Self {
        self.semantic = Some(cache);
        self
    }

    /// Reuses the Analyst's plan for a close question within the tenant and the client's sector (across tenants
    /// too with `share_across_tenants`: plans carry no client data). A hit skips the Analyst call only.
    pub fn plan_cache(
        mut self,
        cache: Arc<crate::cache::PlanCache>,
        share_across_tenants: bool,
    ) -> Self {
        self.plans = Some((cache, share_across_tenants));
        self
    }

    /// What to reserve per model phase when the model has no price (default $0.10).
    pub fn fallback_estimate_usd(mut self, usd: crate::Decimal) -> Self {
        self.fallback_estimate_usd = usd;
        self
    }

    pub fn build(self) -> Pipeline {
        let config_version = crate::cache::config_version_of(&self.phases).into();
        Pipeline {
            config_version,
            phases: Arc::new(self.phases),
            prices: Arc::new(self.prices),
            unpriced: self.unpriced,
            rate_limits: self.rate_limits,
            budgets: self.budgets,
            fallback_estimate_usd: self.fallback_estimate_usd,
            cache: self.cache,
            semantic: self.semantic,
            plans: self.plans,
            cache_follow: None,
            vault: None,
        }
    }
}

impl Pipeline {
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// Drops a tenant's entries from every result tier (its statements changed, or it left). The plan tier
    /// keeps them: plans hold no client data.
    pub async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        if let Some(c) = &self.cache {
            c.invalidate_tenant(tenant).await?;
        }
        if let Some(s) = &self.semantic {
            s.invalidate_tenant(tenant).await?;
        }
        Ok(())
    }

    /// Drops one client's entries from every result tier (new statements, or an erasure).
    pub async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        if let Some(c) = &self.cache {
            c.invalidate_client(tenant, client).await?;
        }
        if let Some(s) = &self.semantic {
            s.invalidate_client(tenant, client).await?;
        }
        Ok(())
    }

    /// A pipeline with no provider: the offline analyst does every phase.
    pub fn offline() -> Self {
        Pipeline::default()
    }

    /// The configuration of a phase, if it has a provider.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseConfig> {
        self.phases[phase as usize].as_ref()
    }

    /// The same pipeline with rate limits and budgets (for pipelines built elsewhere, e.g. from the environment).
    pub fn with_limits(
        mut self,
        rate_limits: Option<RateLimits>,
        budgets: Option<Budgets>,
    ) -> Self {
        if let Some(r) = rate_limits {
            self.rate_limits = Some(Arc::new(r));
        }
        if let Some(b) = budgets {
            self.budgets = Some(b);
        }
        self
    }

    /// The same pipeline with these cache tiers (see [`crate::cache::CacheOptions`]).
    pub fn with_caches(mut self, caches: &crate::cache::Caches) -> Self {
        self.cache.clone_from(&caches.exact);
        self.semantic.clone_from(&caches.semantic);
        self.plans = caches.plans.clone().map(|p| (p, caches.share_plans));
        self.cache_follow.clone_from(&caches.follow);
        self
    }

    /// The same pipeline saving every analysis it returns in `vault` (encrypted under the client's key, with its
    /// audit entry) as the principal who asked, or as a CPA of the request's tenant when the request names none.
    /// An analysis that cannot be saved is an error, not a silent loss.
    pub fn with_vault(mut self, vault: Arc<crate::store::Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// The vault this pipeline saves analyses in, if any.
    pub fn vault(&self) -> Option<&Arc<crate::store::Vault>> {
        self.vault.as_ref()
    }

    /// The same pipeline without a vault (a queue's worker stores each job's result itself, once).
    pub fn without_vault(mut self) -> Self {
        self.vault = None;
        self
    }

    /// The configured models that have no price today (they are refused or flagged, as configured).
    pub fn unpriced_models(&self) -> Vec<String> {
        let today = chrono::Utc::now().date_naive();
        let mut models: Vec<String> = self
            .phases
            .iter()
            .flatten()
            .filter(|c| !self.prices.knows(&c.model, today))
            .map(|c| c.model.clone())
            .collect();
        models.dedup();
        models
    }

    /// What one analysis may cost at most, to reserve against a budget: per model phase, two calls (one repair)
    /// of 8,000 input tokens and the phase's output limit at the model's price, or the fallback estimate.
    pub(crate) fn estimate_usd(&self) -> crate::Decimal {
        let today = chrono::Utc::now().date_naive();
        self.phases
            .iter()
            .flatten()
            .map(|c| match self.prices.price(&c.model, today) {
                Some(p) => {
                    let usage = crate::provider::TokenUsage {
                        input_tokens: 8_000,
                        output_tokens: u64::from(c.max_tokens.unwrap_or(4096)),
                        ..Default::default()
                    };
                    p.cost(&usage) * crate::Decimal::TWO
                }
                None => self.fallback_estimate_usd,
            })
            .sum()
    }

    /// A phase's configuration if it may be called; `Err(reason)` when the price policy refuses its model.
    pub(crate) fn callable(
        &self,
        phase: Phase,
    ) -> std::result::Result<Option<&PhaseConfig>, String> {
        match self.phase(phase) {
            Some(c)
                if self.unpriced == UnpricedPolicy::Refuse
                    && !self.prices.knows(&c.model, chrono::Utc::now().date_naive()) =>
            {
                Err(format!(
                    "model `{}` has no known price and unpriced models are refused",
                    c.model
                ))
            }
            other => Ok(other),
        }
    }

    /// Runs an analysis to its end.
    pub async fn analyze(&self, request: AnalysisRequest) -> Result<Analysis> {
        run::run(self, request, &Emitter::silent()).await
    }

    /// Runs an analysis to its end, sending its events (but `Completed` and `Failed`: the caller has the
    /// outcome) to `events` as they happen.
    pub(crate) async fn analyze_observed(
        &self,
        request: AnalysisRequest,
        events: futures::channel::mpsc::UnboundedSender<Event>,
    ) -> Result<Analysis> {
        run::run(self, request, &events::Emitter::to(events)).await
    }

    /// Runs an analysis, streaming its events; the last one is `Completed` or `Failed`. The work happens as the
    /// stream is polled, and dropping the stream cancels it.
    pub fn stream(&self, request: AnalysisRequest) -> EventStream {
        EventStream::start(self.clone(), request)
    }
}

#[cfg(test)]
mod tests;
