//! Reference: an axum WebSocket echo server with axum's default settings
//! (a 128 KiB read buffer per connection, among others), on
//! `ws://127.0.0.1:3000/ws` (or `PORT`). Chapter 5's presence server is
//! measured against it.
//!
//! `READ_BUFFER_BYTES` changes the one setting that decides what an idle
//! connection costs, to see its effect alone.
//!
//! ```sh
//! cargo run --release -p course-load --bin ref-axum-echo
//! READ_BUFFER_BYTES=4096 cargo run --release -p course-load --bin ref-axum-echo
//! ```

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let read_buffer = std::env::var("READ_BUFFER_BYTES").ok().and_then(|bytes| bytes.parse().ok());
    eprintln!("axum echo on ws://{}/ws (read buffer: {read_buffer:?})", listener.local_addr()?);
    let app = Router::new().route("/ws", get(move |ws| upgrade(ws, read_buffer)));
    axum::serve(listener, app).await
}

async fn upgrade(ws: WebSocketUpgrade, read_buffer: Option<usize>) -> Response {
    match read_buffer {
        Some(bytes) => ws.read_buffer_size(bytes),
        None => ws,
    }
    .on_upgrade(echo)
}

/// Every text and binary message back, as axum's `websockets` example does.
async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        if matches!(message, Message::Text(_) | Message::Binary(_)) && socket.send(message).await.is_err() {
            return;
        }
    }
}
