//! A request's options as data, so every binding passes the host's keyword arguments or object through and the
//! core checks them once, naming the field.

use std::sync::Arc;

use serde::Deserialize;

use crate::analysis::{AnalysisRequest, CacheMode, Language, Principal, seconds};
use crate::error::{Error, Result};
use crate::statements::Statements;

/// The longest `max_cache_age` accepted: ten years.
const MAX_CACHE_AGE_SECONDS: f64 = 10.0 * 366.0 * 86_400.0;

/// How to run one analysis, besides its statements and question. Every field is optional.
///
/// ```
/// use finops_core::finops::RequestOptions;
/// let options = RequestOptions::from_json(r#"{"language": "en", "tenant": "firm-1", "cache_mode": "read_only",
///                                             "max_cache_age": 3600}"#)?;
/// assert!(RequestOptions::from_json(r#"{"max_cache_age": -1}"#).is_err());
/// # Ok::<(), finops_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestOptions {
    /// `fr` or `en`; detected from the question when absent.
    pub language: Option<String>,
    /// The CPA firm (default `default`; the principal's when one is given).
    pub tenant: Option<String>,
    /// The client company (a slug of the company's name when absent).
    pub client: Option<String>,
    /// Who asks; checked against the tenant and client.
    pub principal: Option<Principal>,
    /// `on`, `off`, `read_only` or `write_only`.
    pub cache_mode: Option<String>,
    /// Reuse only cache entries younger than this.
    pub max_cache_age: Option<f64>,
}

impl RequestOptions {
    /// From JSON text; an unknown field or a wrong type is named.
    pub fn from_json(text: &str) -> Result<Self> {
        if !text.trim_start().starts_with('{') {
            return Err(Error::invalid_argument("options", "must be a JSON object"));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let options: RequestOptions = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "options".to_string()
            } else {
                path
            };
            Error::invalid_argument(field, e.inner().to_string())
        })?;
        de.end()
            .map_err(|e| Error::invalid_argument("options", e.to_string()))?;
        options.check()?;
        Ok(options)
    }

    fn check(&self) -> Result<()> {
        if let Some(age) = self.max_cache_age {
            seconds("max_cache_age", age, 0.0, MAX_CACHE_AGE_SECONDS)?;
        }
        if let Some(mode) = &self.cache_mode {
            CacheMode::parse("cache_mode", mode)?;
        }
        if let Some(l) = &self.language {
            l.parse::<Language>()?;
        }
        Ok(())
    }

    /// The request, checked (question, ids, principal, options): the one place the bindings build requests.
    pub fn request(
        &self,
        statements: impl Into<Arc<Statements>>,
        question: impl Into<String>,
    ) -> Result<AnalysisRequest> {
        let mut request = AnalysisRequest::new(statements, question);
        if let Some(mode) = &self.cache_mode {
            request = request.cache_mode(CacheMode::parse("cache_mode", mode)?);
        }
        if let Some(age) = self.max_cache_age {
            request =
                request.max_cache_age(seconds("max_cache_age", age, 0.0, MAX_CACHE_AGE_SECONDS)?);
        }
        if let Some(l) = &self.language {
            request = request.language(l.parse::<Language>()?);
        }
        if let Some(t) = &self.tenant {
            request = request.tenant(t.clone());
        }
        if let Some(c) = &self.client {
            request = request.client(c.clone());
        }
        if let Some(p) = &self.principal {
            // Deserialized principals are checked like constructed ones.
            let p = Principal::new(p.tenant.clone(), p.role, p.client.clone()).map_err(
                |e| match e {
                    Error::InvalidArgument { field, reason } => {
                        Error::invalid_argument(format!("principal.{field}"), reason)
                    }
                    other => other,
                },
            )?;
            request = request.principal(p);
        }
        request.validate()?;
        Ok(request)
    }
}
