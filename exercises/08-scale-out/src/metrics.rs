//! What an operator sees: `GET /healthz` and `GET /metrics`.
//!
//! `/healthz` answers whether to send this server new clients: `200` while
//! it serves, `503` once it drains, so that a load balancer stops sending
//! it anyone before it goes. `/metrics` is for Prometheus (or anything that
//! reads its text format): how many WebSockets and event streams are open,
//! how many events went out, how many clients were evicted, and why.
//!
//! Each server has a registry of its own, in its state: no global recorder,
//! so that several servers in one process (the checks run many) count
//! separately.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use prometheus_client::encoding::text::encode;
use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::AppState;

/// Why a client was dropped.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Reason {
    /// More than `RATE_LIMIT_PER_S` messages a second: close 1008.
    RateLimit,
    /// Read nothing for `WRITE_TIMEOUT_MS`.
    WriteTimeout,
}

impl EncodeLabelValue for Reason {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        encoder.write_str(match self {
            Reason::RateLimit => "rate_limit",
            Reason::WriteTimeout => "write_timeout",
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Evicted {
    reason: Reason,
}

/// The server's metrics. Cloning shares them.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// WebSockets open now.
    pub websockets: Gauge,
    /// Event streams open now.
    pub event_streams: Gauge,
    delivered: Counter,
    evicted: Family<Evicted, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let (websockets, event_streams) = (Gauge::default(), Gauge::default());
        let (delivered, evicted) = (Counter::default(), Family::<Evicted, Counter>::default());
        let mut registry = Registry::with_prefix("board");
        registry.register("websockets_open", "WebSocket connections open now", websockets.clone());
        registry.register("event_streams_open", "Event streams open now", event_streams.clone());
        registry.register("events_delivered", "Board events written to event streams", delivered.clone());
        registry.register("clients_evicted", "Clients dropped by a limit, by reason", evicted.clone());
        Metrics { registry: Arc::new(registry), websockets, event_streams, delivered, evicted }
    }
}

impl Metrics {
    /// Counts a client dropped for `reason`.
    pub fn evicted(&self, reason: Reason) {
        self.evicted.get_or_create(&Evicted { reason }).inc();
    }
}

// ANCHOR: endpoints
/// `GET /healthz` → `200` while serving, `503` while draining — or, since
/// chapter 8, while Redis does not answer: a load balancer then sends new
/// clients to an instance that can serve them.
pub async fn health(State(state): State<AppState>) -> Response {
    if state.draining.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    let ping: Result<String, _> = redis::cmd("PING").query_async(&mut state.store.shared()).await;
    match ping {
        Ok(_) => (StatusCode::OK, "serving\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "redis unavailable\n").into_response(),
    }
}

/// `GET /metrics` → the registry, in the OpenMetrics text format
/// (Prometheus's text format, standardised).
pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if encode(&mut text, &state.metrics.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// Middleware: counts the events an event stream writes (not its
/// keep-alive comments, nor its `retry:`).
pub async fn count_deliveries(
    State(metrics): State<Metrics>,
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
    let body = body.into_data_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            metrics.delivered.inc_by(events_in(bytes));
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}
// ANCHOR_END: endpoints

/// How many events a chunk of an event stream ends: blank lines that close
/// a block with a `data:` line. A chunk holds whole events (one, or all
/// those a subscriber had queued), never part of one.
fn events_in(chunk: &[u8]) -> u64 {
    let (mut events, mut has_data) = (0, false);
    for line in chunk.split(|&byte| byte == b'\n') {
        if line.starts_with(b"data:") {
            has_data = true;
        } else if line.is_empty() && has_data {
            events += 1;
            has_data = false;
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_apart_from_comments_and_retries() {
        assert_eq!(events_in(b"event: task_created\nid: 3\ndata: {}\n\n"), 1);
        assert_eq!(events_in(b"data: {}\n\n"), 1);
        assert_eq!(events_in(b"data: a\ndata: b\n\nevent: x\ndata: {}\n\n"), 2);
        assert_eq!(events_in(b"retry: 2000\n\nevent: snapshot\nid: 0\ndata: {}\n\n"), 1);
        assert_eq!(events_in(b": keep-alive\n\n"), 0);
        assert_eq!(events_in(b"retry: 2000\n\n"), 0);
    }

    #[test]
    fn the_registry_names_every_metric() {
        let metrics = Metrics::default();
        metrics.websockets.inc();
        metrics.evicted(Reason::RateLimit);
        let mut text = String::new();
        encode(&mut text, &metrics.registry).expect("the registry encodes");
        assert!(text.contains("board_websockets_open 1"), "{text}");
        assert!(text.contains("board_event_streams_open 0"), "{text}");
        assert!(text.contains("board_events_delivered_total 0"), "{text}");
        assert!(text.contains("board_clients_evicted_total{reason=\"rate_limit\"} 1"), "{text}");
    }
}
