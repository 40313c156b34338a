//! The access log: one line per request — method, path, status, time.
//!
//! Never the query string. A WebSocket or event-stream URL may carry a
//! ticket (`/ws?ticket=…`), and a log line is read by more people, and kept
//! longer, than anyone expects. (tower-http's `TraceLayer` logs the whole
//! URI by default.)

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

// ANCHOR: log
/// Middleware: logs each request once its response head is ready.
pub async fn log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // `path()` is the URI without its `?query`.
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!("{method} {path} → {} in {:?}", response.status().as_u16(), started.elapsed());
    response
}
// ANCHOR_END: log
