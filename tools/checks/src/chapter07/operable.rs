//! Stage 6, "Health and metrics".

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::check::check;
use crate::dial::Dial;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::helpers::{
    a_reader_that_stops_is_dropped, member, on_shutdown, read_until_closed, sample, stalled_reader_vars,
};
use super::servers::{short_vars, start};
use super::sign_in::sign_in_if_offered;
use super::{OPERABLE, OPERABLE_SECTION, STARTS_ITS_OWN};

check!(Check {
    name: healthz_answers_200_while_serving_and_503_while_draining,
    stage: OPERABLE,
    section: OPERABLE_SECTION,
    hints: &[
        "`metrics::health`: `state.draining.is_draining()` decides between `503` and `200`. The \
              route is public (the policy asks nothing of it).",
        "`shutdown::close_connections` adds `Connection: close` only while the server drains: \
              while it serves, connections stay open for the next request."
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn healthz_answers_200_while_serving_and_503_while_draining(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = server.dial.request("GET", "/healthz").send().await;
    let serving = server.explain(outcome).await?;
    serving.expect_status(200, "200 OK while the server serves")?;
    if serving.header("connection").is_some_and(|value| value.eq_ignore_ascii_case("close")) {
        return Err(serving.fail(
            "GET /healthz while the server serves answered with Connection: close: only a draining server \
             closes its connections",
            "200 OK, the connection kept open for the next request (HTTP/1.1 keep-alive)",
        ));
    }
    let mut alice = member(&server.dial, &t.board(1), "Alice").await?;
    // A connection the server accepts before it drains, on which nothing is
    // sent yet. The server accepts connections in the order they come: once
    // a request on a later connection is answered, this one is accepted.
    let addr = server.dial.addr();
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let later = server.dial.request("GET", "/healthz").send().await?;
    later.expect_status(200, "200 OK while the server serves")?;
    server.shut_down();
    // Alice's close frame says the server is draining now; only then does
    // the accepted connection send its request.
    alice.expect_close(1001, "close 1001: the server drains").await.map_err(on_shutdown)?;
    let _ = tcp.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await;
    let sent = format!(
        "(a connection the server accepted while serving, silent until the server drained)\n\
         > GET /healthz HTTP/1.1\n> Host: {addr}\n>"
    );
    // Read until the server closes: while it drains, it answers and closes.
    let (got, closed) = read_until_closed(&mut tcp).await;
    let status_line = String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned();
    let expected = "503 Service Unavailable, and the connection closed: a load balancer must stop sending \
                    new clients here (a connection accepted before the drain still gets its request answered)";
    if !status_line.starts_with("HTTP/1.1 503") {
        let got = if got.is_empty() { "(no response)".to_owned() } else { status_line };
        return Err(Failure::new(format!(
            "GET /healthz while the server drains answered {got}; expected 503"
        ))
        .sent(sent)
        .expected(expected)
        .got(got));
    }
    if !closed {
        return Err(Failure::new("after its 503 while draining, the connection stayed open for 5 s")
            .sent(sent)
            .expected(expected)
            .got(format!("{status_line}\n(and then the connection stayed open: no Connection: close)")));
    }
    Ok(())
}

/// `GET /metrics`, requiring the sample `key` to hold `want` (or at least
/// `want`, with `at_least`).
async fn expect_sample(dial: &Dial, key: &str, want: f64, at_least: bool, why: &str) -> Result<f64, Failure> {
    let answer = dial.request("GET", "/metrics").send().await?;
    let expected = format!("{key} {}{want} ({why})", if at_least { "≥ " } else { "" });
    answer.expect_status(200, &expected)?;
    let content_type = answer.header("content-type").unwrap_or("");
    if !(content_type.starts_with("application/openmetrics-text") || content_type.starts_with("text/plain")) {
        return Err(answer.fail(
            format!("GET /metrics answered Content-Type {content_type:?}, not Prometheus's text format"),
            "Content-Type: application/openmetrics-text (or text/plain; version=0.0.4)",
        ));
    }
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    match sample(&text, key) {
        Some(value) if value == want || (at_least && value >= want) => Ok(value),
        Some(value) => {
            Err(answer.fail(format!("GET /metrics says {key} {value}; expected {want}"), expected))
        }
        None => Err(answer.fail(format!("GET /metrics has no sample {key}"), expected)),
    }
}

check!(Check {
    name: metrics_count_open_connections_deliveries_and_evictions,
    stage: OPERABLE,
    section: OPERABLE_SECTION,
    hints: &[
        "`metrics::render` encodes the state's registry with `prometheus_client::encoding::text::encode` \
         and answers it with `Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8`.",
        "The gauges move with the connection limit's places (`Slots::try_take`); the evictions are \
         counted where they happen; `count_deliveries` counts each event an event stream's body \
         writes.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn metrics_count_open_connections_deliveries_and_evictions(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t).with("RATE_LIMIT_PER_S", 5)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    expect_sample(&dial, "board_websockets_open", 0.0, false, "no WebSocket yet").await?;
    let _alice = member(&dial, &board, "Alice").await?;
    let _bob = member(&dial, &board, "Bob").await?;
    let mut stream = dial
        .request("GET", format!("/boards/{board}/events"))
        .header_opt("Cookie", cookie.as_deref())
        .events()
        .await?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    expect_sample(&dial, "board_websockets_open", 2.0, false, "Alice's and Bob's").await?;
    expect_sample(&dial, "board_event_streams_open", 1.0, false, "one stream").await?;
    let before = expect_sample(&dial, "board_events_delivered_total", 1.0, true, "the snapshot").await?;
    let created = dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header_opt("Cookie", cookie.as_deref())
        .json(&json!({"title": "Count me"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created")?;
    stream.next_event(ANSWER_TIMEOUT, "event: task_created").await?;
    expect_sample(&dial, "board_events_delivered_total", before + 1.0, true, "one more: task_created")
        .await?;
    let mut carol = member(&dial, &board, "Carol").await?;
    for _ in 0..20 {
        if carol.send_json(&json!({"type": "typing", "taskId": "task-1"})).await.is_err() {
            break;
        }
    }
    carol.expect_close(1008, "close 1008: Carol sent more than RATE_LIMIT_PER_S=5").await?;
    expect_sample(&dial, "board_clients_evicted_total{reason=\"rate_limit\"}", 1.0, false, "Carol").await?;
    Ok(())
}

check!(Check {
    name: metrics_count_a_client_dropped_for_not_reading,
    stage: OPERABLE,
    section: OPERABLE_SECTION,
    hints: &[
        "A client dropped by the write deadline is an eviction too: \
         `board_clients_evicted_total{reason=\"write_timeout\"}` counts it, as `rate_limit` counts \
         a flood.",
        "The writer in `connection.rs` counts `Reason::WriteTimeout` when `limits::send_within` \
         says it gave up after the limit (`Evicted(limit)`), and not when the connection was simply \
         gone (`Evicted(Duration::ZERO)`): a timeout must come back as `Evicted(limit)`.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn metrics_count_a_client_dropped_for_not_reading(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, stalled_reader_vars(short_vars(&t))).await?;
    let dial = server.dial.clone();
    let outcome = sign_in_if_offered(&dial, "Olivia").await;
    server.explain(outcome).await?;
    let key = "board_clients_evicted_total{reason=\"write_timeout\"}";
    let answer = dial.request("GET", "/metrics").send().await?;
    answer.expect_status(200, "200 and the metrics")?;
    if let Some(value) = sample(&String::from_utf8_lossy(&answer.body), key).filter(|value| *value != 0.0) {
        return Err(answer.fail(
            format!("GET /metrics says {key} {value} before any client was dropped"),
            format!("{key} 0, or no such sample yet"),
        ));
    }
    // Olivia and Tom stay connected: a connection that ends is no eviction.
    let _others = a_reader_that_stops_is_dropped(&dial, &t.board(1)).await?;
    // The writer counts the eviction before the connection ends, and so
    // before the room hears that Sam left.
    expect_sample(&dial, key, 1.0, false, "Sam, dropped after WRITE_TIMEOUT_MS=300 of not reading").await?;
    Ok(())
}
