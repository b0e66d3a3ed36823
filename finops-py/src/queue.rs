//! `finops.Queue`: jobs for workers in other processes (PostgreSQL or Redis Streams), their events followed from
//! here, and a worker to run in this process. The queue, the worker and the job model are the core's.

use std::sync::Arc;

use crate::runtime::future_into_py;
use finops_core::queue::{self, JobEvent, JobSpec, Queue, Worker};
use finops_core::store::Vault;
use futures::StreamExt;
use futures::stream::BoxStream;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use crate::analysis::PyAnalysis;
use crate::convert::{statements_json, to_python};
use crate::errors::{float_arg, int_arg, invalid_argument, seconds_arg, to_py};
use crate::finops::PyFinops;

/// A job queue shared by processes (`await Queue.connect(url)`).
#[pyclass(module = "finops", name = "Queue", frozen)]
pub(crate) struct PyQueue {
    queue: Arc<dyn Queue>,
    vault: Arc<Vault>,
}

#[pymethods]
impl PyQueue {
    /// `await Queue.connect("postgres://…[#name]")` or `("redis://…[#name]", store="postgres://…")`: the master key
    /// comes from `FINOPS_MASTER_KEY`, the same in every process of the deployment.
    /// `retention_seconds`: how long ended jobs stay known (default a day).
    #[staticmethod]
    #[pyo3(signature = (url, *, store = None, retention_seconds = None))]
    fn connect<'py>(
        py: Python<'py>,
        url: String,
        store: Option<String>,
        retention_seconds: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let retention = retention_seconds
            // The conversion only (finite, not negative); the core says how short a retention may be.
            .map(|s| seconds_arg("retention_seconds", &s, 0.0, 3.2e8))
            .transpose()?;
        future_into_py(py, async move {
            let (queue, vault) = queue::connect_with(&url, store.as_deref(), retention)
                .await
                .map_err(to_py)?;
            Ok(PyQueue { queue, vault })
        })
    }

    /// `await x.close()`: closes the queue's connections and its vault's; later calls raise `BackendError`. Idempotent.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (queue, vault) = (Arc::clone(&self.queue), Arc::clone(&self.vault));
        future_into_py(py, async move {
            queue.close().await;
            vault.close().await;
            Ok(())
        })
    }

    /// `async with await finops.Queue.connect(...) as x:` closes it on the way out.
    fn __aenter__<'py>(slf: Bound<'py, Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.unbind();
        future_into_py(py, async move { Ok(this) })
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _kind: Bound<'py, PyAny>,
        _value: Bound<'py, PyAny>,
        _traceback: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }

    /// `await q.enqueue(statements, question, tenant=…, key=…)`: the job's id (the first job's id when the tenant
    /// enqueued this key before). `events=True` relays the analysis's events to `follow`.
    #[pyo3(signature = (statements, question, *, tenant, key, client = None, language = None, priority = None, max_attempts = None, events = false))]
    #[allow(clippy::too_many_arguments)]
    fn enqueue<'py>(
        &self,
        py: Python<'py>,
        statements: &Bound<'py, PyAny>,
        question: String,
        tenant: String,
        key: String,
        client: Option<String>,
        language: Option<&str>,
        priority: Option<Bound<'py, PyAny>>,
        max_attempts: Option<Bound<'py, PyAny>>,
        events: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let priority = match priority {
            Some(p) => int_arg("priority", &p, i32::MIN.into(), i32::MAX.into())?,
            None => 0,
        };
        let max_attempts = match max_attempts {
            Some(m) => int_arg("max_attempts", &m, 0, u32::MAX.into())?,
            None => 3,
        };
        let mut spec = JobSpec::new(tenant, key, statements_json(py, statements)?, question);
        spec.client = client;
        spec.language = language.map(|l| l.parse().map_err(to_py)).transpose()?;
        spec.priority =
            i32::try_from(priority).map_err(|_| invalid_argument("priority", "out of range"))?;
        spec.max_attempts = u32::try_from(max_attempts)
            .map_err(|_| invalid_argument("max_attempts", "out of range"))?;
        spec.events = events;
        let queue = Arc::clone(&self.queue);
        future_into_py(py, async move {
            let spec = spec;
            queue.enqueue(&spec).await.map_err(to_py)
        })
    }

    /// `await q.status(tenant, job_id)`: a dict (`id`, `status`, `attempts`, `max_attempts`, `error`,
    /// `result_id`, …), or None when the tenant has no such job.
    fn status<'py>(
        &self,
        py: Python<'py>,
        tenant: &Bound<'py, PyAny>,
        job_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let queue = Arc::clone(&self.queue);
        let who = Who::of(tenant)?;
        future_into_py(py, async move {
            let info = match &who {
                Who::Tenant(t) => queue.status(t, &job_id).await,
                Who::Principal(p) => queue::status_for(queue.as_ref(), p, &job_id).await,
            };
            match info.map_err(to_py)? {
                Some(info) => to_python(&info),
                None => Ok(Python::attach(|py| py.None())),
            }
        })
    }

    /// `await q.cancel(tenant, job_id)`: `"cancelled"`, or how the job had already ended, or None when the tenant
    /// has no such job. A running job's worker drops it at its next heartbeat and stores nothing.
    fn cancel<'py>(
        &self,
        py: Python<'py>,
        tenant: &Bound<'py, PyAny>,
        job_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let queue = Arc::clone(&self.queue);
        let who = Who::of(tenant)?;
        future_into_py(py, async move {
            let status = match &who {
                Who::Tenant(t) => queue.cancel(t, &job_id).await,
                Who::Principal(p) => queue::cancel_for(queue.as_ref(), p, &job_id).await,
            }
            .map_err(to_py)?;
            Ok(status.map(|s| s.id()))
        })
    }

    /// `async for event in q.follow(tenant, job_id)`: the job's events as dicts (`type`: `started`, `analysis`,
    /// `attempt_failed`, `finished`), from wherever it runs; ends after `finished`.
    fn follow(&self, tenant: &Bound<'_, PyAny>, job_id: String) -> PyResult<PyJobEvents> {
        let queue = Arc::clone(&self.queue);
        let stream = match Who::of(tenant)? {
            Who::Tenant(t) => queue::follow(queue, t, job_id),
            Who::Principal(p) => queue::follow_for(queue, &p, job_id).map_err(to_py)?,
        };
        Ok(PyJobEvents {
            inner: Arc::new(tokio::sync::Mutex::new(stream)),
        })
    }

    /// `await q.result(tenant, job_id)`: the job's `Analysis` once it succeeded, else None (read as a CPA of the
    /// tenant from the deployment's store).
    fn result<'py>(
        &self,
        py: Python<'py>,
        tenant: &Bound<'py, PyAny>,
        job_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (queue, vault) = (Arc::clone(&self.queue), Arc::clone(&self.vault));
        let who = Who::of(tenant)?;
        future_into_py(py, async move {
            let analysis = match &who {
                Who::Tenant(t) => queue::result(queue.as_ref(), &vault, t, &job_id).await,
                Who::Principal(p) => queue::result_for(queue.as_ref(), &vault, p, &job_id).await,
            }
            .map_err(to_py)?;
            Ok(analysis.map(|a| PyAnalysis { inner: Arc::new(a) }))
        })
    }

    /// `await q.run_worker(fo, concurrency=4, lease_seconds=30.0, until=stop.wait())`: runs jobs with `fo`'s
    /// pipeline until `until` completes (then the jobs in hand finish, and the worker's counts come back as a
    /// dict), or until the awaiting task is cancelled (the jobs in hand are dropped: other workers take them when
    /// their lease ends, and a result already stored is not run again).
    #[pyo3(signature = (finops, *, concurrency = None, lease_seconds = None, until = None))]
    fn run_worker<'py>(
        &self,
        py: Python<'py>,
        finops: &Bound<'py, PyFinops>,
        concurrency: Option<Bound<'py, PyAny>>,
        lease_seconds: Option<Bound<'py, PyAny>>,
        until: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let concurrency = match concurrency {
            // A whole number here; the core checks the range.
            Some(c) => int_arg("concurrency", &c, 0, i64::MAX)?,
            None => 4,
        };
        let concurrency = usize::try_from(concurrency)
            .map_err(|_| invalid_argument("concurrency", "out of range"))?;
        let lease_seconds = match lease_seconds {
            Some(l) => float_arg("lease_seconds", &l)?,
            None => 30.0,
        };
        let worker = Worker::new(
            Arc::clone(&self.queue),
            finops.get().inner.pipeline().clone(),
            Arc::clone(&self.vault),
            concurrency,
        )
        .and_then(|w| w.lease_seconds(lease_seconds))
        .map_err(to_py)?;
        // A graceful stop: when `until` (e.g. `stop.wait()` of an asyncio.Event) completes, the worker takes no new
        // job and finishes the ones in hand.
        let until = match until {
            Some(done) => {
                let awaitable = py
                    .import("inspect")?
                    .call_method1("isawaitable", (&done,))?
                    .is_truthy()?;
                if !awaitable {
                    return Err(invalid_argument(
                        "until",
                        "must be an awaitable, e.g. `stop.wait()`",
                    ));
                }
                Some(pyo3_async_runtimes::tokio::into_future(done)?)
            }
            None => None,
        };
        future_into_py(py, async move {
            let shutdown = async move {
                match until {
                    Some(done) => {
                        let _ = done.await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let stats = worker.run(shutdown).await.map_err(to_py)?;
            to_python(&serde_json::json!({
                "succeeded": stats.succeeded,
                "retried": stats.retried,
                "dead": stats.dead,
                "lost_leases": stats.lost_leases,
                "stopped": stats.stopped,
            }))
        })
    }

    fn __repr__(&self) -> String {
        format!("Queue({:?})", self.queue)
    }
}

/// The async iterator `Queue.follow` returns.
#[pyclass(module = "finops", name = "JobEvents", frozen)]
pub(crate) struct PyJobEvents {
    inner: Arc<tokio::sync::Mutex<BoxStream<'static, finops_core::Result<JobEvent>>>>,
}

#[pymethods]
impl PyJobEvents {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        future_into_py(py, async move {
            match inner.lock().await.next().await {
                Some(Ok(event)) => to_python(&event),
                Some(Err(e)) => Err(to_py(e)),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }
}

/// Who asks about a job: a tenant (the host's own trusted code, acting for the whole firm) or a `finops.Principal`
/// (a person: the queue applies the role rules of `queue::status_for` and the rest).
enum Who {
    Tenant(String),
    Principal(finops_core::security::Principal),
}

impl Who {
    fn of(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(p) = value.cast::<crate::finops::PyPrincipal>() {
            return Ok(Who::Principal(p.get().inner.clone()));
        }
        value
            .extract::<String>()
            .map(Who::Tenant)
            .map_err(|_| invalid_argument("tenant", "must be a tenant id or a finops.Principal"))
    }
}
