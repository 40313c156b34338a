//! Graceful shutdown: stop taking new work, let the work in hand finish or
//! hand over, and be gone within `SHUTDOWN_GRACE_MS`.
//!
//! A deploy replaces a running server with a new one. What its clients see
//! decides whether anyone notices:
//!
//! - a WebSocket gets close `1001`, "going away", and the page reconnects —
//!   to the new instance;
//! - an event stream is ended, after a last `retry:`, so `EventSource`
//!   reconnects by itself, sending `Last-Event-ID`, and the new instance
//!   replays what it missed;
//! - a request in flight gets its answer; an idle keep-alive connection is
//!   closed.
//!
//! The `retry:` is *jittered*: every client of the old server reconnects at
//! once otherwise, and the new one gets all of them in the same instant.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::close_code;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::{StreamExt, stream};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{mpsc, watch};

/// The close frame every WebSocket gets: 1001, "going away" ("a server
/// going down", RFC 6455 §7.4.1).
pub const GOING_AWAY: (u16, &str) = (close_code::AWAY, "the server is shutting down");

/// The range of the last `retry:` an event stream gets, in milliseconds.
pub const RETRY_JITTER_MS: std::ops::RangeInclusive<u64> = 1000..=5000;

// ANCHOR: draining
/// One running server's shutdown: whether it has begun, and — through the
/// copies it hands out — what is still running.
///
/// Every copy holds a sender of the same channel, and the channel reports
/// its end once the last copy is dropped: when every connection that holds
/// one (through the app's state) has ended, [`Drained::all_done`] returns.
#[derive(Debug, Clone)]
pub struct Draining {
    begun: watch::Receiver<bool>,
    begin: Arc<watch::Sender<bool>>,
    _alive: mpsc::Sender<()>,
}

/// The other end: waits for every copy of a [`Draining`] to be dropped.
#[derive(Debug)]
pub struct Drained(mpsc::Receiver<()>);

impl Draining {
    /// A server that is not draining, and the way to wait for its end.
    pub fn new() -> (Draining, Drained) {
        let (begin, begun) = watch::channel(false);
        let (alive, done) = mpsc::channel(1);
        (Draining { begun, begin: Arc::new(begin), _alive: alive }, Drained(done))
    }

    /// Starts draining; every [`Draining::begun`] returns.
    pub fn begin(&self) {
        self.begin.send_replace(true);
    }

    /// Whether draining has begun.
    pub fn is_draining(&self) -> bool {
        *self.begun.borrow()
    }

    /// Returns once draining has begun (at once, if it has).
    pub fn begun(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut begun = self.begun.clone();
        async move {
            // An error means the sender is gone: nobody can begin any more.
            if begun.wait_for(|draining| *draining).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drained {
    /// Returns once every copy of its [`Draining`] is dropped.
    pub async fn all_done(mut self) {
        while self.0.recv().await.is_some() {}
    }
}
// ANCHOR_END: draining

// ANCHOR: end_streams
/// Middleware: an event stream ends when the server drains, after a last
/// `retry:` with a random delay, so that its clients come back spread out.
pub async fn end_streams(
    State(draining): State<Draining>,
    route: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let is_stream = route.as_ref().is_some_and(|route| route.as_str() == "/boards/{board}/events");
    let response = next.run(request).await;
    if !is_stream || !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let last = stream::once(async { Ok(Bytes::from(format!("retry: {}\n\n", jittered_retry_ms()))) });
    let body = body.into_data_stream().take_until(draining.begun()).chain(last);
    Response::from_parts(parts, Body::from_stream(body))
}
// ANCHOR_END: end_streams

// ANCHOR: close_connections
/// Middleware: while the server drains, every answer but an upgrade says
/// `Connection: close`, and hyper closes the connection after it. (A
/// connection accepted just before the drain still gets its first request
/// answered: see `server::serve_connection`.)
pub async fn close_connections(State(draining): State<Draining>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if draining.is_draining() && response.status() != StatusCode::SWITCHING_PROTOCOLS {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
// ANCHOR_END: close_connections

/// A delay in [`RETRY_JITTER_MS`], from the operating system's generator.
fn jittered_retry_ms() -> u64 {
    let mut bytes = [0u8; 8];
    SystemRandom::new().fill(&mut bytes).expect("the operating system's random source works");
    let span = RETRY_JITTER_MS.end() - RETRY_JITTER_MS.start() + 1;
    RETRY_JITTER_MS.start() + u64::from_le_bytes(bytes) % span
}

/// What stops the binary: Ctrl-C, or SIGTERM (what `docker stop`,
/// `systemctl stop` and Kubernetes send).
pub async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// How long to wait, at most, for what still runs once draining began.
pub async fn wait(drained: Drained, grace: Duration) {
    if tokio::time::timeout(grace, drained.all_done()).await.is_err() {
        tracing::warn!("shutting down with connections still open after {grace:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn begun_returns_once_draining_begins() {
        let (draining, _drained) = Draining::new();
        let begun = draining.begun();
        assert!(!draining.is_draining());
        draining.begin();
        tokio::time::timeout(Duration::from_secs(1), begun).await.expect("draining has begun");
        assert!(draining.is_draining());
    }

    #[tokio::test]
    async fn all_done_waits_for_every_copy() {
        let (draining, drained) = Draining::new();
        let copy = draining.clone();
        drop(draining);
        let waiting = tokio::time::timeout(Duration::from_millis(50), drained.all_done());
        assert!(waiting.await.is_err(), "a copy is still alive");
        let (draining, drained) = Draining::new();
        drop((draining, copy));
        tokio::time::timeout(Duration::from_secs(1), drained.all_done()).await.expect("all copies gone");
    }

    #[test]
    fn retries_are_spread_over_the_range() {
        let delays: std::collections::HashSet<u64> = (0..50).map(|_| jittered_retry_ms()).collect();
        assert!(delays.iter().all(|d| RETRY_JITTER_MS.contains(d)));
        assert!(delays.len() > 10);
    }
}
