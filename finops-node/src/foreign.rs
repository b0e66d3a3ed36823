//! Providers, embedders and caches written in JS (called through thread-safe functions), and the scripted test provider.

use crate::*;

/// A provider implemented in JS: `chat(requestJson) => Promise<answerJson>`, where the answer is
/// `{"text", "input_tokens"?, "output_tokens"?, "cost_usd"?}` or `{"error": {"message", "retryable"}}`.
// Weak: a provider held by a `Finops` does not keep the Node process alive (a pending analysis does).
pub(crate) type ChatFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

pub(crate) struct JsProvider {
    pub(crate) name: String,
    pub(crate) chat: Arc<ChatFn>,
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
pub(crate) type EmbedFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

pub(crate) struct JsEmbedder {
    pub(crate) dimensions: usize,
    pub(crate) embed: Arc<EmbedFn>,
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
    pub(crate) inner: Arc<ScriptedProvider>,
}

#[napi]
impl NativeScriptedProvider {
    #[napi(constructor, catch_unwind)]
    pub fn new(latency_ms: Option<f64>) -> Result<Self> {
        let ms = latency_ms.unwrap_or(0.0);
        let latency = finops_core::analysis::seconds("latencyMs", ms / 1000.0, 0.0, 3600.0)
            .map_err(|_| {
                invalid(
                    "latencyMs",
                    "must be a number of milliseconds from 0 to 3600000",
                )
            })?;
        Ok(NativeScriptedProvider {
            inner: Arc::new(ScriptedProvider::new().latency(latency)),
        })
    }

    #[napi(catch_unwind)]
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

    #[napi(catch_unwind)]
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

    #[napi(catch_unwind)]
    pub fn remaining(&self, phase: String) -> Result<u32> {
        let phase: Phase = phase.parse().map_err(|e| js_error(&e))?;
        Ok(u32::try_from(self.inner.remaining(phase)).unwrap_or(u32::MAX))
    }
}

/// A host's exact tier implemented in JS: `cacheCall(requestJson) => Promise<answerJson>`, where the request is
/// `{"op": "get" | "put" | "invalidate_tenant" | "invalidate_client", "args": [...]}` and the answer
/// `{"value": string | null}` (index.js dispatches to the host object's methods).
pub(crate) type CacheFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

pub(crate) struct JsCache {
    pub(crate) call: Arc<CacheFn>,
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
