//! # Exercise 2: board updates as Server-Sent Events
//!
//! Push every change to a board to everyone watching it, as it happens, as
//! chapter 2, "Server-Sent Events", builds it: <../../../book/src/ch02-sse.md>
//! (or `http://localhost:4000/ch02-sse.html` when the book is served locally).
//!
//! Chapter 1's API works already (`api.rs`, `error.rs`), and `board.rs`
//! already hands every change to the board's `Feed`, under the board's lock.
//! The `todo!()`s and `TODO`s are yours, in the order the checks run:
//!
//! 1. `events.rs`: `GET /boards/{board}/events` answers an endless
//!    `text/event-stream`: a `retry:`, then a snapshot (`Feed::subscribe`
//!    in `feed.rs`).
//! 2. `feed.rs`: `Feed::publish` numbers each change, keeps it and
//!    broadcasts it; the stream sends each one as it comes.
//! 3. Every subscriber of a board gets every event, and only that board's.
//! 4. Keep-alive comments every `KEEPALIVE_MS`.
//! 5. CORS, below, so that the book's pages can call the server.
//! 6. `Last-Event-ID`: replay what was missed, or `reset` and a snapshot.
//! 7. Slow subscribers: `RecvError::Lagged`.
//! 8. `parser.rs`: the client side, a parser of the format.
//!
//! ```sh
//! cargo test -p ex02-sse          # every check, stage by stage
//! cargo test -p ex02-sse s2_      # only stage 2
//! cargo run -p ex02-sse           # serve on localhost:3000
//! curl -N localhost:3000/boards/board-1/events
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. Two unit tests in `board.rs` call
//! `Feed::subscribe` and are ignored until you have written it; then run
//! them too: `cargo test -p ex02-sse -- --include-ignored`. When it's all
//! green, compare with `solutions/02-sse`
//! (`diff -r exercises/02-sse solutions/02-sse`).

// The stubs don't use their parameters yet. Delete this line once every
// `todo!()` is gone, and let the compiler point at anything left unused.
#![allow(unused_variables, dead_code)]

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
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;

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
        // TODO: pages from other origins may call the API and read the
        // stream ("Reading the stream from another origin").
        .with_state(state)
}

/// Lets pages from any origin — the book's, for one — call the API and
/// read the stream.
fn cors() -> CorsLayer {
    todo!(
        "cors: any origin may use the API and the stream, preflights included (\"Reading the stream \
         from another origin\")"
    )
}

/// Serves the board on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}
