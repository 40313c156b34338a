//! The key and its answer: `Sec-WebSocket-Key` → `Sec-WebSocket-Accept`.
//! Book: "Computing Sec-WebSocket-Accept".

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 fixes for every handshake. No server that doesn't know
/// WebSocket would ever append it, so a correct accept value proves the
/// server read the handshake *as WebSocket*.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
/// append [`GUID`] to the key *as text*, take the SHA-1 of that, and
/// base64-encode the 20 bytes of the digest.
///
/// ```text
/// accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// ```
pub fn accept_key(key: &str) -> String {
    // TODO: `Sha1::new().chain_update(…)…finalize()`, then `STANDARD.encode(…)`.
    todo!("accept_key: SHA-1 the key followed by the GUID, and base64 the 20-byte digest")
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 that decodes to
/// exactly 16 bytes (RFC 6455 §4.2.1).
pub fn is_valid_key(key: &str) -> bool {
    // TODO: `STANDARD.decode(key)`, then check the length.
    todo!("is_valid_key: decode the key as base64 and require 16 bytes")
}
