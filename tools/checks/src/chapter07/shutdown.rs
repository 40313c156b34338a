//! Stage 5, "Graceful shutdown".

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::sse::Item;
use crate::{Failure, Needs, Target};

use super::helpers::{member, on_shutdown, read_until_closed};
use super::launch::Keep;
use super::process::{Binary, Process};
use super::servers::{short_vars, start, start_keeping};
use super::sign_in::sign_in_if_offered;
use super::{GRACE_SECTION, RESTART_SECTION, RUNS_THE_BINARY, SEES_SECTION, SHUTDOWN, STARTS_ITS_OWN};

check!(Check {
    name: shutdown_closes_every_websocket_with_1001,
    stage: SHUTDOWN,
    section: SEES_SECTION,
    hints: &[
        "`Draining` is a `tokio::sync::watch` channel: `begin` sends `true`, `begun` waits until it \
         sees `true` (`wait_for`). The accept loop calls `begin` when `stop` completes.",
        "The read loop in `connection.rs` already waits on `draining.begun()` and closes with \
         `shutdown::GOING_AWAY` (1001) — once `begun` ever returns.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn shutdown_closes_every_websocket_with_1001(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    server.explain(outcome).await?;
    let board = t.board(1);
    let mut alice = member(&server.dial, &board, "Alice").await?;
    let mut bob = member(&server.dial, &board, "Bob").await?;
    alice.expect_json(&json!({"type": "joined", "user": "Bob"}), "Bob joined").await?;
    alice.note("(the server is told to shut down)");
    bob.note("(the server is told to shut down)");
    server.shut_down();
    let expected = "close 1001 (going away): the server is shutting down, and the page reconnects elsewhere";
    alice.expect_close(1001, expected).await.map_err(on_shutdown)?;
    bob.expect_close(1001, expected).await.map_err(on_shutdown)
}

check!(Check {
    name: shutdown_ends_every_event_stream_after_a_jittered_retry,
    stage: SHUTDOWN,
    section: SEES_SECTION,
    hints: &[
        "`shutdown::end_streams` wraps an event stream's body: \
         `body.into_data_stream().take_until(draining.begun())`, then one more chunk, \
         `retry: <ms>\\n\\n`, chained after it.",
        "Each stream's `retry:` is drawn at random from `RETRY_JITTER_MS` (`jittered_retry_ms`), so \
         that the clients of a server that stops don't all come back in the same instant.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn shutdown_ends_every_event_stream_after_a_jittered_retry(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let mut streams = Vec::new();
    for _ in 0..3 {
        let call = server.dial.request("GET", format!("/boards/{board}/events"));
        let mut events = call.header_opt("Cookie", cookie.as_deref()).events().await?;
        events.answer.expect_status(200, "200 and an event stream")?;
        events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
        streams.push(events);
    }
    server.shut_down();
    let mut retries = Vec::new();
    for events in &mut streams {
        let expected = "a last retry: line, then the end of the response, so that EventSource reconnects";
        let items = events.until_end(ANSWER_TIMEOUT, expected).await.map_err(on_shutdown)?;
        match items.iter().rev().find_map(|item| if let Item::Retry(ms) = item { Some(*ms) } else { None }) {
            Some(ms) => retries.push(ms),
            None => {
                return Err(events.fail("the stream ended on shutdown without a retry: line", expected));
            }
        }
    }
    if retries.windows(2).all(|pair| pair[0] == pair[1]) {
        return Err(Failure::new(format!(
            "three event streams ended on shutdown with the same retry: {} ms",
            retries[0]
        ))
        .expected("a retry: drawn at random for each stream, so that clients come back spread out")
        .got(format!("retry: {retries:?}")));
    }
    Ok(())
}

check!(Check {
    name: shutdown_is_over_within_the_grace_even_if_a_request_never_ends,
    stage: SHUTDOWN,
    section: GRACE_SECTION,
    hints: &["`shutdown::wait` gives what still runs `SHUTDOWN_GRACE_MS` \
              (`tokio::time::timeout(grace, drained.all_done())`), and no more: a client that never \
              finishes its request must not keep the server alive."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn shutdown_is_over_within_the_grace_even_if_a_request_never_ends(t: Target) -> Result<(), Failure> {
    let grace = Duration::from_millis(500);
    let mut server = start(&t, short_vars(&t).with("SHUTDOWN_GRACE_MS", grace.as_millis())).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let addr = server.dial.addr();
    // A request whose body never finishes: in flight for as long as the
    // server lets it be.
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let head = format!(
        "POST /boards/{}/tasks HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n{}\r\n{{\"title\":",
        t.board(1),
        cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default()
    );
    let _ = tcp.write_all(head.as_bytes()).await;
    // A round trip on another connection: the first one's head is read by now.
    let answer = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200")?;
    server.shut_down();
    let started = tokio::time::Instant::now();
    let within = grace + Duration::from_secs(3);
    match timeout(within, &mut server.task).await {
        Ok(_) => Ok(()),
        Err(_) => Err(Failure::new(format!(
            "the server was still running {} ms after it was told to shut down (SHUTDOWN_GRACE_MS={})",
            started.elapsed().as_millis(),
            grace.as_millis()
        ))
        .sent(format!("{}(a POST whose body never ends), then shutdown", head.replace("\r\n", "\n")))
        .expected("serve() returns within SHUTDOWN_GRACE_MS, whatever its clients do")
        .got("serve() had not returned")),
    }
}

check!(Check {
    name: no_event_accepted_before_shutdown_is_lost_across_a_restart,
    stage: SHUTDOWN,
    section: RESTART_SECTION,
    hints: &["The stream must *end* on shutdown, not break off: then `EventSource` reconnects with \
              `Last-Event-ID`, and the next server replays from the board's feed (chapter 2's \
              replay). Ending the stream early loses nothing; the replay fills the gap."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn no_event_accepted_before_shutdown_is_lost_across_a_restart(t: Target) -> Result<(), Failure> {
    let keep = Keep::default();
    let mut first = start_keeping(&t, short_vars(&t), keep.clone()).await?;
    let outcome = sign_in_if_offered(&first.dial, "Alice").await;
    let cookie = first.explain(outcome).await?;
    let board = t.board(1);
    let events_path = format!("/boards/{board}/events");
    let mut stream =
        first.dial.request("GET", &events_path).header_opt("Cookie", cookie.as_deref()).events().await?;
    stream.answer.expect_status(200, "200 and an event stream")?;
    let snapshot = stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    // Five tasks, each accepted (201) before the shutdown begins.
    let titles: Vec<String> = (1..=5).map(|n| format!("Accepted before shutdown {n}")).collect();
    for title in &titles {
        let created = first
            .dial
            .request("POST", format!("/boards/{board}/tasks"))
            .header_opt("Cookie", cookie.as_deref())
            .json(&json!({ "title": title }))
            .send()
            .await?;
        created.expect_status(201, "201 Created")?;
    }
    first.shut_down();
    let expected = "the stream ends on shutdown (the events it had not sent yet come on reconnecting)";
    stream.until_end(ANSWER_TIMEOUT, expected).await.map_err(on_shutdown)?;
    timeout(ANSWER_TIMEOUT, &mut first.task).await.ok();
    // The worst case: a client that had received nothing after the snapshot
    // when its stream ended. It must get all five, from the next server.
    let last_id = snapshot.last_event_id.clone();
    let mut seen: Vec<String> = Vec::new();

    // The next instance, on the same state; the same page reconnects.
    let mut second = start_keeping(&t, short_vars(&t), first.keep.clone()).await?;
    let again = second
        .dial
        .request("GET", &events_path)
        .header_opt("Cookie", cookie.as_deref())
        .header("Last-Event-ID", &last_id);
    let outcome = again.events().await;
    let mut resumed = second.explain(outcome).await?;
    resumed.answer.expect_status(200, "200 and the replay after Last-Event-ID")?;
    while seen.len() < titles.len() {
        let why = format!(
            "after reconnecting with Last-Event-ID: {last_id} (the snapshot's), the replay of the tasks \
             created before the shutdown ({} of {} so far)",
            seen.len(),
            titles.len()
        );
        let event = resumed.next_event(ANSWER_TIMEOUT, &why).await?;
        match event.name.as_str() {
            "task_created" => seen.push(task_title(&event.data)),
            "reset" | "snapshot" => {
                return Err(resumed.fail(format!("the restarted server answered event: {}", event.name), why));
            }
            _ => {}
        }
    }
    if seen != titles {
        return Err(Failure::new("the events before and after the restart are not each task once, in order")
            .expected(titles.join("\n"))
            .got(seen.join("\n")));
    }
    Ok(())
}

/// The title of a `task_created` event's task.
fn task_title(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|task| task.get("title").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| data.to_owned())
}

check!(Check {
    name: on_sigterm_the_binary_drains_and_answers_the_request_in_flight,
    stage: SHUTDOWN,
    section: GRACE_SECTION,
    hints: &[
        "This check runs your binary — the one `cargo run` starts — and sends it SIGTERM, as \
         `docker stop` does: `serve` stops on `shutdown::signal()`, which must return on SIGTERM \
         as well as on Ctrl-C.",
        "When `main` returns, the runtime drops every task still running — the request in flight \
         with them. So after the accept loop ends, `serve_state` waits for the connections to finish \
         (`shutdown::wait`), up to SHUTDOWN_GRACE_MS, before it returns.",
    ],
    needs: Needs::Code(RUNS_THE_BINARY),
});
async fn on_sigterm_the_binary_drains_and_answers_the_request_in_flight(t: Target) -> Result<(), Failure> {
    if cfg!(not(unix)) {
        // No SIGTERM to send: the in-process checks of this stage stand in.
        return Ok(());
    }
    let grace = Duration::from_millis(5000);
    let binary = *t.local::<Binary>()?;
    let mut process =
        Process::start(binary, &short_vars(&t).with("SHUTDOWN_GRACE_MS", grace.as_millis())).await?;
    let dial = process.dial.clone();
    let addr = dial.addr();
    let board = t.board(1);
    let cookie = sign_in_if_offered(&dial, "Alice").await?;
    let mut alice = member(&dial, &board, "Alice").await?;
    // A POST whose body is still on its way when SIGTERM comes.
    let body = json!({ "title": "Finished after SIGTERM" }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let head = format!(
        "POST /boards/{board}/tasks HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{}\r\n",
        body.len(),
        cookie.as_deref().map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default()
    );
    let mut posting = connect(addr).await?;
    let _ = posting.write_all(format!("{head}{first}").as_bytes()).await;
    // A round trip on a later connection: the server has accepted the POST's.
    let answer = dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
    answer.expect_status(200, "200")?;

    alice.note("(the server's process gets SIGTERM)");
    process.terminate().await?;
    // With the POST still in flight, the process must not exit. (Half a
    // second is far longer than a process takes to end.)
    if let Some(status) = process.exited(Duration::from_millis(500)).await {
        return Err(Failure::new(format!(
            "on SIGTERM, the process exited ({status}) with a request still in flight"
        ))
        .sent(format!(
            "{}{first}\n(the rest of the body still to come), then SIGTERM",
            head.replace("\r\n", "\n")
        ))
        .expected(
            "the process waits for the request in hand (up to SHUTDOWN_GRACE_MS) before it exits: when \
             main returns, every task still running is dropped",
        )
        .got(format!("the process ended {status}\n\n{}", process.log())));
    }

    let expected = "close 1001 (going away): SIGTERM starts the drain";
    alice.expect_close(1001, expected).await.map_err(|failure| Failure {
        headline: format!("on SIGTERM, {}", failure.headline),
        got: Some(match failure.got {
            Some(got) if !got.trim().is_empty() => format!("{got}\n\n{}", process.log()),
            _ => process.log(),
        }),
        ..failure
    })?;
    // The POST's body arrives in full: its answer must still come.
    let _ = posting.write_all(rest.as_bytes()).await;
    let status_line = first_line(read_until_closed(&mut posting).await);
    if !status_line.starts_with("HTTP/1.1 201") {
        return Err(Failure::new(format!(
            "a request in flight when SIGTERM came was not answered: it got {status_line}"
        ))
        .sent(format!(
            "{}{first}\n(SIGTERM, close 1001, then the rest of the body:)\n{rest}",
            head.replace("\r\n", "\n")
        ))
        .expected(
            "201 Created: the request in hand is finished before the process exits (within \
             SHUTDOWN_GRACE_MS)",
        )
        .got(format!("{status_line}\n\n{}", process.log())));
    }

    let within = grace + Duration::from_secs(5);
    if process.exited(within).await.is_none() {
        return Err(Failure::new(format!(
            "the process was still running {} s after SIGTERM (SHUTDOWN_GRACE_MS={})",
            within.as_secs(),
            grace.as_millis()
        ))
        .sent("SIGTERM; every connection answered and closed")
        .expected("the process exits once its connections are done, and within SHUTDOWN_GRACE_MS at most")
        .got(process.log()));
    }
    Ok(())
}

async fn connect(addr: std::net::SocketAddr) -> Result<TcpStream, Failure> {
    TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))
}

/// The status line of a raw response, or what stands for none.
fn first_line((got, closed): (Vec<u8>, bool)) -> String {
    match String::from_utf8_lossy(&got).lines().next() {
        Some(line) if !line.is_empty() => line.to_owned(),
        _ if closed => "(no response: the connection closed)".to_owned(),
        _ => "(no response within 5 s)".to_owned(),
    }
}
