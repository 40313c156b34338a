//! Chapter 2, "Server-Sent Events": board updates pushed as they happen.
//!
//! The contract (the book's chapter 2 is the final word):
//! `GET /boards/{board}/events` answers `200`, `Content-Type:
//! text/event-stream`, `Cache-Control: no-cache`, a `retry:` field, then
//! `event: snapshot` (`{"eventId": N, "tasks": […]}`, `id: N`) and live
//! `task_created` / `task_moved` (the task) and `task_deleted` (`{"id"}`),
//! each with the board's next event id (1, 2, 3, …). Keep-alive comments
//! every `KEEPALIVE_MS`. `Last-Event-ID: N` replays the events after N from
//! the last `REPLAY_CAPACITY` kept; when it cannot, `event: reset` then a
//! fresh `snapshot`. A subscriber more than `REPLAY_CAPACITY` behind gets
//! `reset` or is disconnected, and never delays the others. CORS lets the
//! book's pages read everything. And a client-side parser of the format,
//! checked by feeding it bytes.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `helpers` and `api` hold what several stages share. `CHECKS` lists them
//! all in stage order.

mod api;
mod cors;
mod events;
mod fanout;
mod helpers;
mod keepalive;
mod parser;
mod replay;
mod slow;
mod stream;

use crate::{Chapter, Check, Needs, Section, Stage, Tunables};

pub use parser::{ParseChunks, Parsed, ParsedEvent};

pub const CHAPTER: Chapter =
    Chapter { number: 2, slug: "02-sse", title: "Server-Sent Events", tunables: TUNABLES, checks: CHECKS };

/// The short settings the in-process checks start the server with.
const TUNABLES: Tunables = Tunables { keepalive_ms: 200, replay_capacity: 16, ..Tunables::PRODUCTION };

const PAGE: &str = "ch02-sse.md";

const STREAM: Stage = Stage { number: 1, slug: "stream", title: "Open the stream" };
const EVENTS: Stage = Stage { number: 2, slug: "events", title: "Push board changes" };
const FANOUT: Stage = Stage { number: 3, slug: "fanout", title: "Every subscriber, only its board" };
const KEEPALIVE: Stage = Stage { number: 4, slug: "keepalive", title: "Keep-alives" };
const CORS: Stage = Stage { number: 5, slug: "cors", title: "Other origins" };
const REPLAY: Stage = Stage { number: 6, slug: "replay", title: "Reconnect without losing events" };
const SLOW: Stage = Stage { number: 7, slug: "slow", title: "Slow subscribers" };
const PARSER: Stage = Stage { number: 8, slug: "parser", title: "Parse the stream yourself" };

const OPENING_SECTION: Section =
    Section { page: PAGE, anchor: "opening-the-stream", title: "Opening the stream" };
const SNAPSHOT_SECTION: Section =
    Section { page: PAGE, anchor: "a-snapshot-first", title: "A snapshot first" };
const PUSHING_SECTION: Section =
    Section { page: PAGE, anchor: "pushing-board-changes", title: "Pushing board changes" };
const FANOUT_SECTION: Section = Section {
    page: PAGE,
    anchor: "every-subscriber-only-its-board",
    title: "Every subscriber, only its board",
};
const KEEPALIVE_SECTION: Section = Section {
    page: PAGE,
    anchor: "keep-alives-and-buffering-proxies",
    title: "Keep-alives and buffering proxies",
};
const CORS_SECTION: Section = Section {
    page: PAGE,
    anchor: "reading-the-stream-from-another-origin",
    title: "Reading the stream from another origin",
};
const REPLAY_SECTION: Section = Section {
    page: PAGE,
    anchor: "reconnecting-without-losing-events",
    title: "Reconnecting without losing events",
};
const SLOW_SECTION: Section =
    Section { page: PAGE, anchor: "slow-subscribers-and-lagged", title: "Slow subscribers and Lagged" };
const PARSER_SECTION: Section =
    Section { page: PAGE, anchor: "parsing-the-stream-yourself", title: "Parsing the stream yourself" };

const PARSER_NEEDS: Needs = Needs::Code("calls your parser directly: run it with `cargo test -p ex02-sse`");

const CHECKS: &[Check] = &[
    stream::the_stream_is_200_text_event_stream_and_not_cached::CHECK,
    stream::a_fresh_stream_sets_the_reconnection_time_with_retry::CHECK,
    stream::a_fresh_stream_starts_with_a_snapshot_of_the_board::CHECK,
    events::creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data::CHECK,
    events::event_ids_start_at_1_and_increase_strictly_per_board::CHECK,
    events::a_snapshot_carries_the_id_of_the_latest_event::CHECK,
    events::each_event_arrives_within_500_ms_of_the_response_that_caused_it::CHECK,
    fanout::every_subscriber_of_a_board_gets_every_event::CHECK,
    fanout::a_subscriber_gets_no_events_of_other_boards::CHECK,
    fanout::a_hundred_subscribers_all_get_every_event::CHECK,
    fanout::subscribers_of_unknown_boards_leave_no_board_behind::CHECK,
    keepalive::a_keep_alive_comment_arrives_every_keepalive_ms::CHECK,
    keepalive::an_event_goes_out_at_once_not_at_the_next_keep_alive::CHECK,
    cors::the_api_and_the_stream_allow_other_origins::CHECK,
    replay::last_event_id_replays_exactly_the_events_after_it_then_continues_live::CHECK,
    replay::last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot::CHECK,
    replay::a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot::CHECK,
    slow::a_subscriber_that_stops_reading_does_not_delay_the_others::CHECK,
    slow::events_queued_behind_a_stalled_reader_arrive_complete_in_order_with_their_ids::CHECK,
    slow::a_subscriber_too_far_behind_gets_reset_or_is_disconnected::CHECK,
    parser::parser_reads_fields_comments_and_multi_line_data::CHECK,
    parser::parser_dispatches_only_events_with_data_at_a_blank_line::CHECK,
    parser::parser_accepts_crlf_lf_and_cr_line_endings::CHECK,
    parser::parser_gives_the_same_events_however_the_bytes_are_split::CHECK,
    parser::parser_strips_one_leading_bom_and_no_other::CHECK,
    parser::parser_keeps_the_last_event_id_and_the_retry_time::CHECK,
    parser::parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line::CHECK,
];
