//! The native half of the `finops` npm package. Values cross the boundary as JSON strings; `index.js` (the
//! package's entry point) turns them into JS objects, `Error` subclasses, async iterators and AbortSignals. No
//! analysis logic lives here: it converts, maps errors and bridges async.

pub mod vault;

use std::sync::Arc;

use finops_core::cache::{CacheOptions, HostCache};
use finops_core::config::Settings;
use finops_core::embed::{Embedder, HashingEmbedder};
use finops_core::pipeline::{AnalysisRequest, CacheMode, EventStream, Language, Pipeline};
use finops_core::provider::{
    ChatRequest, ChatStream, Phase, Provider, ScriptedProvider, ScriptedReply, TokenUsage,
};
use finops_core::security::limits::{Budgets, RateLimits};
use finops_core::security::{Principal, Role};
use finops_core::{Decimal, Error, Statements, metrics};
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde_json::{Value, json};

/// A core error as a JS error whose message is a JSON object (`code`, `message`, `field`, and the variant's
/// details); `index.js` rethrows it as the matching `FinopsError` subclass.
fn js_error(e: &Error) -> napi::Error {
    let mut info = json!({"code": e.code(), "message": e.to_string(), "field": e.field()});
    match e {
        Error::InvalidStatements { reason, issues, .. } => {
            info["reason"] = json!(reason);
            info["issues"] = json!(
                issues
                    .iter()
                    .map(|i| json!({"field": i.field, "reason": i.reason}))
                    .collect::<Vec<_>>()
            );
        }
        Error::InvalidArgument { reason, .. } | Error::AccessDenied { reason } => {
            info["reason"] = json!(reason)
        }
        Error::InvalidExpression {
            expression,
            position,
            reason,
        } => {
            info["expression"] = json!(expression);
            info["position"] = json!(position);
            info["reason"] = json!(reason);
        }
        Error::Provider {
            provider,
            reason,
            retryable,
            status,
            retry_after,
        } => {
            info["provider"] = json!(provider);
            info["reason"] = json!(reason);
            info["retryable"] = json!(retryable);
            info["status"] = json!(status);
            info["retryAfter"] = json!(retry_after.map(|d| d.as_secs_f64()));
        }
        Error::RateLimited { scope, retry_after } => {
            info["scope"] = json!(scope);
            info["retryAfter"] = json!(retry_after.as_secs_f64());
        }
        Error::BudgetExceeded {
            tenant,
            limit_usd,
            spent_usd,
        } => {
            info["tenant"] = json!(tenant);
            info["limitUsd"] = json!(limit_usd.to_string());
            info["spentUsd"] = json!(spent_usd.to_string());
        }
        Error::InvalidToken { kind, reason } => {
            info["kind"] = json!(kind);
            info["reason"] = json!(reason);
        }
        Error::Integrity { reason } => info["reason"] = json!(reason),
        Error::KeyUnavailable { key_id, reason } => {
            info["keyId"] = json!(key_id);
            info["reason"] = json!(reason);
        }
        _ => {}
    }
    napi::Error::from_reason(format!("FINOPS_ERROR{info}"))
}

fn invalid(field: &str, reason: impl Into<String>) -> napi::Error {
    js_error(&Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    })
}

/// A principal from its JS object (`tenant`, `role`, optional `client`).
fn principal_from(p: &Value) -> Result<Principal> {
    if !p.is_object() {
        return Err(invalid(
            "principal",
            "must be an object { tenant, role, client? }",
        ));
    }
    let tenant = p
        .get("tenant")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("principal.tenant", "is required"))?;
    let role: Role = p
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("")
        .parse()
        .map_err(|e| js_error(&e))?;
    let client = match p.get("client") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(_) => return Err(invalid("principal.client", "must be a string")),
    };
    Principal::new(tenant, role, client).map_err(|e| js_error(&e))
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
        let text = v
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("the provider's answer has no `text` string".into(), false))?;
        let mut usage = None;
        if v.get("input_tokens").is_some()
            || v.get("output_tokens").is_some()
            || v.get("cost_usd").is_some()
        {
            let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
            let cost = match v.get("cost_usd") {
                None | Some(Value::Null) => None,
                Some(c) => Some(
                    c.to_string()
                        .trim_matches('"')
                        .parse::<Decimal>()
                        .map_err(|_| fail("`cost_usd` is not a number".into(), false))?,
                ),
            };
            usage = Some(TokenUsage {
                input_tokens: n("input_tokens"),
                output_tokens: n("output_tokens"),
                cost_usd: cost,
                ..TokenUsage::default()
            });
        }
        Ok(finops_core::provider::whole_answer(text.to_string(), usage))
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

/// The events of one analysis: `next()` resolves to the next event as JSON, or null at the end.
#[napi]
pub struct NativeEventStream {
    inner: Arc<tokio::sync::Mutex<Option<EventStream>>>,
}

#[napi]
impl NativeEventStream {
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let mut guard = self.inner.lock().await;
        let event = match guard.as_mut() {
            Some(s) => s.next().await,
            None => None,
        };
        event.map(|e| to_json(&e)).transpose()
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
        let fail = |reason: String| Error::Internal(format!("the JS cache's {op}: {reason}"));
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

/// Options of `NativeFinops` (see `FinopsOptions` in index.d.ts).
#[napi(object, object_to_js = false)]
pub struct NativeOptions {
    pub offline: Option<bool>,
    pub provider_name: Option<String>,
    pub chat: Option<ChatFn>,
    pub models_json: Option<String>,
    pub embed: Option<EmbedFn>,
    pub embed_dimensions: Option<u32>,
    /// `{"tenant": "USD"}` as JSON.
    pub budgets_json: Option<String>,
    /// `[per tenant, per principal]` requests per minute.
    pub rate_limits: Option<Vec<u32>>,
    /// `CacheOptions` as JSON (snake_case fields).
    pub cache_json: Option<String>,
    /// A host's exact tier (see `CacheFn`).
    pub cache_call: Option<CacheFn>,
}

#[napi]
pub struct NativeFinops {
    pipeline: Pipeline,
    embedder: Arc<dyn Embedder>,
    routes: Vec<String>,
}

fn models(json: Option<&str>) -> Result<[Option<String>; 3]> {
    let mut out: [Option<String>; 3] = [None, None, None];
    if let Some(j) = json {
        let m: serde_json::Map<String, Value> = serde_json::from_str(j)
            .map_err(|_| invalid("models", "must be an object of phase → model"))?;
        for (k, v) in m {
            let phase: Phase = k
                .parse()
                .map_err(|_| invalid("models", format!("unknown phase `{k}`")))?;
            out[phase as usize] = Some(
                v.as_str()
                    .ok_or_else(|| {
                        invalid("models", format!("the model of `{k}` must be a string"))
                    })?
                    .to_string(),
            );
        }
    }
    Ok(out)
}

fn request_from(json: &str) -> Result<AnalysisRequest> {
    let v: Value = serde_json::from_str(json).map_err(|_| invalid("request", "is not JSON"))?;
    let text = |k: &str| -> Result<Option<String>> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(k, "must be a string")),
        }
    };
    let statements_json =
        text("statements")?.ok_or_else(|| invalid("statements", "is required"))?;
    let question = text("question")?.ok_or_else(|| invalid("question", "is required"))?;
    let mut r = AnalysisRequest::new(statements(&statements_json)?, question);
    if let Some(l) = text("language")? {
        r = r.language(l.parse::<Language>().map_err(|e| js_error(&e))?);
    }
    if let Some(t) = text("tenant")? {
        r = r.tenant(t);
    }
    if let Some(c) = text("client")? {
        r = r.client(c);
    }
    if let Some(m) = text("cache_mode")? {
        r = r.cache_mode(CacheMode::parse("cacheMode", &m).map_err(|e| js_error(&e))?);
    }
    match v.get("max_cache_age_ms") {
        None | Some(Value::Null) => {}
        Some(n) => {
            let ms = n
                .as_f64()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .ok_or_else(|| invalid("maxCacheAgeMs", "must be a number of milliseconds >= 0"))?;
            r = r.max_cache_age(std::time::Duration::from_secs_f64(ms / 1000.0));
        }
    }
    if let Some(p) = v.get("principal").filter(|p| !p.is_null()) {
        r = r.principal(principal_from(p)?);
    }
    r.validate().map_err(|e| js_error(&e))?;
    Ok(r)
}

#[napi]
impl NativeFinops {
    #[napi(constructor)]
    pub fn new(
        options: Option<NativeOptions>,
        scripted: Option<&NativeScriptedProvider>,
        vault: Option<&vault::NativeVault>,
    ) -> Result<Self> {
        let o = options.unwrap_or(NativeOptions {
            offline: None,
            provider_name: None,
            chat: None,
            models_json: None,
            embed: None,
            embed_dimensions: None,
            budgets_json: None,
            rate_limits: None,
            cache_json: None,
            cache_call: None,
        });
        let embedder: Arc<dyn Embedder> = match (o.embed, o.embed_dimensions) {
            (Some(f), Some(d)) if d > 0 => Arc::new(JsEmbedder {
                dimensions: d as usize,
                embed: Arc::new(f),
            }),
            (Some(_), _) => return Err(invalid("embedder", "needs a positive `dimensions`")),
            (None, _) => Arc::new(HashingEmbedder::default()),
        };
        let provider: Option<Arc<dyn Provider>> = match (o.chat, scripted) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "provider",
                    "give a provider or a scripted provider, not both",
                ));
            }
            (Some(chat), None) => Some(Arc::new(JsProvider {
                name: o.provider_name.unwrap_or_else(|| "js".into()),
                chat: Arc::new(chat),
            })),
            (None, Some(s)) => Some(s.inner.clone()),
            (None, None) => None,
        };
        let offline = o.offline.unwrap_or(false);
        let (pipeline, routes) = match (provider, offline) {
            (Some(_), true) => {
                return Err(invalid("offline", "cannot be combined with a provider"));
            }
            (Some(p), false) => {
                finops_core::config::single_provider(p, models(o.models_json.as_deref())?)
            }
            (None, true) => (Pipeline::offline(), finops_core::config::offline_routes()),
            (None, false) => {
                let settings = Settings::from_env().map_err(|e| js_error(&e))?;
                (
                    settings.pipeline().map_err(|e| js_error(&e))?,
                    settings.routes(),
                )
            }
        };
        let budgets = match o.budgets_json.as_deref() {
            None => None,
            Some(j) => {
                let m: serde_json::Map<String, Value> = serde_json::from_str(j)
                    .map_err(|_| invalid("budgets", "must be an object of tenant → USD"))?;
                let texts = m.into_iter().map(|(k, v)| {
                    let t = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k, t)
                });
                Some(Budgets::from_texts(texts).map_err(|e| js_error(&e))?)
            }
        };
        let rate_limits = match o.rate_limits.as_deref() {
            None => None,
            Some([t, p]) => Some(RateLimits::per_minute(*t, *p).map_err(|e| js_error(&e))?),
            Some(_) => return Err(invalid("rateLimits", "must be { perTenant, perPrincipal }")),
        };
        let mut pipeline = pipeline.with_limits(rate_limits, budgets);
        if let Some(json) = o.cache_json.as_deref() {
            let options = CacheOptions::from_json(json).map_err(|e| js_error(&e))?;
            let ttl = std::time::Duration::from_secs(options.ttl_seconds);
            // Opening a store is async; the constructor waits for it on the addon's runtime.
            let mut caches = napi::bindgen_prelude::block_on(options.open(Arc::clone(&embedder)))
                .map_err(|e| js_error(&e))?;
            if let Some(call) = o.cache_call {
                let store = Arc::new(JsCache {
                    call: Arc::new(call),
                });
                caches.exact = Some(Arc::new(
                    HostCache::new(store, ttl).map_err(|e| js_error(&e))?,
                ));
            }
            pipeline = pipeline.with_caches(&caches);
        }
        if let Some(v) = vault {
            pipeline = pipeline.with_vault(Arc::clone(&v.inner));
        }
        Ok(NativeFinops {
            pipeline,
            embedder,
            routes,
        })
    }

    #[napi(getter)]
    pub fn routes(&self) -> Vec<String> {
        self.routes.clone()
    }

    /// Runs an analysis; resolves to the `Analysis` as JSON. Cancelling the token drops the work.
    #[napi]
    pub async fn analyze(&self, request_json: String, token: &CancelToken) -> Result<String> {
        let request = request_from(&request_json)?;
        let rx = token.tx.subscribe();
        let pipeline = self.pipeline.clone();
        tokio::select! {
            r = pipeline.analyze(request) => to_json(&r.map_err(|e| js_error(&e))?),
            () = cancelled(rx) => Err(js_error(&Error::Cancelled)),
        }
    }

    /// Starts a streamed analysis (bad requests fail here, before any event).
    #[napi]
    pub fn stream(&self, request_json: String) -> Result<NativeEventStream> {
        let request = request_from(&request_json)?;
        Ok(NativeEventStream {
            inner: Arc::new(tokio::sync::Mutex::new(Some(self.pipeline.stream(request)))),
        })
    }

    /// The configured embedder's vectors for `texts` (JSON array), checked, as JSON.
    #[napi]
    pub async fn embed(&self, texts_json: String) -> Result<String> {
        let texts: Vec<String> = serde_json::from_str(&texts_json)
            .map_err(|_| invalid("texts", "must be an array of strings"))?;
        let n = texts.len();
        let vectors = self.embedder.embed(texts).await.map_err(|e| js_error(&e))?;
        finops_core::embed::check(self.embedder.as_ref(), n, &vectors).map_err(|e| js_error(&e))?;
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

/// A job from its JSON (`statementsJson`, `question`, `tenant`, `key`, and optional `client`, `language`,
/// `priority`, `maxAttempts`, `events`), checked field by field.
fn job_from(json: &str) -> Result<finops_core::queue::JobSpec> {
    let v: Value = serde_json::from_str(json).map_err(|_| invalid("job", "must be an object"))?;
    let text = |field: &str| -> Result<String> {
        v.get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| invalid(field, "must be a string"))
    };
    let mut spec = finops_core::queue::JobSpec::new(
        text("tenant")?,
        text("key")?,
        text("statementsJson")?,
        text("question")?,
    );
    if let Some(c) = v.get("client").filter(|c| !c.is_null()) {
        spec.client = Some(
            c.as_str()
                .ok_or_else(|| invalid("client", "must be a string"))?
                .to_string(),
        );
    }
    if let Some(l) = v.get("language").filter(|l| !l.is_null()) {
        let l = l
            .as_str()
            .ok_or_else(|| invalid("language", "must be a string"))?;
        spec.language = Some(l.parse::<Language>().map_err(|e| js_error(&e))?);
    }
    if let Some(p) = v.get("priority").filter(|p| !p.is_null()) {
        spec.priority = p
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| invalid("priority", "must be an integer"))?;
    }
    if let Some(m) = v.get("maxAttempts").filter(|m| !m.is_null()) {
        spec.max_attempts = m
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(|| invalid("maxAttempts", "must be a positive integer"))?;
    }
    if let Some(e) = v.get("events").filter(|e| !e.is_null()) {
        spec.events = e
            .as_bool()
            .ok_or_else(|| invalid("events", "must be a boolean"))?;
    }
    Ok(spec)
}

#[napi]
impl NativeQueue {
    /// Enqueues a job (see `job_from`); resolves to its id.
    #[napi]
    pub async fn enqueue(&self, job_json: String) -> Result<String> {
        let spec = job_from(&job_json)?;
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
    pub fn follow(&self, tenant: String, id: String) -> NativeJobEvents {
        NativeJobEvents {
            inner: Arc::new(tokio::sync::Mutex::new(Some(finops_core::queue::follow(
                Arc::clone(&self.queue),
                tenant,
                id,
            )))),
        }
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
        lease_ms: u32,
        token: &CancelToken,
    ) -> Result<String> {
        let worker = finops_core::queue::Worker::new(
            Arc::clone(&self.queue),
            finops.pipeline.clone(),
            Arc::clone(&self.vault),
            concurrency as usize,
        )
        .map_err(|e| js_error(&e))?;
        if lease_ms < 100 {
            return Err(invalid("leaseMs", "must be at least 100"));
        }
        let worker = worker.lease(std::time::Duration::from_millis(u64::from(lease_ms)));
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
}

#[napi]
impl NativeJobEvents {
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let mut guard = self.inner.lock().await;
        let event = match guard.as_mut() {
            Some(s) => s.next().await,
            None => None,
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
