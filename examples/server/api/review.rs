//! The firm's review of an analysis: notes, reviewed, sign-off (CPAs), read by anyone who may read the analysis.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use finops_core::security::Role;
use finops_core::store::{Review, ReviewAction};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// A review action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `annotate` (with `note`), `reviewed` or `sign_off`.
    pub action: String,
    /// The note, for `annotate`.
    pub note: Option<String>,
}

/// The review of an analysis (a Client: only once signed off).
#[utoipa::path(get, path = "/v1/analyses/{id}/review", tag = "review",
    params(("id" = String, Path)), responses((status = 200, description = "The review"), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_review(
    State(state): State<Arc<AppState>>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Review>> {
    super::analyses::load(&state, &principal, &id).await?;
    Ok(axum::Json(
        state
            .vault
            .review(&principal, &principal.tenant, &id)
            .await?,
    ))
}

/// Annotates, marks reviewed or signs off an analysis (CPAs of the firm; audited).
#[utoipa::path(post, path = "/v1/analyses/{id}/review", tag = "review",
    params(("id" = String, Path)), request_body = ReviewRequest,
    responses((status = 200, description = "The review after the action"), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<Review>> {
    let principal = caller.require(&[Role::Cpa], "review or sign off an analysis")?;
    let request: ReviewRequest = super::parse_json(&body)?;
    let action = ReviewAction::parse(&request.action, request.note)?;
    Ok(axum::Json(
        state
            .vault
            .act_on_review(principal, &principal.tenant, &id, action)
            .await?,
    ))
}
