//! The three-phase analysis pipeline (ARCHITECTURE.md "The path of one analysis"): the Analyst plans, the Researcher asks for exact
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

pub(crate) mod acceptance;
pub(crate) mod events;
pub mod grounding;
mod labels;
pub(crate) mod llm;
pub mod offline;
pub(crate) mod references;
mod report;
mod run;
mod schemas;

use std::sync::Arc;

use crate::error::Result;
use crate::provider::{PriceTable, Provider, UnpricedPolicy};
use crate::security::limits::{Budgets, RateLimits};

// The contracts, re-exported where the pipeline's users have always found them.
pub use crate::analysis::*;

pub(crate) use events::Emitter;
pub use events::EventStream;
pub use labels::{metric_name, metric_subject};
pub use llm::PROMPT_VERSION;

/// The provider and model one phase uses.
#[derive(Debug, Clone)]
pub struct PhaseConfig {
    /// The provider the phase calls.
    pub provider: Arc<dyn Provider>,
    /// The model to ask it for.
    pub model: String,
    /// Sampling temperature (the provider's default when `None`).
    pub temperature: Option<f32>,
    /// The most output tokens a call may use; the phase's schema budget applies below it.
    pub max_tokens: Option<u32>,
}

impl PhaseConfig {
    /// A phase on `provider` with `model`, the provider's temperature and the schema's output budget.
    pub fn new(provider: Arc<dyn Provider>, model: impl Into<String>) -> Self {
        PhaseConfig {
            provider,
            model: model.into(),
            temperature: Some(0.0),
            max_tokens: Some(4096),
        }
    }
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
    /// Keeps the cache tiers in step with other processes while the pipeline lives (held, never read: dropping
    /// the last clone stops following).
    #[expect(dead_code, reason = "held for its drop")]
    cache_follow: Option<Arc<crate::cache::sync::FollowHandle>>,
    /// The configuration part of cache keys, computed once (phases never change after `build`).
    pub(crate) config_version: Arc<str>,
    /// Where every analysis is saved (encrypted, audited) before it is returned, when set.
    pub(crate) vault: Option<Arc<crate::store::Vault>>,
    /// Purges the cache tiers when the vault erases a client or a tenant (held: the vault keeps it weakly).
    #[expect(dead_code, reason = "held for the vault's weak reference")]
    purge: Option<Arc<dyn crate::store::ErasureListener>>,
}

/// The cache tiers of a pipeline, told of the vault's erasures.
#[derive(Debug)]
struct CachePurge {
    cache: Option<Arc<dyn crate::cache::Cache>>,
    semantic: Option<Arc<crate::cache::SemanticCache>>,
    plans: Option<(Arc<crate::cache::PlanCache>, bool)>,
}

impl CachePurge {
    /// Drops a tenant's contributions to the plan tier: its own plans, or in the shared pool the entries it added
    /// (the pool knows each entry's tenant by keyed tag, never its question in clear).
    async fn purge_plans(&self, tenant: &str, client: Option<&str>) -> Result<()> {
        match (&self.plans, client) {
            (Some((plans, true)), _) => {
                plans
                    .invalidate_client(crate::cache::semantic::SHARED_TENANT, tenant)
                    .await?;
            }
            (Some((plans, false)), Some(client)) => {
                plans.invalidate_client(tenant, client).await?;
            }
            (Some((plans, false)), None) => {
                plans.invalidate_tenant(tenant).await?;
            }
            (None, _) => {}
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::store::ErasureListener for CachePurge {
    async fn client_erased(&self, tenant: &str, client: &str) -> Result<()> {
        if let Some(c) = &self.cache {
            c.invalidate_client(tenant, client).await?;
        }
        if let Some(s) = &self.semantic {
            s.invalidate_client(tenant, client).await?;
        }
        self.purge_plans(tenant, Some(client)).await
    }

    async fn tenant_erased(&self, tenant: &str) -> Result<()> {
        if let Some(c) = &self.cache {
            c.invalidate_tenant(tenant).await?;
        }
        if let Some(s) = &self.semantic {
            s.invalidate_tenant(tenant).await?;
        }
        self.purge_plans(tenant, None).await
    }
}

/// The instructions and JSON framing every phase's prompt carries, in characters.
const PROMPT_OVERHEAD_CHARS: usize = 12_000;

/// The most calls a phase may make: its conversation (an answer and a repair; the Researcher's second round, the
/// Validator's grounding repair, each with its own repair) times the attempts of the default retry layer (the
/// first and two retries).
fn max_calls(phase: Phase) -> u32 {
    let conversation = match phase {
        Phase::Analyst => 2,
        Phase::Researcher | Phase::Validator => 4,
    };
    conversation * 3
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
    cache_follow: Option<Arc<crate::cache::sync::FollowHandle>>,
    vault: Option<Arc<crate::store::Vault>>,
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
            cache_follow: None,
            vault: None,
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

    /// Every cache tier that was opened (see [`crate::cache::CacheOptions`]), kept in step with other processes
    /// while the pipeline lives.
    pub fn caches(mut self, caches: &crate::cache::Caches) -> Self {
        self.cache.clone_from(&caches.exact);
        self.semantic.clone_from(&caches.semantic);
        self.plans = caches.plans.clone().map(|p| (p, caches.share_plans));
        self.cache_follow.clone_from(&caches.follow);
        self
    }

    /// Saves every analysis in `vault` (encrypted under the client's key, with its audit entry) before returning
    /// it, as the principal who asked or as a CPA of the request's tenant when the request names none. An analysis
    /// that cannot be saved is an error, not a silent loss.
    pub fn vault(mut self, vault: Arc<crate::store::Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// What to reserve per model phase when the model has no price (default $0.10).
    pub fn fallback_estimate_usd(mut self, usd: crate::Decimal) -> Self {
        self.fallback_estimate_usd = usd;
        self
    }

    /// The pipeline, ready to run analyses.
    pub fn build(self) -> Pipeline {
        let config_version = config_version_of(&self.phases).into();
        let has_caches = self.cache.is_some() || self.semantic.is_some() || self.plans.is_some();
        let purge = match &self.vault {
            Some(vault) if has_caches => {
                let purge: Arc<dyn crate::store::ErasureListener> = Arc::new(CachePurge {
                    cache: self.cache.clone(),
                    semantic: self.semantic.clone(),
                    plans: self.plans.clone(),
                });
                vault.on_erasure(Arc::downgrade(&purge));
                Some(purge)
            }
            _ => None,
        };
        Pipeline {
            purge,
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
            cache_follow: self.cache_follow,
            vault: self.vault,
        }
    }
}

/// What identifies a pipeline's configuration in cache keys: each phase's provider and model, the prompt version,
/// and the offline analyst's rules (which write any phase a model does not). Changing any of them misses the cache.
fn config_version_of(phases: &[Option<PhaseConfig>; 3]) -> String {
    let mut parts = vec![
        format!("prompts={PROMPT_VERSION}"),
        format!("offline={}", run::OFFLINE_MODEL),
    ];
    for phase in Phase::ALL {
        parts.push(match &phases[phase as usize] {
            Some(c) => format!("{phase}={}/{}", c.provider.name(), c.model),
            None => format!("{phase}=offline"),
        });
    }
    parts.join(";")
}

impl Pipeline {
    /// A builder: providers per phase, caches, vault, limits.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// What identifies this configuration in cache keys (see [`crate::cache::exact_key`]).
    pub fn config_version(&self) -> &str {
        &self.config_version
    }

    /// Drops a tenant's entries from every tier: exact, semantic, and its plans (its own, or what it added to the
    /// shared pool). The vault's erasure of a tenant does this by itself for a pipeline built with that vault.
    pub async fn invalidate_tenant(&self, tenant: &str) -> Result<()> {
        use crate::store::ErasureListener;
        self.tiers().tenant_erased(tenant).await
    }

    /// Drops one client's entries from every tier (new statements, or an erasure); in the shared plan pool, what
    /// its tenant added (the pool does not know clients apart).
    pub async fn invalidate_client(&self, tenant: &str, client: &str) -> Result<()> {
        use crate::store::ErasureListener;
        self.tiers().client_erased(tenant, client).await
    }

    fn tiers(&self) -> CachePurge {
        CachePurge {
            cache: self.cache.clone(),
            semantic: self.semantic.clone(),
            plans: self.plans.clone(),
        }
    }

    /// A pipeline with no provider: the offline analyst does every phase.
    pub fn offline() -> Self {
        Pipeline::default()
    }

    /// The configuration of a phase, if it has a provider.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseConfig> {
        self.phases[phase as usize].as_ref()
    }

    /// The vault this pipeline saves analyses in, if any.
    pub fn vault(&self) -> Option<&Arc<crate::store::Vault>> {
        self.vault.as_ref()
    }

    /// The same pipeline without a vault (a queue's worker stores each job's result itself, once).
    pub(crate) fn without_vault(mut self) -> Self {
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
    pub(crate) fn estimate_usd(&self, request: &AnalysisRequest) -> crate::Decimal {
        let today = chrono::Utc::now().date_naive();
        // The prompt's real size: the instructions, the question, and the statements' figures (about three times
        // the document's canonical text without the accounts behind its lines, which no prompt carries), at about
        // three characters a token; each later call of a conversation
        // carries what came before.
        let prompt_chars = PROMPT_OVERHEAD_CHARS
            .saturating_add(request.question.len())
            .saturating_add(request.statements.lines_json_len().saturating_mul(3));
        let input_tokens = u64::try_from(prompt_chars / 3)
            .unwrap_or(u64::MAX)
            .max(8_000);
        Phase::ALL
            .iter()
            .filter_map(|phase| self.phase(*phase).map(|c| (*phase, c)))
            .map(|(phase, c)| match self.prices.price(&c.model, today) {
                Some(p) => {
                    let usage = crate::provider::TokenUsage {
                        input_tokens: input_tokens.saturating_mul(2),
                        output_tokens: u64::from(c.max_tokens.unwrap_or(4096)),
                        ..Default::default()
                    };
                    p.cost(&usage)
                        .saturating_mul(crate::Decimal::from(max_calls(phase)))
                }
                None => self.fallback_estimate_usd,
            })
            .fold(crate::Decimal::ZERO, |sum, x| sum.saturating_add(x))
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

    /// Runs an analysis, streaming its events; the last one is `Completed` or `Failed`. The work happens as the
    /// stream is polled, and dropping the stream cancels it.
    pub fn stream(&self, request: AnalysisRequest) -> EventStream {
        EventStream::start(self.clone(), request)
    }
}

#[async_trait::async_trait]
impl Analyzer for Pipeline {
    async fn run(
        &self,
        request: AnalysisRequest,
        events: Option<futures::channel::mpsc::UnboundedSender<Event>>,
    ) -> Result<Analysis> {
        let emitter = events.map_or_else(Emitter::silent, Emitter::to);
        run::run(self, request, &emitter).await
    }
}

/// A pipeline as a queue worker's analyzer: without its vault, since the worker stores each job's result itself,
/// under the job's id and once.
impl From<Pipeline> for Arc<dyn Analyzer> {
    fn from(pipeline: Pipeline) -> Self {
        Arc::new(pipeline.without_vault())
    }
}

#[cfg(test)]
mod tests;
