//! WebSocket frames after the `101`: each frame's header bit by bit, the
//! messages its fragments make, ping/pong pairs, and every rule of RFC 6455
//! a frame breaks.
//!
//! Frames are read with the checks' own reader,
//! [`course_checks::frames::parse_server_frame`], which accepts *any* frame
//! (masked or not, any opcode) and leaves the judging to its caller: here.
//! The few header facts it doesn't return (the masking key, how the length
//! was encoded) sit at fixed places in the bytes it read.

use std::collections::VecDeque;
use std::time::Instant;

use course_checks::frames::{
    self, BINARY, CLOSE, CONTINUATION, LEN7, MASK, OPCODE, PING, PONG, TEXT, parse_server_frame,
};
use serde::Serialize;

use crate::{Dir, Item};

/// A frame bigger than this is shown by its header alone: its payload is
/// forwarded but not kept for decoding, so memory stays bounded.
pub const MAX_DECODED: u64 = 16 * 1024 * 1024;
/// Characters of a text payload shown.
const SHOWN_CHARS: usize = 60;
/// Unanswered pings remembered per connection.
const MAX_PINGS: usize = 64;

/// One frame, as the RFC's §5.2 diagram names its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameInfo {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    /// `text`, `close`, `opcode 0x3`…
    pub opcode_name: String,
    pub masked: bool,
    /// How the payload length was sent: `7-bit`, `16-bit` or `64-bit`.
    pub length_encoding: &'static str,
    /// The payload length.
    pub len: u64,
    /// The masking key, in hex (`37 fa 21 3d`), when the frame is masked.
    pub mask_key: Option<String>,
    /// The payload as it went over the wire (masked), in hex, when masked.
    pub payload_masked: Option<String>,
    /// The payload unmasked: quoted text, or hex; cut short with a count.
    pub payload: String,
    /// A close frame's code, what it means, and its reason.
    pub close: Option<CloseInfo>,
}

/// What a close frame says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloseInfo {
    pub code: Option<u16>,
    pub meaning: String,
    pub reason: String,
}

/// A message being put together from its fragments.
#[derive(Debug)]
struct Partial {
    opcode: u8,
    frames: usize,
    len: usize,
    /// The payload, kept up to [`MAX_DECODED`] bytes (for UTF-8 and the preview).
    payload: Vec<u8>,
}

/// One direction's frames.
#[derive(Debug, Default)]
struct Stream {
    buf: Vec<u8>,
    /// Payload bytes of an oversized frame still to pass by, undecoded.
    skipping: u64,
    message: Option<Partial>,
    /// This side has sent its close frame.
    closed: bool,
}

/// Both directions of one WebSocket connection.
#[derive(Debug, Default)]
pub struct Session {
    to_server: Stream,
    to_client: Stream,
    /// Pings not yet answered: who sent them, their payload, when.
    pings: VecDeque<(Dir, Vec<u8>, Instant)>,
    /// The handshake agreed on an extension, so RSV bits may be used.
    pub extensions: bool,
}

/// What one frame produced: the frame, then anything it completed or broke.
pub type Out = Vec<Item>;

impl Session {
    /// Reads the frames `bytes` complete, in the direction `dir`.
    /// `hex` adds an annotated dump of each frame's header.
    pub fn feed(&mut self, dir: Dir, bytes: &[u8], hex: bool) -> Out {
        let mut out = Vec::new();
        let stream = match dir {
            Dir::ToServer => &mut self.to_server,
            _ => &mut self.to_client,
        };
        let mut rest = bytes;
        if stream.skipping > 0 {
            let n = usize::try_from(stream.skipping).unwrap_or(usize::MAX).min(rest.len());
            stream.skipping -= n as u64;
            rest = &rest[n..];
        }
        stream.buf.extend_from_slice(rest);
        while let Some(frame) = self.next_frame(dir, hex, &mut out) {
            self.judge(dir, frame, &mut out);
        }
        out
    }

    /// Takes the next whole frame off the buffer, if there is one.
    fn next_frame(&mut self, dir: Dir, hex: bool, out: &mut Out) -> Option<Frame> {
        let stream = match dir {
            Dir::ToServer => &mut self.to_server,
            _ => &mut self.to_client,
        };
        if stream.skipping > 0 {
            return None;
        }
        let (header_len, len) = header(&stream.buf)?;
        if len > MAX_DECODED {
            let info = info(&stream.buf, header_len, len, None);
            if hex {
                out.push(Item::Bytes { dump: dump_header(&stream.buf[..header_len], len) });
            }
            out.push(Item::Frame(Box::new(info)));
            out.push(Item::Unparsed {
                what: format!("a payload of {len} bytes is forwarded but not decoded (over {MAX_DECODED})"),
                len: 0,
            });
            let available = (stream.buf.len() - header_len) as u64;
            stream.skipping = len - available.min(len);
            stream.buf.clear();
            return None;
        }
        let parsed = parse_server_frame(&stream.buf)?;
        let wire = &stream.buf[..parsed.len_on_wire];
        let mut info = info(wire, header_len, len, Some(&parsed.frame.payload));
        if parsed.frame.opcode == CLOSE {
            info.close = Some(close_info(&parsed.frame.payload));
        }
        if hex {
            out.push(Item::Bytes { dump: dump_header(&wire[..header_len], len) });
        }
        let frame = Frame {
            info,
            fin: parsed.frame.fin,
            opcode: parsed.frame.opcode,
            rsv: parsed.rsv,
            masked: parsed.masked,
            non_minimal: parsed.non_minimal_length,
            payload: parsed.frame.payload,
        };
        stream.buf.drain(..parsed.len_on_wire);
        Some(frame)
    }

    /// Emits the frame, then every rule it breaks, the message it
    /// completes, and the ping it answers.
    fn judge(&mut self, dir: Dir, frame: Frame, out: &mut Out) {
        let Frame { info, fin, opcode, rsv, masked, non_minimal, payload } = frame;
        let len = payload.len();
        let length_encoding = info.length_encoding;
        out.push(Item::Frame(Box::new(info)));
        let mut flag = |section: &str, what: String| {
            out.push(Item::Violation { section: format!("RFC 6455 §{section}"), what });
        };
        match (dir, masked) {
            (Dir::ToServer, false) => {
                flag("5.1", "a client frame is not masked: a client MUST mask every frame it sends".into())
            }
            (Dir::ToClient, true) => {
                flag("5.1", "a server frame is masked: a server MUST NOT mask the frames it sends".into())
            }
            _ => {}
        }
        if rsv != 0 && !self.extensions {
            let bits: Vec<String> =
                (1..=3).filter(|n| rsv & (0b1000_0000 >> n) != 0).map(|n| format!("RSV{n}")).collect();
            flag("5.2", format!("{} set, but no extension was negotiated: MUST be 0", bits.join(", ")));
        }
        if matches!(opcode, 0x3..=0x7 | 0xB..=0xF) {
            flag("5.2", format!("opcode {opcode:#x} is reserved: an endpoint MUST fail the connection"));
        }
        if non_minimal {
            flag(
                "5.2",
                format!(
                    "the length {len} is sent {length_encoding}: the minimal number of bytes MUST be used"
                ),
            );
        }
        let control = opcode & 0x8 != 0;
        if control && len > 125 {
            flag("5.5", format!("a control frame's payload is at most 125 bytes; this one has {len}"));
        }
        if control && !fin {
            flag("5.5", "a control frame MUST NOT be fragmented, but this one has FIN=0".into());
        }
        let stream = match dir {
            Dir::ToServer => &mut self.to_server,
            _ => &mut self.to_client,
        };
        if stream.closed {
            flag("5.5.1", "a frame after this side's close frame: nothing may follow a close".into());
        }
        match opcode {
            TEXT | BINARY => {
                if stream.message.is_some() {
                    flag(
                        "5.4",
                        format!(
                            "a new {} frame while a fragmented message is unfinished",
                            frames::opcode_name(opcode)
                        ),
                    );
                }
                stream.message = Some(Partial { opcode, frames: 0, len: 0, payload: Vec::new() });
            }
            CONTINUATION if stream.message.is_none() => {
                flag("5.4", "a continuation frame, but no fragmented message was started".into())
            }
            CLOSE => {
                stream.closed = true;
                close_violations(&payload, &mut flag);
            }
            _ => {}
        }
        let data = matches!(opcode, TEXT | BINARY | CONTINUATION);
        if let Some(message) = stream.message.as_mut().filter(|_| data) {
            message.frames += 1;
            message.len += len;
            if (message.payload.len() + len) as u64 <= MAX_DECODED {
                message.payload.extend_from_slice(&payload);
            }
            if fin {
                let message = stream.message.take().expect("the message was just updated");
                let whole = message.payload.len() == message.len;
                if message.opcode == TEXT && whole && std::str::from_utf8(&message.payload).is_err() {
                    flag(
                        "8.1",
                        "a text message that is not valid UTF-8: the connection MUST fail (1007)".into(),
                    );
                }
                if message.frames > 1 {
                    out.push(Item::Message {
                        opcode: frames::opcode_name(message.opcode),
                        frames: message.frames,
                        len: message.len,
                        payload: preview(&message.payload, message.opcode == TEXT),
                    });
                }
            }
        }
        match opcode {
            PING => {
                if self.pings.len() == MAX_PINGS {
                    self.pings.pop_front();
                }
                self.pings.push_back((dir, payload, Instant::now()));
            }
            PONG => {
                let answered = self.pings.iter().position(|(from, p, _)| *from != dir && *p == payload);
                if let Some(at) = answered {
                    let (_, _, sent) = self.pings.remove(at).expect("the position was just found");
                    out.push(Item::PongMatched { ping_ms_ago: sent.elapsed().as_secs_f64() * 1000.0 });
                }
            }
            _ => {}
        }
    }

    /// What is left undecoded when the connection ends.
    pub fn leftovers(&self, dir: Dir) -> usize {
        match dir {
            Dir::ToServer => self.to_server.buf.len(),
            _ => self.to_client.buf.len(),
        }
    }
}

/// A whole frame, read.
#[derive(Debug)]
struct Frame {
    info: FrameInfo,
    fin: bool,
    opcode: u8,
    rsv: u8,
    masked: bool,
    non_minimal: bool,
    payload: Vec<u8>,
}

/// The header's length and the payload length it announces, once the
/// header is all there.
fn header(buf: &[u8]) -> Option<(usize, u64)> {
    let b1 = *buf.get(1)?;
    let mask_len = if b1 & MASK != 0 { 4 } else { 0 };
    let (at, len) = match b1 & LEN7 {
        126 => (4, u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?))),
        127 => (10, u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)),
        short => (2, u64::from(short)),
    };
    (buf.len() >= at + mask_len).then_some((at + mask_len, len))
}

/// The frame's description; `payload` is the unmasked payload when it was read.
fn info(wire: &[u8], header_len: usize, len: u64, payload: Option<&[u8]>) -> FrameInfo {
    let (b0, b1) = (wire[0], wire[1]);
    let masked = b1 & MASK != 0;
    let opcode = b0 & OPCODE;
    let key = masked.then(|| &wire[header_len - 4..header_len]);
    let on_wire = &wire[header_len..];
    FrameInfo {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        rsv2: b0 & 0x20 != 0,
        rsv3: b0 & 0x10 != 0,
        opcode,
        opcode_name: frames::opcode_name(opcode),
        masked,
        length_encoding: match b1 & LEN7 {
            126 => "16-bit",
            127 => "64-bit",
            _ => "7-bit",
        },
        len,
        mask_key: key.map(hex),
        payload_masked: (masked && payload.is_some() && len > 0).then(|| hex_preview(on_wire)),
        payload: match payload {
            Some(payload) => preview(payload, matches!(opcode, TEXT | CONTINUATION | PING | PONG)),
            None => format!("({len} bytes, not decoded)"),
        },
        close: None,
    }
}

/// `"Hello"`, `"Hello, wor"… (1048576 bytes)`, or hex for bytes that aren't text.
pub fn preview(bytes: &[u8], text: bool) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if text || !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
            if s.chars().count() <= SHOWN_CHARS {
                format!("{s:?}")
            } else {
                let start: String = s.chars().take(SHOWN_CHARS).collect();
                format!("{start:?}… ({} bytes)", bytes.len())
            }
        }
        _ => hex_preview(bytes),
    }
}

/// `5 bytes: 7f 9f 4d 51 58`, cut short when long.
fn hex_preview(bytes: &[u8]) -> String {
    frames::show_bytes(bytes)
}

/// Bytes as `37 fa 21 3d`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// What a close payload says.
fn close_info(payload: &[u8]) -> CloseInfo {
    match payload {
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            CloseInfo {
                code: Some(code),
                meaning: close_meaning(code).to_owned(),
                reason: String::from_utf8_lossy(reason).into_owned(),
            }
        }
        [] => CloseInfo {
            code: None,
            meaning: "no status code (the peer sees 1005)".into(),
            reason: String::new(),
        },
        [_] => {
            CloseInfo { code: None, meaning: "a 1-byte payload: not a code".into(), reason: String::new() }
        }
    }
}

/// RFC 6455 §7.4.1's names for close codes, and the ranges of §7.4.2.
pub fn close_meaning(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status received (reserved: never sent)",
        1006 => "abnormal closure (reserved: never sent)",
        1007 => "invalid frame payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure (reserved: never sent)",
        3000..=3999 => "registered for libraries and frameworks",
        4000..=4999 => "private use",
        _ => "not a valid close code",
    }
}

/// The rules a close frame's payload breaks.
fn close_violations(payload: &[u8], flag: &mut impl FnMut(&str, String)) {
    match payload {
        [_] => flag("5.5.1", "a close payload of 1 byte: it is empty or starts with a 2-byte code".into()),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            match code {
                1005 | 1006 | 1015 => {
                    flag("7.4.1", format!("close code {code} MUST NOT be sent in a close frame"))
                }
                1000..=1003 | 1007..=1014 | 3000..=4999 => {}
                _ => flag("7.4.2", format!("close code {code} is not one an endpoint may send")),
            }
            if std::str::from_utf8(reason).is_err() {
                flag("5.5.1", "the close reason is not valid UTF-8".into());
            }
        }
        [] => {}
    }
}

/// `--bytes`: a frame header in hex with each field named.
pub fn dump_header(header: &[u8], len: u64) -> String {
    let (b0, b1) = (header[0], header[1]);
    let mut lines = vec![format!("{}", hex(header))];
    lines.push(format!(
        "byte 0 = {:04b} {:04b}: FIN={} RSV1={} RSV2={} RSV3={} opcode={:04b} ({})",
        b0 >> 4,
        b0 & 0xF,
        b0 >> 7,
        (b0 >> 6) & 1,
        (b0 >> 5) & 1,
        (b0 >> 4) & 1,
        b0 & OPCODE,
        frames::opcode_name(b0 & OPCODE)
    ));
    let len7 = b1 & LEN7;
    let encoding = match len7 {
        126 => "126: the length follows in 16 bits",
        127 => "127: the length follows in 64 bits",
        _ => "the length itself (7 bits)",
    };
    lines.push(format!(
        "byte 1 = {:04b} {:04b}: MASK={} length={len7:07b} = {encoding}",
        b1 >> 4,
        b1 & 0xF,
        b1 >> 7
    ));
    let at = match len7 {
        126 => {
            lines.push(format!("bytes 2–3 = {}: length {len}", hex(&header[2..4])));
            4
        }
        127 => {
            lines.push(format!("bytes 2–9 = {}: length {len}", hex(&header[2..10])));
            10
        }
        _ => 2,
    };
    if b1 & MASK != 0 {
        lines.push(format!("bytes {}–{} = {}: masking key", at, at + 3, hex(&header[at..at + 4])));
    }
    lines.join("\n")
}
