//! Is this request a WebSocket opening handshake? Book: "Answering 101
//! Switching Protocols" through "Saying no with the right status".

use crate::accept::{accept_key, is_valid_key};
use crate::request::Request;

/// The one endpoint that speaks WebSocket.
pub const PATH: &str = "/ws";

/// The protocol version this server speaks; RFC 6455 fixes it at 13.
pub const VERSION: &str = "13";

/// Why a request gets an HTTP answer instead of a `101`. The message is the
/// answer's body, for whoever reads it in curl or the Network tab.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// `404 Not Found`: nothing but [`PATH`] is served.
    #[error("there is nothing at {0}: the WebSocket endpoint is /ws")]
    NotFound(String),
    /// `405 Method Not Allowed`: the handshake is a GET.
    #[error("{0} is not allowed here: a WebSocket handshake is a GET")]
    MethodNotAllowed(String),
    /// `426 Upgrade Required`: no WebSocket upgrade was asked for, or not in
    /// a version this server speaks.
    #[error("/ws speaks WebSocket, version 13: send Upgrade: websocket and Sec-WebSocket-Version: 13")]
    UpgradeRequired,
    /// `400 Bad Request`: the request or the handshake is malformed.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// `431 Request Header Fields Too Large`.
    #[error("the request head is over 8 KiB")]
    HeadTooLarge,
}

/// Checks a request against RFC 6455 §4.2.1 and returns the
/// `Sec-WebSocket-Accept` value for its `101`, or why it gets none (book:
/// "Saying no with the right status").
pub fn validate(request: &Request) -> Result<String, Rejection> {
    todo!(
        "validate: return the accept value of a valid handshake, or the Rejection the book's table \
         gives it (book: Saying no with the right status)"
    )
}
