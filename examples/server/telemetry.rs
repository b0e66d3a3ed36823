//! What an operator watches: Prometheus metrics at `/metrics`, and one `tracing` span per request (method, route
//! template, status, latency; never a body, a question or a token). The pipeline's own spans (per analysis and
//! phase, with OpenTelemetry's GenAI attribute names) come from finops-core.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use finops_core::analysis::Analyzer;
use finops_core::{Analysis, AnalysisRequest, Event};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

/// The server's metrics, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Histogram,
    analyses: Family<OutcomeLabels, Counter>,
    cost: Counter<f64, AtomicU64>,
    saved: Counter<f64, AtomicU64>,
    cache: Family<OutcomeLabels, Counter>,
    /// Open server-sent-event and WebSocket streams.
    pub streams: Gauge,
    /// Jobs this instance accepted.
    pub submitted: Counter,
    jobs: Family<StatusLabels, Gauge>,
}

impl Metrics {
    /// Every metric, registered under `finops_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("finops");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let latency = Histogram::new([
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
        ]);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head",
            latency.clone(),
        );
        let analyses = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "analyses",
            "Analyses run by this instance's workers, by outcome (validator, validator_repaired, offline, degraded, failed)",
            analyses.clone(),
        );
        let cost = Counter::<f64, AtomicU64>::default();
        registry.register(
            "analysis_cost_usd",
            "Model cost of the analyses run here, in USD (unknown costs not counted)",
            cost.clone(),
        );
        let saved = Counter::<f64, AtomicU64>::default();
        registry.register(
            "cache_saved_usd",
            "Model cost the caches saved, in USD",
            saved.clone(),
        );
        let cache = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "cache_outcomes",
            "Cache outcome of each analysis",
            cache.clone(),
        );
        let streams = Gauge::default();
        registry.register(
            "event_streams",
            "Open event streams (server-sent events and WebSockets)",
            streams.clone(),
        );
        let submitted = Counter::default();
        registry.register(
            "jobs_submitted",
            "Analyses accepted by this instance",
            submitted.clone(),
        );
        let jobs = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "queue_jobs",
            "Jobs in the queue by status (queued, running, dead), read at each scrape",
            jobs.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            analyses,
            cost,
            saved,
            cache,
            streams,
            submitted,
            jobs,
        }
    }

    /// The text exposition, after reading the queue's counts.
    pub async fn render(&self, queue: &dyn finops_core::queue::Queue) -> String {
        match queue.counts().await {
            Ok(Some(counts)) => {
                for (status, n) in [
                    ("queued", counts.queued),
                    ("running", counts.running),
                    ("dead", counts.dead),
                ] {
                    self.jobs
                        .get_or_create(&StatusLabels {
                            status: status.into(),
                        })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(code = e.code(), "reading the queue's counts failed"),
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        out
    }

    fn record(&self, result: &finops_core::Result<Analysis>) {
        let outcome = match result {
            Ok(a) if a.degraded => "degraded".to_string(),
            Ok(a) => crate::api::label_of(&a.report_source),
            Err(_) => "failed".into(),
        };
        self.analyses
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        if let Ok(a) = result {
            self.cache
                .get_or_create(&OutcomeLabels {
                    outcome: crate::api::label_of(&a.cache),
                })
                .inc();
            if let Some(c) = a.total_cost_usd.and_then(|c| c.try_into().ok()) {
                self.cost.inc_by(c);
            }
            if let Some(s) = a.saved_usd.and_then(|s| s.try_into().ok()) {
                self.saved.inc_by(s);
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The pipeline, counted: what the worker runs.
#[derive(Debug)]
pub struct MeteredAnalyzer {
    /// The pipeline (or any analyzer).
    pub inner: Arc<dyn Analyzer>,
    /// Where the outcomes go.
    pub metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl Analyzer for MeteredAnalyzer {
    async fn run(
        &self,
        request: AnalysisRequest,
        events: Option<futures::channel::mpsc::UnboundedSender<Event>>,
    ) -> finops_core::Result<Analysis> {
        let result = self.inner.run(request, events).await;
        self.metrics.record(&result);
        result
    }
}

/// The W3C trace context of a request: the caller's `traceparent` when it sent a valid one, else a new trace.
/// Jobs carry it to their worker.
#[derive(Debug, Clone)]
pub struct TraceContext(pub String);

impl TraceContext {
    fn of(request: &Request) -> Self {
        let incoming = request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|t| finops_core::queue::is_traceparent(t));
        match incoming {
            // Same trace, this server's own span.
            Some(t) => TraceContext(format!("00-{}-{}-01", &t[3..35], new_span_id())),
            None => TraceContext(format!(
                "00-{}-{}-01",
                uuid::Uuid::new_v4().simple(),
                new_span_id()
            )),
        }
    }

    /// The trace id (32 hex characters).
    pub fn trace_id(&self) -> &str {
        self.0.get(3..35).unwrap_or("")
    }
}

fn new_span_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// One span and one log line per request, with the route template (ids are not in it), and the request counters.
/// The request's trace context is in the span (`trace_id`), in the request for the handlers, and in the answer's
/// `traceparent` header.
pub async fn trace_requests(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let trace = TraceContext::of(&request);
    request.extensions_mut().insert(trace.clone());
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("http.request", http.request.method = %method, http.route = %route,
                                   trace_id = %trace.trace_id(),
                                   http.response.status_code = tracing::field::Empty);
    let mut response = {
        use tracing::Instrument;
        next.run(request).instrument(span.clone()).await
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&trace.0) {
        response.headers_mut().insert("traceparent", v);
    }
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            status,
            "request"
        )
    });
    state
        .metrics
        .requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status,
        })
        .inc();
    state.metrics.latency.observe(elapsed.as_secs_f64());
    response
}

/// Counts an open stream for as long as it lives.
#[derive(Debug)]
pub struct StreamGuard(Gauge);

impl StreamGuard {
    /// One more open stream.
    pub fn open(metrics: &Metrics) -> Self {
        metrics.streams.inc();
        StreamGuard(metrics.streams.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
