//! Which pages may use this server: the `Origin` allow-list, and CORS.
//!
//! A browser lets any page open a WebSocket to any server, and sends that
//! server's cookies along. What it also sends is `Origin`: the page's
//! scheme, host and port. If the server did not look, a page on
//! `https://evil.example` could open a socket to the board *as the
//! signed-in user* — cross-site WebSocket hijacking. So every request that
//! names an origin is checked against the list before anything else runs,
//! and one from an unknown page gets `403`, before any upgrade.
//!
//! A request without `Origin` did not come from a page (curl, a test, a
//! native app): nothing of the user's comes with it on its own, so the
//! session or ticket it needs is the whole defence.
//!
//! CORS is the other half, for `fetch` and `EventSource`: it tells the
//! browser which pages may *read* the answers. It names only allowed
//! origins, and allows credentials, so the book's panels can send the
//! session cookie.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;

/// The origins whose pages may use this server, besides its own.
#[derive(Debug, Clone)]
pub struct Origins {
    allowed: Arc<HashSet<String>>,
}

impl Origins {
    pub fn new(config: &Config) -> Self {
        Origins { allowed: Arc::new(config.allowed_origins.iter().cloned().collect()) }
    }

    // ANCHOR: allows
    /// Whether a page from `origin` may use the server that `host` (the
    /// request's `Host`) names: one on the list, or the server's own.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        todo!(
            "stage 2: an origin on the list, or the server's own (http:// or https:// and the request's \
             Host) — book: \"Origin: who may open a socket\""
        )
    }
    // ANCHOR_END: allows
}

// ANCHOR: guard
/// Middleware: a request whose `Origin` is not allowed gets `403`, and goes
/// no further — no handler runs, no WebSocket is upgraded.
pub async fn guard(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    // TODO (stage 2, "Origin: who may open a socket"): a request whose
    // `Origin` header `origins.allows` refuses gets 403 with a JSON error, and
    // goes no further. A request without `Origin` goes through.
    next.run(request).await
}
// ANCHOR_END: guard

/// CORS for the allowed origins only, with credentials, so that their pages
/// can send the session cookie and read the answers.
pub fn cors(origins: Origins) -> CorsLayer {
    let allow = move |origin: &HeaderValue, request: &Parts| {
        let host = request.headers.get(header::HOST).and_then(|host| host.to_str().ok());
        origin.to_str().is_ok_and(|origin| origins.allows(origin, host))
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(allow))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("last-event-id")])
        .expose_headers([header::LOCATION])
}
