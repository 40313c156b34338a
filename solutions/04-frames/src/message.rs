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
    /// Connection_". Found as soon as the fragment holding the bad bytes
    /// arrives, not when the message ends.
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
    /// For text: how many of `bytes` are known to be whole, valid UTF-8.
    /// The rest, at most 3 bytes, is the start of a character whose other
    /// bytes are still to come in the next fragment.
    checked: usize,
}

impl Assembler {
    pub fn new(max_message_bytes: usize) -> Self {
        Assembler { max_message_bytes, unfinished: None }
    }

    // ANCHOR: push
    /// Takes the next data frame. Returns the message it completes, or
    /// `None` while the message is unfinished.
    pub fn push(&mut self, frame: Frame) -> Result<Option<Message>, MessageError> {
        let mut message = match (frame.opcode, self.unfinished.take()) {
            (OpCode::Continuation, Some(unfinished)) => unfinished,
            (OpCode::Continuation, None) => return Err(MessageError::NothingToContinue),
            (opcode, Some(_)) => return Err(MessageError::UnfinishedMessage(opcode)),
            (opcode, None) => Unfinished { opcode, bytes: Vec::new(), checked: 0 },
        };
        if message.bytes.len() + frame.payload.len() > self.max_message_bytes {
            return Err(MessageError::TooBig { limit: self.max_message_bytes });
        }
        message.bytes.extend_from_slice(&frame.payload);
        if message.opcode == OpCode::Text {
            message.checked = check_utf8(&message.bytes, message.checked, frame.fin)?;
        }
        if !frame.fin {
            self.unfinished = Some(message);
            return Ok(None);
        }
        Ok(Some(match message.opcode {
            OpCode::Text => Message::Text(
                String::from_utf8(message.bytes).expect("every fragment was checked on arrival"),
            ),
            _ => Message::Binary(message.bytes),
        }))
    }
    // ANCHOR_END: push
}

// ANCHOR: check_utf8
/// Checks the text of a message as its fragments arrive ("fail fast"):
/// `bytes[..checked]` is already known to be valid, so only what follows is
/// read, and the answer is how much of `bytes` is valid now.
///
/// A fragment may end inside a character (`κ` is `ce ba`; `ce` can end one
/// fragment and `ba` start the next), so an incomplete character at the
/// very end is allowed until the last fragment. Anything else that is not
/// UTF-8 can never become valid, whatever follows: it fails the message at
/// once. `from_utf8`'s error tells the two apart: `error_len()` is `None`
/// exactly when the bytes stop in the middle of a character that could
/// still be completed.
fn check_utf8(bytes: &[u8], checked: usize, fin: bool) -> Result<usize, MessageError> {
    match std::str::from_utf8(&bytes[checked..]) {
        Ok(_) => Ok(bytes.len()),
        Err(error) if error.error_len().is_none() && !fin => Ok(checked + error.valid_up_to()),
        Err(_) => Err(MessageError::InvalidUtf8),
    }
}
// ANCHOR_END: check_utf8
