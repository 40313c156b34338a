//! Serves the built book over HTTP on loopback, under a path prefix as
//! GitHub Pages does (`https://<owner>.github.io/<repo>/`), so a link that
//! only works at the root of a site shows up as dead here too.

use std::path::Path;

use anyhow::{Context, Result};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// The path the book is served under.
pub const PREFIX: &str = "/book/";

/// Starts serving `dir`; returns the book's root URL, e.g. `http://127.0.0.1:41234/book/`.
/// The server runs until the program ends.
pub async fn serve(dir: &Path) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding a port to serve the book")?;
    let addr = listener.local_addr()?;
    let app = Router::new().nest_service(PREFIX.trim_end_matches('/'), ServeDir::new(dir));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("book-check: serving the book stopped: {error}");
        }
    });
    Ok(format!("http://{addr}{PREFIX}"))
}
