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

/// The record an event carries: its `conn` is the marker's number.
fn marker_of(event: &Event) -> u64 {
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    data["record"]["conn"].as_u64().unwrap()
}

/// Subscribes with `headers`; returns the response head and the events up
/// to (and with) marker `until`.
async fn subscribe(addr: std::net::SocketAddr, headers: &str, until: u64) -> (String, Vec<Event>) {
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
                let done = event.name == "record" && marker_of(&event) == until;
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
    let (head, events) = subscribe(addr, "Origin: http://localhost:4000\r\n", 3).await;
    assert!(head.contains("Access-Control-Allow-Origin: http://localhost:4000\r\n"), "{head}");
    assert!(head.contains("Vary: Origin"), "{head}");
    assert_eq!(events[0].name, "inspector");
    let about: serde_json::Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(about, serde_json::json!({ "listen": "127.0.0.1:3001", "to": "localhost:3000" }));
    let markers: Vec<_> = events[1..].iter().map(marker_of).collect();
    assert_eq!(markers, [1, 2, 3], "a new viewer gets the records kept so far");
}

#[tokio::test]
async fn a_viewer_that_reconnects_gets_only_what_it_missed() {
    let view = View::new();
    let addr = serve(&view).await;
    for n in 1..=4 {
        marker(&view, n);
    }
    let (_, events) = subscribe(addr, "", 4).await;
    let second = events.iter().find(|e| e.name == "record" && marker_of(e) == 2).unwrap();
    let last_seen = second.id.clone().unwrap();
    let (_, events) = subscribe(addr, &format!("Last-Event-ID: {last_seen}\r\n"), 4).await;
    let markers: Vec<_> = events.iter().filter(|e| e.name == "record").map(marker_of).collect();
    assert_eq!(markers, [3, 4]);
}

/// A viewer of an inspector that was started again sends the old one's
/// last id: the new one's records are newer, and all of them come.
#[tokio::test]
async fn a_viewer_of_an_earlier_inspector_gets_everything() {
    let earlier = View::new();
    marker(&earlier, 1);
    let view = View::new();
    let addr = serve(&view).await;
    marker(&view, 2);
    let (_, events) = subscribe(addr, "", 2).await;
    let new_id: u64 = events.last().unwrap().id.as_deref().unwrap().parse().unwrap();
    // The earlier view's ids: below the new one's, even though each started afresh.
    let (_, old_events) = subscribe(serve(&earlier).await, "", 1).await;
    let old_id: u64 = old_events.last().unwrap().id.as_deref().unwrap().parse().unwrap();
    assert!(old_id < new_id, "{old_id} < {new_id}");
    let (_, events) = subscribe(addr, &format!("Last-Event-ID: {old_id}\r\n"), 2).await;
    let markers: Vec<_> = events.iter().filter(|e| e.name == "record").map(marker_of).collect();
    assert_eq!(markers, [2]);
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
        let (head, _) = subscribe(addr, &format!("Origin: {origin}\r\n"), 1).await;
        assert_eq!(head.contains("Access-Control-Allow-Origin"), allowed, "{origin}: {head}");
    }
}
