//! Chapter 4's solution: a WebSocket echo server with the frames by hand,
//! conformant to RFC 6455 §5–§8.
//!
//! Read along with the book's chapter 4, "Frames" (`book/src/ch04-frames.md`),
//! whose last section walks through this code.
//!
//! A connection goes through the modules in this order:
//! - [`upgrade`]: the opening handshake, as chapter 3 built it ([`request`],
//!   [`handshake`], [`accept`], [`response`] are chapter 3's, unchanged);
//! - [`connection`]: bytes from the socket → frames, replies → bytes, and
//!   the end of the connection, clean or failed;
//! - [`frame`]: the codec, bytes ↔ [`frame::Frame`], as pure functions;
//! - [`session`]: what to do with each frame: echo, pong, close;
//! - [`message`]: fragments → messages, with the UTF-8 check and the size limit;
//! - [`close`]: close status codes and the Close frame's payload.

pub mod accept;
pub mod close;
pub mod connection;
pub mod frame;
pub mod handshake;
pub mod message;
pub mod request;
pub mod response;
pub mod session;
pub mod upgrade;

use tokio::net::TcpListener;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The largest message accepted, in bytes, all its fragments together.
    /// A bigger one fails the connection with close code 1009. Without a
    /// limit, one client announcing a huge message could make the server
    /// buffer all of it. Default: 2 MiB (this chapter echoes up to 1 MiB).
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_message_bytes: 2 * 1024 * 1024 }
    }
}

impl Config {
    /// Reads the settings from environment variables: `MAX_MESSAGE_BYTES`.
    /// A variable that is missing or not a number keeps its default.
    pub fn from_env() -> Self {
        let default = Config::default();
        let max_message_bytes = std::env::var("MAX_MESSAGE_BYTES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default.max_message_bytes);
        Config { max_message_bytes }
    }
}

/// Accepts connections on `listener` until the process ends, each in a
/// task of its own: a slow or broken client holds up nobody else.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            if let Err(error) = upgrade::handle(stream, config).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}
