//! Providers, embedders and cache stores written in Kotlin or Swift, and their adapters to the core's traits.

use super::*;

/// A chat message a provider receives.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// What a foreign provider's `chat` receives.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatRequestFfi {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub json_mode: bool,
    /// The JSON Schema the answer must follow, as JSON text, narrowed to this request (the catalogue's metric ids,
    /// the document's periods, the ids a text may cite): pass it to a model that takes structured outputs
    /// (`response_format: json_schema`, a forced tool call, a grammar). `None` when the phase asks for none.
    pub schema_json: Option<String>,
    /// The schema's name (`analyst_plan`, …), as OpenAI's `json_schema.name` and Anthropic's tool name.
    pub schema_name: Option<String>,
    /// `analyst`, `researcher` or `validator`.
    pub phase: PhaseFfi,
}

/// A foreign provider's answer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatAnswer {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD as decimal text, when the provider knows it.
    pub cost_usd: Option<String>,
}

/// A language model provider written in Kotlin or Swift. Throw `FinopsError.Provider` (with `retryable`) for a
/// failure.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait ChatProvider: Send + Sync {
    fn name(&self) -> String;
    async fn chat(&self, request: ChatRequestFfi) -> Result<ChatAnswer, FinopsError>;
}

/// An embedder written in Kotlin or Swift.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TextEmbedder: Send + Sync {
    fn dimensions(&self) -> u32;
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, FinopsError>;
}

/// The exact cache tier's store, written in Kotlin or Swift (a key-value store of strings: values are analyses as
/// JSON, client data to protect like any). The SDK decides what goes in and what may come out.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    async fn get(&self, tenant: String, key: String) -> Result<Option<String>, FinopsError>;
    async fn put(
        &self,
        tenant: String,
        client: String,
        key: String,
        value: String,
    ) -> Result<(), FinopsError>;
    async fn invalidate_tenant(&self, tenant: String) -> Result<(), FinopsError>;
    async fn invalidate_client(&self, tenant: String, client: String) -> Result<(), FinopsError>;
}

pub(crate) struct ForeignCache {
    pub(crate) inner: Arc<dyn CacheStore>,
}

impl std::fmt::Debug for ForeignCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignCache").finish()
    }
}

#[async_trait::async_trait]
impl finops_core::cache::KeyValueStore for ForeignCache {
    async fn get(&self, tenant: &str, key: &str) -> finops_core::Result<Option<String>> {
        self.inner
            .get(tenant.into(), key.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn put(
        &self,
        tenant: &str,
        client: &str,
        key: &str,
        value: String,
    ) -> finops_core::Result<()> {
        self.inner
            .put(tenant.into(), client.into(), key.into(), value)
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn invalidate_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.inner
            .invalidate_tenant(tenant.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }

    async fn invalidate_client(&self, tenant: &str, client: &str) -> finops_core::Result<()> {
        self.inner
            .invalidate_client(tenant.into(), client.into())
            .await
            .map_err(|e| back_to_core("cache", e))
    }
}

pub(crate) struct ForeignProvider {
    pub(crate) inner: Arc<dyn ChatProvider>,
    pub(crate) name: String,
}

impl std::fmt::Debug for ForeignProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignProvider")
            .field("name", &self.name)
            .finish()
    }
}

pub(crate) fn back_to_core(name: &str, e: FinopsError) -> Error {
    match e {
        FinopsError::Provider {
            reason, retryable, ..
        } => Error::provider(name, reason, retryable),
        other => Error::provider(name, other.to_string(), false),
    }
}

#[async_trait::async_trait]
impl Provider for ForeignProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        let request = ChatRequestFfi {
            model: request.model,
            messages: request
                .messages
                .iter()
                .map(|m| ChatMessage {
                    role: word(&m.role),
                    content: m.content.clone(),
                })
                .collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            json_mode: request.json_mode,
            schema_json: request.schema.as_ref().map(|s| s.schema.to_string()),
            schema_name: request.schema.as_ref().map(|s| s.name.clone()),
            phase: request.phase.into(),
        };
        let answer = self
            .inner
            .chat(request)
            .await
            .map_err(|e| back_to_core(&self.name, e))?;
        // The core reads the answer, as it does every binding's (the cost as decimal text).
        let json = serde_json::json!({
            "text": answer.text,
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "cost_usd": answer.cost_usd,
        });
        finops_core::provider::host_answer(&self.name, &json.to_string())
    }
}

pub(crate) struct ForeignEmbedder {
    pub(crate) inner: Arc<dyn TextEmbedder>,
    pub(crate) dimensions: usize,
}

impl std::fmt::Debug for ForeignEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignEmbedder")
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

#[async_trait::async_trait]
impl Embedder for ForeignEmbedder {
    fn name(&self) -> &str {
        "foreign"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> finops_core::Result<Vec<Vec<f32>>> {
        self.inner
            .embed(texts)
            .await
            .map_err(|e| back_to_core("foreign", e))
    }
}
