//! The proxy changes nothing: what one side sends, the other receives, byte
//! for byte, however it is split; a FIN is passed on while the other
//! direction goes on; a reset is passed on as a reset.
//!
//! Each test starts a scripted "server" on a free port and the proxy in
//! front of it, over real TCP. Every wait has a deadline; nothing sleeps.

use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use course_inspect::{Collect, Item, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);

/// Bounds a wait: a hang is a failure that says what it was waiting for.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    timeout(DEADLINE, future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A proxy in front of a listener the test accepts from.
async fn proxy() -> (TcpListener, String, Arc<Collect>) {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = server.local_addr().unwrap().to_string();
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = front.local_addr().unwrap().to_string();
    let sink = Arc::new(Collect::default());
    tokio::spawn(course_inspect::serve(front, Options { to, bytes: true }, sink.clone()));
    (server, front_addr, sink)
}

/// The opening handshake, then a client's frames: a text frame split one
/// byte at a time, a ping, and a 1 MiB binary frame, all masked.
fn client_bytes() -> (Vec<u8>, Vec<Vec<u8>>) {
    let head = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    let hello = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let mut pieces: Vec<Vec<u8>> = hello.iter().map(|b| vec![*b]).collect();
    pieces.push(vec![0x89, 0x80, 1, 2, 3, 4]);
    let len = 1 << 20;
    let mut big = vec![0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 9, 8, 7, 6];
    big.extend((0..len).map(|i| (i % 251) as u8 ^ [9, 8, 7, 6][i % 4]));
    pieces.push(big);
    (head, pieces)
}

/// The server's answer: the 101, then a 1 MiB unmasked frame split in odd
/// pieces, a pong, and a close.
fn server_bytes() -> Vec<u8> {
    let mut out = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        .to_vec();
    out.extend([0x82, 0x7f, 0, 0, 0, 0, 0, 0x10, 0, 0]);
    out.extend((0..1 << 20).map(|i| (i % 253) as u8));
    out.extend([0x8a, 0x00, 0x88, 0x02, 0x03, 0xe8]);
    out
}

#[tokio::test]
async fn bytes_pass_unchanged_both_ways_however_they_are_split() {
    let (server, front, sink) = proxy().await;
    let (head, pieces) = client_bytes();
    let sent_up: Vec<u8> = head.iter().chain(pieces.iter().flatten()).copied().collect();
    let sent_down = server_bytes();

    let expected_down = sent_down.clone();
    let server_side = tokio::spawn(async move {
        let (mut stream, _) = within("the proxy dialling the server", server.accept()).await.unwrap();
        let mut head = vec![0; 0];
        // Read the request head, answer, then read everything else.
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            within("the request head", stream.read_exact(&mut byte)).await.unwrap();
            head.push(byte[0]);
        }
        for piece in expected_down.chunks(7919) {
            within("writing to the proxy", stream.write_all(piece)).await.unwrap();
        }
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        within("the client's frames and FIN", stream.read_to_end(&mut rest)).await.unwrap();
        head.extend(rest);
        head
    });

    let mut client = within("connecting to the proxy", TcpStream::connect(&front)).await.unwrap();
    within("sending the head", client.write_all(&head)).await.unwrap();
    // Read concurrently: the server's 1 MiB would otherwise fill both windows.
    let (mut read, mut write) = client.into_split();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        within("the server's bytes and FIN", read.read_to_end(&mut got)).await.unwrap();
        got
    });
    for piece in &pieces {
        within("sending a piece", write.write_all(piece)).await.unwrap();
        within("flushing", write.flush()).await.unwrap();
    }
    write.shutdown().await.unwrap();

    let got_down = within("the client's reader", reader).await.unwrap();
    let got_up = within("the server's reader", server_side).await.unwrap();
    assert!(got_up == sent_up, "the server got {} bytes, not the {} sent", got_up.len(), sent_up.len());
    assert!(
        got_down == sent_down,
        "the client got {} bytes, not the {} sent",
        got_down.len(),
        sent_down.len()
    );

    // And it was decoded on the way: both 1 MiB frames, the ping and its pong.
    let records = sink.records();
    let big = records
        .iter()
        .filter(|r| matches!(&r.item, Item::Frame(f) if f.len == 1 << 20 && f.length_encoding == "64-bit"))
        .count();
    assert_eq!(big, 2, "{:?}", records.iter().map(|r| &r.item).collect::<Vec<_>>());
    assert!(records.iter().any(|r| matches!(r.item, Item::PongMatched { .. })));
    assert!(records.iter().any(|r| matches!(&r.item, Item::Handshake(h) if h.ok)));
}

#[tokio::test]
async fn a_fin_is_passed_on_and_the_other_direction_goes_on() {
    let (server, front, sink) = proxy().await;
    let mut client = within("connecting", TcpStream::connect(&front)).await.unwrap();
    let (mut stream, _) = within("accepting", server.accept()).await.unwrap();

    within("sending", client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).await.unwrap();
    client.shutdown().await.unwrap();
    // The server sees the request, then the end of the client's half.
    let mut got = Vec::new();
    within("the request and the FIN", stream.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Its own half is still open: the answer reaches the client.
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    within("answering after the FIN", stream.write_all(answer)).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut got = Vec::new();
    within("the answer and the FIN", client.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, answer);
    let ends = sink.records().iter().filter(|r| matches!(r.item, Item::End { .. })).count();
    assert_eq!(ends, 2);
}

#[tokio::test]
async fn a_reset_is_passed_on_as_a_reset() {
    let (server, front, sink) = proxy().await;
    let mut client = within("connecting", TcpStream::connect(&front)).await.unwrap();
    let (mut stream, _) = within("accepting", server.accept()).await.unwrap();
    within("sending", client.write_all(b"GET / HTTP/1.1\r\n")).await.unwrap();
    // Once the bytes came through, the proxy is forwarding: now reset.
    let mut got = [0; 16];
    within("the bytes through", stream.read_exact(&mut got)).await.unwrap();
    stream.set_zero_linger().unwrap();
    drop(stream);
    let mut buf = [0; 16];
    let got = within("the reset", client.read(&mut buf)).await;
    assert!(
        got.as_ref().is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "expected the connection reset, got {got:?}; {:?}",
        sink.records()
    );
    let records = sink.records();
    assert!(
        records.iter().any(|r| matches!(&r.item, Item::End { how } if how.contains("reset"))),
        "{records:?}"
    );
}

#[tokio::test]
async fn garbage_both_ways_is_forwarded_and_reported() {
    let (server, front, sink) = proxy().await;
    let mut client = within("connecting", TcpStream::connect(&front)).await.unwrap();
    let (mut stream, _) = within("accepting", server.accept()).await.unwrap();
    let noise: Vec<u8> = (0u32..70_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let (mut read, mut write) = client.split();
    let sending = async {
        within("sending noise", write.write_all(&noise)).await.unwrap();
        write.shutdown().await.unwrap();
    };
    let receiving = async {
        let mut got = Vec::new();
        within("the noise", stream.read_to_end(&mut got)).await.unwrap();
        got
    };
    let ((), got) = tokio::join!(sending, receiving);
    assert!(got == noise, "the server got {} bytes of {} noise bytes, changed", got.len(), noise.len());
    // Back the other way, and the proxy still forwards new connections.
    within("noise back", stream.write_all(&noise[..1000])).await.unwrap();
    let mut back = vec![0; 1000];
    within("reading noise back", read.read_exact(&mut back)).await.unwrap();
    assert_eq!(back, noise[..1000]);
    let _second = within("a second connection", TcpStream::connect(&front)).await.unwrap();
    within("accepting the second", server.accept()).await.unwrap();
    assert!(sink.records().iter().any(|r| matches!(r.item, Item::Unparsed { .. })));
}

#[tokio::test]
async fn a_server_that_is_down_is_reported_and_the_client_is_closed() {
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = gone.local_addr().unwrap().to_string();
    drop(gone);
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = front.local_addr().unwrap();
    let sink = Arc::new(Collect::default());
    tokio::spawn(course_inspect::serve(front, Options { to, bytes: false }, sink.clone()));
    let mut client = within("connecting", TcpStream::connect(front_addr)).await.unwrap();
    let mut buf = [0; 1];
    let got = within("the close", client.read(&mut buf)).await;
    assert!(matches!(got, Ok(0) | Err(_)), "expected the connection to close, got {got:?}");
    assert!(sink.records().iter().any(|r| matches!(r.item, Item::DialFailed { .. })));
}

#[tokio::test]
async fn a_server_that_does_not_read_stops_the_client_backpressure() {
    let (server, front, _sink) = proxy().await;
    let mut client = within("connecting", TcpStream::connect(&front)).await.unwrap();
    let (mut stream, _) = within("accepting", server.accept()).await.unwrap();
    // Write until the client can't: the proxy holds 64 KiB per direction,
    // the kernel a few MiB per socket. A proxy that buffered without bound
    // would take it all.
    const LIMIT: usize = 64 << 20;
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    while written < LIMIT {
        match client.try_write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Blocked. If it stays blocked for a while, backpressure held.
                if timeout(Duration::from_millis(300), client.writable()).await.is_err() {
                    break;
                }
            }
            Err(e) => panic!("writing: {e}"),
        }
    }
    assert!(
        written < LIMIT,
        "the client wrote {written} bytes while nobody read: the proxy buffers without bound"
    );
    // Once the server reads, everything arrives.
    let reader = tokio::spawn(async move {
        let mut total = 0;
        let mut buf = vec![0; 64 * 1024];
        loop {
            match within("reading", stream.read(&mut buf)).await.unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    });
    within("the rest", client.write_all(&chunk)).await.unwrap();
    client.shutdown().await.unwrap();
    let total = within("the reader", reader).await.unwrap();
    assert_eq!(total, written + chunk.len());
}

#[tokio::test]
async fn the_live_view_serves_its_page_and_streams_records_as_sse() {
    use course_checks::sse::{Item as SseItem, Parser};
    use course_inspect::view::{self, View};
    use course_inspect::{Dir, Record, Sink};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let view = View::new();
    tokio::spawn(view::serve(listener, view.clone()));

    let mut page = within("connecting", TcpStream::connect(addr)).await.unwrap();
    within("asking for the page", page.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).await.unwrap();
    let mut got = Vec::new();
    within("the page", page.read_to_end(&mut got)).await.unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 200 OK") && got.contains("new EventSource(\"/events\")"), "{got}");

    let mut events = within("connecting", TcpStream::connect(addr)).await.unwrap();
    within("subscribing", events.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")).await.unwrap();
    // Read up to the `: watching` comment: from then on, records reach us.
    let mut parser = Parser::new();
    let mut buf = [0; 4096];
    let mut raw = Vec::new();
    let body_start = loop {
        let n = within("the stream's head", events.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended");
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    assert!(String::from_utf8_lossy(&raw[..body_start]).contains("text/event-stream"));
    let mut items = parser.feed(&raw[body_start..]);
    while !items.iter().any(|i| matches!(i, SseItem::Comment(c) if c == " watching")) {
        let n = within("the : watching comment", events.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended");
        items.extend(parser.feed(&buf[..n]));
    }
    let item = Item::End { how: "marker".into() };
    view.record(Record { conn: 7, ms: 1.5, dir: Dir::Proxy, item });
    let event = loop {
        let n = within("the record's event", events.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended");
        if let Some(SseItem::Event(e)) =
            parser.feed(&buf[..n]).into_iter().find(|i| matches!(i, SseItem::Event(_)))
        {
            break e;
        }
    };
    assert_eq!(event.name, "record");
    assert!(event.id.as_deref().is_some_and(|id| id.parse::<u64>().is_ok()), "{:?}", event.id);
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["record"]["conn"], 7);
    assert_eq!(data["record"]["kind"], "end");
    assert!(data["text"].as_str().unwrap().contains("marker"));
}
