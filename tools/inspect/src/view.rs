//! The live view: a page that shows the records as they happen, fed by
//! Server-Sent Events — the course's chapter 2 at work.
//!
//! `GET /` is the page; `GET /events` is a `text/event-stream` that opens
//! with one `inspector` event (where the proxy listens and what it forwards
//! to, as JSON), then has one `record` event per record (its `data` is the
//! record as JSON, plus the line the terminal prints as `text`), numbered by
//! `id`. The last [`HISTORY`] records are kept: a new viewer gets them first,
//! and a viewer that reconnects with `Last-Event-ID` gets only those it
//! missed — chapter 2's resumption, at work. A viewer that falls behind
//! loses the oldest records and is told so in a comment; the proxy never
//! waits for a viewer.
//!
//! The book's "Wire" panel reads the stream from another origin (the book
//! is on `localhost:4000`), so the stream allows loopback origins with
//! CORS — and only those, plus the origins given to [`View::describing`]
//! (`cargo course inspect --allow-origin`): the records hold whatever
//! passes through the proxy (cookies, tickets), which no website you happen
//! to visit may read.
//!
//! Written on a bare [`TcpListener`], as chapter 3 writes its server: one
//! request per connection, answered and closed (the stream stays open).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

use crate::{Record, Sink, render};

/// Records a slow viewer may fall behind by before it loses some.
const BACKLOG: usize = 4096;
/// A comment this often keeps idle streams open through proxies.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// The longest request head the view reads.
const MAX_HEAD: usize = 8 * 1024;
/// Records kept for viewers that connect (or reconnect) later.
pub const HISTORY: usize = 500;

/// The page.
const PAGE: &str = include_str!("view.html");

/// Where records are published for viewers.
#[derive(Debug)]
pub struct View {
    sender: broadcast::Sender<Arc<str>>,
    /// The `inspector` event each stream opens with.
    about: String,
    /// Origins other than loopback ones allowed to read the stream.
    origins: Vec<String>,
    /// Taken to publish and to subscribe: a viewer gets each record once,
    /// from the history or from the channel.
    history: Mutex<History>,
}

/// The next id, and the last [`HISTORY`] events with their ids.
///
/// Ids start at the time the view was made, in microseconds since 1970, not
/// at 1: a viewer that reconnects to an inspector started again sends the
/// old one's `Last-Event-ID`, which must not hide the new records (they are
/// all newer, so their ids are all larger).
#[derive(Debug)]
struct History {
    next_id: u64,
    kept: VecDeque<(u64, Arc<str>)>,
}

impl View {
    /// A view of a proxy that is not described (tests).
    pub fn new() -> Arc<Self> {
        View::describing("", "", Vec::new())
    }

    /// A view of the proxy listening on `listen` and forwarding to `to`,
    /// whose stream `origins` may read besides loopback pages.
    pub fn describing(listen: &str, to: &str, origins: Vec<String>) -> Arc<Self> {
        let about = serde_json::json!({ "listen": listen, "to": to });
        Arc::new(View {
            sender: broadcast::channel(BACKLOG).0,
            about: format!("event: inspector\ndata: {about}\n\n"),
            origins,
            history: Mutex::new(History { next_id: first_id(), kept: VecDeque::new() }),
        })
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a page from `origin` may read the stream: one served from
    /// this computer (`http://localhost:4000`, `http://127.0.0.1:…`), or one
    /// allowed by name.
    pub fn allows(&self, origin: &str) -> bool {
        let host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        let host = host.map(|h| {
            h.rsplit_once(':').map_or(
                h,
                |(host, port)| {
                    if port.bytes().all(|b| b.is_ascii_digit()) { host } else { h }
                },
            )
        });
        matches!(host, Some("localhost" | "127.0.0.1" | "[::1]"))
            || self.origins.iter().any(|allowed| allowed.trim_end_matches('/') == origin)
    }
}

/// Microseconds since 1970, now (1 if the clock is before then).
fn first_id() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(1, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX / 2))
}

impl Sink for View {
    fn record(&self, record: Record) {
        let data = serde_json::json!({ "record": record, "text": render::text(&record, false) });
        let mut history = self.history();
        let id = history.next_id;
        history.next_id += 1;
        // One `data:` line: JSON has no raw newlines.
        let event: Arc<str> = format!("event: record\nid: {id}\ndata: {data}\n\n").into();
        if history.kept.len() == HISTORY {
            history.kept.pop_front();
        }
        history.kept.push_back((id, event.clone()));
        // Nobody watching is fine.
        let _ = self.sender.send(event);
    }
}

/// Serves the page and the stream on `listener` until the process ends.
pub async fn serve(listener: TcpListener, view: Arc<View>) -> io::Result<()> {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let view = view.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &view).await;
        });
    }
}

async fn answer(mut stream: TcpStream, view: &View) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(&head).is_err() {
        return respond(&mut stream, "400 Bad Request", "text/plain", "", "bad request").await;
    }
    let path = request.path.unwrap_or("/").to_owned();
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    // CORS: the origin may read the answer if it is allowed; the answer
    // varies with the Origin header, which caches must know.
    let cors = match header("origin") {
        Some(origin) if view.allows(origin) => {
            format!("Access-Control-Allow-Origin: {origin}\r\nVary: Origin\r\n")
        }
        _ => "Vary: Origin\r\n".to_owned(),
    };
    let last_seen = header("last-event-id").and_then(|id| id.trim().parse::<u64>().ok());
    match path.split('?').next().unwrap_or_default() {
        "/" => respond(&mut stream, "200 OK", "text/html; charset=utf-8", "", PAGE).await,
        "/events" => stream_records(stream, view, &cors, last_seen).await,
        _ => {
            let body = "the view is at / and its stream at /events";
            respond(&mut stream, "404 Not Found", "text/plain", &cors, body).await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    cors: &str,
    body: &str,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{cors}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The event stream: the `inspector` event, the kept records the viewer
/// has not seen (all of them, or those after `last_seen`), then each new
/// one. Subscribed under the history's lock, so no record is missed or
/// sent twice; every record after the `: watching` comment reaches this
/// viewer.
async fn stream_records(
    mut stream: TcpStream,
    view: &View,
    cors: &str,
    last_seen: Option<u64>,
) -> io::Result<()> {
    let (mut records, missed) = {
        let history = view.history();
        let missed: Vec<Arc<str>> = history
            .kept
            .iter()
            .filter(|(id, _)| last_seen.is_none_or(|seen| *id > seen))
            .map(|(_, event)| event.clone())
            .collect();
        (view.sender.subscribe(), missed)
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{cors}\
         Connection: close\r\n\r\n{}: watching\n\n",
        view.about
    );
    stream.write_all(head.as_bytes()).await?;
    for event in missed {
        stream.write_all(event.as_bytes()).await?;
    }
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    loop {
        let event: Arc<str> = tokio::select! {
            received = records.recv() => match received {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(n)) => format!(": {n} records skipped (too slow)\n\n").into(),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = keepalive.tick() => ": keep-alive\n\n".into(),
        };
        stream.write_all(event.as_bytes()).await?;
    }
}
