//! One handler per route. Book: "Listing a board's tasks" onwards.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::board::{Boards, Column, Task};
use crate::error::{ApiError, ApiJson};

/// The body of `POST /boards/{board}/tasks`.
#[derive(Debug, Deserialize)]
pub struct NewTask {
    pub title: String,
}

/// The body of `PATCH /boards/{board}/tasks/{task}`.
#[derive(Debug, Deserialize)]
pub struct MoveTask {
    pub column: Column,
}

/// `GET /boards/{board}/tasks`
pub async fn list_tasks(State(boards): State<Boards>, Path(board): Path<String>) -> Json<Vec<Task>> {
    todo!("list_tasks: 200 and the board's tasks as a JSON array (\"Listing a board's tasks\")")
}

/// `POST /boards/{board}/tasks`
pub async fn create_task(
    State(boards): State<Boards>,
    Path(board): Path<String>,
    ApiJson(new_task): ApiJson<NewTask>,
) -> Result<impl IntoResponse, ApiError> {
    // `impl IntoResponse` needs one concrete type to infer: the line after
    // this one gives it one until your answer replaces both.
    todo!(
        "create_task: 201 Created, the new task's Location and the task; 422 for a blank title (\"Creating a task\")"
    );
    #[allow(unreachable_code)]
    Ok(StatusCode::CREATED)
}

/// `GET /boards/{board}/tasks/{task}`
pub async fn get_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<Json<Task>, ApiError> {
    todo!("get_task: 200 and the task, or 404 with a JSON error (\"Reading one task\")")
}

/// `PATCH /boards/{board}/tasks/{task}` with `{"column": …}`
pub async fn move_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
    ApiJson(body): ApiJson<MoveTask>,
) -> Result<Json<Task>, ApiError> {
    todo!("move_task: 200 and the task in its new column, or 404 (\"Moving a task\")")
}

/// `DELETE /boards/{board}/tasks/{task}`
pub async fn delete_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    todo!("delete_task: 204 No Content with no body, or 404 (\"Deleting a task\")")
}
