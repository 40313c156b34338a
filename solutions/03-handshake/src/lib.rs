//! Chapter 3's solution: the WebSocket opening handshake, by hand, on a raw
//! TCP listener.
//!
//! Read along with the book's chapter 3, "How WebSockets work: the upgrade
//! handshake" (`book/src/ch03-handshake.md`), whose last section walks
//! through this code.
//!
//! A connection goes through the modules in this order:
//! - [`request`]: bytes → a parsed HTTP request head, with a size limit;
//! - [`handshake`]: is it a WebSocket opening handshake? The RFC 6455 rules,
//!   and the HTTP answer to each way of breaking them;
//! - [`accept`]: the `Sec-WebSocket-Accept` value proving the server read the key;
//! - [`response`]: the `101` (or the refusal) as bytes;
//! - [`frames`]: the two frames sent after the `101` (chapter 4 explains them);
//! - [`connection`]: one connection from first byte to close, tying them together.

pub mod accept;
pub mod connection;
pub mod frames;
pub mod handshake;
pub mod request;
pub mod response;

pub use accept::accept_key;

use std::io;
use std::time::Duration;

use tokio::net::TcpListener;

/// The server's settings. Chapter 3 has none: its one limit, the size of a
/// request head, is [`request::MAX_HEAD_BYTES`]. Every chapter's server
/// starts the same way: `serve(listener, Config::default())`.
#[derive(Debug, Clone, Default)]
pub struct Config {}

// ANCHOR: serve
/// Accepts connections on `listener` until the process ends, each in a
/// task of its own: a slow or broken client holds up nobody else. It never
/// returns an error: a failed `accept` is logged and retried (`back_off`).
pub async fn serve(listener: TcpListener, _config: Config) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                back_off(&error).await;
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(error) = connection::handle(stream).await {
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
