//! The OpenAPI document at `/openapi.json`, generated from the handlers' annotations and the request and response
//! types (utoipa).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::*;
use crate::auth::{DevToken, DevTokenRequest};

#[derive(OpenApi)]
#[openapi(
    info(title = "finops-server", description = "The finops reference server: analyses, live events, review, audit."),
    paths(submit, list_analyses, get_analysis, cancel, report, events, websocket, get_review, act, audit,
          erase_client, dev_token),
    components(schemas(SubmitJson, SourceJson, Submitted, AnalysisView, AnalysisSummary, ReviewRequest, DevTokenRequest,
                       DevToken)),
    modifiers(&Bearer),
    tags((name = "analyses"), (name = "events"), (name = "review"), (name = "admin"), (name = "auth"))
)]
struct ApiDoc;

/// Declares the bearer scheme the routes' `security` names.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
