//! The query API over HTTP, for a browser without Tauri (the guest-js HTTP transport and
//! the dashboard): `POST /api/<command>` with the same JSON arguments as the IPC command
//! and the same answer, `GET /api/subscribe_series?selectors=..&intervalMs=..` as
//! Server-Sent Events of series updates, and `GET /api/events` as Server-Sent Events of
//! alert, in-app notification, health and trace changes, and `GET /api/diagnostics?minutes=N`
//! as a diagnostics bundle to download. Only read commands are served: writes stay with the
//! webview's permissions.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{Stream, StreamExt as _};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, watch};

use crate::api::Sources;
use crate::api::{self, ApiError, Handoff, LiveEvent, SeriesSelector, Streams};

/// What the API handlers share.
#[derive(Clone)]
pub(crate) struct ApiState {
    /// What the query API reads.
    pub(crate) sources: Sources,
    pub(crate) streams: Arc<Streams>,
    /// Open `/api/events` streams, at most [`MAX_EVENT_STREAMS`].
    pub(crate) event_streams: Arc<AtomicUsize>,
    /// Turns true when the server stops: open event streams end, so that a graceful
    /// shutdown does not wait for clients that never hang up.
    pub(crate) closing: watch::Receiver<bool>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// `POST /api/<command>`.
pub(crate) async fn call(
    State(state): State<ApiState>,
    Path(command): Path<String>,
    body: Bytes,
) -> Response {
    let t = &state.sources;
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
        }
    };
    match api::read(t, &command, &body).await {
        Ok(answer) => ([(CONTENT_TYPE, "application/json")], answer).into_response(),
        Err(e @ ApiError::UnknownCommand(_)) => {
            error(StatusCode::NOT_FOUND, format!("{e} of the HTTP API"))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// The query of `GET /api/diagnostics`.
#[derive(Deserialize)]
pub(crate) struct DiagnosticsQuery {
    /// How many minutes back (default 15).
    minutes: Option<u64>,
}

/// `GET /api/diagnostics`: the diagnostics bundle of the last `minutes` (default 15, at
/// most a day), scrubbed, as a gzip file to save.
pub(crate) async fn diagnostics(
    State(state): State<ApiState>,
    Query(query): Query<DiagnosticsQuery>,
) -> Response {
    let window = std::time::Duration::from_secs(query.minutes.unwrap_or(15).saturating_mul(60));
    match api::diagnostics_gzip(&state.sources, window).await {
        Ok(bytes) => {
            let name = api::diagnostics_file_name(
                &state.sources.config.service_name,
                crate::clock::now_ms(),
            );
            (
                [
                    (CONTENT_TYPE, "application/gzip".to_owned()),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// The query of `GET /api/subscribe_series`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamQuery {
    /// JSON array of selectors.
    selectors: String,
    interval_ms: u64,
}

/// `GET /api/subscribe_series`: Server-Sent Events, one `update` event per tick. A reader
/// that does not keep up skips ticks (counted in `dropped`), never queues them.
pub(crate) async fn subscribe(
    State(state): State<ApiState>,
    axum::Extension(peer): axum::Extension<super::Peer>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let t = &state.sources;
    let selectors: Vec<SeriesSelector> = match serde_json::from_str(&query.selectors) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("selectors: {e}")),
    };
    let interval = match api::check_stream(&selectors, query.interval_ms) {
        Ok(i) => i,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let (tx, rx) = mpsc::channel::<Event>(4);
    // Counted per client address: one client may hold MAX_STREAMS_PER_OWNER of them.
    let owner = peer.0.to_string();
    let opened = state.streams.subscribe(
        &owner,
        selectors,
        interval,
        t.store.clone(),
        false,
        move |update| {
            let event = Event::default().event("update").json_data(update);
            match event {
                Ok(event) => match tx.try_send(event) {
                    Ok(()) => Handoff::Sent,
                    Err(mpsc::error::TrySendError::Full(_)) => Handoff::Busy,
                    Err(mpsc::error::TrySendError::Closed(_)) => Handoff::Gone,
                },
                Err(_) => Handoff::Gone,
            }
        },
    );
    if let Err(e) = opened {
        return error(StatusCode::TOO_MANY_REQUESTS, e.to_string());
    }
    Sse::new(receive(rx, state.closing.clone()))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `/api/events` streams open at once; more are refused (429), so that no client can grow
/// the app's tasks without bound.
pub const MAX_EVENT_STREAMS: usize = 64;

/// One open `/api/events` stream, counted until dropped.
struct EventSlot(Arc<AtomicUsize>);

impl EventSlot {
    fn take(open: &Arc<AtomicUsize>) -> Option<Self> {
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_EVENT_STREAMS).then_some(n + 1)
        })
        .ok()
        .map(|_| Self(open.clone()))
    }
}

impl Drop for EventSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `GET /api/events`: Server-Sent Events `alert`, `notification`, `health` and `trace`.
/// A client that reads nothing for [`api::STALL_LIMIT`] while events wait for it loses its
/// stream (its place is freed at once); one that hangs up frees it as soon as it does.
pub(crate) async fn events(State(state): State<ApiState>) -> Response {
    let t = &state.sources;
    let Some(slot) = EventSlot::take(&state.event_streams) else {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{MAX_EVENT_STREAMS} event streams are open already; close one first"),
        );
    };
    let (tx, rx) = mpsc::channel::<Event>(64);
    let slot = Arc::new(parking_lot::Mutex::new(Some(slot)));
    let stalled = Arc::new(watch::channel(false).0);
    forward(t.events.subscribe(), tx, slot.clone(), stalled.clone());
    let mut stalled = stalled.subscribe();
    let until_stalled = async move {
        let _ = stalled.wait_for(|s| *s).await;
    };
    Sse::new(
        receive(rx, state.closing.clone())
            .take_until(until_stalled)
            .map(move |event| {
                // The slot is freed when the client goes away and the stream is dropped.
                let _open = &slot;
                event
            }),
    )
    .keep_alive(KeepAlive::default())
    .into_response()
}

/// Forwards the bus to one client as events named by their kind until the client goes
/// away (at once, not at the next event) or stalls: a full buffer drops the event (the
/// client is not reading) rather than queueing it, and a buffer full for
/// [`api::STALL_LIMIT`] frees the client's `slot` and ends its stream (`stalled`).
fn forward(
    mut bus: broadcast::Receiver<LiveEvent>,
    tx: mpsc::Sender<Event>,
    slot: Arc<parking_lot::Mutex<Option<EventSlot>>>,
    stalled: Arc<watch::Sender<bool>>,
) {
    tokio::spawn(async move {
        let mut full_since: Option<tokio::time::Instant> = None;
        loop {
            let event = tokio::select! {
                Some(event) = api::next(&mut bus) => event,
                _ = tx.closed() => break,
                else => break,
            };
            let Some(event) = sse(&event) else {
                continue;
            };
            match tx.try_send(event) {
                Ok(()) => full_since = None,
                Err(mpsc::error::TrySendError::Closed(_)) => break,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let since = *full_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= api::STALL_LIMIT {
                        slot.lock().take();
                        let _ = stalled.send(true);
                        break;
                    }
                }
            }
        }
    });
}

/// The Server-Sent Event of `event`: named by its kind, its payload as data.
fn sse(event: &LiveEvent) -> Option<Event> {
    let data = match event {
        LiveEvent::Alert(e) => Event::default().json_data(e),
        LiveEvent::Notification(n) => Event::default().json_data(n),
        LiveEvent::Health(c) => Event::default().json_data(c),
        LiveEvent::Trace(t) => Event::default().json_data(t),
    };
    data.ok().map(|e| e.event(event.kind()))
}

/// The events of `rx` until it closes or the server stops.
fn receive(
    rx: mpsc::Receiver<Event>,
    closing: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        if *closing.borrow() {
            return None;
        }
        tokio::select! {
            event = rx.recv() => event.map(|event| (Ok(event), (rx, closing))),
            _ = closing.changed() => None,
        }
    })
}
