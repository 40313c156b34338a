//! The codec: bytes ↔ frames (RFC 6455 §5.2), as pure functions.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |    (16 bits if len == 126,    |
//! |N|V|V|V|       |S|             |     64 bits if len == 127)    |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |  … extended payload length    | Masking key (if MASK is set)  |
//! +-------------------------------+-------------------------------+
//! | … masking key                 |         Payload data …        |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! [`decode`] reads one frame a client sent from the front of a buffer;
//! [`encode`] writes one frame the server sends. Neither does I/O, so both
//! can be tested on exact bytes, and the connection that uses them can read
//! the network in whatever pieces it delivers.
//!
//! Decoding answers one of three things, and the types keep them apart:
//! - `Ok(Some((frame, used)))`: a whole frame, which took `used` bytes;
//! - `Ok(None)`: the bytes so far are the start of a frame — read more;
//! - `Err(..)`: the bytes can never become a valid frame — fail the connection.

use crate::close::CloseCode;

/// Byte 0: set on the last (or only) frame of a message.
pub const FIN: u8 = 0b1000_0000;
/// Byte 0: RSV1, RSV2 and RSV3, for extensions (e.g. compression). We
/// negotiate none, so all three must be 0.
pub const RSV: u8 = 0b0111_0000;
/// Byte 0: the opcode, the frame's kind.
pub const OPCODE: u8 = 0b0000_1111;
/// Byte 1: set when a masking key follows the length.
pub const MASK: u8 = 0b1000_0000;
/// Byte 1: the 7-bit payload length, or one of the two markers below.
pub const PAYLOAD_LEN: u8 = 0b0111_1111;
/// A 7-bit length of 126: the real length follows as 16 bits.
pub const LEN_16: u8 = 126;
/// A 7-bit length of 127: the real length follows as 64 bits.
pub const LEN_64: u8 = 127;
/// The largest length the 7-bit field holds by itself.
pub const MAX_LEN_7: usize = 125;
/// RFC 6455 §5.5: "All control frames MUST have a payload length of 125
/// bytes or less".
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// The 64-bit length's most significant bit "MUST be 0" (§5.2).
const LEN_64_MSB: u64 = 1 << 63;
/// The longest header: 2 bytes, 8 of extended length, 4 of masking key.
pub const MAX_HEADER_LEN: usize = 2 + 8 + 4;

/// What a frame is: the 4-bit opcode (RFC 6455 §5.2, §11.8).
///
/// The six values the RFC defines; the other ten are reserved, and
/// [`OpCode::from_bits`] refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// More of the message a Text or Binary frame started.
    Continuation = 0x0,
    /// The first frame of a text message: the payload is UTF-8.
    Text = 0x1,
    /// The first frame of a binary message.
    Binary = 0x2,
    /// The closing handshake (§5.5.1).
    Close = 0x8,
    /// "Are you there?" (§5.5.2); the answer is a Pong with the same payload.
    Ping = 0x9,
    /// The answer to a Ping, or an unsolicited heartbeat (§5.5.3).
    Pong = 0xA,
}

impl OpCode {
    /// The opcode with these 4 bits, unless they are reserved
    /// (0x3–0x7 for data, 0xB–0xF for control frames).
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        match bits {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// Control frames manage the connection: Close, Ping, Pong. Their
    /// opcodes have the high bit set (§5.5).
    pub fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
    }
}

/// One frame, unmasked: the server's view after decoding, or what it is
/// about to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The last frame of its message.
    pub fin: bool,
    pub opcode: OpCode,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A whole message, or a control frame, in one frame.
    pub fn new(opcode: OpCode, payload: impl Into<Vec<u8>>) -> Self {
        Frame { fin: true, opcode, payload: payload.into() }
    }
}

/// Bytes that can never become a valid client frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// §5.1: "The server MUST close the connection upon receiving a frame
    /// that is not masked."
    #[error("the frame is not masked: every frame a client sends must be")]
    Unmasked,
    /// §5.2: RSV bits "MUST be 0 unless an extension is negotiated that
    /// defines meanings for non-zero values".
    #[error("reserved bits are set ({0:#010b}) and no extension was negotiated")]
    ReservedBits(u8),
    /// §5.2: "If an unknown opcode is received, the receiving endpoint MUST
    /// _Fail the WebSocket Connection_."
    #[error("opcode {0:#x} is reserved")]
    ReservedOpcode(u8),
    /// §5.5: control frames "MUST NOT be fragmented".
    #[error("a {0:?} frame without FIN: control frames cannot be fragmented")]
    FragmentedControl(OpCode),
    /// §5.5: control frames carry 125 bytes at most.
    #[error("a {opcode:?} frame of {len} bytes: control frames carry at most 125")]
    ControlTooLong { opcode: OpCode, len: u64 },
    /// §5.2: a 64-bit length whose most significant bit is set.
    #[error("the 64-bit payload length {0:#x} has its most significant bit set")]
    LengthOverflow(u64),
    /// Our own limit: a frame longer than the largest message we accept.
    #[error("a frame of {len} bytes is over the limit of {limit}")]
    TooBig { len: u64, limit: usize },
}

impl FrameError {
    /// The status code to close the connection with (§7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            FrameError::TooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// Decodes the frame a client sent at the front of `buf`.
///
/// `max_payload` is the largest payload accepted: a longer frame is refused
/// as soon as its length is read, before its bytes arrive, so a forged length
/// costs nothing. Returns the frame and how many bytes of `buf` it took;
/// bytes after it are left for the next call.
pub fn decode(buf: &[u8], max_payload: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    todo!(
        "frame::decode (stage 1): decode the client frame at the front of the buffer (book: Decoding and encoding frames)"
    )
}

/// Masks or unmasks `payload` in place with `key` (book: "The mask, and why
/// clients must mask").
pub fn apply_mask(payload: &mut [u8], key: [u8; 4]) {
    todo!(
        "frame::apply_mask (stage 1): mask or unmask the payload with the key (book: The mask, and why clients must mask)"
    )
}

/// Encodes a frame the server sends: never masked (§5.1: "A server MUST NOT
/// mask any frames that it sends to the client"), with the length in the
/// fewest bytes that hold it (§5.2: "the minimal number of bytes MUST be
/// used to encode the length").
pub fn encode(frame: &Frame) -> Vec<u8> {
    todo!(
        "frame::encode (stage 1): the bytes of a frame the server sends (book: Decoding and encoding frames)"
    )
}
