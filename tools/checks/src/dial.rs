//! Chapter 7's client: HTTP, event streams and WebSockets over plain TCP or
//! over TLS, with a transcript of each exchange.
//!
//! The earlier chapters' clients ([`crate::http`], [`crate::sse`],
//! [`crate::ws`]) speak plain TCP. Chapter 7's server may speak TLS, so its
//! checks go through a [`Dial`]: where the server is, and — for TLS — the
//! one certificate authority the client trusts, a throwaway one the check
//! made a moment ago. The TLS code itself lives in the `course-checks-tls`
//! crate, which only chapter 7's test binaries compile, and reaches the
//! checks as a [`TlsKit`] (so chapter 1's `cargo test` builds no rustls).
//!
//! Every request opens a connection of its own and sends `Host` the way a
//! browser would, so a server that compares `Origin` with `Host` sees what
//! it would see from a page.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::Failure;
use crate::http::{self, ANSWER_TIMEOUT};
use crate::sse::{Event, Item, Parser};

/// A byte stream a check talks over: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection, whichever it is.
pub type BoxIo = Box<dyn Io>;

/// What connecting over TLS returns.
pub type TlsConnecting = Pin<Box<dyn Future<Output = io::Result<BoxIo>> + Send>>;

/// A certificate authority made for one check, and a certificate it signed
/// for `localhost` and `127.0.0.1`, all in PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// TLS for the checks, handed over by the test binary in its `Locals`
/// (`course_checks_tls::kit()`).
#[derive(Debug, Clone, Copy)]
pub struct TlsKit {
    /// Makes a fresh CA and a server certificate signed by it.
    pub issue: fn() -> Result<Pki, String>,
    /// Runs a TLS handshake over `tcp` as a client that trusts only the CA
    /// in `ca_pem`, for the name `localhost`.
    pub connect: fn(tcp: TcpStream, ca_pem: String) -> TlsConnecting,
}

/// Where a check's server is, and how to reach it.
#[derive(Debug, Clone)]
pub struct Dial {
    addr: SocketAddr,
    tls: Option<(TlsKit, Arc<str>)>,
    recv_buffer: Option<u32>,
}

impl Dial {
    /// Plain TCP.
    pub fn plain(addr: SocketAddr) -> Self {
        Dial { addr, tls: None, recv_buffer: None }
    }

    /// TLS, trusting only the CA in `ca_pem`.
    pub fn tls(addr: SocketAddr, kit: TlsKit, ca_pem: &str) -> Self {
        Dial { addr, tls: Some((kit, Arc::from(ca_pem))), recv_buffer: None }
    }

    /// The same, with a small receive buffer (`SO_RCVBUF`), so that what a
    /// client doesn't read backs up into the server soon.
    pub fn with_recv_buffer(mut self, bytes: u32) -> Self {
        self.recv_buffer = Some(bytes);
        self
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `Host` a browser sends: `localhost:PORT` over TLS (the name on
    /// the certificate), `127.0.0.1:PORT` otherwise.
    pub fn host(&self) -> String {
        match self.tls {
            Some(_) => format!("localhost:{}", self.addr.port()),
            None => self.addr.to_string(),
        }
    }

    /// The server's own origin, as a page it served would send it.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme(), self.host())
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Opens a connection: TCP, and the TLS handshake when there is TLS.
    pub async fn connect(&self) -> Result<BoxIo, String> {
        let tcp = match timeout(ANSWER_TIMEOUT, self.open_tcp()).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(format!("could not connect to {}: {e}", self.addr)),
            Err(_) => return Err(format!("could not connect to {} within 5 s", self.addr)),
        };
        let _ = tcp.set_nodelay(true);
        let Some((kit, ca)) = &self.tls else { return Ok(Box::new(tcp)) };
        match timeout(ANSWER_TIMEOUT, (kit.connect)(tcp, ca.to_string())).await {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) => Err(format!("the TLS handshake failed: {e}")),
            Err(_) => Err("the TLS handshake did not finish within 5 s".into()),
        }
    }

    async fn open_tcp(&self) -> io::Result<TcpStream> {
        let socket = if self.addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(bytes) = self.recv_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        socket.connect(self.addr).await
    }

    /// Starts a request to `path` (which may carry a `?query`).
    pub fn request(&self, method: &str, path: impl Into<String>) -> Call {
        Call { dial: self.clone(), method: method.into(), path: path.into(), headers: Vec::new(), body: None }
    }
}

/// A request being built.
#[derive(Debug, Clone)]
pub struct Call {
    dial: Dial,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Call {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `name: value` when there is a value.
    pub fn header_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.header(name, value),
            None => self,
        }
    }

    /// A JSON body.
    pub fn json(mut self, value: &Value) -> Self {
        self.body = Some(value.to_string());
        self.header("Content-Type", "application/json")
    }

    /// `METHOD /path` over `scheme`, for headlines.
    pub fn line(&self) -> String {
        format!("{} {}{}", self.method, self.dial.scheme(), self.path_shown())
    }

    fn path_shown(&self) -> String {
        format!("://{}{}", self.dial.host(), self.path)
    }

    /// The request as `curl -v` prints it.
    pub fn transcript(&self) -> String {
        let mut out = format!("> {} {} HTTP/1.1\n> Host: {}\n", self.method, self.path, self.dial.host());
        for (name, value) in &self.headers {
            let _ = writeln!(out, "> {name}: {value}");
        }
        out.push_str(">\n");
        if let Some(body) = &self.body {
            let _ = writeln!(out, "{body}");
        }
        out
    }

    fn no_answer(&self, why: impl std::fmt::Display) -> Failure {
        Failure::no_answer(format!("{} got no response: {why}", self.line()))
            .sent(self.transcript())
            .expected("an HTTP response")
            .got("(no response)")
    }

    /// Sends the request and returns the response's head with its body
    /// still to come.
    async fn head(&self) -> Result<(Answer, Incoming), Failure> {
        let io = self.dial.connect().await.map_err(|why| self.no_answer(why))?;
        let body = self.body.clone().unwrap_or_default().into_bytes();
        let host = self.dial.host();
        let sending = http::send(io, &self.method, &self.path, &host, &self.headers, body);
        let head = match timeout(ANSWER_TIMEOUT, sending).await {
            Err(_) => return Err(self.no_answer("nothing within 5 s")),
            Ok(Err(why)) => return Err(self.no_answer(format!("the connection closed ({why})"))),
            Ok(Ok(head)) => head,
        };
        let answer = Answer {
            sent: self.transcript(),
            line: self.line(),
            status: head.status.as_u16(),
            headers: head.headers,
            body: Vec::new(),
        };
        Ok((answer, head.body))
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> Result<Answer, Failure> {
        let (mut answer, body) = self.head().await?;
        match timeout(ANSWER_TIMEOUT, body.collect()).await {
            Ok(Ok(body)) => answer.body = body.to_bytes().to_vec(),
            Ok(Err(e)) => {
                return Err(
                    answer.fail(format!("{}: the body broke off ({e})", self.line()), "a whole response")
                );
            }
            Err(_) => {
                return Err(answer
                    .fail(format!("{}: the body did not end within 5 s", self.line()), "a whole response"));
            }
        }
        Ok(answer)
    }

    /// Opens an event stream: sends the request with `Accept:
    /// text/event-stream` and returns as soon as the head is in.
    pub async fn events(self) -> Result<Events, Failure> {
        let call = self.header("Accept", "text/event-stream");
        let (answer, body) = call.head().await?;
        Ok(Events {
            answer,
            body,
            parser: Parser::new(),
            ready: Default::default(),
            lines: Vec::new(),
            ended: None,
        })
    }

    /// Opens a WebSocket to this request's path: `Ok(Ok(socket))` after a
    /// `101`, `Ok(Err(answer))` when the server answered something else.
    pub async fn websocket(self) -> Result<Result<Ws, Answer>, Failure> {
        let io = self.dial.connect().await.map_err(|why| self.no_answer(why))?;
        let url = format!("ws://{}{}", self.dial.host(), self.path);
        let mut request =
            url.as_str().into_client_request().map_err(|e| Failure::new(format!("bad URL {url}: {e}")))?;
        for (name, value) in &self.headers {
            let name =
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
            let value = tungstenite::http::HeaderValue::from_str(value).expect("a valid header value");
            request.headers_mut().append(name, value);
        }
        let sent = {
            let mut out = String::new();
            let _ = writeln!(out, "> GET {} HTTP/1.1", self.path);
            for (name, value) in request.headers() {
                let _ = writeln!(out, "> {name}: {}", value.to_str().unwrap_or("…"));
            }
            out + ">\n"
        };
        match timeout(ANSWER_TIMEOUT, tokio_tungstenite::client_async(request, io)).await {
            Err(_) => Err(self.no_answer("no answer to the upgrade within 5 s").sent(sent)),
            Ok(Ok((socket, _))) => Ok(Ok(Ws {
                socket,
                log: vec![format!("GET {} → 101 Switching Protocols", self.path)],
                dropped: 0,
            })),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                let body = response.body().clone().unwrap_or_default();
                Ok(Err(Answer { sent, line: self.line(), status: response.status().as_u16(), headers, body }))
            }
            Ok(Err(e)) => Err(self.no_answer(format!("the handshake failed ({e})")).sent(sent)),
        }
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Answer {
    sent: String,
    line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's first value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `METHOD scheme://host/path`, for headlines.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The response as `curl -v` prints it.
    pub fn transcript(&self) -> String {
        let mut out = format!("< HTTP/1.1 {}\n", self.status);
        for (name, value) in &self.headers {
            let _ = writeln!(out, "< {name}: {value}");
        }
        out.push_str("<\n");
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(600).collect();
        if body.is_empty() { out + "(empty body)\n" } else { out + &body + "\n" }
    }

    /// A failure with this exchange as its transcript.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(headline).sent(self.sent.clone()).expected(expected).got(self.transcript())
    }

    /// Requires `status`.
    pub fn expect_status(&self, status: u16, expected: &str) -> Result<(), Failure> {
        if self.status == status {
            return Ok(());
        }
        Err(self.fail(format!("{} answered {}; expected {status}", self.line, self.status), expected))
    }

    /// The body as JSON.
    pub fn json(&self, expected: &str) -> Result<Value, Failure> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.fail(format!("{} answered a body that is not JSON ({e})", self.line), expected))
    }
}

/// An event stream being read.
#[derive(Debug)]
pub struct Events {
    pub answer: Answer,
    body: Incoming,
    parser: Parser,
    ready: std::collections::VecDeque<Item>,
    lines: Vec<String>,
    ended: Option<String>,
}

impl Events {
    /// The next event (comments and `retry:` are skipped) within `within`.
    pub async fn next_event(&mut self, within: Duration, expected: &str) -> Result<Event, Failure> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(item) = self.ready.pop_front() {
                if let Item::Event(event) = item {
                    return Ok(event);
                }
            }
            if let Some(why) = &self.ended {
                return Err(self.fail(format!("{}: the stream ended ({why})", self.answer.line), expected));
            }
            match timeout_at(deadline, self.body.frame()).await {
                Err(_) => {
                    return Err(self.fail(
                        format!("{}: no event within {} ms", self.answer.line, within.as_millis()),
                        expected,
                    ));
                }
                Ok(None) => self.ended = Some("the server ended the response".into()),
                Ok(Some(Err(e))) => self.ended = Some(format!("the connection broke: {e}")),
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        let items = self.parser.feed(data);
                        self.lines.extend(self.parser.take_lines());
                        self.ready.extend(items);
                    }
                }
            }
        }
    }

    /// Everything the stream says from here until the server ends it;
    /// `Err` when it is still open after `within`.
    pub async fn until_end(&mut self, within: Duration, expected: &str) -> Result<Vec<Item>, Failure> {
        let deadline = Instant::now() + within;
        let mut items: Vec<Item> = self.ready.drain(..).collect();
        while self.ended.is_none() {
            match timeout_at(deadline, self.body.frame()).await {
                Err(_) => {
                    return Err(self.fail(
                        format!(
                            "{}: the stream was still open {} ms later",
                            self.answer.line,
                            within.as_millis()
                        ),
                        expected,
                    ));
                }
                Ok(None) => self.ended = Some("the server ended the response".into()),
                Ok(Some(Err(e))) => self.ended = Some(format!("the connection broke: {e}")),
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        items.extend(self.parser.feed(data));
                        self.lines.extend(self.parser.take_lines());
                    }
                }
            }
        }
        Ok(items)
    }

    /// A failure showing the request, the head and the lines received.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        let mut got = self.answer.transcript();
        for line in self.lines.iter().rev().take(30).rev() {
            got.push_str(line);
            got.push('\n');
        }
        Failure::new(headline).sent(self.answer.sent.clone()).expected(expected).got(got)
    }
}

/// An open WebSocket, with a log of what went over it.
pub struct Ws {
    socket: WebSocketStream<BoxIo>,
    log: Vec<String>,
    /// Lines left out of the log, after its first.
    dropped: usize,
}

/// Transcript lines a [`Ws`] keeps.
const KEPT_LINES: usize = 40;

/// A message cut to a readable length for a transcript.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 160;
    if text.chars().count() <= SHOWN {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

impl std::fmt::Debug for Ws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ws").field("log", &self.log).finish_non_exhaustive()
    }
}

impl Ws {
    pub async fn send_json(&mut self, value: &Value) -> Result<(), Failure> {
        self.note(format!("→ {}", shorten(&value.to_string())));
        match timeout(ANSWER_TIMEOUT, self.socket.send(Message::text(value.to_string()))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(self.fail("could not send a message: the connection is gone", "an open WebSocket")),
        }
    }

    /// The next text message as JSON, skipping pings and pongs.
    pub async fn next_json(&mut self, expected: &str) -> Result<Value, Failure> {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let next = timeout_at(deadline, self.socket.next()).await;
            let got = match next {
                Err(_) => "nothing within 5 s".to_owned(),
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.note(format!("← {}", shorten(text.as_str())));
                    return serde_json::from_str(text.as_str()).map_err(|e| {
                        self.fail(format!("received a message that is not JSON ({e})"), expected)
                    });
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    format!("a close frame, code {}", frame.map_or(1005, |f| u16::from(f.code)))
                }
                Ok(Some(Ok(other))) => format!("{other:?}"),
                Ok(Some(Err(e))) => format!("the connection broke ({e})"),
                Ok(None) => "the connection closed".to_owned(),
            };
            self.note(format!("← {got}"));
            return Err(self.fail(format!("expected a message, got {got}"), expected));
        }
    }

    /// Reads past text messages until a close frame, and returns its code;
    /// `Err` when the connection ends otherwise, or nothing comes.
    pub async fn expect_close(&mut self, code: u16, expected: &str) -> Result<(), Failure> {
        self.expect_close_in(&[code], expected).await.map(|_| ())
    }

    /// Reads past text messages until a close frame with one of `codes`,
    /// and returns its code; `Err` when the connection ends otherwise, or
    /// nothing comes.
    pub async fn expect_close_in(&mut self, codes: &[u16], expected: &str) -> Result<u16, Failure> {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut skipped = 0;
        loop {
            let got = match timeout_at(deadline, self.socket.next()).await {
                Err(_) => format!("no close frame within 5 s ({skipped} messages before)"),
                Ok(Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_)))) => {
                    skipped += 1;
                    continue;
                }
                Ok(Some(Ok(Message::Close(Some(frame))))) if codes.contains(&u16::from(frame.code)) => {
                    let code = u16::from(frame.code);
                    self.note(format!("← close frame, code {code}"));
                    return Ok(code);
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    format!("a close frame with code {}", frame.map_or(1005, |f| u16::from(f.code)))
                }
                Ok(Some(Ok(other))) => format!("{other:?}"),
                Ok(Some(Err(e))) => format!("the connection broke without a close frame ({e})"),
                Ok(None) => "the connection closed without a close frame".to_owned(),
            };
            self.note(format!("← {got}"));
            let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
            return Err(self.fail(format!("expected close {}, got {got}", codes.join(" or ")), expected));
        }
    }

    /// Closes the connection with the closing handshake (code 1000), and
    /// waits for the server's close frame or the end of the connection.
    pub async fn close(&mut self) {
        self.note("→ close frame, code 1000");
        let _ = timeout(ANSWER_TIMEOUT, self.socket.close(None)).await;
        let _ = timeout(ANSWER_TIMEOUT, async { while let Some(Ok(_)) = self.socket.next().await {} }).await;
    }

    /// Notes a line in the log, for the transcript; only the last
    /// `KEPT_LINES` are kept.
    pub fn note(&mut self, line: impl Into<String>) {
        if self.log.len() == KEPT_LINES {
            self.log.remove(1);
            self.dropped += 1;
        }
        self.log.push(line.into());
    }

    /// The next message, which must have every field of `want`.
    pub async fn expect_json(&mut self, want: &Value, expected: &str) -> Result<Value, Failure> {
        let got = self.next_json(expected).await?;
        if crate::ws::json_matches(want, &got) {
            return Ok(got);
        }
        Err(self.fail(format!("expected a message like {want}, got {got}"), expected))
    }

    /// A failure with this socket's log as the transcript.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        let mut sent = self.log.join("\n");
        if self.dropped > 0 {
            sent = sent.replacen('\n', &format!("\n… ({} lines left out)\n", self.dropped), 1);
        }
        Failure::new(headline).sent(sent).expected(expected)
    }
}
