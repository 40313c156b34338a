//! Serves presence on `ws://127.0.0.1:3000/ws` (or `PORT`).
//!
//! ```sh
//! cargo run -p ex05-presence
//! HEARTBEAT_MS=1000 IDLE_TIMEOUT_MS=3000 TYPING_TTL_MS=2000 cargo run -p ex05-presence
//! ```

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
    let config = ex05_presence::Config::from_env();
    tracing::info!("presence on ws://{}/ws ({config:?})", listener.local_addr()?);
    ex05_presence::serve(listener, config).await
}
