//! Is this request a WebSocket opening handshake? Book: "Answering 101
//! Switching Protocols" through "Saying no with the right status".
//!
//! RFC 6455 §4.2.1 lists what a server reads in a handshake; §4.2.2 says how
//! to refuse. The checks run in a fixed order, so that each request gets the
//! most useful refusal: first *where* (404), then *how* (405), then whether
//! it asks for WebSocket at all (426), then the details (400, 426).

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

// ANCHOR: validate
/// Checks a request against RFC 6455 §4.2.1 and returns the
/// `Sec-WebSocket-Accept` value for its `101`, or why it gets none.
pub fn validate(request: &Request) -> Result<String, Rejection> {
    // "An HTTP/1.1 or higher GET request" (RFC 6455 §4.2.1). And RFC 9110
    // §7.8: "A server that receives an Upgrade header field in an HTTP/1.0
    // request MUST ignore that Upgrade field."
    if request.version < 1 {
        return Err(Rejection::BadRequest("the WebSocket handshake needs HTTP/1.1"));
    }
    // The path without its query: `/ws?room=1` is `/ws` too.
    if request.path() != PATH {
        return Err(Rejection::NotFound(request.path().to_owned()));
    }
    if request.method != "GET" {
        return Err(Rejection::MethodNotAllowed(request.method.clone()));
    }
    // "A |Host| header field containing the server's authority."
    if request.header("Host").is_none_or(str::is_empty) {
        return Err(Rejection::BadRequest("the request has no Host header"));
    }
    // "An |Upgrade| header field containing the value "websocket"". Without
    // it, this is a plain GET of a resource served only over WebSocket: the
    // client can retry with an upgrade, so 426 says how.
    if !request.has_token("Upgrade", "websocket") {
        return Err(Rejection::UpgradeRequired);
    }
    // "A |Connection| header field that includes the token "Upgrade"".
    if !request.has_token("Connection", "Upgrade") {
        return Err(Rejection::BadRequest("Upgrade: websocket needs the token Upgrade in Connection"));
    }
    // "A |Sec-WebSocket-Version| header field, with a value of 13." §4.2.2:
    // otherwise the server MUST answer "an appropriate HTTP error code (such
    // as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field
    // indicating the version(s) the server is capable of understanding."
    if request.header("Sec-WebSocket-Version") != Some(VERSION) {
        return Err(Rejection::UpgradeRequired);
    }
    // "A |Sec-WebSocket-Key| header field with a base64-encoded value that,
    // when decoded, is 16 bytes in length."
    match request.header("Sec-WebSocket-Key") {
        Some(key) if is_valid_key(key) => Ok(accept_key(key)),
        Some(_) => Err(Rejection::BadRequest("Sec-WebSocket-Key must be 16 bytes, base64-encoded")),
        None => Err(Rejection::BadRequest("the handshake has no Sec-WebSocket-Key")),
    }
}
// ANCHOR_END: validate
