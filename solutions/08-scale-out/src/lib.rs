//! Chapter 8's solution: chapter 7's task board, run as several instances
//! behind one Redis.
//!
//! Read along with the book's chapter 8, "Scaling out"
//! (`book/src/ch08-scale-out.md`), whose last section walks through this
//! code. Everything an instance used to keep in memory and that the others
//! must see now lives in Redis; what stays in memory is per-connection
//! state and the fan-out to this instance's own clients.
//!
//! # Design
//!
//! Modules new or changed in chapter 8:
//!
//! - [`store`]: the connection to Redis and every key's name. One shared,
//!   multiplexed connection (`ConnectionManager`, reconnects by itself) for
//!   short commands; a dedicated connection per blocking read.
//! - [`board`]: tasks in Redis. Task numbers from `INCR` (unique across
//!   instances, never reused); each change and its event in one Lua script.
//! - [`feed`] and [`events`]: each board's events in a Redis Stream whose
//!   entry `N-0` is SSE event `N`, so `Last-Event-ID: N` is `XRANGE` from
//!   `(N+1)-0`; trimmed with `XADD … MAXLEN = REPLAY_CAPACITY`. Each
//!   instance runs ONE `XREAD BLOCK` per board it serves, on a dedicated
//!   connection, and fans out in process through a `broadcast` channel.
//! - [`auth`]: sessions and tickets as keys with a TTL; a ticket is taken
//!   with `GETDEL`, so it is redeemed once cluster-wide.
//! - [`rooms`] and [`presence`]: presence is the union of every instance's
//!   entry. Each instance writes its own per board, with a TTL of
//!   `PRESENCE_TTL_MS`, refreshes it every tick (`PRESENCE_TTL_MS / 4`, at
//!   most 1 s), and reads the others' on every tick and whenever one of them
//!   publishes on the `presence` channel. A crashed instance's entries
//!   expire, so its users are announced `left` within the TTL plus a tick.
//!   A draining instance leaves its entries to expire, so users that move
//!   to another instance do not flap.
//! - Redis down: HTTP answers `503` with `{"error"}` ([`error`]), an event
//!   stream ends ([`feed::Live::Lost`]), a WebSocket is closed `1013`
//!   ([`rooms::Notice::StoreLost`]); the shared connection reconnects within
//!   half a second of Redis coming back.
//!
//! Redis keys (`{board}` is a hash tag: one board's keys share a Cluster
//! shard):
//!
//! | key                         | type   | holds                                  |
//! |-----------------------------|--------|----------------------------------------|
//! | `board:{b}:tasks`           | hash   | task number → task JSON                |
//! | `board:{b}:last_task`       | string | the last task number (`INCR`)          |
//! | `board:{b}:last_event`      | string | the last event id (`INCR`)             |
//! | `board:{b}:events`          | stream | entry `N-0`: `name`, `data` of event N |
//! | `presence:{b}`              | set    | instances with an entry for the board  |
//! | `presence:{b}:<instance>`   | string | `{"users","typing"}`, TTL              |
//! | `session:<id>`, `ticket:<t>`| string | the user's name, TTL                   |
//! | channel `presence`          | pubsub | a board's name: "look again"           |
//!
//! Tunables added (see [`config`]): `REDIS_URL`, `INSTANCE_ID`,
//! `PRESENCE_TTL_MS`.
//!
//! Chapter 7's modules: [`config`], [`server`], [`tls`], [`origin`],
//! [`limits`], [`shutdown`], [`metrics`], [`access`]. Chapter 6's:
//! [`api`], [`commands`], [`protocol`], [`typing`], [`connection`],
//! [`page`].
//!
//! ```sh
//! redis-server --port 6379 &
//! PORT=3000 INSTANCE_ID=a cargo run -p sol08-scale-out &
//! PORT=3001 INSTANCE_ID=b cargo run -p sol08-scale-out &
//! # open http://localhost:3000/?user=Alice&board=board-1
//! # and  http://localhost:3001/?user=Bob&board=board-1
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
pub mod presence;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod shutdown;
pub mod store;
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
use crate::feed::Feeds;
use crate::limits::Slots;
use crate::metrics::Metrics;
use crate::origin::Origins;
use crate::presence::Presence;
use crate::rooms::Rooms;
use crate::shutdown::{Drained, Draining};
use crate::store::Store;

// ANCHOR: state
/// The one state every channel of this instance shares. Since chapter 8
/// most of it is a handle on Redis: the boards, the sessions and the other
/// instances' presence live there, shared by every instance.
///
/// An HTTP `POST`, a WebSocket `create_task` and an event stream reach the
/// *same* board stream in Redis, through whichever instance, so a change
/// made through any door reaches every tab. Chapter 1's handlers take
/// `State<Boards>`; `FromRef` lets axum hand them that part of the state.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub boards: Boards,
    /// Chapter 8: this instance's readers of the boards' streams.
    pub feeds: Feeds,
    /// This instance's members of each board, and what they were told.
    pub rooms: Rooms,
    /// Chapter 8: this instance's presence entries in Redis.
    pub presence: Presence,
    /// Chapter 8: Redis.
    pub store: Store,
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
    /// An instance on the Redis at `config.redis_url`, not connected yet:
    /// it connects on first use, and answers `503` until Redis is there.
    pub fn new(config: Config) -> Self {
        let store = Store::new(&config);
        let rooms = Rooms::default();
        AppState {
            boards: Boards::new(store.clone(), config.replay_capacity),
            feeds: Feeds::new(store.clone(), config.replay_capacity),
            presence: Presence::new(store.clone(), rooms.clone(), config.presence_ttl),
            rooms,
            auth: Auth::new(&config, store.clone()),
            store,
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
    // Chapter 8: this instance's presence entries, refreshed until it
    // drains (`Presence::run` returns then, and the entries expire). A
    // process that dies takes the task with it: that is the crash the TTL
    // is for.
    tokio::spawn(state.presence.clone().run(draining.clone()));
    server::accept(listener, app_with(state), tls, handshake_timeout, stop, draining).await;
    shutdown::wait(drained, grace).await;
    Ok(())
}
// ANCHOR_END: serve
