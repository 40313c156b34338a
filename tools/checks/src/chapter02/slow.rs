//! Stage 7, "Slow subscribers".

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::sse::{EventStream, Item, Next};
use crate::{Failure, Needs, Target};

use super::api::{create_task, move_task};
use super::helpers::{event_id, expect_change, expect_increasing, parse_snapshot, subscribe_fresh};
use super::{CHAPTER, SLOW, SLOW_SECTION};

/// The title of the task the slow-subscriber checks move around: each event
/// carries it, so that a few hundred kilobytes of events are only a few
/// dozen of them.
const BIG_TITLE_BYTES: usize = 64 << 10;

/// How many bytes of events the slow-subscriber checks send beyond
/// `REPLAY_CAPACITY` events: twice what Linux lets one loopback connection
/// hold in its socket buffers by default (`tcp_wmem` up to 4 MiB), so the
/// server cannot hide a stuck client's backlog in the kernel.
const BYTES_BEYOND_BUFFERS: usize = 8 << 20;

check!(Check {
    name: a_subscriber_that_stops_reading_does_not_delay_the_others,
    stage: SLOW,
    section: SLOW_SECTION,
    hints: &[
        "Publishing must never wait for a subscriber: `broadcast::Sender::send` doesn't. A loop \
         that `.await`s a bounded channel per subscriber does, once one of them is full.",
        "Each connection's stream runs on its own; a subscriber that cannot keep up only \
         falls behind in its own receiver.",
    ],
    needs: Needs::Address,
});
async fn a_subscriber_that_stops_reading_does_not_delay_the_others(t: Target) -> Result<(), Failure> {
    let capacity = t.tunables().map_or(CHAPTER.tunables.replay_capacity, |t| t.replay_capacity);
    let _behind = fall_behind(&t, capacity).await?;
    Ok(())
}

check!(Check {
    name: events_queued_behind_a_stalled_reader_arrive_complete_in_order_with_their_ids,
    stage: SLOW,
    section: SLOW_SECTION,
    hints: &[
        "A subscriber that stopped reading has events waiting for it, in its receiver and in \
         the response's buffers. When it reads again, each must arrive whole, once, in order, \
         with its own `id:`.",
        "If your stream sends several queued events together, write each one completely \
         (`event:`, `id:`, `data:`, blank line) and keep their order; never drop the ones \
         after the first.",
    ],
    needs: Needs::Address,
});
async fn events_queued_behind_a_stalled_reader_arrive_complete_in_order_with_their_ids(
    t: Target,
) -> Result<(), Failure> {
    // Fewer events than a subscriber may fall behind (half of
    // REPLAY_CAPACITY), but big enough together to fill the socket buffers:
    // the rest wait in the server, and leave when the reader reads again.
    let capacity = t.tunables().map_or(CHAPTER.tunables.replay_capacity, |t| t.replay_capacity);
    let events = (capacity / 2).max(2);
    let title_bytes = BYTES_BEYOND_BUFFERS.div_ceil(events);
    let board = t.board(1);
    let (mut slow, _) = subscribe_fresh(&t, &board).await?;
    let (mut fast, _) = subscribe_fresh(&t, &board).await?;
    let title = "x".repeat(title_bytes);
    let short = format!("\"x…({title_bytes} bytes of x)\"");
    let stuck = |f: Failure| Failure {
        headline: format!("while one subscriber was not reading: {}", f.headline),
        ..f
    };

    // The reader stalls: nothing is read from `slow` while the task is
    // created and moved. The other subscriber proves each event was sent.
    let mut sent = Vec::with_capacity(events);
    let mut task = create_task(&t, &board, &title).await.map_err(stuck)?;
    for n in 0..events {
        if n > 0 {
            task = move_task(&t, &board, &task, ["doing", "done", "todo"][n % 3]).await.map_err(stuck)?;
        }
        let name = if n == 0 { "task_created" } else { "task_moved" };
        let expected =
            format!("event: {name} for change {} of {events}, while another subscriber reads nothing", n + 1);
        let event = fast.next_event(ANSWER_TIMEOUT, &expected).await?;
        let id = event_id(&fast, &event, &expected)?;
        sent.push((name, id, task.clone()));
    }

    // The reader reads again: every event, whole, in order, with its id.
    for (n, (name, id, task)) in sent.iter().enumerate() {
        let column = task["column"].as_str().unwrap_or_default();
        let expected = format!(
            "the {events} events sent while this subscriber was not reading, in order; number {} is\n\
             event: {name}\nid: {id}\ndata: {{\"id\":\"task-1\",\"title\":{short},\"column\":\"{column}\"}}",
            n + 1
        );
        let event = slow.next_event(ANSWER_TIMEOUT, &expected).await?;
        let got = event_id(&slow, &event, &expected)?;
        if event.name != *name || got != *id {
            return Err(slow.fail(
                format!(
                    "after a pause in reading, event number {} of {events} is {:?} with id {got}; \
                     expected {name:?} with id {id}",
                    n + 1,
                    event.name
                ),
                expected,
            ));
        }
        let data: Option<Value> = serde_json::from_str(&event.data).ok();
        if data.as_ref() != Some(task) {
            return Err(slow.fail(
                format!(
                    "after a pause in reading, the data of event id {id} is not the whole task \
                     ({} bytes of data)",
                    event.data.len()
                ),
                expected,
            ));
        }
    }

    // And nothing else queued after them: a marker is the very next event.
    let marker = create_task(&t, &board, "marker").await?;
    expect_change(&mut slow, ANSWER_TIMEOUT, "task_created", &marker, "all the queued events, then a POST")
        .await?;
    Ok(())
}

check!(Check {
    name: a_subscriber_too_far_behind_gets_reset_or_is_disconnected,
    stage: SLOW,
    section: SLOW_SECTION,
    hints: &[
        "Make the broadcast channel's capacity `REPLAY_CAPACITY`: a receiver more than that \
         behind gets `Err(RecvError::Lagged(n))` from `recv()`.",
        "On `Lagged`, don't end the stream silently (axum's chat example does): send `reset` \
         and a fresh snapshot, from a fresh subscription.",
    ],
    needs: Needs::Tunables("needs REPLAY_CAPACITY set to 16 to know how far behind is too far"),
});
async fn a_subscriber_too_far_behind_gets_reset_or_is_disconnected(t: Target) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let capacity = tunables.replay_capacity;
    let behind = fall_behind(&t, capacity).await?;
    let FallenBehind { board, mut slow, ids, task } = behind;
    let sent = ids.len();
    let expected = format!(
        "the slow subscriber, {sent} events behind (more than REPLAY_CAPACITY = {capacity}), gets the \
         events it was already sent, then `event: reset` and a fresh snapshot — or the response ends, so \
         that EventSource reconnects with Last-Event-ID"
    );
    let mut next = 0;
    loop {
        match slow.next_item(Instant::now() + ANSWER_TIMEOUT).await {
            Next::Item(Item::Event(event)) if event.name == "reset" => break,
            Next::Item(Item::Event(event)) => {
                let id = event_id(&slow, &event, &expected)?;
                if ids.get(next) != Some(&id) {
                    return Err(slow.fail(
                        format!(
                            "the slow subscriber got event id {id} where id {} was next, with no reset \
                             before it: a silent gap",
                            ids.get(next).map_or("(none)".to_owned(), u64::to_string)
                        ),
                        expected,
                    ));
                }
                next += 1;
                if next == sent {
                    return Err(slow.fail(
                        format!(
                            "the slow subscriber got all {sent} events it missed, with no reset: the server \
                             kept more than REPLAY_CAPACITY = {capacity} events for it (a queue without bound \
                             lets one stuck client eat the server's memory)"
                        ),
                        expected,
                    ));
                }
            }
            Next::Item(_) => {}
            Next::Ended(_) => return Ok(()),
            Next::TimedOut => {
                return Err(slow.fail(
                    format!(
                        "the slow subscriber read again, and nothing came within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    ),
                    expected,
                ));
            }
        }
    }
    // After the reset: a snapshot, then the events after it, then live ones.
    let event = slow.next_event(ANSWER_TIMEOUT, "event: snapshot right after the reset").await?;
    let snapshot = parse_snapshot(&slow, &event, "event: snapshot right after the reset")?;
    let latest = ids[sent - 1];
    if snapshot.event_id == latest && snapshot.tasks != [task.clone()] {
        return Err(slow.fail(
            "the snapshot after the reset does not show the board as it is",
            format!("a snapshot with eventId {latest} and the tasks [{task}]"),
        ));
    }
    let Some(from) = ids.iter().position(|&id| id == snapshot.event_id) else {
        return Err(slow.fail(
            format!(
                "the snapshot after the reset has eventId {}, an id the board never sent",
                snapshot.event_id
            ),
            format!("a snapshot with the id of the latest event ({latest})"),
        ));
    };
    for &want in &ids[from + 1..] {
        let event = slow.next_event(ANSWER_TIMEOUT, "the events after the snapshot").await?;
        let id = event_id(&slow, &event, "the events after the snapshot")?;
        if id != want {
            return Err(slow.fail(
                format!(
                    "after the snapshot with eventId {}, event id {id} came; expected {want}",
                    snapshot.event_id
                ),
                "every event after the snapshot, in order",
            ));
        }
    }
    let moved = move_task(&t, &board, &task, "done").await?;
    expect_change(&mut slow, ANSWER_TIMEOUT, "task_moved", &moved, "the reset, the snapshot, and a PATCH")
        .await?;
    Ok(())
}

/// A subscriber that stopped reading while a big task moved far more often
/// than `capacity` events, and more than socket buffers hold.
struct FallenBehind {
    board: String,
    slow: EventStream,
    /// The ids of the events a subscriber that kept reading got, in order.
    ids: Vec<u64>,
    /// The big task as it is now.
    task: Value,
}

async fn fall_behind(t: &Target, capacity: usize) -> Result<FallenBehind, Failure> {
    let moves = capacity + BYTES_BEYOND_BUFFERS / BIG_TITLE_BYTES;
    let board = t.board(1);
    let (slow, _) = subscribe_fresh(t, &board).await?;
    let (mut fast, _) = subscribe_fresh(t, &board).await?;
    let stuck = |f: Failure| Failure {
        headline: format!("while one subscriber was not reading: {}", f.headline),
        ..f
    };
    let title = "x".repeat(BIG_TITLE_BYTES);
    let task = create_task(t, &board, &title).await.map_err(stuck)?;
    let after = "a POST of a task with a 64 KiB title, while another subscriber reads nothing";
    // A server that waits for the stuck subscriber stops delivering for good
    // once its socket buffers fill, so a generous deadline still catches it,
    // and a busy machine doesn't make a correct server fail.
    let mut ids = vec![expect_change(&mut fast, ANSWER_TIMEOUT, "task_created", &task, after).await?];
    let path = format!("/boards/{board}/tasks/task-1");
    let mut column = "todo";
    for n in 1..=moves {
        column = ["doing", "done", "todo"][n % 3];
        // Only the status: these checks move a lot of bytes, and the events'
        // data is checked elsewhere.
        t.request("PATCH", path.clone())
            .json(&json!({ "column": column }))
            .send()
            .await
            .and_then(|exchange| exchange.expect_status(200, "200 OK with the moved task"))
            .map_err(stuck)?;
        let expected = format!(
            "event: task_moved after the response to PATCH number {n} of {moves} (each event \
             carries the task's 64 KiB title), while another subscriber reads nothing"
        );
        let event = fast.next_event(ANSWER_TIMEOUT, &expected).await?;
        if event.name != "task_moved" {
            return Err(
                fast.fail(format!("the next event is {:?}; expected \"task_moved\"", event.name), expected)
            );
        }
        let id = event_id(&fast, &event, &expected)?;
        ids.push(expect_increasing(&fast, ids[ids.len() - 1], id)?);
    }
    let task = json!({ "id": "task-1", "title": title, "column": column });
    Ok(FallenBehind { board, slow, ids, task })
}
