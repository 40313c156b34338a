//! Stage 4, "Who is typing".

use std::time::{Duration, Instant};

use crate::check::check;
use crate::ws::{Transcript, WsClient, json_matches};
use crate::{Failure, Needs, Target};

use super::helpers::{alice_and_bob, enter, tunables};
use super::messages::{
    join, joined, left, presence_typing, typing, typing_request, typing_stopped, typing_stopped_request,
};
use super::{TYPING, TYPING_SECTION};

check!(Check {
    name: typing_reaches_the_others_but_not_the_typist,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &["Broadcast `{\"type\":\"typing\",\"user\",\"taskId\"}` as an event about the typist: the \
         same filter that keeps `joined` from the joiner keeps `typing` from the typist."],
    needs: Needs::Address,
});
async fn typing_reaches_the_others_but_not_the_typist(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3; Bob is told").await?;
    // The marker: Bob types too. Alice's next message must be about Bob; an
    // echo of her own typing would come first.
    bob.send_json(&typing_request("task-4")).await?;
    alice
        .expect_json(
            &typing("Bob", "task-4"),
            "Bob is typing on task-4. Alice is never told that she is typing",
        )
        .await?;
    Ok(())
}

check!(Check {
    name: a_joiner_is_told_who_is_typing,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &[
        "`presence` is the whole truth about a board: who is there and who is typing now. Keep the \
         typists in the room, next to the users, and put them in every snapshot.",
        "Change the room's typists where you tell the board: a `typing` adds (user, task), a \
         `typing_stopped` removes it, under the same lock — then the snapshot agrees with what the \
         others were told.",
    ],
    needs: Needs::Address,
});
async fn a_joiner_is_told_who_is_typing(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    // Alice's indicator lives TYPING_TTL_MS from her last refresh. On a
    // machine so busy that it expires before Carol's snapshot is taken, the
    // snapshot is right to leave her out: Bob, who hears everything in the
    // room's order, says which it was. Try again on a fresh board, so that
    // one attempt catches her typing.
    for attempt in 1..=3 {
        let board = t.board(attempt);
        let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
        bob.send_json(&typing_request("task-1")).await?;
        alice.expect_json(&typing("Bob", "task-1"), "Bob is typing on task-1").await?;
        bob.send_json(&typing_stopped_request("task-1")).await?;
        alice.expect_json(&typing_stopped("Bob", "task-1"), "Bob stopped typing on task-1").await?;
        alice.send_json(&typing_request("task-3")).await?;
        bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
        alice.send_json(&typing_request("task-3")).await?;

        let mut carol = WsClient::connect(&t, &tr, "carol").await?;
        carol.send_json(&join(&board, "Carol")).await?;
        let snapshot = carol.next_json("Carol's snapshot").await?;
        // What was true when Carol joined: Bob's announcements up to hers.
        let mut alive = true;
        loop {
            let message = bob.next_json(&format!("{} (Carol joined)", joined(&board, "Carol"))).await?;
            if json_matches(&joined(&board, "Carol"), &message) {
                break;
            }
            if json_matches(&typing_stopped("Alice", "task-3"), &message) {
                alive = false;
            } else if json_matches(&typing("Alice", "task-3"), &message) {
                alive = true;
            }
        }
        let typists: &[(&str, &str)] = if alive { &[("Alice", "task-3")] } else { &[] };
        let want = presence_typing(&board, &["Alice", "Bob", "Carol"], typists);
        let why = if alive {
            "Carol joins: the snapshot lists who is there and who is typing now — Alice on task-3; Bob \
             stopped"
        } else {
            "Carol joins: the snapshot lists who is there and who is typing now — nobody: Bob stopped, \
             and Alice's indicator had expired"
        };
        if !json_matches(&want, &snapshot) {
            return Err(carol.wrong_message(&snapshot, &format!("{want}\n({why})")));
        }
        if alive {
            return Ok(());
        }
    }
    Ok(())
}

check!(Check {
    name: typing_stopped_reaches_the_others_when_asked,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &["`typing_stopped` from the client ends the indicator at once (`Typing::stop`) and is \
         broadcast then — not left for the expiry timer."],
    needs: Needs::Address,
});
async fn typing_stopped_reaches_the_others_when_asked(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    alice.send_json(&typing_stopped_request("task-3")).await?;
    // The marker: Alice starts on another task at once. If the server left
    // task-3 to its expiry timer, task-5 would arrive first.
    alice.send_json(&typing_request("task-5")).await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "Alice said she stopped typing on task-3: Bob is told at once, before her next message",
    )
    .await?;
    bob.expect_json(&typing("Alice", "task-5"), "Alice is now typing on task-5").await?;
    Ok(())
}

check!(Check {
    name: typing_stops_by_itself_after_the_ttl,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &[
        "Keep a deadline per task (`Typing`), and give the connection's `select!` loop a branch \
         that sleeps until the earliest one; when it fires, broadcast `typing_stopped`.",
        "A client that crashed mid-word never sends `typing_stopped`: the TTL is the only thing \
         that clears its indicator.",
    ],
    needs: Needs::Tunables("needs a short TYPING_TTL_MS (the checks start the server with 400 ms)"),
});
async fn typing_stops_by_itself_after_the_ttl(t: Target) -> Result<(), Failure> {
    let ttl = tunables(&t).typing_ttl_ms;
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    let start = Instant::now();
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        &format!("Alice sent nothing more: after TYPING_TTL_MS ({ttl} ms) her indicator expires"),
    )
    .await?;
    let elapsed = start.elapsed();
    if elapsed < Duration::from_millis(ttl * 9 / 10) {
        return Err(bob
            .fail(
                format!("typing_stopped came {} ms after typing: before the TTL", elapsed.as_millis()),
                format!("typing_stopped no sooner than TYPING_TTL_MS ({ttl} ms) after the last typing"),
            )
            .got(format!("typing_stopped after {} ms", elapsed.as_millis())));
    }
    Ok(())
}

check!(Check {
    name: a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &["Each `typing` for a task already being typed moves its deadline to now + TTL. Only \
         the first one needs broadcasting."],
    needs: Needs::Tunables("needs a short TYPING_TTL_MS (the checks start the server with 400 ms)"),
});
async fn a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(tunables(&t).typing_ttl_ms);
    let tr = Transcript::new();
    let task = "task-3";
    let marker_task = "task-4";
    // A person types on: the refresh comes a quarter of the TTL after Bob saw
    // the first `typing` (the sleep paces the typist; nothing waits on it).
    // The server took the first `typing` before Bob saw it, so a server that
    // does not extend the deadline stops the indicator at least a quarter of
    // the TTL too early, however late the refresh is sent.
    for attempt in 1..=5 {
        let board = t.board(attempt);
        let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
        let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
        alice.send_json(&typing_request(task)).await?;
        bob.expect_json(&typing("Alice", task), &format!("Alice is typing on {task}")).await?;
        tokio::time::sleep(ttl / 4).await;
        let refreshed = Instant::now();
        alice.send_json(&typing_request(task)).await?;
        // A refresh only keeps the indicator alive: Bob already knows Alice
        // is typing, so the next thing he hears is that she stopped.
        let why = format!(
            "Alice sent typing again on {task}: the indicator lasts TYPING_TTL_MS ({} ms) from that \
             refresh; a refresh is not forwarded, so the next message is typing_stopped",
            ttl.as_millis()
        );
        bob.expect_json(&typing_stopped("Alice", task), &why).await?;
        let after_refresh = refreshed.elapsed();
        if after_refresh >= ttl * 9 / 10 {
            return Ok(());
        }
        // Too early. Either the refresh did not extend the indicator, or this
        // machine was so busy that the server took the refresh after the
        // first indicator had expired; then the refresh is a new `typing`,
        // and Bob hears it before the marker (Alice typing on another task).
        alice.send_json(&typing_request(marker_task)).await?;
        let next = bob.next_json(&format!("Alice typing on {task} again, or on {marker_task}")).await?;
        if json_matches(&typing("Alice", task), &next) {
            continue;
        }
        return Err(bob
            .fail(
                format!(
                    "typing_stopped came {} ms after the refresh: the refresh did not extend the indicator",
                    after_refresh.as_millis()
                ),
                format!("typing_stopped no sooner than {} ms after the refresh", ttl.as_millis()),
            )
            .got(format!(
                "typing_stopped {} ms after the refresh, then {next} (the refresh was swallowed)",
                after_refresh.as_millis()
            )));
    }
    Err(Failure::new(
        "this machine is too busy to pace a typist: five refreshes reached the server after the first \
         indicator had expired",
    )
    .sent(tr.render()))
}

check!(Check {
    name: typing_stops_when_the_typist_leaves,
    stage: TYPING,
    section: TYPING_SECTION,
    hints: &["In the cleanup after the read loop, broadcast `typing_stopped` for every indicator the \
         connection still has (`Typing::stop_all`) before leaving the room."],
    needs: Needs::Address,
});
async fn typing_stops_when_the_typist_leaves(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    alice.drop_tcp();
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "Alice's connection dropped while she was typing: Bob is told she stopped typing, before he is \
         told she left",
    )
    .await?;
    bob.expect_json(&left(&board, "Alice"), "Alice's connection dropped: she left").await?;
    let _carol = enter(&t, &tr, &board, "Carol", &["Bob", "Carol"]).await?;
    bob.expect_json(&joined(&board, "Carol"), "Carol joined; nothing more about Alice came before").await?;
    Ok(())
}
