//! Chapter 7's solution: chapter 6's task board, made fit for the internet.
//!
//! Read along with the book's chapter 7, "Running it in production"
//! (`book/src/ch07-production.md`), whose last section walks through this
//! code. What chapter 6 built is unchanged, apart from a few lines marked
//! "Chapter 7" (the user a connection signed in as, the shared config);
//! what this chapter adds lives in modules of its own:
//!
//! - [`config`]: every setting, from the environment; a wrong one stops the
//!   server before it binds.
//! - [`server`] and [`tls`]: the accept loop, each connection through a TLS
//!   handshake (rustls) when there is a certificate.
//! - [`origin`]: which pages may use the server — `403` for any other
//!   `Origin`, CORS for the allowed ones.
//! - [`auth`]: sessions (a cookie), one-time tickets (`?ticket=`) and the
//!   gate that asks for them, route by route.
//! - [`limits`]: how many connections, how many messages a second, how
//!   long to wait for a client that doesn't read.
//! - [`shutdown`]: draining — close `1001` for every WebSocket, the end of
//!   every event stream, requests in flight finished, gone within
//!   `SHUTDOWN_GRACE_MS`.
//! - [`metrics`]: `GET /healthz` and `GET /metrics`, for operators.
//! - [`access`]: the access log, which never shows a query string.
//!
//! Chapter 6's modules: [`api`] and [`error`] (commands over HTTP);
//! [`board`], [`feed`] and [`events`] (updates over SSE); [`protocol`],
//! [`rooms`], [`typing`], [`connection`] and [`commands`] (presence and
//! commands over a WebSocket); [`page`] (the page at `/`).
//!
//! ```sh
//! cargo run -p sol07-production
//! # then open http://localhost:3000/?user=Alice&board=board-1
//! # with TLS (a certificate for localhost, e.g. from mkcert):
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run -p sol07-production
//! ```

pub mod access;
pub mod api;
pub mod auth;
pub mod board;
pub mod commands;
pub mod config;
pub mod connection;
pub mod error;
pub mod events;
pub mod feed;
pub mod limits;
pub mod metrics;
pub mod origin;
pub mod page;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod shutdown;
pub mod tls;
pub mod typing;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::board::Boards;
pub use crate::config::{Config, ConfigError};
use crate::limits::Slots;
use crate::metrics::Metrics;
use crate::origin::Origins;
use crate::rooms::Rooms;
use crate::shutdown::{Drained, Draining};

// ANCHOR: state
/// The one state every channel shares: the boards (tasks and their feeds)
/// and the rooms (who is on which board).
///
/// An HTTP `POST`, a WebSocket `create_task` and an event stream all reach
/// the *same* `Boards`, so a change made through either door is published
/// to the same feed, and every tab hears of it. Chapter 1's handlers take
/// `State<Boards>`; `FromRef` lets axum hand them that part of the state.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub boards: Boards,
    pub rooms: Rooms,
    /// Chapter 7: sessions and tickets.
    pub auth: Auth,
    /// Shared, not copied: chapter 7's settings hold lists and paths.
    #[from_ref(skip)]
    pub config: Arc<Config>,
    /// Chapter 7: whether the server running with this state is shutting down.
    #[from_ref(skip)]
    pub draining: Draining,
    /// Chapter 7: what `/metrics` reports.
    pub metrics: Metrics,
}
// ANCHOR_END: state

impl AppState {
    /// Empty boards and rooms.
    pub fn new(config: Config) -> Self {
        AppState {
            boards: Boards::new(config.replay_capacity),
            rooms: Rooms::default(),
            auth: Auth::new(&config),
            config: Arc::new(config),
            draining: Draining::new().0,
            metrics: Metrics::default(),
        }
    }

    /// The same boards, rooms and sessions, for a server about to start:
    /// with a shutdown of its own, and the way to wait for its end. (The
    /// checks restart a server in-process on the same state.)
    pub fn serving(self) -> (AppState, Drained) {
        let (draining, drained) = Draining::new();
        (AppState { draining, ..self }, drained)
    }
}

// ANCHOR: app
/// The routes, ready to serve: the page, the API, the event streams and
/// the WebSocket, on one router with one state — and, since chapter 7, the
/// sign-in, behind the gates every request passes.
pub fn app(config: Config) -> Router {
    app_with(AppState::new(config))
}

/// The routes, on a state that may have served before.
pub fn app_with(state: AppState) -> Router {
    let origins = Origins::new(&state.config);
    let slots = Slots::new(state.config.max_connections, state.metrics.clone());
    Router::new()
        // The page (page.rs).
        .route("/", get(page::index))
        .route("/board.js", get(page::script))
        .route("/board.css", get(page::styles))
        // Commands over HTTP (chapter 1).
        .route("/boards/{board}/tasks", get(api::list_tasks).post(api::create_task))
        .route(
            "/boards/{board}/tasks/{task}",
            get(api::get_task).patch(api::move_task).delete(api::delete_task),
        )
        // Board updates over SSE (chapter 2).
        .route("/boards/{board}/events", get(events::board_events))
        // Presence, and task commands, over a WebSocket (chapters 5 and 6).
        .route("/ws", get(connection::upgrade))
        // Signing in, and tickets for where a cookie can't go (chapter 7).
        .route("/session", post(auth::sign_in).delete(auth::sign_out))
        .route("/tickets", post(auth::issue_ticket))
        // For operators: health and metrics (chapter 7).
        .route("/healthz", get(metrics::health))
        .route("/metrics", get(metrics::render))
        // Every request passes these, outermost (last) first: it is logged
        // without its query; a page from an unknown origin is refused; CORS
        // answers the allowed ones; the route's policy asks for a session or
        // a ticket; a WebSocket or an event stream needs a free place, and
        // an event stream ends when the server shuts down.
        .layer(from_fn_with_state(state.metrics.clone(), metrics::count_deliveries))
        .layer(from_fn_with_state(state.draining.clone(), shutdown::end_streams))
        .layer(from_fn_with_state(state.draining.clone(), shutdown::close_connections))
        .layer(from_fn_with_state(slots, limits::admit))
        .layer(from_fn_with_state(state.auth.clone(), auth::gate))
        .layer(origin::cors(origins.clone()))
        .layer(from_fn_with_state(origins, origin::guard))
        .layer(from_fn(access::log))
        .with_state(state)
}
// ANCHOR_END: app

// ANCHOR: serve
/// Serves the board on `listener` until Ctrl-C or SIGTERM: over TLS when
/// the config names a certificate and its key, plain HTTP otherwise.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    serve_state(listener, AppState::new(config), shutdown::signal()).await
}

/// Serves `state` on `listener` until `stop` completes, then shuts down
/// gracefully and returns within `SHUTDOWN_GRACE_MS`.
pub async fn serve_state(
    listener: TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let tls = state.config.tls.as_ref().map(tls::acceptor).transpose().map_err(std::io::Error::other)?;
    let (state, drained) = state.serving();
    let (grace, handshake_timeout) = (state.config.shutdown_grace, state.config.handshake_timeout);
    let draining = state.draining.clone();
    server::accept(listener, app_with(state), tls, handshake_timeout, stop, draining).await;
    shutdown::wait(drained, grace).await;
    Ok(())
}
// ANCHOR_END: serve

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use hyper_util::service::TowerToHyperService;

    use super::*;

    #[tokio::test]
    async fn app_routes_a_fresh_state() {
        let app = TowerToHyperService::new(app(Config::default()));
        let request = Request::get("/healthz").body(Body::empty()).expect("a valid request");
        let response = hyper::service::Service::call(&app, request).await.expect("the router answers");
        assert_eq!(response.status(), StatusCode::OK);
    }
}
