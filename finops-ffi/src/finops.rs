//! The `Finops` object: the core's facade, built from the app's configuration.

use super::*;

/// The SDK: the core's facade, built from the app's configuration.
#[derive(uniffi::Object)]
pub struct Finops {
    inner: finops_core::Finops,
}

pub(crate) fn request(r: AnalysisRequestFfi) -> Result<AnalysisRequest, FinopsError> {
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
        crate::runtime::guard(|| {
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
        })
    }

    /// Providers from the environment.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>, FinopsError> {
        crate::runtime::guard(|| {
            let inner = runtime()?.block_on(finops_core::Finops::from_env())?;
            Ok(Arc::new(Finops { inner }))
        })
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
        crate::runtime::guard_async(async move {
            let request = self::request(request)?;
            let analysis = self.inner.analyze(request).await?;
            result(&analysis)
        })
        .await
    }

    /// Runs an analysis in the background, delivering its events to `listener`. Bad requests fail here.
    pub fn stream(
        &self,
        request: AnalysisRequestFfi,
        listener: Arc<dyn EventListener>,
    ) -> Result<Arc<AnalysisTask>, FinopsError> {
        crate::runtime::guard(|| {
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
        })
    }

    /// The configured embedder's vectors, checked (one per text, right length, finite).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, FinopsError> {
        crate::runtime::guard_async(async move { Ok(self.inner.embed(texts).await?) }).await
    }
}
