//! `NativeFinops`: the core's facade, built from the configuration (JSON) and the host's objects.

use crate::*;

/// The host's own objects for `NativeFinops` (the data part of the configuration is the core's JSON).
#[napi(object, object_to_js = false)]
pub struct NativeHost {
    pub provider_name: Option<String>,
    pub chat: Option<ChatFn>,
    pub embed: Option<EmbedFn>,
    pub embed_dimensions: Option<f64>,
    /// A host's exact tier (see `CacheFn`).
    pub cache_call: Option<CacheFn>,
}

#[napi]
pub struct NativeFinops {
    pub(crate) inner: Finops,
}

/// A request's JSON (`statements` as JSON text, `question`, and the core's `RequestOptions` under `options`).
pub(crate) fn request_from(json: &str) -> Result<AnalysisRequest> {
    #[derive(serde::Deserialize)]
    struct Request {
        statements: String,
        question: String,
        #[serde(default)]
        options: Value,
        /// The firm's clients for peer benchmarks: `[{id, statements}]`, statements as JSON text.
        #[serde(default)]
        peers: Option<Vec<Peer>>,
    }
    #[derive(serde::Deserialize)]
    struct Peer {
        id: String,
        statements: String,
    }
    let r: Request = serde_json::from_str(json)
        .map_err(|e| invalid("request", format!("is not a request: {e}")))?;
    let options = match r.options {
        Value::Null => RequestOptions::default(),
        o => RequestOptions::from_json(&o.to_string()).map_err(|e| js_error(&e))?,
    };
    let mut request = options
        .request(statements(&r.statements)?, r.question)
        .map_err(|e| js_error(&e))?;
    if let Some(peers) = r.peers {
        let clients = finops_core::portfolio::clients_from_json(
            peers.iter().map(|p| (p.id.clone(), p.statements.as_str())),
        )
        .map_err(|e| js_error(&e))?;
        request.peers = Some(clients.into());
    }
    Ok(request)
}

#[napi]
impl NativeFinops {
    /// Builds the core's facade from its configuration (JSON) and the host's objects.
    #[napi(constructor, catch_unwind)]
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
                // The core checks the range when it builds.
                let dimensions =
                    crate::count("embedder.dimensions", h.embed_dimensions.unwrap_or(0.0))?;
                builder = builder.embedder(Arc::new(JsEmbedder {
                    dimensions,
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

    #[napi(getter, catch_unwind)]
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
    #[napi(catch_unwind)]
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
