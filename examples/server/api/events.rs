//! A job's live events, wherever its worker runs: server-sent events (resumable: each event's `id` is its number
//! in the job's log, and `Last-Event-ID` skips what the client already has) and a WebSocket carrying the same
//! events. A browser cannot put a header on a WebSocket, so the socket's first message is the token: it never
//! travels in a URL.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use finops_core::queue::{self, JobEvent};
use finops_core::security::{Principal, Role};
use futures::{SinkExt, Stream, StreamExt};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::telemetry::StreamGuard;

/// A job event as one SSE event, serialized once. Its name is `started`, `attempt_failed`, `finished`, or for the
/// analysis's own events their type (`phase_started`, `text_delta`, `computation_done`, `phase_finished`, …).
fn sse_event(id: u64, event: &JobEvent) -> SseEvent {
    let Ok(value) = serde_json::to_value(event) else {
        return SseEvent::default()
            .event("error")
            .data("unserializable event");
    };
    let name = match value["type"].as_str() {
        Some("analysis") => value["event"]["type"].as_str(),
        other => other,
    }
    .unwrap_or("event")
    .to_string();
    SseEvent::default()
        .id(id.to_string())
        .event(name)
        .data(value.to_string())
}

/// 404 unless the job is the principal's firm's (CPAs and Admins follow jobs; Clients read signed-off results).
async fn check_job(state: &AppState, principal: &Principal, id: &str) -> ApiResult<()> {
    if principal.role == Role::Client {
        return Err(ApiError::forbidden("a client may not follow jobs"));
    }
    match queue::status_for(state.queue.as_ref(), principal, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("analysis")),
    }
}

fn open_stream(state: &AppState) -> ApiResult<StreamGuard> {
    if state.metrics.streams.get() >= i64::try_from(state.max_streams).unwrap_or(i64::MAX) {
        return Err(ApiError::unavailable(
            "too many open event streams on this instance",
        ));
    }
    Ok(StreamGuard::open(&state.metrics))
}

/// The job's events after `after`, numbered from 1, as the follower reads them.
fn numbered(
    state: &AppState,
    principal: &Principal,
    id: String,
    after: u64,
) -> ApiResult<impl Stream<Item = (u64, finops_core::Result<JobEvent>)> + Send + use<>> {
    let events = queue::follow_for(state.queue.clone(), principal, id)?;
    Ok(events
        .enumerate()
        .map(|(i, e)| (i as u64 + 1, e))
        .skip_while(move |(n, _)| futures::future::ready(*n <= after)))
}

/// Server-sent events of a job, ending with `finished`. Resumable with `Last-Event-ID`.
#[utoipa::path(get, path = "/v1/analyses/{id}/events", tag = "events",
    params(("id" = String, Path), ("Last-Event-ID" = Option<u64>, Header, description = "The last event received")),
    responses((status = 200, description = "text/event-stream"), (status = 404)), security(("bearer" = [])))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::bad_request("Last-Event-ID", "must be an event number this stream sent")
            })?,
    };
    check_job(&state, &principal, &id).await?;
    let guard = open_stream(&state)?;
    let stream = numbered(&state, &principal, id, after)?.map(move |(n, item)| {
        let _open = &guard;
        Ok(match item {
            Ok(e) => sse_event(n, &e),
            Err(e) => SseEvent::default()
                .event("error")
                .data(serde_json::json!(e.payload()).to_string()),
        })
    });
    // A first comment at once: the client (and any proxy) sees the stream open before the job's first event,
    // which for a queued job may be a while.
    let opened = futures::stream::once(async {
        Ok(SseEvent::default()
            .comment("open")
            .retry(Duration::from_secs(1)))
    });
    Ok(Sse::new(opened.chain(stream))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// What a WebSocket client sends first.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Hello {
    token: String,
    #[serde(default)]
    last_event_id: u64,
}

/// The same events over a WebSocket: send `{"token": "<bearer>", "last_event_id": 0}` first (within 10 s); each
/// event then arrives as `{"id": n, "event": {…}}`. Refusals arrive as `{"error": {…}}` and a close code (4400
/// bad hello, 4401 token, 4403 role, 4404 unknown job, 4429 rate limit).
#[utoipa::path(get, path = "/v1/analyses/{id}/ws", tag = "events",
    params(("id" = String, Path)), responses((status = 101, description = "Switching to WebSocket")))]
pub async fn websocket(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve_socket(socket, state, id))
        .into_response()
}

async fn refuse(mut socket: WebSocket, e: ApiError) {
    let code = 4000 + e.status().as_u16();
    let body = serde_json::json!({"error": {"status": e.status().as_u16()}}).to_string();
    let _ = socket.send(Message::Text(Utf8Bytes::from(body))).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static("refused"),
        })))
        .await;
}

async fn hello(socket: &mut WebSocket) -> ApiResult<Hello> {
    let first = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .map_err(|_| ApiError::unauthorized("no token within 10 s"))?;
    match first {
        Some(Ok(Message::Text(text))) => serde_json::from_str(text.as_str())
            .map_err(|e| ApiError::bad_request("hello", e.to_string())),
        _ => Err(ApiError::bad_request(
            "hello",
            "the first message must be {\"token\": …}",
        )),
    }
}

async fn serve_socket(mut socket: WebSocket, state: Arc<AppState>, id: String) {
    let admitted = async {
        let hello = hello(&mut socket).await?;
        let principal = state.auth.principal(&hello.token).await?;
        state.auth.admit(&principal)?;
        check_job(&state, &principal, &id).await?;
        let guard = open_stream(&state)?;
        Ok::<_, ApiError>((
            numbered(&state, &principal, id, hello.last_event_id)?,
            guard,
        ))
    }
    .await;
    let (events, _guard) = match admitted {
        Ok(x) => x,
        Err(e) => return refuse(socket, e).await,
    };
    let (mut sink, mut incoming) = socket.split();
    let mut events = Box::pin(events);
    loop {
        tokio::select! {
            next = events.next() => {
                let Some((n, item)) = next else { break };
                let text = match item {
                    Ok(e) => serde_json::json!({"id": n, "event": e}),
                    Err(e) => serde_json::json!({"error": e.payload()}),
                }
                .to_string();
                if sink.send(Message::Text(Utf8Bytes::from(text))).await.is_err() {
                    return;
                }
            }
            message = incoming.next() => match message {
                // The client left: stop following.
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Utf8Bytes::from_static("finished"),
        })))
        .await;
}
