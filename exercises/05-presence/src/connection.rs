//! One WebSocket connection, from the upgrade to the cleanup.
//!
//! A connection is two tasks around one socket, split in two halves:
//!
//! - the **read loop** ([`run`]) owns the reading half and all of the
//!   connection's state: who it is, which board, what it is typing. It waits
//!   for whichever comes first — a frame from the client, a heartbeat tick,
//!   the idle deadline, a typing deadline — in one `select!`;
//! - the **writer** ([`write`]) owns the writing half and is the only code
//!   that writes to it. It sends what the read loop queues in its outbox
//!   (answers, pings, a close frame) and what the room broadcasts.
//!
//! Why not share the socket behind a mutex? Because a client that stops
//! reading makes writes block. With one writer, only that writer waits: the
//! read loop still reads, so pongs still count and the idle timeout still
//! works, and the room never waits for anybody.
//!
//! However the read loop ends — a close frame, a dropped TCP connection, the
//! idle timeout, a binary message, a broken writer — [`run`] then does the
//! same cleanup: stop the user's typing indicators, leave the room.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};

use crate::AppState;
use crate::protocol::{self, ClientMessage, ServerMessage};
use crate::rooms::{Event, Membership, Rooms};
use crate::typing::Typing;

/// tungstenite's read buffer per connection. Its default, 128 KiB, is
/// allocated and zero-filled on the first read: about 137 KB resident per
/// idle connection. Presence messages are tens of bytes, and a message
/// bigger than the buffer is still read whole, in several reads. With 4 KiB
/// a whole idle connection of this server costs about 10 KiB.
const READ_BUFFER_BYTES: usize = 4096;

/// Frames the read loop may queue for the writer. A full outbox means the
/// client is not reading: pings are then skipped, and anything else waits.
const OUTBOX_CAPACITY: usize = 32;

/// How long the writer may take to send what is queued (a close frame,
/// say) once the connection is over, before it is stopped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// `GET /ws`: upgrades to a WebSocket, or refuses as RFC 6455 says.
///
/// Taking the extractor's `Result` lets you answer a bad version yourself:
/// axum's own answer is `400` without the header the RFC asks for.
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    todo!(
        "upgrade: answer InvalidWebSocketVersionHeader with 426 and Sec-WebSocket-Version: 13 (other \
         rejections as axum would); set read_buffer_size and max_message_size, then on_upgrade(run)"
    )
}

/// What the read loop asks the writer to send.
///
/// tokio's mpsc allocates its slots up front, 32 at a time, each the size of
/// the largest variant. `Follow` comes once per connection, so it is boxed:
/// a slot is then 48 bytes instead of 120, for every idle connection.
#[derive(Debug)]
enum Outgoing {
    /// This frame.
    Frame(Message),
    /// The joiner's snapshot, then — in order, after it — the room's events.
    Follow(Box<Follow>),
}

/// The start of a member's subscription: its snapshot and its room.
#[derive(Debug)]
struct Follow {
    snapshot: ServerMessage,
    room: Room,
}

/// Who a connection is, once it has joined.
#[derive(Debug)]
struct Member {
    board: String,
    user: String,
}

/// The read loop's state.
#[derive(Debug)]
struct Connection {
    state: AppState,
    outbox: mpsc::Sender<Outgoing>,
    member: Option<Member>,
    typing: Typing,
}

/// One connection's life: split the socket, start the writer, run the read
/// loop until the connection ends — however it ends — then clean up.
pub async fn run(socket: WebSocket, state: AppState) {
    todo!(
        "run: split the socket; spawn `write` fed by an mpsc outbox; read until the connection ends; \
         then clean up (stop typing, leave the room) and let the writer finish"
    )
}

/// How a connection ends, which decides how its socket is let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The closing handshake: the writer sends what is queued and a close
    /// frame (or the answer to the client's).
    Close,
    /// No handshake: the socket is dropped and TCP closes. For a connection
    /// that failed — a protocol error, a message over the limit, TCP gone —
    /// or a client that stopped answering.
    Drop,
}
// ANCHOR_END: run

impl Connection {
    /// Reads until the connection ends, and says how it ended.
    async fn read(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        todo!(
            "Connection::read: a select! loop over the client's frames (text, binary, close, errors), \
             the heartbeat, the idle deadline, the typing deadlines and the writer's end"
        )
    }

    /// Handles one text message. Nothing here ends the connection: a
    /// message the server cannot use gets an error, and the client carries on.
    async fn on_text(&mut self, text: &str) {
        todo!(
            "Connection::on_text: parse it; join once (then queue Outgoing::Follow for the writer); \
             typing and typing_stopped once joined; an error message for anything else"
        )
    }

    /// The cleanup, for every way a connection ends: the user's typing
    /// indicators stop, then the user leaves the room.
    fn leave(&mut self) {
        todo!("Connection::leave: broadcast typing_stopped for every indicator left, then leave the room")
    }
}

/// The writer: the only code that writes to the socket. It ends when the
/// read loop drops the outbox, or when writing fails.
async fn write(sink: SplitSink<WebSocket, Message>, queue: mpsc::Receiver<Outgoing>, rooms: Rooms) {
    todo!(
        "write: send what the outbox queues and, once the client has joined, what the room broadcasts \
         (next_event), until the outbox closes; then close the sink"
    )
}

/// The room a writer follows, for the member it writes to.
#[derive(Debug)]
struct Room {
    board: String,
    user: String,
    events: broadcast::Receiver<Event>,
}

/// The next room event for this connection's client; never, while it has
/// not joined.
async fn next_event(room: &mut Option<Room>, rooms: &Rooms) -> Message {
    todo!(
        "next_event: the next event about someone else as a text message; on RecvError::Lagged a \
         fresh snapshot from rooms.resync; std::future::pending() while not joined"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::ROOM_CAPACITY;

    fn follow(rooms: &Rooms, board: &str, user: &str) -> Option<Room> {
        let Membership { events, .. } = rooms.join(board, user);
        Some(Room { board: board.into(), user: user.into(), events })
    }

    fn typing(user: &str, task: &str) -> ServerMessage {
        ServerMessage::Typing { user: user.into(), task_id: task.into() }
    }

    /// The next event, or a failure instead of a hang.
    async fn next(room: &mut Option<Room>, rooms: &Rooms) -> Message {
        timeout(Duration::from_secs(1), next_event(room, rooms)).await.expect("no event came")
    }

    #[tokio::test]
    async fn a_member_is_never_told_about_itself() {
        let rooms = Rooms::default();
        let mut alice = follow(&rooms, "board-1", "Alice");
        rooms.broadcast("board-1", "Alice", &typing("Alice", "task-1"));
        rooms.broadcast("board-1", "Bob", &typing("Bob", "task-2"));
        assert_eq!(next(&mut alice, &rooms).await, Message::text(typing("Bob", "task-2").to_json()));
    }

    #[tokio::test]
    async fn a_member_that_fell_behind_gets_a_fresh_snapshot_and_carries_on() {
        let rooms = Rooms::default();
        let mut alice = follow(&rooms, "board-1", "Alice");
        let _bob = rooms.join("board-1", "Bob");
        for n in 0..ROOM_CAPACITY + 10 {
            rooms.broadcast("board-1", "Bob", &typing("Bob", &format!("task-{n}")));
        }
        let snapshot =
            ServerMessage::Presence { board_id: "board-1".into(), users: vec!["Alice".into(), "Bob".into()] };
        assert_eq!(next(&mut alice, &rooms).await, Message::text(snapshot.to_json()));
        rooms.broadcast("board-1", "Bob", &typing("Bob", "task-new"));
        assert_eq!(next(&mut alice, &rooms).await, Message::text(typing("Bob", "task-new").to_json()));
    }

    #[tokio::test]
    async fn a_writer_that_has_not_joined_waits() {
        let rooms = Rooms::default();
        let waiting = timeout(Duration::from_millis(50), next_event(&mut None, &rooms)).await;
        assert!(waiting.is_err());
    }
}
