//! One handler per route. Each reads like the contract: what comes in, what
//! goes out, which status. Chapter 8: each may also answer `503`, when
//! Redis is unavailable (`ApiError::Unavailable`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::board::{Boards, Column, Task};
use crate::commands;
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

/// `GET /boards/{board}/tasks` → `200` and the tasks, oldest first.
pub async fn list_tasks(
    State(boards): State<Boards>,
    Path(board): Path<String>,
) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(boards.list(&board).await?))
}

/// `POST /boards/{board}/tasks` → `201`, `Location` and the new task.
///
/// The body extractor comes last: it consumes the request body.
pub async fn create_task(
    State(boards): State<Boards>,
    Path(board): Path<String>,
    ApiJson(new_task): ApiJson<NewTask>,
) -> Result<impl IntoResponse, ApiError> {
    // Valid JSON can still be a bad request: `commands::create_task` checks
    // the title before touching the board, as it does for the WebSocket.
    let task = commands::create_task(&boards, &board, new_task.title).await?;
    let location = format!("/boards/{board}/tasks/{}", task.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(task)))
}

/// `GET /boards/{board}/tasks/{task}` → `200` and the task.
pub async fn get_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<Json<Task>, ApiError> {
    boards.get(&board, &task).await?.map(Json).ok_or(ApiError::TaskNotFound { board, task })
}

/// `PATCH /boards/{board}/tasks/{task}` `{"column": …}` → `200` and the moved task.
pub async fn move_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
    ApiJson(body): ApiJson<MoveTask>,
) -> Result<Json<Task>, ApiError> {
    commands::move_task(&boards, &board, &task, body.column).await.map(Json)
}

/// `DELETE /boards/{board}/tasks/{task}` → `204`, no body.
pub async fn delete_task(
    State(boards): State<Boards>,
    Path((board, task)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    match boards.delete(&board, &task).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::TaskNotFound { board, task }),
    }
}
