//! The presence protocol: JSON text messages, each with a `type`.
//!
//! Field names are camelCase (`boardId`, `taskId`) and `type` values are
//! snake_case (`typing_stopped`), as everywhere in the course. serde does
//! the matching: `#[serde(tag = "type")]` reads the `type` field to pick the
//! variant, and rejects a message whose `type` is missing or unknown — so a
//! parse error covers "not JSON", "unknown type" and "missing field" alike.

use serde::{Deserialize, Serialize};

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
}

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
    /// To the sender of a message the server could not use. The connection
    /// stays open.
    Error { message: String },
    /// To the sender of a `ping`, and to nobody else.
    Pong,
}

/// Someone typing, as `presence` lists them: `{"user":"Bob","taskId":"task-3"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Typist {
    pub user: String,
    pub task_id: String,
}

/// Reads a client's text message. The error says what was wrong, in
/// serde's words, e.g. ``unknown variant `dance`, expected one of `join`,
/// `typing`, `typing_stopped` at line 1 column 15``.
pub fn parse(text: &str) -> Result<ClientMessage, serde_json::Error> {
    serde_json::from_str(text)
}

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
            parse(r#"{"type":"typing_stopped","taskId":"task-3"}"#).unwrap(),
            ClientMessage::TypingStopped { task_id: "task-3".into() }
        );
    }

    #[test]
    fn server_messages_are_written_as_the_contract_reads_them() {
        let message = ServerMessage::TypingStopped { user: "Alice".into(), task_id: "task-3".into() };
        let json: Value = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!(json, json!({"type": "typing_stopped", "user": "Alice", "taskId": "task-3"}));
        let presence = ServerMessage::Presence {
            board_id: "board-1".into(),
            users: vec!["Alice".into(), "Bob".into()],
            typing: vec![Typist { user: "Bob".into(), task_id: "task-3".into() }],
        };
        let json: Value = serde_json::from_str(&presence.to_json()).unwrap();
        assert_eq!(
            json,
            json!({"type": "presence", "boardId": "board-1", "users": ["Alice", "Bob"],
                   "typing": [{"user": "Bob", "taskId": "task-3"}]})
        );
        assert_eq!(ServerMessage::Pong.to_json(), r#"{"type":"pong"}"#);
        assert_eq!(parse(r#"{"type":"ping"}"#).unwrap(), ClientMessage::Ping);
    }
}
