//! The web page, served from the binary itself (no files to install, no Node build step): the page, its script
//! and style, the French and English texts, and Chart.js (vendored from npm by `scripts/vendor-web`).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use std::sync::Arc;

use crate::state::AppState;

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse + Clone {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

/// A strict policy: scripts and styles from this server only, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The page's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, CSP),
                        (header::X_FRAME_OPTIONS, "DENY"),
                        (header::REFERRER_POLICY, "no-referrer"),
                    ],
                    include_str!("static/index.html"),
                )
            }),
        )
        .route(
            "/app.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("static/app.js"),
                )
            }),
        )
        .route(
            "/i18n.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("static/i18n.js"),
                )
            }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("static/app.css")) }),
        )
        .route(
            "/vendor/chart.umd.min.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("static/vendor/chart.umd.min.js"),
                )
            }),
        )
}
