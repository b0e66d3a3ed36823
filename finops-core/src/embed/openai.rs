//! An OpenAI-compatible `/v1/embeddings` client (OpenAI, OpenRouter, a local llama.cpp or vLLM server, Ollama).

use serde_json::{Value, json};

use super::Embedder;
use crate::error::{Error, Result};
use crate::provider::http::{self, ApiKey, HttpOptions};

/// Embeddings from `POST {base_url}/embeddings`, in input order, checked against the declared dimensions.
///
/// ```
/// use finops_core::embed::{Embedder, OpenAiEmbedder};
/// let local = OpenAiEmbedder::new("http://127.0.0.1:8080/v1", None, "nomic-embed-text", 768)?;
/// assert_eq!(local.dimensions(), 768);
/// assert!(OpenAiEmbedder::new("ftp://x", None, "m", 768).is_err());
/// # Ok::<(), finops_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    base_url: String,
    key: Option<ApiKey>,
    model: String,
    dimensions: usize,
    client: reqwest::Client,
}

impl OpenAiEmbedder {
    /// An embedder calling `base_url`'s `/embeddings` with `model`, expecting `dimensions`.
    pub fn new(
        base_url: &str,
        key: Option<ApiKey>,
        model: &str,
        dimensions: usize,
    ) -> Result<Self> {
        Self::with_options(base_url, key, model, dimensions, &HttpOptions::default())
    }

    /// The same with HTTP options (timeouts, headers).
    pub fn with_options(
        base_url: &str,
        key: Option<ApiKey>,
        model: &str,
        dimensions: usize,
        options: &HttpOptions,
    ) -> Result<Self> {
        crate::provider::http::check_base_url(base_url)?;
        if model.trim().is_empty() {
            return Err(Error::invalid_argument("model", "must not be empty"));
        }
        if !(1..=65_536).contains(&dimensions) {
            return Err(Error::invalid_argument(
                "dimensions",
                format!("{dimensions} is outside 1..=65536"),
            ));
        }
        Ok(OpenAiEmbedder {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            model: model.to_string(),
            dimensions,
            client: options.client()?,
        })
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        "openai-embeddings"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let name = self.name();
        let count = texts.len();
        let mut builder = self
            .client
            .post(format!("{}/embeddings", self.base_url))
            .header("content-type", "application/json")
            .body(json!({"model": self.model, "input": texts}).to_string());
        if let Some(k) = &self.key {
            builder = builder.bearer_auth(k.expose());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| http::transport_error(name, &e, self.key.as_ref()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| http::transport_error(name, &e, self.key.as_ref()))?;
        if !(200..300).contains(&status) {
            return Err(http::status_error(
                name,
                status,
                &headers,
                &body,
                self.key.as_ref(),
            ));
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| Error::provider(name, format!("the answer is not JSON: {e}"), true))?;
        let data = v
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::provider(name, "the answer has no `data` array", false))?;
        let mut out: Vec<Option<Vec<f32>>> = vec![None; count];
        for (position, item) in data.iter().enumerate() {
            // `index` says which input a vector belongs to; without it, the order of `data`.
            let at = item
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(position);
            let vector = item
                .get("embedding")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::provider(name, format!("item {at} has no embedding"), false))?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| {
                    Error::provider(name, format!("embedding {at} holds a non-number"), false)
                })?;
            match out.get_mut(at) {
                Some(slot) => *slot = Some(vector),
                None => {
                    return Err(Error::provider(
                        name,
                        format!("embedding index {at} for {count} inputs"),
                        false,
                    ));
                }
            }
        }
        let vectors = out
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| Error::provider(name, format!("no embedding for input {i}"), false))
            })
            .collect::<Result<Vec<_>>>()?;
        super::check(self, count, &vectors)?;
        Ok(vectors)
    }
}
