//! Messages from frames: fragmentation (RFC 6455 §5.4) and UTF-8 (§8.1).
//!
//! A message is one Text or Binary frame with FIN set, or a Text or Binary
//! frame without FIN followed by Continuation frames, the last with FIN.
//! Control frames may come between the fragments; they never reach the
//! [`Assembler`], which only sees data frames.

use crate::close::CloseCode;
use crate::frame::{Frame, OpCode};

/// A whole message, as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: valid UTF-8, checked.
    Text(String),
    Binary(Vec<u8>),
}

/// Data frames that can never make a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// §5.4: a Continuation frame with no unfinished message to continue.
    #[error("a continuation frame, but no message is unfinished")]
    NothingToContinue,
    /// §5.4: "the fragments of one message MUST NOT be interleaved between
    /// the fragments of another message".
    #[error("a new {0:?} message started before the previous one was finished")]
    UnfinishedMessage(OpCode),
    /// §8.1: a text message that is not UTF-8 "MUST _Fail the WebSocket
    /// Connection_".
    #[error("the text message is not valid UTF-8")]
    InvalidUtf8,
    /// Our own limit, counted over all the fragments of a message.
    #[error("the message is over the limit of {limit} bytes")]
    TooBig { limit: usize },
}

impl MessageError {
    /// The status code to close the connection with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            MessageError::NothingToContinue | MessageError::UnfinishedMessage(_) => CloseCode::PROTOCOL_ERROR,
            MessageError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            MessageError::TooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
        }
    }
}

/// Joins data frames into messages, one connection's worth.
#[derive(Debug)]
pub struct Assembler {
    /// The largest message accepted, in bytes, all fragments together.
    max_message_bytes: usize,
    /// The message whose first fragments have arrived, but not its last.
    unfinished: Option<Unfinished>,
}

/// A message still arriving.
#[derive(Debug)]
struct Unfinished {
    /// `Text` or `Binary`: what the first fragment said.
    opcode: OpCode,
    bytes: Vec<u8>,
    // Add what else you need to remember between fragments.
}

impl Assembler {
    pub fn new(max_message_bytes: usize) -> Self {
        Assembler { max_message_bytes, unfinished: None }
    }

    /// Takes the next data frame. Returns the message it completes, or
    /// `None` while the message is unfinished (book: "Fragmentation" and
    /// "UTF-8 across fragments").
    pub fn push(&mut self, frame: Frame) -> Result<Option<Message>, MessageError> {
        todo!(
            "Assembler::push (stage 3): join fragments into messages, refusing what can never make one \
             (book: Fragmentation)"
        )
    }
}
