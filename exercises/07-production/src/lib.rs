//! # Exercise 7: running it in production
//!
//! Chapter 6's task board, to be made fit for the internet, as chapter 7,
//! "Running it in production", builds it: <../../../book/src/ch07-production.md>
//! (or `http://localhost:4000/ch07-production.html` when the book is served
//! locally).
//!
//! Everything chapter 6 built works already, and so do the settings
//! (`config.rs`), the accept loop for plain HTTP (`server.rs`), the access
//! log (`access.rs`) and the gate that asks for a session (`auth::gate`).
//! The `todo!()`s and `TODO`s are yours, in the order the checks run:
//!
//! 1. TLS: `tls::acceptor` and the TLS arm of `server::accept`.
//! 2. Origin: `Origins::allows` and `origin::guard`.
//! 3. Sessions and tickets: the policy `auth::needs`, the handlers
//!    `sign_in`, `sign_out` and `issue_ticket`, and `join` in
//!    `connection.rs`, which may only join as the signed-in user.
//! 4. Limits: `limits::admit` (`MAX_CONNECTIONS`), `Rate::allow`
//!    (`RATE_LIMIT_PER_S`), `limits::send_within` (`WRITE_TIMEOUT_MS`), and
//!    the handshake and head timeouts in `server.rs` (`HANDSHAKE_TIMEOUT_MS`).
//! 5. Graceful shutdown: `Draining` (`begin`, `begun`), `end_streams`,
//!    `jittered_retry_ms` and `wait` in `shutdown.rs`.
//! 6. For operators: `health`, `render` and `count_deliveries` in
//!    `metrics.rs`.
//!
//! ```sh
//! cargo test -p ex07-production          # every check, stage by stage
//! cargo test -p ex07-production s2_      # only stage 2
//! cargo run -p ex07-production           # serve on localhost:3000
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. When it's all green, compare with
//! `solutions/07-production` (`diff -r exercises/07-production solutions/07-production`).

// The stubs don't use their parameters or imports yet. Delete this line once
// every `todo!()` is gone, and let the compiler point at anything left unused.
#![allow(unused_variables, unused_imports, dead_code)]

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
