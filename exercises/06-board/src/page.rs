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

// TODO (stage 1): each handler answers its file from `static/`, put into
// the binary with `include_str!("../static/index.html")`, with its
// `Content-Type` (a tuple `([(header::CONTENT_TYPE, "…")], text)` is a
// response). Browsers refuse a module script that is not served as
// JavaScript, and ignore a stylesheet that is not `text/css`.

/// `GET /` → the page.
pub async fn index() -> Response {
    todo!("index: answer static/index.html (include_str!) with Content-Type: text/html; charset=utf-8")
}

/// `GET /board.js`. Browsers refuse to run a module script served with a
/// type that is not JavaScript's.
pub async fn script() -> Response {
    todo!("script: answer static/board.js with Content-Type: text/javascript; charset=utf-8")
}

/// `GET /board.css`. Browsers ignore a stylesheet served as anything but `text/css`.
pub async fn styles() -> Response {
    todo!("styles: answer static/board.css with Content-Type: text/css; charset=utf-8")
}
