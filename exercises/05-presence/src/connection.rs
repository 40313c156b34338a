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
//!
//! Only the read loop decides how a connection ends. The writer never
//! starts a closing handshake of its own: it sends the close frame the read
//! loop queues, flushes tungstenite's answer to the client's, and stops. So
//! a connection that failed is dropped without a word, never "closed
//! politely" with a close frame that has no code.

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
use crate::rooms::{Announcement, Rooms, Subscription};
use crate::typing::Typing;

/// tungstenite's read buffer per connection. Its default, 128 KiB, is
/// allocated and zero-filled on the first read, and is nearly all that an
/// idle connection costs. Presence messages are tens of bytes: 1 KiB holds
/// dozens of them, and a message bigger than the buffer is still read whole,
/// in several reads. The buffer is the largest single cost of an idle
/// connection even so (the book's "What an idle connection costs").
const READ_BUFFER_BYTES: usize = 1024;

/// Frames the read loop may queue for the writer. A full outbox means the
/// client is not reading: pings are then skipped, and anything else waits.
const OUTBOX_CAPACITY: usize = 32;

/// How long the writer may take to send what is queued (a close frame,
/// say) once the connection is over, before it is stopped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// `GET /ws`: upgrades to a WebSocket, or refuses as RFC 6455 says.
///
/// Taking the extractor's `Result` lets you answer its rejections yourself
/// where axum's own answers fall short of the RFCs.
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    todo!(
        "accept the handshake with this connection's limits, or refuse it with the status the RFCs \
         name (chapter 5, \"Refusing a bad handshake\")"
    )
}

/// What the read loop asks the writer to send.
///
/// tokio's mpsc allocates its slots up front, 32 at a time, each the size of
/// the largest variant. `Subscribed` comes once per connection, so it is
/// boxed: a slot is then 48 bytes instead of 120, for every idle connection.
#[derive(Debug)]
enum Outgoing {
    /// This frame.
    Frame(Message),
    /// The joiner's subscription: its start (the snapshot) first, then — in
    /// order, after it — the room's announcements.
    Subscribed(Box<Subscribed>),
}

/// A member's subscription, handed to its writer.
#[derive(Debug)]
struct Subscribed {
    member: Member,
    subscription: Subscription,
}

/// Who a connection is, once it has joined.
#[derive(Debug, Clone)]
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
        "run one connection: a writer task, the read loop, then the same cleanup however it ended \
         (chapter 5, \"One writer per socket\", \"Leaving without ghosts\")"
    )
}

/// How a connection ends, which decides how its socket is let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The closing handshake: the writer sends what is queued, the close
    /// frame included (the server's, or tungstenite's answer to the
    /// client's), then the socket is dropped.
    Close,
    /// No handshake: the socket is dropped and TCP closes. For a connection
    /// that failed — a protocol error, a message over the limit, TCP gone —
    /// or a client that stopped answering.
    Drop,
}

impl Connection {
    /// Reads until the connection ends, and says how it ended.
    async fn read(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        todo!(
            "read until the connection ends, and say how it ended (chapter 5, \"One `select!` for \
             everything\")"
        )
    }

    /// Handles one text message. Nothing here ends the connection: a
    /// message the server cannot use gets an error, and the client carries on.
    async fn on_text(&mut self, text: &str) {
        todo!(
            "answer one text message; nothing here ends the connection (chapter 5, \"Joining a \
             board\", \"Bad input\")"
        )
    }

    /// The cleanup, for every way a connection ends: the user's typing
    /// indicators stop, then the user leaves the room.
    fn leave(&mut self) {
        todo!(
            "stop this connection's typing indicators, then leave its room (chapter 5, \"Leaving \
             without ghosts\")"
        )
    }
}

/// The writer: the only code that writes to the socket. It ends when the
/// read loop drops the outbox, or when writing fails.
async fn write(sink: SplitSink<WebSocket, Message>, queue: mpsc::Receiver<Outgoing>, rooms: Rooms) {
    todo!(
        "be the only code that writes to the socket, until the outbox closes (chapter 5, \"One \
         writer per socket\")"
    )
}

/// A member's place in its room, as its writer follows it.
#[derive(Debug)]
struct Follower {
    member: Member,
    live: broadcast::Receiver<Announcement>,
}

/// The next announcement for this connection's client; never, while it has
/// not joined.
async fn next_announcement(follower: &mut Option<Follower>, rooms: &Rooms) -> Message {
    todo!(
        "the next announcement for this client, or a fresh snapshot after a lag (chapter 5, \"Many \
         clients, and slow ones\")"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Typist;
    use crate::rooms::ROOM_CAPACITY;

    fn follow(rooms: &Rooms, board: &str, user: &str) -> Option<Follower> {
        let Subscription { live, .. } = rooms.join(board, user);
        Some(Follower { member: Member { board: board.into(), user: user.into() }, live })
    }

    fn typing(user: &str, task: &str) -> Message {
        Message::text(ServerMessage::Typing { user: user.into(), task_id: task.into() }.to_json())
    }

    /// The next announcement, or a failure instead of a hang.
    async fn next(follower: &mut Option<Follower>, rooms: &Rooms) -> Message {
        timeout(Duration::from_secs(1), next_announcement(follower, rooms)).await.expect("nothing came")
    }

    #[tokio::test]
    #[ignore = "calls rooms.rs and connection.rs, yours to write (chapter 5, \"One writer per socket\"); once they are: cargo test -p ex05-presence -- --include-ignored"]
    async fn a_member_is_never_told_about_itself() {
        let rooms = Rooms::default();
        let mut alice = follow(&rooms, "board-1", "Alice");
        let _bob = rooms.join("board-1", "Bob");
        rooms.typing("board-1", "Alice", "task-1");
        rooms.typing("board-1", "Bob", "task-2");
        let joined = ServerMessage::Joined { board_id: "board-1".into(), user: "Bob".into() };
        assert_eq!(next(&mut alice, &rooms).await, Message::text(joined.to_json()));
        assert_eq!(next(&mut alice, &rooms).await, typing("Bob", "task-2"));
    }

    #[tokio::test]
    #[ignore = "calls rooms.rs and connection.rs, yours to write (chapter 5, \"One writer per socket\"); once they are: cargo test -p ex05-presence -- --include-ignored"]
    async fn a_member_that_fell_behind_gets_a_fresh_snapshot_and_carries_on() {
        let rooms = Rooms::default();
        let mut alice = follow(&rooms, "board-1", "Alice");
        let _bob = rooms.join("board-1", "Bob");
        for n in 0..ROOM_CAPACITY + 10 {
            rooms.typing("board-1", "Bob", &format!("task-{n}"));
            rooms.typing_stopped("board-1", "Bob", &format!("task-{n}"));
        }
        rooms.typing("board-1", "Bob", "task-last");
        let snapshot = ServerMessage::Presence {
            board_id: "board-1".into(),
            users: vec!["Alice".into(), "Bob".into()],
            typing: vec![Typist { user: "Bob".into(), task_id: "task-last".into() }],
        };
        assert_eq!(next(&mut alice, &rooms).await, Message::text(snapshot.to_json()));
        rooms.typing("board-1", "Bob", "task-new");
        assert_eq!(next(&mut alice, &rooms).await, typing("Bob", "task-new"));
    }

    #[tokio::test]
    #[ignore = "calls rooms.rs and connection.rs, yours to write (chapter 5, \"One writer per socket\"); once they are: cargo test -p ex05-presence -- --include-ignored"]
    async fn a_writer_that_has_not_joined_waits() {
        let rooms = Rooms::default();
        let waiting = timeout(Duration::from_millis(50), next_announcement(&mut None, &rooms)).await;
        assert!(waiting.is_err());
    }
}
