//! What the echo server does with each frame, without any I/O: the
//! protocol's decisions in one place, where they are easy to read and test.
//!
//! - Text and Binary (and their Continuations) → the [`Assembler`]; each
//!   whole message is echoed back as one frame.
//! - Ping → a Pong with the same payload (§5.5.2: "Upon receipt of a Ping
//!   frame, an endpoint MUST send a Pong frame in response"; §5.5.3: with
//!   "identical "Application data"").
//! - Pong → nothing (§5.5.3: "A response to an unsolicited Pong frame is
//!   not expected.").
//! - Close → a Close back, then the connection ends (§5.5.1).

use crate::close::{CloseCode, CloseError};
use crate::frame::{Frame, FrameError, OpCode};
use crate::message::{Assembler, MessageError};

/// What to do after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing to send (an unsolicited Pong, a fragment of a message).
    Nothing,
    /// Send this frame and carry on.
    Send(Frame),
    /// Send this Close frame and end the connection: the closing handshake.
    Close(Frame),
}

/// Anything a client can do wrong, with the close code each one earns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Close(#[from] CloseError),
}

impl Violation {
    /// §7.4.1: 1002 for protocol errors, 1007 for invalid UTF-8, 1009 for
    /// a message over the limit.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Violation::Frame(e) => e.close_code(),
            Violation::Message(e) => e.close_code(),
            Violation::Close(e) => e.close_code(),
        }
    }
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Session {
    assembler: Assembler,
}

impl Session {
    pub fn new(max_message_bytes: usize) -> Self {
        Session { assembler: Assembler::new(max_message_bytes) }
    }

    /// Decides what to do with the next frame the client sent.
    pub fn on_frame(&mut self, frame: Frame) -> Result<Reply, Violation> {
        match frame.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                todo!(
                    "Session::on_frame (stage 2): echo every message back whole (book: An echo server at /ws)"
                )
            }
            OpCode::Ping | OpCode::Pong => {
                todo!(
                    "Session::on_frame (stage 3): answer pings, ignore pongs (book: Control frames: ping and pong)"
                )
            }
            OpCode::Close => {
                todo!("Session::on_frame (stage 4): answer a close with a close (book: The close handshake)")
            }
        }
    }
}
