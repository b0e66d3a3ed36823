//! `finops.Finops`: configuration and the analysis entry points (async, sync and streamed).

use std::sync::Arc;

use finops_core::finops::{Finops, FinopsConfig, RequestOptions};
use finops_core::pipeline::AnalysisRequest;
use finops_core::provider::Provider;
use finops_core::security::{Principal, Role};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::analysis::{PyAnalysis, PyEventStream};
use crate::convert::statements;
use crate::errors::{int_arg, invalid_argument, to_py};
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
    /// Who the person is at the identity provider (a verified token's `sub`), for the audit trail.
    #[getter]
    fn sub(&self) -> Option<&str> {
        self.inner.sub.as_deref()
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

/// The SDK: the core's facade, built from the host's configuration.
#[pyclass(module = "finops", name = "Finops", frozen)]
pub(crate) struct PyFinops {
    pub(crate) inner: Finops,
}

fn provider_of(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn Provider>> {
    if let Ok(s) = obj.cast::<PyScriptedProvider>() {
        return Ok(s.get().inner.clone());
    }
    Ok(Arc::new(PyProvider::new(obj)?))
}

/// `cache=`: None or False (no cache), True (the embedded in-memory tiers), a dict of cache options (passed to the
/// core's configuration), or an object implementing the exact tier's store (`get`, `put`, `invalidate_tenant`,
/// `invalidate_client`), used with the in-memory semantic and plan tiers.
fn cache_argument(
    cache: Option<&Bound<'_, PyAny>>,
    config: &Bound<'_, PyDict>,
) -> PyResult<Option<PyCache>> {
    let Some(c) = cache.filter(|c| !c.is_none()) else {
        return Ok(None);
    };
    if let Ok(on) = c.extract::<bool>() {
        if on {
            config.set_item("cache", PyDict::new(c.py()))?;
        }
        return Ok(None);
    }
    if c.cast::<PyDict>().is_ok() {
        config.set_item("cache", c)?;
        return Ok(None);
    }
    if c.hasattr("get")? && c.hasattr("put")? {
        return Ok(Some(PyCache::new(c)?));
    }
    Err(invalid_argument(
        "cache",
        "must be a bool, a dict of cache options or a cache object",
    ))
}

/// The configuration dict as the core's JSON: Decimals (budgets, prices) become decimal strings, exactly.
fn config_json(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<String> {
    let json = py.import("json")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", py.get_type::<pyo3::types::PyString>())?;
    json.call_method("dumps", (config,), Some(&kwargs))
        .map_err(|_| {
            invalid_argument(
                "config",
                "must hold JSON values (numbers, strings, booleans, lists, dicts, Decimals)",
            )
        })?
        .extract()
}

/// A request's options, as the core's JSON.
struct RequestArgs<'a, 'py> {
    language: Option<&'a str>,
    tenant: Option<String>,
    client: Option<String>,
    principal: Option<&'a Bound<'py, PyPrincipal>>,
    cache_mode: Option<String>,
    max_cache_age: Option<Bound<'py, PyAny>>,
    peers: Option<Bound<'py, PyAny>>,
}

impl PyFinops {
    fn request(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        question: String,
        args: RequestArgs<'_, '_>,
    ) -> PyResult<AnalysisRequest> {
        let options = RequestOptions {
            language: args.language.map(str::to_string),
            tenant: args.tenant,
            client: args.client,
            principal: args.principal.map(|p| p.get().inner.clone()),
            cache_mode: args.cache_mode,
            max_cache_age: args
                .max_cache_age
                .as_ref()
                .map(|v| crate::errors::float_arg("max_cache_age", v))
                .transpose()?,
        };
        let mut request = options
            .request(statements(py, source)?, question)
            .map_err(to_py)?;
        if let Some(peers) = &args.peers {
            request.peers = Some(crate::portfolio::clients(py, peers)?.into());
        }
        Ok(request)
    }
}

#[pymethods]
impl PyFinops {
    /// The SDK. `config`: the core's configuration as a dict (`providers`, `models`, `offline`, `env`, `unpriced`,
    /// `prices`, `fallback_estimate_usd`, `rate_limits`, `budgets`, `cache`, `vault`; see the README); each
    /// keyword below sets the key of the same name. With nothing configured, providers come from the environment
    /// (the offline analyst when none is set).
    /// `providers`: built-in providers with their keys, e.g. {"openrouter": {"api_key": ...}}. `models`:
    /// {"analyst": ..., "researcher": ..., "validator": ...}. `provider`: one provider of the host's for every phase
    /// (a `finops.ScriptedProvider` or any object with `chat`). `embedder`: an object with `embed(texts)` and
    /// `dimensions`. `budgets`: monthly USD per tenant ({"firm-1": Decimal("50")}); `rate_limits`: (per tenant,
    /// per principal) requests per minute. `cache`: True, a dict of cache options, or a cache object. `vault`: a
    /// `finops.Vault` (or a directory or postgres:// URL) where every analysis is saved before it is returned.
    #[new]
    #[pyo3(signature = (config = None, *, providers = None, models = None, provider = None, embedder = None, offline = None, budgets = None, rate_limits = None, cache = None, vault = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyDict>>,
        providers: Option<&Bound<'_, PyAny>>,
        models: Option<&Bound<'_, PyAny>>,
        provider: Option<&Bound<'_, PyAny>>,
        embedder: Option<&Bound<'_, PyAny>>,
        offline: Option<bool>,
        budgets: Option<&Bound<'_, PyAny>>,
        rate_limits: Option<&Bound<'_, PyAny>>,
        cache: Option<&Bound<'_, PyAny>>,
        vault: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let merged = match config {
            Some(c) => c.copy()?,
            None => PyDict::new(py),
        };
        for (key, value) in [
            ("providers", providers),
            ("models", models),
            ("budgets", budgets),
        ] {
            if let Some(v) = value.filter(|v| !v.is_none()) {
                merged.set_item(key, v)?;
            }
        }
        if let Some(o) = offline {
            merged.set_item("offline", o)?;
        }
        if let Some(limits) = rate_limits {
            let pair: (Bound<'_, PyAny>, Bound<'_, PyAny>) = limits.extract().map_err(|_| {
                invalid_argument("rate_limits", "must be a pair (per tenant, per principal)")
            })?;
            let max = i64::from(u32::MAX);
            let per_tenant = int_arg("rate_limits.per_tenant", &pair.0, 0, max)?;
            let per_principal = int_arg("rate_limits.per_principal", &pair.1, 0, max)?;
            let r = PyDict::new(py);
            r.set_item("per_tenant", per_tenant)?;
            r.set_item("per_principal", per_principal)?;
            merged.set_item("rate_limits", r)?;
        }
        let host_cache = cache_argument(cache, &merged)?;
        let mut builder = Finops::builder();
        match vault.filter(|v| !v.is_none()) {
            Some(v) if v.is_instance_of::<pyo3::types::PyString>() => {
                merged.set_item("vault", v)?
            }
            Some(v) => {
                let v = v.cast::<crate::vault::PyVault>().map_err(|_| {
                    invalid_argument("vault", "must be a finops.Vault, a directory or a URL")
                })?;
                builder = builder.vault(v.get().inner.clone());
            }
            None => {}
        }
        let config = FinopsConfig::from_json(&config_json(py, &merged)?).map_err(to_py)?;
        builder = builder.config(config);
        if let Some(p) = provider.filter(|p| !p.is_none()) {
            builder = builder.provider(provider_of(p)?);
        }
        if let Some(e) = embedder.filter(|e| !e.is_none()) {
            builder = builder.embedder(Arc::new(PyEmbedder::new(e)?));
        }
        if let Some(c) = host_cache {
            builder = builder.host_cache(Arc::new(c));
        }
        // Opening stores is async: on the shared runtime, with the GIL released.
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let inner = crate::runtime::guard(|| {
            py.detach(|| runtime.block_on(builder.build()))
                .map_err(to_py)
        })?;
        Ok(PyFinops { inner })
    }

    /// Providers from the environment (`OPENROUTER_API_KEY`, `FINOPS_OPENAI_BASE_URL`, ...).
    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let inner = py
            .detach(|| runtime.block_on(Finops::from_env()))
            .map_err(to_py)?;
        Ok(PyFinops { inner })
    }

    /// Each phase's route, e.g. `analyst: openrouter anthropic/claude-sonnet-4.5`. No key appears.
    #[getter]
    fn routes(&self) -> Vec<String> {
        self.inner.routes().to_vec()
    }

    /// `await fo.analyze(statements, question)`: the validated `Analysis`. Cancelling the awaiting task stops the
    /// Rust work.
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None, peers = None))]
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
        max_cache_age: Option<Bound<'py, PyAny>>,
        peers: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = self.request(
            py,
            statements,
            question,
            RequestArgs {
                language,
                tenant,
                client,
                principal,
                cache_mode,
                max_cache_age,
                peers,
            },
        )?;
        let fo = self.inner.clone();
        crate::runtime::future_into_py(py, async move {
            let analysis = fo.analyze(request).await.map_err(to_py)?;
            Ok(PyAnalysis {
                inner: Arc::new(analysis),
            })
        })
    }

    /// The same, blocking: for scripts and notebooks. The GIL is released while the analysis runs.
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None, peers = None))]
    #[allow(clippy::too_many_arguments)]
    fn analyze_sync<'py>(
        &self,
        py: Python<'py>,
        statements: &Bound<'py, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'_, PyPrincipal>>,
        cache_mode: Option<String>,
        max_cache_age: Option<Bound<'py, PyAny>>,
        peers: Option<Bound<'py, PyAny>>,
    ) -> PyResult<PyAnalysis> {
        let request = self.request(
            py,
            statements,
            question,
            RequestArgs {
                language,
                tenant,
                client,
                principal,
                cache_mode,
                max_cache_age,
                peers,
            },
        )?;
        let fo = self.inner.clone();
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        // On a worker thread, so a Python provider can run its own event loop there (this thread may have one).
        let handle = runtime.spawn(async move { fo.analyze(request).await });
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
    #[pyo3(signature = (statements, question, *, language = None, tenant = None, client = None, principal = None, cache_mode = None, max_cache_age = None, peers = None))]
    #[allow(clippy::too_many_arguments)]
    fn stream<'py>(
        &self,
        py: Python<'py>,
        statements: &Bound<'py, PyAny>,
        question: String,
        language: Option<&str>,
        tenant: Option<String>,
        client: Option<String>,
        principal: Option<&Bound<'py, PyPrincipal>>,
        cache_mode: Option<String>,
        max_cache_age: Option<Bound<'py, PyAny>>,
        peers: Option<Bound<'py, PyAny>>,
    ) -> PyResult<PyEventStream> {
        let request = self.request(
            py,
            statements,
            question,
            RequestArgs {
                language,
                tenant,
                client,
                principal,
                cache_mode,
                max_cache_age,
                peers,
            },
        )?;
        Ok(PyEventStream {
            inner: Arc::new(tokio::sync::Mutex::new(self.inner.stream(request))),
        })
    }

    /// `await fo.embed(texts)`: the configured embedder's vectors, checked (one per text, right length, finite).
    fn embed<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let fo = self.inner.clone();
        crate::runtime::future_into_py(py, async move { fo.embed(texts).await.map_err(to_py) })
    }

    fn __repr__(&self) -> String {
        format!("Finops(routes={:?})", self.inner.routes())
    }
}
