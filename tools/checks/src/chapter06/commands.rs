//! Stage 2, "Task commands with acks".

use serde_json::{Value, json};

use crate::chapter05::{enter_as, joined, typing, typing_request};
use crate::check::check;
use crate::ws::{Transcript, json_matches};
use crate::{Failure, Needs, Target};

use super::helpers::{
    ack, create_over_http, create_task, expect_event, expect_task_answer, move_task, subscribe,
    with_conversation,
};
use super::{ACK_SECTION, COMMANDS, COMMANDS_SECTION};

check!(Check {
    name: create_task_is_acked_with_the_task_on_that_socket_only,
    stage: COMMANDS,
    section: COMMANDS_SECTION,
    hints: &[
        "In `Connection::on_text`, a `ClientMessage::CreateTask` runs `commands::create_task` on the \
         board this connection joined (`member.board`), with the shared `self.state.boards`.",
        "`Connection::reply` answers `ServerMessage::Ack { request_id, task }` through `self.outbox`: \
         the outbox reaches this socket only. The room would tell everyone on the board.",
    ],
    needs: Needs::Address,
});
async fn create_task_is_acked_with_the_task_on_that_socket_only(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut tab1 = enter_as(&t, &tr, "alice#1", &board, "Alice", &["Alice"]).await?;
    let mut tab2 = enter_as(&t, &tr, "alice#2", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    tab1.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    tab2.expect_json(&joined(&board, "Bob"), "Bob joined").await?;

    tab1.send_json(&create_task("r1", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    tab1.expect_json(&ack("r1", &task), "the answer to create_task r1: an ack with the new task").await?;

    // Markers: the next thing the other sockets hear must be the marker.
    bob.send_json(&typing_request("task-1")).await?;
    tab2.expect_json(
        &typing("Bob", "task-1"),
        "Bob is typing on task-1. The ack of r1 belongs to the socket that sent r1: Alice's other tab \
         gets nothing before this",
    )
    .await?;
    tab1.expect_json(&typing("Bob", "task-1"), "Bob is typing on task-1").await?;
    tab1.send_json(&typing_request("task-1")).await?;
    bob.expect_json(
        &typing("Alice", "task-1"),
        "Alice is typing on task-1. Bob never gets an ack of Alice's command",
    )
    .await?;
    Ok(())
}

check!(Check {
    name: move_task_is_acked_with_the_moved_task,
    stage: COMMANDS,
    section: COMMANDS_SECTION,
    hints: &[
        "`commands::move_task` moves the task with `Boards::move_to`, which returns the task as it \
         is *after* the move: ack that one.",
        "A move over the WebSocket changes the same board as a `PATCH`: afterwards `GET` shows the \
         task in its new column.",
    ],
    needs: Needs::Address,
});
async fn move_task_is_acked_with_the_moved_task(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let first = create_over_http(&t, &board, "Design login page").await?;
    create_over_http(&t, &board, "Write the API").await?;
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;

    for (request, column) in [("r7", "doing"), ("r8", "done")] {
        alice.send_json(&move_task(request, "task-2", column)).await?;
        let task = json!({"id": "task-2", "title": "Write the API", "column": column});
        alice
            .expect_json(
                &ack(request, &task),
                &format!("the answer to move_task {request}: an ack with task-2 as it is now, in {column:?}"),
            )
            .await?;
    }
    alice.send_json(&typing_request("task-2")).await?;
    bob.expect_json(&typing("Alice", "task-2"), "Alice is typing on task-2. Bob never gets Alice's acks")
        .await?;

    // The WebSocket changed the same board that HTTP reads.
    let done = json!({"id": "task-2", "title": "Write the API", "column": "done"});
    expect_task_over_http(&t, &board, &done, "task-2 was moved to done over the WebSocket").await?;
    expect_task_over_http(&t, &board, &first, "task-1 was not moved").await
}

check!(Check {
    name: commands_over_the_websocket_reach_every_sse_subscriber,
    stage: COMMANDS,
    section: ACK_SECTION,
    hints: &[
        "Don't send the change over the WebSocket yourself: `Boards::create` and `Boards::move_to` \
         publish it to the board's feed, and every event stream of the board is subscribed to it.",
        "The connection must use the server's one `Boards` (`self.state.boards`), not a `Boards` of \
         its own: otherwise its tasks live on a board no stream is watching.",
    ],
    needs: Needs::Address,
});
async fn commands_over_the_websocket_reach_every_sse_subscriber(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut early = subscribe(&t, &one, &[]).await?;
    let mut elsewhere = subscribe(&t, &two, &[]).await?;
    let first = create_over_http(&t, &one, "Write the API").await?;
    expect_event(&mut early, "task_created", &first, "a task was created over HTTP").await?;

    let mut alice = enter_as(&t, &tr, "alice", &one, "Alice", &["Alice"]).await?;
    alice.send_json(&create_task("r1", "Design login page")).await?;
    let second = json!({"id": "task-2", "title": "Design login page", "column": "todo"});
    alice
        .expect_json(
            &ack("r1", &second),
            "an ack with task-2: the board counts its tasks once, whichever way they are created",
        )
        .await?;
    let why = "Alice created task-2 with create_task over the WebSocket: the board's streams hear of it";
    expect_event(&mut early, "task_created", &second, why).await.map_err(|f| with_conversation(f, &tr))?;

    let mut late = subscribe(&t, &one, &[]).await?;
    alice.send_json(&move_task("r2", "task-2", "done")).await?;
    let moved = json!({"id": "task-2", "title": "Design login page", "column": "done"});
    alice.expect_json(&ack("r2", &moved), "an ack with task-2, now in done").await?;
    let why =
        "Alice moved task-2 to done with move_task over the WebSocket: every stream of the board hears of it";
    for stream in [&mut early, &mut late] {
        expect_event(stream, "task_moved", &moved, why).await.map_err(|f| with_conversation(f, &tr))?;
    }

    let marker = create_over_http(&t, &two, "Plan the sprint").await?;
    expect_event(
        &mut elsewhere,
        "task_created",
        &marker,
        &format!("a task was created on {two}; Alice's commands changed {one} only"),
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

/// Requires `GET` of `want`'s task to answer it as `want` is.
async fn expect_task_over_http(t: &Target, board: &str, want: &Value, why: &str) -> Result<(), Failure> {
    let id = want["id"].as_str().unwrap_or_default();
    let exchange = t.request("GET", format!("/boards/{board}/tasks/{id}")).send().await?;
    let expected = format!("200 OK with {want} ({why})");
    let got = expect_task_answer(&exchange, 200, &expected)?;
    if json_matches(want, &got) {
        Ok(())
    } else {
        Err(exchange.fail(format!("GET answers {id} as {got}, not {want}: {why}"), expected))
    }
}
