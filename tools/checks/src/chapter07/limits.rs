//! Stage 4, "Limits that protect everyone".

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::check::check;
use crate::dial::Answer;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::helpers::{TIMED_OUT, a_reader_that_stops_is_dropped, send_until_closed, stalled_reader_vars};
use super::servers::{short_vars, start, start_tls};
use super::sign_in::{join, sign_in_if_offered};
use super::{LIMITS, MAX_SECTION, RATE_SECTION, READER_SECTION, SLOW_SECTION, STARTS_ITS_OWN};

/// Requires `503` with a `Retry-After` of whole seconds.
fn expect_full(answer: &Answer, what: &str) -> Result<(), Failure> {
    let expected = "503 Service Unavailable with Retry-After: <seconds>, and no stream";
    if answer.status != 503 {
        return Err(answer.fail(
            format!("{what} beyond MAX_CONNECTIONS=2 answered {}; expected 503", answer.status),
            expected,
        ));
    }
    match answer.header("retry-after").map(|value| value.trim().parse::<u64>()) {
        Some(Ok(_)) => Ok(()),
        _ => Err(answer.fail(format!("{what} got 503 without a Retry-After in seconds"), expected)),
    }
}

check!(Check {
    name: over_max_connections_the_next_stream_gets_503_with_retry_after,
    stage: LIMITS,
    section: MAX_SECTION,
    hints: &[
        "`limits::admit` runs for `/ws` and `/boards/{board}/events` only: it takes a place from \
         `Slots` (`Semaphore::try_acquire_owned`, which never waits) or answers `503` with a \
         `Retry-After` header (seconds).",
        "The place must live as long as the connection: the WebSocket handler keeps its copy (from \
         the request's extensions) until `run` ends, and the event stream's response body holds \
         another. When the last copy is dropped, the place is free again.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn over_max_connections_the_next_stream_gets_503_with_retry_after(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t).with("MAX_CONNECTIONS", 2)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    let ws_call = || dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref());
    let events_call =
        || dial.request("GET", format!("/boards/{board}/events")).header_opt("Cookie", cookie.as_deref());

    let mut first = match ws_call().websocket().await? {
        Ok(ws) => ws,
        Err(answer) => return Err(answer.fail("the first WebSocket was refused", "101: one of two places")),
    };
    first.send_json(&join(&board, "Alice")).await?;
    first.expect_json(&json!({"type": "presence"}), "presence: the first connection works").await?;
    let mut stream = events_call().events().await?;
    stream.answer.expect_status(200, "200 and an event stream: the second of two places")?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;

    match ws_call().websocket().await? {
        Ok(ws) => {
            return Err(ws.fail(
                "a third connection with MAX_CONNECTIONS=2 was upgraded (101)",
                "503 with Retry-After: WebSockets and event streams count together",
            ));
        }
        Err(answer) => expect_full(&answer, "a WebSocket")?,
    }
    let refused = events_call().events().await?;
    expect_full(&refused.answer, "an event stream")?;
    drop(refused);

    // Everyone else carries on: plain requests, and the open connections.
    let tasks = dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
    tasks.expect_status(200, "200: MAX_CONNECTIONS counts only WebSockets and event streams")?;
    first.send_json(&join(&board, "Alice")).await?;
    let got = first.next_json("an error for the second join: the open socket still works").await?;
    if got.get("type").and_then(Value::as_str) != Some("error") {
        return Err(
            first.fail(format!("after a 503 to another client, the open socket answered {got}"), "an error")
        );
    }

    // A connection that ends gives its place back. How soon after the close
    // the server notices is not part of the contract: retry until a deadline.
    first.close().await;
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        match ws_call().websocket().await? {
            Ok(_) => return Ok(()),
            Err(answer) if tokio::time::Instant::now() >= deadline => {
                return Err(answer.fail(
                    "a WebSocket that closed did not give its place back: 5 s later, still 503",
                    "101: the closed connection's place is free again",
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

check!(Check {
    name: a_client_sending_faster_than_the_rate_limit_is_closed_with_1008,
    stage: LIMITS,
    section: RATE_SECTION,
    hints: &[
        "`Rate::allow` is a token bucket: up to `RATE_LIMIT_PER_S` tokens, refilled at that many \
         per second, one per message. The read loop asks it for every text message and, when it \
         says no, closes with `close_code::POLICY` (1008).",
        "A burst of exactly `RATE_LIMIT_PER_S` messages is within the limit: only the one after \
         is too many.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn a_client_sending_faster_than_the_rate_limit_is_closed_with_1008(t: Target) -> Result<(), Failure> {
    let limit = 5;
    let mut server = start(&t, short_vars(&t).with("RATE_LIMIT_PER_S", limit)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    // Bob is on another board, and sends nothing while Alice floods.
    let outcome = sign_in_if_offered(&dial, "Bob").await;
    let bob_cookie = server.explain(outcome).await?;
    let mut bob =
        match dial.request("GET", "/ws").header_opt("Cookie", bob_cookie.as_deref()).websocket().await? {
            Ok(ws) => ws,
            Err(answer) => return Err(answer.fail("Bob's GET /ws was not upgraded", "101")),
        };
    bob.send_json(&join(&t.board(2), "Bob")).await?;
    bob.expect_json(&json!({"type": "presence", "users": ["Bob"]}), "Bob joins, alone").await?;
    let mut alice =
        match dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await? {
            Ok(ws) => ws,
            Err(answer) => return Err(answer.fail("GET /ws was not upgraded", "101")),
        };
    // A second's worth at once is within the limit: join, then four more
    // messages that each get an answer (a second join is an error).
    alice.send_json(&join(&board, "Alice")).await?;
    alice.expect_json(&json!({"type": "presence"}), "presence").await?;
    for n in 2..=limit {
        alice.send_json(&join(&board, "Alice")).await?;
        let why = format!(
            "an error for message {n} of {limit}: {limit} messages at once are within RATE_LIMIT_PER_S={limit}"
        );
        let got = alice.next_json(&why).await.map_err(|failure| Failure {
            headline: format!(
                "Alice's message {n} of {limit}, sent at once, within RATE_LIMIT_PER_S={limit}, got no \
                 answer: {}",
                failure.headline
            ),
            ..failure
        })?;
        if got.get("type").and_then(Value::as_str) != Some("error") {
            return Err(alice.fail(format!("message {n} of {limit} got {got}"), why));
        }
    }
    alice.note(format!("→ {} more messages, as fast as they go", 4 * limit));
    for _ in 0..4 * limit {
        if alice.send_json(&json!({"type": "typing", "taskId": "task-1"})).await.is_err() {
            break;
        }
    }
    alice
        .expect_close(
            1008,
            &format!("close 1008 (policy violation): more than RATE_LIMIT_PER_S={limit} messages a second"),
        )
        .await?;
    // Nobody else pays for it: the rest of Bob's own second's worth (his
    // join was one), at once, is answered.
    let more = limit - 1;
    bob.note(format!("→ {more} messages at once, right after Alice was closed"));
    for _ in 0..more {
        bob.send_json(&join(&t.board(2), "Bob")).await?;
    }
    for n in 1..=more {
        let why = format!(
            "an error for Bob's message {n} of {more} (he already joined): the limit counts each client \
             on its own, and Bob sent no more than RATE_LIMIT_PER_S={limit}"
        );
        let got = bob.next_json(&why).await.map_err(|failure| Failure {
            headline: format!(
                "Bob, who sent {more} messages at once, got no answer to message {n} after Alice was closed \
                 for flooding: {}",
                failure.headline
            ),
            ..failure
        })?;
        if got.get("type").and_then(Value::as_str) != Some("error") {
            return Err(bob.fail(format!("Bob's message {n} of {more} got {got}"), why));
        }
    }
    Ok(())
}

check!(Check {
    name: a_client_that_stops_reading_is_dropped_without_delaying_the_others,
    stage: LIMITS,
    section: READER_SECTION,
    hints: &["`limits::send_within` wraps the writer's `sink.send` in `tokio::time::timeout` with \
         `WRITE_TIMEOUT_MS`; when it runs out, the writer returns, the read loop sees the outbox \
         close, and the connection ends as any other: the user leaves the room."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn a_client_that_stops_reading_is_dropped_without_delaying_the_others(
    t: Target,
) -> Result<(), Failure> {
    let mut server = start(&t, stalled_reader_vars(short_vars(&t))).await?;
    let dial = server.dial.clone();
    let outcome = sign_in_if_offered(&dial, "Olivia").await;
    server.explain(outcome).await?;
    a_reader_that_stops_is_dropped(&dial, &t.board(1)).await?;
    Ok(())
}

check!(Check {
    name: slow_handshakes_and_request_heads_are_cut_off,
    stage: LIMITS,
    section: SLOW_SECTION,
    hints: &[
        "hyper times a request's head with `http1::Builder::header_read_timeout`, and only when it \
         has a timer: `.timer(TokioTimer::new())`.",
        "The TLS handshake happens before hyper sees the connection: wrap `acceptor.accept(tcp)` in \
         `tokio::time::timeout(handshake_timeout, …)`.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn slow_handshakes_and_request_heads_are_cut_off(t: Target) -> Result<(), Failure> {
    let timeout_ms = 300;
    let mut server = start(&t, short_vars(&t).with("HANDSHAKE_TIMEOUT_MS", timeout_ms)).await?;
    let addr = server.dial.addr();
    let head = format!("GET /boards/{}/tasks HTTP/1.1\r\nHost: {addr}\r\n", t.board(1));
    let outcome = silent_after(addr, head.as_bytes()).await;
    let got = server.explain(outcome).await?;
    if got == TIMED_OUT {
        return Err(Failure::new(format!(
            "a request head left unfinished was still open 5 s later (HANDSHAKE_TIMEOUT_MS={timeout_ms})"
        ))
        .sent(format!(
            "> GET /boards/{}/tasks HTTP/1.1\n> Host: {addr}\n(and then nothing: no blank line)",
            t.board(1)
        ))
        .expected("the connection closed (or 408) soon after HANDSHAKE_TIMEOUT_MS")
        .got(got));
    }
    let answer = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200: the server keeps serving everyone else")?;

    let mut tls = start_tls(&t, short_vars(&t).with("HANDSHAKE_TIMEOUT_MS", timeout_ms)).await?;
    let outcome = silent_after(tls.dial.addr(), b"").await;
    let got = tls.explain(outcome).await?;
    if got == TIMED_OUT {
        return Err(Failure::new(format!(
            "a TCP connection to the TLS port that never started its TLS handshake was still open 5 s \
             later (HANDSHAKE_TIMEOUT_MS={timeout_ms})"
        ))
        .sent("(a TCP connection, and not a byte)")
        .expected("the connection closed soon after HANDSHAKE_TIMEOUT_MS")
        .got(got));
    }
    Ok(())
}

/// Sends `bytes`, then nothing, and waits for the server to close the
/// connection; [`TIMED_OUT`] when it is still open after 5 s.
async fn silent_after(addr: SocketAddr, bytes: &[u8]) -> Result<String, Failure> {
    let Some(got) = send_until_closed(addr, bytes).await? else { return Ok(TIMED_OUT.to_owned()) };
    let first_line = String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned();
    Ok(if got.is_empty() { "(the connection closed)".to_owned() } else { first_line })
}
