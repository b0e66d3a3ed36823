//! `NativeQueue`: jobs for workers in other processes, and following a job's events.

use crate::*;

/// A job queue shared by processes (PostgreSQL or Redis Streams; see `Queue` in index.js).
#[napi]
pub struct NativeQueue {
    pub(crate) queue: Arc<dyn finops_core::queue::Queue>,
    pub(crate) vault: Arc<finops_core::store::Vault>,
}

/// Connects to a queue: `postgres://…[#name]`, or `redis://…[#name]` with a `store`; the master key comes from
/// `FINOPS_MASTER_KEY`.
#[napi]
pub async fn connect_queue(
    url: String,
    store: Option<String>,
    retention_seconds: Option<f64>,
) -> Result<NativeQueue> {
    let retention = retention_seconds
        .map(|s| {
            std::time::Duration::try_from_secs_f64(s)
                .map_err(|_| invalid("retentionSeconds", "must be a number of seconds >= 1"))
        })
        .transpose()?;
    let (queue, vault) = finops_core::queue::connect_with(&url, store.as_deref(), retention)
        .await
        .map_err(|e| js_error(&e))?;
    Ok(NativeQueue { queue, vault })
}

#[napi]
impl NativeQueue {
    /// Enqueues a job (see `job_from`); resolves to its id.
    #[napi]
    pub async fn enqueue(&self, job_json: String) -> Result<String> {
        let spec = finops_core::queue::JobSpec::from_json(&job_json).map_err(|e| js_error(&e))?;
        self.queue.enqueue(&spec).await.map_err(|e| js_error(&e))
    }

    /// The job's status as JSON, or null when the tenant has no such job.
    #[napi]
    pub async fn status(&self, tenant: String, id: String) -> Result<Option<String>> {
        let info = match who(&tenant)? {
            Who::Tenant(t) => self.queue.status(&t, &id).await,
            Who::Principal(p) => finops_core::queue::status_for(self.queue.as_ref(), &p, &id).await,
        }
        .map_err(|e| js_error(&e))?;
        info.map(|i| to_json(&i)).transpose()
    }

    /// Cancels a queued or running job: its status after, or null when the tenant has no such job.
    #[napi]
    pub async fn cancel(&self, tenant: String, id: String) -> Result<Option<String>> {
        let status = match who(&tenant)? {
            Who::Tenant(t) => self.queue.cancel(&t, &id).await,
            Who::Principal(p) => finops_core::queue::cancel_for(self.queue.as_ref(), &p, &id).await,
        }
        .map_err(|e| js_error(&e))?;
        Ok(status.map(|s| s.id().to_string()))
    }

    /// The job's events, from wherever it runs.
    #[napi(catch_unwind)]
    pub fn follow(
        &self,
        tenant: String,
        id: String,
        token: &CancelToken,
    ) -> Result<NativeJobEvents> {
        let queue = Arc::clone(&self.queue);
        let stream = match who(&tenant)? {
            Who::Tenant(t) => finops_core::queue::follow(queue, t, id),
            Who::Principal(p) => {
                finops_core::queue::follow_for(queue, &p, id).map_err(|e| js_error(&e))?
            }
        };
        Ok(NativeJobEvents {
            inner: Arc::new(tokio::sync::Mutex::new(Some(stream))),
            cancel: token.tx.subscribe(),
        })
    }

    /// Closes the queue's connections and its vault's; later calls reject with a backend error.
    #[napi]
    pub async fn close(&self) {
        self.queue.close().await;
        self.vault.close().await;
    }

    /// The job's analysis as JSON once it succeeded, else null (read as a CPA of the tenant).
    #[napi]
    pub async fn result(&self, tenant: String, id: String) -> Result<Option<String>> {
        let (queue, vault) = (self.queue.as_ref(), &self.vault);
        let analysis = match who(&tenant)? {
            Who::Tenant(t) => finops_core::queue::result(queue, vault, &t, &id).await,
            Who::Principal(p) => finops_core::queue::result_for(queue, vault, &p, &id).await,
        }
        .map_err(|e| js_error(&e))?;
        analysis.map(|a| to_json(&a)).transpose()
    }

    /// Runs jobs with `finops`'s pipeline until the token is cancelled, then finishes the jobs in hand (a
    /// graceful stop); resolves to the worker's counts as JSON.
    #[napi]
    pub async fn run_worker(
        &self,
        finops: &NativeFinops,
        concurrency: f64,
        lease_ms: f64,
        token: &CancelToken,
    ) -> Result<String> {
        // The core checks the range.
        let worker = finops_core::queue::Worker::new(
            Arc::clone(&self.queue),
            finops.inner.pipeline().clone(),
            Arc::clone(&self.vault),
            crate::count("concurrency", concurrency)?,
        )
        // JS counts time in milliseconds; the core in seconds.
        .and_then(|w| w.lease_seconds(lease_ms / 1000.0))
        .map_err(|e| js_error(&e))?;
        let stats = worker
            .run(cancelled(token.tx.subscribe()))
            .await
            .map_err(|e| js_error(&e))?;
        to_json(&json!({
            "succeeded": stats.succeeded,
            "retried": stats.retried,
            "dead": stats.dead,
            "lostLeases": stats.lost_leases,
            "stopped": stats.stopped,
        }))
    }
}

/// A job's events: `next()` resolves to the next one as JSON, or null after `finished`.
#[napi]
pub struct NativeJobEvents {
    pub(crate) inner: Arc<
        tokio::sync::Mutex<
            Option<
                futures::stream::BoxStream<
                    'static,
                    finops_core::Result<finops_core::queue::JobEvent>,
                >,
            >,
        >,
    >,
    pub(crate) cancel: tokio::sync::watch::Receiver<bool>,
}

#[napi]
impl NativeJobEvents {
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let mut guard = self.inner.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        let event = tokio::select! {
            event = stream.next() => event,
            () = cancelled(self.cancel.clone()) => {
                guard.take();
                return Err(js_error(&Error::Cancelled));
            }
        };
        match event {
            Some(Ok(e)) => to_json(&e).map(Some),
            Some(Err(e)) => Err(js_error(&e)),
            None => Ok(None),
        }
    }

    /// Stops following now.
    #[napi]
    pub async fn close(&self) {
        self.inner.lock().await.take();
    }
}

/// Who asks about a job: a tenant id (the host's trusted code, for the whole firm) or a principal as JSON (a
/// person: the core's role rules apply). Tenant ids never start with `{`.
enum Who {
    Tenant(String),
    Principal(finops_core::security::Principal),
}

fn who(text: &str) -> Result<Who> {
    if text.trim_start().starts_with('{') {
        finops_core::security::Principal::from_json(text)
            .map(Who::Principal)
            .map_err(|e| js_error(&e))
    } else {
        Ok(Who::Tenant(text.to_string()))
    }
}
