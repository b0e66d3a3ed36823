//! The native half of the `finops` npm package. Values cross the boundary as JSON strings; `index.js` (the
//! package's entry point) turns them into JS objects, `Error` subclasses, async iterators and AbortSignals. No
//! analysis logic lives here: it converts, maps errors and bridges async.

pub mod vault;

use std::sync::Arc;

use finops_core::embed::Embedder;
use finops_core::finops::{Finops, FinopsConfig, RequestOptions};
use finops_core::pipeline::{AnalysisRequest, EventStream};
use finops_core::provider::{
    ChatRequest, ChatStream, Phase, Provider, ScriptedProvider, ScriptedReply,
};
use finops_core::security::Principal;
use finops_core::{Error, Statements, metrics};
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde_json::{Value, json};

/// A core error as a JS error whose message carries its one serialized form ([`Error::payload`]); `index.js`
/// rethrows it as the matching `FinopsError` subclass, generically.
fn js_error(e: &Error) -> napi::Error {
    let payload = serde_json::to_string(&e.payload())
        .unwrap_or_else(|_| json!({"code": e.code(), "message": e.to_string()}).to_string());
    napi::Error::from_reason(format!("FINOPS_ERROR{payload}"))
}

fn invalid(field: &str, reason: impl Into<String>) -> napi::Error {
    js_error(&Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    })
}

/// A principal from its JS object (`tenant`, `role`, optional `client`), checked by the core.
fn principal_from(p: &Value) -> Result<Principal> {
    Principal::from_json(&p.to_string()).map_err(|e| js_error(&e))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| js_error(&Error::Internal(e.to_string())))
}

/// Parses statements given as JSON text.
fn statements(json: &str) -> Result<Statements> {
    Statements::from_json_str(json).map_err(|e| js_error(&e))
}

/// Every figure of every period, as a JSON array.
#[napi]
pub fn compute_metrics(statements_json: String) -> Result<String> {
    let s = statements(&statements_json)?;
    to_json(&metrics::compute_all(&s))
}

/// One expression evaluated exactly, as JSON.
#[napi]
pub fn evaluate(statements_json: String, expression: String, period: String) -> Result<String> {
    let s = statements(&statements_json)?;
    let c = metrics::expr::evaluate(&s, &expression, &period).map_err(|e| js_error(&e))?;
    to_json(&c)
}

/// The canonical fingerprint of a statements document.
#[napi]
pub fn fingerprint(statements_json: String) -> Result<String> {
    Ok(statements(&statements_json)?.fingerprint().to_string())
}

/// A provider implemented in JS: `chat(requestJson) => Promise<answerJson>`, where the answer is
/// `{"text", "input_tokens"?, "output_tokens"?, "cost_usd"?}` or `{"error": {"message", "retryable"}}`.
// Weak: a provider held by a `Finops` does not keep the Node process alive (a pending analysis does).
type ChatFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

struct JsProvider {
    name: String,
    chat: Arc<ChatFn>,
}

impl std::fmt::Debug for JsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsProvider")
            .field("name", &self.name)
            .finish()
    }
}

#[async_trait::async_trait]
impl Provider for JsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        let fail = |reason: String, retryable: bool| Error::provider(&self.name, reason, retryable);
        let body = serde_json::to_string(&request).map_err(|e| Error::Internal(e.to_string()))?;
        let promise = self
            .chat
            .call_async(body)
            .await
            .map_err(|e| fail(e.reason.clone(), false))?;
        let answer = promise.await.map_err(|e| fail(e.reason.clone(), false))?;
        let v: Value = serde_json::from_str(&answer)
            .map_err(|e| fail(format!("the provider's answer is not JSON: {e}"), false))?;
        if let Some(err) = v.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("provider failed")
                .to_string();
            return Err(fail(
                message,
                err.get("retryable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ));
        }
        finops_core::provider::host_answer(&self.name, &answer)
    }
}

/// An embedder implemented in JS: `embed(textsJson) => Promise<vectorsJson>`.
type EmbedFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

struct JsEmbedder {
    dimensions: usize,
    embed: Arc<EmbedFn>,
}

impl std::fmt::Debug for JsEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsEmbedder")
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

#[async_trait::async_trait]
impl Embedder for JsEmbedder {
    fn name(&self) -> &str {
        "js"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        let fail = |reason: String| Error::provider("js", reason, false);
        let body = serde_json::to_string(&texts).map_err(|e| Error::Internal(e.to_string()))?;
        let promise = self
            .embed
            .call_async(body)
            .await
            .map_err(|e| fail(e.reason.clone()))?;
        let answer = promise.await.map_err(|e| fail(e.reason.clone()))?;
        serde_json::from_str(&answer)
            .map_err(|_| fail("embed() must resolve to an array of number arrays".into()))
    }
}

/// The scripted test provider.
#[napi]
pub struct NativeScriptedProvider {
    inner: Arc<ScriptedProvider>,
}

#[napi]
impl NativeScriptedProvider {
    #[napi(constructor)]
    pub fn new(latency_ms: Option<f64>) -> Result<Self> {
        let ms = latency_ms.unwrap_or(0.0);
        if !ms.is_finite() || ms < 0.0 {
            return Err(invalid("latencyMs", "must be a non-negative number"));
        }
        Ok(NativeScriptedProvider {
            inner: Arc::new(
                ScriptedProvider::new().latency(std::time::Duration::from_secs_f64(ms / 1000.0)),
            ),
        })
    }

    #[napi]
    pub fn reply(
        &self,
        phase: String,
        text: String,
        input_tokens: Option<u32>,
        output_tokens: Option<u32>,
    ) -> Result<()> {
        let phase: Phase = phase.parse().map_err(|e| js_error(&e))?;
        let reply = ScriptedReply::text(
            text,
            u64::from(input_tokens.unwrap_or(100)),
            u64::from(output_tokens.unwrap_or(50)),
        );
        self.inner.enqueue(phase, reply);
        Ok(())
    }

    #[napi]
    pub fn fail(&self, phase: String, message: String, retryable: Option<bool>) -> Result<()> {
        let phase: Phase = phase.parse().map_err(|e| js_error(&e))?;
        self.inner.enqueue(
            phase,
            ScriptedReply::Fail(Error::provider(
                "scripted",
                message,
                retryable.unwrap_or(false),
            )),
        );
        Ok(())
    }

    #[napi]
    pub fn remaining(&self, phase: String) -> Result<u32> {
        let phase: Phase = phase.parse().map_err(|e| js_error(&e))?;
        Ok(u32::try_from(self.inner.remaining(phase)).unwrap_or(u32::MAX))
    }
}

/// Cancels a running analysis (`index.js` wires an AbortSignal to it).
#[napi]
pub struct CancelToken {
    tx: tokio::sync::watch::Sender<bool>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl CancelToken {
    #[napi(constructor)]
    pub fn new() -> Self {
        CancelToken {
            tx: tokio::sync::watch::channel(false).0,
        }
    }

    #[napi]
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

async fn cancelled(mut rx: tokio::sync::watch::Receiver<bool>) {
    // An error means the token is gone: never cancelled.
    if rx.wait_for(|c| *c).await.is_err() {
        futures::future::pending::<()>().await;
    }
}

/// The events of one analysis: `next()` resolves to the next event as JSON, or null at the end. Its token
/// (an AbortSignal in `index.js`) cancels it: a pending `next()` rejects with `Cancelled` and the work stops.
#[napi]
pub struct NativeEventStream {
    inner: Arc<tokio::sync::Mutex<Option<EventStream>>>,
    cancel: tokio::sync::watch::Receiver<bool>,
}

#[napi]
impl NativeEventStream {
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let mut guard = self.inner.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        tokio::select! {
            event = stream.next() => event.map(|e| to_json(&e)).transpose(),
            () = cancelled(self.cancel.clone()) => {
                guard.take();
                Err(js_error(&Error::Cancelled))
            }
        }
    }

    /// Drops the analysis now (breaking out of `for await` calls this), instead of when JS collects the object.
    #[napi]
    pub async fn close(&self) {
        self.inner.lock().await.take();
    }
}

/// A host's exact tier implemented in JS: `cacheCall(requestJson) => Promise<answerJson>`, where the request is
/// `{"op": "get" | "put" | "invalidate_tenant" | "invalidate_client", "args": [...]}` and the answer
/// `{"value": string | null}` (index.js dispatches to the host object's methods).
type CacheFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

struct JsCache {
    call: Arc<CacheFn>,
}

impl std::fmt::Debug for JsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsCache").finish()
    }
}

impl JsCache {
    async fn call(&self, op: &str, args: &[&str]) -> finops_core::Result<Option<String>> {
        let fail = |reason: String| {
            Error::backend(
                finops_core::BackendKind::Host,
                format!("the JS cache's {op}: {reason}"),
                false,
            )
        };
        let body = serde_json::json!({"op": op, "args": args}).to_string();
        let promise = self
            .call
            .call_async(body)
            .await
            .map_err(|e| fail(e.reason.clone()))?;
        let answer = promise.await.map_err(|e| fail(e.reason.clone()))?;
        let v: Value = serde_json::from_str(&answer)
            .map_err(|_| fail("answered something that is not JSON".into()))?;
        match v.get("value") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(fail("must resolve to a string or null".into())),
        }
    }
}

#[async_trait::async_trait]
impl finops_core::cache::KeyValueStore for JsCache {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        self.call("get", &[tenant, key]).await
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

/// The host's own objects for `NativeFinops` (the data part of the configuration is the core's JSON).
#[napi(object, object_to_js = false)]
pub struct NativeHost {
    pub provider_name: Option<String>,
    pub chat: Option<ChatFn>,
    pub embed: Option<EmbedFn>,
    pub embed_dimensions: Option<u32>,
    /// A host's exact tier (see `CacheFn`).
    pub cache_call: Option<CacheFn>,
}

#[napi]
pub struct NativeFinops {
    inner: Finops,
}

/// A request's JSON (`statements` as JSON text, `question`, and the core's `RequestOptions` under `options`).
fn request_from(json: &str) -> Result<AnalysisRequest> {
    #[derive(serde::Deserialize)]
    struct Request {
        statements: String,
        question: String,
        #[serde(default)]
        options: Value,
    }
    let r: Request = serde_json::from_str(json)
        .map_err(|e| invalid("request", format!("is not a request: {e}")))?;
    let options = match r.options {
        Value::Null => RequestOptions::default(),
        o => RequestOptions::from_json(&o.to_string()).map_err(|e| js_error(&e))?,
    };
    options
        .request(statements(&r.statements)?, r.question)
        .map_err(|e| js_error(&e))
}

#[napi]
impl NativeFinops {
    /// Builds the core's facade from its configuration (JSON) and the host's objects.
    #[napi(constructor)]
    pub fn new(
        config_json: String,
        host: Option<NativeHost>,
        scripted: Option<&NativeScriptedProvider>,
        vault: Option<&vault::NativeVault>,
    ) -> Result<Self> {
        let config = FinopsConfig::from_json(&config_json).map_err(|e| js_error(&e))?;
        let mut builder = Finops::builder().config(config);
        if let Some(h) = host {
            if let Some(chat) = h.chat {
                builder = builder.provider(Arc::new(JsProvider {
                    name: h.provider_name.unwrap_or_else(|| "js".into()),
                    chat: Arc::new(chat),
                }));
            }
            if let Some(f) = h.embed {
                builder = builder.embedder(Arc::new(JsEmbedder {
                    dimensions: h.embed_dimensions.unwrap_or(0) as usize,
                    embed: Arc::new(f),
                }));
            }
            if let Some(call) = h.cache_call {
                builder = builder.host_cache(Arc::new(JsCache {
                    call: Arc::new(call),
                }));
            }
        }
        if let Some(s) = scripted {
            builder = builder.provider(s.inner.clone());
        }
        if let Some(v) = vault {
            builder = builder.vault(Arc::clone(&v.inner));
        }
        // Opening stores is async; the constructor waits for it on the addon's runtime.
        let inner = napi::bindgen_prelude::block_on(builder.build()).map_err(|e| js_error(&e))?;
        Ok(NativeFinops { inner })
    }

    #[napi(getter)]
    pub fn routes(&self) -> Vec<String> {
        self.inner.routes().to_vec()
    }

    /// Runs an analysis; resolves to the `Analysis` as JSON. Cancelling the token drops the work.
    #[napi]
    pub async fn analyze(&self, request_json: String, token: &CancelToken) -> Result<String> {
        let request = request_from(&request_json)?;
        let rx = token.tx.subscribe();
        let fo = self.inner.clone();
        tokio::select! {
            r = fo.analyze(request) => to_json(&r.map_err(|e| js_error(&e))?),
            () = cancelled(rx) => Err(js_error(&Error::Cancelled)),
        }
    }

    /// Starts a streamed analysis (bad requests fail here, before any event).
    #[napi]
    pub fn stream(&self, request_json: String, token: &CancelToken) -> Result<NativeEventStream> {
        let request = request_from(&request_json)?;
        Ok(NativeEventStream {
            inner: Arc::new(tokio::sync::Mutex::new(Some(self.inner.stream(request)))),
            cancel: token.tx.subscribe(),
        })
    }

    /// The configured embedder's vectors for `texts` (JSON array), checked, as JSON.
    #[napi]
    pub async fn embed(&self, texts_json: String) -> Result<String> {
        let texts: Vec<String> = serde_json::from_str(&texts_json)
            .map_err(|_| invalid("texts", "must be an array of strings"))?;
        let vectors = self.inner.embed(texts).await.map_err(|e| js_error(&e))?;
        to_json(&vectors)
    }
}

/// A job queue shared by processes (PostgreSQL or Redis Streams; see `Queue` in index.js).
#[napi]
pub struct NativeQueue {
    queue: Arc<dyn finops_core::queue::Queue>,
    vault: Arc<finops_core::store::Vault>,
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
        let info = self
            .queue
            .status(&tenant, &id)
            .await
            .map_err(|e| js_error(&e))?;
        info.map(|i| to_json(&i)).transpose()
    }

    /// Cancels a queued or running job: its status after, or null when the tenant has no such job.
    #[napi]
    pub async fn cancel(&self, tenant: String, id: String) -> Result<Option<String>> {
        let status = self
            .queue
            .cancel(&tenant, &id)
            .await
            .map_err(|e| js_error(&e))?;
        Ok(status.map(|s| s.id().to_string()))
    }

    /// The job's events, from wherever it runs.
    #[napi]
    pub fn follow(&self, tenant: String, id: String, token: &CancelToken) -> NativeJobEvents {
        NativeJobEvents {
            inner: Arc::new(tokio::sync::Mutex::new(Some(finops_core::queue::follow(
                Arc::clone(&self.queue),
                tenant,
                id,
            )))),
            cancel: token.tx.subscribe(),
        }
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
        let analysis = finops_core::queue::result(self.queue.as_ref(), &self.vault, &tenant, &id)
            .await
            .map_err(|e| js_error(&e))?;
        analysis.map(|a| to_json(&a)).transpose()
    }

    /// Runs jobs with `finops`'s pipeline until the token is cancelled, then finishes the jobs in hand (a
    /// graceful stop); resolves to the worker's counts as JSON.
    #[napi]
    pub async fn run_worker(
        &self,
        finops: &NativeFinops,
        concurrency: u32,
        lease_ms: f64,
        token: &CancelToken,
    ) -> Result<String> {
        let worker = finops_core::queue::Worker::new(
            Arc::clone(&self.queue),
            finops.inner.pipeline().clone(),
            Arc::clone(&self.vault),
            concurrency as usize,
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
    inner: Arc<
        tokio::sync::Mutex<
            Option<
                futures::stream::BoxStream<
                    'static,
                    finops_core::Result<finops_core::queue::JobEvent>,
                >,
            >,
        >,
    >,
    cancel: tokio::sync::watch::Receiver<bool>,
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
