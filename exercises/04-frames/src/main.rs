//! Serves the echo server on `127.0.0.1:3000` (or `PORT`).
//!
//! ```sh
//! cargo run -p ex04-frames
//! MAX_MESSAGE_BYTES=1024 cargo run -p ex04-frames   # a smaller limit
//! ```
//!
//! Then, in a browser's console:
//! `ws = new WebSocket("ws://localhost:3000/ws"); ws.onmessage = e => console.log(e.data)`
//! and `ws.send("Hello")`.

use std::process::ExitCode;

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A bad setting stops the server before it binds, naming the variable.
    let config = match ex04_frames::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: ex04_frames::Config) -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("WebSocket echo listening on ws://{}/ws", listener.local_addr()?);
    ex04_frames::serve(listener, config).await
}
