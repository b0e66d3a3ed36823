//! Providers and embedders written in Python (a class with a `chat` / `embed` method, sync or async), and the
//! scripted test provider.

use std::sync::{Arc, Mutex};

use finops_core::Error;
use finops_core::embed::Embedder;
use finops_core::provider::{
    ChatRequest, ChatStream, Phase, Provider, ScriptedProvider, ScriptedReply,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use tokio::sync::oneshot;

use crate::convert::json_to_py;

/// Receives the result of a coroutine scheduled on the host's event loop.
#[pyclass(module = "finops")]
struct DoneCallback {
    tx: Mutex<Option<oneshot::Sender<PyResult<Py<PyAny>>>>>,
}

#[pymethods]
impl DoneCallback {
    fn __call__(&self, fut: &Bound<'_, PyAny>) {
        let result = fut.call_method0("result").map(Bound::unbind);
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // The receiver is gone only if the Rust side was cancelled: nothing to deliver.
            let _ = tx.send(result);
        }
    }
}

/// Cancels the scheduled coroutine if the Rust side stops waiting for it (cancellation by drop).
struct CancelOnDrop {
    fut: Option<Py<PyAny>>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            Python::attach(|py| {
                let _ = fut.bind(py).call_method0("cancel");
            });
        }
    }
}

/// Calls `obj.method(arg)` with one JSON argument (see [`call_with`]).
async fn call(obj: &Py<PyAny>, method: &str, arg: &str) -> PyResult<Py<PyAny>> {
    call_with(obj, method, vec![arg.to_string()]).await
}

/// Calls `obj.method(*args)` (each argument given as JSON); awaits the result if it is awaitable — on the caller's
/// event loop when there is one (async API), else with `asyncio.run` on this worker thread (sync API).
async fn call_with(obj: &Py<PyAny>, method: &str, args: Vec<String>) -> PyResult<Py<PyAny>> {
    enum Pending {
        Ready(Py<PyAny>),
        Waiting(oneshot::Receiver<PyResult<Py<PyAny>>>, CancelOnDrop),
    }
    let pending = Python::attach(|py| -> PyResult<Pending> {
        let args = args
            .iter()
            .map(|a| json_to_py(py, a))
            .collect::<PyResult<Vec<_>>>()?;
        let args = pyo3::types::PyTuple::new(py, args)?;
        let result = obj.bind(py).call_method1(method, args)?;
        if !py
            .import("inspect")?
            .call_method1("isawaitable", (&result,))?
            .is_truthy()?
        {
            return Ok(Pending::Ready(result.unbind()));
        }
        match pyo3_async_runtimes::tokio::get_current_locals(py) {
            Ok(locals) => {
                let fut = py
                    .import("asyncio")?
                    .call_method1("run_coroutine_threadsafe", (result, locals.event_loop(py)))?;
                let (tx, rx) = oneshot::channel();
                fut.call_method1(
                    "add_done_callback",
                    (DoneCallback {
                        tx: Mutex::new(Some(tx)),
                    },),
                )?;
                Ok(Pending::Waiting(
                    rx,
                    CancelOnDrop {
                        fut: Some(fut.unbind()),
                    },
                ))
            }
            Err(_) => Ok(Pending::Ready(
                py.import("asyncio")?
                    .call_method1("run", (result,))?
                    .unbind(),
            )),
        }
    })?;
    match pending {
        Pending::Ready(v) => Ok(v),
        Pending::Waiting(rx, mut guard) => {
            let result = rx.await;
            guard.fut = None;
            result.unwrap_or_else(|_| {
                Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the event loop dropped the call",
                ))
            })
        }
    }
}

/// A Python exception raised by a host's provider, as a provider error (retryable if it says so).
fn provider_error(name: &str, e: PyErr) -> Error {
    Python::attach(|py| {
        let value = e.value(py);
        let retryable = value
            .getattr("retryable")
            .and_then(|r| r.is_truthy())
            .unwrap_or(false);
        Error::provider(
            name,
            format!(
                "{}: {value}",
                value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),
            retryable,
        )
    })
}

fn name_of(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("name")
        .and_then(|n| n.extract::<String>())
        .or_else(|_| obj.get_type().name().map(|n| n.to_string()))
        .unwrap_or_else(|_| "python".into())
}

/// A provider implemented in Python: `chat(request: dict) -> str | dict`, sync or async. A dict answer has
/// `text` and optionally `input_tokens`, `output_tokens`, `cost_usd`.
pub(crate) struct PyProvider {
    obj: Py<PyAny>,
    name: String,
}

impl std::fmt::Debug for PyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyProvider")
            .field("name", &self.name)
            .finish()
    }
}

impl PyProvider {
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !obj.hasattr("chat")? {
            return Err(crate::errors::invalid_argument(
                "provider",
                "a provider needs a `chat(request)` method",
            ));
        }
        Ok(PyProvider {
            obj: obj.clone().unbind(),
            name: name_of(obj),
        })
    }
}

/// The provider's answer (a str, or a dict with `text` and optionally `input_tokens`, `output_tokens`,
/// `cost_usd`) as JSON for the core, which reads and checks it (Decimals become their exact text).
fn answer_json(name: &str, value: &Py<PyAny>) -> Result<String, Error> {
    Python::attach(|py| {
        let json = py.import("json")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", py.get_type::<PyString>())?;
        json.call_method("dumps", (value.bind(py),), Some(&kwargs))?
            .extract::<String>()
    })
    .map_err(|e| {
        Error::provider(
            name,
            format!("the provider's answer is not JSON-like: {e}"),
            false,
        )
    })
}

#[async_trait::async_trait]
impl Provider for PyProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        let json = serde_json::to_string(&request).map_err(|e| Error::Internal(e.to_string()))?;
        let value = call(&self.obj, "chat", &json)
            .await
            .map_err(|e| provider_error(&self.name, e))?;
        finops_core::provider::host_answer(&self.name, &answer_json(&self.name, &value)?)
    }
}

/// An embedder implemented in Python: `embed(texts: list[str]) -> list[list[float]]`, sync or async, with a
/// `dimensions` attribute.
pub(crate) struct PyEmbedder {
    obj: Py<PyAny>,
    name: String,
    dimensions: usize,
}

impl std::fmt::Debug for PyEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyEmbedder")
            .field("name", &self.name)
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

impl PyEmbedder {
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let invalid = |why: &str| crate::errors::invalid_argument("embedder", why.to_string());
        if !obj.hasattr("embed")? {
            return Err(invalid("an embedder needs an `embed(texts)` method"));
        }
        let dimensions: usize = obj
            .getattr("dimensions")
            .map_err(|_| invalid("an embedder needs a `dimensions` attribute"))?
            .extract()
            .map_err(|_| invalid("`dimensions` must be an int from 1 to 65536"))?;
        if !(1..=65_536).contains(&dimensions) {
            return Err(invalid("`dimensions` must be an int from 1 to 65536"));
        }
        Ok(PyEmbedder {
            obj: obj.clone().unbind(),
            name: name_of(obj),
            dimensions,
        })
    }
}

#[async_trait::async_trait]
impl Embedder for PyEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        let json = serde_json::to_string(&texts).map_err(|e| Error::Internal(e.to_string()))?;
        let value = call(&self.obj, "embed", &json)
            .await
            .map_err(|e| provider_error(&self.name, e))?;
        Python::attach(|py| value.bind(py).extract::<Vec<Vec<f32>>>()).map_err(|_| {
            Error::provider(
                &self.name,
                "embed() must return a list of lists of floats",
                false,
            )
        })
    }
}

fn phase(name: &str) -> PyResult<Phase> {
    name.parse::<Phase>().map_err(crate::errors::to_py)
}

/// The scripted test provider: queued answers per phase, injected errors and latency.
#[pyclass(module = "finops", name = "ScriptedProvider", frozen)]
pub(crate) struct PyScriptedProvider {
    pub(crate) inner: Arc<ScriptedProvider>,
}

#[pymethods]
impl PyScriptedProvider {
    #[new]
    #[pyo3(signature = (*, latency = None))]
    fn new(latency: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        let latency = match latency {
            Some(l) => crate::errors::seconds_arg("latency", &l, 0.0, 3600.0)?,
            None => std::time::Duration::ZERO,
        };
        Ok(PyScriptedProvider {
            inner: Arc::new(ScriptedProvider::new().latency(latency)),
        })
    }

    /// Queues an answer for a phase (`analyst`, `researcher` or `validator`).
    #[pyo3(signature = (phase, text, *, input_tokens = 100, output_tokens = 50))]
    fn reply(
        &self,
        phase: &str,
        text: String,
        input_tokens: u64,
        output_tokens: u64,
    ) -> PyResult<()> {
        self.inner.enqueue(
            self::phase(phase)?,
            ScriptedReply::text(text, input_tokens, output_tokens),
        );
        Ok(())
    }

    /// Queues a failure for a phase.
    #[pyo3(signature = (phase, message, *, retryable = false))]
    fn fail(&self, phase: &str, message: String, retryable: bool) -> PyResult<()> {
        self.inner.enqueue(
            self::phase(phase)?,
            ScriptedReply::Fail(Error::provider("scripted", message, retryable)),
        );
        Ok(())
    }

    /// Answers still queued for a phase.
    fn remaining(&self, phase: &str) -> PyResult<usize> {
        Ok(self.inner.remaining(self::phase(phase)?))
    }
}

/// The exact tier's store implemented in Python: `get(tenant, key) -> str | None`, `put(tenant, client, key,
/// value)`, `invalidate_tenant(tenant)` and `invalidate_client(tenant, client)`, sync or async. The core's
/// `HostCache` decides what goes in and what may come out.
pub(crate) struct PyCache {
    obj: Py<PyAny>,
    name: String,
}

impl std::fmt::Debug for PyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyCache").field("name", &self.name).finish()
    }
}

impl PyCache {
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["get", "put", "invalidate_tenant", "invalidate_client"] {
            if !obj.hasattr(method)? {
                return Err(crate::errors::invalid_argument(
                    "cache",
                    format!("a cache object needs a `{method}` method"),
                ));
            }
        }
        Ok(PyCache {
            obj: obj.clone().unbind(),
            name: name_of(obj),
        })
    }

    async fn call(&self, method: &str, args: &[&str]) -> finops_core::Result<Py<PyAny>> {
        let args = args
            .iter()
            .map(|a| serde_json::Value::from(*a).to_string())
            .collect();
        call_with(&self.obj, method, args).await.map_err(|e| {
            Error::backend(
                finops_core::BackendKind::Host,
                format!("cache `{}`: {method}() raised {e}", self.name),
                true,
            )
        })
    }
}

#[async_trait::async_trait]
impl finops_core::cache::KeyValueStore for PyCache {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        let value = self.call("get", &[tenant, key]).await?;
        Python::attach(|py| value.bind(py).extract()).map_err(|_| {
            Error::backend(
                finops_core::BackendKind::Host,
                format!("cache `{}`: get() must return a str or None", self.name),
                false,
            )
        })
    }

    async fn put(
        &self,
        tenant: &str,
        client: &str,
        key: &str,
        value: String,
    ) -> finops_core::Result<()> {
        self.call("put", &[tenant, client, key, &value])
            .await
            .map(|_| ())
    }

    async fn invalidate_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.call("invalidate_tenant", &[tenant]).await.map(|_| ())
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> finops_core::Result<()> {
        self.call("invalidate_client", &[tenant, client])
            .await
            .map(|_| ())
    }
}
