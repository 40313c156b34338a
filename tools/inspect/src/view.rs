//! The live view: a page that shows the records as they happen, fed by
//! Server-Sent Events — the course's chapter 2 at work.
//!
//! `GET /` is the page; `GET /events` is a `text/event-stream` with one
//! `record` event per record (its `data` is the record as JSON, plus the
//! line the terminal prints as `text`), numbered by `id`. A viewer that
//! falls behind loses the oldest records and is told so in a comment; the
//! proxy never waits for a viewer.
//!
//! Written on a bare [`TcpListener`], as chapter 3 writes its server: one
//! request per connection, answered and closed (the stream stays open).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// The page.
const PAGE: &str = include_str!("view.html");

/// Where records are published for viewers.
#[derive(Debug)]
pub struct View {
    sender: broadcast::Sender<Arc<str>>,
    next_id: AtomicU64,
}

impl View {
    pub fn new() -> Arc<Self> {
        Arc::new(View { sender: broadcast::channel(BACKLOG).0, next_id: AtomicU64::new(1) })
    }
}

impl Sink for View {
    fn record(&self, record: Record) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let data = serde_json::json!({ "record": record, "text": render::text(&record, false) });
        // One `data:` line: JSON has no raw newlines.
        let event = format!("event: record\nid: {id}\ndata: {data}\n\n");
        // Nobody watching is fine.
        let _ = self.sender.send(event.into());
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
    let path = match request.parse(&head) {
        Ok(_) => request.path.unwrap_or("/").to_owned(),
        Err(_) => return respond(&mut stream, "400 Bad Request", "text/plain", "bad request").await,
    };
    match path.as_str() {
        "/" => respond(&mut stream, "200 OK", "text/html; charset=utf-8", PAGE).await,
        "/events" => stream_records(stream, view).await,
        _ => {
            respond(&mut stream, "404 Not Found", "text/plain", "the view is at / and its stream at /events")
                .await
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The event stream: subscribed before the head is sent, so every record
/// after the `: watching` comment reaches this viewer.
async fn stream_records(mut stream: TcpStream, view: &View) -> io::Result<()> {
    let mut records = view.sender.subscribe();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                Connection: close\r\n\r\n: watching\n\n";
    stream.write_all(head.as_bytes()).await?;
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
