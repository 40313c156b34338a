//! Chapter 5, "Presence with axum WebSockets": who is online, who is typing.
//!
//! The contract (the book's chapter 5 is the final word): on `GET /ws` a
//! client sends `{"type":"join","boardId","user"}` and gets a `presence`
//! snapshot (everyone on the board, itself included, sorted); the others get
//! `joined`, and `left` when the user's last connection ends — however it
//! ends. `typing` / `typing_stopped` reach the others, never the typist; a
//! typing indicator also stops after `TYPING_TTL_MS` and when the typist
//! leaves. The server pings every `HEARTBEAT_MS` and drops a client it has not
//! heard from for `IDLE_TIMEOUT_MS`. Bad JSON gets `{"type":"error"}` and the
//! connection stays open; a binary message gets close `1003`; a message over
//! `MAX_MESSAGE_BYTES` gets close `1009` (or TCP closed); a handshake with a
//! version other than 13 gets `426` and `Sec-WebSocket-Version: 13`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use tokio::sync::watch;

use crate::ws::{ConnectOptions, Incoming, Transcript, WsClient, json_matches};
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 5,
    slug: "05-presence",
    title: "Presence with axum WebSockets",
    tunables: TUNABLES,
    checks: CHECKS,
};

/// Short enough that the heartbeat checks take seconds; the idle timeout is
/// fifty heartbeats, so that a machine busy with 200 clients and a
/// client's 12 MiB backlog (in a debug build, on two cores shared with a
/// compiler) does not hold back a healthy client's pongs for that long.
const TUNABLES: Tunables = Tunables {
    heartbeat_ms: 200,
    idle_timeout_ms: 10_000,
    typing_ttl_ms: 400,
    max_message_bytes: 65_536,
    ..Tunables::PRODUCTION
};

const PAGE: &str = "ch05-presence.md";

const JOINING: Stage = Stage { number: 1, slug: "joining", title: "Join a board" };
const ROOM: Stage = Stage { number: 2, slug: "room", title: "A room per board" };
const LEAVING: Stage = Stage { number: 3, slug: "leaving", title: "Leave without ghosts" };
const TYPING: Stage = Stage { number: 4, slug: "typing", title: "Who is typing" };
const HEARTBEATS: Stage = Stage { number: 5, slug: "heartbeats", title: "Heartbeats and idle timeouts" };
const ERRORS: Stage = Stage { number: 6, slug: "errors", title: "Bad input" };
const SCALE: Stage = Stage { number: 7, slug: "scale", title: "Many clients, and slow ones" };

const JOINING_SECTION: Section = Section { page: PAGE, anchor: "joining-a-board", title: "Joining a board" };
const ROOM_SECTION: Section = Section { page: PAGE, anchor: "a-room-per-board", title: "A room per board" };
const LEAVING_SECTION: Section =
    Section { page: PAGE, anchor: "leaving-without-ghosts", title: "Leaving without ghosts" };
const TYPING_SECTION: Section = Section { page: PAGE, anchor: "who-is-typing", title: "Who is typing" };
const HEARTBEATS_SECTION: Section =
    Section { page: PAGE, anchor: "heartbeats-and-idle-timeouts", title: "Heartbeats and idle timeouts" };
const ERRORS_SECTION: Section = Section {
    page: PAGE,
    anchor: "bad-input-keep-the-connection-or-close-it",
    title: "Bad input: keep the connection or close it",
};
const APP_HEARTBEAT_SECTION: Section =
    Section { page: PAGE, anchor: "a-heartbeat-the-page-can-send", title: "A heartbeat the page can send" };
const PROTOCOL_ERROR_SECTION: Section = Section {
    page: PAGE,
    anchor: "what-axum-does-on-a-protocol-error",
    title: "What axum does on a protocol error",
};
const HANDSHAKE_SECTION: Section =
    Section { page: PAGE, anchor: "refusing-a-bad-handshake", title: "Refusing a bad handshake" };
const SCALE_SECTION: Section =
    Section { page: PAGE, anchor: "many-clients-and-slow-ones", title: "Many clients, and slow ones" };

const CHECKS: &[Check] = &[
    Check {
        name: "joining_answers_a_presence_snapshot_with_yourself",
        stage: JOINING,
        section: JOINING_SECTION,
        hints: &[
            "`upgrade` hands the socket over with `ws.on_upgrade(move |socket| run(socket, state))`; \
             `run` reads the first text message, parses it as a `ClientMessage` and answers a \
             join with `ServerMessage::Presence`.",
            "`Message::Text` holds `Utf8Bytes`: `protocol::parse(text.as_str())`. Send an answer with \
             `Message::text(server_message.to_json())`.",
            "The shape of `run`: `socket.split()`; spawn `write(sink, queue, rooms)` fed by an \
             `mpsc::channel(OUTBOX_CAPACITY)`; `Connection::read` until it returns; then `leave()`, \
             drop the outbox and let the writer finish. On `join`, queue `Outgoing::Subscribed`: the \
             writer sends its start (the snapshot) before any announcement.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(joining_answers_a_presence_snapshot_with_yourself(t)),
    },
    Check {
        name: "a_joiner_sees_everyone_on_the_board_sorted",
        stage: ROOM,
        section: ROOM_SECTION,
        hints: &[
            "Keep the users of each board in `Rooms`, shared by every connection. A `BTreeMap` keyed \
             by user keeps them sorted for free.",
            "Take the snapshot under the same lock that adds the joiner, so it includes the joiner.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_joiner_sees_everyone_on_the_board_sorted(t)),
    },
    Check {
        name: "the_others_are_told_who_joined",
        stage: ROOM,
        section: ROOM_SECTION,
        hints: &[
            "Each room has a `broadcast::Sender<Announcement>`; every connection on the board holds a \
             `Receiver` and forwards what it receives to its client.",
            "The joiner must not hear about itself: an `Announcement` says which user it is about, and a \
             connection skips events about its own user.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(the_others_are_told_who_joined(t)),
    },
    Check {
        name: "boards_are_isolated",
        stage: ROOM,
        section: ROOM_SECTION,
        hints: &["One room per board id: `HashMap<String, Room>`, each with its own members and its own \
             broadcast channel. A connection subscribes only to the room it joined."],
        needs: Needs::Address,
        body: |t| Box::pin(boards_are_isolated(t)),
    },
    Check {
        name: "a_clean_close_tells_the_others_once_and_leaves_no_ghost",
        stage: LEAVING,
        section: LEAVING_SECTION,
        hints: &[
            "When the read loop ends — for whatever reason — leave the room: `rooms.leave(board, user)` \
             removes the user and broadcasts `left`. Put it after the loop, not inside one branch.",
            "A close frame arrives as `Message::Close`; `recv()` returns `None` right after it.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_clean_close_tells_the_others_once_and_leaves_no_ghost(t)),
    },
    Check {
        name: "a_dropped_connection_tells_the_others_once_and_leaves_no_ghost",
        stage: LEAVING,
        section: LEAVING_SECTION,
        hints: &[
            "A client that vanishes without a close frame makes `recv()` return `Some(Err(..))` or \
             `None`. Both end the loop, and the cleanup after the loop runs for them too.",
            "Leave exactly once: if the writer task notices first, let it tell the reader (the \
             outbox closes) instead of leaving the room itself.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_dropped_connection_tells_the_others_once_and_leaves_no_ghost(t)),
    },
    Check {
        name: "one_user_in_two_tabs_is_listed_once",
        stage: LEAVING,
        section: LEAVING_SECTION,
        hints: &["Count connections per user: `BTreeMap<String, usize>`. Broadcast `joined` when the count \
             goes from 0 to 1 and `left` when it goes back to 0 — not on every tab."],
        needs: Needs::Address,
        body: |t| Box::pin(one_user_in_two_tabs_is_listed_once(t)),
    },
    Check {
        name: "typing_reaches_the_others_but_not_the_typist",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &["Broadcast `{\"type\":\"typing\",\"user\",\"taskId\"}` as an event about the typist: the \
             same filter that keeps `joined` from the joiner keeps `typing` from the typist."],
        needs: Needs::Address,
        body: |t| Box::pin(typing_reaches_the_others_but_not_the_typist(t)),
    },
    Check {
        name: "a_joiner_is_told_who_is_typing",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &[
            "`presence` is the whole truth about a board: who is there and who is typing now. Keep the \
             typists in the room, next to the users, and put them in every snapshot.",
            "Change the room's typists where you tell the board: a `typing` adds (user, task), a \
             `typing_stopped` removes it, under the same lock — then the snapshot agrees with what the \
             others were told.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_joiner_is_told_who_is_typing(t)),
    },
    Check {
        name: "typing_stopped_reaches_the_others_when_asked",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &["`typing_stopped` from the client ends the indicator at once (`Typing::stop`) and is \
             broadcast then — not left for the expiry timer."],
        needs: Needs::Address,
        body: |t| Box::pin(typing_stopped_reaches_the_others_when_asked(t)),
    },
    Check {
        name: "typing_stops_by_itself_after_the_ttl",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &[
            "Keep a deadline per task (`Typing`), and give the connection's `select!` loop a branch \
             that sleeps until the earliest one; when it fires, broadcast `typing_stopped`.",
            "A client that crashed mid-word never sends `typing_stopped`: the TTL is the only thing \
             that clears its indicator.",
        ],
        needs: Needs::Tunables("needs a short TYPING_TTL_MS (the checks start the server with 400 ms)"),
        body: |t| Box::pin(typing_stops_by_itself_after_the_ttl(t)),
    },
    Check {
        name: "a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &["Each `typing` for a task already being typed moves its deadline to now + TTL. Only \
             the first one needs broadcasting."],
        needs: Needs::Tunables("needs a short TYPING_TTL_MS (the checks start the server with 400 ms)"),
        body: |t| Box::pin(a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh(t)),
    },
    Check {
        name: "typing_stops_when_the_typist_leaves",
        stage: TYPING,
        section: TYPING_SECTION,
        hints: &["In the cleanup after the read loop, broadcast `typing_stopped` for every indicator the \
             connection still has (`Typing::stop_all`) before leaving the room."],
        needs: Needs::Address,
        body: |t| Box::pin(typing_stops_when_the_typist_leaves(t)),
    },
    Check {
        name: "the_server_pings_every_heartbeat",
        stage: HEARTBEATS,
        section: HEARTBEATS_SECTION,
        hints: &[
            "A `tokio::time::interval(config.heartbeat)` branch in the connection's `select!` loop \
             queues a `Message::Ping` for the writer.",
            "A browser answers pings by itself; the server's pings are what let it notice a client \
             that is gone without a word.",
        ],
        needs: Needs::Tunables("needs a short HEARTBEAT_MS (the checks start the server with 200 ms)"),
        body: |t| Box::pin(the_server_pings_every_heartbeat(t)),
    },
    Check {
        name: "a_client_that_answers_pings_outlives_the_idle_timeout",
        stage: HEARTBEATS,
        section: HEARTBEATS_SECTION,
        hints: &["Any frame from the client — a pong included — proves it is alive: reset the idle \
             deadline on every frame `recv()` returns, not only on text messages."],
        needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
        body: |t| Box::pin(a_client_that_answers_pings_outlives_the_idle_timeout(t)),
    },
    Check {
        name: "a_silent_client_is_dropped_after_the_idle_timeout",
        stage: HEARTBEATS,
        section: HEARTBEATS_SECTION,
        hints: &[
            "A client whose network vanished sends no close frame and no FIN: `recv()` just waits. \
             Give the loop a `sleep_until(idle_deadline)` branch that ends it.",
            "Ending the loop runs the same cleanup as a close: one `left`, and the user is gone from \
             the next snapshot.",
        ],
        needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
        body: |t| Box::pin(a_silent_client_is_dropped_after_the_idle_timeout(t)),
    },
    Check {
        name: "a_client_that_never_joins_is_dropped_after_the_idle_timeout",
        stage: HEARTBEATS,
        section: HEARTBEATS_SECTION,
        hints: &["The heartbeat and the idle deadline belong to the connection, not to the membership: \
             start them before the first message, so a socket that never joins is let go too."],
        needs: Needs::Tunables("needs a short IDLE_TIMEOUT_MS (the checks start the server with 10000 ms)"),
        body: |t| Box::pin(a_client_that_never_joins_is_dropped_after_the_idle_timeout(t)),
    },
    Check {
        name: "a_ping_message_gets_a_pong_to_that_client_only",
        stage: HEARTBEATS,
        section: APP_HEARTBEAT_SECTION,
        hints: &[
            "`{\"type\":\"ping\"}` is a message like any other: answer `{\"type\":\"pong\"}` through \
             this connection's outbox, whether or not it has joined.",
            "The pong goes to the sender only: the outbox, not the room.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_ping_message_gets_a_pong_to_that_client_only(t)),
    },
    Check {
        name: "a_message_before_join_gets_an_error_and_the_connection_stays_open",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["Until a connection has joined it has no board and no user: answer anything but `join` \
             with `{\"type\":\"error\",\"message\":\"…\"}` and keep reading."],
        needs: Needs::Address,
        body: |t| Box::pin(a_message_before_join_gets_an_error_and_the_connection_stays_open(t)),
    },
    Check {
        name: "a_second_join_gets_an_error_and_changes_nothing",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["A connection joins once. A second `join` is an error; the connection stays where it is, \
             under the name it has."],
        needs: Needs::Address,
        body: |t| Box::pin(a_second_join_gets_an_error_and_changes_nothing(t)),
    },
    Check {
        name: "invalid_json_gets_an_error_and_the_connection_stays_open",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "When `serde_json` cannot read a message, answer `{\"type\":\"error\",\"message\":\"…\"}` \
             with its error text, and carry on: one bad message is not a reason to drop a user.",
            "Don't `return` or `break` out of the read loop on a parse error.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(invalid_json_gets_an_error_and_the_connection_stays_open(t)),
    },
    Check {
        name: "an_unknown_type_gets_an_error_and_the_connection_stays_open",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["`#[serde(tag = \"type\")]` makes serde reject an unknown or missing `type` for you; \
             answer the error and keep the connection."],
        needs: Needs::Address,
        body: |t| Box::pin(an_unknown_type_gets_an_error_and_the_connection_stays_open(t)),
    },
    Check {
        name: "a_binary_message_is_closed_with_1003",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "Answer `Message::Binary` with `Message::Close(Some(CloseFrame { code: \
             close_code::UNSUPPORTED, reason: … }))` (1003), then end the connection.",
            "Send the close frame through the writer, so it goes out after what is already queued.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_binary_message_is_closed_with_1003(t)),
    },
    Check {
        name: "a_message_over_max_message_bytes_is_refused",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "Let tungstenite enforce the limit: `ws.max_message_size(config.max_message_bytes)`. A \
             bigger message makes `recv()` return an error and axum drops the TCP connection.",
            "A message of exactly `MAX_MESSAGE_BYTES` is allowed; only a bigger one is refused.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_message_over_max_message_bytes_is_refused(t)),
    },
    Check {
        name: "a_failed_connection_never_gets_a_close_frame_without_a_code",
        stage: ERRORS,
        section: PROTOCOL_ERROR_SECTION,
        hints: &[
            "After a read error the connection has failed: drop it, so TCP closes. A close frame without \
             a code, sent after the client broke the protocol, says \"all is well\".",
            "Who sends a codeless close frame? `sink.close()` does: it starts a closing handshake. Let the \
             writer only flush when its outbox closes, or stop it before the outbox closes.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_failed_connection_never_gets_a_close_frame_without_a_code(t)),
    },
    Check {
        name: "a_plain_get_is_426_with_upgrade_websocket",
        stage: ERRORS,
        section: HANDSHAKE_SECTION,
        hints: &[
            "A `GET /ws` without `Connection: upgrade` and `Upgrade: websocket` is rejected by the \
             extractor (`InvalidConnectionHeader`, `InvalidUpgradeHeader`): answer those yourself.",
            "RFC 9110: a 426 MUST carry `Upgrade` naming the protocol to upgrade to — `Upgrade: \
             websocket` — and RFC 6455 adds `Sec-WebSocket-Version: 13`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_plain_get_is_426_with_upgrade_websocket(t)),
    },
    Check {
        name: "a_handshake_without_a_key_is_400",
        stage: ERRORS,
        section: HANDSHAKE_SECTION,
        hints: &["A handshake with no `Sec-WebSocket-Key` is malformed: the extractor rejects it \
             (`WebSocketKeyHeaderMissing`), and axum's own answer, `400`, is the right one. Pass it \
             through."],
        needs: Needs::Address,
        body: |t| Box::pin(a_handshake_without_a_key_is_400(t)),
    },
    Check {
        name: "head_is_405_with_allow_get",
        stage: ERRORS,
        section: HANDSHAKE_SECTION,
        hints: &[
            "`get(handler)` routes `HEAD` to the handler too, and the extractor rejects it \
             (`MethodNotGet`).",
            "A 405 MUST list the methods that work (RFC 9110): answer `MethodNotGet` with \
             `Allow: GET`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(head_is_405_with_allow_get(t)),
    },
    Check {
        name: "a_handshake_with_version_8_is_426_with_version_13",
        stage: ERRORS,
        section: HANDSHAKE_SECTION,
        hints: &[
            "Take `Result<WebSocketUpgrade, WebSocketUpgradeRejection>` in the handler: axum's own \
             answer to a bad version is 400 without the header.",
            "Map `WebSocketUpgradeRejection::InvalidWebSocketVersionHeader` to `426 Upgrade Required` \
             with `Upgrade: websocket` and `Sec-WebSocket-Version: 13`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_handshake_with_version_8_is_426_with_version_13(t)),
    },
    Check {
        name: "two_hundred_clients_on_one_board_all_see_everyone",
        stage: SCALE,
        section: SCALE_SECTION,
        hints: &[
            "A `broadcast` channel's capacity is how far a receiver may fall behind. When one does, \
             `recv()` returns `Err(RecvError::Lagged(n))`: send that client a fresh snapshot and go \
             on — a `while let Ok(..)` loop would silently end its connection there.",
            "Never hold the rooms' lock across an `.await`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(two_hundred_clients_on_one_board_all_see_everyone(t)),
    },
    Check {
        name: "a_client_that_stops_reading_does_not_delay_the_others",
        stage: SCALE,
        section: SCALE_SECTION,
        hints: &[
            "Each connection writes to its own socket from its own task. Broadcasting must never wait \
             for one client: `broadcast::Sender::send` does not, awaiting every member's socket in a \
             loop does.",
            "If the slow client's writer blocks, only its broadcast receiver falls behind (`Lagged`); \
             everyone else carries on.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_client_that_stops_reading_does_not_delay_the_others(t)),
    },
    Check {
        name: "a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing",
        stage: SCALE,
        section: SCALE_SECTION,
        hints: &[
            "On `RecvError::Lagged` the client has lost announcements: send it a fresh `presence` — users \
             *and* typists — taken under the room's lock together with a fresh receiver.",
            "The typists in the snapshot must be the room's current ones, the same list a joiner gets.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing(t)),
    },
];

// ---------------------------------------------------------------------------
// Stage 1: joining

async fn joining_answers_a_presence_snapshot_with_yourself(t: Target) -> Result<(), Failure> {
    let transcript = Transcript::new();
    let board = t.board(1);
    let mut alice = WsClient::connect(&t, &transcript, "alice").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(
            &presence(&board, &["Alice"]),
            "the joiner gets a snapshot of who is on the board — here only itself",
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 2: a room per board

async fn a_joiner_sees_everyone_on_the_board_sorted(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let _carol = enter(&t, &tr, &board, "Carol", &["Carol"]).await?;
    let _alice = enter(&t, &tr, &board, "Alice", &["Alice", "Carol"]).await?;
    let _bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob", "Carol"]).await?;
    Ok(())
}

async fn the_others_are_told_who_joined(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined Alice's board, so Alice is told").await?;
    // The marker: Carol joins. Bob's next message must be about Carol; a
    // `joined` about Bob himself would come first.
    let _carol = enter(&t, &tr, &board, "Carol", &["Alice", "Bob", "Carol"]).await?;
    bob.expect_json(
        &joined(&board, "Carol"),
        "Carol joined. Bob is never told that Bob joined: he has his snapshot",
    )
    .await?;
    alice.expect_json(&joined(&board, "Carol"), "Carol joined Alice's board").await?;
    Ok(())
}

async fn boards_are_isolated(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut alice = enter(&t, &tr, &one, "Alice", &["Alice"]).await?;
    let mut zed = enter(&t, &tr, &two, "Zed", &["Zed"]).await?;
    let _bob = enter(&t, &tr, &one, "Bob", &["Alice", "Bob"]).await?;
    alice
        .expect_json(
            &joined(&one, "Bob"),
            &format!("Bob joined {one}; Zed joined {two}, which Alice never hears of"),
        )
        .await?;
    let _yves = enter(&t, &tr, &two, "Yves", &["Yves", "Zed"]).await?;
    zed.expect_json(
        &joined(&two, "Yves"),
        &format!("Yves joined {two}; Bob joined {one}, which Zed never hears of"),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 3: leaving

async fn a_clean_close_tells_the_others_once_and_leaves_no_ghost(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    bob.close(1000).await?;
    alice.expect_json(&left(&board, "Bob"), "Bob closed his connection (close frame 1000)").await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

async fn a_dropped_connection_tells_the_others_once_and_leaves_no_ghost(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    bob.drop_tcp();
    alice
        .expect_json(&left(&board, "Bob"), "Bob's TCP connection ended without a close frame: he is gone")
        .await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

async fn one_user_in_two_tabs_is_listed_once(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut tab1 = enter_as(&t, &tr, "alice#1", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    tab1.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    let tab2 = enter_as(&t, &tr, "alice#2", &board, "Alice", &["Alice", "Bob"]).await?;
    let mut carol = enter(&t, &tr, &board, "Carol", &["Alice", "Bob", "Carol"]).await?;
    bob.expect_json(
        &joined(&board, "Carol"),
        "Carol joined. Alice opening a second tab is not news: she was already listed",
    )
    .await?;
    tab1.close(1000).await?;
    carol.send_json(&typing_request("task-1")).await?;
    bob.expect_json(
        &typing("Carol", "task-1"),
        "Carol is typing. Alice closed one tab but still has another, so she has not left",
    )
    .await?;
    tab2.drop_tcp();
    bob.expect_json(&left(&board, "Alice"), "Alice's last tab is gone, so now she has left").await?;
    carol.send_json(&typing_stopped_request("task-1")).await?;
    bob.expect_json(&typing_stopped("Carol", "task-1"), "Carol stopped typing; Alice left only once").await?;
    let _dave = enter(&t, &tr, &board, "Dave", &["Bob", "Carol", "Dave"]).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 4: typing

async fn typing_reaches_the_others_but_not_the_typist(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3; Bob is told").await?;
    // The marker: Bob types too. Alice's next message must be about Bob; an
    // echo of her own typing would come first.
    bob.send_json(&typing_request("task-4")).await?;
    alice
        .expect_json(
            &typing("Bob", "task-4"),
            "Bob is typing on task-4. Alice is never told that she is typing",
        )
        .await?;
    Ok(())
}

async fn a_joiner_is_told_who_is_typing(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    // Alice's indicator lives TYPING_TTL_MS from her last refresh. On a
    // machine so busy that it expires before Carol's snapshot is taken, the
    // snapshot is right to leave her out: Bob, who hears everything in the
    // room's order, says which it was. Try again on a fresh board, so that
    // one attempt catches her typing.
    for attempt in 1..=3 {
        let board = t.board(attempt);
        let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
        let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
        alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
        bob.send_json(&typing_request("task-1")).await?;
        alice.expect_json(&typing("Bob", "task-1"), "Bob is typing on task-1").await?;
        bob.send_json(&typing_stopped_request("task-1")).await?;
        alice.expect_json(&typing_stopped("Bob", "task-1"), "Bob stopped typing on task-1").await?;
        alice.send_json(&typing_request("task-3")).await?;
        bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
        alice.send_json(&typing_request("task-3")).await?;

        let mut carol = WsClient::connect(&t, &tr, "carol").await?;
        carol.send_json(&join(&board, "Carol")).await?;
        let snapshot = carol.next_json("Carol's snapshot").await?;
        // What was true when Carol joined: Bob's announcements up to hers.
        let mut alive = true;
        loop {
            let message = bob.next_json(&format!("{} (Carol joined)", joined(&board, "Carol"))).await?;
            if json_matches(&joined(&board, "Carol"), &message) {
                break;
            }
            if json_matches(&typing_stopped("Alice", "task-3"), &message) {
                alive = false;
            } else if json_matches(&typing("Alice", "task-3"), &message) {
                alive = true;
            }
        }
        let typists: &[(&str, &str)] = if alive { &[("Alice", "task-3")] } else { &[] };
        let want = presence_typing(&board, &["Alice", "Bob", "Carol"], typists);
        let why = if alive {
            "Carol joins: the snapshot lists who is there and who is typing now — Alice on task-3; Bob \
             stopped"
        } else {
            "Carol joins: the snapshot lists who is there and who is typing now — nobody: Bob stopped, \
             and Alice's indicator had expired"
        };
        if !json_matches(&want, &snapshot) {
            return Err(carol.wrong_message(&snapshot, &format!("{want}\n({why})")));
        }
        if alive {
            return Ok(());
        }
    }
    Ok(())
}

async fn typing_stopped_reaches_the_others_when_asked(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    alice.send_json(&typing_stopped_request("task-3")).await?;
    // The marker: Alice starts on another task at once. If the server left
    // task-3 to its expiry timer, task-5 would arrive first.
    alice.send_json(&typing_request("task-5")).await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "Alice said she stopped typing on task-3: Bob is told at once, before her next message",
    )
    .await?;
    bob.expect_json(&typing("Alice", "task-5"), "Alice is now typing on task-5").await?;
    Ok(())
}

async fn typing_stops_by_itself_after_the_ttl(t: Target) -> Result<(), Failure> {
    let ttl = tunables(&t).typing_ttl_ms;
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    let start = Instant::now();
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        &format!("Alice sent nothing more: after TYPING_TTL_MS ({ttl} ms) her indicator expires"),
    )
    .await?;
    let elapsed = start.elapsed();
    if elapsed < Duration::from_millis(ttl * 9 / 10) {
        return Err(bob
            .fail(
                format!("typing_stopped came {} ms after typing: before the TTL", elapsed.as_millis()),
                format!("typing_stopped no sooner than TYPING_TTL_MS ({ttl} ms) after the last typing"),
            )
            .got(format!("typing_stopped after {} ms", elapsed.as_millis())));
    }
    Ok(())
}

async fn a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(tunables(&t).typing_ttl_ms);
    let tr = Transcript::new();
    let task = "task-3";
    // A person types on: the refresh comes a quarter of the TTL after the
    // first `typing`. (The sleep paces the typist; nothing waits on it.) On a
    // machine so busy that the refresh comes too late to mean anything, try
    // again, on a fresh board.
    for attempt in 1..=3 {
        let board = t.board(attempt);
        let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
        let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
        let first = Instant::now();
        alice.send_json(&typing_request(task)).await?;
        bob.expect_json(&typing("Alice", task), &format!("Alice is typing on {task}")).await?;
        tokio::time::sleep(ttl / 4).await;
        let refreshed = Instant::now();
        alice.send_json(&typing_request(task)).await?;
        if refreshed - first > ttl / 2 {
            continue;
        }
        let why = format!(
            "Alice sent typing again {} ms later: the indicator lasts TYPING_TTL_MS ({} ms) from that refresh",
            (refreshed - first).as_millis(),
            ttl.as_millis()
        );
        // A refresh only keeps the indicator alive: Bob already knows Alice
        // is typing, so the next thing he hears is that she stopped.
        let why = format!("{why}; a refresh is not forwarded, so the next message is typing_stopped");
        bob.expect_json(&typing_stopped("Alice", task), &why).await?;
        let after_refresh = refreshed.elapsed();
        if after_refresh < ttl * 9 / 10 {
            return Err(bob
                .fail(
                    format!(
                        "typing_stopped came {} ms after the refresh: the refresh did not extend the indicator",
                        after_refresh.as_millis()
                    ),
                    format!("typing_stopped no sooner than {} ms after the refresh", ttl.as_millis()),
                )
                .got(format!(
                    "typing_stopped {} ms after the first typing, {} ms after the refresh",
                    first.elapsed().as_millis(),
                    after_refresh.as_millis()
                )));
        }
        return Ok(());
    }
    Err(Failure::new("this machine is too busy to pace a typist: three refreshes came too late")
        .sent(tr.render()))
}

async fn typing_stops_when_the_typist_leaves(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    alice.send_json(&typing_request("task-3")).await?;
    bob.expect_json(&typing("Alice", "task-3"), "Alice is typing on task-3").await?;
    alice.drop_tcp();
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "Alice's connection dropped while she was typing: Bob is told she stopped typing, before he is \
         told she left",
    )
    .await?;
    bob.expect_json(&left(&board, "Alice"), "Alice's connection dropped: she left").await?;
    let _carol = enter(&t, &tr, &board, "Carol", &["Bob", "Carol"]).await?;
    bob.expect_json(&joined(&board, "Carol"), "Carol joined; nothing more about Alice came before").await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 5: heartbeats

async fn the_server_pings_every_heartbeat(t: Target) -> Result<(), Failure> {
    let heartbeat = Duration::from_millis(tunables(&t).heartbeat_ms);
    let tr = Transcript::with_pings();
    let board = t.board(1);
    let start = Instant::now();
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let expected = format!(
        "a ping every HEARTBEAT_MS ({} ms), while the client is otherwise quiet",
        heartbeat.as_millis()
    );
    for _ in 0..3 {
        alice.next_ping(&expected).await?;
    }
    // Three pings, the first maybe at once: at least two heartbeats apart.
    let elapsed = start.elapsed();
    if elapsed < heartbeat * 3 / 2 {
        return Err(alice
            .fail(format!("three pings came within {} ms: too often", elapsed.as_millis()), expected)
            .got(format!("3 pings in {} ms", elapsed.as_millis())));
    }
    Ok(())
}

async fn a_client_that_answers_pings_outlives_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let idle = Duration::from_millis(tunables.idle_timeout_ms);
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    // Both stay quiet but answer every ping, for one and a half idle timeouts —
    // measured in the server's own pings, so nothing here sleeps.
    let start = Instant::now();
    let expected = format!(
        "a ping every HEARTBEAT_MS ({} ms); Alice and Bob answer each one, and a pong is a frame: \
         nobody is idle, nobody leaves",
        tunables.heartbeat_ms
    );
    while start.elapsed() < idle * 3 / 2 {
        bob.next_ping(&expected).await?;
    }
    bob.send_json(&typing_request("task-1")).await?;
    alice
        .expect_json(
            &typing("Bob", "task-1"),
            &format!(
                "Bob is typing. Alice and Bob sent nothing for {} ms, longer than IDLE_TIMEOUT_MS, but \
                 answered every ping: nobody left",
                start.elapsed().as_millis()
            ),
        )
        .await?;
    Ok(())
}

async fn a_silent_client_is_dropped_after_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    let start = Instant::now();
    bob.mute();
    let idle = Duration::from_millis(tunables.idle_timeout_ms);
    alice
        .expect_json_within(
            &left(&board, "Bob"),
            &format!(
                "Bob stopped answering pings: after IDLE_TIMEOUT_MS ({} ms) without a frame from him, \
                 he is gone",
                tunables.idle_timeout_ms
            ),
            idle + crate::http::ANSWER_TIMEOUT,
        )
        .await?;
    // Bob's last pong came shortly before he went silent, a heartbeat or so
    // (more on a busy machine): half the idle timeout is a safe lower bound.
    let soonest = Duration::from_millis(tunables.idle_timeout_ms / 2);
    let elapsed = start.elapsed();
    if elapsed < soonest {
        return Err(alice
            .fail(
                format!("Bob was dropped {} ms after going silent: too soon", elapsed.as_millis()),
                format!(
                    "left no sooner than IDLE_TIMEOUT_MS ({} ms) after Bob's last frame",
                    tunables.idle_timeout_ms
                ),
            )
            .got(format!("left after {} ms", elapsed.as_millis())));
    }
    bob.expect_end("the server closes the connection of a client it has given up on").await?;
    expect_no_ghost(&t, &tr, &board, &mut alice, "Alice", "Bob").await
}

async fn a_client_that_never_joins_is_dropped_after_the_idle_timeout(t: Target) -> Result<(), Failure> {
    let idle = Duration::from_millis(tunables(&t).idle_timeout_ms);
    let tr = Transcript::new();
    let mut lurker = WsClient::connect(&t, &tr, "lurker").await?;
    lurker.mute();
    lurker
        .expect_end_within(
            &format!(
                "the client opened a WebSocket, never joined and went silent: after IDLE_TIMEOUT_MS \
                 ({} ms) the server lets it go",
                idle.as_millis()
            ),
            idle + crate::http::ANSWER_TIMEOUT,
        )
        .await
}

async fn a_ping_message_gets_a_pong_to_that_client_only(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&ping()).await?;
    alice.expect_json(&json!({"type": "pong"}), "a ping before join is answered too").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice.expect_json(&presence(&board, &["Alice"]), "Alice joins").await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    alice.send_json(&ping()).await?;
    alice.expect_json(&json!({"type": "pong"}), "Alice's ping is answered to Alice").await?;
    // The marker: Alice types. Bob's next message must be about that; a pong
    // meant for Alice would come first.
    alice.send_json(&typing_request("task-1")).await?;
    bob.expect_json(&typing("Alice", "task-1"), "Alice is typing. The pong was Alice's; Bob never gets it")
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 6: bad input

async fn a_message_before_join_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut bob = enter(&t, &tr, &board, "Bob", &["Bob"]).await?;
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&typing_request("task-1")).await?;
    expect_error(&mut alice, "typing before joining: the server does not know who or where Alice is").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(
            &presence(&board, &["Alice", "Bob"]),
            "after the error the connection is still open: Alice joins",
        )
        .await?;
    bob.expect_json(&joined(&board, "Alice"), "Alice joined; her typing before joining went nowhere").await?;
    Ok(())
}

async fn a_second_join_gets_an_error_and_changes_nothing(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut alice = enter(&t, &tr, &one, "Alice", &["Alice"]).await?;
    alice.send_json(&join(&two, "Mallory")).await?;
    expect_error(&mut alice, "a connection joins once; this one already joined as Alice").await?;
    let _bob = enter(&t, &tr, &one, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&one, "Bob"), &format!("Alice is still on {one}, still called Alice")).await?;
    let _zed = enter(&t, &tr, &two, "Zed", &["Zed"]).await?;
    Ok(())
}

async fn invalid_json_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    for text in [
        r#"{"type": "typing", "taskId": "task-3""#,
        "typing task-3",
        "[1, 2, 3]",
        r#"{"type": "typing"}"#,
        r#"{"type": "typing", "taskId": 3}"#,
    ] {
        alice.send_text(text).await?;
        expect_error(&mut alice, "the server cannot read that message, says so, and keeps the connection")
            .await?;
    }
    let _bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice
        .expect_json(&joined(&board, "Bob"), "Bob joined: Alice's connection stayed open, on the board")
        .await?;
    Ok(())
}

async fn an_unknown_type_gets_an_error_and_the_connection_stays_open(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    for message in
        [json!({"type": "dance", "taskId": "task-3"}), json!({"taskId": "task-3"}), json!({"type": 42})]
    {
        alice.send_json(&message).await?;
        expect_error(&mut alice, "the server does not know that type, says so, and keeps the connection")
            .await?;
    }
    let _bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice
        .expect_json(&joined(&board, "Bob"), "Bob joined: Alice's connection stayed open, on the board")
        .await?;
    Ok(())
}

async fn a_binary_message_is_closed_with_1003(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    alice.send_binary(vec![0x01, 0x02, 0x03]).await?;
    alice
        .expect_close(1003, "the protocol is JSON text; 1003 means \"I cannot accept this type of data\"")
        .await?;
    bob.expect_json(&left(&board, "Alice"), "the server closed Alice's connection, so she left").await?;
    Ok(())
}

async fn a_message_over_max_message_bytes_is_refused(t: Target) -> Result<(), Failure> {
    let max = tunables(&t).max_message_bytes;
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter(&t, &tr, &board, "Alice", &["Alice"]).await?;
    let mut bob = enter(&t, &tr, &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    // JSON allows whitespace after the value: pad a typing message to size.
    let message = typing_request("task-3").to_string();
    let padded = |len: usize| format!("{message}{}", " ".repeat(len.saturating_sub(message.len())));
    alice.send_text(padded(max)).await?;
    bob.expect_json(
        &typing("Alice", "task-3"),
        &format!("Alice's message was exactly MAX_MESSAGE_BYTES ({max} bytes): allowed"),
    )
    .await?;
    alice.send_text(padded(max + 1)).await?;
    alice
        .expect_close_or_tcp_closed(
            1009,
            &format!("the message was {} bytes, one more than MAX_MESSAGE_BYTES", max + 1),
        )
        .await?;
    bob.expect_json(
        &typing_stopped("Alice", "task-3"),
        "the server closed Alice's connection while she was typing: she stopped typing (then left)",
    )
    .await?;
    bob.expect_json(&left(&board, "Alice"), "the server closed Alice's connection: she left").await?;
    Ok(())
}

async fn a_failed_connection_never_gets_a_close_frame_without_a_code(t: Target) -> Result<(), Failure> {
    // How a failed connection is let go can be a race between two tasks, so
    // one connection proves little: twenty fail at once, and every one of
    // them must end as the contract says.
    const CONNECTIONS: usize = 20;
    let max = tunables(&t).max_message_bytes;
    let tr = Transcript::new();
    let too_big = format!("{}{}", typing_request("task-3"), " ".repeat(max));
    let outcomes = join_all((0..CONNECTIONS).map(|n| {
        let (t, tr, too_big) = (&t, &tr, &too_big);
        async move {
            // A board each: nothing but the close can come after the snapshot.
            let (user, board) = (format!("user-{n:02}"), t.board(n as u32 + 1));
            let mut client = WsClient::connect(t, tr, &user).await?;
            client.send_json(&join(&board, &user)).await?;
            client.next_json("the snapshot").await?;
            client.send_text(too_big.clone()).await?;
            client
                .expect_close_or_tcp_closed(
                    1009,
                    &format!(
                        "{user}'s message was over MAX_MESSAGE_BYTES ({max} bytes): the connection has \
                         failed — close 1009, or TCP closed, never a close frame without a code"
                    ),
                )
                .await
        }
    }))
    .await;
    outcomes.into_iter().collect()
}

/// Sends `GET /ws` (or `method`) with `headers`.
async fn handshake(
    t: &Target,
    method: &str,
    headers: &[(&str, &str)],
) -> Result<crate::http::Exchange, Failure> {
    let mut request = t.request(method, crate::ws::WS_PATH);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await
}

/// Requires a 426 naming the protocol (`Upgrade: websocket`) and the version.
fn expect_426(exchange: &crate::http::Exchange, expected: &str) -> Result<(), Failure> {
    exchange.expect_status(426, expected)?;
    let upgrade = exchange.header("upgrade").unwrap_or_default();
    if !upgrade.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")) {
        let got =
            if upgrade.is_empty() { "no Upgrade header".to_owned() } else { format!("Upgrade: {upgrade}") };
        return Err(
            exchange.fail(format!("the 426 has {got}: a 426 MUST name the protocol to upgrade to"), expected)
        );
    }
    match exchange.header("sec-websocket-version") {
        Some(versions) if versions.split(',').any(|v| v.trim() == "13") => Ok(()),
        Some(versions) => Err(exchange.fail(format!("the 426 names version {versions:?}, not 13"), expected)),
        None => Err(exchange.fail("the 426 has no Sec-WebSocket-Version header", expected)),
    }
}

async fn a_plain_get_is_426_with_upgrade_websocket(t: Target) -> Result<(), Failure> {
    let expected = "426 Upgrade Required with Upgrade: websocket and Sec-WebSocket-Version: 13 — RFC 9110 \
                    §15.5.22: a server that sends 426 MUST send Upgrade, naming the protocol to switch to";
    expect_426(&handshake(&t, "GET", &[]).await?, expected)?;
    let not_websocket = [("Upgrade", "h2c"), ("Connection", "Upgrade")];
    expect_426(&handshake(&t, "GET", &not_websocket).await?, expected)?;
    // HTTP/1.0 has no upgrade mechanism: the handshake can't succeed there.
    let mut raw = crate::raw::RawClient::connect(t.addr()).await?;
    raw.send(format!(
        "GET /ws HTTP/1.0\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        t.addr()
    ))
    .await?;
    let head = raw.read_response_head().await?;
    let expected = "426 Upgrade Required with Upgrade: websocket — a WebSocket needs HTTP/1.1's upgrade";
    if head.status != 426 || !head.has_token("upgrade", "websocket") {
        return Err(raw.fail(
            format!(
                "an HTTP/1.0 handshake was answered {} without 426 and Upgrade: websocket",
                head.status_line()
            ),
            expected,
        ));
    }
    Ok(())
}

async fn a_handshake_without_a_key_is_400(t: Target) -> Result<(), Failure> {
    let headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")];
    let exchange = handshake(&t, "GET", &headers).await?;
    exchange.expect_status(
        400,
        "400 Bad Request — RFC 6455 §4.2.1: a handshake without Sec-WebSocket-Key is malformed, and the \
         server answers with an HTTP error",
    )
}

async fn head_is_405_with_allow_get(t: Target) -> Result<(), Failure> {
    let exchange = handshake(
        &t,
        "HEAD",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    )
    .await?;
    let expected = "405 Method Not Allowed with Allow: GET — RFC 6455 §4.1: the handshake is a GET; RFC 9110 \
                    §15.5.6: a 405 MUST list the allowed methods in Allow";
    exchange.expect_status(405, expected)?;
    match exchange.header("allow") {
        Some(allow) if allow.split(',').any(|m| m.trim() == "GET") => Ok(()),
        Some(allow) => Err(exchange.fail(format!("the 405 allows {allow:?}, not GET"), expected)),
        None => Err(exchange.fail("the 405 has no Allow header", expected)),
    }
}

async fn a_handshake_with_version_8_is_426_with_version_13(t: Target) -> Result<(), Failure> {
    let exchange = t
        .request("GET", crate::ws::WS_PATH)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "8")
        .send()
        .await?;
    let expected = "426 Upgrade Required with Upgrade: websocket and Sec-WebSocket-Version: 13 — RFC 6455 \
                    §4.2.2: a server that does not speak the client's version answers with the versions it \
                    does speak";
    expect_426(&exchange, expected)
}

// ---------------------------------------------------------------------------
// Stage 7: many clients, and slow ones

async fn two_hundred_clients_on_one_board_all_see_everyone(t: Target) -> Result<(), Failure> {
    const CLIENTS: usize = 200;
    // Each client is two sockets in this process: its own and the server's.
    let _ = crate::ws::raise_open_files_limit(4 * CLIENTS as u64 + 256);
    let tr = Transcript::new();
    let board = t.board(1);
    let users: Vec<String> = (0..CLIENTS).map(|n| format!("user-{n:03}")).collect();
    let everyone: BTreeSet<String> = users.iter().cloned().collect();
    let connected = join_all(users.iter().map(|user| async {
        let mut client = WsClient::connect(&t, &tr, user).await?;
        client.send_json(&join(&board, user)).await?;
        Ok::<_, Failure>(client)
    }))
    .await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for client in connected {
        clients.push(client?);
    }
    // Correctness, not speed: on a busy machine 200 joins (20,000 messages)
    // take a while in a debug build, so the whole wait has one generous budget.
    let deadline = Instant::now() + Duration::from_secs(40);
    for (user, client) in users.iter().zip(&mut clients) {
        let mut view = BTreeSet::new();
        let mut snapshot = false;
        while !snapshot || view != everyone {
            let expected = format!(
                "{user} hears of all {CLIENTS} users: a snapshot, then `joined` for everyone after it \
                 (so far it knows {} of them)",
                view.len()
            );
            let within = deadline.saturating_duration_since(Instant::now()).max(crate::http::ANSWER_TIMEOUT);
            let message = client.next_json_within(&expected, within).await?;
            match message["type"].as_str() {
                Some("presence") => {
                    snapshot = true;
                    view = message["users"]
                        .as_array()
                        .map(|users| users.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                }
                Some("joined") if snapshot => {
                    view.extend(message["user"].as_str().map(str::to_owned));
                }
                Some("left") if snapshot => {
                    if let Some(gone) = message["user"].as_str() {
                        view.remove(gone);
                    }
                }
                _ => {
                    return Err(client
                        .fail("an unexpected message while 200 clients join", expected)
                        .got(message.to_string()));
                }
            }
            if !view.is_subset(&everyone) {
                return Err(client
                    .fail("the presence list holds users nobody joined as", expected)
                    .got(message.to_string()));
            }
        }
    }
    Ok(())
}

async fn a_client_that_stops_reading_does_not_delay_the_others(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let tr = Transcript::new();
    let board = t.board(1);
    let mut olivia = enter(&t, &tr, &board, "Olivia", &["Olivia"]).await?;
    // A small receive buffer, so that what Sam does not read backs up into
    // the server soon.
    let options = ConnectOptions { recv_buffer: Some(4096) };
    let mut sam = WsClient::connect_with(&t, &tr, "sam", options).await?;
    sam.send_json(&join(&board, "Sam")).await?;
    sam.expect_json(&presence(&board, &["Olivia", "Sam"]), "Sam joins").await?;
    olivia.expect_json(&joined(&board, "Sam"), "Sam joined").await?;
    let mut tom = enter(&t, &tr, &board, "Tom", &["Olivia", "Sam", "Tom"]).await?;
    olivia.expect_json(&joined(&board, "Tom"), "Tom joined").await?;

    let pong_every = tunables.heartbeat_ms.min(tunables.idle_timeout_ms / 3).max(1);
    sam.stall(Duration::from_millis(pong_every));
    // Tom types on many tasks with long ids: ~12 MiB for each listener, more
    // than any socket buffers hold, so a server that waits for Sam stalls.
    let id_bytes = (tunables.max_message_bytes / 2).min(32 * 1024);
    let rounds = (12 * 1024 * 1024) / (2 * id_bytes);
    let tasks: Vec<String> = (0..rounds).map(|n| format!("task-{n}-{}", "x".repeat(id_bytes))).collect();
    for task in &tasks {
        tom.send_json(&typing_request(task)).await?;
        tom.send_json(&typing_stopped_request(task)).await?;
    }
    tom.send_json(&typing_request("task-last")).await?;
    let sam_left = left(&board, "Sam");
    let mut want = Vec::with_capacity(2 * rounds + 1);
    for task in &tasks {
        want.push(typing("Tom", task));
        want.push(typing_stopped("Tom", task));
    }
    want.push(typing("Tom", "task-last"));
    for (n, wanted) in want.iter().enumerate() {
        let why = format!(
            "message {} of {}: Tom's typing reaches Olivia in full while Sam reads nothing (a server \
             may drop Sam for it; it must not wait for him)",
            n + 1,
            want.len()
        );
        let mut message = olivia.next_json(&why).await?;
        if json_matches(&sam_left, &message) {
            message = olivia.next_json(&why).await?;
        }
        if !json_matches(wanted, &message) {
            return Err(olivia.wrong_message(&message, &format!("{wanted}\n({why})")));
        }
    }
    Ok(())
}

async fn a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing(
    t: Target,
) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let ttl = Duration::from_millis(tunables.typing_ttl_ms);
    let tr = Transcript::new();
    let board = t.board(1);
    let everyone = ["Olivia", "Sam", "Tom", "Uma"];
    let mut olivia = enter(&t, &tr, &board, "Olivia", &everyone[..1]).await?;
    let options = ConnectOptions { recv_buffer: Some(4096) };
    let mut sam = WsClient::connect_with(&t, &tr, "sam", options).await?;
    sam.send_json(&join(&board, "Sam")).await?;
    sam.expect_json(&presence(&board, &everyone[..2]), "Sam joins").await?;
    let mut tom = enter(&t, &tr, &board, "Tom", &everyone[..3]).await?;
    let mut uma = enter(&t, &tr, &board, "Uma", &everyone).await?;
    for user in ["Tom", "Uma"] {
        sam.expect_json(&joined(&board, user), &format!("{user} joined")).await?;
    }
    uma.send_json(&typing_request("task-u")).await?;
    sam.expect_json(&typing("Uma", "task-u"), "Uma is typing on task-u").await?;
    olivia.send_json(&typing_request("task-o")).await?;
    sam.expect_json(&typing("Olivia", "task-o"), "Olivia is typing on task-o").await?;
    let mut view = Picture::default();
    view.apply(&presence_typing(&board, &everyone, &[("Olivia", "task-o"), ("Uma", "task-u")]));

    // Uma keeps typing, refreshing a few times per TTL from a task of its
    // own. (Refreshes are not forwarded. On a machine too busy to refresh
    // in time her indicator expires, and the others are told so: the check
    // still holds, it only has one typist fewer to compare.)
    let (over, mut done) = watch::channel(false);
    let refresher = tokio::spawn(async move {
        let mut every = tokio::time::interval(ttl / 4);
        loop {
            tokio::select! {
                biased;
                _ = done.changed() => return uma,
                _ = every.tick() => {
                    if uma.send_json(&typing_request("task-u")).await.is_err() {
                        return uma;
                    }
                }
            }
        }
    });

    // Sam stops reading. Tom types on many tasks with long ids, far more
    // than the socket buffers hold (about 3 MiB on Linux's loopback), so
    // Sam's announcements pile up until his room receiver lags; three
    // quarters of the way through, Olivia stops typing. That announcement
    // is lost to Sam: dozens more fall after it before he reads again.
    let pong_every = tunables.heartbeat_ms.min(tunables.idle_timeout_ms / 3).max(1);
    sam.stall(Duration::from_millis(pong_every));
    let id_bytes = (tunables.max_message_bytes / 2).min(32 * 1024);
    let rounds = (12 * 1024 * 1024) / (2 * id_bytes);
    let mut last_task = String::new();
    for n in 0..rounds {
        last_task = format!("task-{n}-{}", "x".repeat(id_bytes));
        tom.send_json(&typing_request(&last_task)).await?;
        tom.send_json(&typing_stopped_request(&last_task)).await?;
        match n.cmp(&(rounds * 3 / 4)) {
            std::cmp::Ordering::Less => olivia.send_json(&typing_request("task-o")).await?,
            std::cmp::Ordering::Equal => olivia.send_json(&typing_stopped_request("task-o")).await?,
            std::cmp::Ordering::Greater => {}
        }
    }
    // Settled: Olivia has heard Tom's last message, so the server has
    // handled all of Tom's and Olivia's.
    let last = typing_stopped("Tom", &last_task);
    let expected = format!("{last} (Tom's last message)");
    loop {
        // Only the last task's messages are worth parsing: 12 MiB of JSON
        // would keep this thread busy for a while in a debug build.
        match olivia.next(&expected).await? {
            Incoming::Text(text) if text.contains(&last_task) => {
                if serde_json::from_str::<Value>(&text).is_ok_and(|message| json_matches(&last, &message)) {
                    break;
                }
            }
            Incoming::Text(_) => {}
            other => return Err(olivia.fail("the connection ended", expected).got(other.describe())),
        }
    }

    // Sam reads again, applying what he hears as a page does. Each time a
    // presence comes, Tom types on a fresh marker task: when the marker is
    // the next thing Sam hears, that presence was the last resync.
    sam.resume();
    let why = "Sam fell so far behind that announcements were lost, Olivia's typing_stopped among them: \
               the server sends him a fresh presence — who is there and who is typing now";
    let mut presences = Vec::new();
    let mut marker = None;
    loop {
        let expected = match &marker {
            Some(marker) => format!("{marker}, or another presence\n({why})"),
            None => format!("a presence with \"typing\"\n({why})"),
        };
        let message = sam.next_json(&expected).await.map_err(|failure| Failure {
            headline: format!(
                "sam fell behind but never got a fresh presence (presences since: {}): Olivia stays \
                 typing on his screen — a ghost",
                if presences.is_empty() { "none".to_owned() } else { presences.join(", ") }
            ),
            ..failure
        })?;
        if message["type"] == "presence" {
            if !message["typing"].is_array() {
                return Err(
                    sam.wrong_message(&message, &format!("a presence that lists who is typing\n({why})"))
                );
            }
            presences.push(message["typing"].to_string());
            let task = format!("task-m{}", presences.len());
            tom.send_json(&typing_request(&task)).await?;
            marker = Some(typing("Tom", &task));
        }
        view.apply(&message);
        if marker.as_ref().is_some_and(|marker| json_matches(marker, &message)) {
            break;
        }
    }

    // A newcomer's snapshot is the truth. Tom types once more, and Sam and
    // Carol — applying what each heard — must agree on it.
    let mut carol = WsClient::connect(&t, &tr, "carol").await?;
    carol.send_json(&join(&board, "Carol")).await?;
    let mut truth = Picture::default();
    truth.apply(&carol.next_json("Carol's snapshot").await?);
    tom.send_json(&typing_request("task-z")).await?;
    let z = typing("Tom", "task-z");
    for (client, picture) in [(&mut sam, &mut view), (&mut carol, &mut truth)] {
        loop {
            let message = client.next_json(&format!("{z} (Tom typing: the marker)")).await?;
            picture.apply(&message);
            if json_matches(&z, &message) {
                break;
            }
        }
    }
    let _ = over.send(true);
    let _uma = refresher.await;
    view.users.insert("Carol".to_owned());
    if view != truth {
        return Err(sam
            .fail(
                format!(
                    "after his resync Sam sees {} typing, a newcomer sees {}: the presence he was sent \
                     did not list exactly who is typing now",
                    view.typing_list(),
                    truth.typing_list()
                ),
                format!("the same board as Carol's: {}\n({why})", truth.typing_list()),
            )
            .got(format!("Sam's board, from what he was sent: {}", view.typing_list())));
    }
    Ok(())
}

/// A board as a page draws it from the messages it receives: `presence` is
/// the whole truth, the others change it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Picture {
    users: BTreeSet<String>,
    typing: BTreeSet<(String, String)>,
}

impl Picture {
    fn apply(&mut self, message: &Value) {
        let text = |field: &str| message[field].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("presence") => {
                let users = message["users"].as_array().into_iter().flatten();
                self.users = users.filter_map(|u| u.as_str().map(str::to_owned)).collect();
                let typing = message["typing"].as_array().into_iter().flatten();
                self.typing = typing
                    .map(|t| {
                        (
                            t["user"].as_str().unwrap_or_default().to_owned(),
                            t["taskId"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
            }
            Some("joined") => {
                self.users.insert(text("user"));
            }
            Some("left") => {
                self.users.remove(&text("user"));
            }
            Some("typing") => {
                self.typing.insert((text("user"), text("taskId")));
            }
            Some("typing_stopped") => {
                self.typing.remove(&(text("user"), text("taskId")));
            }
            _ => {}
        }
    }

    fn typing_list(&self) -> String {
        let typists: Vec<String> =
            self.typing.iter().map(|(user, task)| format!("{user} on {task}")).collect();
        if typists.is_empty() { "nobody".to_owned() } else { typists.join(", ") }
    }
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks above.

fn tunables(t: &Target) -> Tunables {
    t.tunables().unwrap_or(Tunables::PRODUCTION)
}

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

/// Connects a client labelled after `user` and joins: the snapshot must
/// list exactly `users`.
async fn enter(
    t: &Target,
    tr: &Transcript,
    board: &str,
    user: &str,
    users: &[&str],
) -> Result<WsClient, Failure> {
    enter_as(t, tr, &user.to_lowercase(), board, user, users).await
}

pub(crate) async fn enter_as(
    t: &Target,
    tr: &Transcript,
    label: &str,
    board: &str,
    user: &str,
    users: &[&str],
) -> Result<WsClient, Failure> {
    let mut client = WsClient::connect(t, tr, label).await?;
    client.send_json(&join(board, user)).await?;
    let why = format!(
        "{user} joins {board}: the snapshot lists everyone on it, {user} included, sorted, and who is \
         typing (nobody)"
    );
    client.expect_json(&presence(board, users), &why).await?;
    Ok(client)
}

/// Requires the next message to be `{"type":"error","message":"…"}` with a
/// message that says something.
async fn expect_error(client: &mut WsClient, why: &str) -> Result<(), Failure> {
    let want = json!({"type": "error"});
    let got = client.expect_json(&want, &format!("{{\"type\":\"error\",\"message\":\"…\"}}: {why}")).await?;
    match got["message"].as_str() {
        Some(message) if !message.trim().is_empty() => Ok(()),
        _ => Err(client
            .fail(
                "the error has no \"message\" saying what was wrong",
                format!("a non-empty message ({why})"),
            )
            .got(got.to_string())),
    }
}

/// After `gone` left: the marker is Carol joining. `watcher` must hear of
/// Carol next (no second `left`), and Carol's snapshot must not list `gone`.
async fn expect_no_ghost(
    t: &Target,
    tr: &Transcript,
    board: &str,
    watcher: &mut WsClient,
    watcher_user: &str,
    gone: &str,
) -> Result<(), Failure> {
    let mut users = vec![watcher_user, "Carol"];
    users.sort_unstable();
    let _carol = enter(t, tr, board, "Carol", &users).await?;
    watcher
        .expect_json(
            &joined(board, "Carol"),
            &format!("Carol joined. {gone} left exactly once: nothing more about {gone} came before"),
        )
        .await?;
    Ok(())
}
