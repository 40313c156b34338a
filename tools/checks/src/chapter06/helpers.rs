//! Helpers the stages' checks share.

use serde_json::{Value, json};

use crate::http::{ANSWER_TIMEOUT, Exchange};
use crate::sse::EventStream;
use crate::ws::{Transcript, json_matches};
use crate::{Failure, Target};

pub(super) fn create_task(request: &str, title: &str) -> Value {
    json!({"type": "create_task", "requestId": request, "title": title})
}

pub(super) fn move_task(request: &str, task: &str, column: &str) -> Value {
    json!({"type": "move_task", "requestId": request, "taskId": task, "column": column})
}

pub(super) fn ack(request: &str, task: &Value) -> Value {
    json!({"type": "ack", "requestId": request, "task": task})
}

/// Opens a board's event stream with `headers`, and reads its snapshot.
pub(super) async fn subscribe(
    t: &Target,
    board: &str,
    headers: &[(&str, &str)],
) -> Result<EventStream, Failure> {
    let mut stream = EventStream::open(t, &format!("/boards/{board}/events"), headers).await?;
    stream.expect_event_stream().await?;
    let expected = "event: snapshot, the board as it is, before any live event";
    let event = stream.next_event(ANSWER_TIMEOUT, expected).await?;
    if event.name != "snapshot" {
        return Err(stream.fail(format!("a fresh stream began with `event: {}`", event.name), expected));
    }
    Ok(stream)
}

/// Requires the stream's next event to be `name` with data matching `want`,
/// and returns the data.
pub(super) async fn expect_event(
    stream: &mut EventStream,
    name: &str,
    want: &Value,
    why: &str,
) -> Result<Value, Failure> {
    let expected = format!("event: {name}\ndata: {want}\n({why})");
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    if event.name == name && json_matches(want, &data) {
        return Ok(data);
    }
    let headline = if event.name == name {
        format!("`event: {name}` came with other data than expected")
    } else {
        format!("the next event is `{}`, not `{name}`", event.name)
    };
    Err(stream.fail(format!("{}: {headline}", stream.line()), expected))
}

/// A failure on an event stream, with the WebSocket conversation that led to
/// it in front of the request.
pub(super) fn with_conversation(failure: Failure, tr: &Transcript) -> Failure {
    let sent = format!("{}\nand over HTTP:\n{}", tr.render(), failure.sent.clone().unwrap_or_default());
    failure.sent(sent)
}

/// `POST /boards/{board}/tasks`, requiring `201` and the task.
pub(super) async fn create_over_http(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange =
        t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await?;
    expect_task_answer(&exchange, 201, "201 Created with the new task (chapter 1's API, on this server)")
}

pub(super) fn expect_task_answer(exchange: &Exchange, status: u16, expected: &str) -> Result<Value, Failure> {
    exchange.expect_status(status, expected)?;
    exchange.expect_json(expected)
}
