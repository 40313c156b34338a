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
//! - [`close`]: close status codes and the Close frame's payload;
//! - [`config`]: the settings, read from environment variables.

pub mod accept;
pub mod close;
pub mod config;
pub mod connection;
pub mod frame;
pub mod handshake;
pub mod message;
pub mod request;
pub mod response;
pub mod session;
pub mod upgrade;

use std::io;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::{Config, ConfigError};

// ANCHOR: serve
/// Accepts connections on `listener` until the process ends, each in a
/// task of its own: a slow or broken client holds up nobody else. It never
/// returns an error: a failed `accept` is logged and retried (`back_off`).
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                back_off(&error).await;
                continue;
            }
        };
        let config = config.clone();
        tokio::spawn(async move {
            if let Err(error) = upgrade::handle(stream, config).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}
// ANCHOR_END: serve

/// How long the accept loop waits after an `accept` error that is not about
/// one client, such as running out of file descriptors (`EMFILE`), before
/// trying again. Retrying at once would spin on the same error; one second
/// is what axum's `serve` waits too.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// What the accept loop does after `accept` failed: an error that concerns
/// one connection (it was reset before we took it) is skipped at once; any
/// other is logged, and the loop waits [`ACCEPT_BACKOFF`] — by then clients
/// may have left and given their descriptors back. Never a reason to stop
/// serving everyone.
async fn back_off(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "accept failed; trying again in {} s", ACCEPT_BACKOFF.as_secs());
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
