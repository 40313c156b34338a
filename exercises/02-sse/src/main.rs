//! Serves the task board and its event streams on `127.0.0.1:3000` (or `PORT`).
//!
//! ```sh
//! cargo run -p ex02-sse
//! curl -N localhost:3000/boards/board-1/events
//! ```

use std::process::ExitCode;

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A bad setting stops the server before it binds, with the reason.
    let config = match ex02_sse::Config::from_env() {
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

async fn run(config: ex02_sse::Config) -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("task board listening on http://{}", listener.local_addr()?);
    ex02_sse::serve(listener, config).await
}
