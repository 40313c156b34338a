//! Stage 5: chapter 6's WebSocket commands, through any instance.

use super::{COMMANDS, COMMANDS_SECTION};
use crate::Needs;
use crate::check::check;
use serde_json::json;

use super::cluster::{self, expect_users, member, sign_in};
use super::redis_server::RedisServer;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Target};

check!(Check {
    name: websocket_commands_work_through_any_instance,
    stage: COMMANDS,
    section: COMMANDS_SECTION,
    hints: &["A `create_task` over the WebSocket goes through the same Redis script as a `POST`: the ack \
         goes to the sender's socket, and the stream carries the event to every instance.",],
    needs: Needs::Redis,
});
async fn websocket_commands_work_through_any_instance(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b", "c"]).await?;
    let board = t.board(1);
    let outcome = member(&instances[0].dial, &board, "Alice").await;
    let (mut alice, _) = instances[0].explain(outcome).await?;
    let (mut bob, presence) = member(&instances[1].dial, &board, "Bob").await?;
    // Bob's snapshot may lack Alice for a moment (she joined on another
    // instance): then `joined Alice` comes first, before anything else.
    expect_users(&mut bob, &presence, &["Alice", "Bob"], "Bob, on instance b, sees Alice, on a").await?;
    alice.expect_json(&json!({"type": "joined", "user": "Bob"}), "joined Bob").await?;
    let cookie = sign_in(&instances[2].dial, "Carol").await?;
    let mut stream = instances[2]
        .dial
        .request("GET", format!("/boards/{board}/events"))
        .header("Cookie", &cookie)
        .events()
        .await?;
    stream.answer.expect_status(200, "200 and an event stream")?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;

    alice.send_json(&json!({"type": "create_task", "requestId": "r1", "title": "Made on a"})).await?;
    let ack = alice
        .expect_json(
            &json!({"type": "ack", "requestId": "r1", "task": {"title": "Made on a"}}),
            "ack r1, to Alice",
        )
        .await?;
    let id = ack["task"]["id"].as_str().unwrap_or_default().to_owned();
    let event = stream.next_event(ANSWER_TIMEOUT, "task_created on instance c's stream").await?;
    if event.name != "task_created" || !event.data.contains("Made on a") {
        return Err(stream
            .fail(format!("instance c's stream said event: {}", event.name), "task_created \"Made on a\""));
    }
    bob.send_json(&json!({"type": "move_task", "requestId": "r2", "taskId": id, "column": "done"})).await?;
    bob.expect_json(
        &json!({"type": "ack", "requestId": "r2", "task": {"id": id, "column": "done"}}),
        "ack r2, to Bob: the task Alice made on instance a, moved through instance b",
    )
    .await?;
    let event = stream.next_event(ANSWER_TIMEOUT, "task_moved on instance c's stream").await?;
    if event.name != "task_moved" {
        return Err(stream.fail(format!("instance c's stream said event: {}", event.name), "task_moved"));
    }
    // The marker: Alice's next message is the answer to her ping — Bob's
    // ack went to Bob only.
    alice.send_json(&json!({"type": "ping"})).await?;
    alice.expect_json(&json!({"type": "pong"}), "pong next: an ack goes to the sender's socket only").await?;
    Ok(())
}
