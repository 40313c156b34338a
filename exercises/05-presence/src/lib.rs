//! # Exercise 5: presence over axum WebSockets
//!
//! Build the presence server of chapter 5, "Presence with axum WebSockets":
//! <../../../book/src/ch05-presence.md> (or
//! `http://localhost:4000/ch05-presence.html` when the book is served
//! locally). On `GET /ws` a client joins a board and learns who else is
//! there; everyone on the board hears who joins, who leaves and who is
//! typing — and nobody stays listed after their connection is gone.
//!
//! This file, [`config`] (the settings), [`protocol`] (the JSON messages)
//! and the types in the other modules are done. The `todo!()`s are yours.
//! Work through them in the order the checks run:
//!
//! 1. [`connection::upgrade`], [`connection::run`], `connection::write`
//!    and [`rooms::Rooms::join`]: a client joins and gets its snapshot;
//! 2. `connection::next_announcement`: the others hear of it, board by
//!    board;
//! 3. the cleanup at the end of [`connection::run`] and
//!    [`rooms::Rooms::leave`]: leaving, once, however the connection ends;
//! 4. [`typing::Typing`], [`rooms::Rooms::typing`] and
//!    [`rooms::Rooms::typing_stopped`]: typing indicators that expire, and
//!    that snapshots list;
//! 5. heartbeats, the idle timeout and `ping`/`pong`, in the read loop;
//! 6. bad input: errors that keep the connection, 1003, 1009, 426 and 405;
//! 7. many clients, and one that falls behind ([`rooms::Rooms::resync`]).
//!
//! ```sh
//! cargo test -p ex05-presence         # every check, stage by stage
//! cargo test -p ex05-presence s2_     # only stage 2
//! cargo run -p ex05-presence          # serve on localhost:3000, then try it (see the book)
//! ```
//!
//! A failing check prints the whole conversation — every frame each client
//! sent and received — what it expected, what came instead, the book
//! section to read and a hint. The unit tests of the modules you write
//! (`rooms.rs`, `typing.rs`, `connection.rs`: 13 of them) are ignored until
//! you have written them, so that `cargo test` reaches the checks; then run
//! them too: `cargo test -p ex05-presence -- --include-ignored`. When it's
//! all green, compare with `solutions/05-presence`
//! (`diff -r exercises/05-presence solutions/05-presence`).

// The stubs don't use their parameters and imports yet. Delete this line
// once every `todo!()` is gone, and let the compiler point at anything left
// unused.
#![allow(unused_variables, unused_imports, dead_code)]

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
