//! What the HTTP providers share: secret keys that never print, the HTTP client with its timeouts, and the mapping
//! from HTTP statuses to typed, retry-aware errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "http-providers")]
use reqwest::header::HeaderMap;

use crate::error::Error;

/// An API key. Its `Debug` output is redacted and it has no `Display`, so it cannot reach logs or errors by
/// accident; errors built from server answers have the key removed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key; an empty or blank key is refused.
    pub fn new(key: impl Into<String>) -> crate::Result<Self> {
        let key = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid_argument("api_key", "must not be empty"));
        }
        if trimmed.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::invalid_argument(
                "api_key",
                "contains spaces or control characters",
            ));
        }
        Ok(ApiKey(Arc::from(trimmed)))
    }

    #[cfg_attr(not(feature = "http-providers"), allow(dead_code))]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Removes the key (and its longer prefixes) from a text that came back from a server.
    #[cfg_attr(not(feature = "http-providers"), allow(dead_code))]
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&*self.0, "[redacted]");
        // Servers sometimes echo a truncated key ("sk-abc123…"): remove any 12+ character prefix too.
        if self.0.len() > 12 {
            for end in (12..self.0.len()).rev() {
                if out.contains(&self.0[..end]) {
                    out = out.replace(&self.0[..end], "[redacted]");
                }
            }
        }
        out
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// HTTP settings of a provider.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Establishing the connection (TCP + TLS).
    pub connect_timeout: Duration,
    /// From sending the request to the response headers, and between two pieces of a streamed answer.
    pub read_timeout: Duration,
    /// The whole call, streaming included.
    pub total_timeout: Duration,
    /// Headers sent with every request (a gateway's routing or tenant header, an organisation id), checked when
    /// the provider is built. The provider's own authentication headers are set after these.
    pub headers: Vec<(String, String)>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(300),
            headers: Vec::new(),
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be secrets: only their names are shown.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("headers", &names)
            .finish()
    }
}

/// OpenRouter's API.
pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// OpenAI's API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// DeepSeek's API.
pub const DEEPSEEK_BASE_URL: &str = "https://api.deepseek.com/v1";
/// Anthropic's API.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// A provider's base URL, checked: a URL, over http or https.
pub(crate) fn check_base_url(base_url: &str) -> crate::Result<url::Url> {
    let url = url::Url::parse(base_url).map_err(|e| {
        Error::invalid_argument("base_url", format!("`{base_url}` is not a URL: {e}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_argument(
            "base_url",
            format!("`{base_url}` must use http or https"),
        ));
    }
    Ok(url)
}

#[cfg(feature = "http-providers")]
impl HttpOptions {
    pub(crate) fn client(&self) -> crate::Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .timeout(self.total_timeout)
            .default_headers(self.header_map()?)
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))
    }

    /// The extra headers, checked (a field `headers.<name>` names a bad one).
    pub(crate) fn header_map(&self) -> crate::Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let field = || format!("headers.{name}");
            let header = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid_argument(field(), "is not a valid header name"))?;
            let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_argument(field(), "has a value that is not a valid header value")
            })?;
            // Extra headers may carry secrets (a gateway key): never shown by reqwest's Debug.
            value.set_sensitive(true);
            headers.append(header, value);
        }
        Ok(headers)
    }
}

/// Whether an HTTP status is worth retrying: timeouts, conflicts, rate limits and server errors; never another
/// 4xx (a bad request, a wrong key or a refused model fails the same way every time).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429) || status >= 500
}

/// `Retry-After` as seconds or an HTTP date; OpenAI-style `retry-after-ms` too. A value too large for a `Duration`
/// saturates (and is then longer than any wait the retry layer accepts); a negative, NaN or unreadable one is
/// ignored.
#[cfg(feature = "http-providers")]
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    fn seconds(value: f64) -> Option<Duration> {
        (value.is_finite() && value >= 0.0)
            .then(|| Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX))
    }
    if let Some(wait) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| seconds(ms / 1000.0))
    {
        return Some(wait);
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The most of an error response's body that is read (the message shown is shorter still): a server answering
/// an error with an endless body does not fill memory.
#[cfg(feature = "http-providers")]
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// An error response's body as text, at most [`MAX_ERROR_BODY_BYTES`] of it.
#[cfg(feature = "http-providers")]
pub(crate) async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The error for a non-success status, with the server's message (key removed, length bounded).
#[cfg(feature = "http-providers")]
pub(crate) fn status_error(
    provider: &str,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    key: Option<&ApiKey>,
) -> Error {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/message"))
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    let message = match key {
        Some(k) => k.scrub(&message),
        None => message,
    };
    let hint = match status {
        401 => " (the API key was refused: check it)",
        403 => " (access denied for this key or model)",
        404 => " (unknown endpoint or model: check the base URL and model name)",
        _ => "",
    };
    Error::Provider {
        provider: provider.to_string(),
        reason: format!("HTTP {status}{hint}: {}", message.trim()),
        retryable: retryable_status(status),
        status: Some(status),
        retry_after: retry_after(headers),
    }
}

/// The error for a failed request (connection, timeout, broken body).
#[cfg(feature = "http-providers")]
pub(crate) fn transport_error(provider: &str, e: &reqwest::Error, key: Option<&ApiKey>) -> Error {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    // reqwest's message names the URL, never headers; scrub anyway in case a key was put in a URL.
    let detail = e.to_string();
    let detail = match key {
        Some(k) => k.scrub(&detail),
        None => detail,
    };
    Error::provider(provider, format!("{kind}: {detail}"), true)
}

#[cfg(all(test, feature = "http-providers"))]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn keys_never_print_and_are_scrubbed_from_server_text() {
        let k = ApiKey::new("sk-or-v1-abcdef0123456789").unwrap();
        assert_eq!(format!("{k:?}"), "ApiKey([redacted])");
        let echoed =
            "Incorrect API key provided: sk-or-v1-abcdef0123. Also sk-or-v1-abcdef0123456789.";
        let clean = k.scrub(echoed);
        assert!(!clean.contains("abcdef0123"), "{clean}");
        assert!(ApiKey::new("  ").is_err());
        assert_eq!(ApiKey::new("a b").unwrap_err().field(), Some("api_key"));
    }

    #[test]
    fn statuses_map_to_retryable_or_not() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn absurd_retry_after_values_saturate_or_are_ignored() {
        for (name, value, expected) in [
            ("retry-after", "1e300", Some(Duration::MAX)),
            ("retry-after", "18446744073709551616", Some(Duration::MAX)),
            ("retry-after", "-5", None),
            ("retry-after", "NaN", None),
            ("retry-after", "inf", None),
            ("retry-after-ms", "1e308", Some(Duration::MAX)),
            ("retry-after-ms", "-1", None),
            ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            let got = retry_after(&h);
            match expected {
                Some(d) => assert_eq!(got, Some(d), "{name}: {value}"),
                None if value.starts_with("Fri") => {
                    assert!(
                        got.is_some_and(|d| d > Duration::from_secs(86_400)),
                        "{value}"
                    )
                }
                None => assert_eq!(got, None, "{name}: {value}"),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::testing::fuzz_cases()))]
        #[test]
        fn any_retry_after_header_is_read_without_panicking(value in "\\PC{0,40}", ms in proptest::prelude::any::<f64>()) {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert("retry-after", v);
            }
            let _ = retry_after(&h);
            if let Ok(v) = HeaderValue::from_str(&ms.to_string()) {
                h.insert("retry-after-ms", v);
            }
            let _ = retry_after(&h);
        }
    }

    #[test]
    fn status_errors_carry_the_message_without_the_key() {
        let k = ApiKey::new("sk-secret-0123456789abcdef").unwrap();
        let e = status_error(
            "openrouter",
            401,
            &HeaderMap::new(),
            r#"{"error": {"message": "bad key sk-secret-0123456789abcdef"}}"#,
            Some(&k),
        );
        let text = e.to_string();
        assert!(
            text.contains("HTTP 401") && text.contains("refused") && !text.contains("0123456789"),
            "{text}"
        );
        assert!(!e.is_retryable());
    }
}
