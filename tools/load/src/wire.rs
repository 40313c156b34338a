//! Bytes on the wire per delivered message, and how late it arrives: the
//! same board change delivered by polling, by Server-Sent Events and by a
//! WebSocket, against the chapter-6 board server (it speaks all three).
//!
//! Every connection the client opens goes through [`Counted`], which adds
//! up the bytes each `read` and `write` moved over the TCP socket: the
//! HTTP, SSE and WebSocket bytes, without TCP/IP headers (about 52 bytes
//! per segment more on loopback with timestamps, and one or two segments per
//! message here). The client is minimal: a browser also sends its
//! `User-Agent`, `Accept-*` and cookies with every request — with every
//! poll, and once with the SSE or WebSocket handshake.
//!
//! - **Polling**: after each new task, one `GET /boards/{b}/tasks` on a
//!   kept-alive connection: request + response, whole list each time.
//! - **SSE**: one `GET /boards/{b}/events`; per new task, the bytes of its
//!   `task_created` event (chunk framing included).
//! - **WebSocket**: two clients on one board; per message, the bytes the
//!   receiver reads for a `typing` the sender sent, and the bytes the sender
//!   wrote (its frames are masked: 4 bytes more).
//!
//! Bytes are deterministic: the same server gives the same counts on any
//! machine (the ids' digits aside, which is why a run uses at most nine
//! tasks per board for its byte counts). Latency is not: it depends on the
//! machine and what else runs on it.
//!
//! Run the server with long keep-alives (`KEEPALIVE_MS=600000
//! HEARTBEAT_MS=600000`), or an SSE comment or a WebSocket ping (and the
//! client's pong) landing mid-run adds its bytes to a message's.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::http::{self, Chunked, IO_TIMEOUT};
use crate::latency::{self, Latency};
use crate::sse::SseParser;

/// The body of each `POST` that creates a task.
const TITLE: &str = r#"{"title":"Ship it"}"#;

/// The most messages per board for the byte counts: task ids stay one digit.
pub const MAX_COUNTED: usize = 9;

/// What to run.
#[derive(Debug, Clone)]
pub struct WireOptions {
    /// Messages whose bytes are counted (1–9).
    pub messages: usize,
    /// Messages timed afterwards, per transport.
    pub rounds: usize,
}

/// A TCP stream that counts the bytes it reads and writes.
#[derive(Debug)]
pub struct Counted {
    inner: TcpStream,
    counts: Arc<Counts>,
}

/// The bytes a [`Counted`] stream moved so far.
#[derive(Debug, Default)]
pub struct Counts {
    read: AtomicU64,
    written: AtomicU64,
}

impl Counts {
    /// (read, written) so far.
    pub fn now(&self) -> (u64, u64) {
        (self.read.load(Ordering::Relaxed), self.written.load(Ordering::Relaxed))
    }
}

impl Counted {
    /// Connects to the server on loopback, Nagle off (as browsers have it).
    pub async fn connect(port: u16) -> Result<Counted> {
        let inner = timeout(IO_TIMEOUT, TcpStream::connect((crate::HOST, port)))
            .await
            .context("connecting timed out")?
            .with_context(|| format!("connecting to {}:{port}", crate::HOST))?;
        inner.set_nodelay(true)?;
        Ok(Counted { inner, counts: Arc::default() })
    }

    /// The counters, to read while the stream is in use elsewhere.
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.counts.read.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        }
        poll
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, bytes);
        if let Poll::Ready(Ok(written)) = poll {
            self.counts.written.fetch_add(written as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Bytes per message for one transport.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Opening the channel: the request and response heads (and, for SSE,
    /// the snapshot; for a WebSocket, the `join` and its `presence`).
    pub setup: u64,
    /// Each counted message: bytes client → server.
    pub up: Vec<u64>,
    /// Each counted message: bytes server → client.
    pub down: Vec<u64>,
    /// Each counted message: the JSON it carries (the task list, the event's
    /// data, the WebSocket message).
    pub payload: Vec<u64>,
}

impl Bytes {
    fn push(&mut self, up: u64, down: u64, payload: usize) {
        self.up.push(up);
        self.down.push(down);
        self.payload.push(payload as u64);
    }
}

/// What the run found.
#[derive(Debug)]
pub struct WireReport {
    pub polling: Bytes,
    /// A poll that finds nothing new, on the board the counted polls left.
    pub empty_poll: (u64, u64),
    pub sse: Bytes,
    pub websocket: Bytes,
    /// Sending a change over HTTP: one `POST` that creates a task, request
    /// and response (bytes up, bytes down, JSON sent).
    pub post: (u64, u64, u64),
    /// Sending a message over the WebSocket: the client's masked frame
    /// (bytes up, JSON sent).
    pub websocket_send: (u64, u64),
    /// The application heartbeat, `{"type":"ping"}` → `{"type":"pong"}`:
    /// (up, down); `None` from a server that does not answer it yet.
    pub heartbeat: Option<(u64, u64)>,
    /// `GET` → whole response, on a kept-alive connection.
    pub poll_round_trip: Latency,
    /// `POST` sent → `task_created` read by the subscriber.
    pub sse_latency: Latency,
    /// `typing` sent by one client → read by the other.
    pub websocket_latency: Latency,
}

/// Runs every measurement against the board server on `127.0.0.1:port`.
pub async fn run(port: u16, options: &WireOptions) -> Result<WireReport> {
    ensure!((1..=MAX_COUNTED).contains(&options.messages), "--messages must be 1 to {MAX_COUNTED}");
    let tag = fresh_tag();
    let (polling, empty_poll, poll_round_trip) = polling(port, &format!("wire-poll-{tag}"), options).await?;
    let (sse, post, sse_latency) = sse(port, &format!("wire-sse-{tag}"), options).await?;
    let (websocket, websocket_send, heartbeat, websocket_latency) =
        websocket(port, &format!("wire-ws-{tag}"), options).await?;
    Ok(WireReport {
        polling,
        empty_poll,
        sse,
        websocket,
        post,
        websocket_send,
        heartbeat,
        poll_round_trip,
        sse_latency,
        websocket_latency,
    })
}

/// Eight hex digits, so board names (and the bytes that carry them) have
/// the same length in every run.
fn fresh_tag() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{:08x}", (nanos as u32) ^ std::process::id())
}

/// A connection that creates tasks, counted apart from the delivery.
struct Creator {
    stream: Counted,
    port: u16,
    board: String,
}

impl Creator {
    async fn new(port: u16, board: &str) -> Result<Creator> {
        let stream = Counted::connect(port).await.context("connecting to create tasks")?;
        Ok(Creator { stream, port, board: board.to_owned() })
    }

    /// Creates a task; returns when the `201` has been read.
    async fn create(&mut self) -> Result<()> {
        let path = format!("/boards/{}/tasks", self.board);
        let request = http::request("POST", &path, self.port, Some(TITLE));
        self.stream.write_all(&request).await?;
        let (status, _) = read_response(&mut self.stream).await?;
        ensure!(status == 201, "POST {path} answered {status}, not 201");
        Ok(())
    }
}

/// A plain `GET`, as small as HTTP/1.1 allows.
fn get(path: &str, port: u16, accept: Option<&str>) -> Vec<u8> {
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {}:{port}\r\n{accept}\r\n", crate::HOST).into_bytes()
}

async fn polling(port: u16, board: &str, options: &WireOptions) -> Result<(Bytes, (u64, u64), Latency)> {
    let mut creator = Creator::new(port, board).await?;
    let mut poller = Counted::connect(port).await?;
    let counts = poller.counts();
    let path = format!("/boards/{board}/tasks");
    let poll = async |poller: &mut Counted| -> Result<usize> {
        poller.write_all(&get(&path, port, None)).await?;
        let (status, body) = read_response(poller).await?;
        ensure!(status == 200, "GET {path} answered {status}");
        Ok(body.len())
    };
    let mut bytes = Bytes::default();
    for _ in 0..options.messages {
        creator.create().await?;
        let before = counts.now();
        let payload = poll(&mut poller).await?;
        let after = counts.now();
        bytes.push(after.1 - before.1, after.0 - before.0, payload);
    }
    let before = counts.now();
    poll(&mut poller).await?;
    let after = counts.now();
    let empty = (after.1 - before.1, after.0 - before.0);
    let mut histogram = latency::histogram();
    for _ in 0..options.rounds {
        let started = Instant::now();
        poll(&mut poller).await?;
        latency::record(&mut histogram, started.elapsed());
    }
    Ok((bytes, empty, Latency::of(&histogram)))
}

/// Reads one response on a kept-alive connection: (status, body).
async fn read_response(stream: &mut Counted) -> Result<(u16, Vec<u8>)> {
    let mut buffer = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(length) = response.parse(&buffer)? {
            let status = response.code.unwrap_or_default();
            let body_length: usize = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| String::from_utf8_lossy(h.value).trim().parse())
                .transpose()?
                .context("a response without Content-Length")?;
            while buffer.len() < length + body_length {
                read_some(stream, &mut buffer).await?;
            }
            ensure!(buffer.len() == length + body_length, "bytes after the response");
            return Ok((status, buffer[length..].to_vec()));
        }
        read_some(stream, &mut buffer).await?;
    }
}

async fn read_some(stream: &mut Counted, buffer: &mut Vec<u8>) -> Result<()> {
    let read = timeout(IO_TIMEOUT, stream.read_buf(buffer)).await.context("no response within 30 s")??;
    if read == 0 {
        bail!("the server closed the connection");
    }
    Ok(())
}

async fn sse(port: u16, board: &str, options: &WireOptions) -> Result<(Bytes, (u64, u64, u64), Latency)> {
    let mut creator = Creator::new(port, board).await?;
    let post_counts = creator.stream.counts();
    let mut post = (0, 0, TITLE.len() as u64);
    let mut stream = Counted::connect(port).await?;
    let counts = stream.counts();
    stream.write_all(&get(&format!("/boards/{board}/events"), port, Some("text/event-stream"))).await?;
    let mut buffer = Vec::new();
    let head = loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(length) = response.parse(&buffer)? {
            ensure!(response.code == Some(200), "the event stream answered {:?}", response.code);
            let chunked = response.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("transfer-encoding") && h.value.eq_ignore_ascii_case(b"chunked")
            });
            buffer.drain(..length);
            break chunked;
        }
        read_some(&mut stream, &mut buffer).await?;
    };
    ensure!(head, "the event stream is not chunked; this mode reads HTTP/1.1 chunked streams only");
    let mut events =
        EventReader { stream, chunked: Chunked::default(), parser: SseParser::default(), pending: buffer };
    let snapshot = events.next().await?;
    ensure!(snapshot.name == "snapshot", "the stream opened with {:?}, not a snapshot", snapshot.name);
    let mut bytes = Bytes { setup: counts.now().0 + counts.now().1, ..Bytes::default() };
    let mut histogram = latency::histogram();
    for round in 0..options.messages + options.rounds {
        let before = counts.now();
        let post_before = post_counts.now();
        let started = Instant::now();
        // The event may arrive before the POST's answer: read both at once.
        let (created, event) = tokio::join!(creator.create(), events.next());
        created?;
        let event = event?;
        ensure!(event.name == "task_created", "expected task_created, got {:?}", event.name);
        if round < options.messages {
            let after = counts.now();
            bytes.push(after.1 - before.1, after.0 - before.0, event.data.len());
            let post_after = post_counts.now();
            post = (post_after.1 - post_before.1, post_after.0 - post_before.0, post.2);
        } else {
            latency::record(&mut histogram, started.elapsed());
        }
    }
    Ok((bytes, post, Latency::of(&histogram)))
}

/// Events off a chunked event stream, one at a time. Reads no further than
/// the event it returns needs (bytes of the next are kept for later).
struct EventReader {
    stream: Counted,
    chunked: Chunked,
    parser: SseParser,
    /// Raw bytes read but not decoded yet.
    pending: Vec<u8>,
}

impl EventReader {
    async fn next(&mut self) -> Result<crate::sse::SseEvent> {
        let mut ready = std::collections::VecDeque::new();
        loop {
            if !self.pending.is_empty() {
                let mut body = Vec::new();
                self.chunked.decode(&std::mem::take(&mut self.pending), &mut body)?;
                self.parser.feed(&body, |event| ready.push_back(event));
            }
            if let Some(event) = ready.pop_front() {
                ensure!(ready.is_empty(), "two events in one read; this mode creates one at a time");
                return Ok(event);
            }
            ensure!(!self.chunked.is_done(), "the event stream ended");
            read_some(&mut self.stream, &mut self.pending).await?;
        }
    }
}

async fn websocket(
    port: u16,
    board: &str,
    options: &WireOptions,
) -> Result<(Bytes, (u64, u64), Option<(u64, u64)>, Latency)> {
    let (mut receiver, receiver_counts) = open(port).await?;
    let join = |user: &str| format!(r#"{{"type":"join","boardId":"{board}","user":"{user}"}}"#);
    receiver.send(Message::text(join("Bob"))).await?;
    expect(&mut receiver, "presence").await?;
    let (mut sender, sender_counts) = open(port).await?;
    sender.send(Message::text(join("Amy"))).await?;
    expect(&mut sender, "presence").await?;
    expect(&mut receiver, "joined").await?;
    let (read, written) = receiver_counts.now();
    let mut bytes = Bytes { setup: read + written, ..Bytes::default() };

    let mut histogram = latency::histogram();
    let mut send = (0, 0);
    for round in 0..options.messages + options.rounds {
        // Counted: `typing` on a new task each time (one digit); timed:
        // `typing` and `typing_stopped` on task-1 in turn. Each is forwarded
        // (a refresh of the same task would not be).
        let message = if round < options.messages {
            format!(r#"{{"type":"typing","taskId":"task-{}"}}"#, round + 1)
        } else if (round - options.messages) % 2 == 0 {
            r#"{"type":"typing_stopped","taskId":"task-1"}"#.to_owned()
        } else {
            r#"{"type":"typing","taskId":"task-1"}"#.to_owned()
        };
        let sent_before = sender_counts.now().1;
        let before = receiver_counts.now();
        let started = Instant::now();
        let length = message.len() as u64;
        sender.send(Message::text(message)).await?;
        let got = next_text(&mut receiver).await?;
        if round < options.messages {
            let after = receiver_counts.now();
            bytes.push(after.1 - before.1, after.0 - before.0, got.len());
            send = (sender_counts.now().1 - sent_before, length);
        } else {
            latency::record(&mut histogram, started.elapsed());
        }
    }

    let (read, written) = sender_counts.now();
    sender.send(Message::text(r#"{"type":"ping"}"#)).await?;
    let heartbeat = match expect(&mut sender, "pong").await {
        Ok(()) => {
            let (read_after, written_after) = sender_counts.now();
            Some((written_after - written, read_after - read))
        }
        Err(error) => {
            eprintln!("no heartbeat measured: {error:#}");
            None
        }
    };
    Ok((bytes, send, heartbeat, Latency::of(&histogram)))
}

type Socket = WebSocketStream<Counted>;

async fn open(port: u16) -> Result<(Socket, Arc<Counts>)> {
    let stream = Counted::connect(port).await?;
    let counts = stream.counts();
    let url = format!("ws://{}:{port}/ws", crate::HOST);
    let (socket, _) = timeout(IO_TIMEOUT, tokio_tungstenite::client_async(url.as_str(), stream))
        .await
        .context("the WebSocket handshake timed out")??;
    Ok((socket, counts))
}

async fn next_text(socket: &mut Socket) -> Result<String> {
    use futures_util::StreamExt;
    loop {
        let message = timeout(IO_TIMEOUT, socket.next()).await.context("no message within 30 s")?;
        match message.context("the server closed the connection")?? {
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            other => bail!("expected a text message, got {other:?}"),
        }
    }
}

async fn expect(socket: &mut Socket, kind: &str) -> Result<()> {
    let text = next_text(socket).await?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?;
    ensure!(value["type"] == kind, "expected a {kind:?} message, got {text}");
    Ok(())
}

/// All equal → `40`; otherwise `40–41`.
fn range(values: &[u64]) -> String {
    let (min, max) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
    if min == max { min.to_string() } else { format!("{min}–{max}") }
}

impl std::fmt::Display for WireReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row = |f: &mut std::fmt::Formatter<'_>, name: &str, bytes: &Bytes, latency: String| {
            let total: Vec<u64> = bytes.up.iter().zip(&bytes.down).map(|(u, d)| u + d).collect();
            let overhead: Vec<u64> = total.iter().zip(&bytes.payload).map(|(t, p)| t - p).collect();
            writeln!(
                f,
                "| {name} | {} | {} | {} | {} | {} | {} | {latency} |",
                range(&bytes.up),
                range(&bytes.down),
                range(&total),
                range(&bytes.payload),
                range(&overhead),
                bytes.setup
            )
        };
        writeln!(
            f,
            "Delivering one change to one client, as that client's connection carries it (up: client → server):"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| Transport | Up, bytes | Down, bytes | Total per message | Payload (JSON) | Overhead | Setup, bytes | Latency p50 / p99 (loopback) |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---|")?;
        let both = |l: &Latency| format!("{} / {}", latency::millis(l.p50), latency::millis(l.p99));
        row(
            f,
            "Polling (one GET per change)",
            &self.polling,
            format!("round trip {}; plus the wait for the next poll", both(&self.poll_round_trip)),
        )?;
        row(f, "Server-Sent Events", &self.sse, format!("{} (POST → event)", both(&self.sse_latency)))?;
        row(f, "WebSocket", &self.websocket, format!("{} (sent → received)", both(&self.websocket_latency)))?;
        writeln!(f)?;
        writeln!(
            f,
            "Sending one change: an HTTP POST of {} bytes of JSON takes {} bytes up and {} down; a WebSocket message of {} bytes of JSON takes {} bytes up (masked).",
            self.post.2, self.post.0, self.post.1, self.websocket_send.1, self.websocket_send.0
        )?;
        write!(
            f,
            "A poll that finds nothing new costs the same: {} bytes up, {} down. ",
            self.empty_poll.0, self.empty_poll.1
        )?;
        match self.heartbeat {
            Some((up, down)) => writeln!(
                f,
                "The WebSocket heartbeat `{{\"type\":\"ping\"}}` → `{{\"type\":\"pong\"}}`: {up} bytes up, {down} down."
            )?,
            None => writeln!(f, "(This server does not answer the application heartbeat yet.)")?,
        }
        write!(
            f,
            "Latency: {} samples each; polling's round trip is the least it adds, the wait for the next poll (half the interval on average) comes on top.",
            self.sse_latency.count
        )
    }
}

/// Where and when a measurement ran, for the record that goes with its
/// figures: `2 cores (AMD EPYC), Linux 6.18.44, 2026-11-30 12:12 UTC`.
pub fn machine_and_date() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let seconds =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("{cores} cores ({model}), Linux {}, {}", kernel.trim(), utc(seconds))
}

/// `2026-11-30 12:12 UTC` from seconds since 1970 (the civil-from-days
/// algorithm: no calendar crate for one date).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let (hour, minute) = (seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(utc(1_796_040_720), "2026-11-30 12:12 UTC");
    }

    use super::*;

    #[test]
    fn a_range_shows_one_number_when_all_agree() {
        assert_eq!(range(&[40, 40]), "40");
        assert_eq!(range(&[41, 40, 42]), "40–42");
    }

    #[test]
    fn a_poll_is_a_minimal_get() {
        assert_eq!(
            String::from_utf8(get("/boards/b/tasks", 3000, None)).unwrap(),
            "GET /boards/b/tasks HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n"
        );
    }
}
