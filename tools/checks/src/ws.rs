//! A WebSocket client for checks, with a transcript of every frame.
//!
//! Checks talk to a server's `/ws` with tokio-tungstenite, a real client, and
//! keep the whole conversation — every client of a check, every frame each one
//! sent or received, in the order it happened — so that a failure shows the
//! learner exactly what went over the wire:
//!
//! ```text
//! alice → {"type":"join","boardId":"board-1","user":"Alice"}
//! alice ← {"type":"presence","boardId":"board-1","users":["Alice"]}
//! bob   → {"type":"join","boardId":"board-1","user":"Bob"}
//! bob   ← {"type":"presence","boardId":"board-1","users":["Alice","Bob"]}
//! bob   ✕ drops the TCP connection, without a close frame
//! ```
//!
//! A [`WsClient`] reads in the background from the moment it connects, as a
//! browser does: pings are answered at once (tungstenite does it while
//! reading), and what arrives waits in the client's inbox until the check
//! looks at it. The check then says what must come *next*:
//!
//! - [`WsClient::expect_json`]: the next message is this JSON (extra fields
//!   allowed); [`WsClient::next_json`] returns it for the check to judge;
//! - [`WsClient::expect_close`]: the next thing is a close frame with this
//!   code; [`WsClient::expect_close_or_tcp_closed`] also accepts the TCP
//!   connection ending without one (what axum does on a protocol error), and
//!   [`WsClient::expect_end`] accepts any way of ending;
//! - [`WsClient::next_ping`]: the next control frame is a ping (heartbeats).
//!
//! To prove that something did *not* arrive, make something else happen — a
//! marker — and require it to be the next message.
//!
//! Ways a client can misbehave, each recorded in the transcript:
//! [`WsClient::close`] (a clean close), [`WsClient::drop_tcp`] (gone without a
//! close frame), [`WsClient::mute`] (still connected, but answers nothing: a
//! laptop whose lid was shut), [`WsClient::stall`] (stops reading, but stays
//! alive: a client that cannot keep up).
//!
//! Every wait is bounded — by [`ANSWER_TIMEOUT`], or by a longer limit a check
//! names for what comes only after a timeout of the server's (the `_within`
//! methods); no check synchronises with `sleep`.
//!
//! ```ignore
//! let transcript = Transcript::new();
//! let mut alice = WsClient::connect(&t, &transcript, "alice").await?;
//! alice.send_json(&json!({"type": "join", "boardId": "board-1", "user": "Alice"})).await?;
//! alice.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "the snapshot").await?;
//! ```

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Target};

/// Transcript lines kept; older ones are summarised as a count.
const KEPT_LINES: usize = 20;

/// A frame's text is cut short after this many characters in a transcript.
const SHOWN_CHARS: usize = 120;

/// The path every chapter serves its WebSocket on.
pub const WS_PATH: &str = "/ws";

// ---------------------------------------------------------------------------
// The transcript

/// The conversation of one check: what each of its clients sent (`→`) and
/// received (`←`), in the order it happened. Clone it to share it between
/// clients; it is cheap.
#[derive(Debug, Clone)]
pub struct Transcript {
    inner: Arc<Mutex<Lines>>,
}

#[derive(Debug)]
struct Lines {
    lines: VecDeque<String>,
    /// How many lines fell off the front.
    dropped: usize,
    /// Whether pings and pongs are worth a line (checks of heartbeats).
    show_pings: bool,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

impl Transcript {
    /// A transcript that leaves out pings and pongs: with a heartbeat every
    /// 100 ms they would drown the messages.
    pub fn new() -> Self {
        Transcript {
            inner: Arc::new(Mutex::new(Lines { lines: VecDeque::new(), dropped: 0, show_pings: false })),
        }
    }

    /// A transcript that shows pings and pongs too.
    pub fn with_pings() -> Self {
        let transcript = Transcript::new();
        if let Ok(mut inner) = transcript.inner.lock() {
            inner.show_pings = true;
        }
        transcript
    }

    /// Adds a line: `who` did `what`.
    pub fn note(&self, who: &str, what: impl AsRef<str>) {
        let line = format!("{who:<6} {}", what.as_ref());
        if let Ok(mut inner) = self.inner.lock() {
            inner.lines.push_back(line);
            if inner.lines.len() > KEPT_LINES {
                inner.lines.pop_front();
                inner.dropped += 1;
            }
        }
    }

    fn shows_pings(&self) -> bool {
        self.inner.lock().map(|inner| inner.show_pings).unwrap_or(false)
    }

    /// The conversation so far, as a failure shows it.
    pub fn render(&self) -> String {
        let Ok(inner) = self.inner.lock() else { return String::new() };
        let mut out = String::from("the conversation so far (→ a client sent, ← it received");
        out += if inner.show_pings { "):\n" } else { "; pings and pongs not shown):\n" };
        if inner.dropped > 0 {
            out += &format!("… ({} earlier lines)\n", inner.dropped);
        }
        for line in &inner.lines {
            out += line;
            out.push('\n');
        }
        if inner.lines.is_empty() {
            out += "(nothing yet)\n";
        }
        out
    }
}

// ---------------------------------------------------------------------------
// What arrives

/// Something a client received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    /// A binary message, by its length.
    Binary(usize),
    Ping,
    Pong,
    /// A close frame, with its code and reason when it had one.
    Close(Option<(u16, String)>),
    /// The connection ended; says how ("closed without a close frame",
    /// "reset", …).
    Ended(String),
}

impl Incoming {
    /// How the transcript and failures show it.
    pub fn describe(&self) -> String {
        match self {
            Incoming::Text(text) => shorten(text),
            Incoming::Binary(len) => format!("a binary message of {len} bytes"),
            Incoming::Ping => "ping".to_owned(),
            Incoming::Pong => "pong".to_owned(),
            Incoming::Close(Some((code, reason))) if reason.is_empty() => format!("close frame, code {code}"),
            Incoming::Close(Some((code, reason))) => format!("close frame, code {code} ({reason:?})"),
            Incoming::Close(None) => "close frame, without a code".to_owned(),
            Incoming::Ended(how) => how.clone(),
        }
    }

    fn is_control(&self) -> bool {
        matches!(self, Incoming::Ping | Incoming::Pong)
    }
}

/// A message as the transcript shows what a client sent.
fn describe_outgoing(message: &Message) -> String {
    match message {
        Message::Text(text) => shorten(text.as_str()),
        Message::Binary(data) => format!("a binary message of {} bytes", data.len()),
        Message::Ping(_) => "ping".to_owned(),
        Message::Pong(_) => "pong".to_owned(),
        Message::Close(Some(frame)) => format!("close frame, code {}", u16::from(frame.code)),
        Message::Close(None) => "close frame, without a code".to_owned(),
        Message::Frame(_) => "a raw frame".to_owned(),
    }
}

/// `expected` (a wanted message, then why on the next line) as one line.
fn one_line(expected: &str) -> String {
    expected.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

// ---------------------------------------------------------------------------
// The client

/// How to connect, beyond the address.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// The client socket's receive buffer (`SO_RCVBUF`) in bytes: a small one
    /// makes a client that stops reading fill up quickly.
    pub recv_buffer: Option<u32>,
}

type Socket = WebSocketStream<Muzzle>;

/// One WebSocket connection of a check, reading in the background.
#[derive(Debug)]
pub struct WsClient {
    name: String,
    transcript: Transcript,
    sink: Arc<tokio::sync::Mutex<SplitSink<Socket, Message>>>,
    inbox: mpsc::UnboundedReceiver<Incoming>,
    muted: Arc<AtomicBool>,
    /// Tells the reader to stop reading, or to read again (see
    /// [`WsClient::stall`] and [`WsClient::resume`]).
    pause: watch::Sender<bool>,
    reader: JoinHandle<()>,
    keepalive: Option<JoinHandle<()>>,
}

impl Drop for WsClient {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(keepalive) = &self.keepalive {
            keepalive.abort();
        }
    }
}

impl WsClient {
    /// Opens a WebSocket to the target's `/ws`. `name` labels the client's
    /// lines in the transcript.
    pub async fn connect(t: &Target, transcript: &Transcript, name: &str) -> Result<WsClient, Failure> {
        WsClient::connect_with(t, transcript, name, ConnectOptions::default()).await
    }

    /// Like [`WsClient::connect`], with options.
    pub async fn connect_with(
        t: &Target,
        transcript: &Transcript,
        name: &str,
        options: ConnectOptions,
    ) -> Result<WsClient, Failure> {
        let addr = t.addr();
        let url = format!("ws://{addr}{WS_PATH}");
        // A server that asks who is connecting (see `SignIn`): sign in as
        // the user this client's label names, whom it will join as.
        let cookie = t.session(&crate::SignIn::user_of(name)).await?;
        let could_not = |why: String, no_answer: bool| {
            transcript.note(name, format!("✕ could not connect: {why}"));
            let headline = format!("{name} could not open a WebSocket to {url}: {why}");
            let failure = if no_answer { Failure::no_answer(headline) } else { Failure::new(headline) };
            failure.sent(transcript.render()).expected(
                "HTTP/1.1 101 Switching Protocols, then a WebSocket (the upgrade handshake of \
                 GET /ws with Upgrade: websocket and Sec-WebSocket-Version: 13)",
            )
        };
        let stream = match timeout(ANSWER_TIMEOUT, open_tcp(addr, options)).await {
            Err(_) => return Err(could_not("the TCP connection did not open within 5 s".into(), true)),
            Ok(Err(e)) => return Err(could_not(format!("TCP connect failed ({e})"), true)),
            Ok(Ok(stream)) => stream,
        };
        let muted = Arc::new(AtomicBool::new(false));
        let muzzle = Muzzle { inner: stream, muted: Arc::clone(&muted) };
        // The handshake runs in the task that then reads, so that reading
        // (and answering pings) starts the moment the socket is open — not
        // when the check next gets round to this client.
        let (deliver, inbox) = mpsc::unbounded_channel();
        let (pause, paused) = watch::channel(false);
        let (opened, open) = oneshot::channel();
        let reader = tokio::spawn({
            let (url, transcript, name) = (url.clone(), transcript.clone(), name.to_owned());
            async move {
                use tungstenite::client::IntoClientRequest as _;
                let mut request = url.as_str().into_client_request().expect("a valid ws:// URL");
                if let Some(cookie) = cookie.and_then(|cookie| cookie.parse().ok()) {
                    request.headers_mut().insert(tungstenite::http::header::COOKIE, cookie);
                }
                let handshake = timeout(ANSWER_TIMEOUT, tokio_tungstenite::client_async(request, muzzle));
                let socket = match handshake.await {
                    Ok(Ok((socket, _response))) => socket,
                    Ok(Err(e)) => return drop(opened.send(Err(Some(e)))),
                    Err(_) => return drop(opened.send(Err(None))),
                };
                transcript.note(&name, "connects: GET /ws → 101 Switching Protocols");
                let (sink, stream) = socket.split();
                if opened.send(Ok(sink)).is_ok() {
                    read(stream, deliver, paused, transcript, name).await;
                }
            }
        });
        let sink = match open.await {
            Ok(Ok(sink)) => sink,
            Ok(Err(None)) | Err(_) => {
                return Err(could_not("no answer to the upgrade request within 5 s".into(), true)
                    .got("(no response)"));
            }
            Ok(Err(Some(tungstenite::Error::Http(response)))) => {
                let status = response.status();
                let mut got =
                    format!("< HTTP/1.1 {} {}\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
                for (name, value) in response.headers() {
                    got += &format!("< {name}: {}\n", String::from_utf8_lossy(value.as_bytes()));
                }
                got += "<\n";
                if let Some(body) = response.body() {
                    got += &shorten(&String::from_utf8_lossy(body));
                }
                return Err(could_not(format!("the server answered {status} instead of 101"), false).got(got));
            }
            Ok(Err(Some(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::HandshakeIncomplete,
            )))) => {
                return Err(could_not("the connection closed before any response".into(), true)
                    .got("(no response: the connection closed)"));
            }
            Ok(Err(Some(e))) => {
                return Err(could_not(format!("the handshake failed ({e})"), true).got(format!("{e}")));
            }
        };
        Ok(WsClient {
            name: name.to_owned(),
            transcript: transcript.clone(),
            sink: Arc::new(tokio::sync::Mutex::new(sink)),
            inbox,
            muted,
            pause,
            reader,
            keepalive: None,
        })
    }

    /// The client's label in the transcript.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transcript this client writes to.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// A failure with the conversation so far as its transcript.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(format!("{}: {}", self.name, headline.into()))
            .sent(self.transcript.render())
            .expected(expected)
    }

    // -- sending -----------------------------------------------------------

    /// Sends a message, waiting until it is written.
    pub async fn send(&mut self, message: Message) -> Result<(), Failure> {
        self.transcript.note(&self.name, format!("→ {}", describe_outgoing(&message)));
        let sink = Arc::clone(&self.sink);
        let sent = timeout(ANSWER_TIMEOUT, async move { sink.lock().await.send(message).await }).await;
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure::no_answer(format!(
                "{}: could not send, the connection is closed ({e})",
                self.name
            ))
            .sent(self.transcript.render())
            .expected("an open WebSocket")),
            Err(_) => Err(self
                .fail(
                    "could not send within 5 s: the server has stopped reading this connection",
                    "a server that keeps reading every connection",
                )
                .got("(the message is still waiting to be written)")),
        }
    }

    /// Sends `value` as a text message.
    pub async fn send_json(&mut self, value: &Value) -> Result<(), Failure> {
        self.send(Message::text(value.to_string())).await
    }

    /// Sends `text` as it is: the way to send malformed JSON on purpose.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Failure> {
        self.send(Message::text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Failure> {
        self.send(Message::Binary(data.into())).await
    }

    /// Starts a clean close: sends a close frame with `code`. The server's
    /// answering close frame shows up in the inbox.
    pub async fn close(&mut self, code: u16) -> Result<(), Failure> {
        let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
        self.send(Message::Close(Some(frame))).await
    }

    /// Drops the TCP connection without a close frame, as a crashed browser
    /// or a lost network would.
    pub fn drop_tcp(self) {
        self.transcript.note(&self.name, "✕ drops the TCP connection, without a close frame");
        // Drop aborts the reader, which owns the other half of the socket.
    }

    /// From now on the client answers nothing — not even pings — yet keeps
    /// the TCP connection open and keeps reading: a laptop whose lid was
    /// shut. Only a server with an idle timeout notices.
    pub fn mute(&self) {
        self.transcript.note(&self.name, "✕ goes silent: answers no pings, sends nothing, keeps TCP open");
        self.muted.store(true, Ordering::SeqCst);
    }

    /// From now on the client reads nothing, so what the server sends piles
    /// up in its buffers; it stays alive by sending an unsolicited pong every
    /// `pong_every` (RFC 6455 allows a pong as a one-way heartbeat), so the
    /// server has no reason to drop it. A client that cannot keep up.
    pub fn stall(&mut self, pong_every: Duration) {
        self.transcript.note(
            &self.name,
            format!("✕ stops reading; sends a pong every {} ms to stay alive", pong_every.as_millis()),
        );
        self.pause.send_replace(true);
        let sink = Arc::clone(&self.sink);
        self.keepalive = Some(tokio::spawn(async move {
            let mut every = tokio::time::interval(pong_every);
            loop {
                every.tick().await;
                let mut sink = sink.lock().await;
                if sink.send(Message::Pong(Bytes::new())).await.is_err() {
                    break;
                }
            }
        }));
    }

    /// Reads again after [`WsClient::stall`]: what piled up arrives, in order.
    pub fn resume(&mut self) {
        self.transcript.note(&self.name, "✓ reads again");
        if let Some(keepalive) = self.keepalive.take() {
            keepalive.abort();
        }
        self.pause.send_replace(false);
    }

    // -- receiving ---------------------------------------------------------

    /// The next thing that arrives, pings and pongs included.
    pub async fn next_frame(&mut self, expected: &str) -> Result<Incoming, Failure> {
        self.next_frame_before(Instant::now() + ANSWER_TIMEOUT, expected).await
    }

    async fn next_frame_before(&mut self, deadline: Instant, expected: &str) -> Result<Incoming, Failure> {
        match timeout_at(deadline, self.inbox.recv()).await {
            Ok(Some(incoming)) => Ok(incoming),
            // The reader has stopped after delivering how the connection ended.
            Ok(None) => Ok(Incoming::Ended("the connection had already ended".to_owned())),
            Err(_) => Err(self.no_answer("nothing arrived in the time allowed", expected)),
        }
    }

    /// The next message or close, skipping pings and pongs. The time limit
    /// holds for the whole wait: a server that pings but never answers
    /// still fails the check.
    pub async fn next(&mut self, expected: &str) -> Result<Incoming, Failure> {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let incoming = self.next_frame_before(deadline, expected).await?;
            if !incoming.is_control() {
                return Ok(incoming);
            }
        }
    }

    /// The next message, which must be a JSON text message.
    pub async fn next_json(&mut self, expected: &str) -> Result<Value, Failure> {
        match self.next(expected).await? {
            Incoming::Text(text) => serde_json::from_str(&text).map_err(|e| {
                self.fail(format!("received a text message that is not JSON ({e})"), expected)
                    .got(shorten(&text))
            }),
            other => Err(self.unexpected(&other, expected)),
        }
    }

    /// Requires the next message to be JSON matching `want`: every field of
    /// `want` present with the same value (other fields are allowed).
    /// Returns the message.
    pub async fn expect_json(&mut self, want: &Value, why: &str) -> Result<Value, Failure> {
        let expected = format!("{want}\n({why})");
        let got = self.next_json(&expected).await?;
        if json_matches(want, &got) { Ok(got) } else { Err(self.wrong_message(&got, &expected)) }
    }

    /// Like [`WsClient::next_json`], waiting up to `within` instead of the
    /// usual five seconds.
    pub async fn next_json_within(&mut self, expected: &str, within: Duration) -> Result<Value, Failure> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_frame_before(deadline, expected).await? {
                incoming if incoming.is_control() => continue,
                Incoming::Text(text) => {
                    return serde_json::from_str::<Value>(&text).map_err(|e| {
                        self.fail(format!("received a text message that is not JSON ({e})"), expected)
                            .got(shorten(&text))
                    });
                }
                other => return Err(self.unexpected(&other, expected)),
            }
        }
    }

    /// Like [`WsClient::expect_json`], waiting up to `within` instead of
    /// the usual five seconds: for what comes only after a timeout of the
    /// server's.
    pub async fn expect_json_within(
        &mut self,
        want: &Value,
        why: &str,
        within: Duration,
    ) -> Result<Value, Failure> {
        let expected = format!("{want}\n({why})");
        let got = self.next_json_within(&expected, within).await?;
        if json_matches(want, &got) { Ok(got) } else { Err(self.wrong_message(&got, &expected)) }
    }

    /// Requires the connection to end within `within`: a close frame (any
    /// code) or the TCP connection closing.
    pub async fn expect_end_within(&mut self, why: &str, within: Duration) -> Result<(), Failure> {
        let expected = format!("the server ends the connection\n({why})");
        let deadline = Instant::now() + within;
        loop {
            match self.next_frame_before(deadline, &expected).await? {
                Incoming::Close(_) | Incoming::Ended(_) => return Ok(()),
                incoming if incoming.is_control() => continue,
                other => return Err(self.unexpected(&other, &expected)),
            }
        }
    }

    /// Requires the next frame other than a pong to be a ping (pongs are the
    /// server answering the client's own pings).
    pub async fn next_ping(&mut self, expected: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            match self.next_frame_before(deadline, expected).await? {
                Incoming::Ping => return Ok(()),
                Incoming::Pong => continue,
                other => return Err(self.unexpected(&other, expected)),
            }
        }
    }

    /// Requires the next thing to be a close frame with `code`.
    pub async fn expect_close(&mut self, code: u16, why: &str) -> Result<(), Failure> {
        let expected = format!("a close frame with code {code}\n({why})");
        match self.next(&expected).await? {
            Incoming::Close(Some((got, _))) if got == code => Ok(()),
            other => Err(self.unexpected(&other, &expected)),
        }
    }

    /// Requires the next thing to be a close frame with `code`, or the TCP
    /// connection ending without one (axum's answer to a protocol error).
    pub async fn expect_close_or_tcp_closed(&mut self, code: u16, why: &str) -> Result<(), Failure> {
        let expected = format!("a close frame with code {code}, or the TCP connection closed\n({why})");
        match self.next(&expected).await? {
            Incoming::Close(Some((got, _))) if got == code => Ok(()),
            Incoming::Ended(_) => Ok(()),
            other => Err(self.unexpected(&other, &expected)),
        }
    }

    /// Requires the connection to end: a close frame (any code) or the TCP
    /// connection closing.
    pub async fn expect_end(&mut self, why: &str) -> Result<(), Failure> {
        let expected = format!("the server ends the connection\n({why})");
        match self.next(&expected).await? {
            Incoming::Close(_) | Incoming::Ended(_) => Ok(()),
            other => Err(self.unexpected(&other, &expected)),
        }
    }

    /// The failure for a message that is not the one expected. Its first
    /// line says what came, and what should have: `expected` is the wanted
    /// message and, after it, why — the behaviour the server got wrong.
    pub fn wrong_message(&self, got: &Value, expected: &str) -> Failure {
        let headline = format!("got {} instead of {}", shorten(&got.to_string()), one_line(expected));
        self.fail(headline, expected).got(got.to_string())
    }

    fn unexpected(&self, got: &Incoming, expected: &str) -> Failure {
        let came = match got {
            Incoming::Ended(how) => format!("the connection ended ({how})"),
            Incoming::Close(_) => format!("the server closed the connection ({})", got.describe()),
            Incoming::Text(text) => format!("got {}", shorten(text)),
            other => format!("got {}", other.describe()),
        };
        let failure =
            self.fail(format!("{came} instead of {}", one_line(expected)), expected).got(got.describe());
        Failure { no_answer: matches!(got, Incoming::Ended(_)), ..failure }
    }

    fn no_answer(&self, why: &str, expected: &str) -> Failure {
        Failure::no_answer(format!("{}: {why}, instead of {}", self.name, one_line(expected)))
            .sent(self.transcript.render())
            .expected(expected)
            .got(format!("({why})"))
    }
}

/// Whether `got` has every field of `want` with the same value. Objects
/// are compared field by field, recursively; anything else must be equal.
pub fn json_matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(want), Value::Object(got)) => {
            want.iter().all(|(key, value)| got.get(key).is_some_and(|g| json_matches(value, g)))
        }
        _ => want == got,
    }
}

async fn open_tcp(addr: SocketAddr, options: ConnectOptions) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(size) = options.recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Reads everything the server sends into the inbox, until the connection
/// ends, pausing while the client is stalled.
async fn read(
    mut stream: SplitStream<Socket>,
    deliver: mpsc::UnboundedSender<Incoming>,
    mut paused: watch::Receiver<bool>,
    transcript: Transcript,
    name: String,
) {
    let show_pings = transcript.shows_pings();
    loop {
        let next = tokio::select! {
            biased;
            Ok(()) = paused.changed() => {
                // Stalled: read nothing until resumed (or the client is dropped).
                if paused.wait_for(|paused| !*paused).await.is_err() {
                    std::future::pending::<()>().await;
                }
                continue;
            }
            next = stream.next() => next,
        };
        let incoming = match next {
            Some(Ok(Message::Text(text))) => Incoming::Text(text.as_str().to_owned()),
            Some(Ok(Message::Binary(data))) => Incoming::Binary(data.len()),
            Some(Ok(Message::Ping(_))) => Incoming::Ping,
            Some(Ok(Message::Pong(_))) => Incoming::Pong,
            Some(Ok(Message::Close(frame))) => {
                Incoming::Close(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())))
            }
            Some(Ok(Message::Frame(_))) => continue,
            None => Incoming::Ended("the connection closed".to_owned()),
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ))) => Incoming::Ended("the TCP connection closed, without a close frame".to_owned()),
            Some(Err(tungstenite::Error::Io(e))) => {
                Incoming::Ended(format!("the TCP connection broke ({e})"))
            }
            Some(Err(e)) => Incoming::Ended(format!("the connection failed ({e})")),
        };
        if show_pings || !incoming.is_control() {
            transcript.note(&name, format!("← {}", incoming.describe()));
        }
        let ended = matches!(incoming, Incoming::Ended(_));
        if deliver.send(incoming).is_err() || ended {
            return;
        }
    }
}

/// The client's TCP stream, with a switch that makes it silent: once muted,
/// whatever the client writes (pongs included) is dropped on the floor while
/// reads go on. The server sees a connection that is open and says nothing.
#[derive(Debug)]
struct Muzzle {
    inner: TcpStream,
    muted: Arc<AtomicBool>,
}

impl AsyncRead for Muzzle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Muzzle {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.muted.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.muted.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.muted.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Raises this process's limit on open files to at least `wanted`, as far
/// as the hard limit allows (macOS starts shells at 256; a check with 200
/// clients holds 400 sockets, the server's ends included). Returns the limit
/// now in force.
pub fn raise_open_files_limit(wanted: u64) -> io::Result<u64> {
    rlimit::increase_nofile_limit(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_matches_allows_extra_fields_but_not_different_values() {
        let want = json!({"type": "joined", "user": "Bob"});
        assert!(json_matches(&want, &json!({"type": "joined", "user": "Bob", "boardId": "board-1"})));
        assert!(!json_matches(&want, &json!({"type": "joined", "user": "Alice"})));
        assert!(!json_matches(&want, &json!({"type": "joined"})));
        assert!(!json_matches(&json!({"users": ["Alice"]}), &json!({"users": ["Alice", "Bob"]})));
    }

    #[test]
    fn the_transcript_keeps_the_latest_lines() {
        let transcript = Transcript::new();
        for n in 0..KEPT_LINES + 5 {
            transcript.note("alice", format!("→ message {n}"));
        }
        let text = transcript.render();
        assert!(text.contains("… (5 earlier lines)"));
        assert!(text.contains(&format!("→ message {}", KEPT_LINES + 4)));
        assert!(!text.contains("→ message 4\n"));
    }

    #[test]
    fn long_frames_are_cut_short() {
        let long = "x".repeat(1000);
        let shown = shorten(&long);
        assert!(shown.len() < 300);
        assert!(shown.ends_with("(1000 bytes in all)"));
    }
}
