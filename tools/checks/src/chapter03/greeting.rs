//! Stage 3, "Greet, then close".

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, SEED_KEY, ask, expect_101, want_101};
use super::{GREETING, GREETING_SECTION, GREETING_STAGE};

/// How long the client keeps quiet after the server's close frame, to see
/// that the server waits for an answer instead of hanging up at once. A
/// server that hangs up does so within microseconds on loopback.
const CLOSE_WINDOW: Duration = Duration::from_millis(300);

/// The close frame a client sends back: opcode 8, masked (a client MUST mask),
/// payload = code 1000. The mask is RFC 6455's example mask.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const CLIENT_CLOSE: [u8; 8] = [0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ MASK[0], 0xe8 ^ MASK[1]];

check!(Check {
    name: after_the_101_comes_a_greeting_then_a_close,
    stage: GREETING_STAGE,
    section: GREETING_SECTION,
    hints: &[
        "Right after the 101, write `frames::text_frame(GREETING)` and then \
         `frames::close_frame(NORMAL_CLOSURE)`: the bytes 81 1a … and 88 02 03 e8.",
        "Then wait for the client's own close frame (read anything, or end-of-file, with a time \
         limit) and drop the stream: that closes the TCP connection.",
    ],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_websocket_client_receives_the_greeting_and_a_close,
    stage: GREETING_STAGE,
    section: GREETING_SECTION,
    hints: &[
        "A real client checks every header of the 101: `Connection` must be exactly `Upgrade`, and \
         the response must not carry `Sec-WebSocket-Protocol` or `Sec-WebSocket-Extensions` it did \
         not ask for.",
        "After the close frame, close the TCP connection (drop the stream), or the client waits.",
    ],
    needs: Needs::Address,
});
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
