//! Chapter 1's solution: the task board's JSON API over plain HTTP.
//!
//! Read along with the book's chapter 1, "HTTP: request and response"
//! (`book/src/ch01-http.md`), whose last section walks through this code.
//!
//! - [`board`]: the tasks, the columns, and the shared state that holds them.
//! - [`api`]: one handler per route — what each request gets back.
//! - [`error`]: the contract's JSON errors, and the extractor that turns
//!   axum's plain-text rejections into them.

pub mod api;
pub mod board;
pub mod config;
pub mod error;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::board::Boards;
pub use crate::config::{Config, ConfigError};

// ANCHOR: app
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
// ANCHOR_END: app

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, app(config)).await
}
