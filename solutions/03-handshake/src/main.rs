//! Serves the handshake on `127.0.0.1:3000` (or `PORT`).
//!
//! ```sh
//! cargo run -p sol03-handshake
//! curl -i localhost:3000/ws                # 426: a plain GET asks for no upgrade
//! ```
//!
//! Then, in a browser's console: `new WebSocket("ws://localhost:3000/ws")`.

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
    tracing::info!("WebSocket handshake listening on ws://{}/ws", listener.local_addr()?);
    // Chapter 3's server has no settings to read (chapter 4's first one is
    // MAX_MESSAGE_BYTES).
    sol03_handshake::serve(listener, sol03_handshake::Config::default()).await
}
