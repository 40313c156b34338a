//! # Exercise 3: the WebSocket opening handshake, by hand
//!
//! Build the server of chapter 3, "How WebSockets work: the upgrade
//! handshake": <../../../book/src/ch03-handshake.md> (or
//! `http://localhost:4000/ch03-handshake.html` when the book is served
//! locally). It listens on a raw `tokio::net::TcpListener`, reads a
//! request at `/ws`, checks that it is a WebSocket handshake, answers
//! `101 Switching Protocols`, sends one greeting and closes — or refuses
//! with the right HTTP status.
//!
//! The accept loop below is done, and so is [`frames`] (frames are chapter
//! 4's subject). The `todo!()`s in the other modules are yours. Work through
//! them in the order the checks run:
//!
//! 1. [`accept::accept_key`]: the `Sec-WebSocket-Accept` value of a key;
//! 2. [`connection::handle`], [`request::read_request`],
//!    [`handshake::validate`] and [`response::Response::switching_protocols`]:
//!    the `101` for the book's example request;
//! 3. the greeting and the close, in `handle`;
//! 4. [`request::Request::has_token`]: headers the way HTTP reads them;
//! 5. and 6. the refusals ([`response::Response::rejection`]): 426, 400, 405, 404;
//! 7. reading bytes as they come: one byte at a time, at most 8 KiB.
//!
//! ```sh
//! cargo test -p ex03-handshake          # every check, stage by stage
//! cargo test -p ex03-handshake s2_      # only stage 2
//! cargo run -p ex03-handshake           # serve on localhost:3000, then try it (see the book)
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. When it's all green, compare with
//! `solutions/03-handshake` (`diff -r exercises/03-handshake solutions/03-handshake`).

// The stubs don't use their parameters and imports yet. Delete this line
// once every `todo!()` is gone, and let the compiler point at anything left
// unused.
#![allow(unused_variables, unused_imports, dead_code)]

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
