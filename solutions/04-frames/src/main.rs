//! Serves the echo server on `127.0.0.1:3000` (or `PORT`).
//!
//! ```sh
//! cargo run -p sol04-frames
//! MAX_MESSAGE_BYTES=1024 cargo run -p sol04-frames   # a smaller limit
//! ```
//!
//! Then, in a browser's console:
//! `ws = new WebSocket("ws://localhost:3000/ws"); ws.onmessage = e => console.log(e.data)`
//! and `ws.send("Hello")`.

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("WebSocket echo listening on ws://{}/ws", listener.local_addr()?);
    sol04_frames::serve(listener, sol04_frames::Config::from_env()).await
}
