//! Serves the task board on `127.0.0.1:3000` (or `PORT`): the page at `/`,
//! the API, the event streams and the WebSocket.
//!
//! ```sh
//! cargo run -p ex08-scale-out
//! # open http://localhost:3000/?user=Alice&board=board-1 and, in another
//! # tab, http://localhost:3000/?user=Bob&board=board-1
//! TYPING_TTL_MS=2000 HEARTBEAT_MS=1000 cargo run -p ex08-scale-out
//! # over TLS, with a certificate for localhost (mkcert, say):
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run -p ex08-scale-out
//! ```

use std::process::ExitCode;

use ex08_scale_out::Config;
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
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    tracing::info!("task board on {scheme}://{addr}/?user=Alice&board=board-1 ({config:?})");
    ex08_scale_out::serve(listener, config).await
}
