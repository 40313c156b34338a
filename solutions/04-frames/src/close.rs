//! The closing handshake's vocabulary: status codes (RFC 6455 §7.4) and
//! the payload of a Close frame (§5.5.1).
//!
//! A Close frame's payload is empty, or a 2-byte status code in network
//! byte order followed by a UTF-8 reason of at most 123 bytes (a control
//! frame carries 125 at most).

use crate::frame::MAX_CONTROL_PAYLOAD;

/// A close status code (§7.4.1). A newtype rather than an enum: the
/// ranges 3000–4999 hold thousands of valid codes that libraries and
/// applications define for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// The purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// The endpoint is going away: a server shutting down, a tab closing.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// The peer broke the protocol: an unmasked frame, a reserved opcode…
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// A kind of message the endpoint cannot take (binary to a text-only app).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// A message whose content does not match its type: invalid UTF-8 in text.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// A message that breaks the application's rules, when no other code fits.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// A message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// The server hit an unexpected condition (a bug, a failed dependency).
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    // ANCHOR: may_be_sent
    /// Whether a Close frame may carry this code on the wire (§7.4.1, §7.4.2
    /// and the IANA registry it set up).
    pub fn may_be_sent(self) -> bool {
        match self.0 {
            // Defined by RFC 6455 (1004 is reserved; 1005 and 1006 "MUST NOT
            // be set as a status code in a Close control frame"), and 1012–1014,
            // registered with IANA since.
            1000..=1003 | 1007..=1014 => true,
            // 3000–3999: registered by libraries and frameworks; 4000–4999:
            // private use by applications.
            3000..=4999 => true,
            // 0–999 are unused; 1015 (TLS failure) may never be sent either;
            // 1016–2999 are kept for future versions of the protocol.
            _ => false,
        }
    }
    // ANCHOR_END: may_be_sent
}

/// A Close frame's payload that breaks §5.5.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    /// A status code is two bytes: one byte is neither "no code" nor a code.
    #[error("the close payload is 1 byte: it must be empty or start with a 2-byte code")]
    OneByte,
    /// A code no endpoint may send (§7.4).
    #[error("close code {0} may not be sent")]
    CodeNotAllowed(u16),
    /// §5.5.1: the reason "is not guaranteed to be human readable", but it
    /// is UTF-8.
    #[error("the close reason is not valid UTF-8")]
    ReasonNotUtf8,
}

impl CloseError {
    /// The status code to close the connection with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            CloseError::ReasonNotUtf8 => CloseCode::INVALID_PAYLOAD,
            CloseError::OneByte | CloseError::CodeNotAllowed(_) => CloseCode::PROTOCOL_ERROR,
        }
    }
}

// ANCHOR: parse
/// Reads a Close frame's payload: no code, or a code and a reason.
pub fn parse(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, CloseError> {
    match payload {
        [] => Ok(None),
        [_] => Err(CloseError::OneByte),
        [high, low, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*high, *low]));
            if !code.may_be_sent() {
                return Err(CloseError::CodeNotAllowed(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| CloseError::ReasonNotUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}
// ANCHOR_END: parse

/// The payload of a Close frame with `code` and as much of `reason` as fits
/// (cut at a character boundary, so it stays valid UTF-8).
pub fn payload(code: CloseCode, reason: &str) -> Vec<u8> {
    let room = MAX_CONTROL_PAYLOAD - 2;
    let mut end = reason.len().min(room);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = code.0.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}
