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
//! - [`api`], [`error`]: chapter 1's JSON API, unchanged.

pub mod api;
pub mod board;
pub mod error;
pub mod events;
pub mod feed;
pub mod parser;

use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method, header};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::board::Boards;

/// The server's settings: `Config::default()` for production, short ones
/// for the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long an event stream may stay silent before the server sends a
    /// comment to show it is alive (`KEEPALIVE_MS`, default 15 s).
    pub keepalive: Duration,
    /// How many events each board keeps for `Last-Event-ID` replay, and how
    /// far a subscriber may fall behind before it is reset
    /// (`REPLAY_CAPACITY`, default 1000, at least 1).
    pub replay_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { keepalive: Duration::from_secs(15), replay_capacity: 1000 }
    }
}

impl Config {
    /// Reads `KEEPALIVE_MS` and `REPLAY_CAPACITY` from the environment.
    pub fn from_env() -> Self {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var`; a missing, malformed or zero value
    /// keeps the default (with a warning, so a typo doesn't go unnoticed).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let defaults = Config::default();
        Config {
            keepalive: positive(&var, "KEEPALIVE_MS").map_or(defaults.keepalive, Duration::from_millis),
            replay_capacity: positive(&var, "REPLAY_CAPACITY").unwrap_or(defaults.replay_capacity),
        }
    }
}

/// The variable `name` as a number above zero, if it is one.
fn positive<T: FromStr + Default + PartialOrd>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Option<T> {
    let value = var(name)?;
    match value.parse::<T>() {
        Ok(number) if number > T::default() => Some(number),
        _ => {
            tracing::warn!("{name}={value:?} is not a number above zero; using the default");
            None
        }
    }
}

/// What every handler can reach. Chapter 1's handlers take
/// `State<Boards>`, which axum finds in here through `FromRef`.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub boards: Boards,
    #[from_ref(skip)]
    pub keepalive: Duration,
}

/// The routes, ready to serve. Tests can build the app without a process
/// or a port.
pub fn app(config: Config) -> Router {
    let state = AppState { boards: Boards::new(config.replay_capacity), keepalive: config.keepalive };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn settings_come_from_the_environment() {
        let config = from(&[("KEEPALIVE_MS", "200"), ("REPLAY_CAPACITY", "16")]);
        assert_eq!(config, Config { keepalive: Duration::from_millis(200), replay_capacity: 16 });
    }

    #[test]
    fn missing_malformed_or_zero_settings_keep_the_defaults() {
        assert_eq!(from(&[]), Config::default());
        assert_eq!(from(&[("KEEPALIVE_MS", "soon"), ("REPLAY_CAPACITY", "-3")]), Config::default());
        assert_eq!(from(&[("KEEPALIVE_MS", "0"), ("REPLAY_CAPACITY", "0")]), Config::default());
    }
}
