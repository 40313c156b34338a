//! Reference: a plain tokio-tungstenite echo server, as the library's own
//! `echo-server` example writes it, on `127.0.0.1:3000` (or `PORT`), any
//! path. Chapter 4's hand-written echo is measured against it.
//!
//! ```sh
//! cargo run --release -p course-load --bin ref-tungstenite-echo
//! ```

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("tokio-tungstenite echo on ws://{}/", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(echo(stream));
    }
}

/// Handshake, then forward every text and binary message back. The
/// library answers pings and closes by itself while reading.
async fn echo(stream: TcpStream) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
    let (write, read) = socket.split();
    let _ = read
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(write)
        .await;
}
