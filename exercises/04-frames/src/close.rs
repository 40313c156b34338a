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

    /// Whether a Close frame may carry this code on the wire (book: "Status
    /// codes").
    pub fn may_be_sent(self) -> bool {
        todo!(
            "CloseCode::may_be_sent (stage 4): say whether an endpoint may send this code (book: Status codes)"
        )
    }
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

/// Reads a Close frame's payload: no code, or a code and a reason.
pub fn parse(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, CloseError> {
    todo!(
        "close::parse (stage 4): read a Close frame's code and reason, or say what is wrong (book: Status codes)"
    )
}

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
