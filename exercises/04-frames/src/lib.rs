//! # Exercise 4: a WebSocket echo server, frames by hand
//!
//! Build the echo server of chapter 4, "Frames": <../../../book/src/ch04-frames.md>
//! (or `http://localhost:4000/ch04-frames.html` when the book is served
//! locally). RFC 6455 §5–§8 is the authority; the chapter explains each rule.
//!
//! The opening handshake is chapter 3's, shipped solved ([`upgrade`] and the
//! modules it uses). The `todo!()`s are yours, in the order the checks run:
//! 1. [`frame`]: `decode`, `encode` and `apply_mask`, as pure functions;
//! 2. [`connection`]: `read_frame`, and [`session`]: echo a whole message;
//! 3. [`session`]: ping and pong, and [`message`]: fragments → messages;
//! 4. [`close`]: status codes and the Close payload, and [`connection`]:
//!    the close handshake and failing the connection.
//!
//! ```sh
//! cargo test -p ex04-frames          # every check, stage by stage
//! cargo test -p ex04-frames s1_      # only stage 1, the codec
//! cargo run -p ex04-frames           # serve on localhost:3000, then try a browser tab
//! ```
//!
//! A failing check prints what it sent, what it expected, what came back,
//! the book section to read and a hint. When it's all green, compare with
//! `solutions/04-frames` (`diff -r exercises/04-frames solutions/04-frames`).
//!
//! A map of the modules, in the order a connection goes through them:
//! - [`upgrade`]: the opening handshake, as chapter 3 built it ([`request`],
//!   [`handshake`], [`accept`], [`response`] are chapter 3's, unchanged);
//! - [`connection`]: bytes from the socket → frames, replies → bytes, and
//!   the end of the connection, clean or failed;
//! - [`frame`]: the codec, bytes ↔ [`frame::Frame`], as pure functions;
//! - [`session`]: what to do with each frame: echo, pong, close;
//! - [`message`]: fragments → messages, with the UTF-8 check and the size limit;
//! - [`close`]: close status codes and the Close frame's payload;
//! - [`config`]: the settings, read from environment variables (given).

// The stubs don't use their parameters yet. Delete this line once every
// `todo!()` is gone, and let the compiler point at anything left unused.
#![allow(unused_variables, dead_code)]

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
