//! The firm's Admin routes (audit export, erasure of a client) and the development sign-in.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use finops_core::security::Role;

use crate::auth::{Caller, DevToken, DevTokenRequest};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The firm's audit trail as JSON lines, each entry MAC'd and chained (Admins).
#[utoipa::path(get, path = "/v1/audit", tag = "admin",
    responses((status = 200, description = "application/x-ndjson"), (status = 403)), security(("bearer" = [])))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let principal = caller.require(&[Role::Admin], "export the audit trail")?;
    let lines = state.vault.export_audit(principal).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], lines))
}

/// Erases a client company: its analyses, reviews and key (crypto-shredded; audited). Admins.
#[utoipa::path(delete, path = "/v1/clients/{client}", tag = "admin",
    params(("client" = String, Path)),
    responses((status = 200, description = "How many records were erased"), (status = 403)),
    security(("bearer" = [])))]
pub async fn erase_client(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(client): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let principal = caller.require(&[Role::Admin], "erase a client")?;
    let erased = state.vault.erase_client(principal, &client).await?;
    Ok(axum::Json(
        serde_json::json!({"client": client, "erased": erased}),
    ))
}

/// Signs a development token (only when the server runs without an identity provider; 404 otherwise).
#[utoipa::path(post, path = "/v1/dev/token", tag = "auth", request_body = DevTokenRequest,
    responses((status = 200, body = DevToken), (status = 400), (status = 404, description = "Real identities are configured")))]
pub async fn dev_token(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<axum::Json<DevToken>> {
    let Some(dev) = state.auth.dev() else {
        return Err(ApiError::not_found("route"));
    };
    let request: DevTokenRequest = super::parse_json(&body)?;
    Ok(axum::Json(dev.issue(&request)?))
}
