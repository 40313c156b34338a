//! Task commands: what creating or moving a task does to the board,
//! whichever door the command came in by.
//!
//! The HTTP handlers (`api.rs`) and the WebSocket connection
//! (`connection.rs`) both call these functions, so a task command follows
//! the same rules and gets the same error, said the same way, over either
//! channel. And both reach the same [`Boards`], which appends every change
//! to the board's stream in Redis: a task created over the WebSocket shows up on every
//! event stream, exactly like one created with a `POST`.

use crate::board::{Boards, Column, Task};
use crate::error::ApiError;

// ANCHOR: commands
/// Creates a task titled `title` on `board`, in `todo`.
///
/// A blank title is refused *before* the board is touched, so a rejected
/// command uses up no id and publishes nothing.
pub async fn create_task(boards: &Boards, board: &str, title: String) -> Result<Task, ApiError> {
    if title.trim().is_empty() {
        return Err(ApiError::EmptyTitle);
    }
    Ok(boards.create(board, title).await?)
}

/// Moves the task `task` of `board` to `column`.
pub async fn move_task(boards: &Boards, board: &str, task: &str, column: Column) -> Result<Task, ApiError> {
    boards
        .move_to(board, task, column)
        .await?
        .ok_or_else(|| ApiError::TaskNotFound { board: board.to_owned(), task: task.to_owned() })
}
// ANCHOR_END: commands
