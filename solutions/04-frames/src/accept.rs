//! The key and its answer: `Sec-WebSocket-Key` → `Sec-WebSocket-Accept`.
//! Book: "Computing Sec-WebSocket-Accept".

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 fixes for every handshake. No server that doesn't know
/// WebSocket would ever append it, so a correct accept value proves the
/// server read the handshake *as WebSocket*.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ANCHOR: accept_key
/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
///
/// RFC 6455 §4.2.2: "concatenate … the value of the |Sec-WebSocket-Key|
/// header field … with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
/// take the SHA-1 hash of this concatenated value to obtain a 20-byte value
/// and base64-encode … this 20-byte hash". The key is used *as text*, just
/// as it arrived; it is never decoded.
///
/// ```text
/// accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// ```
pub fn accept_key(key: &str) -> String {
    let digest = Sha1::new().chain_update(key.as_bytes()).chain_update(GUID.as_bytes()).finalize();
    STANDARD.encode(digest)
}
// ANCHOR_END: accept_key

/// Whether `key` is a valid `Sec-WebSocket-Key`.
///
/// RFC 6455 §4.2.1: "a |Sec-WebSocket-Key| header field with a
/// base64-encoded value that, when decoded, is 16 bytes in length."
pub fn is_valid_key(key: &str) -> bool {
    STANDARD.decode(key).is_ok_and(|nonce| nonce.len() == 16)
}
