//! Stage 4, "Keep-alives".

use std::time::Duration;

use tokio::time::Instant;

use crate::check::check;
use crate::sse::{Item, Next};
use crate::{Failure, Needs, Target, Tunables};

use super::api::{create_task, move_task};
use super::helpers::{expect_change, subscribe_fresh};
use super::{KEEPALIVE, KEEPALIVE_SECTION, TUNABLES};

/// How late a keep-alive may be, beyond `KEEPALIVE_MS`, on a busy machine.
const KEEPALIVE_SLACK: Duration = Duration::from_millis(500);

/// How soon an event must follow the response that caused it (as in stage 2).
const REAL_TIME: Duration = Duration::from_millis(500);

/// The chapter's settings with a keep-alive period far longer than
/// [`REAL_TIME`]: an event that waits for the keep-alive's timer shows.
const LONG_KEEPALIVE: Tunables = Tunables { keepalive_ms: 10_000, ..TUNABLES };

check!(Check {
    name: a_keep_alive_comment_arrives_every_keepalive_ms,
    stage: KEEPALIVE,
    section: KEEPALIVE_SECTION,
    hints: &[
        "Wait for the next chunk inside `tokio::time::timeout(keepalive, subscriber.next())`: when \
         it runs out, send a comment (`: keep-alive` and a blank line) instead. (axum's \
         `Sse::keep_alive` does the same for a stream of `Event`s.)",
        "A keep-alive must be a comment: an event (even `event: ping`) would wake every listener \
         in the browser.",
    ],
    needs: Needs::Tunables("waits for keep-alives every KEEPALIVE_MS, which the checks set to 200 ms"),
});
async fn a_keep_alive_comment_arrives_every_keepalive_ms(t: Target) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let keepalive = Duration::from_millis(tunables.keepalive_ms);
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    for n in 1..=2 {
        let expected = format!(
            "a comment line (`:` or `: keep-alive`) within KEEPALIVE_MS = {} ms of the last thing sent \
             (keep-alive number {n})",
            keepalive.as_millis()
        );
        let deadline = Instant::now() + keepalive + KEEPALIVE_SLACK;
        loop {
            match stream.next_item(deadline).await {
                Next::Item(Item::Comment(_)) => break,
                Next::Item(Item::Retry(_)) => {}
                Next::Item(Item::Event(event)) => {
                    return Err(stream.fail(
                        format!(
                            "an event ({:?}) came where a keep-alive comment belongs: nothing happened on \
                             the board, and an event would wake every listener",
                            event.name
                        ),
                        expected,
                    ));
                }
                Next::TimedOut => {
                    return Err(stream.fail(
                        format!(
                            "no keep-alive comment within {} ms on a quiet stream",
                            (keepalive + KEEPALIVE_SLACK).as_millis()
                        ),
                        expected,
                    ));
                }
                Next::Ended(why) => {
                    return Err(stream.fail(format!("the stream stopped while quiet: {why}"), expected));
                }
            }
        }
    }
    Ok(())
}

check!(Check {
    name: an_event_goes_out_at_once_not_at_the_next_keep_alive,
    stage: KEEPALIVE,
    section: KEEPALIVE_SECTION,
    hints: &[
        "The keep-alive's timer decides only when to send a *comment*: wait for the next chunk \
         under `timeout(keepalive, subscriber.next())` (or `select!` between `recv()` and a timer), \
         so that an event ends the wait the moment it comes.",
        "A loop that sleeps for the keep-alive period and then sends whatever gathered (or \
         `interval.tick()` followed by `try_recv`) holds every event back until the next tick. \
         With the checks' 200 ms that hides; with 15 s in production, the board lags by seconds.",
    ],
    needs: Needs::OwnTunables(
        LONG_KEEPALIVE,
        "starts the server with KEEPALIVE_MS = 10000, to see that events do not wait for it",
    ),
});
async fn an_event_goes_out_at_once_not_at_the_next_keep_alive(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    let every = LONG_KEEPALIVE.keepalive_ms;
    let task = create_task(&t, &board, "Design login page").await?;
    let after = format!(
        "the response to POST /boards/{board}/tasks (within 500 ms of it, with KEEPALIVE_MS = {every}: \
         the keep-alive's timer must not hold events back)"
    );
    expect_change(&mut stream, REAL_TIME, "task_created", &task, &after).await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let after = format!(
        "the response to PATCH /boards/{board}/tasks/task-1 (within 500 ms of it, with KEEPALIVE_MS = {every})"
    );
    expect_change(&mut stream, REAL_TIME, "task_moved", &moved, &after).await?;
    Ok(())
}
