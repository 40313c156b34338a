//! The WebSocket protocol: JSON text messages, each with a `type`.
//!
//! Field names are camelCase (`boardId`, `taskId`, `requestId`) and `type`
//! values are snake_case (`typing_stopped`), as everywhere in the course.
//! serde does the matching: `#[serde(tag = "type")]` reads the `type` field
//! to pick the variant, and rejects a message whose `type` is missing or
//! unknown — so a parse error covers "not JSON", "unknown type" and
//! "missing field" alike.
//!
//! Chapter 5's presence messages, plus two task commands. A command carries
//! a `requestId` that its answer — `ack` or `error` — carries back: on a
//! full-duplex connection nothing else pairs an answer with its question.

use serde::{Deserialize, Serialize};

use crate::board::{Column, Task};

// ANCHOR: client
/// What a client may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum ClientMessage {
    /// `{"type":"join","boardId":"board-1","user":"Alice"}` — the first
    /// message of every connection, and only the first.
    Join { board_id: String, user: String },
    /// `{"type":"typing","taskId":"task-3"}`, sent again every few seconds
    /// while the user keeps typing.
    Typing { task_id: String },
    /// `{"type":"typing_stopped","taskId":"task-3"}`.
    TypingStopped { task_id: String },
    /// `{"type":"ping"}`: an application heartbeat, before or after `join`.
    /// A browser script cannot send a WebSocket ping frame, so a page that
    /// wants to know its connection still works asks with a message.
    Ping,
    /// `{"type":"create_task","requestId":"r1","title":"Design login page"}`:
    /// creates a task on the board this connection joined.
    CreateTask { request_id: String, title: String },
    /// `{"type":"move_task","requestId":"r2","taskId":"task-3","column":"done"}`.
    MoveTask { request_id: String, task_id: String, column: Column },
}
// ANCHOR_END: client

impl ClientMessage {
    /// The `requestId` of a command, which its answer must carry.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClientMessage::CreateTask { request_id, .. } | ClientMessage::MoveTask { request_id, .. } => {
                Some(request_id)
            }
            ClientMessage::Join { .. }
            | ClientMessage::Typing { .. }
            | ClientMessage::TypingStopped { .. }
            | ClientMessage::Ping => None,
        }
    }
}

// ANCHOR: server
/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum ServerMessage {
    /// The whole truth about a board: everyone on it, sorted, and everyone
    /// typing now. To the joiner (who is included), and again to a member
    /// whose events were lost (it lagged): a client replaces what it knew.
    Presence { board_id: String, users: Vec<String>, typing: Vec<Typist> },
    /// To the others, when a user's first connection joins.
    Joined { board_id: String, user: String },
    /// To the others, when a user's last connection ends.
    Left { board_id: String, user: String },
    /// To the others: `user` is typing on `task_id`.
    Typing { user: String, task_id: String },
    /// To the others: `user` stopped typing on `task_id` — said so, let the
    /// indicator expire, or left.
    TypingStopped { user: String, task_id: String },
    /// To the sender of a command, and to nobody else: it worked, and this
    /// is the task now. Everyone — the sender too — also hears of the change
    /// on the board's event stream.
    Ack { request_id: String, task: Task },
    /// To the sender of a message the server could not use. The connection
    /// stays open. When the message was a command (or looked like one), the
    /// error carries its `requestId`.
    Error {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// To the sender of a `ping`, and to nobody else.
    Pong,
}

/// Someone typing, as `presence` lists them: `{"user":"Bob","taskId":"task-3"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Typist {
    pub user: String,
    pub task_id: String,
}
// ANCHOR_END: server

// ANCHOR: parse
/// A message the server cannot use, and the `requestId` it carried if any:
/// `{"type":"move_task","requestId":"r3","taskId":"task-1","column":"blocked"}`
/// is not a valid command, and its sender still needs to know which of its
/// requests failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read that message: {reason}")]
pub struct Unreadable {
    pub request_id: Option<String>,
    /// What was wrong, in serde's words, e.g. ``unknown variant `blocked`,
    /// expected one of `todo`, `doing`, `done` at line 1 column 70``.
    pub reason: String,
}

/// Reads a client's text message.
pub fn parse(text: &str) -> Result<ClientMessage, Unreadable> {
    serde_json::from_str(text)
        .map_err(|error| Unreadable { request_id: request_id_of(text), reason: error.to_string() })
}

/// The `requestId` of a message that failed to parse as a whole: read it
/// on its own, ignoring every other field. Not JSON, or no string
/// `requestId`: none.
fn request_id_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct JustTheRequestId {
        request_id: Option<String>,
    }
    serde_json::from_str::<JustTheRequestId>(text).ok()?.request_id
}
// ANCHOR_END: parse

impl ServerMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings, vectors and unit variants always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn client_messages_read_as_the_contract_writes_them() {
        assert_eq!(
            parse(r#"{"type":"join","boardId":"board-1","user":"Alice"}"#).unwrap(),
            ClientMessage::Join { board_id: "board-1".into(), user: "Alice".into() }
        );
        assert_eq!(
            parse(r#"{"type":"move_task","requestId":"r2","taskId":"task-3","column":"done"}"#).unwrap(),
            ClientMessage::MoveTask {
                request_id: "r2".into(),
                task_id: "task-3".into(),
                column: Column::Done
            }
        );
    }

    #[test]
    fn an_unreadable_command_keeps_its_request_id() {
        let error = parse(r#"{"type":"move_task","requestId":"r3","taskId":"task-1","column":"blocked"}"#)
            .unwrap_err();
        assert_eq!(error.request_id.as_deref(), Some("r3"));
        assert!(error.to_string().contains("blocked"), "{error}");
        assert_eq!(parse(r#"{"type":"create_task","requestId":7}"#).unwrap_err().request_id, None);
        assert_eq!(parse("not json").unwrap_err().request_id, None);
    }

    #[test]
    fn server_messages_are_written_as_the_contract_reads_them() {
        let error = ServerMessage::Error { message: "no".into(), request_id: None };
        let json: Value = serde_json::from_str(&error.to_json()).unwrap();
        assert_eq!(json, json!({"type": "error", "message": "no"}));
        let task = Task { id: "task-1".into(), title: "Ship it".into(), column: Column::Done };
        let ack = ServerMessage::Ack { request_id: "r1".into(), task };
        let json: Value = serde_json::from_str(&ack.to_json()).unwrap();
        assert_eq!(
            json,
            json!({"type": "ack", "requestId": "r1", "task": {"id": "task-1", "title": "Ship it", "column": "done"}})
        );
    }
}
