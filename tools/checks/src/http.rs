//! An HTTP client that keeps a transcript of every exchange.
//!
//! Checks send requests with hyper, a real client, and keep what went over
//! the wire in the shape `curl -v` prints it (`>` for the request, `<` for the
//! response), so a failure can show the learner exactly what happened — and
//! the learner can replay it with curl.
//!
//! `send` is the one place a check's request goes out, on a connection of
//! its own: [`Request`] here, the event streams of [`crate::sse`] and
//! chapter 7's [`crate::dial`] (plain or TLS) all go through it.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::Failure;

/// How long a check waits for any one answer before it gives up. It only
/// makes a stuck check fail fast; no check measures time with it.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Bodies longer than this are cut short in transcripts.
const SHOWN_BODY_BYTES: usize = 1500;

/// An HTTP request being built.
#[derive(Debug, Clone)]
pub struct Request {
    addr: SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sign in first, and send the session cookie (see [`crate::SignIn`]).
    signs_in: bool,
}

impl Request {
    pub(crate) fn new(addr: SocketAddr, method: &str, path: String) -> Self {
        Request {
            addr,
            method: method.to_owned(),
            path,
            headers: Vec::new(),
            body: Vec::new(),
            signs_in: false,
        }
    }

    /// Signs in before it is sent, and sends the session cookie.
    pub(crate) fn signing_in(mut self, signs_in: bool) -> Self {
        self.signs_in = signs_in;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `value` as a JSON body, with `Content-Type: application/json`.
    pub fn json(self, value: &Value) -> Self {
        self.body("application/json", value.to_string())
    }

    /// Sends `body` with the given content type, as it is: the way to send
    /// malformed input on purpose.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.header("Content-Type", content_type)
    }

    /// The request as `curl -v` prints it.
    pub fn transcript(&self) -> String {
        let mut out = format!("> {} {} HTTP/1.1\n> Host: {}\n", self.method, self.path, self.addr);
        for (name, value) in &self.headers {
            out += &format!("> {name}: {value}\n");
        }
        if !self.body.is_empty() {
            out += &format!("> Content-Length: {}\n>\n", self.body.len());
            out += &show_body(&self.body);
        } else {
            out += ">\n";
        }
        out
    }

    /// The request as a curl command line, for the learner to replay.
    pub fn curl(&self) -> String {
        let mut out = format!("curl -i -X {} http://{}{}", self.method, self.addr, self.path);
        for (name, value) in &self.headers {
            out += &format!(" -H '{name}: {value}'");
        }
        if !self.body.is_empty() {
            out += &format!(" --data-raw '{}'", String::from_utf8_lossy(&self.body));
        }
        out
    }

    /// `METHOD /path`, for headlines.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Sends the request and reads the whole response.
    ///
    /// Fails — with the request in the transcript — when nothing answers,
    /// the connection closes before a response, or no answer comes within
    /// [`ANSWER_TIMEOUT`].
    pub async fn send(mut self) -> Result<Exchange, Failure> {
        if self.signs_in {
            let cookie = sign_in(self.addr, SIGNED_IN_USER).await?;
            self = self.header("Cookie", &cookie);
        }
        let sent = self.transcript();
        let no_answer = |why: String| {
            Failure::no_answer(format!("{} got no response: {why}", self.line()))
                .sent(sent.clone())
                .expected("an HTTP response")
                .got("(no response)")
        };
        let exchange = async {
            let tcp = TcpStream::connect(self.addr).await.map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "nothing is listening (connection refused)".to_owned()
                }
                _ => format!("could not connect ({e})"),
            })?;
            let host = self.addr.to_string();
            let head = send(tcp, &self.method, &self.path, &host, &self.headers, self.body.clone())
                .await
                .map_err(|why| format!("the connection closed before a full response ({why})"))?;
            let body =
                head.body.collect().await.map_err(|e| {
                    format!("the connection closed before a full response ({})", root_cause(&e))
                })?;
            let reason = head.status.canonical_reason().unwrap_or("").to_owned();
            let status = head.status.as_u16();
            let body = body.to_bytes().to_vec();
            Ok::<_, String>(Exchange { request: self.clone(), status, reason, headers: head.headers, body })
        };
        match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
            Err(_) => Err(no_answer(format!("nothing within {} s", ANSWER_TIMEOUT.as_secs()))),
            Ok(Err(why)) => Err(no_answer(why)),
            Ok(Ok(exchange)) => Ok(exchange),
        }
    }
}

/// Who requests and event streams sign in as, for a server that asks
/// (see [`crate::SignIn`]).
pub(crate) const SIGNED_IN_USER: &str = "Checks";

/// `POST /session {"user"}` on the server at `addr`, requiring `204` and a
/// session cookie: the `Cookie` header to send back (`session=…`).
pub(crate) async fn sign_in(addr: SocketAddr, user: &str) -> Result<String, Failure> {
    let request = Request::new(addr, "POST", "/session".into()).json(&serde_json::json!({ "user": user }));
    let answer = Box::pin(request.send()).await?;
    let expected = "204 No Content with Set-Cookie: session=… (the checks sign in: SignIn was handed over)";
    if answer.status != 204 {
        return Err(answer.fail(format!("signing in as {user} answered {}", answer.status), expected));
    }
    let cookie = answer.header("set-cookie").and_then(|cookie| cookie.split(';').next());
    match cookie {
        Some(pair) if pair.trim_start().starts_with("session=") => Ok(pair.trim().to_owned()),
        _ => Err(answer.fail(format!("signing in as {user} set no session cookie"), expected)),
    }
}

/// A response's head, its body still to come.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: hyper::StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Incoming,
}

/// Sends one request over `io`, a connection of its own, and waits for the
/// response's head. `host` is sent as `Host`, then `headers` and the body
/// (with its `Content-Length`) as they are. `Err` says why no response
/// came, in a few words. The caller bounds the wait.
pub(crate) async fn send<I>(
    io: I,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Head, String>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| root_cause(&e))?;
    tokio::spawn(connection);
    let mut builder = hyper::Request::builder().method(method).uri(path).header("Host", host);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("a check built a bad request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| root_cause(&e))?;
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Ok(Head { status: parts.status, headers, body })
}

/// A request and the response it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Exchange {
    /// A response header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The response as `curl -v` prints it.
    pub fn response_transcript(&self) -> String {
        let mut out = format!("< HTTP/1.1 {} {}\n", self.status, self.reason);
        for (name, value) in &self.headers {
            out += &format!("< {name}: {value}\n");
        }
        out += "<\n";
        if self.body.is_empty() {
            out += "(empty body)\n";
        } else {
            out += &show_body(&self.body);
        }
        out
    }

    /// A failure with this exchange as its transcript.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(headline)
            .sent(self.request.transcript())
            .expected(expected)
            .got(self.response_transcript())
    }

    /// Requires the status code `status`; `expected` says what a server that
    /// follows the book answers.
    pub fn expect_status(&self, status: u16, expected: &str) -> Result<(), Failure> {
        if self.status == status {
            return Ok(());
        }
        Err(self.fail(
            format!("{} answered {} {}; expected {status}", self.request.line(), self.status, self.reason),
            expected,
        ))
    }

    /// Requires a JSON body with `Content-Type: application/json`, and parses it.
    pub fn expect_json(&self, expected: &str) -> Result<Value, Failure> {
        let content_type = self.header("content-type").unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(self.fail(
                format!(
                    "{} answered with Content-Type {:?}; expected application/json",
                    self.request.line(),
                    content_type
                ),
                expected,
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            self.fail(
                format!("{} answered a body that is not valid JSON ({e})", self.request.line()),
                expected,
            )
        })
    }

    /// Requires the contract's error answer: `status`, and a JSON object
    /// `{"error": "…"}` whose message is not empty.
    pub fn expect_error(&self, status: u16, expected: &str) -> Result<(), Failure> {
        self.expect_status(status, expected)?;
        let body = self.expect_json(expected)?;
        match body.get("error").and_then(Value::as_str) {
            Some(message) if !message.trim().is_empty() => Ok(()),
            _ => Err(self.fail(
                format!(
                    "{} answered {status} without an \"error\" message in its JSON body",
                    self.request.line()
                ),
                expected,
            )),
        }
    }
}

/// A body as text, cut short when it is long.
fn show_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SHOWN_BODY_BYTES)]).into_owned();
    let mut out = text.trim_end_matches('\n').to_owned();
    if body.len() > SHOWN_BODY_BYTES {
        out += &format!("… ({} bytes in all)", body.len());
    }
    out + "\n"
}

/// The innermost cause of an error: the outer messages ("error sending
/// request") say little, the innermost says what happened.
pub(crate) fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
