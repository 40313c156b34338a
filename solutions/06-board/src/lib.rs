//! Chapter 6's solution: the real-time task board — one server, three
//! channels, one shared state, and the page that uses all three.
//!
//! Read along with the book's chapter 6, "The real-time task board"
//! (`book/src/ch06-board.md`), whose last section walks through this code.
//!
//! - Commands over HTTP: [`api`] and [`error`], chapter 1's JSON API.
//! - Board updates over Server-Sent Events: [`board`], [`feed`] and
//!   [`events`], chapter 2's stream. Every change, whichever door it came
//!   in by, is published to its board's feed.
//! - Presence over WebSockets: [`protocol`], [`rooms`], [`typing`] and
//!   [`connection`], chapter 5's — plus task commands (`create_task`,
//!   `move_task`) with a `requestId`, answered by an `ack` on the same socket.
//! - [`commands`]: what a WebSocket task command does to the board — the
//!   same rules and the same [`board::Boards`] as the HTTP handlers.
//! - [`config`]: the settings, from the environment.
//! - [`page`]: the page at `/`, plain HTML, CSS and JavaScript compiled into
//!   the binary (`static/`).
//!
//! ```sh
//! cargo run -p sol06-board
//! # then open http://localhost:3000/?user=Alice&board=board-1
//! # and, in a second tab, http://localhost:3000/?user=Bob&board=board-1
//! ```

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
    #[from_ref(skip)]
    pub config: Config,
}
// ANCHOR_END: state

impl AppState {
    /// Empty boards and rooms.
    pub fn new(config: Config) -> Self {
        AppState { boards: Boards::new(config.replay_capacity), rooms: Rooms::default(), config }
    }
}

// ANCHOR: app
/// The routes, ready to serve: the page, the API, the event streams and
/// the WebSocket, on one router with one state.
pub fn app(config: Config) -> Router {
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
        // Presence, and task commands, over a WebSocket (chapter 5, and this chapter).
        .route("/ws", get(connection::upgrade))
        .layer(cors())
        .with_state(AppState::new(config))
}
// ANCHOR_END: app

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
