//! `GET /api/events`: Server-Sent Events telling every open tab and device
//! of the signed-in person that something changed, so the page can reload
//! the person without a page load; or that the session ended, so the page
//! goes to sign-in. Event ids are the person's change version: a browser
//! that reconnects with `Last-Event-ID` hears at once of what it missed.
//! The stream looks again when this process is signalled (a change here,
//! or on PostgreSQL in any process) and every few seconds regardless.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use backend::secret::Token;
use backend::sync::live::Look;
use tokio::sync::{broadcast, mpsc};

use crate::state::AppState;

/// Without a signal, a stream looks again this often.
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// After a signal, the looks that follow: on SQLite the signal comes just
/// before the change commits.
const AFTER_SIGNAL: [Duration; 3] = [
    Duration::from_millis(20),
    Duration::from_millis(150),
    Duration::from_millis(600),
];

pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = app::ssr::token_from_headers(&headers, &state.cookies) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let backend = state.backend.clone();
    // Subscribed before the first look, so no signal falls in between.
    let signals = backend.subscribe_changes();
    let (user_id, first) = match backend.look(&token).await {
        Ok(Look::Live { user_id, version }) => (user_id, version),
        Ok(Look::SignedOut) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "event stream not opened");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let (tx, rx) = mpsc::channel::<Event>(8);
    tokio::spawn(follow(backend, token, user_id, first, seen, signals, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    // Not buffered by proxies.
    res.headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    res
}

fn changed(version: i64) -> Event {
    Event::default()
        .event("changed")
        .id(version.to_string())
        .data(format!("{{\"version\":{version}}}"))
}

/// Feeds one stream until the browser goes away or the session ends.
async fn follow(
    backend: backend::Backend,
    token: Token,
    user_id: i64,
    first: i64,
    seen: Option<i64>,
    mut signals: broadcast::Receiver<i64>,
    tx: mpsc::Sender<Event>,
) {
    // A reconnecting browser missed what came after its last id.
    let opening = match seen {
        Some(s) if s < first => changed(first),
        _ => Event::default()
            .event("ready")
            .id(first.to_string())
            .data(format!("{{\"version\":{first}}}")),
    };
    if tx.send(opening).await.is_err() {
        return;
    }
    let mut known = first;
    loop {
        let signalled = tokio::select! {
            r = signals.recv() => match r {
                Ok(id) => id == user_id,
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(LOOK_EVERY) => true,
            _ = tx.closed() => return,
        };
        if !signalled {
            continue;
        }
        for wait in AFTER_SIGNAL {
            tokio::time::sleep(wait).await;
            match backend.look(&token).await {
                Ok(Look::SignedOut) => {
                    let _ = tx
                        .send(Event::default().event("signed-out").data("{}"))
                        .await;
                    return;
                }
                Ok(Look::Live { version, .. }) if version > known => {
                    known = version;
                    if tx.send(changed(version)).await.is_err() {
                        return;
                    }
                    break;
                }
                Ok(Look::Live { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "event stream look failed"),
            }
        }
    }
}
