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
        let origin = origin.to_ascii_lowercase();
        self.allowed.contains(&origin) || host.is_some_and(|host| is_own(&origin, host))
    }
    // ANCHOR_END: allows
}

/// A page served by this server itself: its origin is the `Host` the
/// request went to, with either scheme (behind a proxy that terminates TLS
/// the page is `https://` while this server speaks plain HTTP).
fn is_own(origin: &str, host: &str) -> bool {
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

// ANCHOR: guard
/// Middleware: a request whose `Origin` is not allowed gets `403`, and goes
/// no further — no handler runs, no WebSocket is upgraded.
pub async fn guard(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return next.run(request).await;
    };
    let host = request.headers().get(header::HOST).and_then(|host| host.to_str().ok());
    match origin.to_str() {
        Ok(origin) if origins.allows(origin, host) => next.run(request).await,
        _ => {
            let origin = String::from_utf8_lossy(origin.as_bytes());
            tracing::info!(%origin, "refused a request from a page this server does not know");
            let error = format!("pages from {origin} may not use this server");
            (StatusCode::FORBIDDEN, Json(json!({ "error": error }))).into_response()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Origins {
        let config =
            Config { allowed_origins: list.iter().map(|o| (*o).to_owned()).collect(), ..Config::default() };
        Origins::new(&config)
    }

    #[test]
    fn listed_origins_and_the_servers_own_are_allowed() {
        let origins = origins(&["http://localhost:4000"]);
        assert!(origins.allows("http://localhost:4000", Some("127.0.0.1:3000")));
        assert!(origins.allows("http://127.0.0.1:3000", Some("127.0.0.1:3000")));
        assert!(origins.allows("https://Board.example", Some("board.example")));
    }

    #[test]
    fn other_origins_are_not() {
        let origins = origins(&["http://localhost:4000"]);
        assert!(!origins.allows("https://evil.example", Some("127.0.0.1:3000")));
        assert!(!origins.allows("http://localhost:4001", Some("127.0.0.1:3000")));
        assert!(!origins.allows("null", Some("127.0.0.1:3000")));
        assert!(!origins.allows("http://127.0.0.1:3000", None));
        assert!(!origins.allows("http://127.0.0.1:30000", Some("127.0.0.1:3000")));
    }
}
