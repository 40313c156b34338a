//! Reading a Server-Sent Events stream the way a browser does, with a
//! transcript of every line that came in.
//!
//! - [`Parser`] turns bytes into [`Item`]s exactly as the WHATWG HTML
//!   standard's "interpreting an event stream" (§9.2.6) says, whatever the
//!   chunks look like: it is the checks' reference reading of the format.
//! - [`EventStream`] opens `GET /boards/{board}/events` with `http::send` (an
//!   optional `Last-Event-ID` included), reads the body's raw bytes as they
//!   come, each wait under a deadline, and keeps what it received as `curl -N`
//!   would print it, so a failing check can show the learner the stream.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::http::{self, ANSWER_TIMEOUT, root_cause};
use crate::{Failure, Target};

/// What the stream said, in the order it said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A blank line dispatched an event that had data.
    Event(Event),
    /// A line starting with `:`. Browsers ignore it; servers send it to keep
    /// the connection busy. The text is what follows the colon.
    Comment(String),
    /// A valid `retry:` field set the reconnection time, in milliseconds.
    Retry(u64),
}

/// An event as `EventSource` hands it to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type: the `event` field, or `message` when it had none.
    pub name: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The `id` field among this event's own lines, if it had one. The
    /// contract numbers events this way.
    pub id: Option<String>,
    /// The stream's last event ID when the event was dispatched: what a
    /// browser reports as `lastEventId` and sends back as `Last-Event-ID`.
    pub last_event_id: String,
}

/// The UTF-8 byte order mark, which a stream may start with (once).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The event stream interpretation algorithm of the WHATWG HTML standard,
/// fed bytes as they arrive.
///
/// Lines end with CRLF, LF or CR, and a CRLF split across two chunks is
/// still one line ending. A line is decoded once it is complete, so a
/// chunk boundary inside a multi-byte character changes nothing.
#[derive(Debug, Default)]
pub struct Parser {
    /// The bytes of the line being received.
    line: Vec<u8>,
    /// The last byte was a CR: an LF right after it belongs to the same line ending.
    after_cr: bool,
    /// At least one line is complete, so a BOM can no longer come.
    past_first_line: bool,
    data: String,
    event_type: String,
    id_in_event: Option<String>,
    /// The spec's "last event ID buffer", which the `id` field sets.
    last_event_id_buffer: String,
    /// The spec's "last event ID string": the buffer as of the last blank
    /// line, what a reconnection sends as `Last-Event-ID`.
    last_event_id: String,
    /// The lines completed since [`Parser::take_lines`] was last called.
    lines: Vec<String>,
}

impl Parser {
    pub fn new() -> Self {
        Parser::default()
    }

    /// Feeds the next bytes of the stream; returns what they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.after_cr && rest[0] == b'\n' {
                rest = &rest[1..];
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                Some(end) => {
                    self.line.extend_from_slice(&rest[..end]);
                    self.after_cr = rest[end] == b'\r';
                    rest = &rest[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    items.extend(self.process_line(&line));
                }
                None => {
                    self.line.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        items
    }

    /// The raw lines completed since the last call, decoded as text.
    pub fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    fn process_line(&mut self, line: &[u8]) -> Option<Item> {
        let line = match self.past_first_line {
            false => line.strip_prefix(BOM).unwrap_or(line),
            true => line,
        };
        self.past_first_line = true;
        let line = String::from_utf8_lossy(line).into_owned();
        self.lines.push(line.clone());
        if line.is_empty() {
            return self.dispatch().map(Item::Event);
        }
        if let Some(comment) = line.strip_prefix(':') {
            return Some(Item::Comment(comment.to_owned()));
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.event_type = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.last_event_id_buffer = value.to_owned();
                self.id_in_event = Some(value.to_owned());
            }
            "retry" if value.bytes().all(|b| b.is_ascii_digit()) => {
                return value.parse().ok().map(Item::Retry);
            }
            _ => {}
        }
        None
    }

    /// What a reconnection would send as `Last-Event-ID` now: the last
    /// event ID as of the last blank line, never an `id` of an event still
    /// unfinished.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    fn dispatch(&mut self) -> Option<Event> {
        // Even an event without data moves the stream's last event ID.
        self.last_event_id.clone_from(&self.last_event_id_buffer);
        let id = self.id_in_event.take();
        let event_type = std::mem::take(&mut self.event_type);
        let mut data = std::mem::take(&mut self.data);
        if data.is_empty() {
            return None;
        }
        data.pop();
        let name = if event_type.is_empty() { "message".to_owned() } else { event_type };
        Some(Event { name, data, id, last_event_id: self.last_event_id.clone() })
    }
}

/// What waiting on a stream came to.
#[derive(Debug)]
pub enum Next {
    Item(Item),
    /// Nothing more arrived before the deadline.
    TimedOut,
    /// The response ended, or the connection broke; says which.
    Ended(String),
}

/// Lines longer than this are cut short in transcripts.
const SHOWN_LINE_CHARS: usize = 240;
/// A transcript keeps this many lines from the start and from the end.
const SHOWN_LINES: usize = 40;

/// An open `text/event-stream` response, read as it arrives.
#[derive(Debug)]
pub struct EventStream {
    sent: String,
    line: String,
    status: u16,
    head: String,
    headers: Vec<(String, String)>,
    body: Incoming,
    parser: Parser,
    ready: VecDeque<Item>,
    ended: Option<String>,
    first_lines: Vec<String>,
    last_lines: VecDeque<String>,
    lines_left_out: usize,
}

impl EventStream {
    /// Opens `GET path` with `Accept: text/event-stream` and `headers`, and
    /// waits for the response's head, whatever its status.
    pub async fn open(t: &Target, path: &str, headers: &[(&str, &str)]) -> Result<EventStream, Failure> {
        let mut all_headers = vec![("Accept", "text/event-stream")];
        all_headers.extend_from_slice(headers);
        // A server that asks who is connecting (see `SignIn`).
        let cookie = t.session(crate::http::SIGNED_IN_USER).await?;
        if let Some(cookie) = &cookie {
            all_headers.push(("Cookie", cookie));
        }
        let sent = request_transcript(t.addr(), path, &all_headers);
        let line = format!("GET {path}");
        let no_answer = |why: String| {
            Failure::no_answer(format!("{line} got no response: {why}"))
                .sent(sent.clone())
                .expected("200 OK with Content-Type: text/event-stream, then events as they happen")
                .got("(no response)")
        };
        let opening = async {
            let tcp = TcpStream::connect(t.addr()).await.map_err(|_| "nothing is listening".to_owned())?;
            let headers: Vec<(String, String)> =
                all_headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
            http::send(tcp, "GET", path, &t.addr().to_string(), &headers, Vec::new())
                .await
                .map_err(|why| format!("the connection closed ({why})"))
        };
        let response = match tokio::time::timeout(ANSWER_TIMEOUT, opening).await {
            Err(_) => {
                return Err(no_answer(format!(
                    "no response head within {} s (a streaming response still sends its \
                     status and headers right away)",
                    ANSWER_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(why)) => return Err(no_answer(why)),
            Ok(Ok(response)) => response,
        };
        let status = response.status;
        let headers = response.headers;
        let mut head =
            format!("< HTTP/1.1 {} {}\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
        for (name, value) in &headers {
            let _ = writeln!(head, "< {name}: {value}");
        }
        head.push_str("<\n");
        Ok(EventStream {
            sent,
            line,
            status: status.as_u16(),
            head,
            headers,
            body: response.body,
            parser: Parser::new(),
            ready: VecDeque::new(),
            ended: None,
            first_lines: Vec::new(),
            last_lines: VecDeque::new(),
            lines_left_out: 0,
        })
    }

    /// Opens a board's event stream, optionally with `Last-Event-ID`, and
    /// requires `200 OK` with `Content-Type: text/event-stream`.
    pub async fn subscribe(t: &Target, board: &str, last_event_id: Option<&str>) -> Result<Self, Failure> {
        let path = format!("/boards/{board}/events");
        let headers: Vec<(&str, &str)> = last_event_id.map(|id| ("Last-Event-ID", id)).into_iter().collect();
        let mut stream = EventStream::open(t, &path, &headers).await?;
        stream.expect_event_stream().await?;
        Ok(stream)
    }

    /// Requires `200 OK` and `Content-Type: text/event-stream`: anything else
    /// makes a browser's `EventSource` give up for good.
    pub async fn expect_event_stream(&mut self) -> Result<(), Failure> {
        let content_type = self.header("content-type").unwrap_or("").to_owned();
        let expected = "200 OK with Content-Type: text/event-stream (EventSource gives up for good on \
                        any other status or content type)";
        if self.status == 200 && content_type.starts_with("text/event-stream") {
            return Ok(());
        }
        // Show what the server said instead; it usually explains itself.
        self.read_for(Duration::from_millis(300)).await;
        let headline = if self.status != 200 {
            format!("{} answered {}; expected 200 and an event stream", self.line, self.status)
        } else {
            format!("{} answered Content-Type {content_type:?}; expected text/event-stream", self.line)
        };
        Err(self.fail(headline, expected))
    }

    /// A response header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `GET /path`, for headlines.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The next thing the stream says before `deadline`.
    pub async fn next_item(&mut self, deadline: Instant) -> Next {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Next::Item(item);
            }
            if let Some(why) = &self.ended {
                return Next::Ended(why.clone());
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return Next::TimedOut,
                Ok(Some(Ok(frame))) => {
                    let Some(bytes) = frame.data_ref() else { continue };
                    let items = self.parser.feed(bytes);
                    self.ready.extend(items);
                    let lines = self.parser.take_lines();
                    self.record(lines);
                }
                Ok(None) => self.ended = Some("the server ended the response".to_owned()),
                Ok(Some(Err(e))) => self.ended = Some(format!("the connection broke ({})", root_cause(&e))),
            }
        }
    }

    /// The next event within `within`, skipping comments and `retry:` lines.
    /// `expected` says what should have come, for the failure.
    pub async fn next_event(&mut self, within: Duration, expected: &str) -> Result<Event, Failure> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_item(deadline).await {
                Next::Item(Item::Event(event)) => return Ok(event),
                Next::Item(_) => {}
                Next::TimedOut => {
                    return Err(self.fail(
                        format!("no event arrived on {} within {} ms", self.line, within.as_millis()),
                        expected,
                    ));
                }
                Next::Ended(why) => {
                    return Err(
                        self.fail(format!("{} stopped before the event came: {why}", self.line), expected)
                    );
                }
            }
        }
    }

    /// Reads whatever arrives for `time`, for a transcript.
    pub async fn read_for(&mut self, time: Duration) {
        let deadline = Instant::now() + time;
        while let Next::Item(_) = self.next_item(deadline).await {}
    }

    /// A failure showing the request and everything the stream said.
    pub fn fail(&self, headline: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(headline).sent(self.sent.clone()).expected(expected).got(self.transcript())
    }

    /// The response so far, as `curl -N -i` prints it.
    pub fn transcript(&self) -> String {
        let mut out = self.head.clone();
        let mut shown = self.first_lines.clone();
        if self.lines_left_out > 0 {
            shown.push(format!("(… {} more lines …)", self.lines_left_out));
        }
        shown.extend(self.last_lines.iter().cloned());
        let pending = String::from_utf8_lossy(&self.parser.line).into_owned();
        if shown.is_empty() && pending.is_empty() {
            out.push_str("(nothing received on the stream yet)\n");
        }
        for line in shown {
            out.push_str(&line);
            out.push('\n');
        }
        if !pending.is_empty() {
            let _ = writeln!(out, "{}   ← an unfinished line", shorten(&pending));
        }
        if let Some(why) = &self.ended {
            let _ = writeln!(out, "({why})");
        }
        out
    }

    fn record(&mut self, lines: Vec<String>) {
        for line in lines {
            let line = shorten(&line);
            if self.first_lines.len() < SHOWN_LINES {
                self.first_lines.push(line);
            } else {
                self.last_lines.push_back(line);
                if self.last_lines.len() > SHOWN_LINES {
                    self.last_lines.pop_front();
                    self.lines_left_out += 1;
                }
            }
        }
    }
}

/// A line cut to a readable length.
fn shorten(line: &str) -> String {
    if line.chars().count() <= SHOWN_LINE_CHARS {
        return line.to_owned();
    }
    let start: String = line.chars().take(SHOWN_LINE_CHARS).collect();
    format!("{start}… ({} bytes in all)", line.len())
}

/// The request as `curl -v` prints it.
fn request_transcript(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let mut out = format!("> GET {path} HTTP/1.1\n> Host: {addr}\n");
    for (name, value) in headers {
        let _ = writeln!(out, "> {name}: {value}");
    }
    out + ">\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str, id: Option<&str>, last_event_id: &str) -> Item {
        Item::Event(Event {
            name: name.into(),
            data: data.into(),
            id: id.map(Into::into),
            last_event_id: last_event_id.into(),
        })
    }

    fn parse_in_pieces(bytes: &[u8], size: usize) -> Vec<Item> {
        let mut parser = Parser::new();
        bytes.chunks(size).flat_map(|chunk| parser.feed(chunk)).collect()
    }

    #[test]
    fn reads_the_contracts_events_whatever_the_chunks() {
        let stream =
            b"\xEF\xBB\xBFretry: 2000\r\nevent: snapshot\r\nid: 0\r\ndata: {}\r\n\r\n:\r\rdata: a\n\n";
        let want = vec![
            Item::Retry(2000),
            event("snapshot", "{}", Some("0"), "0"),
            Item::Comment(String::new()),
            event("message", "a", None, "0"),
        ];
        for size in 1..=stream.len() {
            assert_eq!(parse_in_pieces(stream, size), want, "chunks of {size}");
        }
    }

    #[test]
    fn follows_the_specs_corner_cases() {
        let stream =
            b"data\ndata\n\nid: 1\n\nevent: gone\n\ndata : x\n\nretry: 1s\ndata: \xC3\xA9\nid: a\0b\n\n";
        let want = vec![event("message", "\n", None, ""), event("message", "\u{e9}", None, "1")];
        assert_eq!(parse_in_pieces(stream, 1), want);
    }

    #[test]
    fn an_id_counts_only_at_its_blank_line() {
        let mut parser = Parser::new();
        parser.feed(b"id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: unfinished\n");
        assert_eq!(parser.last_event_id(), "2");
        parser.feed(b"\n");
        assert_eq!(parser.last_event_id(), "3");
    }

    #[test]
    fn records_the_raw_lines() {
        let mut parser = Parser::new();
        parser.feed(b"event: a\r\ndata: b\r\n\r\ndata: unfin");
        assert_eq!(parser.take_lines(), ["event: a", "data: b", ""]);
    }
}
