//! Built-in providers configured per `Finops` from Kotlin or Swift: each with its own key, base URL, headers and
//! timeouts, typed. The core checks every value and names the field.

use std::collections::HashMap;
use std::sync::Arc;

use finops_core::finops::{ProviderConfig, ProvidersConfig};

/// An API key. An object rather than a string so that no generated `toString` (Kotlin data classes print every
/// field) or `description` can put it in a log.
#[derive(uniffi::Object)]
pub struct ApiKeyFfi {
    key: String,
}

#[uniffi::export]
impl ApiKeyFfi {
    #[uniffi::constructor]
    pub fn new(key: String) -> Arc<Self> {
        Arc::new(ApiKeyFfi { key })
    }
}

impl std::fmt::Debug for ApiKeyFfi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeyFfi([redacted])")
    }
}

/// One built-in provider. Durations in seconds.
#[derive(Clone, Default, uniffi::Record)]
pub struct ProviderConfigFfi {
    /// Required, but for `local`. Never printed.
    #[uniffi(default = None)]
    pub api_key: Option<Arc<ApiKeyFfi>>,
    /// Another base URL (a proxy, a gateway); required for `local`.
    #[uniffi(default = None)]
    pub base_url: Option<String>,
    /// Sent with every request.
    #[uniffi(default = None)]
    pub headers: Option<HashMap<String, String>>,
    #[uniffi(default = None)]
    pub connect_timeout_seconds: Option<f64>,
    #[uniffi(default = None)]
    pub read_timeout_seconds: Option<f64>,
    #[uniffi(default = None)]
    pub first_chunk_timeout_seconds: Option<f64>,
    #[uniffi(default = None)]
    pub total_timeout_seconds: Option<f64>,
    #[uniffi(default = None)]
    pub max_retries: Option<u32>,
    #[uniffi(default = None)]
    pub breaker_threshold: Option<u32>,
    #[uniffi(default = None)]
    pub breaker_cool_down_seconds: Option<f64>,
}

impl std::fmt::Debug for ProviderConfigFfi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The same redaction as the core's: no key, no header value.
        std::fmt::Debug::fmt(&ProviderConfig::from(self.clone()), f)
    }
}

impl From<ProviderConfigFfi> for ProviderConfig {
    fn from(p: ProviderConfigFfi) -> Self {
        ProviderConfig {
            api_key: p.api_key.map(|k| k.key.clone()),
            base_url: p.base_url,
            headers: p.headers.unwrap_or_default().into_iter().collect(),
            connect_timeout_seconds: p.connect_timeout_seconds,
            read_timeout_seconds: p.read_timeout_seconds,
            first_chunk_timeout_seconds: p.first_chunk_timeout_seconds,
            total_timeout_seconds: p.total_timeout_seconds,
            max_retries: p.max_retries,
            breaker_threshold: p.breaker_threshold,
            breaker_cool_down_seconds: p.breaker_cool_down_seconds,
        }
    }
}

/// The built-in providers; `local` is any OpenAI-compatible server.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ProvidersFfi {
    #[uniffi(default = None)]
    pub openrouter: Option<ProviderConfigFfi>,
    #[uniffi(default = None)]
    pub anthropic: Option<ProviderConfigFfi>,
    #[uniffi(default = None)]
    pub openai: Option<ProviderConfigFfi>,
    #[uniffi(default = None)]
    pub deepseek: Option<ProviderConfigFfi>,
    #[uniffi(default = None)]
    pub local: Option<ProviderConfigFfi>,
}

impl From<ProvidersFfi> for ProvidersConfig {
    fn from(p: ProvidersFfi) -> Self {
        ProvidersConfig {
            openrouter: p.openrouter.map(Into::into),
            anthropic: p.anthropic.map(Into::into),
            openai: p.openai.map(Into::into),
            deepseek: p.deepseek.map(Into::into),
            local: p.local.map(Into::into),
        }
    }
}
