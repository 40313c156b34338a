//! # Exercise 5: presence over axum WebSockets
//!
//! Build the presence server of chapter 5, "Presence with axum WebSockets":
//! <../../../book/src/ch05-presence.md> (or
//! `http://localhost:4000/ch05-presence.html` when the book is served
//! locally). On `GET /ws` a client joins a board and learns who else is
//! there; everyone on the board hears who joins, who leaves and who is
//! typing — and nobody stays listed after their connection is gone.
//!
//! This file, [`protocol`] (the JSON messages) and the types in the other
//! modules are done. The `todo!()`s are yours. Work through them in the
//! order the checks run:
//!
//! 1. [`connection::upgrade`], [`connection::run`], `connection::write`
//!    and [`rooms::Rooms::join`]: a client joins and gets its snapshot;
//! 2. `connection::next_event` and [`rooms::Rooms::broadcast`]: the
//!    others hear of it, board by board;
//! 3. the cleanup at the end of [`connection::run`] and
//!    [`rooms::Rooms::leave`]: leaving, once, however the connection ends;
//! 4. [`typing::Typing`]: typing indicators that expire (its unit tests
//!    run with `cargo test -p ex05-presence --lib`);
//! 5. heartbeats and the idle timeout, in the read loop;
//! 6. bad input: errors that keep the connection, 1003, 1009, and 426;
//! 7. many clients, and one that stops reading ([`rooms::Rooms::resync`]).
//!
//! ```sh
//! cargo test -p ex05-presence --test checks       # every check, stage by stage
//! cargo test -p ex05-presence --test checks s2_   # only stage 2
//! cargo run -p ex05-presence                      # serve on localhost:3000, then try it (see the book)
//! ```
//!
//! A failing check prints the whole conversation — every frame each client
//! sent and received — what it expected, what came instead, the book
//! section to read and a hint. When it's all green, compare with
//! `solutions/05-presence` (`diff -r exercises/05-presence solutions/05-presence`).

// The stubs don't use their parameters and imports yet. Delete this line
// once every `todo!()` is gone, and let the compiler point at anything left
// unused.
#![allow(unused_variables, unused_imports, dead_code)]

pub mod connection;
pub mod protocol;
pub mod rooms;
pub mod typing;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::rooms::Rooms;

/// The server's settings; `Config::default()` holds the production values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How often the server pings each client (`HEARTBEAT_MS`, 10 s).
    pub heartbeat: Duration,
    /// A client the server has heard nothing from — not even a pong — for
    /// this long is gone (`IDLE_TIMEOUT_MS`, 30 s). Three missed heartbeats.
    pub idle_timeout: Duration,
    /// A typing indicator nobody refreshed for this long expires
    /// (`TYPING_TTL_MS`, 5 s).
    pub typing_ttl: Duration,
    /// The largest message a client may send, in bytes (`MAX_MESSAGE_BYTES`,
    /// 64 KiB); a bigger one ends its connection.
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            typing_ttl: Duration::from_secs(5),
            max_message_bytes: 64 * 1024,
        }
    }
}

impl Config {
    /// The defaults, overridden by `HEARTBEAT_MS`, `IDLE_TIMEOUT_MS`,
    /// `TYPING_TTL_MS` and `MAX_MESSAGE_BYTES` where they are set.
    pub fn from_env() -> Self {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the variables `var` finds. A value that
    /// is not a number is reported and ignored.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let number = |name: &str| {
            let value = var(name)?;
            match value.trim().parse::<u64>() {
                Ok(number) => Some(number),
                Err(_) => {
                    tracing::warn!("{name}={value:?} is not a whole number; using the default");
                    None
                }
            }
        };
        let millis = |name: &str| number(name).map(Duration::from_millis);
        let defaults = Config::default();
        Config {
            heartbeat: millis("HEARTBEAT_MS").unwrap_or(defaults.heartbeat),
            idle_timeout: millis("IDLE_TIMEOUT_MS").unwrap_or(defaults.idle_timeout),
            typing_ttl: millis("TYPING_TTL_MS").unwrap_or(defaults.typing_ttl),
            max_message_bytes: number("MAX_MESSAGE_BYTES")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.max_message_bytes),
        }
    }
}

/// What every connection shares: the settings and the rooms.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Config,
    pub rooms: Rooms,
}

// ANCHOR: app
/// The routes, ready to serve: one, `GET /ws`.
pub fn app(config: Config) -> Router {
    let state = AppState { config, rooms: Rooms::default() };
    Router::new().route("/ws", get(connection::upgrade)).with_state(state)
}
// ANCHOR_END: app

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_defaults() {
        let config = Config::from_vars(|name| match name {
            "HEARTBEAT_MS" => Some("100".into()),
            "IDLE_TIMEOUT_MS" => Some("300".into()),
            "TYPING_TTL_MS" => Some(" 250 ".into()),
            "MAX_MESSAGE_BYTES" => Some("2048".into()),
            _ => None,
        });
        assert_eq!(
            config,
            Config {
                heartbeat: Duration::from_millis(100),
                idle_timeout: Duration::from_millis(300),
                typing_ttl: Duration::from_millis(250),
                max_message_bytes: 2048,
            }
        );
    }

    #[test]
    fn unset_or_unreadable_variables_keep_the_defaults() {
        let config = Config::from_vars(|name| (name == "HEARTBEAT_MS").then(|| "soon".into()));
        assert_eq!(config, Config::default());
    }
}
