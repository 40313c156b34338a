//! The two frames this server sends after the `101`: a greeting and a close.
//! Book: "After the 101: a greeting and a close".
//!
//! Frames are chapter 4's subject; here they are just bytes to send. A
//! frame from a server starts with two bytes: the first says "this is the
//! final piece of a message" (the top bit, FIN) and what kind of frame it is
//! (the low four bits, the opcode); the second gives the payload's length
//! (under 126 bytes fits in this one byte). The payload follows.

/// The text of the greeting.
pub const GREETING: &str = "Hello from the task board!";

/// The first byte of a text frame that carries a whole message: the FIN
/// bit (`0x80`, "final piece") plus the text opcode (`0x1`).
const TEXT_MESSAGE: u8 = 0x81;
/// The first byte of a close frame: FIN plus the close opcode (`0x8`).
const CLOSE_MESSAGE: u8 = 0x88;

/// The close code for a normal closure: the purpose of the connection was
/// fulfilled (RFC 6455 §7.4.1).
pub const NORMAL_CLOSURE: u16 = 1000;

/// A text frame holding `text`, as a server sends it (not masked).
/// `text` must be shorter than 126 bytes: longer lengths take more bytes,
/// which chapter 4 covers.
pub fn text_frame(text: &str) -> Vec<u8> {
    assert!(text.len() < 126, "a one-byte length holds at most 125");
    let mut frame = vec![TEXT_MESSAGE, text.len() as u8];
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// A close frame with `code` and no reason: `88 02` and the code's two bytes.
pub fn close_frame(code: u16) -> Vec<u8> {
    let mut frame = vec![CLOSE_MESSAGE, 2];
    frame.extend_from_slice(&code.to_be_bytes());
    frame
}
