//! Limits that protect everyone: how many clients, how fast they may talk,
//! how long the server waits for one that doesn't listen.
//!
//! Each limit turns one client's excess into a clear answer for that client
//! — a status or a close code it can act on — so that everyone else goes
//! on as if nothing happened:
//!
//! | limit                  | the client gets                   |
//! |------------------------|-----------------------------------|
//! | `MAX_CONNECTIONS`      | `503` and `Retry-After`           |
//! | `RATE_LIMIT_PER_S`     | close `1008` (policy violation)   |
//! | `WRITE_TIMEOUT_MS`     | dropped: it isn't reading anyway  |
//! | `HANDSHAKE_TIMEOUT_MS` | the connection closed (`server.rs`) |

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, StreamExt};
use prometheus_client::metrics::gauge::Gauge;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout};

use crate::metrics::Metrics;

/// How long a client turned away for `MAX_CONNECTIONS` is told to wait.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The places for long-lived connections — WebSockets and event streams
/// together — that `MAX_CONNECTIONS` allows. Each place held is also
/// counted in `/metrics`, by kind.
#[derive(Debug, Clone)]
pub struct Slots {
    free: Arc<Semaphore>,
    metrics: Metrics,
}

/// One connection's place. It is given back when the last copy is dropped:
/// the event stream's body, or the WebSocket's connection.
#[derive(Debug, Clone)]
pub struct Slot(#[allow(dead_code, reason = "held, never read: dropping it frees the place")] Arc<Held>);

/// A place held, and the gauge that counts it.
#[derive(Debug)]
struct Held {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl Slots {
    pub fn new(max: usize, metrics: Metrics) -> Self {
        Slots { free: Arc::new(Semaphore::new(max)), metrics }
    }

    /// A place for a connection of `route`, if one is free. Never waits: a
    /// full server says so at once.
    fn try_take(&self, route: &str) -> Option<Slot> {
        let permit = Arc::clone(&self.free).try_acquire_owned().ok()?;
        let open =
            if route == "/ws" { self.metrics.websockets.clone() } else { self.metrics.event_streams.clone() };
        open.inc();
        Some(Slot(Arc::new(Held { _permit: permit, open })))
    }
}

/// Whether a route is one of the long-lived ones.
fn is_long_lived(route: &str) -> bool {
    matches!(route, "/ws" | "/boards/{board}/events")
}

// ANCHOR: admit
/// Middleware: a WebSocket or an event stream needs a free place; without
/// one, `503 Service Unavailable` with `Retry-After`. The place goes with
/// the connection: in the request (the WebSocket handler keeps it) and in
/// the response's body (the event stream's lasts as long as the stream).
pub async fn admit(
    State(slots): State<Slots>,
    route: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(route) = route.filter(|route| is_long_lived(route.as_str())) else {
        return next.run(request).await;
    };
    let Some(slot) = slots.try_take(route.as_str()) else {
        let error = json!({ "error": "the server is full: try again in a few seconds" });
        let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())];
        return (StatusCode::SERVICE_UNAVAILABLE, retry, Json(error)).into_response();
    };
    request.extensions_mut().insert(slot.clone());
    let (parts, body) = next.run(request).await.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}
// ANCHOR_END: admit

// ANCHOR: rate
/// How many messages a connection may send: a token bucket. It holds up to
/// `RATE_LIMIT_PER_S` tokens and refills at that many per second; each
/// message takes one. A burst of a second's worth is fine; a steady flood
/// runs it dry.
#[derive(Debug)]
pub struct Rate {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl Rate {
    pub fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Rate { per_second, tokens: per_second, refilled: Instant::now() }
    }

    /// Takes a token for one message at `now`; `false` when there is none.
    pub fn allow(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.refilled).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.per_second);
        self.refilled = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}
// ANCHOR_END: rate

/// A client that took longer than `WRITE_TIMEOUT_MS` to take one message.
#[derive(Debug, thiserror::Error)]
#[error("the client read nothing for {0:?}")]
pub struct Evicted(pub Duration);

// ANCHOR: send_within
/// Sends `message`, giving the client `limit` to take it. A client that
/// stopped reading fills the socket's buffers, and then a send waits for
/// ever; this one gives up, and the connection is dropped. Only this
/// client's writer ever waits here: nobody else is held up meanwhile.
pub async fn send_within<S, M>(sink: &mut S, message: M, limit: Duration) -> Result<(), Evicted>
where
    S: Sink<M> + Unpin,
{
    match timeout(limit, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        // The connection is gone: nothing left to evict.
        Ok(Err(_)) => Err(Evicted(Duration::ZERO)),
        Err(_) => Err(Evicted(limit)),
    }
}
// ANCHOR_END: send_within

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seconds_worth_goes_through_at_once_and_no_more() {
        let mut rate = Rate::new(5);
        let now = Instant::now();
        assert!((0..5).all(|_| rate.allow(now)));
        assert!(!rate.allow(now));
    }

    #[test]
    fn the_bucket_refills_with_time_up_to_its_size() {
        let mut rate = Rate::new(10);
        let start = Instant::now();
        assert!((0..10).all(|_| rate.allow(start)));
        assert!(!rate.allow(start));
        // A tenth of a second earns one message.
        assert!(rate.allow(start + Duration::from_millis(100)));
        assert!(!rate.allow(start + Duration::from_millis(100)));
        // An hour earns no more than a second's worth.
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..20).filter(|_| rate.allow(later)).count(), 10);
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let metrics = Metrics::default();
        let slots = Slots::new(2, metrics.clone());
        let first = slots.try_take("/ws").expect("a free place");
        let _second = slots.try_take("/boards/{board}/events").expect("a free place");
        assert!(slots.try_take("/ws").is_none());
        assert_eq!((metrics.websockets.get(), metrics.event_streams.get()), (1, 1));
        let copy = first.clone();
        drop(first);
        assert!(slots.try_take("/ws").is_none(), "a copy still holds the place");
        drop(copy);
        assert_eq!(metrics.websockets.get(), 0);
        assert!(slots.try_take("/ws").is_some());
    }
}
