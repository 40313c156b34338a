//! Serves the task board on `127.0.0.1:3000` (or `PORT`): the page at `/`,
//! the API, the event streams and the WebSocket.
//!
//! ```sh
//! cargo run -p ex07-production
//! # open http://localhost:3000/?user=Alice&board=board-1 and, in another
//! # tab, http://localhost:3000/?user=Bob&board=board-1
//! TYPING_TTL_MS=2000 HEARTBEAT_MS=1000 cargo run -p ex07-production
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
    // A setting that is set but wrong stops the server before it binds.
    let config = match ex07_production::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    tracing::info!("task board on {scheme}://{addr}/?user=Alice&board=board-1 ({config:?})");
    ex07_production::serve(listener, config).await
}
