//! The task board's HTTP API, as chapter 1 built it: how the checks make
//! the events they then wait for.

use serde_json::{Value, json};

use crate::{Failure, Target};

pub(super) async fn create_task(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange =
        t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await?;
    let expected = "201 Created with the new task (this check creates tasks to watch their events)";
    exchange.expect_status(201, expected)?;
    exchange.expect_json(expected)
}

pub(super) async fn move_task(t: &Target, board: &str, task: &Value, column: &str) -> Result<Value, Failure> {
    let id = task["id"].as_str().unwrap_or("task-1");
    let exchange = t
        .request("PATCH", format!("/boards/{board}/tasks/{id}"))
        .json(&json!({ "column": column }))
        .send()
        .await?;
    let expected = "200 OK with the moved task";
    exchange.expect_status(200, expected)?;
    exchange.expect_json(expected)
}

pub(super) async fn list_tasks(t: &Target, board: &str) -> Result<Vec<Value>, Failure> {
    let exchange = t.request("GET", format!("/boards/{board}/tasks")).send().await?;
    let expected = "200 OK with the board's tasks as a JSON array";
    exchange.expect_status(200, expected)?;
    match exchange.expect_json(expected)? {
        Value::Array(tasks) => Ok(tasks),
        _ => Err(exchange.fail("the task list is not a JSON array", expected)),
    }
}

pub(super) async fn delete_task(t: &Target, board: &str, task: &str) -> Result<(), Failure> {
    let exchange = t.request("DELETE", format!("/boards/{board}/tasks/{task}")).send().await?;
    exchange.expect_status(204, "204 No Content")
}
