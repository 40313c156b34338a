//! The chapter's wire messages as JSON values, what clients send and what
//! the server answers; chapter 6 builds on them.

use serde_json::{Value, json};

pub(crate) fn join(board: &str, user: &str) -> Value {
    json!({"type": "join", "boardId": board, "user": user})
}

pub(crate) fn typing_request(task: &str) -> Value {
    json!({"type": "typing", "taskId": task})
}

pub(crate) fn typing_stopped_request(task: &str) -> Value {
    json!({"type": "typing_stopped", "taskId": task})
}

/// The snapshot of a board where nobody is typing.
pub(crate) fn presence(board: &str, users: &[&str]) -> Value {
    presence_typing(board, users, &[])
}

/// The snapshot of a board: `users`, and `typing` as (user, task) pairs.
pub(crate) fn presence_typing(board: &str, users: &[&str], typing: &[(&str, &str)]) -> Value {
    let typing: Vec<Value> =
        typing.iter().map(|(user, task)| json!({"user": user, "taskId": task})).collect();
    json!({"type": "presence", "boardId": board, "users": users, "typing": typing})
}

pub(crate) fn ping() -> Value {
    json!({"type": "ping"})
}

pub(crate) fn joined(board: &str, user: &str) -> Value {
    json!({"type": "joined", "boardId": board, "user": user})
}

pub(crate) fn left(board: &str, user: &str) -> Value {
    json!({"type": "left", "boardId": board, "user": user})
}

/// What the others see. The board is not part of it: they know which board
/// they are on.
pub(crate) fn typing(user: &str, task: &str) -> Value {
    json!({"type": "typing", "user": user, "taskId": task})
}

pub(crate) fn typing_stopped(user: &str, task: &str) -> Value {
    json!({"type": "typing_stopped", "user": user, "taskId": task})
}
