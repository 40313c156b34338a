//! Chapter 2's solution: the task board's changes pushed to every browser
//! as Server-Sent Events, and a client that reads them.
//!
//! Read along with the book's chapter 2, "Server-Sent Events"
//! (`book/src/ch02-sse.md`), whose last section walks through this code.
//!
//! - [`board`]: the tasks and the shared state, as in chapter 1 — except
//!   that every change is also published to the board's feed.
//! - [`feed`]: a board's feed: numbered events, a bounded replay buffer, and
//!   a broadcast channel that fans each event out.
//! - [`events`]: `GET /boards/{board}/events`, one endless response per
//!   subscriber: snapshot or replay, live events, keep-alives.
//! - [`parser`]: the client side, an incremental parser of the format.
//! - [`config`]: the settings, from `KEEPALIVE_MS` and `REPLAY_CAPACITY`.
//! - [`api`], [`error`]: chapter 1's JSON API, unchanged.

pub mod api;
pub mod board;
pub mod config;
pub mod error;
pub mod events;
pub mod feed;
pub mod parser;

use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method, header};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::board::Boards;
pub use crate::config::{Config, ConfigError};

/// What every handler can reach. Chapter 1's handlers take
/// `State<Boards>`, which axum finds in here through `FromRef`.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub boards: Boards,
    #[from_ref(skip)]
    pub keepalive: Duration,
}

impl AppState {
    /// No boards yet, and `config`'s settings.
    pub fn new(config: Config) -> Self {
        AppState { boards: Boards::new(config.replay_capacity), keepalive: config.keepalive }
    }
}

/// The routes, ready to serve. Tests can build the app without a process
/// or a port.
pub fn app(config: Config) -> Router {
    router(AppState::new(config))
}

/// The routes around `state`; the checks keep a handle on its boards to
/// count them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/boards/{board}/tasks", get(api::list_tasks).post(api::create_task))
        .route(
            "/boards/{board}/tasks/{task}",
            get(api::get_task).patch(api::move_task).delete(api::delete_task),
        )
        .route("/boards/{board}/events", get(events::board_events))
        .layer(cors())
        .with_state(state)
}

// ANCHOR: cors
/// Lets pages from any origin — the book's, for one — call the API and
/// read the stream. The board is public and no cookies are involved, so
/// `*` gives nothing away. JSON bodies and `PATCH`/`DELETE` make browsers
/// ask first (a preflight `OPTIONS`), which this layer answers.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("last-event-id")])
        .expose_headers([header::LOCATION])
}
// ANCHOR_END: cors

/// Serves the board on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}
