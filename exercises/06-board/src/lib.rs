//! # Exercise 6: the real-time task board
//!
//! One server for the whole board — commands over HTTP, updates over
//! Server-Sent Events, presence over a WebSocket — and the page that uses
//! all three, as chapter 6, "The real-time task board", builds it:
//! <../../../book/src/ch06-board.md> (or `http://localhost:4000/ch06-board.html`
//! when the book is served locally).
//!
//! Chapter 1's API (`api.rs`, `error.rs`), chapter 2's event streams
//! (`board.rs`, `feed.rs`, `events.rs`) and chapter 5's presence
//! (`protocol.rs`, `rooms.rs`, `typing.rs`, `connection.rs`) work already,
//! and so does the page (`static/`). The `todo!()`s and `TODO`s are yours,
//! in the order the checks run:
//!
//! 1. `app`, below: one router for the page, the API, the streams and `/ws`,
//!    on one shared state; `page.rs`: serve the page and its two files.
//! 2. `commands.rs`: what `create_task` and `move_task` do to a board;
//!    `connection.rs`: run them when they come over the WebSocket, and
//!    answer an `ack` on that socket only.
//! 3. Errors that carry the command's `requestId` (`connection.rs`,
//!    `protocol.rs`).
//! 4. Presence still works next to the commands.
//!
//! ```sh
//! cargo test -p ex06-board          # every check, stage by stage
//! cargo test -p ex06-board s2_      # only stage 2
//! cargo run -p ex06-board           # serve on localhost:3000, then open
//! # http://localhost:3000/?user=Alice&board=board-1, and as Bob in another tab
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. When it's all green, compare with
//! `solutions/06-board` (`diff -r exercises/06-board solutions/06-board`).

// The stubs don't use their parameters or imports yet. Delete this line once
// every `todo!()` is gone, and let the compiler point at anything left unused.
#![allow(unused_variables, unused_imports, dead_code)]

pub mod api;
pub mod board;
pub mod commands;
pub mod config;
pub mod connection;
pub mod error;
pub mod events;
pub mod feed;
pub mod page;
pub mod protocol;
pub mod rooms;
pub mod typing;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method, header};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::board::Boards;
pub use crate::config::{Config, ConfigError};
use crate::rooms::Rooms;

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
    #[from_ref(skip)]
    pub config: Config,
}

impl AppState {
    /// Empty boards and rooms.
    pub fn new(config: Config) -> Self {
        AppState { boards: Boards::new(config.replay_capacity), rooms: Rooms::default(), config }
    }
}

/// The routes, ready to serve: the page, the API, the event streams and
/// the WebSocket, on one router with one state.
pub fn app(config: Config) -> Router {
    todo!(
        "one router for the page, the API, the event streams and /ws, with the CORS layer and one \
         shared state (chapter 6, \"One state, every tab\")"
    )
}

/// Lets pages from any origin — the book's "try it" panels, for one — call
/// the API and read the stream. The board is public and no cookies are
/// involved, so `*` gives nothing away. (CORS does not apply to the
/// WebSocket: see `connection::upgrade`.)
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("last-event-id")])
        .expose_headers([header::LOCATION])
}

/// Serves the board on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}
