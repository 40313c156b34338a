//! One connection's two byte streams, read as what they are: HTTP/1.1
//! heads and bodies, then — after a `101` — WebSocket frames, or an SSE
//! stream inside a response body.
//!
//! [`Conn::feed`] is called with each chunk *after* it was forwarded, so
//! nothing here can hold up or change the bytes. Whatever can't be read is
//! said once ([`Item::Unparsed`]) and that direction is then only counted.
//! Memory is bounded: a head may be 64 KiB, a frame [`ws::MAX_DECODED`];
//! bodies are read as they pass, never kept.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use course_checks::sse;
use sol03_handshake::accept::{accept_key, is_valid_key};
use sol03_handshake::handshake::{self, Rejection};
use sol03_handshake::request::Request;

use crate::ws::{self, Session};
use crate::{Dir, Handshake, Item, Record, Sink};

/// A request or response head longer than this is not read.
const MAX_HEAD: usize = 64 * 1024;
/// Headers read per head.
const MAX_HEADERS: usize = 100;
/// Requests remembered while they wait for their responses.
const MAX_PENDING: usize = 1024;
/// Bytes of a body shown as its preview.
const PREVIEW_BYTES: usize = 80;
/// Bytes of a chunk shown by `--bytes` outside WebSocket frames.
const DUMP_BYTES: usize = 256;

/// What one direction is reading now.
#[derive(Debug)]
enum State {
    /// The next HTTP head.
    Head,
    /// A body of known length.
    Length { left: u64 },
    /// A chunked body: the next chunk-size line.
    ChunkSize,
    /// A chunk's data.
    ChunkData { left: u64 },
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// The trailer section, up to its empty line.
    Trailers,
    /// A body that lasts until the connection ends.
    UntilClose,
    /// The client sent an upgrade request: its bytes wait for the answer.
    AwaitUpgrade,
    /// WebSocket frames.
    Frames,
    /// Bytes that can't be read; counted only.
    Opaque,
}

/// One direction of the connection.
#[derive(Debug)]
struct Side {
    state: State,
    buf: Vec<u8>,
    /// The body being read: its length so far and first bytes.
    body_len: u64,
    preview: Vec<u8>,
    /// The body is an event stream, read by the checks' SSE parser.
    sse: Option<sse::Parser>,
    opaque_bytes: u64,
}

impl Side {
    fn new() -> Self {
        Side {
            state: State::Head,
            buf: Vec::new(),
            body_len: 0,
            preview: Vec::new(),
            sse: None,
            opaque_bytes: 0,
        }
    }
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    n: u32,
    method: String,
    /// A WebSocket upgrade request, kept to judge the handshake.
    upgrade: Option<Request>,
}

/// Everything known about one connection.
pub struct Conn {
    id: u64,
    start: Instant,
    sink: Arc<dyn Sink>,
    hex: bool,
    up: Side,
    down: Side,
    requests: u32,
    pending: VecDeque<Pending>,
    ws: Session,
    /// A bug in the decoder stopped decoding; forwarding goes on.
    broken: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Conn {
    pub fn new(id: u64, start: Instant, sink: Arc<dyn Sink>, hex: bool) -> Self {
        Conn {
            id,
            start,
            sink,
            hex,
            up: Side::new(),
            down: Side::new(),
            requests: 0,
            pending: VecDeque::new(),
            ws: Session::default(),
            broken: false,
        }
    }

    /// Records `item` now.
    pub fn emit(&self, dir: Dir, item: Item) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        self.sink.record(Record { conn: self.id, ms, dir, item });
    }

    /// Reads the bytes just forwarded in direction `dir`. A panic in the
    /// decoder (a bug) is caught: decoding stops for this connection, the
    /// forwarding never does.
    pub fn feed(&mut self, dir: Dir, bytes: &[u8]) {
        if self.broken {
            return;
        }
        let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.feed_inner(dir, bytes)));
        if fed.is_err() {
            self.broken = true;
            self.emit(
                dir,
                Item::Unparsed {
                    what: "the inspector failed to decode this (a bug); still forwarding".into(),
                    len: bytes.len(),
                },
            );
        }
    }

    fn feed_inner(&mut self, dir: Dir, bytes: &[u8]) {
        let hex = self.hex;
        match self.side(dir).state {
            State::Frames => {
                for item in self.ws.feed(dir, bytes, hex) {
                    self.emit(dir, item);
                }
            }
            State::Opaque => self.side(dir).opaque_bytes += bytes.len() as u64,
            State::AwaitUpgrade => {
                self.side(dir).buf.extend_from_slice(bytes);
                if self.side(dir).buf.len() as u64 > ws::MAX_DECODED {
                    self.give_up(dir, "too much sent before the upgrade was answered");
                }
            }
            _ => {
                if hex {
                    self.emit(dir, Item::Bytes { dump: hexdump(bytes) });
                }
                self.side(dir).buf.extend_from_slice(bytes);
            }
        }
        self.process(dir);
    }

    /// Reads all it can from `dir`'s buffer; an answer to an upgrade may
    /// release the other direction's waiting bytes.
    fn process(&mut self, dir: Dir) {
        while self.step(dir) {}
        if dir == Dir::ToClient && !matches!(self.up.state, State::AwaitUpgrade) && !self.up.buf.is_empty() {
            while self.step(Dir::ToServer) {}
        }
    }

    fn side(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::ToServer => &mut self.up,
            _ => &mut self.down,
        }
    }

    /// One step of reading; false when it needs more bytes.
    fn step(&mut self, dir: Dir) -> bool {
        let side = self.side(dir);
        match side.state {
            State::Head if side.buf.is_empty() => false,
            State::Head => match dir {
                Dir::ToServer => self.request_head(),
                _ => self.response_head(),
            },
            State::Length { left } => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(side.buf.len());
                let bytes: Vec<u8> = side.buf.drain(..n).collect();
                self.body_bytes(dir, &bytes);
                let side = self.side(dir);
                side.state = State::Length { left: left - n as u64 };
                if left == n as u64 {
                    self.body_done(dir, true);
                    return true;
                }
                false
            }
            State::UntilClose => {
                let bytes = std::mem::take(&mut side.buf);
                self.body_bytes(dir, &bytes);
                false
            }
            State::ChunkSize | State::Trailers => {
                let Some(end) = find(&side.buf, b"\r\n") else {
                    if side.buf.len() > MAX_HEAD {
                        self.give_up(dir, "a chunk-size line too long");
                    }
                    return false;
                };
                let line: Vec<u8> = side.buf.drain(..end + 2).collect();
                let line = String::from_utf8_lossy(&line[..end]).into_owned();
                if matches!(side.state, State::Trailers) {
                    if line.is_empty() {
                        self.body_done(dir, true);
                    }
                    return true;
                }
                let size = line.split(';').next().unwrap_or("").trim();
                match u64::from_str_radix(size, 16) {
                    Ok(0) => side.state = State::Trailers,
                    Ok(left) => side.state = State::ChunkData { left },
                    Err(_) => {
                        self.give_up(dir, &format!("a chunk size that isn't hexadecimal: {line:?}"));
                        return false;
                    }
                }
                true
            }
            State::ChunkData { left } => {
                if side.buf.is_empty() {
                    return false;
                }
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(side.buf.len());
                let bytes: Vec<u8> = side.buf.drain(..n).collect();
                side.state = match left - n as u64 {
                    0 => State::ChunkEnd,
                    left => State::ChunkData { left },
                };
                self.body_bytes(dir, &bytes);
                true
            }
            State::ChunkEnd => {
                if side.buf.len() < 2 {
                    return false;
                }
                if side.buf.starts_with(b"\r\n") {
                    side.buf.drain(..2);
                    side.state = State::ChunkSize;
                    true
                } else {
                    self.give_up(dir, "a chunk's data isn't followed by CRLF");
                    false
                }
            }
            State::AwaitUpgrade => false,
            State::Frames => {
                let bytes = std::mem::take(&mut side.buf);
                let hex = self.hex;
                for item in self.ws.feed(dir, &bytes, hex) {
                    self.emit(dir, item);
                }
                false
            }
            State::Opaque => {
                side.opaque_bytes += side.buf.len() as u64;
                side.buf.clear();
                false
            }
        }
    }

    /// Says what couldn't be read, once; the direction is then only counted.
    fn give_up(&mut self, dir: Dir, what: &str) {
        let side = self.side(dir);
        let len = side.buf.len();
        side.opaque_bytes += len as u64;
        side.buf.clear();
        side.state = State::Opaque;
        self.emit(
            dir,
            Item::Unparsed {
                what: format!("{what}; the rest of this direction is forwarded, not decoded"),
                len,
            },
        );
    }

    fn request_head(&mut self) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let used = match request.parse(&self.up.buf) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) if self.up.buf.len() <= MAX_HEAD => return false,
            Ok(httparse::Status::Partial) => {
                self.give_up(Dir::ToServer, "a request head over 64 KiB");
                return false;
            }
            Err(e) => {
                let what = format!("not an HTTP/1.1 request ({e}): {}", preview(&self.up.buf));
                self.give_up(Dir::ToServer, &what);
                return false;
            }
        };
        let parsed = Request {
            method: request.method.unwrap_or("").to_owned(),
            target: request.path.unwrap_or("").to_owned(),
            version: request.version.unwrap_or(1),
            headers: pairs(request.headers),
        };
        self.up.buf.drain(..used);
        self.requests += 1;
        let n = self.requests;
        let upgrade = parsed.has_token("Upgrade", "websocket");
        self.emit(
            Dir::ToServer,
            Item::Request {
                n,
                method: parsed.method.clone(),
                target: parsed.target.clone(),
                version: format!("HTTP/1.{}", parsed.version),
                headers: parsed.headers.clone(),
            },
        );
        let body = body_state(&parsed.headers, true);
        if self.pending.len() == MAX_PENDING {
            // A client that never gets answers: forget the oldest, stay bounded.
            self.pending.pop_front();
        }
        self.pending.push_back(Pending {
            n,
            method: parsed.method.clone(),
            upgrade: upgrade.then_some(parsed),
        });
        self.up.state = if upgrade { State::AwaitUpgrade } else { body };
        if matches!(self.up.state, State::Head) {
            return true;
        }
        self.up.body_len = 0;
        self.up.preview.clear();
        true
    }

    fn response_head(&mut self) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let used = match response.parse(&self.down.buf) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) if self.down.buf.len() <= MAX_HEAD => return false,
            Ok(httparse::Status::Partial) => {
                self.give_up(Dir::ToClient, "a response head over 64 KiB");
                return false;
            }
            Err(e) => {
                let what = format!("not an HTTP/1.1 response ({e}): {}", preview(&self.down.buf));
                self.give_up(Dir::ToClient, &what);
                self.release_upgrade(false);
                return false;
            }
        };
        let status = response.code.unwrap_or(0);
        let head = Request {
            method: String::new(),
            target: String::new(),
            version: response.version.unwrap_or(1),
            headers: pairs(response.headers),
        };
        let reason = response.reason.unwrap_or("").to_owned();
        self.down.buf.drain(..used);
        let interim = (100..200).contains(&status) && status != 101;
        let (n, method) = match self.pending.front() {
            Some(p) => (p.n, p.method.clone()),
            None => {
                self.emit(
                    Dir::ToClient,
                    Item::Violation {
                        section: "RFC 9112 §9.3".into(),
                        what: "a response before any request asked for one".into(),
                    },
                );
                (0, String::new())
            }
        };
        self.emit(
            Dir::ToClient,
            Item::Response {
                n,
                status,
                reason,
                version: format!("HTTP/1.{}", head.version),
                headers: head.headers.clone(),
            },
        );
        if interim {
            return true;
        }
        let pending = self.pending.pop_front();
        if let Some(request) = pending.as_ref().and_then(|p| p.upgrade.as_ref()) {
            let handshake = judge(request, status, &head);
            self.emit(Dir::ToClient, Item::Handshake(handshake));
            if status == 101 {
                self.ws.extensions = head.header("Sec-WebSocket-Extensions").is_some();
                self.down.state = State::Frames;
                self.release_upgrade(true);
                return true;
            }
            self.release_upgrade(false);
        } else if status == 101 {
            // Upgraded to something that isn't WebSocket: no more to read.
            self.down.state = State::Opaque;
            self.up.state = State::Opaque;
            return false;
        }
        let no_body = method == "HEAD" || status == 204 || status == 304;
        self.down.state = if no_body { State::Head } else { body_state(&head.headers, false) };
        self.down.body_len = 0;
        self.down.preview.clear();
        self.down.sse = head
            .header("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/event-stream"))
            .then(sse::Parser::new);
        true
    }

    /// The answer to the client's upgrade request came: its waiting bytes
    /// are frames (`upgraded`) or the next HTTP request.
    fn release_upgrade(&mut self, upgraded: bool) {
        if matches!(self.up.state, State::AwaitUpgrade) {
            self.up.state = if upgraded { State::Frames } else { State::Head };
        }
    }

    fn body_bytes(&mut self, dir: Dir, bytes: &[u8]) {
        let side = self.side(dir);
        side.body_len += bytes.len() as u64;
        let room = PREVIEW_BYTES.saturating_sub(side.preview.len());
        side.preview.extend_from_slice(&bytes[..room.min(bytes.len())]);
        let items = side.sse.as_mut().map(|parser| parser.feed(bytes)).unwrap_or_default();
        for item in items {
            let item = match item {
                sse::Item::Event(e) => {
                    Item::SseEvent { event: e.name, data: e.data, id: e.id, last_event_id: e.last_event_id }
                }
                sse::Item::Comment(text) => Item::SseComment { text },
                sse::Item::Retry(retry_ms) => Item::SseRetry { retry_ms },
            };
            self.emit(dir, item);
        }
    }

    fn body_done(&mut self, dir: Dir, complete: bool) {
        let side = self.side(dir);
        let (len, preview_bytes, sse) =
            (side.body_len, std::mem::take(&mut side.preview), side.sse.take().is_some());
        side.state = State::Head;
        side.body_len = 0;
        if len > 0 || !complete {
            let shown = if sse {
                "(an event stream: its events are shown above)".to_owned()
            } else {
                preview(&preview_bytes)
            };
            self.emit(dir, Item::Body { len, preview: shown, complete });
        }
    }

    /// One side's FIN or reset: what was left unfinished is said.
    pub fn end(&mut self, dir: Dir, how: String) {
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.end_inner(dir)));
        if ended.is_err() {
            self.broken = true;
        }
        self.emit(dir, Item::End { how });
    }

    fn end_inner(&mut self, dir: Dir) {
        if !self.broken {
            let unfinished = match self.side(dir).state {
                State::UntilClose => Some(true),
                State::Length { .. }
                | State::ChunkData { .. }
                | State::ChunkSize
                | State::ChunkEnd
                | State::Trailers => Some(false),
                _ => None,
            };
            if let Some(complete) = unfinished {
                self.body_done(dir, complete);
            }
            let side = self.side(dir);
            let left =
                side.buf.len() + if matches!(side.state, State::Frames) { self.ws.leftovers(dir) } else { 0 };
            if left > 0 {
                self.emit(
                    dir,
                    Item::Unparsed {
                        what: "bytes that didn't make a whole head or frame before the end".into(),
                        len: left,
                    },
                );
            }
        }
    }
}

/// How a message's body is delimited (RFC 9112 §6.3): chunked, a
/// Content-Length, nothing (a request), or the end of the connection.
fn body_state(headers: &[(String, String)], request: bool) -> State {
    let header =
        |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    if header("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked")) {
        return State::ChunkSize;
    }
    match header("Content-Length").map(str::parse::<u64>) {
        Some(Ok(0)) => State::Head,
        Some(Ok(left)) => State::Length { left },
        _ if request => State::Head,
        _ => State::UntilClose,
    }
}

/// The handshake: was the request a valid upgrade (chapter 3's rules,
/// wherever it points), and did the answer accept it with the right value?
fn judge(request: &Request, status: u16, response: &Request) -> Handshake {
    let key = request.header("Sec-WebSocket-Key").map(str::to_owned);
    let expected_accept = key.as_deref().map(accept_key);
    let sent_accept = response.header("Sec-WebSocket-Accept").map(str::to_owned);
    let mut reasons = Vec::new();
    // The course serves WebSocket at /ws; the inspector doesn't judge paths.
    let anywhere = Request { target: handshake::PATH.to_owned(), ..request.clone() };
    let request_ok = match handshake::validate(&anywhere) {
        Ok(_) => {
            reasons.push(format!(
                "request: a {} {} with Host, Upgrade: websocket, Connection: Upgrade, \
                 Sec-WebSocket-Version: 13 and a 16-byte key (RFC 6455 §4.2.1)",
                request.method,
                if request.version >= 1 { "HTTP/1.1" } else { "HTTP/1.0" }
            ));
            true
        }
        Err(rejection) => {
            let why = match &rejection {
                Rejection::BadRequest(_) if key.as_deref().is_some_and(|k| !is_valid_key(k)) => {
                    "Sec-WebSocket-Key is not 16 bytes in base64".to_owned()
                }
                other => other.to_string(),
            };
            reasons.push(format!("request is not a valid upgrade (RFC 6455 §4.2.1): {why}"));
            false
        }
    };
    let mut response_ok = status == 101;
    if status != 101 {
        reasons.push(format!("the server answered {status}, not 101 Switching Protocols"));
    } else {
        if !response.has_token("Upgrade", "websocket") {
            reasons.push("the 101 has no Upgrade: websocket (RFC 6455 §4.2.2)".into());
            response_ok = false;
        }
        if !response.has_token("Connection", "Upgrade") {
            reasons.push("the 101 has no Connection: Upgrade (RFC 6455 §4.2.2)".into());
            response_ok = false;
        }
        match (&expected_accept, &sent_accept) {
            (Some(want), Some(got)) if want == got => {
                reasons.push("Sec-WebSocket-Accept is base64(SHA-1(key + GUID)) ✓".into())
            }
            (Some(want), Some(got)) => {
                reasons.push(format!(
                    "Sec-WebSocket-Accept is {got}, but the key gives {want} (RFC 6455 §4.2.2)"
                ));
                response_ok = false;
            }
            (_, None) => {
                reasons.push("the 101 has no Sec-WebSocket-Accept (RFC 6455 §4.2.2)".into());
                response_ok = false;
            }
            (None, Some(_)) => {}
        }
    }
    Handshake { key, expected_accept, sent_accept, ok: request_ok && response_ok, reasons }
}

fn pairs(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers.iter().map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned())).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A body's first bytes: text when they are, hex otherwise.
fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(PREVIEW_BYTES)];
    match std::str::from_utf8(shown) {
        Ok(text) if bytes.len() > PREVIEW_BYTES => format!("{text:?}…"),
        Ok(text) => format!("{text:?}"),
        Err(_) => ws::preview(shown, false),
    }
}

/// `--bytes` outside frames: 16 bytes a line, hex then ASCII.
fn hexdump(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(DUMP_BYTES)];
    let mut lines: Vec<String> = shown
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let text: String = row
                .iter()
                .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
                .collect();
            format!("{:04x}  {:<47}  {text}", i * 16, hex.join(" "))
        })
        .collect();
    if bytes.len() > DUMP_BYTES {
        lines.push(format!("… {} more bytes", bytes.len() - DUMP_BYTES));
    }
    lines.join("\n")
}
