//! Which providers and models each phase uses: the product's defaults (Analyst and Validator on
//! `anthropic/claude-sonnet-4.5`, Researcher on `deepseek/deepseek-chat`, all through OpenRouter), overridable in
//! code and from the environment. With no key at all, the offline analyst answers.
//!
//! | variable | effect |
//! |---|---|
//! | `OPENROUTER_API_KEY` | every phase through OpenRouter (the default route) |
//! | `ANTHROPIC_API_KEY` | Analyst and Validator direct to Anthropic (the fallback after OpenRouter, or the route) |
//! | `DEEPSEEK_API_KEY` | Researcher direct to DeepSeek (fallback or route) |
//! | `OPENAI_API_KEY` | phases with no other route use OpenAI; also the key for `FINOPS_OPENAI_BASE_URL` |
//! | `FINOPS_OPENAI_BASE_URL` | every phase to this OpenAI-compatible server (llama.cpp, vLLM, Ollama) |
//! | `FINOPS_MODEL_ANALYST` / `_RESEARCHER` / `_VALIDATOR` | the model of a phase |
//! | `FINOPS_UNPRICED` | `flag` (default) or `refuse` a model with no known price |
//!
//! ```
//! use finops_core::config::Settings;
//! let settings = Settings::from_vars(|name| match name {
//!     "OPENROUTER_API_KEY" => Some("sk-or-example".into()),
//!     "FINOPS_MODEL_RESEARCHER" => Some("deepseek/deepseek-chat-v3.1".into()),
//!     _ => None,
//! })?;
//! assert_eq!(settings.routes()[1], "researcher: openrouter deepseek/deepseek-chat-v3.1");
//! # Ok::<(), finops_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::pipeline::{PhaseConfig, Pipeline, PipelineBuilder};
use crate::provider::http::{DEEPSEEK_BASE_URL, OPENAI_BASE_URL, OPENROUTER_BASE_URL};
use crate::provider::resilience::{Fallback, Resilience, layered};
use crate::provider::{ApiKey, HttpOptions, Phase, PromptCacheTtl, Provider, UnpricedPolicy};

/// The product's default model per phase (OpenRouter ids).
pub const DEFAULT_ANALYST_MODEL: &str = "anthropic/claude-sonnet-4.5";
/// The Researcher's default model (OpenRouter id).
pub const DEFAULT_RESEARCHER_MODEL: &str = "deepseek/deepseek-chat";
/// The Validator's default model (OpenRouter id).
pub const DEFAULT_VALIDATOR_MODEL: &str = "anthropic/claude-sonnet-4.5";
/// OpenAI's model when it is a phase's only route and no model was set.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4.1-mini";

/// One provider a phase may call, with the model to ask it for.
#[derive(Debug, Clone)]
pub struct Route {
    /// The provider.
    pub provider: Arc<dyn Provider>,
    /// The model to ask it for.
    pub model: String,
}

/// Keys, base URL and models, from the environment or set in code.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// OpenRouter's key (`OPENROUTER_API_KEY`).
    pub openrouter_key: Option<ApiKey>,
    /// Anthropic's key (`ANTHROPIC_API_KEY`).
    pub anthropic_key: Option<ApiKey>,
    /// OpenAI's key (`OPENAI_API_KEY`), also sent to `openai_base_url`.
    pub openai_key: Option<ApiKey>,
    /// DeepSeek's key (`DEEPSEEK_API_KEY`).
    pub deepseek_key: Option<ApiKey>,
    /// An OpenAI-compatible server every phase uses (a local model).
    pub openai_base_url: Option<String>,
    /// Model per phase (analyst, researcher, validator); the defaults when `None`.
    pub models: [Option<String>; 3],
    /// What to do with a model that has no known price.
    pub unpriced: UnpricedPolicy,
    /// How long Anthropic (directly or through OpenRouter) keeps each phase's cached prompt prefix
    /// (`FINOPS_PROMPT_CACHE_TTL`: `5m`, the default, or `1h`).
    pub prompt_cache_ttl: PromptCacheTtl,
    /// The resilience of every provider that has none of its own in `provider_options`.
    pub resilience: Resilience,
    /// Per built-in provider (`openrouter`, `anthropic`, `openai`, `deepseek`, `local`): another base URL
    /// (a proxy, a gateway, a test server), HTTP timeouts and extra headers, and its own resilience.
    pub provider_options: BTreeMap<String, ProviderOptions>,
}

/// How one built-in provider is reached.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// Another base URL than the vendor's.
    pub base_url: Option<String>,
    /// Timeouts and extra headers.
    pub http: HttpOptions,
    /// Timeouts, retries and circuit breaker around this provider; [`Settings::resilience`] when `None`.
    pub resilience: Option<Resilience>,
}

fn key(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<ApiKey>> {
    match get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        // The error names the variable, never the value.
        Some(v) => ApiKey::new(v).map(Some).map_err(|_| {
            Error::invalid_argument(
                name,
                "is not a valid API key (spaces or control characters)",
            )
        }),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get` (a name → value lookup), e.g. a host's own configuration.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let unpriced = match var("FINOPS_UNPRICED").as_deref() {
            None | Some("flag") => UnpricedPolicy::Flag,
            Some("refuse") => UnpricedPolicy::Refuse,
            Some(other) => {
                return Err(Error::invalid_argument(
                    "FINOPS_UNPRICED",
                    format!("`{other}` is not `flag` or `refuse`"),
                ));
            }
        };
        let prompt_cache_ttl = match var("FINOPS_PROMPT_CACHE_TTL") {
            None => PromptCacheTtl::default(),
            Some(v) => PromptCacheTtl::parse(&v).ok_or_else(|| {
                Error::invalid_argument(
                    "FINOPS_PROMPT_CACHE_TTL",
                    format!("`{v}` is not `5m` or `1h`"),
                )
            })?,
        };
        let base = var("FINOPS_OPENAI_BASE_URL");
        if let Some(url) = &base {
            // Checked now so a typo fails at start-up, naming the variable.
            crate::provider::http::check_base_url(url).map_err(|e| match e {
                Error::InvalidArgument { reason, .. } => {
                    Error::invalid_argument("FINOPS_OPENAI_BASE_URL", reason)
                }
                other => other,
            })?;
        }
        Ok(Settings {
            openrouter_key: key(&get, "OPENROUTER_API_KEY")?,
            anthropic_key: key(&get, "ANTHROPIC_API_KEY")?,
            openai_key: key(&get, "OPENAI_API_KEY")?,
            deepseek_key: key(&get, "DEEPSEEK_API_KEY")?,
            openai_base_url: base,
            models: [
                var("FINOPS_MODEL_ANALYST"),
                var("FINOPS_MODEL_RESEARCHER"),
                var("FINOPS_MODEL_VALIDATOR"),
            ],
            unpriced,
            prompt_cache_ttl,
            resilience: Resilience::default(),
            provider_options: BTreeMap::new(),
        })
    }

    /// An OpenAI-compatible built-in provider (`openrouter`, `openai`, `deepseek`, `local`) with its options.
    /// Without the HTTP providers, a configured key or base URL is refused by name, never ignored.
    fn compatible(
        &self,
        name: &str,
        base_url: &str,
        key: Option<ApiKey>,
    ) -> Result<Arc<dyn Provider>> {
        #[cfg(feature = "http-providers")]
        {
            let (url, http) = self.endpoint(name, base_url);
            Ok(Arc::new(
                crate::provider::OpenAiCompatible::with_options(name, url, key, &http)?
                    .prompt_cache(self.prompt_cache_ttl),
            ))
        }
        #[cfg(not(feature = "http-providers"))]
        {
            let _ = (base_url, key);
            Err(Error::feature_disabled(
                format!("providers.{name}"),
                "the HTTP model providers",
                "http-providers",
            ))
        }
    }

    /// Anthropic's own API with its options (refused by name without the HTTP providers).
    fn anthropic(&self, key: ApiKey) -> Result<Arc<dyn Provider>> {
        #[cfg(feature = "http-providers")]
        {
            let (url, http) = self.endpoint("anthropic", crate::provider::http::ANTHROPIC_BASE_URL);
            Ok(Arc::new(
                crate::provider::Anthropic::with_options(url, key, &http)?
                    .prompt_cache(self.prompt_cache_ttl),
            ))
        }
        #[cfg(not(feature = "http-providers"))]
        {
            self.compatible("anthropic", "", Some(key))
        }
    }

    /// A built-in provider's base URL (its configured one, else `default_url`) and HTTP options.
    #[cfg(feature = "http-providers")]
    fn endpoint<'a>(&'a self, name: &str, default_url: &'a str) -> (&'a str, HttpOptions) {
        let options = self.provider_options.get(name);
        let url = options
            .and_then(|o| o.base_url.as_deref())
            .unwrap_or(default_url);
        (url, options.map(|o| o.http.clone()).unwrap_or_default())
    }

    /// The resilience around the provider `name`.
    fn resilience_of(&self, name: &str) -> &Resilience {
        self.provider_options
            .get(name)
            .and_then(|o| o.resilience.as_ref())
            .unwrap_or(&self.resilience)
    }

    fn model(&self, phase: Phase) -> String {
        self.models[phase as usize].clone().unwrap_or_else(|| {
            match phase {
                Phase::Analyst => DEFAULT_ANALYST_MODEL,
                Phase::Researcher => DEFAULT_RESEARCHER_MODEL,
                Phase::Validator => DEFAULT_VALIDATOR_MODEL,
            }
            .to_string()
        })
    }

    /// The providers a phase tries, in order (empty: the offline analyst).
    pub fn phase_routes(&self, phase: Phase) -> Result<Vec<Route>> {
        let model = self.model(phase);
        let mut routes = Vec::new();
        if let Some(url) = &self.openai_base_url {
            let p = self.compatible("local", url, self.openai_key.clone())?;
            let model = self.models[phase as usize]
                .clone()
                .unwrap_or_else(|| "local".into());
            routes.push(Route { provider: p, model });
            return Ok(routes);
        }
        if let Some(k) = &self.openrouter_key {
            routes.push(Route {
                provider: self.compatible("openrouter", OPENROUTER_BASE_URL, Some(k.clone()))?,
                model: model.clone(),
            });
        }
        let (vendor, bare) = model.split_once('/').unwrap_or(("", model.as_str()));
        let is_vendor =
            |v: &str, prefix: &str| vendor == v || (vendor.is_empty() && bare.starts_with(prefix));
        if is_vendor("anthropic", "claude")
            && let Some(k) = &self.anthropic_key
        {
            // Anthropic names versions with dashes: claude-sonnet-4.5 → claude-sonnet-4-5.
            routes.push(Route {
                provider: self.anthropic(k.clone())?,
                model: bare.replace('.', "-"),
            });
        }
        if is_vendor("deepseek", "deepseek")
            && let Some(k) = &self.deepseek_key
        {
            routes.push(Route {
                provider: self.compatible("deepseek", DEEPSEEK_BASE_URL, Some(k.clone()))?,
                model: bare.to_string(),
            });
        }
        if let Some(k) = &self.openai_key
            && (is_vendor("openai", "gpt") || routes.is_empty())
        {
            let model = if is_vendor("openai", "gpt") {
                bare.to_string()
            } else {
                DEFAULT_OPENAI_MODEL.to_string()
            };
            routes.push(Route {
                provider: self.compatible("openai", OPENAI_BASE_URL, Some(k.clone()))?,
                model,
            });
        }
        Ok(routes)
    }

    /// One line per phase: its routes in order, e.g. `analyst: openrouter anthropic/claude-sonnet-4.5 →
    /// anthropic claude-sonnet-4-5`. No key appears.
    pub fn routes(&self) -> Vec<String> {
        Phase::ALL
            .iter()
            .map(|phase| {
                let routes = self.phase_routes(*phase).unwrap_or_default();
                let text = if routes.is_empty() {
                    "offline analyst".to_string()
                } else {
                    routes
                        .iter()
                        .map(|r| format!("{} {}", r.provider.name(), r.model))
                        .collect::<Vec<_>>()
                        .join(" → ")
                };
                format!("{phase}: {text}")
            })
            .collect()
    }

    /// Whether any phase has a provider.
    pub fn has_provider(&self) -> bool {
        Phase::ALL
            .iter()
            .any(|p| self.phase_routes(*p).is_ok_and(|r| !r.is_empty()))
    }

    /// The pipeline these settings describe: each route wrapped in timeouts, retries and a circuit breaker, the
    /// routes of a phase chained as fallbacks, and the offline analyst after the last one.
    pub fn pipeline(&self) -> Result<Pipeline> {
        Ok(self.pipeline_builder()?.build())
    }

    /// The same, as a builder to add limits, caches or a vault to.
    pub fn pipeline_builder(&self) -> Result<PipelineBuilder> {
        let mut builder = Pipeline::builder().unpriced(self.unpriced);
        // One resilience stack per provider, shared by the phases that use it: a circuit breaker is per provider.
        let mut stacks: Vec<(String, Arc<dyn Provider>)> = Vec::new();
        let mut stack = |r: &Route| -> Arc<dyn Provider> {
            let name = r.provider.name().to_string();
            if let Some((_, s)) = stacks.iter().find(|(n, _)| *n == name) {
                return Arc::clone(s);
            }
            let s = layered(Arc::clone(&r.provider), self.resilience_of(&name));
            stacks.push((name, Arc::clone(&s)));
            s
        };
        for phase in Phase::ALL {
            let routes = self.phase_routes(phase)?;
            let Some(first) = routes.first() else {
                continue;
            };
            let provider: Arc<dyn Provider> = if routes.len() == 1 {
                stack(first)
            } else {
                let chain = routes
                    .iter()
                    .map(|r| (stack(r), Some(r.model.clone())))
                    .collect();
                Arc::new(Fallback::new(chain)?)
            };
            builder = builder.phase(phase, PhaseConfig::new(provider, first.model.clone()));
        }
        Ok(builder)
    }
}

/// One provider for every phase, with a model per phase (the product's defaults where `None`): the pipeline's
/// builder and a description of its routes. [`crate::Finops`] uses it for a provider written in the host's language.
pub fn single_provider(
    provider: Arc<dyn Provider>,
    models: [Option<String>; 3],
) -> (PipelineBuilder, Vec<String>) {
    let [a, r, v] = models;
    let models = [
        a.unwrap_or_else(|| DEFAULT_ANALYST_MODEL.to_string()),
        r.unwrap_or_else(|| DEFAULT_RESEARCHER_MODEL.to_string()),
        v.unwrap_or_else(|| DEFAULT_VALIDATOR_MODEL.to_string()),
    ];
    let mut builder = Pipeline::builder();
    let mut routes = Vec::with_capacity(3);
    for (phase, model) in Phase::ALL.into_iter().zip(models) {
        routes.push(format!("{phase}: {} {model}", provider.name()));
        builder = builder.phase(phase, PhaseConfig::new(Arc::clone(&provider), model));
    }
    (builder, routes)
}

/// The routes of a pipeline with no provider.
pub fn offline_routes() -> Vec<String> {
    Phase::ALL
        .iter()
        .map(|p| format!("{p}: offline analyst"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn nothing_configured_means_offline() {
        let s = settings(&[]).unwrap();
        assert!(!s.has_provider());
        assert_eq!(s.routes()[0], "analyst: offline analyst");
        assert!(s.pipeline().unwrap().phase(Phase::Analyst).is_none());
    }

    #[test]
    fn openrouter_is_the_default_route_with_direct_vendors_as_fallbacks() {
        let s = settings(&[
            ("OPENROUTER_API_KEY", "sk-or-1"),
            ("ANTHROPIC_API_KEY", "sk-ant-1"),
            ("DEEPSEEK_API_KEY", "sk-ds-1"),
        ])
        .unwrap();
        assert_eq!(
            s.routes(),
            vec![
                "analyst: openrouter anthropic/claude-sonnet-4.5 → anthropic claude-sonnet-4-5",
                "researcher: openrouter deepseek/deepseek-chat → deepseek deepseek-chat",
                "validator: openrouter anthropic/claude-sonnet-4.5 → anthropic claude-sonnet-4-5",
            ]
        );
        let p = s.pipeline().unwrap();
        assert_eq!(
            p.phase(Phase::Researcher).unwrap().model,
            "deepseek/deepseek-chat"
        );
        assert!(
            p.unpriced_models().is_empty(),
            "the default models have prices"
        );
    }

    #[test]
    fn direct_keys_and_model_overrides() {
        let s = settings(&[
            ("ANTHROPIC_API_KEY", "sk-ant-1"),
            ("FINOPS_MODEL_RESEARCHER", "anthropic/claude-haiku-4.5"),
        ])
        .unwrap();
        assert_eq!(
            s.routes(),
            vec![
                "analyst: anthropic claude-sonnet-4-5",
                "researcher: anthropic claude-haiku-4-5",
                "validator: anthropic claude-sonnet-4-5",
            ]
        );
        let s = settings(&[("OPENAI_API_KEY", "sk-oa-1")]).unwrap();
        assert_eq!(s.routes()[1], "researcher: openai gpt-4.1-mini");
    }

    #[test]
    fn a_local_server_takes_every_phase() {
        let s = settings(&[
            ("FINOPS_OPENAI_BASE_URL", "http://127.0.0.1:18080/v1"),
            ("OPENROUTER_API_KEY", "k"),
        ])
        .unwrap();
        assert_eq!(s.routes()[2], "validator: local local");
    }

    #[test]
    fn bad_values_name_the_variable_and_never_show_a_key() {
        let e = settings(&[("OPENROUTER_API_KEY", "sk or secret")]).unwrap_err();
        assert_eq!(e.field(), Some("OPENROUTER_API_KEY"));
        assert!(!e.to_string().contains("secret"));
        let e = settings(&[("FINOPS_OPENAI_BASE_URL", "localhost:8080")]).unwrap_err();
        assert_eq!(e.field(), Some("FINOPS_OPENAI_BASE_URL"));
        let e = settings(&[("FINOPS_UNPRICED", "ignore")]).unwrap_err();
        assert_eq!(e.field(), Some("FINOPS_UNPRICED"));
        let e = settings(&[("FINOPS_PROMPT_CACHE_TTL", "2h")]).unwrap_err();
        assert_eq!(e.field(), Some("FINOPS_PROMPT_CACHE_TTL"));
        assert!(e.to_string().contains("`2h`"), "{e}");
        let hour = settings(&[("FINOPS_PROMPT_CACHE_TTL", "1h")]).unwrap();
        assert_eq!(hour.prompt_cache_ttl, PromptCacheTtl::OneHour);
        assert_eq!(
            settings(&[]).unwrap().prompt_cache_ttl,
            PromptCacheTtl::FiveMinutes
        );
        let s = settings(&[("OPENROUTER_API_KEY", "sk-or-topsecret-123")]).unwrap();
        assert!(!format!("{s:?}").contains("topsecret"));
        assert!(!s.routes().join(" ").contains("topsecret"));
    }

    #[test]
    fn refusing_unpriced_models_degrades_the_phase() {
        let s = settings(&[
            ("FINOPS_OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("FINOPS_UNPRICED", "refuse"),
        ])
        .unwrap();
        let p = s.pipeline().unwrap();
        assert_eq!(p.unpriced_models(), vec!["local".to_string()]);
        let statements = crate::testing::parse(&crate::testing::simple());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let a = rt
            .block_on(p.analyze(crate::pipeline::AnalysisRequest::new(
                statements, "marges ?",
            )))
            .unwrap();
        assert!(a.degraded);
        assert!(
            a.degraded_reason
                .unwrap()
                .contains("`local` has no known price and unpriced models are refused")
        );
        assert!(a.usage.iter().all(|u| u.calls == 0), "nothing was called");
    }
}
