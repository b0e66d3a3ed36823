//! The facade's configuration as data: one serde document a host writes in code, loads from its own settings, or
//! passes from Python, Node or Kotlin as a dict, an object or JSON text. Every value is checked here, once, and an
//! error names its path (`providers.openrouter.total_timeout_seconds`).
//!
//! ```
//! use finops_core::finops::FinopsConfig;
//! let config = FinopsConfig::from_json(r#"{
//!     "providers": {"openrouter": {"api_key": "sk-or-firm-42", "headers": {"X-Firm": "42"}}},
//!     "models": {"researcher": "deepseek/deepseek-chat-v3.1"},
//!     "budgets": {"firm-42": "50.00"},
//!     "rate_limits": {"per_tenant": 120, "per_principal": 20}
//! }"#)?;
//! assert!(config.providers.openrouter.is_some());
//! // Keys never print.
//! assert!(!format!("{config:?}").contains("sk-or-firm-42"));
//! # Ok::<(), finops_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;

pub use crate::analysis::seconds;
use crate::cache::CacheOptions;
use crate::config::{ProviderOptions, Settings};
use crate::error::{Error, Result};
use crate::provider::resilience::Resilience;
use crate::provider::{
    ApiKey, HttpOptions, ModelPrice, PriceTable, PromptCacheTtl, UnpricedPolicy,
};
use crate::security::limits::{Budgets, RateLimits};

/// Everything a host configures with data (objects such as a host's own provider, embedder, cache or an opened
/// vault are given to [`super::FinopsBuilder`] instead). Every field is optional. `Debug` shows no key, header
/// value or URL password.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinopsConfig {
    /// The built-in providers to use, each with its key and options. When none is given (and no host provider),
    /// the environment is read unless `env` says otherwise.
    pub providers: ProvidersConfig,
    /// The model of each phase (the product's defaults where absent).
    pub models: ModelsConfig,
    /// No provider at all: the offline analyst answers every phase (the environment is not read).
    pub offline: bool,
    /// Read `OPENROUTER_API_KEY`, `FINOPS_MODEL_*`, ... for what this configuration does not set. Default: only
    /// when no provider is configured in code and `offline` is false.
    pub env: Option<bool>,
    /// Call a model with no known price and report its cost as unknown (`flag`, the default), or refuse it.
    pub unpriced: Option<UnpricedPolicy>,
    /// How long Anthropic keeps each phase's cached prompt prefix: `five_minutes` (the default) or `one_hour`
    /// (a write costs 2x the input price instead of 1.25x; pays when questions come a few times an hour).
    pub prompt_cache_ttl: Option<PromptCacheTtl>,
    /// Prices to add to or override in the built-in table, per model.
    pub prices: BTreeMap<String, ModelPrice>,
    /// What to reserve against a budget per model phase when the model has no price (default 0.10 USD).
    pub fallback_estimate_usd: Option<Decimal>,
    /// Requests per minute per tenant and per principal.
    pub rate_limits: Option<RateLimitsConfig>,
    /// Monthly USD budget per tenant.
    pub budgets: BTreeMap<String, Decimal>,
    /// Timeouts (and, for a provider, retries and a breaker) around the host's own provider, embedder and cache.
    pub host: HostConfig,
    /// Caches to open (the embedded in-memory tiers with `{}`); none when absent.
    pub cache: Option<CacheOptions>,
    /// Where every analysis is saved before it is returned: a directory (SQLite and a master key) or a
    /// `postgres://` URL (the master key from `FINOPS_MASTER_KEY`).
    pub vault: Option<String>,
}

impl std::fmt::Debug for FinopsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinopsConfig")
            .field("providers", &self.providers)
            .field("models", &self.models)
            .field("offline", &self.offline)
            .field("env", &self.env)
            .field("unpriced", &self.unpriced)
            .field("prompt_cache_ttl", &self.prompt_cache_ttl)
            .field("prices", &self.prices)
            .field("fallback_estimate_usd", &self.fallback_estimate_usd)
            .field("rate_limits", &self.rate_limits)
            .field("budgets", &self.budgets)
            .field("host", &self.host)
            .field("cache", &self.cache)
            .field(
                "vault",
                &self.vault.as_deref().map(crate::security::redact_url),
            )
            .finish()
    }
}

/// The built-in providers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvidersConfig {
    /// OpenRouter: the default route of every phase, any vendor's model.
    pub openrouter: Option<ProviderConfig>,
    /// Anthropic's own API: Claude models directly, or after OpenRouter.
    pub anthropic: Option<ProviderConfig>,
    /// OpenAI's API (or a compatible server through `base_url`).
    pub openai: Option<ProviderConfig>,
    /// DeepSeek's API: the Researcher's default model directly.
    pub deepseek: Option<ProviderConfig>,
    /// Any OpenAI-compatible server (llama.cpp, vLLM, Ollama): `base_url` is required; every phase uses it.
    pub local: Option<ProviderConfig>,
}

impl ProvidersConfig {
    fn each(&self) -> [(&'static str, Option<&ProviderConfig>); 5] {
        [
            ("openrouter", self.openrouter.as_ref()),
            ("anthropic", self.anthropic.as_ref()),
            ("openai", self.openai.as_ref()),
            ("deepseek", self.deepseek.as_ref()),
            ("local", self.local.as_ref()),
        ]
    }

    /// Whether any built-in provider is configured.
    pub fn any(&self) -> bool {
        self.each().iter().any(|(_, p)| p.is_some())
    }
}

/// One built-in provider: its key, where it is, and how it is called.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// The API key (required but for `local`). Never printed.
    pub api_key: Option<String>,
    /// Another base URL than the vendor's (a proxy, a gateway); required for `local`.
    pub base_url: Option<String>,
    /// Headers sent with every request (values never printed).
    pub headers: BTreeMap<String, String>,
    /// Until the connection is established.
    pub connect_timeout_seconds: Option<f64>,
    /// Until the response headers, and between two pieces of a streamed answer.
    pub read_timeout_seconds: Option<f64>,
    /// Until the first piece of an answer.
    pub first_chunk_timeout_seconds: Option<f64>,
    /// The whole answer.
    pub total_timeout_seconds: Option<f64>,
    /// Retries after the first attempt (0 to 10).
    pub max_retries: Option<u32>,
    /// Consecutive failures that open the circuit breaker (1 to 1,000).
    pub breaker_threshold: Option<u32>,
    /// How long an open circuit refuses calls.
    pub breaker_cool_down_seconds: Option<f64>,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("connect_timeout_seconds", &self.connect_timeout_seconds)
            .field("read_timeout_seconds", &self.read_timeout_seconds)
            .field(
                "first_chunk_timeout_seconds",
                &self.first_chunk_timeout_seconds,
            )
            .field("total_timeout_seconds", &self.total_timeout_seconds)
            .field("max_retries", &self.max_retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cool_down_seconds", &self.breaker_cool_down_seconds)
            .finish()
    }
}

/// The model of each phase.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// The Analyst's model (default `anthropic/claude-sonnet-4.5`).
    pub analyst: Option<String>,
    /// The Researcher's model (default `deepseek/deepseek-chat`).
    pub researcher: Option<String>,
    /// The Validator's model (default `anthropic/claude-sonnet-4.5`).
    pub validator: Option<String>,
}

impl ModelsConfig {
    pub(crate) fn as_array(&self) -> [Option<String>; 3] {
        [
            self.analyst.clone(),
            self.researcher.clone(),
            self.validator.clone(),
        ]
    }
}

/// Requests per minute.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Requests per minute of one CPA firm.
    pub per_tenant: u32,
    /// Requests per minute of one principal (a person).
    pub per_principal: u32,
}

/// Budgets given as decimal texts (as Kotlin and Swift hold money), each named `budgets.<tenant>` when it is not
/// a number.
pub fn budgets_from_texts(
    texts: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<String, Decimal>> {
    texts
        .into_iter()
        .map(|(tenant, text)| {
            let usd = text.trim().parse::<Decimal>().map_err(|_| {
                Error::invalid_argument(
                    format!("budgets.{tenant}"),
                    format!("`{text}` is not a number of USD"),
                )
            })?;
            Ok((tenant, usd))
        })
        .collect()
}

/// The longest timeout or cool-down accepted: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// The resilience settings a configuration names (a built-in provider's, or the host provider's).
struct ResilienceFields {
    first_chunk_timeout_seconds: Option<f64>,
    total_timeout_seconds: Option<f64>,
    max_retries: Option<u32>,
    breaker_threshold: Option<u32>,
    breaker_cool_down_seconds: Option<f64>,
}

/// The timeout, retry and breaker layers from their settings under `prefix` (defaults where absent), checked.
fn resilience(prefix: &str, f: ResilienceFields) -> Result<Resilience> {
    let at = |field: &str| format!("{prefix}.{field}");
    let secs = |field: &str, v: Option<f64>, default: Duration| -> Result<Duration> {
        v.map_or(Ok(default), |v| seconds(&at(field), v, 0.001, MAX_SECONDS))
    };
    let base = Resilience::default();
    let mut resilience = Resilience {
        first_chunk_timeout: secs(
            "first_chunk_timeout_seconds",
            f.first_chunk_timeout_seconds,
            base.first_chunk_timeout,
        )?,
        total_timeout: secs(
            "total_timeout_seconds",
            f.total_timeout_seconds,
            base.total_timeout,
        )?,
        breaker_cool_down: secs(
            "breaker_cool_down_seconds",
            f.breaker_cool_down_seconds,
            base.breaker_cool_down,
        )?,
        ..base
    };
    if let Some(n) = f.max_retries {
        if n > 10 {
            return Err(Error::invalid_argument(
                at("max_retries"),
                format!("{n} is outside 0..=10"),
            ));
        }
        resilience.retry.max_retries = n;
    }
    if let Some(n) = f.breaker_threshold {
        if !(1..=1000).contains(&n) {
            return Err(Error::invalid_argument(
                at("breaker_threshold"),
                format!("{n} is outside 1..=1000"),
            ));
        }
        resilience.breaker_threshold = n;
    }
    Ok(resilience)
}

/// The same timeout, retry and breaker layers as a built-in provider's, for the objects a host writes in
/// Python, JS, Kotlin or Swift (its provider, embedder and cache store): a hung callback fails its call in time
/// instead of holding an analysis (and a worker's slot) forever.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Until the first piece of the host provider's answer (default 60 s).
    pub first_chunk_timeout_seconds: Option<f64>,
    /// The host provider's whole answer (default 300 s).
    pub total_timeout_seconds: Option<f64>,
    /// Retries of a retryable failure of the host provider (0 to 10; default 2).
    pub max_retries: Option<u32>,
    /// Consecutive failures that open the host provider's circuit breaker (1 to 1,000; default 5).
    pub breaker_threshold: Option<u32>,
    /// How long an open breaker refuses calls before trying one again (default 30 s).
    pub breaker_cool_down_seconds: Option<f64>,
    /// Each call to the host's embedder or cache store (default 30 s).
    pub call_timeout_seconds: Option<f64>,
}

impl HostConfig {
    /// The host provider's layers.
    pub fn resilience(&self) -> Result<Resilience> {
        resilience(
            "host",
            ResilienceFields {
                first_chunk_timeout_seconds: self.first_chunk_timeout_seconds,
                total_timeout_seconds: self.total_timeout_seconds,
                max_retries: self.max_retries,
                breaker_threshold: self.breaker_threshold,
                breaker_cool_down_seconds: self.breaker_cool_down_seconds,
            },
        )
    }

    /// The timeout of each call to the host's embedder or cache store.
    pub fn call_timeout(&self) -> Result<Duration> {
        self.call_timeout_seconds
            .map_or(Ok(Duration::from_secs(30)), |v| {
                seconds("host.call_timeout_seconds", v, 0.001, MAX_SECONDS)
            })
    }
}

impl FinopsConfig {
    /// From JSON text; an unknown field, a wrong type or a bad value is named by its path.
    pub fn from_json(text: &str) -> Result<Self> {
        if !text.trim_start().starts_with('{') {
            return Err(Error::invalid_argument("config", "must be a JSON object"));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let config: FinopsConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "config".to_string()
            } else {
                path
            };
            Error::invalid_argument(field, e.inner().to_string())
        })?;
        de.end()
            .map_err(|e| Error::invalid_argument("config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.offline && (self.providers.any() || self.env == Some(true)) {
            return Err(Error::invalid_argument(
                "offline",
                "cannot be combined with providers or env",
            ));
        }
        for (name, p) in self.providers.each() {
            if let Some(p) = p {
                self.provider_options(name, p)?;
                if name != "local" && p.api_key.is_none() {
                    return Err(Error::invalid_argument(
                        format!("providers.{name}.api_key"),
                        "is required",
                    ));
                }
                if name == "local" && p.base_url.is_none() {
                    return Err(Error::invalid_argument(
                        "providers.local.base_url",
                        "is required",
                    ));
                }
            }
        }
        for (name, model) in [
            ("analyst", &self.models.analyst),
            ("researcher", &self.models.researcher),
            ("validator", &self.models.validator),
        ] {
            if let Some(m) = model
                && (m.trim().is_empty() || m.chars().any(char::is_control))
            {
                return Err(Error::invalid_argument(
                    format!("models.{name}"),
                    "must be a model name",
                ));
            }
        }
        if let Some(usd) = self.fallback_estimate_usd
            && usd.is_sign_negative()
        {
            return Err(Error::invalid_argument(
                "fallback_estimate_usd",
                "must not be negative",
            ));
        }
        if let Some(c) = &self.cache {
            c.validate()?;
        }
        self.prices()?;
        self.limits()?;
        self.host.resilience()?;
        self.host.call_timeout()?;
        Ok(())
    }

    /// Whether this configuration reads the environment.
    pub(crate) fn reads_env(&self, host_provider: bool) -> bool {
        self.env
            .unwrap_or(!self.offline && !host_provider && !self.providers.any())
    }

    /// The options of one built-in provider, checked.
    fn provider_options(&self, name: &str, p: &ProviderConfig) -> Result<ProviderOptions> {
        if !cfg!(feature = "http-providers") {
            return Err(Error::feature_disabled(
                format!("providers.{name}"),
                "the HTTP model providers",
                "http-providers",
            ));
        }
        let at = |field: &str| format!("providers.{name}.{field}");
        let secs = |field: &str, v: Option<f64>, default: Duration| -> Result<Duration> {
            v.map_or(Ok(default), |v| seconds(&at(field), v, 0.001, MAX_SECONDS))
        };
        let defaults = HttpOptions::default();
        let http = HttpOptions {
            connect_timeout: secs(
                "connect_timeout_seconds",
                p.connect_timeout_seconds,
                defaults.connect_timeout,
            )?,
            read_timeout: secs(
                "read_timeout_seconds",
                p.read_timeout_seconds,
                defaults.read_timeout,
            )?,
            total_timeout: secs(
                "total_timeout_seconds",
                p.total_timeout_seconds,
                defaults.total_timeout,
            )?,
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let resilience = resilience(
            &format!("providers.{name}"),
            ResilienceFields {
                first_chunk_timeout_seconds: p.first_chunk_timeout_seconds,
                total_timeout_seconds: p.total_timeout_seconds,
                max_retries: p.max_retries,
                breaker_threshold: p.breaker_threshold,
                breaker_cool_down_seconds: p.breaker_cool_down_seconds,
            },
        )?;
        if let Some(k) = &p.api_key {
            // The error names the field, never the value.
            ApiKey::new(k.clone()).map_err(|e| match e {
                Error::InvalidArgument { reason, .. } => {
                    Error::invalid_argument(at("api_key"), reason)
                }
                other => other,
            })?;
        }
        // The URL and the headers as the providers will check them (without building a client), named here.
        let named = |e: Error| match e {
            Error::InvalidArgument { field, reason } => Error::invalid_argument(at(&field), reason),
            other => other,
        };
        if let Some(url) = &p.base_url {
            crate::provider::http::check_base_url(url).map_err(named)?;
        }
        #[cfg(feature = "http-providers")]
        http.header_map().map_err(named)?;
        Ok(ProviderOptions {
            base_url: p.base_url.clone(),
            http,
            resilience: Some(resilience),
        })
    }

    /// The provider settings: this configuration over the environment's when it reads it.
    pub(crate) fn settings(&self, read_env: bool) -> Result<Settings> {
        let mut settings = if read_env {
            Settings::from_env()?
        } else {
            Settings::default()
        };
        let key = |p: &Option<ProviderConfig>| -> Result<Option<ApiKey>> {
            p.as_ref()
                .and_then(|p| p.api_key.clone())
                .map(ApiKey::new)
                .transpose()
        };
        if self.providers.openrouter.is_some() {
            settings.openrouter_key = key(&self.providers.openrouter)?;
        }
        if self.providers.anthropic.is_some() {
            settings.anthropic_key = key(&self.providers.anthropic)?;
        }
        if self.providers.openai.is_some() {
            settings.openai_key = key(&self.providers.openai)?;
        }
        if self.providers.deepseek.is_some() {
            settings.deepseek_key = key(&self.providers.deepseek)?;
        }
        if let Some(local) = &self.providers.local {
            settings.openai_base_url.clone_from(&local.base_url);
            if local.api_key.is_some() {
                settings.openai_key = key(&self.providers.local)?;
            }
        }
        for (name, p) in self.providers.each() {
            if let Some(p) = p {
                let options = self.provider_options(name, p)?;
                settings.provider_options.insert(name.to_string(), options);
            }
        }
        for (i, model) in self.models.as_array().into_iter().enumerate() {
            if model.is_some() {
                settings.models[i] = model;
            }
        }
        if let Some(u) = self.unpriced {
            settings.unpriced = u;
        }
        if let Some(ttl) = self.prompt_cache_ttl {
            settings.prompt_cache_ttl = ttl;
        }
        Ok(settings)
    }

    /// The built-in price table with this configuration's prices.
    pub(crate) fn prices(&self) -> Result<PriceTable> {
        let mut table = PriceTable::defaults();
        for (model, price) in &self.prices {
            table
                .set(model.clone(), price.clone())
                .map_err(|e| match e {
                    Error::InvalidArgument { reason, .. } => {
                        Error::invalid_argument(format!("prices.{model}"), reason)
                    }
                    other => other,
                })?;
        }
        Ok(table)
    }

    /// Rate limits and budgets, checked.
    pub(crate) fn limits(&self) -> Result<(Option<RateLimits>, Option<Budgets>)> {
        let rate_limits = self
            .rate_limits
            .map(|r| RateLimits::per_minute(r.per_tenant, r.per_principal))
            .transpose()
            .map_err(|e| match e {
                Error::InvalidArgument { field, reason } => {
                    Error::invalid_argument(format!("rate_limits.{field}"), reason)
                }
                other => other,
            })?;
        let budgets = if self.budgets.is_empty() {
            None
        } else {
            let limits = self.budgets.clone().into_iter().collect();
            Some(Budgets::new(limits)?)
        };
        Ok((rate_limits, budgets))
    }
}
