//! Stage 6, "Reconnect without losing events".

use serde_json::{Value, json};

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::sse::EventStream;
use crate::{Failure, Needs, Target};

use super::api::{create_task, delete_task, move_task};
use super::helpers::{event_id, expect_change, parse_snapshot, subscribe_fresh};
use super::{REPLAY, REPLAY_SECTION};

check!(Check {
    name: last_event_id_replays_exactly_the_events_after_it_then_continues_live,
    stage: REPLAY,
    section: REPLAY_SECTION,
    hints: &[
        "Read the header with `headers.get(\"last-event-id\")` and pass it to `Feed::subscribe`.",
        "Keep the last `REPLAY_CAPACITY` events in a `VecDeque`; replay those with an id greater \
         than N, then go on with the live receiver (subscribed under the same lock).",
        "N equal to the latest id is not an error: there is simply nothing to replay.",
    ],
    needs: Needs::Address,
});
async fn last_event_id_replays_exactly_the_events_after_it_then_continues_live(
    t: Target,
) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    // A browser that saw the snapshot of an empty board (id 0) and lost the
    // connection comes back with Last-Event-ID: 0: nothing to replay yet.
    let mut empty = EventStream::subscribe(&t, &board, Some("0")).await?;
    let mut seen = Vec::new();
    let one = create_task(&t, &board, "Design login page").await?;
    seen.push(expect_seen(&mut live, "task_created", &one).await?);
    expect_replay(&mut empty, "0", &seen).await?;
    let two = create_task(&t, &board, "Write the API").await?;
    seen.push(expect_seen(&mut live, "task_created", &two).await?);
    let one = move_task(&t, &board, &one, "doing").await?;
    seen.push(expect_seen(&mut live, "task_moved", &one).await?);
    let three = create_task(&t, &board, "Ship it").await?;
    seen.push(expect_seen(&mut live, "task_created", &three).await?);
    delete_task(&t, &board, "task-2").await?;
    seen.push(expect_seen(&mut live, "task_deleted", &json!({"id": "task-2"})).await?);

    // Back after event 2: events 3, 4, 5 again, then live ones.
    let from = seen[1].id.to_string();
    let mut back = EventStream::subscribe(&t, &board, Some(&from)).await?;
    expect_replay(&mut back, &from, &seen[2..]).await?;
    let three = move_task(&t, &board, &three, "done").await?;
    let next = expect_seen(&mut live, "task_moved", &three).await?;
    expect_replay(&mut back, &from, std::slice::from_ref(&next)).await?;
    seen.push(next);

    // Back after the latest event: nothing to replay, the next event is live.
    let latest = seen[seen.len() - 1].id.to_string();
    let mut caught_up = EventStream::subscribe(&t, &board, Some(&latest)).await?;
    let four = create_task(&t, &board, "Celebrate").await?;
    let next = expect_seen(&mut live, "task_created", &four).await?;
    expect_replay(&mut caught_up, &latest, std::slice::from_ref(&next)).await?;
    seen.push(next);

    // Back from the very start: everything, in order.
    let mut from_start = EventStream::subscribe(&t, &board, Some("0")).await?;
    expect_replay(&mut from_start, "0", &seen).await
}

check!(Check {
    name: last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot,
    stage: REPLAY,
    section: REPLAY_SECTION,
    hints: &[
        "The feed keeps exactly `REPLAY_CAPACITY` events: push each new one to the back and pop the \
         front when it is full.",
        "You can replay after N only if the event right after N is still kept: N + 1 ≥ the \
         oldest kept id. Otherwise answer `Start::Reset`: an `event: reset` (with some data, or \
         the browser drops it), then a fresh snapshot.",
    ],
    needs: Needs::Tunables("creates REPLAY_CAPACITY + 4 events, with REPLAY_CAPACITY set to 16"),
});
async fn last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot(
    t: Target,
) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let capacity = tunables.replay_capacity;
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    let mut seen = Vec::new();
    let mut task = create_task(&t, &board, "Design login page").await?;
    seen.push(expect_seen(&mut live, "task_created", &task).await?);
    for column in ["doing", "done", "todo"].iter().cycle().take(capacity + 3) {
        task = move_task(&t, &board, &task, column).await?;
        seen.push(expect_seen(&mut live, "task_moved", &task).await?);
    }
    // REPLAY_CAPACITY + 4 events: the last REPLAY_CAPACITY are 5, 6, …, so
    // after event 4 all is kept, after event 3 one is missing.
    let from = seen[3].id.to_string();
    let mut back = EventStream::subscribe(&t, &board, Some(&from)).await?;
    expect_replay(&mut back, &from, &seen[4..]).await.map_err(|f| {
        let headline = format!(
            "{} (the server keeps the last REPLAY_CAPACITY = {capacity} events, and those are all that \
             came after id {from})",
            f.headline
        );
        Failure { headline, ..f }
    })?;

    let too_old = seen[2].id.to_string();
    let latest = seen[seen.len() - 1].id;
    let expected_tasks = [task.clone()];
    expect_reset_then_snapshot(&t, &board, &too_old, latest, &expected_tasks, "is older than the events kept")
        .await
}

check!(Check {
    name: a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot,
    stage: REPLAY,
    section: REPLAY_SECTION,
    hints: &[
        "An id greater than the board's latest was given out before a restart: the events it \
         refers to are gone. Reset.",
        "An id that is not a number (`abc`, `-1`, `2.5`) did not come from this server. Reset too: \
         never a silent gap, never an error status (EventSource would give up for good).",
    ],
    needs: Needs::Address,
});
async fn a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    let one = create_task(&t, &board, "Design login page").await?;
    expect_seen(&mut live, "task_created", &one).await?;
    let two = create_task(&t, &board, "Write the API").await?;
    let latest = expect_seen(&mut live, "task_created", &two).await?.id;
    let tasks = [one, two];
    let next = (latest + 1).to_string();
    let far = (latest + 1000).to_string();
    let bad = [
        (next.as_str(), "is one more than the latest event's id (from before a restart?)"),
        (far.as_str(), "is far in the future"),
        ("abc", "is not a number"),
        ("-1", "is negative"),
        ("2.5", "is not a whole number"),
    ];
    for (id, why) in bad {
        expect_reset_then_snapshot(&t, &board, id, latest, &tasks, why).await?;
    }
    let untouched = t.board(2);
    expect_reset_then_snapshot(&t, &untouched, "1", 0, &[], "names an event of a board that has none").await
}

/// An event a check saw, to compare with a replay.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    name: String,
    id: u64,
    data: Value,
}

/// Like [`expect_change`], keeping the event to compare with a replay.
async fn expect_seen(stream: &mut EventStream, name: &str, data: &Value) -> Result<Seen, Failure> {
    let id = expect_change(stream, ANSWER_TIMEOUT, name, data, "a change to the board").await?;
    Ok(Seen { name: name.to_owned(), id, data: data.clone() })
}

/// Requires `want`, in order, as the next events of a stream opened with
/// `Last-Event-ID: from`.
async fn expect_replay(stream: &mut EventStream, from: &str, want: &[Seen]) -> Result<(), Failure> {
    for seen in want {
        let expected = format!(
            "with Last-Event-ID: {from}, the events after {from} again, as they were sent: now\n\
             event: {}\nid: {}\ndata: {}",
            seen.name, seen.id, seen.data
        );
        let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
        if event.name == "snapshot" || event.name == "reset" {
            return Err(stream.fail(
                format!(
                    "with Last-Event-ID: {from}, an id the server can still replay from, the stream \
                     started over with {:?}",
                    event.name
                ),
                expected,
            ));
        }
        let id = event_id(stream, &event, &expected)?;
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        if (event.name.as_str(), id, &data) != (seen.name.as_str(), seen.id, &seen.data) {
            return Err(stream.fail(
                format!(
                    "with Last-Event-ID: {from}, event {:?} id {id} came where event id {} belongs",
                    event.name, seen.id
                ),
                expected,
            ));
        }
    }
    Ok(())
}

/// Opens the board's stream with `Last-Event-ID: id` and requires `reset`,
/// then a snapshot of `tasks` at event `latest`, then live events.
async fn expect_reset_then_snapshot(
    t: &Target,
    board: &str,
    id: &str,
    latest: u64,
    tasks: &[Value],
    why: &str,
) -> Result<(), Failure> {
    let mut stream = EventStream::subscribe(t, board, Some(id)).await?;
    let expected = format!(
        "Last-Event-ID: {id} {why}, so the events after it cannot be replayed:\n\
         event: reset\ndata: …\n\nthen\nevent: snapshot\nid: {latest}\ndata: {{\"eventId\":{latest},\"tasks\":{}}}",
        Value::Array(tasks.to_vec())
    );
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    if event.name != "reset" {
        return Err(stream.fail(
            format!(
                "with Last-Event-ID: {id} (which {why}), the first event is {:?}; expected \"reset\"",
                event.name
            ),
            expected,
        ));
    }
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await.map_err(|failure| Failure {
        headline: format!("after event: reset, no snapshot came: {}", failure.headline),
        ..failure
    })?;
    if event.name != "snapshot" {
        return Err(stream.fail(
            format!("after event: reset, the next event is {:?}; expected \"snapshot\"", event.name),
            expected,
        ));
    }
    let snapshot = parse_snapshot(&stream, &event, &expected)?;
    if snapshot.event_id != latest || snapshot.tasks != tasks {
        return Err(stream.fail("the snapshot after the reset does not show the board as it is", expected));
    }
    Ok(())
}
