//! Decoding vectors: the RFC's own examples decode to what the RFC says they
//! are, every rule a frame can break is flagged with its section, and
//! malformed input is reported, never a panic.
//!
//! These feed a connection's decoder directly: no sockets, no timing.

use std::sync::Arc;
use std::time::Instant;

use course_inspect::decode::Conn;
use course_inspect::ws::FrameInfo;
use course_inspect::{Collect, Dir, Handshake, Item, render};

const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";

/// A decoder and the records it made.
struct Wire {
    conn: Conn,
    sink: Arc<Collect>,
}

impl Wire {
    fn new() -> Self {
        let sink = Arc::new(Collect::default());
        Wire { conn: Conn::new(1, Instant::now(), sink.clone(), false), sink }
    }

    /// A connection past the RFC's handshake.
    fn upgraded() -> Self {
        let mut wire = Wire::new();
        wire.conn.feed(Dir::ToServer, RFC_REQUEST.as_bytes());
        wire.conn.feed(Dir::ToClient, RFC_RESPONSE.as_bytes());
        wire.sink.0.lock().unwrap().clear();
        wire
    }

    fn client(&mut self, bytes: &[u8]) -> &mut Self {
        self.conn.feed(Dir::ToServer, bytes);
        self
    }

    fn server(&mut self, bytes: &[u8]) -> &mut Self {
        self.conn.feed(Dir::ToClient, bytes);
        self
    }

    fn items(&self) -> Vec<Item> {
        self.sink.records().into_iter().map(|r| r.item).collect()
    }

    fn frames(&self) -> Vec<FrameInfo> {
        self.items()
            .into_iter()
            .filter_map(|i| match i {
                Item::Frame(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    fn violations(&self) -> Vec<(String, String)> {
        self.items()
            .into_iter()
            .filter_map(|i| match i {
                Item::Violation { section, what } => Some((section, what)),
                _ => None,
            })
            .collect()
    }

    /// Asserts exactly one violation, of `section`, saying `says`.
    fn flags(&self, section: &str, says: &str) {
        let violations = self.violations();
        assert!(
            violations.len() == 1 && violations[0].0 == section && violations[0].1.contains(says),
            "expected one violation of {section} saying {says:?}, got {violations:?}"
        );
    }
}

#[test]
fn the_rfc_handshake_shows_the_accept_value_and_a_tick() {
    let mut wire = Wire::new();
    wire.client(RFC_REQUEST.as_bytes()).server(RFC_RESPONSE.as_bytes());
    let handshake: Vec<Handshake> = wire
        .items()
        .into_iter()
        .filter_map(|i| match i {
            Item::Handshake(h) => Some(h),
            _ => None,
        })
        .collect();
    let [h] = handshake.as_slice() else { panic!("expected one handshake, got {:?}", wire.items()) };
    assert_eq!(h.key.as_deref(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(h.expected_accept.as_deref(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    assert_eq!(h.sent_accept, h.expected_accept);
    assert!(h.ok, "{h:?}");
    let records = wire.sink.records();
    let shown = records.iter().map(|r| render::text(r, false)).collect::<Vec<_>>().join("\n");
    assert!(shown.contains("WebSocket handshake ✓"), "{shown}");
    assert!(shown.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo= ✓"), "{shown}");
}

#[test]
fn a_wrong_accept_value_or_a_bad_request_is_a_cross_with_the_reason() {
    let mut wire = Wire::new();
    let wrong = RFC_RESPONSE.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "dGhlIHNhbXBsZSBub25jZQ==");
    wire.client(RFC_REQUEST.as_bytes()).server(wrong.as_bytes());
    let Some(Item::Handshake(h)) = wire.items().into_iter().find(|i| matches!(i, Item::Handshake(_))) else {
        panic!("no handshake")
    };
    assert!(!h.ok);
    assert!(h.reasons.iter().any(|r| r.contains("but the key gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")), "{h:?}");

    let mut wire = Wire::new();
    let old = RFC_REQUEST.replace("Version: 13", "Version: 8");
    wire.client(old.as_bytes()).server(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n");
    let Some(Item::Handshake(h)) = wire.items().into_iter().find(|i| matches!(i, Item::Handshake(_))) else {
        panic!("no handshake")
    };
    assert!(!h.ok);
    assert!(h.reasons.iter().any(|r| r.contains("not a valid upgrade")), "{h:?}");
    assert!(h.reasons.iter().any(|r| r.contains("426, not 101")), "{h:?}");
    // Refused, the connection goes on as HTTP.
    wire.client(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(wire.items().iter().any(|i| matches!(i, Item::Request { n: 2, .. })), "{:?}", wire.items());
}

/// RFC 6455 §5.7, "A single-frame unmasked text message" and "A
/// single-frame masked text message".
#[test]
fn the_rfcs_single_frame_examples_decode_to_hello() {
    let mut wire = Wire::upgraded();
    wire.server(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    wire.client(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let frames = wire.frames();
    let [unmasked, masked] = frames.as_slice() else { panic!("{frames:?}") };
    for f in [unmasked, masked] {
        assert!(f.fin && !f.rsv1 && !f.rsv2 && !f.rsv3);
        assert_eq!((f.opcode, f.opcode_name.as_str()), (1, "text"));
        assert_eq!((f.len, f.length_encoding), (5, "7-bit"));
        assert_eq!(f.payload, "\"Hello\"");
    }
    assert!(!unmasked.masked && unmasked.mask_key.is_none());
    assert!(masked.masked);
    assert_eq!(masked.mask_key.as_deref(), Some("37 fa 21 3d"));
    assert_eq!(masked.payload_masked.as_deref(), Some("5 bytes: 7f 9f 4d 51 58"));
    assert!(wire.violations().is_empty(), "{:?}", wire.violations());
}

/// §5.7, "A fragmented unmasked text message": "Hel" then "lo".
#[test]
fn the_rfcs_fragmented_example_is_grouped_into_one_message() {
    let mut wire = Wire::upgraded();
    wire.server(&[0x01, 0x03, 0x48, 0x65, 0x6c]).server(&[0x80, 0x02, 0x6c, 0x6f]);
    let frames = wire.frames();
    assert_eq!(frames.len(), 2);
    assert!(!frames[0].fin && frames[0].opcode_name == "text" && frames[0].payload == "\"Hel\"");
    assert!(frames[1].fin && frames[1].opcode_name == "continuation" && frames[1].payload == "\"lo\"");
    let message = wire.items().into_iter().find(|i| matches!(i, Item::Message { .. }));
    assert_eq!(
        message,
        Some(Item::Message { opcode: "text".into(), frames: 2, len: 5, payload: "\"Hello\"".into() })
    );
}

/// §5.7, "Unmasked Ping request and masked Ping response": the pong is
/// matched to its ping.
#[test]
fn the_rfcs_ping_and_pong_are_paired() {
    let mut wire = Wire::upgraded();
    wire.server(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    wire.client(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let frames = wire.frames();
    assert_eq!(frames[0].opcode_name, "ping");
    assert_eq!(frames[1].opcode_name, "pong");
    assert_eq!(frames[1].payload, "\"Hello\"");
    assert!(wire.items().iter().any(|i| matches!(i, Item::PongMatched { .. })), "{:?}", wire.items());
    assert!(wire.violations().is_empty());
}

/// §5.7, "256 bytes binary message in a single unmasked frame" and "64KiB
/// binary message in a single unmasked frame".
#[test]
fn the_rfcs_16_and_64_bit_lengths_are_named() {
    let mut wire = Wire::upgraded();
    let mut frame = vec![0x82, 0x7e, 0x01, 0x00];
    frame.extend(vec![0xab; 256]);
    wire.server(&frame);
    let mut frame = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    frame.extend(vec![0xab; 65536]);
    wire.server(&frame);
    let frames = wire.frames();
    assert_eq!(
        (frames[0].len, frames[0].length_encoding, frames[0].opcode_name.as_str()),
        (256, "16-bit", "binary")
    );
    assert_eq!((frames[1].len, frames[1].length_encoding), (65536, "64-bit"));
    assert!(frames[1].payload.starts_with("65536 bytes: ab ab"), "{}", frames[1].payload);
    assert!(wire.violations().is_empty());
}

#[test]
fn close_frames_show_the_code_its_meaning_and_the_reason() {
    let mut wire = Wire::upgraded();
    wire.server(&[0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']);
    let close = wire.frames()[0].close.clone().expect("a close frame has its close info");
    assert_eq!(close.code, Some(1000));
    assert_eq!(close.meaning, "normal closure");
    assert_eq!(close.reason, "bye");
    assert!(wire.violations().is_empty());
}

#[test]
fn a_masked_server_frame_is_flagged_5_1() {
    Wire::upgraded()
        .server(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
        .flags("RFC 6455 §5.1", "server frame is masked");
}

#[test]
fn an_unmasked_client_frame_is_flagged_5_1() {
    Wire::upgraded()
        .client(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        .flags("RFC 6455 §5.1", "client frame is not masked");
}

#[test]
fn a_control_frame_over_125_bytes_is_flagged_5_5() {
    let mut frame = vec![0x89, 0x7e, 0x00, 126];
    frame.extend(vec![b'x'; 126]);
    Wire::upgraded().server(&frame).flags("RFC 6455 §5.5", "at most 125 bytes; this one has 126");
}

#[test]
fn a_fragmented_control_frame_is_flagged_5_5() {
    Wire::upgraded().server(&[0x09, 0x00]).flags("RFC 6455 §5.5", "MUST NOT be fragmented");
}

#[test]
fn a_reserved_bit_or_opcode_is_flagged_5_2() {
    Wire::upgraded().server(&[0xc1, 0x00]).flags("RFC 6455 §5.2", "RSV1 set");
    Wire::upgraded().server(&[0x83, 0x00]).flags("RFC 6455 §5.2", "opcode 0x3 is reserved");
}

#[test]
fn a_length_in_more_bytes_than_it_needs_is_flagged_5_2() {
    Wire::upgraded()
        .server(&[0x81, 0x7e, 0x00, 0x01, b'x'])
        .flags("RFC 6455 §5.2", "minimal number of bytes");
}

#[test]
fn broken_fragmentation_is_flagged_5_4() {
    Wire::upgraded().server(&[0x80, 0x01, b'x']).flags("RFC 6455 §5.4", "no fragmented message was started");
    Wire::upgraded()
        .server(&[0x01, 0x01, b'x'])
        .server(&[0x81, 0x01, b'y'])
        .flags("RFC 6455 §5.4", "while a fragmented message is unfinished");
}

#[test]
fn bad_close_payloads_are_flagged() {
    Wire::upgraded().server(&[0x88, 0x01, 0x03]).flags("RFC 6455 §5.5.1", "1 byte");
    Wire::upgraded().server(&[0x88, 0x02, 0x03, 0xed]).flags("RFC 6455 §7.4.1", "1005 MUST NOT be sent");
    Wire::upgraded().server(&[0x88, 0x02, 0x03, 0xe7]).flags("RFC 6455 §7.4.2", "999");
    Wire::upgraded().server(&[0x88, 0x03, 0x03, 0xe8, 0xff]).flags("RFC 6455 §5.5.1", "not valid UTF-8");
}

#[test]
fn invalid_utf8_in_a_text_message_is_flagged_8_1() {
    Wire::upgraded().server(&[0x81, 0x02, 0xc3, 0x28]).flags("RFC 6455 §8.1", "not valid UTF-8");
}

#[test]
fn frames_split_one_byte_at_a_time_decode_the_same() {
    let mut whole = Wire::upgraded();
    let mut split = Wire::upgraded();
    let bytes = [0x01, 0x83, 1, 2, 3, 4, 0x49, 0x67, 0x6f, 0x80, 0x82, 5, 6, 7, 8, 0x69, 0x6a];
    whole.client(&bytes);
    for byte in bytes {
        split.client(&[byte]);
    }
    assert_eq!(whole.items(), split.items());
    assert_eq!(whole.frames().len(), 2);
}

#[test]
fn keep_alive_reuse_and_bodies_are_shown() {
    let mut wire = Wire::new();
    wire.client(b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"a\":\"b\"}\r\n");
    wire.server(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    wire.client(b"GET /tasks HTTP/1.1\r\nHost: x\r\n\r\n");
    wire.server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    let items = wire.items();
    assert!(
        items.iter().any(|i| matches!(i, Item::Request { n: 2, method, .. } if method == "GET")),
        "{items:?}"
    );
    assert!(items.iter().any(|i| matches!(i, Item::Response { n: 2, status: 200, .. })), "{items:?}");
    let bodies: Vec<(u64, String)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Body { len, preview, complete: true } => Some((*len, preview.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        bodies,
        [(11, r#""{\"a\":\"b\"}\r\n""#.to_owned()), (2, "\"ok\"".to_owned()), (3, "\"abc\"".to_owned())]
    );
    let shown: Vec<String> = wire.sink.records().iter().map(|r| render::text(r, false)).collect();
    assert!(shown.iter().any(|l| l.contains("request 2: connection kept alive, reused")), "{shown:?}");
}

#[test]
fn sse_events_are_shown_as_a_browser_dispatches_them() {
    let mut wire = Wire::new();
    wire.client(b"GET /boards/board-1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    wire.server(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    let stream =
        b"retry: 3000\n\n: keep-alive\n\nevent: task_created\nid: 1\ndata: line one\ndata: line two\n\n";
    // The chunked framing and the event lines split anywhere, one byte at a time.
    let mut chunked = Vec::new();
    for piece in stream.chunks(7) {
        chunked.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend(piece);
        chunked.extend(b"\r\n");
    }
    for byte in chunked {
        wire.server(&[byte]);
    }
    let items = wire.items();
    assert!(items.contains(&Item::SseRetry { retry_ms: 3000 }), "{items:?}");
    assert!(items.contains(&Item::SseComment { text: " keep-alive".into() }), "{items:?}");
    let event = Item::SseEvent {
        event: "task_created".into(),
        data: "line one\nline two".into(),
        id: Some("1".into()),
        last_event_id: "1".into(),
    };
    assert!(items.contains(&event), "{items:?}");
}

#[test]
fn garbage_and_truncation_are_reported_never_a_panic() {
    let mut wire = Wire::new();
    wire.client(b"\x16\x03\x01\x02\x00 not http at all \xff\xfe");
    wire.server(b"SSH-2.0-OpenSSH_9.6\r\n");
    wire.client(b"more garbage");
    wire.conn.end(Dir::ToServer, "FIN".into());
    let unparsed = wire.items().iter().filter(|i| matches!(i, Item::Unparsed { .. })).count();
    assert!(unparsed >= 1, "{:?}", wire.items());

    // A response that isn't HTTP, to a WebSocket upgrade.
    let mut wire = Wire::new();
    wire.client(RFC_REQUEST.as_bytes()).server(b"\x00\x01\x02 hello\r\n\r\n");
    assert!(wire.items().iter().any(|i| matches!(i, Item::Unparsed { .. })), "{:?}", wire.items());

    // A frame cut short by the end of the connection.
    let mut wire = Wire::upgraded();
    wire.server(&[0x81, 0x7e, 0x01]);
    wire.conn.end(Dir::ToClient, "FIN".into());
    assert!(wire.items().iter().any(|i| matches!(i, Item::Unparsed { len: 3, .. })), "{:?}", wire.items());

    // Every byte value in every state: whatever comes, no panic.
    for seed in 0u32..64 {
        let mut wire = Wire::upgraded();
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let noise: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        for piece in noise.chunks(1 + seed as usize % 17) {
            wire.client(piece).server(piece);
        }
        let mut http = Wire::new();
        http.client(&noise).server(&noise);
        for items in [wire.items(), http.items()] {
            let bug =
                items.iter().find(|i| matches!(i, Item::Unparsed { what, .. } if what.contains("a bug")));
            assert!(bug.is_none(), "the decoder panicked on seed {seed}: {bug:?}");
        }
    }
}

#[test]
fn bytes_dumps_name_each_header_field_and_json_has_one_record_a_line() {
    let sink = Arc::new(Collect::default());
    let mut conn = Conn::new(1, Instant::now(), sink.clone(), true);
    conn.feed(Dir::ToServer, RFC_REQUEST.as_bytes());
    conn.feed(Dir::ToClient, RFC_RESPONSE.as_bytes());
    conn.feed(Dir::ToServer, &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let records = sink.records();
    let dump = records
        .iter()
        .filter_map(|r| match &r.item {
            Item::Bytes { dump } if dump.starts_with("81 85") => Some(dump.clone()),
            _ => None,
        })
        .next()
        .expect("a dump of the frame's header");
    assert!(dump.contains("FIN=1 RSV1=0 RSV2=0 RSV3=0 opcode=0001 (text)"), "{dump}");
    assert!(dump.contains("MASK=1 length=0000101"), "{dump}");
    assert!(dump.contains("bytes 2–5 = 37 fa 21 3d: masking key"), "{dump}");
    for record in &records {
        let line = render::json(record);
        assert!(!line.contains('\n'), "{line}");
        let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert!(value["kind"].is_string() && value["conn"] == 1, "{line}");
    }
    let frame = records.iter().find(|r| matches!(r.item, Item::Frame(_))).expect("a frame");
    let line = render::json(frame);
    assert!(line.contains(r#""kind":"frame""#) && line.contains(r#""mask_key":"37 fa 21 3d""#), "{line}");
}
