//! Serves presence on `ws://127.0.0.1:3000/ws` (or `PORT`).
//!
//! ```sh
//! cargo run -p sol05-presence
//! HEARTBEAT_MS=1000 IDLE_TIMEOUT_MS=3000 TYPING_TTL_MS=2000 cargo run -p sol05-presence
//! ```

use std::process::ExitCode;

use sol05_presence::Config;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A setting the server cannot use stops it before it binds.
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("cannot serve: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("presence on ws://{}/ws ({config:?})", listener.local_addr()?);
    sol05_presence::serve(listener, config).await
}
