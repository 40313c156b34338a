//! Stage 2, "A room per board".

use crate::check::check;
use crate::ws::Transcript;
use crate::{Failure, Needs, Target};

use super::helpers::enter;
use super::messages::joined;
use super::{ROOM, ROOM_SECTION};

check!(Check {
    name: a_joiner_sees_everyone_on_the_board_sorted,
    stage: ROOM,
    section: ROOM_SECTION,
    hints: &[
        "Keep the users of each board in `Rooms`, shared by every connection. A `BTreeMap` keyed \
         by user keeps them sorted for free.",
        "Take the snapshot under the same lock that adds the joiner, so it includes the joiner.",
    ],
    needs: Needs::Address,
});
async fn a_joiner_sees_everyone_on_the_board_sorted(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let _carol = enter(&t, &tr, &board, "Carol", &["Carol"]).await?;
    let _alice = enter(&t, &tr, &board, "Alice", &["Alice", "Carol"]).await?;
    let _bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob", "Carol"]).await?;
    Ok(())
}

check!(Check {
    name: the_others_are_told_who_joined,
    stage: ROOM,
    section: ROOM_SECTION,
    hints: &[
        "Each room has a `broadcast::Sender<Announcement>`; every connection on the board holds a \
         `Receiver` and forwards what it receives to its client.",
        "The joiner must not hear about itself: an `Announcement` says which user it is about, and a \
         connection skips events about its own user.",
    ],
    needs: Needs::Address,
});
async fn the_others_are_told_who_joined(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined Alice's board, so Alice is told").await?;
    // The marker: Carol joins. Bob's next message must be about Carol; a
    // `joined` about Bob himself would come first.
    let _carol = enter(&t, &tr, &board, "Carol", &["Alice", "Bob", "Carol"]).await?;
    bob.expect_json(
        &joined(&board, "Carol"),
        "Carol joined. Bob is never told that Bob joined: he has his snapshot",
    )
    .await?;
    alice.expect_json(&joined(&board, "Carol"), "Carol joined Alice's board").await?;
    Ok(())
}

check!(Check {
    name: boards_are_isolated,
    stage: ROOM,
    section: ROOM_SECTION,
    hints: &["One room per board id: `HashMap<String, Room>`, each with its own members and its own \
         broadcast channel. A connection subscribes only to the room it joined."],
    needs: Needs::Address,
});
async fn boards_are_isolated(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut alice = enter(&t, &tr, &one, "Alice", &["Alice"]).await?;
    let mut zed = enter(&t, &tr, &two, "Zed", &["Zed"]).await?;
    let _bob = enter(&t, &tr, &one, "Bob", &["Alice", "Bob"]).await?;
    alice
        .expect_json(
            &joined(&one, "Bob"),
            &format!("Bob joined {one}; Zed joined {two}, which Alice never hears of"),
        )
        .await?;
    let _yves = enter(&t, &tr, &two, "Yves", &["Yves", "Zed"]).await?;
    zed.expect_json(
        &joined(&two, "Yves"),
        &format!("Yves joined {two}; Bob joined {one}, which Zed never hears of"),
    )
    .await?;
    Ok(())
}
