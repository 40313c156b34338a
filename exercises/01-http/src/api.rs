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
    todo!("list_tasks: answer 200 with the board's tasks as a JSON array")
}

/// `POST /boards/{board}/tasks`
pub async fn create_task(
    State(boards): State<Boards>,
    Path(board): Path<String>,
    ApiJson(new_task): ApiJson<NewTask>,
) -> Result<impl IntoResponse, ApiError> {
    // `impl IntoResponse` needs one concrete type to infer: replace this
    // line with your answer, e.g. a (StatusCode, headers, Json) tuple.
    todo!("create_task: reject a blank title (422), else answer 201 with a Location header and the task");
    #[allow(unreachable_code)]
    Ok(StatusCode::CREATED)
}

/// `GET /boards/{board}/tasks/{task}`
pub async fn get_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<Json<Task>, ApiError> {
    todo!("get_task: answer 200 with the task, or ApiError::TaskNotFound (404)")
}

/// `PATCH /boards/{board}/tasks/{task}` with `{"column": …}`
pub async fn move_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
    ApiJson(body): ApiJson<MoveTask>,
) -> Result<Json<Task>, ApiError> {
    todo!("move_task: answer 200 with the task in its new column, or 404")
}

/// `DELETE /boards/{board}/tasks/{task}`
pub async fn delete_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    todo!("delete_task: answer 204 No Content with no body, or 404")
}
