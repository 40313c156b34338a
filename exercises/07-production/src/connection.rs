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
//! Chapter 6 adds task commands. The read loop runs a `create_task` or a
//! `move_task` on the shared boards — as an HTTP request would — and answers
//! on this connection only (`Connection::reply`); the board's event stream
//! tells everyone else.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};

use crate::AppState;
use crate::auth::User;
use crate::board::Task;
use crate::commands;
use crate::error::ApiError;
use crate::limits::{self, Rate, Slot};
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

/// The error for anything but `join` before a `join`.
const JOIN_FIRST: &str = "join a board first: {\"type\":\"join\",\"boardId\":…,\"user\":…}";

// ANCHOR: upgrade
/// `GET /ws`: upgrades to a WebSocket, or refuses as RFC 6455 says.
///
/// Taking the extractor's `Result` lets us answer a bad version ourselves:
/// axum's own answer is `400` without the header the RFC asks for.
///
/// CORS plays no part here: a browser opens a WebSocket to any origin, and
/// only tells the server where the page came from, in `Origin`. Refusing
/// origins is the server's job. This board is public and uses no cookies,
/// so any page may connect — the book's "try it" panels among them.
pub async fn upgrade(
    State(state): State<AppState>,
    // Chapter 7: who the session or ticket says this is (see `auth::gate`).
    user: Option<Extension<User>>,
    // Chapter 7: this connection's place under MAX_CONNECTIONS (`limits::admit`).
    slot: Option<Extension<Slot>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        // "If this version does not match a version understood by the
        // server, the server MUST abort the WebSocket handshake [...] and
        // instead send an appropriate HTTP error code (such as 426 Upgrade
        // Required) and a |Sec-WebSocket-Version| header field indicating
        // the version(s) the server is capable of understanding." (§4.2.2)
        Err(WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_)) => {
            return (
                StatusCode::UPGRADE_REQUIRED,
                [(header::SEC_WEBSOCKET_VERSION, "13")],
                "this server speaks WebSocket version 13\n",
            )
                .into_response();
        }
        Err(rejection) => return rejection.into_response(),
    };
    let max = state.config.max_message_bytes;
    ws.read_buffer_size(READ_BUFFER_BYTES).max_message_size(max).max_frame_size(max).on_upgrade(
        move |socket| async move {
            // Chapter 7: the place is held until the connection ends.
            let _slot = slot;
            run(socket, state, user.map(|Extension(user)| user)).await
        },
    )
}
// ANCHOR_END: upgrade

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
    /// Chapter 7: the signed-in user; `join` may only join as them. The
    /// gate lets no anonymous socket through (`auth::needs`), so this is
    /// `None` only on a server that does not ask.
    user: Option<User>,
    /// Chapter 7: how many messages this client may still send (`RATE_LIMIT_PER_S`).
    rate: Rate,
    outbox: mpsc::Sender<Outgoing>,
    member: Option<Member>,
    typing: Typing,
}

// ANCHOR: run
/// One connection's life: split the socket, start the writer, run the read
/// loop until the connection ends — however it ends — then clean up.
pub async fn run(socket: WebSocket, state: AppState, user: Option<User>) {
    let (sink, mut stream) = socket.split();
    let (outbox, queue) = mpsc::channel(OUTBOX_CAPACITY);
    let writer = tokio::spawn(write(sink, queue, state.rooms.clone(), state.config.write_timeout));
    let mut connection = Connection {
        typing: Typing::new(state.config.typing_ttl),
        outbox,
        member: None,
        rate: Rate::new(state.config.rate_limit_per_s),
        state,
        user,
    };

    let ending = connection.read(&mut stream).await;
    connection.leave();

    // Dropping the outbox tells the writer to send what is queued, then
    // close. A client that does not read could keep it waiting forever.
    drop(connection);
    let stop = writer.abort_handle();
    match ending {
        Ending::Close => {
            if timeout(CLOSE_GRACE, writer).await.is_err() {
                stop.abort();
            }
        }
        Ending::Drop => stop.abort(),
    }
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
    // ANCHOR: read
    /// Reads until the connection ends, and says how it ended.
    async fn read(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        let config = std::sync::Arc::clone(&self.state.config);
        let mut heartbeat = interval(config.heartbeat);
        // The first ping one heartbeat from now, not at once.
        heartbeat.reset();
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = sleep_until(Instant::now() + config.idle_timeout);
        tokio::pin!(idle);

        loop {
            tokio::select! {
                // In this order: on a busy server, a frame already waiting
                // must count before the idle deadline is looked at.
                biased;
                frame = stream.next() => {
                    // Any frame, a pong included, proves the client is there.
                    idle.as_mut().reset(Instant::now() + config.idle_timeout);
                    match frame {
                        // Chapter 7: a client sending faster than RATE_LIMIT_PER_S
                        // is closed with 1008, "policy violation" (RFC 6455 §7.4.1).
                        Some(Ok(Message::Text(_))) if !self.rate.allow(Instant::now()) => {
                            self.close(close_code::POLICY, "too many messages").await;
                            return Ending::Close;
                        }
                        Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
                        Some(Ok(Message::Binary(_))) => {
                            // 1003: "it has received a type of data it cannot
                            // accept (e.g., an endpoint that understands only
                            // text data MAY send this if it receives a binary
                            // message)" (RFC 6455 §7.4.1)
                            self.close(close_code::UNSUPPORTED, "this protocol is JSON text").await;
                            return Ending::Close;
                        }
                        // tungstenite answers pings by itself.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        // A clean close: tungstenite has queued the answering
                        // close frame, which the writer flushes as it closes.
                        Some(Ok(Message::Close(_))) | None => return Ending::Close,
                        // TCP dropped, or a protocol error: an unmasked frame,
                        // a message over the limit... RFC 6455 calls this
                        // "_Fail the WebSocket Connection_": no handshake.
                        Some(Err(error)) => {
                            tracing::debug!("connection failed: {error}");
                            return Ending::Drop;
                        }
                    }
                }
                // The writer ended: the socket is broken.
                () = self.outbox.closed() => return Ending::Drop,
                task = self.typing.expired() => self.tell_typing_stopped(task),
                _ = heartbeat.tick() => {
                    // If the outbox is full the client isn't reading, and
                    // one more ping would not help.
                    let _ = self.outbox.try_send(Outgoing::Frame(Message::Ping(Bytes::new())));
                }
                () = &mut idle => {
                    tracing::info!("no frame for {:?}: the client is gone", config.idle_timeout);
                    return Ending::Drop;
                }
            }
        }
    }
    // ANCHOR_END: read

    // ANCHOR: on_text
    /// Handles one text message. Nothing here ends the connection: a
    /// message the server cannot use gets an error, and the client carries on.
    async fn on_text(&mut self, text: &str) {
        let message = match protocol::parse(text) {
            Ok(message) => message,
            Err(unreadable) => return self.error(unreadable.to_string(), unreadable.request_id).await,
        };
        let Some(member) = &self.member else {
            return match message {
                ClientMessage::Join { board_id, user } => self.join(board_id, user).await,
                other => {
                    let request_id = other.request_id().map(str::to_owned);
                    self.error(JOIN_FIRST.into(), request_id).await
                }
            };
        };
        match message {
            ClientMessage::Join { .. } => {
                let error = format!("this connection already joined {} as {}", member.board, member.user);
                self.error(error, None).await;
            }
            ClientMessage::Typing { task_id } => {
                if self.typing.start(&task_id) {
                    let typing = ServerMessage::Typing { user: member.user.clone(), task_id };
                    self.state.rooms.broadcast(&member.board, &member.user, &typing);
                }
            }
            ClientMessage::TypingStopped { task_id } => {
                if self.typing.stop(&task_id) {
                    self.tell_typing_stopped(task_id);
                }
            }
            ClientMessage::CreateTask { request_id, title } => {
                let outcome = commands::create_task(&self.state.boards, &member.board, title);
                self.reply(request_id, outcome).await;
            }
            ClientMessage::MoveTask { request_id, task_id, column } => {
                let outcome = commands::move_task(&self.state.boards, &member.board, &task_id, column);
                self.reply(request_id, outcome).await;
            }
        }
    }
    // ANCHOR_END: on_text

    // ANCHOR: reply
    /// Answers a task command on this connection, and only here: `ack` with
    /// the task as it is now, or `error`, each with the command's
    /// `requestId`. The change itself is not sent here: the board published
    /// it to its feed, and every tab — this one included — hears of it on
    /// its event stream, as it would of a change made over HTTP.
    async fn reply(&self, request_id: String, outcome: Result<Task, ApiError>) {
        let answer = match outcome {
            Ok(task) => ServerMessage::Ack { request_id, task },
            Err(error) => ServerMessage::Error { message: error.to_string(), request_id: Some(request_id) },
        };
        let _ = self.outbox.send(Outgoing::Frame(Message::text(answer.to_json()))).await;
    }
    // ANCHOR_END: reply

    async fn join(&mut self, board: String, user: String) {
        // TODO (stage 3, "Sessions: a cookie the browser sends by itself"): a
        // connection may only join as the user it signed in as (`self.user`);
        // any other `user` gets an error, and the connection stays open.
        tracing::info!("{user} joins {board}");
        let Membership { snapshot, events } = self.state.rooms.join(&board, &user);
        let room = Room { board: board.clone(), user: user.clone(), events };
        self.member = Some(Member { board, user });
        let _ = self.outbox.send(Outgoing::Follow(Box::new(Follow { snapshot, room }))).await;
    }

    fn tell_typing_stopped(&self, task_id: String) {
        if let Some(member) = &self.member {
            let stopped = ServerMessage::TypingStopped { user: member.user.clone(), task_id };
            self.state.rooms.broadcast(&member.board, &member.user, &stopped);
        }
    }

    // ANCHOR: leave
    /// The cleanup, for every way a connection ends: the user's typing
    /// indicators stop, then the user leaves the room.
    fn leave(&mut self) {
        for task_id in self.typing.stop_all() {
            self.tell_typing_stopped(task_id);
        }
        if let Some(Member { board, user }) = self.member.take() {
            tracing::info!("{user} leaves {board}");
            self.state.rooms.leave(&board, &user);
        }
    }
    // ANCHOR_END: leave

    async fn error(&self, message: String, request_id: Option<String>) {
        let text = ServerMessage::Error { message, request_id }.to_json();
        let _ = self.outbox.send(Outgoing::Frame(Message::text(text))).await;
    }

    async fn close(&self, code: u16, reason: &'static str) {
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        let _ = self.outbox.send(Outgoing::Frame(Message::Close(Some(frame)))).await;
    }
}

// ANCHOR: write
/// The writer: the only code that writes to the socket. It ends when the
/// read loop drops the outbox, or when writing fails.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outgoing>,
    rooms: Rooms,
    write_timeout: Duration,
) {
    let mut room: Option<Room> = None;
    loop {
        let message = tokio::select! {
            outgoing = queue.recv() => match outgoing {
                Some(Outgoing::Frame(message)) => message,
                Some(Outgoing::Follow(follow)) => {
                    let Follow { snapshot, room: joined } = *follow;
                    room = Some(joined);
                    Message::text(snapshot.to_json())
                }
                None => break,
            },
            message = next_event(&mut room, &rooms) => message,
        };
        // Chapter 7: a client that takes longer than WRITE_TIMEOUT_MS to read
        // one message is evicted. Either way the read loop sees the outbox close.
        if let Err(evicted) = limits::send_within(&mut sink, message, write_timeout).await {
            tracing::info!("dropping a client: {evicted}");
            return;
        }
    }
    let _ = sink.close().await;
}
// ANCHOR_END: write

/// The room a writer follows, for the member it writes to.
#[derive(Debug)]
struct Room {
    board: String,
    user: String,
    events: broadcast::Receiver<Event>,
}

// ANCHOR: next_event
/// The next room event for this connection's client; never, while it has
/// not joined.
async fn next_event(room: &mut Option<Room>, rooms: &Rooms) -> Message {
    if let Some(current) = room {
        loop {
            match current.events.recv().await {
                // Nobody is told about themselves.
                Ok(event) if *event.about == *current.user => continue,
                Ok(event) => return Message::Text(event.text),
                // The client fell so far behind that the room's buffer moved
                // on without it: events are lost, so its picture of the
                // board is wrong. A fresh snapshot puts it right.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        "{} fell {missed} events behind on {}; resyncing",
                        current.user,
                        current.board
                    );
                    let Some(fresh) = rooms.resync(&current.board) else { break };
                    current.events = fresh.events;
                    return Message::text(fresh.snapshot.to_json());
                }
                Err(RecvError::Closed) => break,
            }
        }
        *room = None;
    }
    std::future::pending().await
}
// ANCHOR_END: next_event

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
