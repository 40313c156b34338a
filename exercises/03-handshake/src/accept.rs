//! The key and its answer: `Sec-WebSocket-Key` → `Sec-WebSocket-Accept`.
//! Book: "Computing Sec-WebSocket-Accept".

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 fixes for every handshake. No server that doesn't know
/// WebSocket would ever append it, so a correct accept value proves the
/// server read the handshake *as WebSocket*.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`
/// (book: "Computing Sec-WebSocket-Accept").
///
/// ```text
/// accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// ```
pub fn accept_key(key: &str) -> String {
    todo!(
        "accept_key: return the Sec-WebSocket-Accept value for this key (book: Computing Sec-WebSocket-Accept)"
    )
}

/// Whether `key` is a valid `Sec-WebSocket-Key`, as RFC 6455 §4.2.1 defines
/// one (book: "Saying no with the right status").
pub fn is_valid_key(key: &str) -> bool {
    todo!("is_valid_key: say whether the key is one RFC 6455 accepts (book: Saying no with the right status)")
}
