//! Stage 4, "Keep-alives".

use std::time::Duration;

use tokio::time::Instant;

use crate::check::check;
use crate::sse::{Item, Next};
use crate::{Failure, Needs, Target};

use super::helpers::subscribe_fresh;
use super::{KEEPALIVE, KEEPALIVE_SECTION};

/// How late a keep-alive may be, beyond `KEEPALIVE_MS`, on a busy machine.
const KEEPALIVE_SLACK: Duration = Duration::from_millis(500);

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
