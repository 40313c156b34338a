//! The live view's stream, as the book's Wire panel reads it: from another
//! origin (CORS, for loopback pages only), opening with where the proxy
//! listens, and replaying what a viewer missed (all of it, or what came
//! after its `Last-Event-ID`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use course_checks::sse::{Event, Item as SseItem, Parser};
use course_inspect::view::{self, View};
use course_inspect::{Dir, Item, Record, Sink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    timeout(Duration::from_secs(10), future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

async fn serve(view: &Arc<View>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(view::serve(listener, view.clone()));
    addr
}

fn marker(view: &View, n: u64) {
    view.record(Record { conn: n, ms: 0.0, dir: Dir::Proxy, item: Item::End { how: format!("marker {n}") } });
}

/// Subscribes with `headers`; returns the response head and the events up
/// to (and with) the one whose id is `until`.
async fn subscribe(addr: std::net::SocketAddr, headers: &str, until: &str) -> (String, Vec<Event>) {
    let mut stream = within("connecting", TcpStream::connect(addr)).await.unwrap();
    let request = format!("GET /events HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    within("subscribing", stream.write_all(request.as_bytes())).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0; 8192];
    let body_start = loop {
        let n = within("the head", stream.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended");
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..body_start]).into_owned();
    let mut parser = Parser::new();
    let mut events = Vec::new();
    let mut items = parser.feed(&raw[body_start..]);
    loop {
        for item in items.drain(..) {
            if let SseItem::Event(event) = item {
                let done = event.id.as_deref() == Some(until);
                events.push(event);
                if done {
                    return (head, events);
                }
            }
        }
        let n = within("the events", stream.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended after {events:?}");
        items = parser.feed(&buf[..n]);
    }
}

#[tokio::test]
async fn a_loopback_page_may_read_the_stream_which_says_where_the_proxy_is_and_replays_the_past() {
    let view = View::describing("127.0.0.1:3001", "localhost:3000", Vec::new());
    let addr = serve(&view).await;
    for n in 1..=3 {
        marker(&view, n);
    }
    let (head, events) = subscribe(addr, "Origin: http://localhost:4000\r\n", "3").await;
    assert!(head.contains("Access-Control-Allow-Origin: http://localhost:4000\r\n"), "{head}");
    assert!(head.contains("Vary: Origin"), "{head}");
    assert_eq!(events[0].name, "inspector");
    let about: serde_json::Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(about, serde_json::json!({ "listen": "127.0.0.1:3001", "to": "localhost:3000" }));
    let ids: Vec<_> = events[1..].iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    assert_eq!(ids, ["1", "2", "3"], "a new viewer gets the records kept so far");
}

#[tokio::test]
async fn a_viewer_that_reconnects_gets_only_what_it_missed() {
    let view = View::new();
    let addr = serve(&view).await;
    for n in 1..=4 {
        marker(&view, n);
    }
    let (_, events) = subscribe(addr, "Last-Event-ID: 2\r\n", "4").await;
    let ids: Vec<_> = events.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["3", "4"]);
}

#[tokio::test]
async fn other_websites_may_not_read_what_passed_through_the_proxy() {
    let view = View::describing("127.0.0.1:3001", "localhost:3000", vec!["https://course.example".into()]);
    let addr = serve(&view).await;
    marker(&view, 1);
    for (origin, allowed) in [
        ("https://evil.example", false),
        ("http://localhost.evil.example", false),
        ("http://127.0.0.1:4000", true),
        ("http://[::1]:4000", true),
        ("https://course.example", true),
    ] {
        let (head, _) = subscribe(addr, &format!("Origin: {origin}\r\n"), "1").await;
        assert_eq!(head.contains("Access-Control-Allow-Origin"), allowed, "{origin}: {head}");
    }
}
