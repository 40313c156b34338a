//! A raw TCP client, for the bytes no well-behaved client sends.
//!
//! hyper and tokio-tungstenite only send well-formed requests, and they
//! hand back a response once it is complete. Checks that must send *exactly*
//! these bytes — a header name in odd case, a request one byte at a time,
//! 16 KiB of headers, a TLS hello where HTTP was expected — and see exactly
//! what came back use a [`RawClient`]:
//!
//! - [`RawClient::send`] writes bytes all at once, [`RawClient::send_byte_by_byte`]
//!   one write per byte (with `TCP_NODELAY`, so each byte leaves on its own);
//! - [`RawClient::read_response_head`] reads up to the blank line that ends an
//!   HTTP response head and parses it; [`RawClient::read_body`] reads a body
//!   by its `Content-Length`;
//! - [`RawClient::read_exact`] reads raw bytes, such as the WebSocket frames
//!   that follow a `101 Switching Protocols`, and
//!   [`RawClient::expect_closed`] requires the server to close the connection;
//! - [`RawClient::fail`] turns everything sent and received so far into a
//!   [`Failure`] transcript: `>` lines for what went out and `<` lines for
//!   what came back, HTTP as text, other bytes as hex.
//!
//! Every read and write is bounded by [`ANSWER_TIMEOUT`], so a server that
//! never answers makes the check fail fast instead of hanging it.
//!
//! ```ignore
//! let mut client = RawClient::connect(t.addr()).await?;
//! client.send("GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
//! let head = client.read_response_head().await?;
//! if head.status != 426 {
//!     return Err(client.fail("a plain GET was not refused with 426", "426 Upgrade Required"));
//! }
//! ```

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Failure;
use crate::http::ANSWER_TIMEOUT;

/// A response head longer than this is not a response this course sends.
const MAX_RESPONSE_HEAD_BYTES: usize = 64 * 1024;

/// Headers a response head may have, at most.
const MAX_RESPONSE_HEADERS: usize = 64;

/// Sent bytes shown in a transcript before it is cut short.
const SHOWN_SENT_BYTES: usize = 1500;

/// Characters of one line of text shown in a transcript before it is cut short.
const SHOWN_LINE_CHARS: usize = 100;

/// Received raw bytes (not HTTP text) shown in a transcript before it is cut short.
const SHOWN_RAW_BYTES: usize = 256;

/// How bytes were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// In one write.
    AllAtOnce,
    /// One write per byte.
    ByteByByte,
}

/// One step of the conversation, in order, for the transcript.
#[derive(Debug)]
enum Entry {
    Sent {
        bytes: Vec<u8>,
        pace: Pace,
    },
    /// Received and read as HTTP text (a response head or body).
    Text(Vec<u8>),
    /// Received and read as raw bytes (e.g. WebSocket frames).
    Raw(Vec<u8>),
    /// Something that happened: the connection closed, nothing came.
    Note(String),
}

/// A TCP connection to the server under test that writes exactly the bytes
/// it is given and remembers the whole conversation.
#[derive(Debug)]
pub struct RawClient {
    addr: SocketAddr,
    stream: TcpStream,
    /// Bytes received but not read by the check yet.
    unread: Vec<u8>,
    log: Vec<Entry>,
    received_any: bool,
}

impl RawClient {
    /// Connects to `addr`, with `TCP_NODELAY` so that small writes leave at once.
    pub async fn connect(addr: SocketAddr) -> Result<Self, Failure> {
        let stream = match timeout(ANSWER_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Failure::no_answer(format!("could not connect to {addr}: {e}"))),
            Err(_) => {
                return Err(Failure::no_answer(format!(
                    "could not connect to {addr} within {} s",
                    ANSWER_TIMEOUT.as_secs()
                )));
            }
        };
        // Without it, Nagle's algorithm could hold back the bytes of a
        // byte-by-byte send and deliver them together.
        let _ = stream.set_nodelay(true);
        Ok(RawClient { addr, stream, unread: Vec::new(), log: Vec::new(), received_any: false })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Writes `bytes` in one go.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
        self.send_paced(bytes.as_ref(), Pace::AllAtOnce).await
    }

    /// Writes `bytes` one byte per write, flushing each: the server sees the
    /// request arrive in as many pieces as the network cares to make.
    pub async fn send_byte_by_byte(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
        self.send_paced(bytes.as_ref(), Pace::ByteByByte).await
    }

    async fn send_paced(&mut self, bytes: &[u8], pace: Pace) -> Result<(), Failure> {
        match self.log.last_mut() {
            Some(Entry::Sent { bytes: sent, pace: last }) if *last == pace => sent.extend_from_slice(bytes),
            _ => self.log.push(Entry::Sent { bytes: bytes.to_vec(), pace }),
        }
        let stream = &mut self.stream;
        let write = async {
            match pace {
                Pace::AllAtOnce => stream.write_all(bytes).await?,
                Pace::ByteByByte => {
                    for byte in bytes {
                        stream.write_all(std::slice::from_ref(byte)).await?;
                        stream.flush().await?;
                    }
                }
            }
            stream.flush().await
        };
        let why = match timeout(ANSWER_TIMEOUT, write).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => format!("the connection broke while sending ({e})"),
            Err(_) => format!(
                "sending did not finish within {} s: the server stopped reading",
                ANSWER_TIMEOUT.as_secs()
            ),
        };
        self.note(format!("({why})"));
        Err(self.fail(why, "the server reads the whole request"))
    }

    /// Closes the sending half (TCP FIN): the server reads end-of-file.
    pub async fn shutdown_write(&mut self) {
        let _ = timeout(ANSWER_TIMEOUT, self.stream.shutdown()).await;
        self.note("(the check closed its sending half: the server reads end-of-file)");
    }

    /// Reads an HTTP response head: the status line and the headers, up to
    /// and including the blank line. Bytes after it stay unread.
    pub async fn read_response_head(&mut self) -> Result<ResponseHead, Failure> {
        loop {
            if let Some(head) = self.parse_head()? {
                return Ok(head);
            }
            if self.unread.len() > MAX_RESPONSE_HEAD_BYTES {
                let bytes = std::mem::take(&mut self.unread);
                self.log.push(Entry::Text(bytes));
                return Err(self.fail(
                    format!("the response head is longer than {MAX_RESPONSE_HEAD_BYTES} bytes"),
                    "an HTTP response head ending in a blank line",
                ));
            }
            self.fill("an HTTP response").await?;
        }
    }

    fn parse_head(&mut self) -> Result<Option<ResponseHead>, Failure> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = match response.parse(&self.unread) {
            Ok(httparse::Status::Partial) => return Ok(None),
            Ok(httparse::Status::Complete(len)) => Ok((
                len,
                ResponseHead {
                    status: response.code.unwrap_or_default(),
                    reason: response.reason.unwrap_or_default().to_owned(),
                    headers: response
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                        .collect(),
                },
            )),
            Err(e) => Err(e),
        };
        match parsed {
            Ok((len, head)) => {
                let bytes = self.unread.drain(..len).collect();
                self.log.push(Entry::Text(bytes));
                Ok(Some(head))
            }
            Err(e) => {
                let bytes = std::mem::take(&mut self.unread);
                self.log.push(Entry::Raw(bytes));
                Err(self.fail(
                    format!("the server's answer is not an HTTP response ({e})"),
                    "an HTTP/1.1 response: a status line, headers, a blank line",
                ))
            }
        }
    }

    /// Reads the body of a response: `Content-Length` bytes, or, without
    /// that header, everything until the server closes the connection
    /// (HTTP/1.1's close-delimited body). A `1xx`, `204` or `304` has none.
    /// Chunked bodies are not supported: no server of this course sends one
    /// where a raw client reads.
    pub async fn read_body(&mut self, head: &ResponseHead) -> Result<Vec<u8>, Failure> {
        if head.status < 200 || head.status == 204 || head.status == 304 {
            return Ok(Vec::new());
        }
        let mut closed = false;
        let body = match head.header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
            Some(length) => {
                while self.unread.len() < length {
                    self.fill("the response body").await?;
                }
                self.unread.drain(..length).collect()
            }
            None => loop {
                let mut chunk = [0u8; 4096];
                match timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => self.unread.extend_from_slice(&chunk[..n]),
                    Ok(Ok(_)) | Ok(Err(_)) => {
                        closed = true;
                        break std::mem::take(&mut self.unread);
                    }
                    Err(_) => {
                        self.note(format!(
                            "(a body without Content-Length, and the connection still open after {} s)",
                            ANSWER_TIMEOUT.as_secs()
                        ));
                        return Err(self.fail(
                            "the response has no Content-Length and the connection stays open: \
                             where does its body end?",
                            "a Content-Length header, or the connection closed after the body",
                        ));
                    }
                }
            },
        };
        self.log.push(Entry::Text(body.clone()));
        if closed {
            self.note("(the server closed the connection: the end of the body)");
        }
        Ok(body)
    }

    /// Reads exactly `n` raw bytes; `what` names them for a failure
    /// ("the greeting frame's header").
    pub async fn read_exact(&mut self, n: usize, what: &str) -> Result<Vec<u8>, Failure> {
        while self.unread.len() < n {
            self.fill(what).await?;
        }
        let bytes: Vec<u8> = self.unread.drain(..n).collect();
        match self.log.last_mut() {
            Some(Entry::Raw(raw)) => raw.extend_from_slice(&bytes),
            _ => self.log.push(Entry::Raw(bytes.clone())),
        }
        Ok(bytes)
    }

    /// Requires the server to close the connection next, with nothing more
    /// sent before it. A reset counts as closed.
    pub async fn expect_closed(&mut self, expected: &str) -> Result<(), Failure> {
        if !self.unread.is_empty() {
            let bytes = std::mem::take(&mut self.unread);
            self.log.push(Entry::Raw(bytes));
            return Err(self.fail("more bytes came where the connection should have closed", expected));
        }
        let mut chunk = [0u8; 1024];
        match timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                self.note("(the server closed the connection)");
                Ok(())
            }
            Ok(Err(e)) if is_reset(&e) => {
                self.note(format!("(the server closed the connection: {e})"));
                Ok(())
            }
            Ok(Ok(n)) => {
                self.log.push(Entry::Raw(chunk[..n].to_vec()));
                Err(self.fail("more bytes came where the connection should have closed", expected))
            }
            Ok(Err(e)) => {
                self.note(format!("(the connection broke: {e})"));
                Err(self.fail(format!("the connection broke instead of closing ({e})"), expected))
            }
            Err(_) => {
                self.note(format!("(the connection stayed open for {} s)", ANSWER_TIMEOUT.as_secs()));
                Err(self.fail(
                    format!("the server did not close the connection within {} s", ANSWER_TIMEOUT.as_secs()),
                    expected,
                ))
            }
        }
    }

    /// Requires the server to keep the connection open, sending nothing,
    /// for `window`: the one way to see a server that hangs up before its
    /// peer has answered. It returns as soon as anything happens, so it only
    /// takes `window` when the server behaves; `about` says what the server
    /// should be waiting for ("the client's close frame").
    pub async fn expect_open_for(
        &mut self,
        window: std::time::Duration,
        about: &str,
        expected: &str,
    ) -> Result<(), Failure> {
        if !self.unread.is_empty() {
            let bytes = std::mem::take(&mut self.unread);
            self.log.push(Entry::Raw(bytes));
            return Err(
                self.fail(format!("more bytes came while the server should wait for {about}"), expected)
            );
        }
        let mut chunk = [0u8; 1024];
        match timeout(window, self.stream.read(&mut chunk)).await {
            Err(_) => Ok(()),
            Ok(Ok(0)) => {
                self.note("(the server closed the connection)");
                Err(self
                    .fail(format!("the server closed the connection without waiting for {about}"), expected))
            }
            Ok(Err(e)) => {
                self.note(format!("(the connection broke: {e})"));
                Err(self
                    .fail(format!("the server closed the connection without waiting for {about}"), expected))
            }
            Ok(Ok(n)) => {
                self.log.push(Entry::Raw(chunk[..n].to_vec()));
                Err(self.fail(format!("more bytes came while the server should wait for {about}"), expected))
            }
        }
    }

    /// Reads more bytes into `unread`, or fails saying what the check was
    /// waiting for.
    async fn fill(&mut self, waiting_for: &str) -> Result<(), Failure> {
        let mut chunk = [0u8; 4096];
        let why = match timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.unread.extend_from_slice(&chunk[..n]);
                self.received_any = true;
                return Ok(());
            }
            Ok(Ok(_)) => "the server closed the connection".to_owned(),
            Ok(Err(e)) => format!("the connection broke ({e})"),
            Err(_) => format!("nothing came within {} s", ANSWER_TIMEOUT.as_secs()),
        };
        self.note(format!("({why})"));
        let unread = std::mem::take(&mut self.unread);
        if !unread.is_empty() {
            self.log.push(Entry::Raw(unread));
        }
        let headline = if self.received_any {
            format!("{why} in the middle of {waiting_for}")
        } else {
            format!("{} got no answer: {why}", self.first_line())
        };
        let failure = self.fail(headline, waiting_for);
        Err(if self.received_any { failure } else { Failure { no_answer: true, ..failure } })
    }

    /// The first line the check sent (`GET /ws HTTP/1.1`), for headlines.
    fn first_line(&self) -> String {
        let first = self.log.iter().find_map(|entry| match entry {
            Entry::Sent { bytes, .. } => Some(bytes),
            _ => None,
        });
        let line = first.and_then(|bytes| bytes.split(|&b| b == b'\r').next()).unwrap_or_default();
        match std::str::from_utf8(line) {
            Ok(line)
                if !line.is_empty()
                    && line.len() <= SHOWN_LINE_CHARS
                    && line.chars().all(|c| !c.is_control()) =>
            {
                line.to_owned()
            }
            _ => "the request".to_owned(),
        }
    }

    fn note(&mut self, note: impl Into<String>) {
        self.log.push(Entry::Note(note.into()));
    }

    /// A failure whose transcript is the conversation so far.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(headline).sent(self.sent_transcript()).expected(expected).got(self.got_transcript())
    }

    /// What the check sent, `>`-prefixed as `curl -v` shows a request.
    pub fn sent_transcript(&self) -> String {
        let mut out = String::new();
        for entry in &self.log {
            if let Entry::Sent { bytes, pace } = entry {
                out += &text_lines(bytes, "> ", SHOWN_SENT_BYTES);
                if *pace == Pace::ByteByByte {
                    out += "(sent one byte at a time)\n";
                }
            }
        }
        if out.is_empty() { "(nothing)\n".to_owned() } else { out }
    }

    /// What came back, `<`-prefixed: HTTP as text, other bytes as hex, and
    /// what happened to the connection.
    pub fn got_transcript(&self) -> String {
        let mut out = String::new();
        for entry in &self.log {
            match entry {
                Entry::Sent { .. } => {}
                Entry::Text(bytes) => out += &text_lines(bytes, "< ", SHOWN_SENT_BYTES),
                Entry::Raw(bytes) => out += &hex_lines(bytes, "< "),
                Entry::Note(note) => {
                    out += note;
                    out.push('\n');
                }
            }
        }
        if !self.unread.is_empty() {
            out += "(received, not read yet:)\n";
            out += &hex_lines(&self.unread, "< ");
        }
        if out.is_empty() { "(nothing)\n".to_owned() } else { out }
    }
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    /// Header names as the server wrote them, in order.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first value of a header; names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order (a header may come on several lines).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header (`Connection: Upgrade, close`) holds
    /// `token`, in any case, on any of its lines.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// `101 Switching Protocols`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

/// Whether an error means the peer reset the connection.
fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted)
}

/// Bytes as text lines, each prefixed: `\r\n` ends a line, bytes that
/// aren't printable ASCII are shown as `\xNN`. Lines over
/// [`SHOWN_LINE_CHARS`] bytes, and the whole after `shown` bytes, are cut short.
fn text_lines(bytes: &[u8], prefix: &str, shown: usize) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if bytes.len() - rest.len() >= shown {
            let _ = writeln!(out, "{prefix}… (cut short: {} bytes in all)", bytes.len());
            break;
        }
        let (line, ended) = match rest.windows(2).position(|pair| pair == b"\r\n") {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        rest = &rest[line.len() + if ended { 2 } else { 0 }..];
        let mut text = String::new();
        for &byte in line.iter().take(SHOWN_LINE_CHARS) {
            if (b' '..=b'~').contains(&byte) {
                text.push(byte as char);
            } else {
                let _ = write!(text, "\\x{byte:02x}");
            }
        }
        if line.len() > SHOWN_LINE_CHARS {
            let _ = write!(text, "… ({} bytes on this line)", line.len());
        }
        let _ = writeln!(out, "{}", format!("{prefix}{text}").trim_end());
        if !ended {
            out += "(no line end)\n";
        }
    }
    out
}

/// Bytes as a hex dump, 16 to a line, with their printable ASCII alongside.
fn hex_lines(bytes: &[u8], prefix: &str) -> String {
    let mut out = String::new();
    for row in bytes[..bytes.len().min(SHOWN_RAW_BYTES)].chunks(16) {
        let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        let text: String =
            row.iter().map(|&b| if (b' '..=b'~').contains(&b) { b as char } else { '.' }).collect();
        let _ = writeln!(out, "{prefix}{:<47}  |{text}|", hex.join(" "));
    }
    if bytes.len() > SHOWN_RAW_BYTES {
        let _ = writeln!(out, "{prefix}… ({} bytes in all)", bytes.len());
    }
    out
}
