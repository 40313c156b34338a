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
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `helpers` and `messages` hold what several stages share. `CHECKS` lists
//! them all in stage order.

mod errors;
mod heartbeats;
mod helpers;
mod joining;
mod leaving;
mod messages;
mod room;
mod scale;
mod typing;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub(crate) use helpers::enter_as;
pub(crate) use messages::{
    join, joined, left, presence, typing, typing_request, typing_stopped, typing_stopped_request,
};

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
    joining::joining_answers_a_presence_snapshot_with_yourself::CHECK,
    room::a_joiner_sees_everyone_on_the_board_sorted::CHECK,
    room::the_others_are_told_who_joined::CHECK,
    room::boards_are_isolated::CHECK,
    leaving::a_clean_close_tells_the_others_once_and_leaves_no_ghost::CHECK,
    leaving::a_dropped_connection_tells_the_others_once_and_leaves_no_ghost::CHECK,
    leaving::one_user_in_two_tabs_is_listed_once::CHECK,
    typing::typing_reaches_the_others_but_not_the_typist::CHECK,
    typing::a_joiner_is_told_who_is_typing::CHECK,
    typing::typing_stopped_reaches_the_others_when_asked::CHECK,
    typing::typing_stops_by_itself_after_the_ttl::CHECK,
    typing::a_refreshed_typing_indicator_lasts_a_ttl_from_the_last_refresh::CHECK,
    typing::typing_stops_when_the_typist_leaves::CHECK,
    heartbeats::the_server_pings_every_heartbeat::CHECK,
    heartbeats::a_client_that_answers_pings_outlives_the_idle_timeout::CHECK,
    heartbeats::a_silent_client_is_dropped_after_the_idle_timeout::CHECK,
    heartbeats::a_client_that_never_joins_is_dropped_after_the_idle_timeout::CHECK,
    heartbeats::a_ping_message_gets_a_pong_to_that_client_only::CHECK,
    errors::a_message_before_join_gets_an_error_and_the_connection_stays_open::CHECK,
    errors::a_second_join_gets_an_error_and_changes_nothing::CHECK,
    errors::invalid_json_gets_an_error_and_the_connection_stays_open::CHECK,
    errors::an_unknown_type_gets_an_error_and_the_connection_stays_open::CHECK,
    errors::a_binary_message_is_closed_with_1003::CHECK,
    errors::a_message_over_max_message_bytes_is_refused::CHECK,
    errors::a_failed_connection_never_gets_a_close_frame_without_a_code::CHECK,
    errors::a_plain_get_is_426_with_upgrade_websocket::CHECK,
    errors::a_handshake_without_a_key_is_400::CHECK,
    errors::head_is_405_with_allow_get::CHECK,
    errors::a_handshake_with_version_8_is_426_with_version_13::CHECK,
    scale::two_hundred_clients_on_one_board_all_see_everyone::CHECK,
    scale::a_client_that_stops_reading_does_not_delay_the_others::CHECK,
    scale::a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing::CHECK,
];
