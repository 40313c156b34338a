//! Stage 2, "Push board changes".

use std::time::Duration;

use serde_json::json;

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::sse::EventStream;
use crate::{Failure, Needs, Target};

use super::api::{create_task, delete_task, move_task};
use super::helpers::{expect_change, expect_increasing, subscribe_fresh};
use super::{EVENTS, PUSHING_SECTION};

/// How soon an event must follow the HTTP response that caused it.
const REAL_TIME: Duration = Duration::from_millis(500);

check!(Check {
    name: creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data,
    stage: EVENTS,
    section: PUSHING_SECTION,
    hints: &[
        "`Feed::publish` numbers the change, keeps it, and sends it with `self.sender.send(..)`; \
         the stream then turns each `FeedEvent` the receiver gets into an SSE event.",
        "`task_created` and `task_moved` carry the whole task, `task_deleted` only `{\"id\": …}`: \
         `serde_json::to_string(change)` writes exactly that (see how `Change` is declared).",
        "A `broadcast::Sender::send` with no receivers returns an error: that is fine, nobody \
         is listening. Ignore it.",
    ],
    needs: Needs::Address,
});
async fn creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data(
    t: Target,
) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    let task = create_task(&t, &board, "Design login page").await?;
    let after = format!("POST /boards/{board}/tasks");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_created", &task, &after).await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let after = format!("PATCH /boards/{board}/tasks/task-1 {{\"column\":\"doing\"}}");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_moved", &moved, &after).await?;
    delete_task(&t, &board, "task-1").await?;
    let after = format!("DELETE /boards/{board}/tasks/task-1");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_deleted", &json!({"id": "task-1"}), &after).await?;
    Ok(())
}

check!(Check {
    name: event_ids_start_at_1_and_increase_strictly_per_board,
    stage: EVENTS,
    section: PUSHING_SECTION,
    hints: &["Each board's `Feed` counts its own events: `last_id` starts at 0, and `publish` adds 1 \
         before numbering a change. Every event gets an `id:` line."],
    needs: Needs::Address,
});
async fn event_ids_start_at_1_and_increase_strictly_per_board(t: Target) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    let (mut a, _) = subscribe_fresh(&t, &one).await?;
    let (mut b, _) = subscribe_fresh(&t, &two).await?;
    let mut last_a = 0;
    let mut last_b = 0;
    let task = create_task(&t, &one, "On board one").await?;
    let id = expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, &format!("POST on {one}")).await?;
    expect_first_id(&a, id, &one)?;
    last_a = expect_increasing(&a, last_a, id)?;
    let other = create_task(&t, &two, "On board two").await?;
    let id = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &other, &format!("POST on {two}")).await?;
    expect_first_id(&b, id, &two)?;
    last_b = expect_increasing(&b, last_b, id)?;
    let moved = move_task(&t, &one, &task, "done").await?;
    let id = expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {one}")).await?;
    last_a = expect_increasing(&a, last_a, id)?;
    let third = create_task(&t, &two, "Also on board two").await?;
    let id = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &third, &format!("POST on {two}")).await?;
    expect_increasing(&b, last_b, id)?;
    delete_task(&t, &one, "task-1").await?;
    let deleted = json!({"id": "task-1"});
    let id =
        expect_change(&mut a, ANSWER_TIMEOUT, "task_deleted", &deleted, &format!("DELETE on {one}")).await?;
    expect_increasing(&a, last_a, id)?;
    Ok(())
}

check!(Check {
    name: a_snapshot_carries_the_id_of_the_latest_event,
    stage: EVENTS,
    section: PUSHING_SECTION,
    hints: &[
        "Take the snapshot and subscribe to the broadcast in one step, under the board's lock: \
         then the receiver gets exactly the events after the snapshot, none twice, none lost.",
        "The snapshot's `eventId` is the feed's `last_id` at that moment.",
    ],
    needs: Needs::Address,
});
async fn a_snapshot_carries_the_id_of_the_latest_event(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut a, _) = subscribe_fresh(&t, &board).await?;
    let mut seen = Vec::new();
    for title in ["Design login page", "Write the API"] {
        let task = create_task(&t, &board, title).await?;
        seen.push(expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, "a POST").await?);
    }
    let task = move_task(&t, &board, &json!({"id": "task-1"}), "done").await?;
    seen.push(expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &task, "a PATCH").await?);
    let latest = seen.last().copied().unwrap_or_default();

    let (mut b, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != latest {
        return Err(b.fail(
            format!(
                "the snapshot's eventId is {}; the board's latest event has id {latest}",
                snapshot.event_id
            ),
            format!(
                "event: snapshot with id: {latest} and eventId {latest}: the state after event {latest}, \
                 so the client knows which live events are news"
            ),
        ));
    }
    let task = create_task(&t, &board, "Ship it").await?;
    let next = expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, "a POST").await?;
    let got = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &task, "the snapshot and a POST").await?;
    if got != next {
        return Err(b.fail(
            format!("after the snapshot, this subscriber got event id {got}; the others got {next}"),
            format!("the first live event after the snapshot is the board's next event, id {next}"),
        ));
    }
    Ok(())
}

check!(Check {
    name: each_event_arrives_within_500_ms_of_the_response_that_caused_it,
    stage: EVENTS,
    section: PUSHING_SECTION,
    hints: &[
        "The stream must stay open and yield each event as the receiver gets it: `Subscriber::next` \
         waits in `receiver.recv().await` only while nothing is queued, then takes what \
         `try_recv` already has, and never waits for more.",
        "Publish before the handler answers (inside `Boards::create`, under the lock), so the \
         event is on its way by the time the client sees the response.",
    ],
    needs: Needs::Address,
});
async fn each_event_arrives_within_500_ms_of_the_response_that_caused_it(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    let task = create_task(&t, &board, "Design login page").await?;
    let after = format!("the response to POST /boards/{board}/tasks (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_created", &task, &after).await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let after = format!("the response to PATCH /boards/{board}/tasks/task-1 (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_moved", &moved, &after).await?;
    delete_task(&t, &board, "task-1").await?;
    let after = format!("the response to DELETE /boards/{board}/tasks/task-1 (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_deleted", &json!({"id": "task-1"}), &after).await?;
    // The stream is still open: the next change still arrives.
    let task = create_task(&t, &board, "Write the API").await?;
    let after = "a second POST (the stream stays open for as long as the client listens)";
    expect_change(&mut stream, REAL_TIME, "task_created", &task, after).await?;
    Ok(())
}

fn expect_first_id(stream: &EventStream, id: u64, board: &str) -> Result<(), Failure> {
    if id == 1 {
        return Ok(());
    }
    Err(stream.fail(
        format!("the first event of {board} has id {id}"),
        "id: 1 — each board counts its own events from 1",
    ))
}
