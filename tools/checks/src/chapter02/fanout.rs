//! Stage 3, "Every subscriber, only its board".

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::chapter01::board_count;
use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::api::{create_task, delete_task, move_task};
use super::helpers::{expect_change, subscribe_fresh};
use super::{FANOUT, FANOUT_SECTION};

check!(Check {
    name: every_subscriber_of_a_board_gets_every_event,
    stage: FANOUT,
    section: FANOUT_SECTION,
    hints: &["One `broadcast::Sender` per board; each connection gets its own receiver from \
         `sender.subscribe()`. A single receiver shared by all connections would hand each event \
         to only one of them."],
    needs: Needs::Address,
});
async fn every_subscriber_of_a_board_gets_every_event(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(subscribe_fresh(&t, &board).await?.0);
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let moved = move_task(&t, &board, &task, "done").await?;
    let other = create_task(&t, &board, "Write the API").await?;
    delete_task(&t, &board, "task-1").await?;
    let changes = [
        ("task_created", task),
        ("task_moved", moved),
        ("task_created", other),
        ("task_deleted", json!({"id": "task-1"})),
    ];
    let mut ids: Option<Vec<u64>> = None;
    for (n, stream) in streams.iter_mut().enumerate() {
        let mut got = Vec::new();
        for (name, data) in &changes {
            let after = format!("4 changes to {board}, with 3 subscribers (this is subscriber {})", n + 1);
            got.push(expect_change(stream, ANSWER_TIMEOUT, name, data, &after).await?);
        }
        match &ids {
            Some(first) if *first != got => {
                return Err(stream.fail(
                    format!("subscriber {} got ids {got:?}; subscriber 1 got {first:?}", n + 1),
                    "every subscriber of a board gets the same events with the same ids",
                ));
            }
            Some(_) => {}
            None => ids = Some(got),
        }
    }
    Ok(())
}

check!(Check {
    name: a_subscriber_gets_no_events_of_other_boards,
    stage: FANOUT,
    section: FANOUT_SECTION,
    hints: &["Keep the sender in the board's own `Feed`, not one channel for the whole server."],
    needs: Needs::Address,
});
async fn a_subscriber_gets_no_events_of_other_boards(t: Target) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    let (mut a, _) = subscribe_fresh(&t, &one).await?;
    let (mut b, _) = subscribe_fresh(&t, &two).await?;
    let task = create_task(&t, &one, "Only on board one").await?;
    let moved = move_task(&t, &one, &task, "doing").await?;
    expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, &format!("POST on {one}")).await?;
    expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {one}")).await?;
    // A marker on board two: it must be the first thing board two's subscriber hears.
    let marker = create_task(&t, &two, "Marker on board two").await?;
    let after = format!("changes on {one}, then POST on {two}: {two}'s subscriber hears only the latter");
    expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &marker, &after).await?;
    // And the other way round.
    let moved = move_task(&t, &two, &marker, "done").await?;
    expect_change(&mut b, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {two}")).await?;
    let marker = create_task(&t, &one, "Marker on board one").await?;
    let after = format!("a PATCH on {two}, then POST on {one}: {one}'s subscriber hears only the latter");
    expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &marker, &after).await?;
    Ok(())
}

check!(Check {
    name: a_hundred_subscribers_all_get_every_event,
    stage: FANOUT,
    section: FANOUT_SECTION,
    hints: &["Nothing per subscriber may block the others: no lock held across an `.await`, no loop \
         over subscribers that waits for each one."],
    needs: Needs::Address,
});
async fn a_hundred_subscribers_all_get_every_event(t: Target) -> Result<(), Failure> {
    const SUBSCRIBERS: usize = 100;
    let board = t.board(1);
    let opened = join_all((0..SUBSCRIBERS).map(|_| subscribe_fresh(&t, &board))).await;
    let mut streams = Vec::new();
    for result in opened {
        streams.push(result?.0);
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let other = create_task(&t, &board, "Write the API").await?;
    let changes = [("task_created", task), ("task_moved", moved), ("task_created", other)];
    let changes = &changes;
    let results = join_all(streams.iter_mut().enumerate().map(|(n, stream)| async move {
        let mut ids = Vec::new();
        for (name, data) in changes {
            let after =
                format!("3 changes to the board, with {SUBSCRIBERS} subscribers (this is number {})", n + 1);
            ids.push(expect_change(stream, ANSWER_TIMEOUT, name, data, &after).await?);
        }
        Ok::<_, Failure>(ids)
    }))
    .await;
    let mut first: Option<Vec<u64>> = None;
    for (n, result) in results.into_iter().enumerate() {
        let ids = result?;
        match &first {
            Some(want) if *want != ids => {
                return Err(streams[n].fail(
                    format!("subscriber {} got ids {ids:?}; subscriber 1 got {want:?}", n + 1),
                    "every subscriber gets the same events with the same ids",
                ));
            }
            Some(_) => {}
            None => first = Some(ids),
        }
    }
    Ok(())
}

check!(Check {
    name: subscribers_of_unknown_boards_leave_no_board_behind,
    stage: FANOUT,
    section: FANOUT_SECTION,
    hints: &[
        "`Boards::subscribe` (given) forgets a board that never held a task once its last \
         receiver is dropped. So drop yours when the client goes: keep the receiver inside \
         the response's stream, which axum drops when the connection closes.",
        "A task spawned per subscriber that forwards events into a channel keeps its receiver \
         alive after the client has gone, unless it stops when a send fails.",
    ],
    needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex02-sse`"),
});
async fn subscribers_of_unknown_boards_leave_no_board_behind(t: Target) -> Result<(), Failure> {
    // 1,000 over HTTP prove that your streams let go of their receivers;
    // `board.rs`'s own test proves the same of 10,000 without the network.
    const UNKNOWN: usize = 1_000;
    const AT_ONCE: usize = 32;
    let board = t.board(1);
    // A board that has held a task stays, even empty and unwatched: its ids
    // must go on counting.
    create_task(&t, &board, "Design login page").await?;
    drop(subscribe_fresh(&t, &board).await?);
    delete_task(&t, &board, "task-1").await?;
    let before = board_count(&t)?;

    let addr = t.addr();
    let prefix = format!("{board}-unknown-");
    stream::iter((1..=UNKNOWN).map(|n| subscribe_and_leave(addr, format!("{prefix}{n}"))))
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;

    // The server learns that a client left only when it next writes to it
    // (a keep-alive at the latest), so the count may take a moment.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut after = board_count(&t)?;
    while after != before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = board_count(&t)?;
    }
    if after != before {
        return Err(Failure::new(format!(
            "subscribers of boards nobody uses left {} boards behind after they disconnected: the \
             server held {before} boards, now {after}",
            after.saturating_sub(before)
        ))
        .sent(format!(
            "{UNKNOWN} × GET /boards/{board}-unknown-N/events, each read up to its snapshot and closed"
        ))
        .expected(format!(
            "{before} boards again within {} s: a board nobody has written to is kept only while \
             someone is subscribed",
            ANSWER_TIMEOUT.as_secs()
        ))
        .got(format!("{after} boards")));
    }

    let task = create_task(&t, &board, "Write the API").await?;
    if task["id"] != "task-2" {
        return Err(Failure::new(format!(
            "a board whose only task was deleted gave its next task the id {}",
            task["id"]
        ))
        .expected("task-2: a board that has held a task keeps its counter, so ids are never reused")
        .got(task.to_string()));
    }
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != 3 {
        return Err(stream.fail(
            format!("the board's event ids started over: its snapshot has eventId {}", snapshot.event_id),
            "eventId 3 (task-1 created, deleted, task-2 created): a board that has held a task keeps \
             counting its events",
        ));
    }
    Ok(())
}

/// Opens `board`'s event stream, reads until its snapshot, and drops the
/// connection with a reset, as a tab that closes does.
async fn subscribe_and_leave(addr: SocketAddr, board: String) -> Result<(), Failure> {
    let request =
        format!("GET /boards/{board}/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    let failed = |why: String| {
        Failure::new(format!("GET /boards/{board}/events: {why}"))
            .sent(request.clone())
            .expected("200 OK, text/event-stream, and a snapshot of the (empty) board")
    };
    let exchange = async {
        let mut socket = TcpStream::connect(addr).await?;
        socket.write_all(request.as_bytes()).await?;
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        while !received.windows(7).any(|w| w == b"\"tasks\"") {
            let n = socket.read(&mut buffer).await?;
            if n == 0 || received.len() > 64 << 10 {
                return Ok(Err(String::from_utf8_lossy(&received).into_owned()));
            }
            received.extend_from_slice(&buffer[..n]);
        }
        socket.set_zero_linger()?;
        Ok::<_, std::io::Error>(Ok(()))
    };
    match timeout(ANSWER_TIMEOUT, exchange).await {
        Err(_) => Err(failed(format!("no snapshot within {} s", ANSWER_TIMEOUT.as_secs()))),
        Ok(Err(e)) => Err(failed(format!("the connection failed ({e})"))),
        Ok(Ok(Err(got))) => Err(failed("the stream ended before a snapshot".into()).got(got)),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}
