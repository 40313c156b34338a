//! Chapter 8, "Scaling out": several instances of the board behind one
//! Redis, stage by stage.
//!
//! 1. Shared state: tasks, ids, sessions and tickets in Redis — any
//!    instance answers any request.
//! 2. Events across instances: a Redis Stream per board, replay from any
//!    instance, one Redis read per board per instance.
//! 3. Presence across instances: entries with a TTL, no ghosts after a
//!    crash, no flapping in a rolling restart.
//! 4. Redis trouble: `503`, ended streams, closed sockets, recovery, and
//!    no acknowledged task lost.
//! 5. Commands over WebSocket, through any instance.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `cluster` and `redis_server` hold what the stages share. `CHECKS` lists
//! them all in stage order.
//!
//! Every check starts its own private `redis-server` ([`redis_server`])
//! and instances of the learner's server on it ([`cluster`]), in this
//! process, through chapter 7's `Launch`. Without `redis-server` the checks
//! are skipped with the install command — unless `CI` is set.

pub mod cluster;
mod commands;
mod events;
mod presence;
pub mod redis_server;
mod shared;
mod trouble;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 8,
    slug: "08-scale-out",
    title: "Scaling out",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

/// Why the checks are skipped against a server at a URL: not for want of
/// Redis (the server at the URL brings its own), but because each check
/// starts, stops and crashes instances of its own.
pub const STARTS_ITS_OWN: &str =
    "starts and crashes instances of your server itself: `cargo course check 8`, no --url";

const PAGE: &str = "ch08-scale-out.md";

const SHARED: Stage =
    Stage { number: 1, slug: "shared", title: "Shared state: tasks, ids and sessions in Redis" };
const EVENTS: Stage = Stage { number: 2, slug: "events", title: "Events across instances, with replay" };
const PRESENCE: Stage = Stage { number: 3, slug: "presence", title: "Presence across instances" };
const TROUBLE: Stage = Stage { number: 4, slug: "trouble", title: "When Redis is in trouble" };
const COMMANDS: Stage = Stage { number: 5, slug: "commands", title: "Commands through any instance" };

const IDS_SECTION: Section =
    Section { page: PAGE, anchor: "ids-come-from-the-shared-store", title: "Ids come from the shared store" };
const SESSIONS_SECTION: Section = Section {
    page: PAGE,
    anchor: "sessions-and-tickets-on-every-instance",
    title: "Sessions and tickets on every instance",
};
const STREAMS_SECTION: Section =
    Section { page: PAGE, anchor: "events-in-a-redis-stream", title: "Events in a Redis Stream" };
const REPLAY_SECTION: Section =
    Section { page: PAGE, anchor: "replay-from-any-instance", title: "Replay from any instance" };
const FANOUT_SECTION: Section = Section {
    page: PAGE,
    anchor: "one-read-per-board-per-instance",
    title: "One read per board per instance",
};
const PRESENCE_SECTION: Section =
    Section { page: PAGE, anchor: "presence-with-ttls", title: "Presence with TTLs" };
const CRASH_SECTION: Section =
    Section { page: PAGE, anchor: "when-an-instance-dies", title: "When an instance dies" };
const ROLLING_SECTION: Section = Section {
    page: PAGE,
    anchor: "rolling-restarts-without-flapping",
    title: "Rolling restarts without flapping",
};
const DOWN_SECTION: Section =
    Section { page: PAGE, anchor: "when-redis-is-down", title: "When Redis is down" };
const DURABLE_SECTION: Section =
    Section { page: PAGE, anchor: "nothing-acknowledged-is-lost", title: "Nothing acknowledged is lost" };
const COMMANDS_SECTION: Section =
    Section { page: PAGE, anchor: "commands-through-any-instance", title: "Commands through any instance" };

const CHECKS: &[Check] = &[
    shared::a_session_and_a_ticket_work_on_every_instance_and_a_ticket_only_once::CHECK,
    shared::creates_spread_over_three_instances_get_distinct_ids::CHECK,
    shared::a_task_deleted_through_one_instance_is_gone_from_every_instance::CHECK,
    shared::each_board_has_its_own_tasks_and_each_ticket_its_own_user::CHECK,
    events::an_event_stream_sees_a_task_created_through_another_instance_within_500_ms::CHECK,
    events::a_reconnection_to_another_instance_replays_exactly_the_missed_events::CHECK,
    events::a_reconnection_that_missed_nothing_gets_no_reset::CHECK,
    events::streams_opened_while_tasks_are_created_get_each_event_once::CHECK,
    events::a_last_event_id_older_than_the_stream_gets_reset_and_a_snapshot::CHECK,
    events::each_instance_reads_a_board_once_however_many_clients_watch::CHECK,
    events::a_quiet_board_keeps_its_streams_and_an_unwatched_one_is_no_longer_read::CHECK,
    presence::users_on_different_instances_see_each_other::CHECK,
    presence::a_user_with_tabs_on_two_instances_is_listed_once_and_leaves_once::CHECK,
    presence::a_crashed_instances_users_are_announced_left_within_the_presence_ttl::CHECK,
    presence::a_rolling_restart_moves_users_without_presence_flapping::CHECK,
    presence::a_request_in_hand_when_an_instance_shuts_down_still_gets_its_answer::CHECK,
    trouble::with_redis_down_clients_are_told_and_service_comes_back_by_itself::CHECK,
    trouble::no_acknowledged_task_is_lost_when_redis_is_killed::CHECK,
    commands::websocket_commands_work_through_any_instance::CHECK,
];
