//! `finops.Finops`: configuration and the analysis entry points (async, sync and streamed).

use std::sync::Arc;

use finops_core::cache::{CacheOptions, HostCache};
use finops_core::config::Settings;
use finops_core::embed::{Embedder, HashingEmbedder};
use finops_core::pipeline::{AnalysisRequest, CacheMode, Language, Pipeline};
use finops_core::provider::{Phase, Provider};
use finops_core::security::limits::{Budgets, RateLimits};
use finops_core::security::{Principal, Role};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::analysis::{PyAnalysis, PyEventStream};
use crate::convert::statements;
use crate::errors::{invalid_argument, to_py};
use crate::provider::{PyCache, PyEmbedder, PyProvider, PyScriptedProvider};

/// Who is asking: a tenant (CPA firm), a role (`admin`, `cpa`, `client`), and for a client its company.
#[pyclass(module = "finops", name = "Principal", frozen)]
pub(crate) struct PyPrincipal {
    pub(crate) inner: Principal,
}

#[pymethods]
impl PyPrincipal {
    #[new]
    #[pyo3(signature = (tenant, role, client = None))]
    fn new(tenant: String, role: &str, client: Option<String>) -> PyResult<Self> {
        let role: Role = role.parse().map_err(to_py)?;
        Ok(PyPrincipal {
            inner: Principal::new(tenant, role, client).map_err(to_py)?,
        })
    }
    #[getter]
    fn tenant(&self) -> &str {
        &self.inner.tenant
    }
    #[getter]
    fn role(&self) -> String {
        self.inner.role.to_string()
    }
    #[getter]
    fn client(&self) -> Option<&str> {
        self.inner.client.as_deref()
    }
    fn __repr__(&self) -> String {
        format!(
            "Principal(tenant={:?}, role={:?}, client={:?})",
            self.inner.tenant,
            self.role(),
            self.inner.client
        )
    }
}

/// The SDK: a pipeline (providers per phase, or the offline analyst) and an embedder.
#[pyclass(module = "finops", name = "Finops", frozen)]
pub(crate) struct PyFinops {
    pub(crate) pipeline: Pipeline,
    embedder: Arc<dyn Embedder>,
    routes: Vec<String>,
}

fn provider_of(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn Provider>> {
    if let Ok(s) = obj.cast::<PyScriptedProvider>() {
        return Ok(s.get().inner.clone());
    }
    Ok(Arc::new(PyProvider::new(obj)?))
}

fn models(models: Option<&Bound<'_, PyDict>>) -> PyResult<[Option<String>; 3]> {
    let mut out: [Option<String>; 3] = [None, None, None];
    if let Some(m) = models {
        for (k, v) in m.iter() {
            let key: String = k.extract()?;
            let phase: Phase = key
                .parse()
                .map_err(|_| invalid_argument("models", format!("unknown phase `{key}`")))?;
            out[phase as usize] = Some(v.extract().map_err(|_| {
                invalid_argument("models", format!("the model of `{key}` must be a str"))
            })?);
        }
    }
    Ok(out)
}

/// A request's `cache_mode` and `max_cache_age` (seconds).
struct RequestCache(Option<String>, Option<f64>);

/// `cache=`: None or False (no cache), True (the embedded in-memory tiers), a dict of `CacheOptions` fields, or
/// an object implementing the exact tier's store (`get`, `put`, `invalidate_tenant`, `invalidate_client`), used
/// with the in-memory semantic and plan tiers.
fn cache_options(
    py: Python<'_>,
    cache: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<(CacheOptions, Option<PyCache>)>> {
    let Some(c) = cache.filter(|c| !c.is_none()) else {
        return Ok(None);
    };
    if let Ok(on) = c.extract::<bool>() {
        return Ok(on.then(|| (CacheOptions::default(), None)));
    }
    if c.cast::<PyDict>().is_err() && c.hasattr("get")? && c.hasattr("put")? {
        return Ok(Some((CacheOptions::default(), Some(PyCache::new(c)?))));
    }
    if c.cast::<PyDict>().is_err() {
        return Err(invalid_argument(
            "cache",
            "must be a bool, a dict of cache options or a cache object",
        ));
    }
    let json: String = py
        .import("json")?
        .call_method1("dumps", (c,))
        .map_err(|_| {
            invalid_argument(
                "cache",
                "must hold JSON values (numbers, strings, booleans)",
            )
        })?
        .extract()?;
    CacheOptions::from_json(&json)
        .map(|o| Some((o, None)))
        .map_err(to_py)
}

impl PyFinops {
    // Mirrors the Python keyword arguments one to one.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'_, PyPrincipal>>,
        cache: &RequestCache,
    ) -> PyResult<AnalysisRequest> {
        let mut request = AnalysisRequest::new(statements(py, source)?, question);
        if let Some(mode) = &cache.0 {
            request = request.cache_mode(CacheMode::parse("cache_mode", mode).map_err(to_py)?);
        }
        if let Some(age) = cache.1 {
            if !(age.is_finite() && age >= 0.0) {
                return Err(invalid_argument(
                    "max_cache_age",
                    format!("{age} is not a number of seconds >= 0"),
                ));
            }
            request = request.max_cache_age(std::time::Duration::from_secs_f64(age));
        }
        if let Some(l) = language {
            request = request.language(l.parse::<Language>().map_err(to_py)?);
        }
        if let Some(t) = tenant {
            request = request.tenant(t);
        }
        if let Some(c) = client {
            request = request.client(c);
        }
        if let Some(p) = principal {
            request = request.principal(p.get().inner.clone());
        }
        request.validate().map_err(to_py)?;
        Ok(request)
    }
}

#[pymethods]
impl PyFinops {
    /// With no argument: providers from the environment, the offline analyst when none is configured.
    /// `provider`: one provider for every phase (a `finops.ScriptedProvider` or any object with `chat`), with
    /// `models` ({"analyst": ..., "researcher": ..., "validator": ...}). `offline=True` ignores the environment.
    /// `embedder`: an object with `embed(texts)` and `dimensions` (default: the hashing embedder).
    /// `budgets`: monthly USD per tenant ({"firm-1": Decimal("50")}); `rate_limits`: (per tenant, per principal)
    /// requests per minute. `cache`: True for the embedded in-memory tiers (exact, semantic, plan), or a dict of
    /// options (`threshold`, `ttl_seconds`, `capacity`, `share_plans`, `data_dir`, `postgres_url`, `redis_url`, and
    /// `exact` / `semantic` / `plans` to turn tiers off). `vault`: a `finops.Vault` where every analysis is saved
    /// (encrypted, audited) before it is returned, as the principal who asked or a CPA of the request's tenant.
    #[new]
    #[pyo3(signature = (*, provider = None, models = None, embedder = None, offline = false, budgets = None, rate_limits = None, cache = None, vault = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        provider: Option<&Bound<'_, PyAny>>,
        models: Option<&Bound<'_, PyDict>>,
        embedder: Option<&Bound<'_, PyAny>>,
        offline: bool,
        budgets: Option<&Bound<'_, PyDict>>,
        rate_limits: Option<(u32, u32)>,
        cache: Option<&Bound<'_, PyAny>>,
        vault: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let vault = match vault.filter(|v| !v.is_none()) {
            None => None,
            Some(v) => Some(
                v.cast::<crate::vault::PyVault>()
                    .map_err(|_| invalid_argument("vault", "must be a finops.Vault"))?
                    .get()
                    .inner
                    .clone(),
            ),
        };
        let cache = cache_options(py, cache)?;
        let budgets = match budgets {
            None => None,
            Some(d) => {
                let mut limits = std::collections::HashMap::new();
                for (k, v) in d.iter() {
                    let tenant: String = k.extract()?;
                    let usd = v
                        .str()?
                        .to_string()
                        .parse::<finops_core::Decimal>()
                        .map_err(|_| {
                            invalid_argument(
                                "budgets",
                                format!("the budget of `{tenant}` is not a number"),
                            )
                        })?;
                    limits.insert(tenant, usd);
                }
                Some(Budgets::new(limits).map_err(to_py)?)
            }
        };
        let rate_limits = rate_limits
            .map(|(t, p)| RateLimits::per_minute(t, p))
            .transpose()
            .map_err(to_py)?;
        let embedder: Arc<dyn Embedder> = match embedder {
            Some(e) => Arc::new(PyEmbedder::new(e)?),
            None => Arc::new(HashingEmbedder::default()),
        };
        let (pipeline, routes) = match (provider, offline) {
            (Some(_), true) => {
                return Err(invalid_argument(
                    "offline",
                    "cannot be combined with a provider",
                ));
            }
            (Some(p), false) => {
                finops_core::config::single_provider(provider_of(p)?, self::models(models)?)
            }
            (None, true) => (Pipeline::offline(), finops_core::config::offline_routes()),
            (None, false) => {
                let settings = Settings::from_env().map_err(to_py)?;
                (settings.pipeline().map_err(to_py)?, settings.routes())
            }
        };
        let mut pipeline = pipeline.with_limits(rate_limits, budgets);
        if let Some((options, host_cache)) = cache {
            // Opening a store is async: on the shared runtime, with the GIL released.
            let runtime = pyo3_async_runtimes::tokio::get_runtime();
            let embedder = Arc::clone(&embedder);
            let mut caches = py
                .detach(|| runtime.block_on(options.open(embedder)))
                .map_err(to_py)?;
            if let Some(host) = host_cache {
                let ttl = std::time::Duration::from_secs(options.ttl_seconds);
                caches.exact = Some(Arc::new(
                    HostCache::new(Arc::new(host), ttl).map_err(to_py)?,
                ));
            }
            pipeline = pipeline.with_caches(&caches);
        }
        if let Some(v) = vault {
            pipeline = pipeline.with_vault(v);
        }
        Ok(PyFinops {
            pipeline,
            embedder,
            routes,
        })
    }

    /// Providers from the environment (`OPENROUTER_API_KEY`, `FINOPS_OPENAI_BASE_URL`, ...).
    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        Self::new(py, None, None, None, false, None, None, None, None)
    }

    /// Each phase's route, e.g. `analyst: openrouter anthropic/claude-sonnet-4.5`. No key appears.
    #[getter]
    fn routes(&self) -> Vec<String> {
        self.routes.clone()
    }

    /// `await fo.analyze(statements, question)`: the validated `Analysis`. Cancelling the awaiting task stops the
    /// Rust work.
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None))]
    #[allow(clippy::too_many_arguments)]
    fn analyze<'py>(
        &self,
        py: Python<'py>,
        statements: &Bound<'py, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'_, PyPrincipal>>,
        cache_mode: Option<String>,
        max_cache_age: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = self.request(
            py,
            statements,
            question,
            language,
            tenant,
            client,
            principal,
            &RequestCache(cache_mode, max_cache_age),
        )?;
        let pipeline = self.pipeline.clone();
        crate::runtime::future_into_py(py, async move {
            let analysis = pipeline.analyze(request).await.map_err(to_py)?;
            Ok(PyAnalysis {
                inner: Arc::new(analysis),
            })
        })
    }

    /// The same, blocking: for scripts and notebooks. The GIL is released while the analysis runs.
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None))]
    #[allow(clippy::too_many_arguments)]
    fn analyze_sync(
        &self,
        py: Python<'_>,
        statements: &Bound<'_, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'_, PyPrincipal>>,
        cache_mode: Option<String>,
        max_cache_age: Option<f64>,
    ) -> PyResult<PyAnalysis> {
        let request = self.request(
            py,
            statements,
            question,
            language,
            tenant,
            client,
            principal,
            &RequestCache(cache_mode, max_cache_age),
        )?;
        let pipeline = self.pipeline.clone();
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        // On a worker thread, so a Python provider can run its own event loop there (this thread may have one).
        let handle = runtime.spawn(async move { pipeline.analyze(request).await });
        let result = py.detach(|| runtime.block_on(handle));
        match result {
            Ok(Ok(analysis)) => Ok(PyAnalysis {
                inner: Arc::new(analysis),
            }),
            Ok(Err(e)) => Err(to_py(e)),
            Err(e) => Err(to_py(finops_core::Error::Internal(format!(
                "the analysis task failed: {e}"
            )))),
        }
    }

    /// `async for event in fo.stream(statements, question)`: the events, the last one `completed` or `failed`.
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None))]
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        py: Python<'_>,
        statements: &Bound<'_, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'_, PyPrincipal>>,
        cache_mode: Option<String>,
        max_cache_age: Option<f64>,
    ) -> PyResult<PyEventStream> {
        let request = self.request(
            py,
            statements,
            question,
            language,
            tenant,
            client,
            principal,
            &RequestCache(cache_mode, max_cache_age),
        )?;
        Ok(PyEventStream {
            inner: Arc::new(tokio::sync::Mutex::new(self.pipeline.stream(request))),
        })
    }

    /// `await fo.embed(texts)`: the configured embedder's vectors, checked (one per text, right length, finite).
    fn embed<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let embedder = Arc::clone(&self.embedder);
        crate::runtime::future_into_py(py, async move {
            let n = texts.len();
            let vectors = embedder.embed(texts).await.map_err(to_py)?;
            finops_core::embed::check(embedder.as_ref(), n, &vectors).map_err(to_py)?;
            Ok(vectors)
        })
    }

    fn __repr__(&self) -> String {
        format!("Finops(routes={:?})", self.routes)
    }
}
