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

// ANCHOR: page
/// The page: the board's columns, who is online, the connection's state.
const INDEX_HTML: &str = include_str!("../static/index.html");
/// Its script: the three channels, and drawing the board.
const BOARD_JS: &str = include_str!("../static/board.js");
/// Its styles.
const BOARD_CSS: &str = include_str!("../static/board.css");

/// `no-cache` lets the browser keep a copy but makes it ask again each
/// time: after a restart with a new page, no tab runs the old script.
const REVALIDATE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");

/// `GET /` → the page.
pub async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), REVALIDATE], INDEX_HTML).into_response()
}

/// `GET /board.js`. Browsers refuse to run a module script served with a
/// type that is not JavaScript's.
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), REVALIDATE], BOARD_JS).into_response()
}

/// `GET /board.css`. Browsers ignore a stylesheet served as anything but `text/css`.
pub async fn styles() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), REVALIDATE], BOARD_CSS).into_response()
}
// ANCHOR_END: page
