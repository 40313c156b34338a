//! Stage 1, "Open the stream".

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::sse::{EventStream, Item, Next};
use crate::{Failure, Needs, Target};

use super::api::{create_task, list_tasks, move_task};
use super::helpers::subscribe_fresh;
use super::{OPENING_SECTION, SNAPSHOT_SECTION, STREAM};

check!(Check {
    name: the_stream_is_200_text_event_stream_and_not_cached,
    stage: STREAM,
    section: OPENING_SECTION,
    hints: &[
        "`board_events` answers the headers `Content-Type: text/event-stream` and `Cache-Control: \
         no-cache` with `Body::from_stream(chunks)`, a body that is a stream of `Bytes`.",
        "The stream can start as `futures_util::stream::iter(chunks)`, a `Vec<Result<Bytes, \
         Infallible>>` of what you already know (the retry and the snapshot); it grows in stage 2.",
        "A shape that lasts: `board_events` calls `state.boards.subscribe(..)` and hands a \
         `Subscriber` to `futures_util::stream::unfold`, which asks it for one chunk after \
         another; `encode` writes any event's bytes, and `snapshot_event` and `reset_event` use it.",
    ],
    needs: Needs::Address,
});
async fn the_stream_is_200_text_event_stream_and_not_cached(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut stream = EventStream::subscribe(&t, &board, None).await?;
    let no_cache = stream
        .header("cache-control")
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-cache")));
    if !no_cache {
        stream.read_for(Duration::from_millis(200)).await;
        return Err(stream.fail(
            "the event stream has no Cache-Control: no-cache header",
            "Cache-Control: no-cache, so no cache on the way answers a later request with a stored \
             copy of the stream without asking the server",
        ));
    }
    Ok(())
}

check!(Check {
    name: a_fresh_stream_sets_the_reconnection_time_with_retry,
    stage: STREAM,
    section: OPENING_SECTION,
    hints: &["Start the stream with `retry: 2000` and a blank line (`retry_field(RETRY)`): it tells \
         `EventSource` how long to wait before reconnecting. Alone it dispatches nothing (it has no \
         data), which is fine."],
    needs: Needs::Address,
});
async fn a_fresh_stream_sets_the_reconnection_time_with_retry(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut stream = EventStream::subscribe(&t, &board, None).await?;
    let expected = "a line `retry: <milliseconds>` before the first event or in it, e.g. `retry: 2000`";
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        match stream.next_item(deadline).await {
            Next::Item(Item::Retry(_)) => return Ok(()),
            Next::Item(Item::Comment(_)) => {}
            Next::Item(Item::Event(event)) => {
                return Err(stream.fail(
                    format!("the first event ({:?}) came without a retry: field before it", event.name),
                    expected,
                ));
            }
            Next::TimedOut => {
                return Err(stream.fail("no retry: field and no event arrived on a fresh stream", expected));
            }
            Next::Ended(why) => return Err(stream.fail(format!("the stream stopped: {why}"), expected)),
        }
    }
}

check!(Check {
    name: a_fresh_stream_starts_with_a_snapshot_of_the_board,
    stage: STREAM,
    section: SNAPSHOT_SECTION,
    hints: &[
        "Without `Last-Event-ID`, `Feed::subscribe` starts with `Start::Snapshot`: the board's \
         tasks and the id of the last event it published (0 when there was none).",
        "Send it as `encode(\"snapshot\", Some(snapshot.event_id), &json)` with the JSON \
         `{\"eventId\": N, \"tasks\": […]}`. The `id:` line and `eventId` carry the same number.",
    ],
    needs: Needs::Address,
});
async fn a_fresh_stream_starts_with_a_snapshot_of_the_board(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != 0 || !snapshot.tasks.is_empty() {
        return Err(stream.fail(
            "the snapshot of a board where nothing has happened is not empty",
            r#"event: snapshot, id: 0, data: {"eventId":0,"tasks":[]}"#,
        ));
    }
    let first = create_task(&t, &board, "Design login page").await?;
    let second = create_task(&t, &board, "Write the API").await?;
    let first = move_task(&t, &board, &first, "doing").await?;
    let tasks = vec![first, second];
    let listed = list_tasks(&t, &board).await?;
    if listed != tasks {
        return Err(Failure::new(format!("GET /boards/{board}/tasks does not list the tasks just created"))
            .expected(format!("{} (chapter 1's API, which the starter ships working)", Value::Array(tasks)))
            .got(Value::Array(listed).to_string()));
    }
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.tasks != tasks {
        return Err(stream.fail(
            "the snapshot does not list the board's tasks as they are now",
            format!(
                "event: snapshot, with data {{\"eventId\": …, \"tasks\": {}}} (what GET /boards/{board}/tasks answers)",
                Value::Array(tasks)
            ),
        ));
    }
    Ok(())
}
