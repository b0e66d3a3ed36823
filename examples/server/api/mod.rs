//! The routes. Every `/v1` route but the development sign-in takes a [`crate::auth::Caller`] (a verified bearer
//! token within the rate limits); ids are looked up in the caller's firm only.

mod admin;
mod analyses;
mod events;
mod review;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};

use crate::state::AppState;

pub use admin::__path_dev_token;
pub use admin::{__path_audit, __path_erase_client};
pub use analyses::label as label_of;
pub use analyses::{
    __path_cancel, __path_get_analysis, __path_list_analyses, __path_report, __path_submit,
};
pub use analyses::{AnalysisSummary, AnalysisView, SourceJson, SubmitJson, Submitted};
pub use events::{__path_events, __path_websocket};
pub use review::{__path_act, __path_get_review, ReviewRequest};

/// Parses a JSON body, naming the refused field (`sources[0].name`; a missing field by its own name).
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> crate::error::ApiResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_string());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name,
            (".", None) => "body".to_string(),
            (p, Some(name)) => format!("{p}.{name}"),
            (p, None) => p.to_string(),
        };
        crate::error::ApiError::bad_request(&field, message)
    })
}

/// The whole application: API, documents, metrics and the web page.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route(
            "/v1/analyses",
            post(analyses::submit).get(analyses::list_analyses),
        )
        .route(
            "/v1/analyses/{id}",
            get(analyses::get_analysis).delete(analyses::cancel),
        )
        .route("/v1/analyses/{id}/events", get(events::events))
        .route("/v1/analyses/{id}/ws", get(events::websocket))
        .route(
            "/v1/analyses/{id}/review",
            get(review::get_review).post(review::act),
        )
        .route("/v1/analyses/{id}/report.{format}", get(analyses::report))
        .route("/v1/audit", get(admin::audit))
        .route("/v1/clients/{client}", delete(admin::erase_client))
        .route("/v1/dev/token", post(admin::dev_token))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::web::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::telemetry::trace_requests,
        ))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(state.queue.as_ref()).await,
    )
}
