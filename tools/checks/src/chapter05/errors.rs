//! Stage 6, "Bad input".

use futures_util::future::join_all;
use serde_json::json;

use crate::check::check;
use crate::ws::{Transcript, WsClient};
use crate::{Failure, Needs, Target};

use super::helpers::{alice_and_bob, enter, tunables};
use super::messages::{join, joined, left, presence, typing, typing_request, typing_stopped};
use super::{ERRORS, ERRORS_SECTION, HANDSHAKE_SECTION, PROTOCOL_ERROR_SECTION};

check!(Check {
    name: a_message_before_join_gets_an_error_and_the_connection_stays_open,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["Until a connection has joined it has no board and no user: answer anything but `join` \
         with `{\"type\":\"error\",\"message\":\"…\"}` and keep reading."],
    needs: Needs::Address,
});
async fn a_message_before_join_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut bob = enter(&t, &tr, &board, "Bob", &["Bob"]).await?;
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&typing_request("task-1")).await?;
    expect_error(&mut alice, "typing before joining: the server does not know who or where Alice is").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(
            &presence(&board, &["Alice", "Bob"]),
            "after the error the connection is still open: Alice joins",
        )
        .await?;
    bob.expect_json(&joined(&board, "Alice"), "Alice joined; her typing before joining went nowhere").await?;
    Ok(())
}

check!(Check {
    name: a_second_join_gets_an_error_and_changes_nothing,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["A connection joins once. A second `join` is an error; the connection stays where it is, \
         under the name it has."],
    needs: Needs::Address,
});
async fn a_second_join_gets_an_error_and_changes_nothing(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut alice = enter(&t, &tr, &one, "Alice", &["Alice"]).await?;
    alice.send_json(&join(&two, "Mallory")).await?;
    expect_error(&mut alice, "a connection joins once; this one already joined as Alice").await?;
    let _bob = enter(&t, &tr, &one, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&one, "Bob"), &format!("Alice is still on {one}, still called Alice")).await?;
    let _zed = enter(&t, &tr, &two, "Zed", &["Zed"]).await?;
    Ok(())
}

check!(Check {
    name: invalid_json_gets_an_error_and_the_connection_stays_open,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &[
        "When `serde_json` cannot read a message, answer `{\"type\":\"error\",\"message\":\"…\"}` \
         with its error text, and carry on: one bad message is not a reason to drop a user.",
        "Don't `return` or `break` out of the read loop on a parse error.",
    ],
    needs: Needs::Address,
});
async fn invalid_json_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    for text in [
        r#"{"type": "typing", "taskId": "task-3""#,
        "typing task-3",
        "[1, 2, 3]",
        r#"{"type": "typing"}"#,
        r#"{"type": "typing", "taskId": 3}"#,
    ] {
        alice.send_text(text).await?;
        expect_error(&mut alice, "the server cannot read that message, says so, and keeps the connection")
            .await?;
    }
    expect_alice_still_on(&t, &tr, &board, &mut alice).await
}

check!(Check {
    name: an_unknown_type_gets_an_error_and_the_connection_stays_open,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["`#[serde(tag = \"type\")]` makes serde reject an unknown or missing `type` for you; \
         answer the error and keep the connection."],
    needs: Needs::Address,
});
async fn an_unknown_type_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    for message in
        [json!({"type": "dance", "taskId": "task-3"}), json!({"taskId": "task-3"}), json!({"type": 42})]
    {
        alice.send_json(&message).await?;
        expect_error(&mut alice, "the server does not know that type, says so, and keeps the connection")
            .await?;
    }
    expect_alice_still_on(&t, &tr, &board, &mut alice).await
}

check!(Check {
    name: a_binary_message_is_closed_with_1003,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &[
        "Answer `Message::Binary` with `Message::Close(Some(CloseFrame { code: \
         close_code::UNSUPPORTED, reason: … }))` (1003), then end the connection.",
        "Send the close frame through the writer, so it goes out after what is already queued.",
    ],
    needs: Needs::Address,
});
async fn a_binary_message_is_closed_with_1003(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    alice.send_binary(vec![0x01, 0x02, 0x03]).await?;
    alice
        .expect_close(1003, "the protocol is JSON text; 1003 means \"I cannot accept this type of data\"")
        .await?;
    bob.expect_json(&left(&board, "Alice"), "the server closed Alice's connection, so she left").await?;
    Ok(())
}

check!(Check {
    name: a_message_over_max_message_bytes_is_refused,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &[
        "Let tungstenite enforce the limit: `ws.max_message_size(config.max_message_bytes)`. A \
         bigger message makes `recv()` return an error and axum drops the TCP connection.",
        "A message of exactly `MAX_MESSAGE_BYTES` is allowed; only a bigger one is refused.",
    ],
    needs: Needs::Address,
});
async fn a_message_over_max_message_bytes_is_refused(t: Target) -> Result<(), Failure> {
    let max = tunables(&t).max_message_bytes;
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    // JSON allows whitespace after the value: pad a typing message to size.
    let message = typing_request("task-3").to_string();
    let padded = |len: usize| format!("{message}{}", " ".repeat(len.saturating_sub(message.len())));
    alice.send_text(padded(max)).await?;
    bob.expect_json(
        &typing("Alice", "task-3"),
        &format!("Alice's message was exactly MAX_MESSAGE_BYTES ({max} bytes): allowed"),
    )
    .await?;
    alice.send_text(padded(max + 1)).await?;
    alice
        .expect_close_or_tcp_closed(
            1009,
            &format!("the message was {} bytes, one more than MAX_MESSAGE_BYTES", max + 1),
        )
        .await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "the server closed Alice's connection while she was typing: she stopped typing (then left)",
    )
    .await?;
    bob.expect_json(&left(&board, "Alice"), "the server closed Alice's connection: she left").await?;
    Ok(())
}

check!(Check {
    name: a_failed_connection_never_gets_a_close_frame_without_a_code,
    stage: ERRORS,
    section: PROTOCOL_ERROR_SECTION,
    hints: &[
        "After a read error the connection has failed: drop it, so TCP closes. A close frame without \
         a code, sent after the client broke the protocol, says \"all is well\".",
        "Who sends a codeless close frame? `sink.close()` does: it starts a closing handshake. Let the \
         writer only flush when its outbox closes, or stop it before the outbox closes.",
    ],
    needs: Needs::Address,
});
async fn a_failed_connection_never_gets_a_close_frame_without_a_code(t: Target) -> Result<(), Failure> {
    // How a failed connection is let go can be a race between two tasks, so
    // one connection proves little: twenty fail at once, and every one of
    // them must end as the contract says.
    const CONNECTIONS: usize = 20;
    let max = tunables(&t).max_message_bytes;
    let tr = Transcript::new();
    let too_big = format!("{}{}", typing_request("task-3"), " ".repeat(max));
    let outcomes = join_all((0..CONNECTIONS).map(|n| {
        let (t, tr, too_big) = (&t, &tr, &too_big);
        async move {
            // A board each: nothing but the close can come after the snapshot.
            let (user, board) = (format!("user-{n:02}"), t.board(n as u32 + 1));
            let mut client = WsClient::connect(t, tr, &user).await?;
            client.send_json(&join(&board, &user)).await?;
            client.next_json("the snapshot").await?;
            client.send_text(too_big.clone()).await?;
            client
                .expect_close_or_tcp_closed(
                    1009,
                    &format!(
                        "{user}'s message was over MAX_MESSAGE_BYTES ({max} bytes): the connection has \
                         failed — close 1009, or TCP closed, never a close frame without a code"
                    ),
                )
                .await
        }
    }))
    .await;
    outcomes.into_iter().collect()
}

/// Sends `GET /ws` (or `method`) with `headers`.
async fn handshake(
    t: &Target,
    method: &str,
    headers: &[(&str, &str)],
) -> Result<crate::http::Exchange, Failure> {
    let mut request = t.request(method, crate::ws::WS_PATH);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await
}

/// Requires a 426 naming the protocol (`Upgrade: websocket`) and the version.
fn expect_426(exchange: &crate::http::Exchange, expected: &str) -> Result<(), Failure> {
    exchange.expect_status(426, expected)?;
    let upgrade = exchange.header("upgrade").unwrap_or_default();
    if !upgrade.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")) {
        let got =
            if upgrade.is_empty() { "no Upgrade header".to_owned() } else { format!("Upgrade: {upgrade}") };
        return Err(
            exchange.fail(format!("the 426 has {got}: a 426 MUST name the protocol to upgrade to"), expected)
        );
    }
    match exchange.header("sec-websocket-version") {
        Some(versions) if versions.split(',').any(|v| v.trim() == "13") => Ok(()),
        Some(versions) => Err(exchange.fail(format!("the 426 names version {versions:?}, not 13"), expected)),
        None => Err(exchange.fail("the 426 has no Sec-WebSocket-Version header", expected)),
    }
}

check!(Check {
    name: a_plain_get_is_426_with_upgrade_websocket,
    stage: ERRORS,
    section: HANDSHAKE_SECTION,
    hints: &[
        "A `GET /ws` without `Connection: upgrade` and `Upgrade: websocket` is rejected by the \
         extractor (`InvalidConnectionHeader`, `InvalidUpgradeHeader`): answer those yourself.",
        "RFC 9110: a 426 MUST carry `Upgrade` naming the protocol to upgrade to — `Upgrade: \
         websocket` — and RFC 6455 adds `Sec-WebSocket-Version: 13`.",
    ],
    needs: Needs::Address,
});
async fn a_plain_get_is_426_with_upgrade_websocket(t: Target) -> Result<(), Failure> {
    let expected = "426 Upgrade Required with Upgrade: websocket and Sec-WebSocket-Version: 13 — RFC 9110 \
                    §15.5.22: a server that sends 426 MUST send Upgrade, naming the protocol to switch to";
    expect_426(&handshake(&t, "GET", &[]).await?, expected)?;
    let not_websocket = [("Upgrade", "h2c"), ("Connection", "Upgrade")];
    expect_426(&handshake(&t, "GET", &not_websocket).await?, expected)?;
    // HTTP/1.0 has no upgrade mechanism: the handshake can't succeed there.
    let mut raw = crate::raw::RawClient::connect(t.addr()).await?;
    raw.send(format!(
        "GET /ws HTTP/1.0\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        t.addr()
    ))
    .await?;
    let head = raw.read_response_head().await?;
    let expected = "426 Upgrade Required with Upgrade: websocket — a WebSocket needs HTTP/1.1's upgrade";
    if head.status != 426 || !head.has_token("upgrade", "websocket") {
        return Err(raw.fail(
            format!(
                "an HTTP/1.0 handshake was answered {} without 426 and Upgrade: websocket",
                head.status_line()
            ),
            expected,
        ));
    }
    Ok(())
}

check!(Check {
    name: a_handshake_without_a_key_is_400,
    stage: ERRORS,
    section: HANDSHAKE_SECTION,
    hints: &["A handshake with no `Sec-WebSocket-Key` is malformed: the extractor rejects it \
         (`WebSocketKeyHeaderMissing`), and axum's own answer, `400`, is the right one. Pass it \
         through."],
    needs: Needs::Address,
});
async fn a_handshake_without_a_key_is_400(t: Target) -> Result<(), Failure> {
    let headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")];
    let exchange = handshake(&t, "GET", &headers).await?;
    exchange.expect_status(
        400,
        "400 Bad Request — RFC 6455 §4.2.1: a handshake without Sec-WebSocket-Key is malformed, and the \
         server answers with an HTTP error",
    )
}

check!(Check {
    name: head_is_405_with_allow_get,
    stage: ERRORS,
    section: HANDSHAKE_SECTION,
    hints: &[
        "`get(handler)` routes `HEAD` to the handler too, and the extractor rejects it \
         (`MethodNotGet`).",
        "A 405 MUST list the methods that work (RFC 9110): answer `MethodNotGet` with \
         `Allow: GET`.",
    ],
    needs: Needs::Address,
});
async fn head_is_405_with_allow_get(t: Target) -> Result<(), Failure> {
    let exchange = handshake(
        &t,
        "HEAD",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    )
    .await?;
    let expected = "405 Method Not Allowed with Allow: GET — RFC 6455 §4.1: the handshake is a GET; RFC 9110 \
                    §15.5.6: a 405 MUST list the allowed methods in Allow";
    exchange.expect_status(405, expected)?;
    match exchange.header("allow") {
        Some(allow) if allow.split(',').any(|m| m.trim() == "GET") => Ok(()),
        Some(allow) => Err(exchange.fail(format!("the 405 allows {allow:?}, not GET"), expected)),
        None => Err(exchange.fail("the 405 has no Allow header", expected)),
    }
}

check!(Check {
    name: a_handshake_with_version_8_is_426_with_version_13,
    stage: ERRORS,
    section: HANDSHAKE_SECTION,
    hints: &[
        "Take `Result<WebSocketUpgrade, WebSocketUpgradeRejection>` in the handler: axum's own \
         answer to a bad version is 400 without the header.",
        "Map `WebSocketUpgradeRejection::InvalidWebSocketVersionHeader` to `426 Upgrade Required` \
         with `Upgrade: websocket` and `Sec-WebSocket-Version: 13`.",
    ],
    needs: Needs::Address,
});
async fn a_handshake_with_version_8_is_426_with_version_13(t: Target) -> Result<(), Failure> {
    let exchange = t
        .request("GET", crate::ws::WS_PATH)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "8")
        .send()
        .await?;
    let expected = "426 Upgrade Required with Upgrade: websocket and Sec-WebSocket-Version: 13 — RFC 6455 \
                    §4.2.2: a server that does not speak the client's version answers with the versions it \
                    does speak";
    expect_426(&exchange, expected)
}

/// Requires the next message to be `{"type":"error","message":"…"}` with a
/// message that says something.
async fn expect_error(client: &mut WsClient, why: &str) -> Result<(), Failure> {
    let want = json!({"type": "error"});
    let got = client.expect_json(&want, &format!("{{\"type\":\"error\",\"message\":\"…\"}}: {why}")).await?;
    match got["message"].as_str() {
        Some(message) if !message.trim().is_empty() => Ok(()),
        _ => Err(client
            .fail(
                "the error has no \"message\" saying what was wrong",
                format!("a non-empty message ({why})"),
            )
            .got(got.to_string())),
    }
}

/// Bob joins `board`, and Alice, who was just refused something, is told:
/// her connection stayed open, and she is still on the board.
async fn expect_alice_still_on(
    t: &Target,
    tr: &Transcript,
    board: &str,
    alice: &mut WsClient,
) -> Result<(), Failure> {
    let _bob = enter(t, tr, board, "Bob", &["Alice", "Bob"]).await?;
    alice
        .expect_json(&joined(board, "Bob"), "Bob joined: Alice's connection stayed open, on the board")
        .await?;
    Ok(())
}
