//! The page at `/`: the board in a browser tab.
//!
//! Plain HTML, CSS and JavaScript in `static/`, with no build step: what
//! you read in those files is what the browser runs. `include_str!` puts
//! them into the binary when it is compiled, so the server is one file to
//! run, and the page can never be out of step with the server that serves
//! it. (Edit a file under `static/`, and `cargo run` again.)
//!
//! The page opens the other two channels itself: an `EventSource` on
//! `/boards/{board}/events` and a `WebSocket` on `/ws`, both on the origin
//! it came from.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `GET /` → the page.
pub async fn index() -> Response {
    todo!("answer the page, static/index.html, as HTML (chapter 6, \"The page at the root\")")
}

/// `GET /board.js`. Browsers refuse to run a module script served with a
/// type that is not JavaScript's.
pub async fn script() -> Response {
    todo!("answer the page's script, static/board.js, as JavaScript (chapter 6, \"The page at the root\")")
}

/// `GET /board.css`. Browsers ignore a stylesheet served as anything but `text/css`.
pub async fn styles() -> Response {
    todo!("answer the page's styles, static/board.css, as CSS (chapter 6, \"The page at the root\")")
}
