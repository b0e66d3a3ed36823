#![allow(dead_code)]
//! Local HTTP servers for provider tests: an axum router on a free loopback port, and server-sent event bodies.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;

/// Serves `router` on a free loopback port for the rest of the test.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    addr
}

/// A `text/event-stream` response of these events, each already framed (`data: …\n\n`).
pub fn sse(events: Vec<String>) -> Response {
    let chunks = events
        .into_iter()
        .map(|e| Ok::<_, Infallible>(Bytes::from(e)));
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap()
}
