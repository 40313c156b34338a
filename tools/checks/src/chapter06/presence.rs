//! Stage 4, "Presence next to the commands".

use serde_json::json;

use crate::chapter05::{
    enter_as, joined, left, typing, typing_request, typing_stopped, typing_stopped_request,
};
use crate::check::check;
use crate::ws::Transcript;
use crate::{Failure, Needs, Target};

use super::helpers::{ack, create_task, move_task};
use super::{PRESENCE, PRESENCE_SECTION};

check!(Check {
    name: presence_still_holds_next_to_the_commands,
    stage: PRESENCE,
    section: PRESENCE_SECTION,
    hints: &[
        "The commands are new arms of the same `match` in `on_text`: `join`, `typing` and \
         `typing_stopped` keep doing what chapter 5 made them do.",
        "An ack goes to its sender only; it must not reach the others through the room.",
    ],
    needs: Needs::Address,
});
async fn presence_still_holds_next_to_the_commands(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined Alice's board").await?;

    alice.send_json(&create_task("r1", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    alice.expect_json(&ack("r1", &task), "the ack of Alice's create_task").await?;
    bob.send_json(&typing_request("task-1")).await?;
    alice.expect_json(&typing("Bob", "task-1"), "Bob is typing on the new task").await?;
    bob.send_json(&move_task("r2", "task-1", "doing")).await?;
    let moved = json!({"id": "task-1", "title": "Design login page", "column": "doing"});
    bob.expect_json(&ack("r2", &moved), "the ack of Bob's move_task").await?;
    bob.send_json(&typing_stopped_request("task-1")).await?;
    alice
        .expect_json(
            &typing_stopped("Bob", "task-1"),
            "Bob stopped typing on task-1; the ack of his move went to him alone",
        )
        .await?;
    bob.close(1000).await?;
    alice.expect_json(&left(&board, "Bob"), "Bob closed his connection, so he left").await?;
    Ok(())
}
