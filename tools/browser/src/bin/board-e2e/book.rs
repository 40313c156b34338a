//! The book, built and served on loopback, for its "try it" panels.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// Builds the book in `book` into `dest` with `mdbook build`.
pub fn build(book: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    let output = Command::new("mdbook")
        .arg("build")
        .arg(book)
        .arg("--dest-dir")
        .arg(dest)
        .stdin(Stdio::null())
        .output()
        .context("running `mdbook build` (install it with `cargo course book --install-only`)")?;
    if !output.status.success() {
        bail!(
            "mdbook build failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Serves `dir` at the root of a loopback port until the program ends;
/// returns its URL, e.g. `http://127.0.0.1:41234/`.
pub async fn serve(dir: &Path) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding a port to serve the book")?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback_service(ServeDir::new(dir));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("board-e2e: serving the book stopped: {error}");
        }
    });
    Ok(format!("http://{addr}/"))
}
