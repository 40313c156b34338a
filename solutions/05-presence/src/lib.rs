//! Chapter 5's solution: presence over axum WebSockets — who is on a board,
//! who is typing, and no ghosts when someone goes.
//!
//! Read along with the book's chapter 5, "Presence with axum WebSockets"
//! (`book/src/ch05-presence.md`), whose last section walks through this code.
//!
//! - [`config`]: the settings, from the environment.
//! - [`protocol`]: the JSON messages, client → server and server → client.
//! - [`rooms`]: who is on which board, and a broadcast channel per board.
//! - [`typing`]: typing indicators that expire — a small state machine.
//! - [`connection`]: the upgrade handler, and one connection's life: a read
//!   loop, a writer task, heartbeats, the idle timeout, and the cleanup that
//!   runs however the connection ends.

pub mod config;
pub mod connection;
pub mod protocol;
pub mod rooms;
pub mod typing;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use crate::config::{Config, ConfigError};
use crate::rooms::Rooms;

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
