//! Stage 3, "Leave without ghosts".

use crate::check::check;
use crate::ws::Transcript;
use crate::{Failure, Needs, Target};

use super::helpers::{alice_and_bob, enter, enter_as, expect_no_ghost};
use super::messages::{joined, left, typing, typing_request, typing_stopped, typing_stopped_request};
use super::{LEAVING, LEAVING_SECTION};

check!(Check {
    name: a_clean_close_tells_the_others_once_and_leaves_no_ghost,
    stage: LEAVING,
    section: LEAVING_SECTION,
    hints: &[
        "When the read loop ends — for whatever reason — leave the room: `rooms.leave(board, user)` \
         removes the user and broadcasts `left`. Put it after the loop, not inside one branch.",
        "A close frame arrives as `Message::Close`; `recv()` returns `None` right after it.",
    ],
    needs: Needs::Address,
});
async fn a_clean_close_tells_the_others_once_and_leaves_no_ghost(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let (mut alice, mut bob) = alice_and_bob(&t, &tr, &board).await?;
    bob.close(1000).await?;
    alice.expect_json(&left(&board, "Bob"), "Bob closed his connection (close frame 1000)").await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

check!(Check {
    name: a_dropped_connection_tells_the_others_once_and_leaves_no_ghost,
    stage: LEAVING,
    section: LEAVING_SECTION,
    hints: &[
        "A client that vanishes without a close frame makes `recv()` return `Some(Err(..))` or \
         `None`. Both end the loop, and the cleanup after the loop runs for them too.",
        "Leave exactly once: if the writer task notices first, let it tell the reader (the \
         outbox closes) instead of leaving the room itself.",
    ],
    needs: Needs::Address,
});
async fn a_dropped_connection_tells_the_others_once_and_leaves_no_ghost(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    bob.drop_tcp();
    alice
        .expect_json(&left(&board, "Bob"), "Bob's TCP connection ended without a close frame: he is gone")
        .await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

check!(Check {
    name: one_user_in_two_tabs_is_listed_once,
    stage: LEAVING,
    section: LEAVING_SECTION,
    hints: &["Count connections per user: `BTreeMap<String, usize>`. Broadcast `joined` when the count \
         goes from 0 to 1 and `left` when it goes back to 0 — not on every tab."],
    needs: Needs::Address,
});
async fn one_user_in_two_tabs_is_listed_once(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut tab1 = enter_as(&t, &tr, "alice#1", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    tab1.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    let tab2 = enter_as(&t, &tr, "alice#2", &board, "Alice", &["Alice", "Bob"]).await?;
    let mut carol = enter(&t, &tr, &board, "Carol", &["Alice", "Bob", "Carol"]).await?;
    bob.expect_json(
        &joined(&board, "Carol"),
        "Carol joined. Alice opening a second tab is not news: she was already listed",
    )
    .await?;
    tab1.close(1000).await?;
    carol.send_json(&typing_request("task-1")).await?;
    bob.expect_json(
        &typing("Carol", "task-1"),
        "Carol is typing. Alice closed one tab but still has another, so she has not left",
    )
    .await?;
    tab2.drop_tcp();
    bob.expect_json(&left(&board, "Alice"), "Alice's last tab is gone, so now she has left").await?;
    carol.send_json(&typing_stopped_request("task-1")).await?;
    bob.expect_json(&typing_stopped("Carol", "task-1"), "Carol stopped typing; Alice left only once").await?;
    let _dave = enter(&t, &tr, &board, "Dave", &["Bob", "Carol", "Dave"]).await?;
    Ok(())
}
