//! WebSocket frames as the checks build and read them, and a raw client
//! that speaks them over TCP.
//!
//! Chapter 4's learner writes the frame codec, so the checks cannot lean on
//! a library that would refuse to send a broken frame or hide what came
//! back. This module is the checks' own small implementation of RFC 6455
//! §5.2, written for clarity, not speed:
//!
//! - [`Outgoing`]: a frame to send, any frame at all: masked or not, with
//!   reserved bits or opcodes, fragmented or whole;
//! - [`parse_server_frame`]: one frame from the server, with everything a
//!   server can get wrong in it (a mask, a non-minimal length) kept for the
//!   check to judge;
//! - [`FrameClient`]: a TCP connection that does the opening handshake,
//!   then sends and reads frames, and keeps the conversation as a
//!   transcript a learner can read:
//!
//! ```text
//! → text "Hel" (FIN=0)
//! → ping "are you there?"
//! → continuation "lo" (FIN=1)
//! ← pong "are you there?"
//! ← text "Hello"
//! → close 1000
//! ← close 1000
//! (the server closed the TCP connection)
//! ```
//!
//! Every wait is bounded by [`ANSWER_TIMEOUT`]; nothing sleeps.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Failure;
use crate::http::ANSWER_TIMEOUT;

/// Byte 0: FIN.
pub const FIN: u8 = 0b1000_0000;
/// Byte 0: RSV1, RSV2, RSV3.
pub const RSV: u8 = 0b0111_0000;
/// Byte 0: the opcode.
pub const OPCODE: u8 = 0b0000_1111;
/// Byte 1: MASK.
pub const MASK: u8 = 0b1000_0000;
/// Byte 1: the 7-bit length.
pub const LEN7: u8 = 0b0111_1111;

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The key the checks' handshakes send, and the accept value RFC 6455 §1.3
/// derives from it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A response head longer than this is not one this course sends.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Characters of a payload shown in a transcript line.
const SHOWN_CHARS: usize = 60;
/// Bytes of a binary payload shown in a transcript line.
const SHOWN_BYTES: usize = 16;

/// A frame, unmasked, as a codec sees it: what chapter 4's learner's
/// `decode` returns and `encode` takes, whatever their own types are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    /// The 4-bit opcode: [`TEXT`], [`PING`]…
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// A frame with FIN set.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        RawFrame { fin: true, opcode, payload: payload.into() }
    }

    /// One transcript line's worth: `text "Hello"`, `binary 65536 bytes: 00 01 …`.
    pub fn describe(&self) -> String {
        let mut out = describe_payload(self.opcode, &self.payload);
        if !self.fin {
            out += " (FIN=0)";
        } else if self.opcode == CONTINUATION {
            out += " (FIN=1)";
        }
        out
    }
}

/// The name of an opcode, as the RFC says it.
pub fn opcode_name(opcode: u8) -> String {
    match opcode {
        CONTINUATION => "continuation".into(),
        TEXT => "text".into(),
        BINARY => "binary".into(),
        CLOSE => "close".into(),
        PING => "ping".into(),
        PONG => "pong".into(),
        other => format!("opcode {other:#x}"),
    }
}

/// `text "Hello"`, `close 1000 "bye"`, `binary 3 bytes: 00 01 02`.
pub fn describe_payload(opcode: u8, payload: &[u8]) -> String {
    let name = opcode_name(opcode);
    match opcode {
        CLOSE => match payload {
            [] => format!("{name} (no code)"),
            [one] => format!("{name} with a 1-byte payload {one:02x}"),
            [high, low, reason @ ..] => {
                let code = u16::from_be_bytes([*high, *low]);
                if reason.is_empty() {
                    format!("{name} {code}")
                } else {
                    format!("{name} {code} {}", show_text(reason))
                }
            }
        },
        _ if payload.is_empty() => format!("{name} (empty)"),
        TEXT | CONTINUATION | PING | PONG if std::str::from_utf8(payload).is_ok() => {
            format!("{name} {}", show_text(payload))
        }
        _ => format!("{name} {}", show_bytes(payload)),
    }
}

/// UTF-8 as a quoted string, cut short when long; other bytes as hex.
fn show_text(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else { return show_bytes(bytes) };
    let chars = text.chars().count();
    if chars <= SHOWN_CHARS {
        format!("{text:?}")
    } else {
        let start: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{start:?}… ({} bytes)", bytes.len())
    }
}

/// `3 bytes: 00 01 02`, cut short when long.
pub fn show_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "0 bytes".to_owned();
    }
    let hex: Vec<String> = bytes.iter().take(SHOWN_BYTES).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > SHOWN_BYTES { " …" } else { "" };
    format!("{} bytes: {}{more}", bytes.len(), hex.join(" "))
}

// ---------------------------------------------------------------------------
// Building frames

/// A frame for the check to send, with every bit under its control.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub frame: RawFrame,
    /// RSV1–3 as they sit in byte 0 (`0b0100_0000` is RSV1).
    pub rsv: u8,
    pub mask: Mask,
}

/// How an [`Outgoing`] frame is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// With a key of the client's choosing, fresh for every frame.
    Fresh,
    /// With this key.
    Key([u8; 4]),
    /// Not at all, which RFC 6455 forbids a client.
    Unmasked,
}

impl Outgoing {
    /// A masked frame with FIN set, as a well-behaved client sends it.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Outgoing { frame: RawFrame::new(opcode, payload), rsv: 0, mask: Mask::Fresh }
    }

    pub fn text(text: &str) -> Self {
        Outgoing::new(TEXT, text)
    }

    pub fn binary(bytes: impl Into<Vec<u8>>) -> Self {
        Outgoing::new(BINARY, bytes)
    }

    pub fn close(code: u16, reason: &[u8]) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        Outgoing::new(CLOSE, payload)
    }

    /// Replaces the payload: for text frames whose bytes are not UTF-8.
    pub fn with_payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.frame.payload = payload.into();
        self
    }

    /// Sets FIN.
    pub fn fin(mut self, fin: bool) -> Self {
        self.frame.fin = fin;
        self
    }

    /// Sets the reserved bits (already in place: `0b0100_0000` is RSV1).
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// Masks with this key.
    pub fn mask(mut self, key: [u8; 4]) -> Self {
        self.mask = Mask::Key(key);
        self
    }

    /// Sends the payload in the clear, which RFC 6455 forbids a client.
    pub fn unmasked(mut self) -> Self {
        self.mask = Mask::Unmasked;
        self
    }

    /// The frame on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let RawFrame { fin, opcode, payload } = &self.frame;
        let mut out = vec![if *fin { FIN } else { 0 } | self.rsv | opcode];
        let key = match self.mask {
            Mask::Fresh => Some(mask_key(0)),
            Mask::Key(key) => Some(key),
            Mask::Unmasked => None,
        };
        let mask_bit = if key.is_some() { MASK } else { 0 };
        out.extend(length_bytes(payload.len() as u64, mask_bit));
        match key {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    /// One transcript line: `text "Hello" (FIN=0)`, plus what is odd about it.
    pub fn describe(&self) -> String {
        let mut out = self.frame.describe();
        if self.rsv != 0 {
            out += &format!(" with RSV bits {:03b}", self.rsv >> 4);
        }
        if self.mask == Mask::Unmasked {
            out += " NOT MASKED";
        }
        out
    }
}

/// Byte 1 (with `mask_bit`) and the extended length, in the fewest bytes.
pub fn length_bytes(len: u64, mask_bit: u8) -> Vec<u8> {
    if len <= 125 {
        vec![mask_bit | len as u8]
    } else if let Ok(len) = u16::try_from(len) {
        let mut out = vec![mask_bit | 126];
        out.extend_from_slice(&len.to_be_bytes());
        out
    } else {
        let mut out = vec![mask_bit | 127];
        out.extend_from_slice(&len.to_be_bytes());
        out
    }
}

/// A masking key that differs from frame to frame and is never all zeros
/// (with zeros, masking would change nothing and hide a missing unmask).
pub fn mask_key(n: u32) -> [u8; 4] {
    let x = n.wrapping_mul(0x9E37_79B9) ^ 0x5A3C_96E1;
    let mut key = x.to_be_bytes();
    for byte in &mut key {
        if *byte == 0 {
            *byte = 0xA5;
        }
    }
    key
}

/// A frame of `opcode` as a server sends it: unmasked, minimal length.
pub fn server_frame_bytes(frame: &RawFrame) -> Vec<u8> {
    let mut out = vec![if frame.fin { FIN } else { 0 } | frame.opcode];
    out.extend(length_bytes(frame.payload.len() as u64, 0));
    out.extend_from_slice(&frame.payload);
    out
}

/// `len` bytes of text: ASCII and multi-byte characters, exactly `len`
/// bytes of valid UTF-8.
pub fn text_of_len(len: usize) -> String {
    const PIECES: [&str; 6] = ["Grüße", ", ", "世界", " 🚀 ", "task board", " ✓ "];
    let mut text = String::with_capacity(len);
    let mut i = 0;
    while text.len() < len {
        let piece = PIECES[i % PIECES.len()];
        let room = len - text.len();
        if piece.len() <= room {
            text.push_str(piece);
        } else {
            text.extend(std::iter::repeat_n('.', room));
        }
        i += 1;
    }
    text
}

/// `len` bytes covering every byte value, not valid UTF-8.
pub fn bytes_of_len(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8 ^ (i >> 8) as u8).collect()
}

// ---------------------------------------------------------------------------
// Reading frames from a server

/// One frame from the server, with everything about its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub frame: RawFrame,
    pub rsv: u8,
    pub masked: bool,
    /// The length was sent in more bytes than it needs.
    pub non_minimal_length: bool,
    /// The whole frame as it came.
    pub len_on_wire: usize,
}

/// Parses a server's frame at the front of `buf`: `Ok(None)` until all of
/// it is there. Everything is accepted; the caller judges.
pub fn parse_server_frame(buf: &[u8]) -> Option<ServerFrame> {
    let [b0, b1, ..] = *buf else { return None };
    let masked = b1 & MASK != 0;
    let (len, mut at, non_minimal_length) = match b1 & LEN7 {
        126 => {
            let bytes = buf.get(2..4)?;
            let len = u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
            (len, 4, len <= 125)
        }
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            let len = u64::from_be_bytes(bytes);
            (len, 10, len <= 0xFFFF)
        }
        short => (u64::from(short), 2, false),
    };
    let key = if masked {
        let key: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let len = usize::try_from(len).ok()?;
    let mut payload = buf.get(at..at.checked_add(len)?)?.to_vec();
    if let Some(key) = key {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }
    Some(ServerFrame {
        frame: RawFrame { fin: b0 & FIN != 0, opcode: b0 & OPCODE, payload },
        rsv: b0 & RSV,
        masked,
        non_minimal_length,
        len_on_wire: at + len,
    })
}

// ---------------------------------------------------------------------------
// The client

/// A line of the conversation.
#[derive(Debug, Clone)]
enum Line {
    Sent(String),
    Received(String),
    Note(String),
}

/// A TCP connection that did the opening handshake and now speaks frames,
/// keeping the conversation for failures.
#[derive(Debug)]
pub struct FrameClient {
    stream: TcpStream,
    /// Bytes received and not yet read as a frame.
    unread: Vec<u8>,
    log: Vec<Line>,
    /// Frames sent so far, for the masking keys.
    sent: u32,
}

impl FrameClient {
    /// Connects to `addr` and does the opening handshake on `/ws`.
    pub async fn open(addr: SocketAddr) -> Result<Self, Failure> {
        let stream = match timeout(ANSWER_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Failure::no_answer(format!("could not connect to {addr}: {e}"))),
            Err(_) => return Err(Failure::no_answer(format!("could not connect to {addr} in time"))),
        };
        // Small writes leave at once: a frame sent byte by byte arrives so.
        let _ = stream.set_nodelay(true);
        let mut client = FrameClient { stream, unread: Vec::new(), log: Vec::new(), sent: 0 };
        client.handshake(addr).await?;
        Ok(client)
    }

    async fn handshake(&mut self, addr: SocketAddr) -> Result<(), Failure> {
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        self.log.push(Line::Sent(format!("GET /ws HTTP/1.1 (the opening handshake, key {KEY})")));
        let written = timeout(ANSWER_TIMEOUT, self.stream.write_all(request.as_bytes())).await;
        if !matches!(written, Ok(Ok(()))) {
            return Err(self.no_answer("could not send the opening handshake"));
        }
        let head = loop {
            if let Some(end) = self.unread.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.unread.drain(..end + 4).collect();
                break String::from_utf8_lossy(&head).into_owned();
            }
            if self.unread.len() > MAX_HEAD_BYTES {
                return Err(self.fail_handshake("the answer to the handshake never ends", ""));
            }
            if let Err(why) = self.fill().await {
                let failure = self.fail_handshake(&format!("no answer to the opening handshake: {why}"), "");
                return Err(Failure { no_answer: true, ..failure });
            }
        };
        let status_line = head.lines().next().unwrap_or_default().to_owned();
        self.log.push(Line::Received(status_line.clone()));
        let accepted = head.lines().any(|line| {
            line.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == ACCEPT
            })
        });
        if !status_line.starts_with("HTTP/1.1 101") || !accepted {
            return Err(self.fail_handshake("the opening handshake was not accepted", &head));
        }
        Ok(())
    }

    fn fail_handshake(&self, headline: &str, head: &str) -> Failure {
        let failure = self.fail(
            headline,
            "101 Switching Protocols with the right Sec-WebSocket-Accept. The starter ships chapter 3's \
             handshake solved (src/upgrade.rs and the modules it uses): put it back if it was changed",
        );
        if head.is_empty() { failure } else { failure.got(head.trim_end().to_owned()) }
    }

    // -- sending -------------------------------------------------------------

    /// Sends one frame, in one write. A well-behaved frame gets a fresh
    /// masking key.
    pub async fn send(&mut self, frame: Outgoing) -> Result<(), Failure> {
        self.send_all(vec![frame]).await
    }

    /// Sends frames in a single write: the server may read them all at once.
    pub async fn send_all(&mut self, frames: Vec<Outgoing>) -> Result<(), Failure> {
        let mut bytes = Vec::new();
        let count = frames.len();
        for frame in frames {
            let frame = self.keyed(frame);
            self.log.push(Line::Sent(frame.describe()));
            bytes.extend(frame.to_bytes());
        }
        if count > 1 {
            self.log.push(Line::Note(format!("(the {count} frames above went out in a single write)")));
        }
        self.write(&bytes).await
    }

    /// Sends one frame one byte per write.
    pub async fn send_byte_by_byte(&mut self, frame: Outgoing) -> Result<(), Failure> {
        let frame = self.keyed(frame);
        self.log.push(Line::Sent(frame.describe()));
        self.log.push(Line::Note("(sent one byte per write)".into()));
        for byte in frame.to_bytes() {
            self.write(&[byte]).await?;
        }
        Ok(())
    }

    /// Sends bytes as they are, described for the transcript as `what`.
    pub async fn send_bytes(&mut self, bytes: &[u8], what: &str) -> Result<(), Failure> {
        self.log.push(Line::Sent(what.to_owned()));
        self.write(bytes).await
    }

    /// Gives a masked frame its own key, so that no two frames share one.
    fn keyed(&mut self, mut frame: Outgoing) -> Outgoing {
        self.sent += 1;
        if frame.mask == Mask::Fresh {
            frame.mask = Mask::Key(mask_key(self.sent));
        }
        frame
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout(ANSWER_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.note(format!("(the connection broke while sending: {e})"));
                Err(self.fail(
                    format!("the connection broke while the check was sending ({e})"),
                    "the server keeps reading until the client is done",
                ))
            }
            Err(_) => {
                self.note("(sending stalled: the server stopped reading)");
                Err(self.fail(
                    "sending stalled: the server stopped reading",
                    "the server keeps reading until the client is done",
                ))
            }
        }
    }

    // -- reading -------------------------------------------------------------

    /// Reads more bytes, or says why none came.
    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = vec![0u8; 64 * 1024];
        match timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => Err("the server closed the TCP connection".into()),
            Ok(Ok(n)) => {
                self.unread.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("the connection broke ({e})")),
            Err(_) => Err(format!("nothing came within {} s", ANSWER_TIMEOUT.as_secs())),
        }
    }

    /// The next frame from the server, which must follow the rules for
    /// server frames: not masked, no reserved bits, minimal length. `expected`
    /// says what the check is waiting for, for the failure.
    pub async fn read_frame(&mut self, expected: &str) -> Result<RawFrame, Failure> {
        let parsed = loop {
            if let Some(parsed) = parse_server_frame(&self.unread) {
                self.unread.drain(..parsed.len_on_wire);
                break parsed;
            }
            if let Err(why) = self.fill().await {
                self.note(format!("({why})"));
                if !self.unread.is_empty() {
                    let partial = show_bytes(&self.unread);
                    self.note(format!("(received the start of a frame that never finished: {partial})"));
                }
                return Err(self.fail(format!("waiting for a frame: {why}"), expected));
            }
        };
        self.log.push(Line::Received(parsed.frame.describe()));
        let expected_server = "frames from the server are never masked, have RSV1–3 clear and give the \
                               length in the fewest bytes (RFC 6455 §5.1, §5.2)";
        if parsed.masked {
            return Err(self.fail("the server masked a frame: servers must not", expected_server));
        }
        if parsed.rsv != 0 {
            return Err(self.fail("the server set reserved bits in a frame", expected_server));
        }
        if parsed.non_minimal_length {
            return Err(self.fail(
                format!(
                    "the server sent a length of {} in more bytes than it needs",
                    parsed.frame.payload.len()
                ),
                "0–125 in the 7-bit field, 126–65535 after a 126, more after a 127",
            ));
        }
        Ok(parsed.frame)
    }

    /// Reads a whole message (a data frame, and continuations if the server
    /// fragments its reply) and requires it to be `opcode` with exactly
    /// `payload`.
    pub async fn expect_message(
        &mut self,
        opcode: u8,
        payload: &[u8],
        expected: &str,
    ) -> Result<(), Failure> {
        let first = self.read_frame(expected).await?;
        if first.opcode != opcode {
            // A close says why the server gave up: put its code in the headline.
            let came = if first.opcode == CLOSE {
                describe_payload(CLOSE, &first.payload)
            } else {
                format!("a {} frame", opcode_name(first.opcode))
            };
            return Err(
                self.fail(format!("{came} came where the {} message was due", opcode_name(opcode)), expected)
            );
        }
        let mut got = first.payload;
        let mut fin = first.fin;
        while !fin {
            let next = self.read_frame(expected).await?;
            if next.opcode != CONTINUATION {
                return Err(self.fail(
                    format!(
                        "the server's message was unfinished (FIN=0), then a {} frame came",
                        opcode_name(next.opcode)
                    ),
                    "the rest of the message, in continuation frames",
                ));
            }
            got.extend_from_slice(&next.payload);
            fin = next.fin;
        }
        if got != payload {
            return Err(self.fail(differ(payload, &got), expected));
        }
        Ok(())
    }

    /// The next frame must be a pong with exactly `payload`.
    pub async fn expect_pong(&mut self, payload: &[u8], expected: &str) -> Result<(), Failure> {
        let frame = self.read_frame(expected).await?;
        if frame.opcode != PONG {
            return Err(
                self.fail(format!("a {} frame came instead of a pong", opcode_name(frame.opcode)), expected)
            );
        }
        if frame.payload != payload {
            return Err(self.fail(
                format!("the pong does not carry the ping's payload: {}", differ(payload, &frame.payload)),
                expected,
            ));
        }
        Ok(())
    }

    /// The next frame must be a close with `code`, and then the server must
    /// close TCP. `why` says why that code ("an unmasked frame is a protocol
    /// error").
    pub async fn expect_close(&mut self, code: u16, why: &str) -> Result<(), Failure> {
        let expected = format!("a close frame with code {code} ({why}), then the server closes TCP");
        let frame = self.read_frame(&expected).await.map_err(|failure| {
            if failure.headline.contains("closed the TCP connection") {
                let headline =
                    format!("the server closed TCP without the close frame with code {code} that says why");
                Failure { headline, ..failure }
            } else {
                failure
            }
        })?;
        self.expect_close_frame(frame, code, &expected).await
    }

    /// `frame`, already read, must be a close with `code`, and then the
    /// server must close TCP.
    pub async fn expect_close_frame(
        &mut self,
        frame: RawFrame,
        code: u16,
        expected: &str,
    ) -> Result<(), Failure> {
        if frame.opcode != CLOSE {
            let headline =
                format!("a {} frame came where the close frame was due", opcode_name(frame.opcode));
            return Err(self.fail(headline, expected));
        }
        match frame.payload.as_slice() {
            [high, low, reason @ ..] if u16::from_be_bytes([*high, *low]) == code => {
                if std::str::from_utf8(reason).is_err() {
                    return Err(self.fail("the close frame's reason is not valid UTF-8", expected));
                }
            }
            [high, low, ..] => {
                let got = u16::from_be_bytes([*high, *low]);
                return Err(self.fail(format!("the close code is {got}, not {code}"), expected));
            }
            _ => return Err(self.fail(format!("the close frame carries no code; {code} was due"), expected)),
        }
        self.expect_tcp_end(expected).await
    }

    /// The server must close the TCP connection next, sending nothing more.
    pub async fn expect_tcp_end(&mut self, expected: &str) -> Result<(), Failure> {
        loop {
            if let Some(parsed) = parse_server_frame(&self.unread) {
                self.unread.drain(..parsed.len_on_wire);
                self.log.push(Line::Received(parsed.frame.describe()));
                return Err(self.fail("the server sent more after its close frame", expected));
            }
            let mut chunk = [0u8; 4096];
            match timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => self.unread.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) if is_reset(&e) => break,
                Ok(Err(e)) => {
                    self.note(format!("(the connection broke: {e})"));
                    return Err(self.fail(format!("the connection broke instead of closing ({e})"), expected));
                }
                Err(_) => {
                    self.note(format!("(the TCP connection stayed open for {} s)", ANSWER_TIMEOUT.as_secs()));
                    return Err(self.fail(
                        "after its close frame, the server did not close the TCP connection",
                        expected,
                    ));
                }
            }
        }
        if !self.unread.is_empty() {
            let partial = show_bytes(&self.unread);
            self.note(format!("(bytes that are not a whole frame: {partial})"));
            return Err(self.fail("the server sent a partial frame after its close frame", expected));
        }
        self.note("(the server closed the TCP connection)");
        Ok(())
    }

    // -- transcripts ---------------------------------------------------------

    fn note(&mut self, note: impl Into<String>) {
        self.log.push(Line::Note(note.into()));
    }

    /// The conversation so far: `→` what the check sent, `←` what came back.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for line in &self.log {
            let _ = match line {
                Line::Sent(text) => writeln!(out, "→ {text}"),
                Line::Received(text) => writeln!(out, "← {text}"),
                Line::Note(text) => writeln!(out, "{text}"),
            };
        }
        out
    }

    /// A failure whose transcript is the conversation so far.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(headline).sent(self.transcript()).expected(expected)
    }

    fn no_answer(&self, headline: &str) -> Failure {
        Failure::no_answer(headline).sent(self.transcript())
    }
}

/// Where two payloads first differ, in words.
pub fn differ(want: &[u8], got: &[u8]) -> String {
    if got.len() != want.len() {
        let first = want.iter().zip(got).position(|(a, b)| a != b);
        return match first {
            Some(at) => format!(
                "the payload is {} bytes, not {}, and differs from byte {at} on",
                got.len(),
                want.len()
            ),
            None => {
                format!("the payload is {} bytes, not {} (the bytes it has are right)", got.len(), want.len())
            }
        };
    }
    match want.iter().zip(got).position(|(a, b)| a != b) {
        Some(at) => {
            format!("the payload differs from byte {at} on: {:02x} where {:02x} was sent", got[at], want[at])
        }
        None => "the payloads are equal".to_owned(),
    }
}

/// Whether an error means the peer reset the connection.
fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted)
}
