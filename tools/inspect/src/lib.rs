//! See the wire: a transparent TCP proxy that forwards every connection
//! unchanged and tells you, in order, what went through it — HTTP/1.1
//! heads, the WebSocket handshake, every frame bit by bit, SSE events as a
//! browser dispatches them — and which rule of RFC 6455 a frame breaks.
//!
//! ```text
//! browser / checks ──► inspector (:3001) ──► your server (:3000)
//!                          │
//!                          └─► records: one per head, frame, event, violation
//! ```
//!
//! - [`proxy`]: accepts connections and forwards bytes both ways, unchanged:
//!   bounded buffers (so backpressure passes through), half-close and reset
//!   mirrored. Decoding happens after each chunk is forwarded and can never
//!   stop the forwarding.
//! - [`decode`]: one connection's two byte streams → [`Record`]s: HTTP heads
//!   and bodies, the handshake, SSE (with the checks' parser).
//! - [`ws`]: WebSocket frames (read with the checks' frame reader), their
//!   messages, ping/pong pairs and violations.
//! - [`render`]: a record as terminal text (colour optional), as JSON, and
//!   the annotated hex dump of `--bytes`.
//! - [`view`]: the live view, a page fed by Server-Sent Events (`--view`).
//!
//! `cargo course inspect --to localhost:3000` runs it; tests use a
//! [`Sink`] that collects the records.

pub mod decode;
pub mod proxy;
pub mod render;
pub mod view;
pub mod ws;

use std::sync::Mutex;

use serde::Serialize;

pub use proxy::{Options, serve};

/// Which way the bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// From the client to the server (`→`).
    ToServer,
    /// From the server to the client (`←`).
    ToClient,
    /// Something about the connection itself (`·`).
    Proxy,
}

impl Dir {
    /// `→`, `←` or `·`.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::ToServer => "→",
            Dir::ToClient => "←",
            Dir::Proxy => "·",
        }
    }
}

/// One thing seen on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The connection, numbered from 1 in the order they were accepted.
    pub conn: u64,
    /// Milliseconds since the inspector started.
    pub ms: f64,
    pub dir: Dir,
    #[serde(flatten)]
    pub item: Item,
}

/// What a record says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// A client connected and the server was dialled.
    Open { client: String, server: String },
    /// The server could not be dialled; the client's connection is closed.
    DialFailed { server: String, error: String },
    /// An HTTP/1.1 request head. `n` counts requests on this connection:
    /// above 1 the connection was kept alive and reused.
    Request { n: u32, method: String, target: String, version: String, headers: Vec<(String, String)> },
    /// An HTTP/1.1 response head, answering request `n`.
    Response { n: u32, status: u16, reason: String, version: String, headers: Vec<(String, String)> },
    /// A message body, once it is complete (or the connection ended).
    Body { len: u64, preview: String, complete: bool },
    /// The WebSocket opening handshake, judged once the response came.
    Handshake(Handshake),
    /// One WebSocket frame.
    Frame(Box<ws::FrameInfo>),
    /// A whole WebSocket message, its fragments put together.
    Message { opcode: String, frames: usize, len: usize, payload: String },
    /// A pong and the ping it answers.
    PongMatched { ping_ms_ago: f64 },
    /// A rule the bytes break; they were forwarded unchanged anyway.
    Violation { section: String, what: String },
    /// An SSE event as `EventSource` dispatches it (at the blank line).
    SseEvent { event: String, data: String, id: Option<String>, last_event_id: String },
    /// An SSE comment line (`:`), which browsers ignore.
    SseComment { text: String },
    /// An SSE `retry:` field.
    SseRetry { retry_ms: u64 },
    /// Bytes the inspector could not read as what it expected; forwarded anyway.
    Unparsed { what: String, len: usize },
    /// `--bytes`: a hex dump of a frame header or chunk, annotated.
    Bytes { dump: String },
    /// One side ended its half of the TCP connection (FIN), or reset it.
    End { how: String },
}

/// What the handshake said, and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handshake {
    pub key: Option<String>,
    /// The accept value the server should send, computed from the key.
    pub expected_accept: Option<String>,
    /// The accept value the server sent.
    pub sent_accept: Option<String>,
    /// A `101` with the right accept value to a valid upgrade request.
    pub ok: bool,
    /// Why it is or isn't a valid upgrade, one reason a line.
    pub reasons: Vec<String>,
}

/// Where records go: the terminal, or a test's list.
pub trait Sink: Send + Sync {
    fn record(&self, record: Record);
}

/// A sink that keeps every record, for tests.
#[derive(Debug, Default)]
pub struct Collect(pub Mutex<Vec<Record>>);

impl Collect {
    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        self.0.lock().expect("no test panics while holding the records").clone()
    }
}

impl Sink for Collect {
    fn record(&self, record: Record) {
        self.0.lock().expect("no test panics while holding the records").push(record);
    }
}
