//! Stage 5, "Heartbeats and idle timeouts".

use std::time::{Duration, Instant};

use serde_json::json;

use crate::check::check;
use crate::ws::{Transcript, WsClient};
use crate::{Failure, Needs, Target};

use super::helpers::{alice_and_bob, enter, expect_no_ghost, tunables};
use super::messages::{join, joined, left, ping, presence, typing, typing_request};
use super::{APP_HEARTBEAT_SECTION, HEARTBEATS, HEARTBEATS_SECTION};

check!(Check {
    name: the_server_pings_every_heartbeat,
    stage: HEARTBEATS,
    section: HEARTBEATS_SECTION,
    hints: &[
        "A `tokio::time::interval(config.heartbeat)` branch in the connection's `select!` loop \
         queues a `Message::Ping` for the writer.",
        "A browser answers pings by itself; the server's pings are what let it notice a client \
         that is gone without a word.",
    ],
    needs: Needs::Tunables("needs a short HEARTBEAT_MS (the checks start the server with 200 ms)"),
});
async fn the_server_pings_every_heartbeat(t: Target) -> Result<(), Failure> {
    let heartbeat = Duration::from_millis(tunables(&t).heartbeat_ms);
    let tr = Transcript::with_pings();
    let board = t.board(1);
    let start = Instant::now();
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let expected = format!(
        "a ping every HEARTBEAT_MS ({} ms), while the client is otherwise quiet",
        heartbeat.as_millis()
    );
    for _ in 0..3 {
        alice.next_ping(&expected).await?;
    }
    // Three pings, the first maybe at once: at least two heartbeats apart.
    let elapsed = start.elapsed();
    if elapsed < heartbeat * 3 / 2 {
        return Err(alice
            .fail(format!("three pings came within {} ms: too often", elapsed.as_millis()), expected)
            .got(format!("3 pings in {} ms", elapsed.as_millis())));
    }
    Ok(())
}

check!(Check {
    name: a_client_that_answers_pings_outlives_the_idle_timeout,
    stage: HEARTBEATS,
    section: HEARTBEATS_SECTION,
    hints: &["Any frame from the client — a pong included — proves it is alive: reset the idle \
         deadline on every frame `recv()` returns, not only on text messages."],
    needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
});
async fn a_client_that_answers_pings_outlives_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let idle = Duration::from_millis(tunables.idle_timeout_ms);
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    // Both stay quiet but answer every ping, for one and a half idle timeouts —
    // measured in the server's own pings, so nothing here sleeps.
    let start = Instant::now();
    let expected = format!(
        "a ping every HEARTBEAT_MS ({} ms); Alice and Bob answer each one, and a pong is a frame: \
         nobody is idle, nobody leaves",
        tunables.heartbeat_ms
    );
    while start.elapsed() < idle * 3 / 2 {
        bob.next_ping(&expected).await?;
    }
    bob.send_json(&typing_request("task-1")).await?;
    alice
        .expect_json(
            &typing("Bob", "task-1"),
            &format!(
                "Bob is typing. Alice and Bob sent nothing for {} ms, longer than IDLE_TIMEOUT_MS, but \
                 answered every ping: nobody left",
                start.elapsed().as_millis()
            ),
        )
        .await?;
    Ok(())
}

check!(Check {
    name: a_silent_client_is_dropped_after_the_idle_timeout,
    stage: HEARTBEATS,
    section: HEARTBEATS_SECTION,
    hints: &[
        "A client whose network vanished sends no close frame and no FIN: `recv()` just waits. \
         Give the loop a `sleep_until(idle_deadline)` branch that ends it.",
        "Ending the loop runs the same cleanup as a close: one `left`, and the user is gone from \
         the next snapshot.",
    ],
    needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
});
async fn a_silent_client_is_dropped_after_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    let start = Instant::now();
    bob.mute();
    let idle = Duration::from_millis(tunables.idle_timeout_ms);
    alice
        .expect_json_within(
            &left(&board, "Bob"),
            &format!(
                "Bob stopped answering pings: after IDLE_TIMEOUT_MS ({} ms) without a frame from him, \
                 he is gone",
                tunables.idle_timeout_ms
            ),
            idle + crate::http::ANSWER_TIMEOUT,
        )
        .await?;
    // Bob's last pong came shortly before he went silent, a heartbeat or so
    // (more on a busy machine): half the idle timeout is a safe lower bound.
    let soonest = Duration::from_millis(tunables.idle_timeout_ms / 2);
    let elapsed = start.elapsed();
    if elapsed < soonest {
        return Err(alice
            .fail(
                format!("Bob was dropped {} ms after going silent: too soon", elapsed.as_millis()),
                format!(
                    "left no sooner than IDLE_TIMEOUT_MS ({} ms) after Bob's last frame",
                    tunables.idle_timeout_ms
                ),
            )
            .got(format!("left after {} ms", elapsed.as_millis())));
    }
    bob.expect_end("the server closes the connection of a client it has given up on").await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

check!(Check {
    name: a_client_that_never_joins_is_dropped_after_the_idle_timeout,
    stage: HEARTBEATS,
    section: HEARTBEATS_SECTION,
    hints: &["The heartbeat and the idle deadline belong to the connection, not to the membership: \
         start them before the first message, so a socket that never joins is let go too."],
    needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
});
async fn a_client_that_never_joins_is_dropped_after_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let idle = Duration::from_millis(tunables(&t).idle_timeout_ms);
    let tr = Transcript::new();
    let mut lurker = WsClient::connect(&t, &tr, "lurker").await?;
    lurker.mute();
    lurker
        .expect_end_within(
            &format!(
                "the client opened a WebSocket, never joined and went silent: after IDLE_TIMEOUT_MS \
                 ({} ms) the server lets it go",
                idle.as_millis()
            ),
            idle + crate::http::ANSWER_TIMEOUT,
        )
        .await
}

check!(Check {
    name: a_ping_message_gets_a_pong_to_that_client_only,
    stage: HEARTBEATS,
    section: APP_HEARTBEAT_SECTION,
    hints: &[
        "`{\"type\":\"ping\"}` is a message like any other: answer `{\"type\":\"pong\"}` through \
         this connection's outbox, whether or not it has joined.",
        "The pong goes to the sender only: the outbox, not the room.",
    ],
    needs: Needs::Address,
});
async fn a_ping_message_gets_a_pong_to_that_client_only(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&ping()).await?;
    alice.expect_json(&json!({"type": "pong"}), "a ping before join is answered too").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice.expect_json(&presence(&board, &["Alice"]), "Alice joins").await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    alice.send_json(&ping()).await?;
    alice.expect_json(&json!({"type": "pong"}), "Alice's ping is answered to Alice").await?;
    // The marker: Alice types. Bob's next message must be about that; a pong
    // meant for Alice would come first.
    alice.send_json(&typing_request("task-1")).await?;
    bob.expect_json(&typing("Alice", "task-1"), "Alice is typing. The pong was Alice's; Bob never gets it")
        .await?;
    Ok(())
}
