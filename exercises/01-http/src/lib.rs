//! # Exercise 1: the task board's JSON API
//!
//! Build the HTTP API of chapter 1, "HTTP: request and response":
//! <../../../book/src/ch01-http.md> (or `http://localhost:4000/ch01-http.html`
//! when the book is served locally).
//!
//! The routes are wired up below; the `todo!()`s in `board.rs`, `api.rs` and
//! `error.rs` are yours. Work through them in the order the checks run:
//!
//! ```sh
//! cargo test -p ex01-http          # every check, stage by stage
//! cargo test -p ex01-http s2_      # only stage 2
//! cargo run -p ex01-http           # serve on localhost:3000, then poke it with curl
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. When it's all green, compare with
//! `solutions/01-http` (`diff -r exercises/01-http solutions/01-http`).

// The stubs don't use their parameters yet. Delete this line once every
// `todo!()` is gone, and let the compiler point at anything left unused.
#![allow(unused_variables, dead_code)]

pub mod api;
pub mod board;
pub mod config;
pub mod error;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::board::Boards;
pub use crate::config::{Config, ConfigError};

/// The routes of the API, ready to serve. Tests can build the app without
/// a process or a port.
pub fn app(_config: Config) -> Router {
    router(Boards::default())
}

/// The routes around `boards`; the checks keep a handle on them to count
/// boards.
pub fn router(boards: Boards) -> Router {
    Router::new()
        .route("/boards/{board}/tasks", get(api::list_tasks).post(api::create_task))
        .route(
            "/boards/{board}/tasks/{task}",
            get(api::get_task).patch(api::move_task).delete(api::delete_task),
        )
        .with_state(boards)
}

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}
