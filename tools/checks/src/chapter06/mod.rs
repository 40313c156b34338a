//! Chapter 6, "The real-time task board": one server for HTTP, SSE and
//! WebSockets, one shared state, task commands with acks, and the page.
//!
//! What earlier chapters check (the API, the event stream, presence) is not
//! checked again here; these checks are about the pieces working together:
//! - the page at `/`, with its script and styles;
//! - a task created over HTTP reaches every event stream of its board, and
//!   only of its board, on the same server that serves the page;
//! - `create_task` and `move_task` over the WebSocket: an `ack` with the
//!   task on the socket that sent the command and on no other, the change on
//!   every event stream, and an `error` carrying the `requestId` when the
//!   command cannot be run;
//! - presence still works next to the commands.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `helpers` holds what several stages share. `CHECKS` lists them all in
//! stage order.

mod commands;
mod errors;
mod helpers;
mod presence;
mod together;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 6,
    slug: "06-board",
    title: "The real-time task board",
    // Nothing here waits for a heartbeat, a keep-alive or a typing
    // indicator to expire, so the production defaults serve, and every
    // check runs against a server at a URL as well.
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

const PAGE: &str = "ch06-board.md";

const TOGETHER: Stage = Stage { number: 1, slug: "together", title: "One server, one state" };
const COMMANDS: Stage = Stage { number: 2, slug: "commands", title: "Task commands with acks" };
const ERRORS: Stage = Stage { number: 3, slug: "errors", title: "Errors that name their request" };
const PRESENCE: Stage = Stage { number: 4, slug: "presence", title: "Presence next to the commands" };

const PAGE_SECTION: Section =
    Section { page: PAGE, anchor: "the-page-at-the-root", title: "The page at the root" };
const STATE_SECTION: Section =
    Section { page: PAGE, anchor: "one-state-every-tab", title: "One state, every tab" };
const COMMANDS_SECTION: Section = Section {
    page: PAGE,
    anchor: "task-commands-over-the-websocket",
    title: "Task commands over the WebSocket",
};
const ACK_SECTION: Section = Section {
    page: PAGE,
    anchor: "the-ack-goes-to-one-socket-the-change-to-everyone",
    title: "The ack goes to one socket, the change to everyone",
};
const ERRORS_SECTION: Section =
    Section { page: PAGE, anchor: "errors-that-name-their-request", title: "Errors that name their request" };
const PRESENCE_SECTION: Section =
    Section { page: PAGE, anchor: "presence-next-to-the-commands", title: "Presence next to the commands" };

const CHECKS: &[Check] = &[
    together::the_page_is_served_at_the_root_with_its_script_and_styles::CHECK,
    together::a_task_created_over_http_reaches_every_sse_subscriber_of_its_board_only::CHECK,
    commands::create_task_is_acked_with_the_task_on_that_socket_only::CHECK,
    commands::move_task_is_acked_with_the_moved_task::CHECK,
    commands::commands_over_the_websocket_reach_every_sse_subscriber::CHECK,
    errors::an_invalid_command_gets_an_error_with_its_request_id::CHECK,
    errors::a_command_before_join_gets_an_error_with_its_request_id::CHECK,
    presence::presence_still_holds_next_to_the_commands::CHECK,
];
