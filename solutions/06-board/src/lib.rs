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
pub mod connection;
pub mod error;
pub mod events;
pub mod feed;
pub mod page;
pub mod protocol;
pub mod rooms;
pub mod typing;

use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method, header};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::board::Boards;
use crate::rooms::Rooms;

/// The server's settings: `Config::default()` for production, short ones
/// for the checks. Each one is an environment variable of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long an event stream may stay silent before the server sends a
    /// comment to show it is alive (`KEEPALIVE_MS`, 15 s).
    pub keepalive: Duration,
    /// How many events each board keeps for `Last-Event-ID` replay, and how
    /// far a subscriber may fall behind before it is reset
    /// (`REPLAY_CAPACITY`, 1000).
    pub replay_capacity: usize,
    /// How often the server pings each WebSocket client (`HEARTBEAT_MS`, 10 s).
    pub heartbeat: Duration,
    /// A WebSocket client the server has heard nothing from — not even a
    /// pong — for this long is gone (`IDLE_TIMEOUT_MS`, 30 s).
    pub idle_timeout: Duration,
    /// A typing indicator nobody refreshed for this long expires
    /// (`TYPING_TTL_MS`, 5 s).
    pub typing_ttl: Duration,
    /// The largest WebSocket message a client may send, in bytes
    /// (`MAX_MESSAGE_BYTES`, 64 KiB); a bigger one ends its connection.
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keepalive: Duration::from_secs(15),
            replay_capacity: 1000,
            heartbeat: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            typing_ttl: Duration::from_secs(5),
            max_message_bytes: 64 * 1024,
        }
    }
}

impl Config {
    /// The defaults, overridden by the environment variables that are set.
    pub fn from_env() -> Self {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the variables `var` finds; a missing,
    /// malformed or zero value keeps the default (with a warning, so a typo
    /// doesn't go unnoticed).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let defaults = Config::default();
        let millis =
            |name: &str, default: Duration| positive(&var, name).map_or(default, Duration::from_millis);
        Config {
            keepalive: millis("KEEPALIVE_MS", defaults.keepalive),
            replay_capacity: positive(&var, "REPLAY_CAPACITY").unwrap_or(defaults.replay_capacity),
            heartbeat: millis("HEARTBEAT_MS", defaults.heartbeat),
            idle_timeout: millis("IDLE_TIMEOUT_MS", defaults.idle_timeout),
            typing_ttl: millis("TYPING_TTL_MS", defaults.typing_ttl),
            max_message_bytes: positive(&var, "MAX_MESSAGE_BYTES").unwrap_or(defaults.max_message_bytes),
        }
    }
}

/// The variable `name` as a number above zero, if it is one.
fn positive<T: FromStr + Default + PartialOrd>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Option<T> {
    let value = var(name)?;
    match value.trim().parse::<T>() {
        Ok(number) if number > T::default() => Some(number),
        _ => {
            tracing::warn!("{name}={value:?} is not a number above zero; using the default");
            None
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn settings_come_from_the_environment() {
        let config = from(&[
            ("KEEPALIVE_MS", "200"),
            ("REPLAY_CAPACITY", "16"),
            ("HEARTBEAT_MS", "100"),
            ("IDLE_TIMEOUT_MS", "300"),
            ("TYPING_TTL_MS", " 250 "),
            ("MAX_MESSAGE_BYTES", "2048"),
        ]);
        assert_eq!(
            config,
            Config {
                keepalive: Duration::from_millis(200),
                replay_capacity: 16,
                heartbeat: Duration::from_millis(100),
                idle_timeout: Duration::from_millis(300),
                typing_ttl: Duration::from_millis(250),
                max_message_bytes: 2048,
            }
        );
    }

    #[test]
    fn missing_malformed_or_zero_settings_keep_the_defaults() {
        assert_eq!(from(&[]), Config::default());
        assert_eq!(from(&[("KEEPALIVE_MS", "soon"), ("REPLAY_CAPACITY", "-3")]), Config::default());
        assert_eq!(from(&[("HEARTBEAT_MS", "0"), ("MAX_MESSAGE_BYTES", "0")]), Config::default());
    }
}
