//! Stage 3, "Errors that name their request".

use serde_json::{Value, json};

use crate::chapter05::{enter_as, join, presence};
use crate::check::check;
use crate::ws::{Transcript, WsClient};
use crate::{Failure, Needs, Target};

use super::helpers::{
    ack, create_over_http, create_task, expect_event, expect_task_answer, move_task, subscribe,
    with_conversation,
};
use super::{ERRORS, ERRORS_SECTION};

check!(Check {
    name: an_invalid_command_gets_an_error_with_its_request_id,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &[
        "`commands::create_task` refuses a blank title with `ApiError::EmptyTitle`, and \
         `commands::move_task` an unknown task with `ApiError::TaskNotFound`; `reply` turns the \
         error into `ServerMessage::Error` with `request_id: Some(request_id)`.",
        "A command serde cannot read (no title, the column \"blocked\") never becomes a \
         `ClientMessage`: `protocol::parse` reads its `requestId` on its own (`request_id_of`), so \
         the error can still carry it.",
        "Check before you change anything: a refused command uses up no id and publishes nothing.",
    ],
    needs: Needs::Address,
});
async fn an_invalid_command_gets_an_error_with_its_request_id(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut stream = subscribe(&t, &board, &[]).await?;
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let refused = [
        (create_task("r1", "   "), "a task needs a title that is not blank"),
        (json!({"type": "create_task", "requestId": "r2"}), "create_task without a title"),
        (move_task("r3", "task-99", "done"), "the board has no task-99"),
    ];
    for (command, why) in &refused {
        alice.send_json(command).await?;
        expect_error_for(&mut alice, command["requestId"].as_str().unwrap_or_default(), why).await?;
    }

    alice.send_json(&create_task("r4", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    alice
        .expect_json(
            &ack("r4", &task),
            "an ack with task-1: the refused commands used up no id, and the connection stayed open",
        )
        .await?;
    alice.send_json(&move_task("r5", "task-1", "blocked")).await?;
    expect_error_for(&mut alice, "r5", "the columns are todo, doing and done").await?;
    alice.send_json(&json!({"type": "move_task", "requestId": "r6", "taskId": "task-1"})).await?;
    expect_error_for(&mut alice, "r6", "move_task without a column").await?;

    let why = "task-1, created by r4, is the first change: the refused commands published nothing";
    expect_event(&mut stream, "task_created", &task, why).await.map_err(|f| with_conversation(f, &tr))?;
    let moved = move_over_http(&t, &board, "task-1", "doing").await?;
    expect_event(
        &mut stream,
        "task_moved",
        &moved,
        "task-1 was moved to doing over HTTP; the refused moves published nothing",
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

check!(Check {
    name: a_command_before_join_gets_an_error_with_its_request_id,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["Before `join` the connection has no board to run a command on. Answer an error with the \
         command's `requestId` (`ClientMessage::request_id`), and keep the connection open."],
    needs: Needs::Address,
});
async fn a_command_before_join_gets_an_error_with_its_request_id(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut stream = subscribe(&t, &board, &[]).await?;
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&create_task("r1", "Design login page")).await?;
    expect_error_for(&mut alice, "r1", "a command before join: no board to create the task on").await?;
    alice.send_json(&move_task("r2", "task-1", "done")).await?;
    expect_error_for(&mut alice, "r2", "a command before join").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(&presence(&board, &["Alice"]), "the connection stayed open, and the join works")
        .await?;

    let task = create_over_http(&t, &board, "Write the API").await?;
    expect_event(
        &mut stream,
        "task_created",
        &task,
        "a task was created over HTTP, and it is task-1: the commands sent before join created nothing",
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

/// Requires the next message to be an error that carries `request` and says
/// what was wrong.
async fn expect_error_for(client: &mut WsClient, request: &str, why: &str) -> Result<(), Failure> {
    let want = json!({"type": "error", "requestId": request});
    let expected = format!("{{\"type\":\"error\",\"requestId\":\"{request}\",\"message\":\"…\"}}: {why}");
    let got = client.expect_json(&want, &expected).await?;
    match got["message"].as_str() {
        Some(message) if !message.trim().is_empty() => Ok(()),
        _ => Err(client
            .fail("the error has no \"message\" saying what was wrong", expected)
            .got(got.to_string())),
    }
}

/// `PATCH /boards/{board}/tasks/{task}`, requiring `200` and the task.
async fn move_over_http(t: &Target, board: &str, task: &str, column: &str) -> Result<Value, Failure> {
    let exchange = t
        .request("PATCH", format!("/boards/{board}/tasks/{task}"))
        .json(&json!({ "column": column }))
        .send()
        .await?;
    expect_task_answer(&exchange, 200, "200 OK with the moved task (chapter 1's API, on this server)")
}
