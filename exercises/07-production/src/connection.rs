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
use crate::metrics::{Metrics, Reason};
use crate::protocol::{self, ClientMessage, ServerMessage};
use crate::rooms::{Announcement, Rooms, Subscription};
use crate::shutdown;
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

/// The error for anything but `join` (or `ping`) before a `join`.
const JOIN_FIRST: &str = "join a board first: {\"type\":\"join\",\"boardId\":…,\"user\":…}";

/// How long the writer may take to send what is queued (a close frame,
/// say) once the connection is over, before it is stopped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

// ANCHOR: upgrade
/// `GET /ws`: upgrades to a WebSocket, or refuses as RFC 6455 says.
///
/// Taking the extractor's `Result` lets us answer its rejections ourselves
/// where axum's own answers fall short of the RFCs (see `refuse`).
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
        Err(rejection) => return refuse(rejection),
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

/// The answer to a request that is not a WebSocket handshake we can accept.
///
/// - Not asking to upgrade at all (a plain `GET /ws`), or asking for a
///   version other than 13: `426 Upgrade Required`, which "MUST send an
///   Upgrade header field to indicate the acceptable protocols" (RFC 9110
///   §15.5.22), with `Sec-WebSocket-Version: 13`, "indicating the
///   version(s) the server is capable of understanding" (RFC 6455 §4.2.2).
///   axum's own answers are `400`s without either header.
/// - `HEAD /ws` (routed here by `get`): `405`, with the `Allow` header a 405
///   MUST carry (RFC 9110 §15.5.6), which axum's answer leaves out.
/// - Anything else (no `Sec-WebSocket-Key`, say): axum's answer, a `400`.
fn refuse(rejection: WebSocketUpgradeRejection) -> Response {
    match rejection {
        WebSocketUpgradeRejection::InvalidConnectionHeader(_)
        | WebSocketUpgradeRejection::InvalidUpgradeHeader(_)
        | WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_)
        | WebSocketUpgradeRejection::ConnectionNotUpgradable(_) => (
            StatusCode::UPGRADE_REQUIRED,
            [(header::UPGRADE, "websocket"), (header::SEC_WEBSOCKET_VERSION, "13")],
            "this is a WebSocket endpoint: upgrade to websocket, version 13\n",
        )
            .into_response(),
        WebSocketUpgradeRejection::MethodNotGet(_) => {
            (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")], "a WebSocket handshake is a GET\n")
                .into_response()
        }
        other => other.into_response(),
    }
}
// ANCHOR_END: upgrade

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
    /// Chapter 7: the signed-in user; `join` may only join as them. The
    /// gate lets no anonymous socket through (`auth::needs`), so this is
    /// `None` only on a server that does not ask.
    user: Option<User>,
    /// Chapter 7: how many messages this client may still send (`RATE_LIMIT_PER_S`).
    rate: Rate,
}

// ANCHOR: run
/// One connection's life: split the socket, start the writer, run the read
/// loop until the connection ends — however it ends — then clean up.
pub async fn run(socket: WebSocket, state: AppState, user: Option<User>) {
    let (sink, mut stream) = socket.split();
    let (outbox, queue) = mpsc::channel(OUTBOX_CAPACITY);
    let limit = state.config.write_timeout;
    let mut writer = tokio::spawn(write(sink, queue, state.rooms.clone(), limit, state.metrics.clone()));
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

    // Dropping the outbox tells the writer to send what is queued, flush
    // and stop; it never adds a close frame of its own.
    drop(connection);
    match ending {
        // A client that does not read could keep the writer waiting forever.
        Ending::Close => {
            if timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                writer.abort();
            }
        }
        Ending::Drop => writer.abort(),
    }
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
// ANCHOR_END: run

impl Connection {
    // ANCHOR: read
    /// Reads until the connection ends, and says how it ended.
    async fn read(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        // Chapter 7: the config is shared (it holds lists and paths), not copied.
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
                            self.state.metrics.evicted(Reason::RateLimit);
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
                        // close frame, which the writer flushes.
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
                // Chapter 7: the server is shutting down: close 1001, "going away".
                () = self.state.draining.begun() => {
                    let (code, reason) = shutdown::GOING_AWAY;
                    self.close(code, reason).await;
                    return Ending::Close;
                }
                // The writer ended: the socket is broken.
                () = self.outbox.closed() => return Ending::Drop,
                task = self.typing.expired() => self.tell_typing_stopped(&task),
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
        let (member, message) = match (&self.member, message) {
            // The application heartbeat: answered to this client alone, joined or not.
            (_, ClientMessage::Ping) => return self.send(ServerMessage::Pong).await,
            (None, ClientMessage::Join { board_id, user }) => return self.join(board_id, user).await,
            (None, other) => {
                let request_id = other.request_id().map(str::to_owned);
                return self.error(JOIN_FIRST.into(), request_id).await;
            }
            (Some(member), message) => (member, message),
        };
        match message {
            ClientMessage::Join { .. } => {
                let error = format!("this connection already joined {} as {}", member.board, member.user);
                self.error(error, None).await;
            }
            ClientMessage::Typing { task_id } => {
                // Only a new indicator is news; a refresh just keeps it alive.
                if self.typing.start(&task_id) {
                    self.state.rooms.typing(&member.board, &member.user, &task_id);
                }
            }
            ClientMessage::TypingStopped { task_id } => {
                if self.typing.stop(&task_id) {
                    self.tell_typing_stopped(&task_id);
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
            ClientMessage::Ping => {}
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
        self.send(answer).await;
    }
    // ANCHOR_END: reply

    async fn join(&mut self, board: String, user: String) {
        // TODO (stage 3, "Sessions: a cookie the browser sends by itself"): a
        // connection may only join as the user it signed in as (`self.user`);
        // any other `user` gets an error, and the connection stays open.
        tracing::info!("{user} joins {board}");
        let subscription = self.state.rooms.join(&board, &user);
        let member = Member { board, user };
        self.member = Some(member.clone());
        let subscribed = Subscribed { member, subscription };
        let _ = self.outbox.send(Outgoing::Subscribed(Box::new(subscribed))).await;
    }

    fn tell_typing_stopped(&self, task: &str) {
        if let Some(member) = &self.member {
            self.state.rooms.typing_stopped(&member.board, &member.user, task);
        }
    }

    // ANCHOR: leave
    /// The cleanup, for every way a connection ends: the user's typing
    /// indicators stop, then the user leaves the room.
    fn leave(&mut self) {
        for task in self.typing.stop_all() {
            self.tell_typing_stopped(&task);
        }
        if let Some(Member { board, user }) = self.member.take() {
            tracing::info!("{user} leaves {board}");
            self.state.rooms.leave(&board, &user);
        }
    }
    // ANCHOR_END: leave

    async fn send(&self, message: ServerMessage) {
        let _ = self.outbox.send(Outgoing::Frame(Message::text(message.to_json()))).await;
    }

    async fn error(&self, message: String, request_id: Option<String>) {
        self.send(ServerMessage::Error { message, request_id }).await;
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
    metrics: Metrics,
) {
    let mut follower: Option<Follower> = None;
    loop {
        let message = tokio::select! {
            outgoing = queue.recv() => match outgoing {
                Some(Outgoing::Frame(message)) => message,
                Some(Outgoing::Subscribed(subscribed)) => {
                    let Subscribed { member, subscription: Subscription { start, live } } = *subscribed;
                    follower = Some(Follower { member, live });
                    Message::text(start.to_json())
                }
                None => break,
            },
            message = next_announcement(&mut follower, &rooms) => message,
        };
        // Chapter 7: a client that takes longer than WRITE_TIMEOUT_MS to read
        // one message is evicted. Either way the read loop sees the outbox close.
        if let Err(evicted) = limits::send_within(&mut sink, message, write_timeout).await {
            if !evicted.0.is_zero() {
                tracing::info!("dropping a client: {evicted}");
                metrics.evicted(Reason::WriteTimeout);
            }
            return;
        }
    }
    // The connection is over. Flush what is written — a close frame the
    // read loop queued, or tungstenite's answer to the client's — and no
    // more: `sink.close()` would start a closing handshake of the writer's
    // own, with a close frame that has no code, even on a connection that
    // failed.
    let _ = sink.flush().await;
}
// ANCHOR_END: write

/// A member's place in its room, as its writer follows it.
#[derive(Debug)]
struct Follower {
    member: Member,
    live: broadcast::Receiver<Announcement>,
}

// ANCHOR: next_announcement
/// The next announcement for this connection's client; never, while it has
/// not joined.
async fn next_announcement(follower: &mut Option<Follower>, rooms: &Rooms) -> Message {
    if let Some(current) = follower {
        let Member { board, user } = &current.member;
        loop {
            match current.live.recv().await {
                // Nobody is told about themselves.
                Ok(announcement) if *announcement.about == **user => continue,
                Ok(announcement) => return Message::Text(announcement.text),
                // The client fell so far behind that the room's buffer moved
                // on without it: announcements are lost, so its picture of
                // the board is wrong. A fresh snapshot — users and typists —
                // replaces it.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!("{user} fell {missed} announcements behind on {board}; resyncing");
                    let Some(Subscription { start, live }) = rooms.resync(board) else { break };
                    current.live = live;
                    return Message::text(start.to_json());
                }
                Err(RecvError::Closed) => break,
            }
        }
        *follower = None;
    }
    std::future::pending().await
}
// ANCHOR_END: next_announcement

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
    async fn a_writer_that_has_not_joined_waits() {
        let rooms = Rooms::default();
        let waiting = timeout(Duration::from_millis(50), next_announcement(&mut None, &rooms)).await;
        assert!(waiting.is_err());
    }
}
