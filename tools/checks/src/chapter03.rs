//! Chapter 3, "How WebSockets work: the upgrade handshake": the opening
//! handshake of RFC 6455, by hand, on a raw TCP listener.
//!
//! The contract (the book's chapter 3 is the final word): `GET /ws` with
//! `Upgrade: websocket`, `Connection: Upgrade`, a `Sec-WebSocket-Key` of 16
//! base64 bytes and `Sec-WebSocket-Version: 13` gets `101 Switching
//! Protocols` with the key's `Sec-WebSocket-Accept`, then one text frame
//! ([`GREETING`]) and a close frame with code 1000. Anything else gets an
//! HTTP answer and the connection closes: `426` (no WebSocket upgrade, or a
//! version other than 13), `400` (a malformed handshake or request), `405`
//! (not GET), `404` (not `/ws`), `431` or `400` (a head over 8 KiB).
//!
//! Almost every check talks through a [`RawClient`], because the point is
//! what a server does with bytes that a polite client library would never
//! send. One check uses tokio-tungstenite, a real client.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::http::ANSWER_TIMEOUT;
use crate::raw::{RawClient, ResponseHead};
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 3,
    slug: "03-handshake",
    title: "How WebSockets work: the upgrade handshake",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

/// The text of the one message the server sends after the `101`.
pub const GREETING: &str = "Hello from the task board!";

/// The learner's `accept_key`, handed over by `tests/checks.rs`:
/// `Locals::new().with(chapter03::AcceptKey(server::accept_key))`.
#[derive(Debug, Clone, Copy)]
pub struct AcceptKey(pub fn(&str) -> String);

/// The seed's key and the accept value RFC 6455 §1.3 computes from it.
const SEED_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SEED_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The chapter's limit on a request head.
const HEAD_LIMIT: &str = "8 KiB";

const PAGE: &str = "ch03-handshake.md";

const ACCEPT: Stage = Stage { number: 1, slug: "accept", title: "Compute Sec-WebSocket-Accept" };
const UPGRADE: Stage = Stage { number: 2, slug: "upgrade", title: "Answer 101 Switching Protocols" };
const GREETING_STAGE: Stage = Stage { number: 3, slug: "greeting", title: "Greet, then close" };
const HEADERS: Stage = Stage { number: 4, slug: "headers", title: "Read headers the way HTTP does" };
const VERSION: Stage = Stage { number: 5, slug: "version", title: "Negotiate the version" };
const REFUSALS: Stage = Stage { number: 6, slug: "refusals", title: "Say no with the right status" };
const ROBUSTNESS: Stage = Stage { number: 7, slug: "robustness", title: "Read bytes as they come" };

const ACCEPT_SECTION: Section =
    Section { page: PAGE, anchor: "computing-sec-websocket-accept", title: "Computing Sec-WebSocket-Accept" };
const UPGRADE_SECTION: Section = Section {
    page: PAGE,
    anchor: "answering-101-switching-protocols",
    title: "Answering 101 Switching Protocols",
};
const GREETING_SECTION: Section = Section {
    page: PAGE,
    anchor: "after-the-101-a-greeting-and-a-close",
    title: "After the 101: a greeting and a close",
};
const HEADERS_SECTION: Section = Section {
    page: PAGE,
    anchor: "reading-headers-the-way-http-does",
    title: "Reading headers the way HTTP does",
};
const VERSION_SECTION: Section =
    Section { page: PAGE, anchor: "version-negotiation", title: "Version negotiation" };
const REFUSALS_SECTION: Section = Section {
    page: PAGE,
    anchor: "saying-no-with-the-right-status",
    title: "Saying no with the right status",
};
const ROBUSTNESS_SECTION: Section =
    Section { page: PAGE, anchor: "reading-bytes-as-they-come", title: "Reading bytes as they come" };

const CHECKS: &[Check] = &[
    Check {
        name: "accept_key_matches_the_rfc_example",
        stage: ACCEPT,
        section: ACCEPT_SECTION,
        hints: &[
            "Append the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11 to the key *as text* (don't decode \
             it), SHA-1 the result, and base64 the 20 raw bytes of the digest (not their hex).",
            "With the sha1 and base64 crates: `Sha1::new().chain_update(key).chain_update(GUID).finalize()`, \
             then `base64::engine::general_purpose::STANDARD.encode(digest)`.",
        ],
        needs: Needs::Code("calls accept_key of your crate directly"),
        body: |t| Box::pin(accept_key_matches_the_rfc_example(t)),
    },
    Check {
        name: "the_seeds_request_gets_101_switching_protocols",
        stage: UPGRADE,
        section: UPGRADE_SECTION,
        hints: &[
            "Read the request, then write `HTTP/1.1 101 Switching Protocols`, `Upgrade: websocket`, \
             `Connection: Upgrade` and `Sec-WebSocket-Accept: <accept_key(key)>`, each line ending in \
             \\r\\n, and one empty line (\\r\\n) to end the head.",
            "The server must not wait for a body: a GET has none. Answer as soon as the blank line that \
             ends the head has arrived.",
            "In `connection::handle`: `request::read_request(&mut stream)`, then \
             `handshake::validate(&request)` (for now it only needs `accept_key` of the \
             Sec-WebSocket-Key), then write `Response::switching_protocols(&accept).to_bytes()`.",
            "In `request::parse`: `let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];`, \
             `httparse::Request::new(&mut headers).parse(buffer)`; `Status::Partial` is `Ok(None)`, and on \
             `Status::Complete` copy method, target, version and headers into a `Request`. In \
             `read_request`: a `Vec<u8>` buffer, `read_buf` into it, and `parse` the whole buffer after \
             each read.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(the_seeds_request_gets_101_switching_protocols(t)),
    },
    Check {
        name: "each_key_gets_its_own_accept_value",
        stage: UPGRADE,
        section: UPGRADE_SECTION,
        hints: &["Compute Sec-WebSocket-Accept from the Sec-WebSocket-Key of *this* request with \
                  accept_key: a client checks it against the key it chose at random."],
        needs: Needs::Address,
        body: |t| Box::pin(each_key_gets_its_own_accept_value(t)),
    },
    Check {
        name: "after_the_101_comes_a_greeting_then_a_close",
        stage: GREETING_STAGE,
        section: GREETING_SECTION,
        hints: &[
            "Right after the 101, write `frames::text_frame(GREETING)` and then \
             `frames::close_frame(NORMAL_CLOSURE)`: the bytes 81 1a … and 88 02 03 e8.",
            "Then wait for the client's own close frame (read anything, or end-of-file, with a time \
             limit) and drop the stream: that closes the TCP connection.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(after_the_101_comes_a_greeting_then_a_close(t)),
    },
    Check {
        name: "a_websocket_client_receives_the_greeting_and_a_close",
        stage: GREETING_STAGE,
        section: GREETING_SECTION,
        hints: &[
            "A real client checks every header of the 101: `Connection` must be exactly `Upgrade`, and \
             the response must not carry `Sec-WebSocket-Protocol` or `Sec-WebSocket-Extensions` it did \
             not ask for.",
            "After the close frame, close the TCP connection (drop the stream), or the client waits.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_websocket_client_receives_the_greeting_and_a_close(t)),
    },
    Check {
        name: "header_names_match_in_any_case",
        stage: HEADERS,
        section: HEADERS_SECTION,
        hints: &["HTTP header names are case-insensitive: compare them with `eq_ignore_ascii_case`, \
                  never with `==`. `sec-websocket-key` is the same header as `Sec-WebSocket-Key`."],
        needs: Needs::Address,
        body: |t| Box::pin(header_names_match_in_any_case(t)),
    },
    Check {
        name: "connection_is_a_list_of_tokens",
        stage: HEADERS,
        section: HEADERS_SECTION,
        hints: &[
            "Firefox sends `Connection: keep-alive, Upgrade`. Split the value on commas, trim each \
             token, and look for `upgrade` in any case.",
            "A header may also come on several lines (`Connection: keep-alive` then `Connection: \
             Upgrade`): look at every line with that name, not just the first.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(connection_is_a_list_of_tokens(t)),
    },
    Check {
        name: "the_upgrade_value_matches_in_any_case",
        stage: HEADERS,
        section: HEADERS_SECTION,
        hints: &["RFC 6455 compares the Upgrade value to `websocket` case-insensitively: `WebSocket` is \
                  fine."],
        needs: Needs::Address,
        body: |t| Box::pin(the_upgrade_value_matches_in_any_case(t)),
    },
    Check {
        name: "a_browsers_handshake_gets_101_without_extensions",
        stage: HEADERS,
        section: HEADERS_SECTION,
        hints: &[
            "Headers you don't know (User-Agent, Origin, Pragma…) are not errors: ignore them. They can \
             come in any order.",
            "Don't echo `Sec-WebSocket-Extensions`: answering `permessage-deflate` promises compressed \
             frames, and this server sends none. Leave the header out and the client uses no extension.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_browsers_handshake_gets_101_without_extensions(t)),
    },
    Check {
        name: "an_unsupported_version_gets_426_with_version_13",
        stage: VERSION,
        section: VERSION_SECTION,
        hints: &[
            "Any Sec-WebSocket-Version other than 13 gets `426 Upgrade Required` with \
             `Sec-WebSocket-Version: 13`: the version this server speaks, so the client can retry.",
            "RFC 9110: a 426 MUST carry `Upgrade` (here `Upgrade: websocket`), and whoever sends \
             `Upgrade` also sends `Connection: Upgrade`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(an_unsupported_version_gets_426_with_version_13(t)),
    },
    Check {
        name: "a_missing_version_gets_426_with_version_13",
        stage: VERSION,
        section: VERSION_SECTION,
        hints: &["No Sec-WebSocket-Version at all is not version 13: answer it like any version you don't \
                  speak, 426 with `Sec-WebSocket-Version: 13`."],
        needs: Needs::Address,
        body: |t| Box::pin(a_missing_version_gets_426_with_version_13(t)),
    },
    Check {
        name: "a_plain_get_gets_426_upgrade_required",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &["A GET /ws without `Upgrade: websocket` (curl, a browser tab) asks for something this \
                  endpoint only serves over WebSocket: `426 Upgrade Required`, with `Upgrade: websocket` \
                  and `Connection: Upgrade` saying what to switch to."],
        needs: Needs::Address,
        body: |t| Box::pin(a_plain_get_gets_426_upgrade_required(t)),
    },
    Check {
        name: "a_missing_or_malformed_key_gets_400",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &[
            "RFC 6455 §4.2.1: the key is base64 that decodes to exactly 16 bytes. Decode it with \
             `STANDARD.decode(key)` and check the length; a missing key, `abc` or 15 bytes get 400.",
            "Validate the key, but compute the accept value from the key *as sent*, not from the \
             decoded bytes.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_missing_or_malformed_key_gets_400(t)),
    },
    Check {
        name: "a_request_without_host_gets_400",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &["Every HTTP/1.1 request carries `Host` (RFC 9112), and RFC 6455 §4.2.1 lists it among \
                  the handshake's required headers: none gets 400."],
        needs: Needs::Address,
        body: |t| Box::pin(a_request_without_host_gets_400(t)),
    },
    Check {
        name: "a_connection_header_without_upgrade_gets_400",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &["`Upgrade: websocket` without the `upgrade` token in Connection is a broken handshake: \
                  400. (The token tells proxies that Upgrade is about this connection only.)"],
        needs: Needs::Address,
        body: |t| Box::pin(a_connection_header_without_upgrade_gets_400(t)),
    },
    Check {
        name: "an_http_1_0_request_gets_400",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &["RFC 6455 needs HTTP/1.1 or later, and RFC 9110 says a server MUST ignore Upgrade in an \
                  HTTP/1.0 request. httparse gives the minor version in `request.version`: 1 is HTTP/1.1."],
        needs: Needs::Address,
        body: |t| Box::pin(an_http_1_0_request_gets_400(t)),
    },
    Check {
        name: "other_methods_get_405_with_allow_get",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &["The handshake is a GET. Any other method on /ws gets `405 Method Not Allowed` with \
                  `Allow: GET`, which RFC 9110 requires on a 405."],
        needs: Needs::Address,
        body: |t| Box::pin(other_methods_get_405_with_allow_get(t)),
    },
    Check {
        name: "the_path_is_matched_without_its_query",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &[
            "`ws://localhost:3000/ws?room=1` asks for the path /ws, with a query: the request line says \
             `GET /ws?room=1 HTTP/1.1`. Compare the path, the target up to its `?`, with /ws.",
            "`Request::path()` gives the target without its query; `request.target` is the whole of it.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(the_path_is_matched_without_its_query(t)),
    },
    Check {
        name: "other_paths_get_404",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &[
            "Only /ws speaks WebSocket; any other path gets `404 Not Found`, whatever its headers and \
             its query: /chat?path=/ws is for /chat. Paths are case-sensitive: /WS is not /ws.",
            "Check the rules in the order of the book's table (version, path, method, Host, Upgrade, \
             Connection, Sec-WebSocket-Version, key), each returning its `Err(Rejection::…)`, so that a \
             request breaking several rules gets the most useful answer.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(other_paths_get_404(t)),
    },
    Check {
        name: "a_refusal_explains_itself_and_closes_the_connection",
        stage: REFUSALS,
        section: REFUSALS_SECTION,
        hints: &[
            "A refusal carries a short text body saying what was wrong (with its Content-Length), for \
             whoever reads it in curl or the Network tab.",
            "This server answers one request per connection. RFC 9112 §9.3: a server that does not keep \
             connections open MUST send `Connection: close` (on a 426: `Connection: Upgrade, close`), \
             then close it.",
            "In `Response::rejection`, `match` on the rejection for the status and its headers (`Allow` on \
             405; `Upgrade`, `Connection` and `Sec-WebSocket-Version` on 426), and use \
             `format!(\"{rejection}\\n\")`, the variant's `#[error]` text, as the body.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_refusal_explains_itself_and_closes_the_connection(t)),
    },
    Check {
        name: "a_request_sent_one_byte_at_a_time_gets_101",
        stage: ROBUSTNESS,
        section: ROBUSTNESS_SECTION,
        hints: &[
            "One `read` is not one request: TCP delivers a byte stream in pieces of any size. Keep \
             reading into a buffer until the head is complete (httparse says `Status::Complete`).",
            "Parse the whole buffer each time, not just the newest piece: the blank line that ends the \
             head can be split across two reads.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_request_sent_one_byte_at_a_time_gets_101(t)),
    },
    Check {
        name: "heads_up_to_8_kib_are_read_and_larger_ones_get_431",
        stage: ROBUSTNESS,
        section: ROBUSTNESS_SECTION,
        hints: &[
            "Heads up to 8 KiB are served (a 7 KiB one gets its 101). Stop reading once the buffer \
             holds 8 KiB without a complete head, and answer `431 Request \
             Header Fields Too Large`: don't wait for a blank line that may never come.",
            "`(&mut stream).take(MAX_HEAD_BYTES as u64)` is a reader that ends after the limit.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(heads_up_to_8_kib_are_read_and_larger_ones_get_431(t)),
    },
    Check {
        name: "garbage_gets_400_and_the_next_client_is_served",
        stage: ROBUSTNESS,
        section: ROBUSTNESS_SECTION,
        hints: &[
            "When httparse returns `Err(..)`, answer 400 and close that connection: never `unwrap` or \
             `?` your way out of the accept loop.",
            "Handle each connection in its own `tokio::spawn`ed task, so that one connection's failure \
             ends that task only.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(garbage_gets_400_and_the_next_client_is_served(t)),
    },
    Check {
        name: "a_client_that_hangs_up_mid_request_does_not_stop_the_server",
        stage: ROBUSTNESS,
        section: ROBUSTNESS_SECTION,
        hints: &["A read that returns 0 bytes means the client closed the connection: stop handling that \
                  connection quietly (there is nobody to answer), and keep accepting others."],
        needs: Needs::Address,
        body: |t| Box::pin(a_client_that_hangs_up_mid_request_does_not_stop_the_server(t)),
    },
    Check {
        name: "a_slow_client_does_not_hold_up_the_next_one",
        stage: ROBUSTNESS,
        section: ROBUSTNESS_SECTION,
        hints: &["Don't handle a connection inside the accept loop: `tokio::spawn` a task per connection, \
                  so the loop is back at `accept` while a slow client is still typing."],
        needs: Needs::Address,
        body: |t| Box::pin(a_slow_client_does_not_hold_up_the_next_one(t)),
    },
];

// ---------------------------------------------------------------------------
// Stage 1: the accept value

/// Keys with their accept values: the RFC's example first, then keys with
/// `+` and `/` in them (base64's two non-alphanumeric characters).
const ACCEPT_VECTORS: &[(&str, &str)] = &[
    (SEED_KEY, SEED_ACCEPT),
    ("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
    ("AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY="),
    ("+/+/+/+/+/+/+/+/+/+/+w==", "M0DUs3om0SqzerhOhYSMM7WQuBQ="),
];

async fn accept_key_matches_the_rfc_example(t: Target) -> Result<(), Failure> {
    let AcceptKey(accept_key) = *t.local::<AcceptKey>()?;
    for &(key, want) in ACCEPT_VECTORS {
        let call = format!("accept_key({key:?})");
        let expected = format!(
            "{want:?}: base64 of the SHA-1 of {key:?} followed by \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\""
        );
        let got = std::panic::catch_unwind(|| accept_key(key)).map_err(|panic| {
            Failure::new(format!("{call} panicked: {}", panic_message(&*panic)))
                .sent(call.clone())
                .expected(expected.clone())
        })?;
        if got != want {
            return Err(Failure::new(format!("{call} returned {got:?}; expected {want:?}"))
                .sent(call)
                .expected(expected)
                .got(format!("{got:?}")));
        }
    }
    Ok(())
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

// ---------------------------------------------------------------------------
// Stage 2: the 101

async fn the_seeds_request_gets_101_switching_protocols(t: Target) -> Result<(), Failure> {
    let (client, head) = ask(&t, &Handshake::seed(), &want_101(SEED_KEY)).await?;
    expect_101(&client, &head, SEED_KEY, "the example handshake")
}

async fn each_key_gets_its_own_accept_value(t: Target) -> Result<(), Failure> {
    for _ in 0..3 {
        let key = generate_key();
        let (client, head) =
            ask(&t, &Handshake::seed().set("Sec-WebSocket-Key", &key), &want_101(&key)).await?;
        expect_101(&client, &head, &key, &format!("a handshake with the key {key:?}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 3: the greeting and the close

/// How long the client keeps quiet after the server's close frame, to see
/// that the server waits for an answer instead of hanging up at once. A
/// server that hangs up does so within microseconds on loopback.
const CLOSE_WINDOW: Duration = Duration::from_millis(300);

/// The close frame a client sends back: opcode 8, masked (a client MUST mask),
/// payload = code 1000. The mask is RFC 6455's example mask.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const CLIENT_CLOSE: [u8; 8] = [0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ MASK[0], 0xe8 ^ MASK[1]];

async fn after_the_101_comes_a_greeting_then_a_close(t: Target) -> Result<(), Failure> {
    let (mut client, head) = ask(&t, &Handshake::seed(), &want_101(SEED_KEY)).await?;
    expect_101(&client, &head, SEED_KEY, "the example handshake")?;
    let length = GREETING.len() as u8;
    let expected = format!(
        "right after the 101, a text frame holding {GREETING:?} (bytes 81 {length:02x}, then the \
         text), then a close frame with code 1000 (bytes 88 02 03 e8)"
    );
    let header = client.read_exact(2, "the greeting frame").await.map_err(|f| f.expected(&expected))?;
    if header[0] != 0x81 {
        return Err(client.fail(
            format!("the first frame starts with byte {:02x}; expected 81 (final frame, text)", header[0]),
            &expected,
        ));
    }
    if header[1] != length {
        return Err(client.fail(
            format!(
                "the greeting frame's second byte is {:02x}; expected {length:02x} (not masked, {} bytes \
                 of text)",
                header[1],
                GREETING.len()
            ),
            &expected,
        ));
    }
    let text =
        client.read_exact(GREETING.len(), "the greeting's text").await.map_err(|f| f.expected(&expected))?;
    if text != GREETING.as_bytes() {
        return Err(client.fail(format!("the greeting is not {GREETING:?}"), &expected));
    }
    let close = client.read_exact(4, "the close frame").await.map_err(|f| f.expected(&expected))?;
    if close != [0x88, 0x02, 0x03, 0xe8] {
        return Err(
            client.fail("the frame after the greeting is not a close frame with code 1000", &expected)
        );
    }
    // The server waits for the client's close before it closes TCP: keep
    // quiet a moment and see that it does; then answer, and it closes.
    let waits = "after its close frame, the server waits for the client's close frame, then closes TCP";
    client.expect_open_for(CLOSE_WINDOW, "the client's close frame", waits).await?;
    client.send(CLIENT_CLOSE).await?;
    client.expect_closed("after both close frames, the server closes the TCP connection").await
}

async fn a_websocket_client_receives_the_greeting_and_a_close(t: Target) -> Result<(), Failure> {
    let url = format!("ws://{}/ws", t.addr());
    let sent = format!(
        "tokio_tungstenite::connect_async(\"{url}\"): a GET /ws with a random Sec-WebSocket-Key, \
         then reading messages"
    );
    let expected = format!(
        "101 Switching Protocols, then the text message {GREETING:?}, then a close with code 1000 \
         (Normal), then the end of the connection"
    );
    let mut log = Vec::new();
    let fail = |headline: String, log: &[String]| {
        let got = if log.is_empty() { "(nothing)".to_owned() } else { log.join("\n") };
        Failure::new(headline).sent(sent.clone()).expected(expected.clone()).got(got)
    };
    let (mut ws, response) = match timeout(ANSWER_TIMEOUT, tokio_tungstenite::connect_async(&url)).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(error)) => {
            // The server said something a client could judge, or nothing at all.
            let unanswered = matches!(
                error,
                WsError::Io(_)
                    | WsError::ConnectionClosed
                    | WsError::Protocol(ProtocolError::HandshakeIncomplete)
            );
            match &error {
                WsError::Http(response) => {
                    log.push(format!("< HTTP/1.1 {}", response.status()));
                    for (name, value) in response.headers() {
                        log.push(format!("< {name}: {}", String::from_utf8_lossy(value.as_bytes())));
                    }
                }
                _ if unanswered => log.push("(the connection ended without a complete answer)".to_owned()),
                _ => log.push(format!("(the client refused the 101: {error})")),
            }
            let failure = fail(format!("the WebSocket client could not connect: {error}"), &log);
            return Err(if unanswered { Failure { no_answer: true, ..failure } } else { failure });
        }
        Err(_) => {
            let why = format!("the handshake did not finish within {} s", ANSWER_TIMEOUT.as_secs());
            return Err(Failure { no_answer: true, ..fail(why, &log) });
        }
    };
    log.push(format!("handshake done: {}", response.status()));
    match next_message(&mut ws, &mut log).await {
        Ok(Some(Message::Text(text))) if text.as_str() == GREETING => {}
        Ok(Some(_)) => return Err(fail(format!("the first message is not the text {GREETING:?}"), &log)),
        Ok(None) => return Err(fail("the connection ended before the greeting".to_owned(), &log)),
        Err(why) => return Err(fail(format!("no greeting: {why}"), &log)),
    }
    match next_message(&mut ws, &mut log).await {
        Ok(Some(Message::Close(Some(frame)))) if frame.code == CloseCode::Normal => {}
        Ok(Some(_)) => {
            return Err(fail(
                "the message after the greeting is not a close with code 1000".to_owned(),
                &log,
            ));
        }
        Ok(None) => return Err(fail("the connection ended without a close frame".to_owned(), &log)),
        Err(why) => return Err(fail(format!("no close frame: {why}"), &log)),
    }
    // The client answers the close on its own; then the server closes TCP.
    match next_message(&mut ws, &mut log).await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(fail("a message came after the close frame".to_owned(), &log)),
        Err(why) => Err(fail(format!("the connection did not end cleanly after the close: {why}"), &log)),
    }
}

/// The next message of a client connection (`None` when it has ended), and
/// a line in `log` saying what came.
async fn next_message(
    ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
    log: &mut Vec<String>,
) -> Result<Option<Message>, String> {
    match timeout(ANSWER_TIMEOUT, ws.next()).await {
        Ok(Some(Ok(message))) => {
            log.push(format!("message: {message:?}"));
            Ok(Some(message))
        }
        Ok(Some(Err(error))) => {
            log.push(format!("error: {error}"));
            Err(error.to_string())
        }
        Ok(None) => {
            log.push("(the connection ended)".to_owned());
            Ok(None)
        }
        Err(_) => {
            log.push(format!("(nothing within {} s)", ANSWER_TIMEOUT.as_secs()));
            Err(format!("nothing came within {} s", ANSWER_TIMEOUT.as_secs()))
        }
    }
}

// ---------------------------------------------------------------------------
// Stage 4: headers the way HTTP reads them

async fn header_names_match_in_any_case(t: Target) -> Result<(), Failure> {
    for names in [
        ["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"],
        ["HOST", "UPGRADE", "CONNECTION", "SEC-WEBSOCKET-KEY", "SEC-WEBSOCKET-VERSION"],
        ["hOsT", "UpGrAdE", "cOnNeCtIoN", "sEC-wEBsOCKET-kEY", "Sec-Websocket-Version"],
    ] {
        let key = generate_key();
        let values = ["localhost:3000", "websocket", "Upgrade", key.as_str(), "13"];
        let request = Handshake::empty().with_headers(names.into_iter().zip(values));
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        let what = format!("a handshake whose header names are spelled {}, {}…", names[0], names[1]);
        expect_101(&client, &head, &key, &what)?;
    }
    Ok(())
}

async fn connection_is_a_list_of_tokens(t: Target) -> Result<(), Failure> {
    let variants: [&[&str]; 4] = [
        &["keep-alive, Upgrade"],
        &["Upgrade, keep-alive"],
        &["keep-alive,upgrade"],
        &["keep-alive", "Upgrade"],
    ];
    for values in variants {
        let key = generate_key();
        let mut request = Handshake::seed().set("Sec-WebSocket-Key", &key).without("Connection");
        for value in values {
            request = request.add("Connection", value);
        }
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        let lines: Vec<String> = values.iter().map(|value| format!("Connection: {value}")).collect();
        expect_101(&client, &head, &key, &format!("a handshake with {}", lines.join(" and ")))?;
    }
    Ok(())
}

async fn the_upgrade_value_matches_in_any_case(t: Target) -> Result<(), Failure> {
    for value in ["WebSocket", "WEBSOCKET"] {
        let key = generate_key();
        let request = Handshake::seed().set("Sec-WebSocket-Key", &key).set("Upgrade", value);
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        expect_101(&client, &head, &key, &format!("a handshake with Upgrade: {value}"))?;
    }
    Ok(())
}

async fn a_browsers_handshake_gets_101_without_extensions(t: Target) -> Result<(), Failure> {
    let key = generate_key();
    // What Chrome sends for `new WebSocket("ws://localhost:3000/ws")` on a page of localhost:3000.
    let request = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("Connection", "Upgrade"),
        ("Pragma", "no-cache"),
        ("Cache-Control", "no-cache"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"),
        ("Upgrade", "websocket"),
        ("Origin", "http://localhost:3000"),
        ("Sec-WebSocket-Version", "13"),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Sec-WebSocket-Key", key.as_str()),
        ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    ]);
    let (client, head) = ask(&t, &request, &want_101(&key)).await?;
    expect_101(&client, &head, &key, "Chrome's handshake (with Origin, User-Agent and an extensions offer)")?;
    for header in ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
        if let Some(value) = head.header(header) {
            return Err(client.fail(
                format!("the 101 carries {header}: {value}, which this server does not implement"),
                format!(
                    "a 101 without {header}: the server speaks plain WebSocket, no extension, no subprotocol"
                ),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 5: version negotiation

async fn an_unsupported_version_gets_426_with_version_13(t: Target) -> Result<(), Failure> {
    for version in ["8", "25", "12"] {
        let (client, head) =
            ask(&t, &Handshake::seed().set("Sec-WebSocket-Version", version), WANT_426).await?;
        expect_426(&client, &head, true, &format!("a handshake with Sec-WebSocket-Version: {version}"))?;
    }
    Ok(())
}

async fn a_missing_version_gets_426_with_version_13(t: Target) -> Result<(), Failure> {
    let (client, head) = ask(&t, &Handshake::seed().without("Sec-WebSocket-Version"), WANT_426).await?;
    expect_426(&client, &head, true, "a handshake without Sec-WebSocket-Version")
}

// ---------------------------------------------------------------------------
// Stage 6: refusals

async fn a_plain_get_gets_426_upgrade_required(t: Target) -> Result<(), Failure> {
    // What `curl http://localhost:3000/ws` sends, then what a browser tab sends.
    let curl = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("User-Agent", "curl/8.5.0"),
        ("Accept", "*/*"),
    ]);
    let tab = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("Connection", "keep-alive"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ]);
    for (request, what) in [(curl, "curl's plain GET /ws"), (tab, "a browser tab's plain GET /ws")] {
        let (client, head) = ask(&t, &request, WANT_426).await?;
        expect_426(&client, &head, false, what)?;
    }
    Ok(())
}

async fn a_missing_or_malformed_key_gets_400(t: Target) -> Result<(), Failure> {
    let bad_keys = [
        ("abc", "not 16 bytes"),
        ("dGhlIHNhbXBsZSBub25j", "15 bytes, base64"),
        ("dGhlIHNhbXBsZSBub25jZXM=", "17 bytes, base64"),
        ("not base64, not at all!!", "24 characters that are not base64"),
        ("", "empty"),
    ];
    let expected = "400 Bad Request: a handshake needs a Sec-WebSocket-Key";
    let (client, head) = ask(&t, &Handshake::seed().without("Sec-WebSocket-Key"), expected).await?;
    expect_status(&client, &head, 400, "a handshake without Sec-WebSocket-Key", expected)?;
    for (key, what) in bad_keys {
        let expected = format!(
            "400 Bad Request: the key {key:?} is {what}; a key is base64 that decodes to exactly 16 bytes"
        );
        let (client, head) = ask(&t, &Handshake::seed().set("Sec-WebSocket-Key", key), &expected).await?;
        expect_status(&client, &head, 400, &format!("the key {key:?} ({what})"), &expected)?;
    }
    Ok(())
}

async fn a_request_without_host_gets_400(t: Target) -> Result<(), Failure> {
    let expected = "400 Bad Request: an HTTP/1.1 request without Host is malformed";
    let (client, head) = ask(&t, &Handshake::seed().without("Host"), expected).await?;
    expect_status(&client, &head, 400, "a handshake without Host", expected)?;
    for (value, what) in [("", "an empty Host"), (" ", "a Host of one space")] {
        let expected =
            "400 Bad Request: Host must name the server (RFC 6455 §4.2.1: \"the server's authority\")";
        let (client, head) = ask(&t, &Handshake::seed().set("Host", value), expected).await?;
        expect_status(&client, &head, 400, &format!("a handshake with {what}"), expected)?;
    }
    Ok(())
}

async fn a_connection_header_without_upgrade_gets_400(t: Target) -> Result<(), Failure> {
    for (request, what) in [
        (Handshake::seed().set("Connection", "keep-alive"), "Upgrade: websocket with Connection: keep-alive"),
        (Handshake::seed().without("Connection"), "Upgrade: websocket without a Connection header"),
        (Handshake::seed().set("Connection", "Upgraded"), "Upgrade: websocket with Connection: Upgraded"),
    ] {
        let expected = "400 Bad Request: Upgrade: websocket, but no `upgrade` token in Connection";
        let (client, head) = ask(&t, &request, expected).await?;
        expect_status(&client, &head, 400, what, expected)?;
    }
    Ok(())
}

async fn an_http_1_0_request_gets_400(t: Target) -> Result<(), Failure> {
    let expected = "400 Bad Request: the WebSocket handshake needs HTTP/1.1 or later";
    let (client, head) = ask(&t, &Handshake::seed().request_line("GET /ws HTTP/1.0"), expected).await?;
    expect_status(&client, &head, 400, "an HTTP/1.0 handshake", expected)
}

async fn other_methods_get_405_with_allow_get(t: Target) -> Result<(), Failure> {
    for method in ["POST", "PUT", "DELETE"] {
        let request =
            Handshake::seed().request_line(&format!("{method} /ws HTTP/1.1")).add("Content-Length", "0");
        let expected =
            format!("405 Method Not Allowed with `Allow: GET`: the handshake is a GET, not a {method}");
        let (client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, 405, &format!("{method} /ws"), &expected)?;
        if !head.has_token("Allow", "GET") {
            return Err(client.fail("the 405 does not say `Allow: GET`", expected));
        }
    }
    Ok(())
}

async fn the_path_is_matched_without_its_query(t: Target) -> Result<(), Failure> {
    for target in ["/ws?x=1", "/ws?room=board-1&user=ada", "/ws?"] {
        let key = generate_key();
        let request =
            Handshake::seed().set("Sec-WebSocket-Key", &key).request_line(&format!("GET {target} HTTP/1.1"));
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        expect_101(
            &client,
            &head,
            &key,
            &format!("a handshake for GET {target} (the path /ws, with a query)"),
        )?;
    }
    Ok(())
}

async fn other_paths_get_404(t: Target) -> Result<(), Failure> {
    for path in ["/", "/chat", "/ws/extra", "/wss", "/chat?path=/ws", "/WS"] {
        let expected = format!("404 Not Found: only /ws speaks WebSocket, not {path}");
        let request = Handshake::seed().request_line(&format!("GET {path} HTTP/1.1"));
        let (client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, 404, &format!("GET {path}"), &expected)?;
    }
    Ok(())
}

async fn a_refusal_explains_itself_and_closes_the_connection(t: Target) -> Result<(), Failure> {
    let refusals = [
        (Handshake::seed().request_line("GET /chat HTTP/1.1"), 404),
        (Handshake::seed().request_line("POST /ws HTTP/1.1").add("Content-Length", "0"), 405),
        (Handshake::seed().without("Sec-WebSocket-Key"), 400),
        (Handshake::empty().with_headers([("Host", "localhost:3000")]), 426),
    ];
    for (request, status) in refusals {
        let expected = format!(
            "a {status} with `Connection: close` and a text body saying why, then the connection closes"
        );
        let (mut client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, status, &format!("a request that deserves {status}"), &expected)?;
        if !head.has_token("Connection", "close") {
            return Err(client.fail(
                format!("the {status} does not say `Connection: close`, yet this server closes after it"),
                expected,
            ));
        }
        let body_length = head.header("Content-Length").and_then(|v| v.trim().parse::<usize>().ok());
        if body_length.is_none_or(|length| length == 0) {
            return Err(client.fail(
                format!("the {status} has no body (or no Content-Length): it does not say what was wrong"),
                expected,
            ));
        }
        client.expect_closed(&expected).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 7: robustness

async fn a_request_sent_one_byte_at_a_time_gets_101(t: Target) -> Result<(), Failure> {
    let key = generate_key();
    let mut client = RawClient::connect(t.addr()).await?;
    client.send_byte_by_byte(Handshake::seed().set("Sec-WebSocket-Key", &key).bytes()).await?;
    let head = client.read_response_head().await.map_err(|f| f.expected(want_101(&key)))?;
    expect_101(&client, &head, &key, "a handshake sent one byte at a time")
}

async fn heads_up_to_8_kib_are_read_and_larger_ones_get_431(t: Target) -> Result<(), Failure> {
    // A head of 7 KiB is under the limit: it gets its 101.
    let key = generate_key();
    let big = Handshake::seed().set("Sec-WebSocket-Key", &key).add("X-Padding", &"a".repeat(7 * 1024));
    let (client, head) = ask(&t, &big, &want_101(&key)).await?;
    expect_101(&client, &head, &key, "a 7 KiB head (under the limit)")?;

    let padding = "a".repeat(16 * 1024);
    let expected =
        format!("431 Request Header Fields Too Large: the head is over the chapter's {HEAD_LIMIT} limit");
    // A complete head, but too big.
    let (client, head) = ask(&t, &Handshake::seed().add("X-Padding", &padding), &expected).await?;
    expect_status(&client, &head, 431, "a complete 16 KiB head", &expected)?;

    // A head that never ends: the server must give up without waiting for it.
    let mut never_ends = b"GET /ws HTTP/1.1\r\nHost: localhost:3000\r\n".to_vec();
    for n in 0..32 {
        never_ends.extend_from_slice(format!("X-Padding-{n}: {}\r\n", &padding[..1000]).as_bytes());
    }
    let mut client = RawClient::connect(t.addr()).await?;
    // The server may stop reading, and close, before all of it is written.
    let _ = client.send(&never_ends).await;
    let head = client.read_response_head().await.map_err(|f| {
        f.expected(format!(
            "{expected}, as soon as {HEAD_LIMIT} have arrived without the blank line that ends a head"
        ))
    })?;
    expect_status(&client, &head, 431, "a head that never ends", &expected)?;

    // Many small headers, 5 KiB in all: any answer but a dropped connection.
    let mut many = Handshake::seed();
    for n in 0..200 {
        many = many.add(&format!("X-Header-{n}"), "1");
    }
    let expected = "101 (the head is under 8 KiB), or 431 if you cap the number of header lines";
    let (client, head) = ask(&t, &many, expected).await?;
    if ![101, 431].contains(&head.status) {
        return Err(client.fail(format!("200 small headers were answered {}", head.status_line()), expected));
    }

    expect_still_serving(&t).await
}

async fn garbage_gets_400_and_the_next_client_is_served(t: Target) -> Result<(), Failure> {
    let garbage: [(&[u8], &str); 3] = [
        // The start of a TLS ClientHello: what `wss://` or `https://` sends to a plain server.
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x9a\x8e\x11\xcc\r\n\r\n", "a TLS hello"),
        (b"hello\r\n\r\n", "a line that is not a request line"),
        (b"GET /ws HTTP/1.1\r\nHost localhost:3000\r\n\r\n", "a header line without a colon"),
    ];
    for (bytes, what) in garbage {
        let mut client = RawClient::connect(t.addr()).await?;
        client.send(bytes).await?;
        let expected = format!("400 Bad Request: {what} is not HTTP");
        let head = client.read_response_head().await.map_err(|f| f.expected(&expected))?;
        expect_status(&client, &head, 400, what, &expected)?;
    }
    expect_still_serving(&t).await
}

async fn a_client_that_hangs_up_mid_request_does_not_stop_the_server(t: Target) -> Result<(), Failure> {
    // A client that connects and leaves without a word.
    drop(RawClient::connect(t.addr()).await?);
    // A client that leaves halfway through its request.
    let mut client = RawClient::connect(t.addr()).await?;
    client.send("GET /ws HTTP/1.1\r\nHost: localh").await?;
    client.shutdown_write().await;
    drop(client);
    expect_still_serving(&t).await
}

async fn a_slow_client_does_not_hold_up_the_next_one(t: Target) -> Result<(), Failure> {
    let mut slow = RawClient::connect(t.addr()).await?;
    let request = Handshake::seed().bytes();
    let (first, rest) = request.split_at(30);
    slow.send(first).await?;
    // While the slow client is halfway through, another one must be served.
    let expected = format!("{}\n(while another client is still sending its request)", want_101(SEED_KEY));
    let (client, head) = ask(&t, &Handshake::seed(), &expected).await?;
    expect_101(&client, &head, SEED_KEY, "a handshake sent while another client is halfway through its own")?;
    // And the slow one still gets its answer when it finishes.
    slow.send(rest).await?;
    let head = slow.read_response_head().await.map_err(|f| f.expected(want_101(SEED_KEY)))?;
    expect_101(&slow, &head, SEED_KEY, "the slow client's handshake, once finished")
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks above.

/// An opening handshake to send, header by header.
#[derive(Debug, Clone)]
struct Handshake {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Handshake {
    /// The request line `GET /ws HTTP/1.1` and no headers.
    fn empty() -> Self {
        Handshake { request_line: "GET /ws HTTP/1.1".to_owned(), headers: Vec::new() }
    }

    /// The seed's request, byte for byte.
    fn seed() -> Self {
        Handshake::empty().with_headers([
            ("Host", "localhost:3000"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", SEED_KEY),
            ("Sec-WebSocket-Version", "13"),
        ])
    }

    fn with_headers<'a>(mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (name, value) in headers {
            self = self.add(name, value);
        }
        self
    }

    fn request_line(mut self, line: &str) -> Self {
        self.request_line = line.to_owned();
        self
    }

    /// Replaces the value of the header `name` (or adds it), keeping its place.
    fn set(mut self, name: &str, value: &str) -> Self {
        match self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(header) => header.1 = value.to_owned(),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds a header line, even if one with that name is there already.
    fn add(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.request_line);
        for (name, value) in &self.headers {
            out += &format!("{name}: {value}\r\n");
        }
        out += "\r\n";
        out.into_bytes()
    }
}

/// Sends `request` on a new connection and reads the answer's head, and its
/// body when it is not a 101 (so the transcript shows the server's message).
async fn ask(t: &Target, request: &Handshake, expected: &str) -> Result<(RawClient, ResponseHead), Failure> {
    let mut client = RawClient::connect(t.addr()).await?;
    client.send(request.bytes()).await.map_err(|f| f.expected(expected))?;
    let head = client.read_response_head().await.map_err(|f| f.expected(expected))?;
    if head.status != 101 {
        let _ = client.read_body(&head).await;
    }
    Ok((client, head))
}

/// Requires `status`. `what` names the request for the failure's first
/// line: "a handshake with an empty Host was answered 101 …; expected 400".
fn expect_status(
    client: &RawClient,
    head: &ResponseHead,
    status: u16,
    what: &str,
    expected: &str,
) -> Result<(), Failure> {
    if head.status == status {
        return Ok(());
    }
    Err(client.fail(format!("{what} was answered {}; expected {status}", head.status_line()), expected))
}

/// The `101` that accepts a handshake whose key was `key`.
fn want_101(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\
         Sec-WebSocket-Accept: {}",
        derive_accept_key(key.as_bytes())
    )
}

/// A `426` that says which protocol and version to retry with.
const WANT_426: &str =
    "HTTP/1.1 426 Upgrade Required\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Version: 13";

/// Requires the `101` that accepts the handshake whose key was `key`.
fn expect_101(client: &RawClient, head: &ResponseHead, key: &str, what: &str) -> Result<(), Failure> {
    let accept = derive_accept_key(key.as_bytes());
    let expected = want_101(key);
    expect_status(client, head, 101, what, &expected)?;
    match head.header("Upgrade") {
        Some(value) if value.trim().eq_ignore_ascii_case("websocket") => {}
        Some(value) => return Err(client.fail(format!("the 101 says Upgrade: {value}"), expected)),
        None => return Err(client.fail("the 101 has no Upgrade header", expected)),
    }
    if let Some(length) = head.header("Content-Length") {
        return Err(client.fail(
            format!("the 101 says Content-Length: {length}; RFC 9110 forbids it on a 1xx response"),
            expected,
        ));
    }
    match head.header("Connection") {
        Some(value) if value.trim().eq_ignore_ascii_case("Upgrade") => {}
        Some(value) => {
            return Err(client.fail(
                format!("the 101 says Connection: {value}; clients accept exactly `Upgrade` here"),
                expected,
            ));
        }
        None => return Err(client.fail("the 101 has no Connection header", expected)),
    }
    match head.header("Sec-WebSocket-Accept") {
        Some(value) if value.trim() == accept => Ok(()),
        Some(value) => Err(client.fail(
            format!(
                "Sec-WebSocket-Accept is {value:?}; the key {key:?} needs {accept:?}, and a client \
                 refuses any other"
            ),
            expected,
        )),
        None => Err(client.fail("the 101 has no Sec-WebSocket-Accept header", expected)),
    }
}

/// Requires a `426` that names WebSocket as the protocol to switch to, and
/// version 13 when `with_version` (or when it says a version at all).
fn expect_426(
    client: &RawClient,
    head: &ResponseHead,
    with_version: bool,
    what: &str,
) -> Result<(), Failure> {
    let expected = WANT_426;
    expect_status(client, head, 426, what, expected)?;
    if !head.has_token("Upgrade", "websocket") {
        return Err(client.fail(
            "the 426 does not say `Upgrade: websocket`: RFC 9110 requires a 426 to name the protocol",
            expected,
        ));
    }
    if !head.has_token("Connection", "upgrade") {
        return Err(client.fail(
            "the 426 sends Upgrade without `Connection: Upgrade`, which RFC 9110 requires alongside it",
            expected,
        ));
    }
    let says_version = head.header("Sec-WebSocket-Version").is_some();
    if (with_version || says_version) && !head.has_token("Sec-WebSocket-Version", "13") {
        return Err(client
            .fail("the 426 does not say `Sec-WebSocket-Version: 13`, the version to retry with", expected));
    }
    Ok(())
}

/// Requires a fresh client to get its `101`: the server is still serving.
async fn expect_still_serving(t: &Target) -> Result<(), Failure> {
    let key = generate_key();
    let expected = format!("{}\n(the server keeps serving the next client)", want_101(&key));
    let (client, head) = ask(t, &Handshake::seed().set("Sec-WebSocket-Key", &key), &expected)
        .await
        .map_err(|f| Failure { headline: format!("then the next client: {}", f.headline), ..f })?;
    expect_101(&client, &head, &key, "the next client's handshake")
}
