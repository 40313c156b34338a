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

use std::time::Duration;

use std::net::SocketAddr;

use futures_util::future::join_all;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::chapter01::board_count;
use crate::http::{ANSWER_TIMEOUT, Exchange};
use crate::sse::{Event, EventStream, Item, Next};
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 2,
    slug: "02-sse",
    title: "Server-Sent Events",
    tunables: Tunables { keepalive_ms: 200, replay_capacity: 16, ..Tunables::PRODUCTION },
    checks: CHECKS,
};

const PAGE: &str = "ch02-sse.md";

/// How soon an event must follow the HTTP response that caused it.
const REAL_TIME: Duration = Duration::from_millis(500);

/// How late a keep-alive may be, beyond `KEEPALIVE_MS`, on a busy machine.
const KEEPALIVE_SLACK: Duration = Duration::from_millis(500);

/// The origin the book is served from locally; its pages call the server.
const BOOK_ORIGIN: &str = "http://localhost:4000";

/// The title of the task the slow-subscriber checks move around: each event
/// carries it, so that a few hundred kilobytes of events are only a few
/// dozen of them.
const BIG_TITLE_BYTES: usize = 64 << 10;

/// How many bytes of events the slow-subscriber checks send beyond
/// `REPLAY_CAPACITY` events: twice what Linux lets one loopback connection
/// hold in its socket buffers by default (`tcp_wmem` up to 4 MiB), so the
/// server cannot hide a stuck client's backlog in the kernel.
const BYTES_BEYOND_BUFFERS: usize = 8 << 20;

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
    Check {
        name: "the_stream_is_200_text_event_stream_and_not_cached",
        stage: STREAM,
        section: OPENING_SECTION,
        hints: &[
            "`board_events` answers `Sse::new(stream)`: axum's `Sse` sets `Content-Type: \
             text/event-stream` and `Cache-Control: no-cache` for you.",
            "The stream can start as `futures_util::stream::iter(events)`, a `Vec<Result<Event, \
             Infallible>>` of what you already know (the retry and the snapshot); it grows in stage 2.",
            "A shape that lasts: `board_events` calls `state.boards.subscribe(..)` and hands a \
             `Subscriber` to `futures_util::stream::unfold`, which asks it for one `Event` after \
             another; `sse_event`, `snapshot_event` and `reset_event` turn what the feed gives into \
             SSE events.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(the_stream_is_200_text_event_stream_and_not_cached(t)),
    },
    Check {
        name: "a_fresh_stream_sets_the_reconnection_time_with_retry",
        stage: STREAM,
        section: OPENING_SECTION,
        hints: &["Start the stream with `Event::default().retry(RETRY)`: it tells `EventSource` how long \
             to wait before reconnecting. Alone it dispatches nothing (it has no data), which is fine."],
        needs: Needs::Address,
        body: |t| Box::pin(a_fresh_stream_sets_the_reconnection_time_with_retry(t)),
    },
    Check {
        name: "a_fresh_stream_starts_with_a_snapshot_of_the_board",
        stage: STREAM,
        section: SNAPSHOT_SECTION,
        hints: &[
            "Without `Last-Event-ID`, `Feed::subscribe` starts with `Start::Snapshot`: the board's \
             tasks and the id of the last event it published (0 when there was none).",
            "Send it as `Event::default().event(\"snapshot\").id(snapshot.event_id.to_string())\
             .data(json)` with the JSON `{\"eventId\": N, \"tasks\": […]}`. The `id:` line and \
             `eventId` carry the same number.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_fresh_stream_starts_with_a_snapshot_of_the_board(t)),
    },
    Check {
        name: "creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data",
        stage: EVENTS,
        section: PUSHING_SECTION,
        hints: &[
            "`Feed::publish` numbers the change, keeps it, and sends it with `self.sender.send(..)`; \
             the stream then turns each `FeedEvent` the receiver gets into an SSE event.",
            "`task_created` and `task_moved` carry the whole task, `task_deleted` only `{\"id\": …}`: \
             `serde_json::to_string(change)` writes exactly that (see how `Change` is declared).",
            "A `broadcast::Sender::send` with no receivers returns an error: that is fine, nobody \
             is listening. Ignore it.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data(t)),
    },
    Check {
        name: "event_ids_start_at_1_and_increase_strictly_per_board",
        stage: EVENTS,
        section: PUSHING_SECTION,
        hints: &["Each board's `Feed` counts its own events: `last_id` starts at 0, and `publish` adds 1 \
             before numbering a change. Every event gets an `id:` line."],
        needs: Needs::Address,
        body: |t| Box::pin(event_ids_start_at_1_and_increase_strictly_per_board(t)),
    },
    Check {
        name: "a_snapshot_carries_the_id_of_the_latest_event",
        stage: EVENTS,
        section: PUSHING_SECTION,
        hints: &[
            "Take the snapshot and subscribe to the broadcast in one step, under the board's lock: \
             then the receiver gets exactly the events after the snapshot, none twice, none lost.",
            "The snapshot's `eventId` is the feed's `last_id` at that moment.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_snapshot_carries_the_id_of_the_latest_event(t)),
    },
    Check {
        name: "each_event_arrives_within_500_ms_of_the_response_that_caused_it",
        stage: EVENTS,
        section: PUSHING_SECTION,
        hints: &[
            "The stream must stay open and yield each event as the receiver gets it: build it with \
             `futures_util::stream::unfold` around `receiver.recv().await`, not by collecting a `Vec`.",
            "Publish before the handler answers (inside `Boards::create`, under the lock), so the \
             event is on its way by the time the client sees the response.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(each_event_arrives_within_500_ms_of_the_response_that_caused_it(t)),
    },
    Check {
        name: "every_subscriber_of_a_board_gets_every_event",
        stage: FANOUT,
        section: FANOUT_SECTION,
        hints: &["One `broadcast::Sender` per board; each connection gets its own receiver from \
             `sender.subscribe()`. A single receiver shared by all connections would hand each event \
             to only one of them."],
        needs: Needs::Address,
        body: |t| Box::pin(every_subscriber_of_a_board_gets_every_event(t)),
    },
    Check {
        name: "a_subscriber_gets_no_events_of_other_boards",
        stage: FANOUT,
        section: FANOUT_SECTION,
        hints: &["Keep the sender in the board's own `Feed`, not one channel for the whole server."],
        needs: Needs::Address,
        body: |t| Box::pin(a_subscriber_gets_no_events_of_other_boards(t)),
    },
    Check {
        name: "a_hundred_subscribers_all_get_every_event",
        stage: FANOUT,
        section: FANOUT_SECTION,
        hints: &["Nothing per subscriber may block the others: no lock held across an `.await`, no loop \
             over subscribers that waits for each one."],
        needs: Needs::Address,
        body: |t| Box::pin(a_hundred_subscribers_all_get_every_event(t)),
    },
    Check {
        name: "subscribers_of_unknown_boards_leave_no_board_behind",
        stage: FANOUT,
        section: FANOUT_SECTION,
        hints: &[
            "`Boards::subscribe` (given) forgets a board that never held a task once its last \
             receiver is dropped. So drop yours when the client goes: keep the receiver inside \
             the response's stream, which axum drops when the connection closes.",
            "A task spawned per subscriber that forwards events into a channel keeps its receiver \
             alive after the client has gone, unless it stops when a send fails.",
        ],
        needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex02-sse`"),
        body: |t| Box::pin(subscribers_of_unknown_boards_leave_no_board_behind(t)),
    },
    Check {
        name: "a_keep_alive_comment_arrives_every_keepalive_ms",
        stage: KEEPALIVE,
        section: KEEPALIVE_SECTION,
        hints: &[
            "`Sse::new(stream).keep_alive(KeepAlive::new().interval(config.keepalive))`: axum sends a \
             comment line (`:`) whenever the stream has been quiet that long.",
            "A keep-alive must be a comment: an event (even `event: ping`) would wake every listener \
             in the browser.",
        ],
        needs: Needs::Tunables("waits for keep-alives every KEEPALIVE_MS, which the checks set to 200 ms"),
        body: |t| Box::pin(a_keep_alive_comment_arrives_every_keepalive_ms(t)),
    },
    Check {
        name: "the_api_and_the_stream_allow_other_origins",
        stage: CORS,
        section: CORS_SECTION,
        hints: &[
            "Add a `tower_http::cors::CorsLayer` to the router: `allow_origin(Any)`, the methods the \
             API uses, and the request headers `Content-Type` and `Last-Event-ID`.",
            "A `POST` with `Content-Type: application/json` or any `PATCH` from another origin is \
             preceded by an `OPTIONS` preflight: the layer answers it.",
            "A page reads only the response headers CORS exposes: `expose_headers([header::LOCATION])` \
             lets it read where a created task lives.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(the_api_and_the_stream_allow_other_origins(t)),
    },
    Check {
        name: "last_event_id_replays_exactly_the_events_after_it_then_continues_live",
        stage: REPLAY,
        section: REPLAY_SECTION,
        hints: &[
            "Read the header with `headers.get(\"last-event-id\")` and pass it to `Feed::subscribe`.",
            "Keep the last `REPLAY_CAPACITY` events in a `VecDeque`; replay those with an id greater \
             than N, then go on with the live receiver (subscribed under the same lock).",
            "N equal to the latest id is not an error: there is simply nothing to replay.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(last_event_id_replays_exactly_the_events_after_it_then_continues_live(t)),
    },
    Check {
        name: "last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot",
        stage: REPLAY,
        section: REPLAY_SECTION,
        hints: &[
            "The feed keeps exactly `REPLAY_CAPACITY` events: push each new one to the back and pop the \
             front when it is full.",
            "You can replay after N only if the event right after N is still kept: N + 1 ≥ the \
             oldest kept id. Otherwise answer `Start::Reset`: an `event: reset` (with some data, or \
             the browser drops it), then a fresh snapshot.",
        ],
        needs: Needs::Tunables("creates REPLAY_CAPACITY + 4 events, with REPLAY_CAPACITY set to 16"),
        body: |t| Box::pin(last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot(t)),
    },
    Check {
        name: "a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot",
        stage: REPLAY,
        section: REPLAY_SECTION,
        hints: &[
            "An id greater than the board's latest was given out before a restart: the events it \
             refers to are gone. Reset.",
            "An id that is not a number (`abc`, `-1`, `2.5`) did not come from this server. Reset too: \
             never a silent gap, never an error status (EventSource would give up for good).",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot(t)),
    },
    Check {
        name: "a_subscriber_that_stops_reading_does_not_delay_the_others",
        stage: SLOW,
        section: SLOW_SECTION,
        hints: &[
            "Publishing must never wait for a subscriber: `broadcast::Sender::send` doesn't. A loop \
             that `.await`s a bounded channel per subscriber does, once one of them is full.",
            "Each connection's stream runs on its own; a subscriber that cannot keep up only \
             falls behind in its own receiver.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_subscriber_that_stops_reading_does_not_delay_the_others(t)),
    },
    Check {
        name: "a_subscriber_too_far_behind_gets_reset_or_is_disconnected",
        stage: SLOW,
        section: SLOW_SECTION,
        hints: &[
            "Make the broadcast channel's capacity `REPLAY_CAPACITY`: a receiver more than that \
             behind gets `Err(RecvError::Lagged(n))` from `recv()`.",
            "On `Lagged`, don't end the stream silently (axum's chat example does): send `reset` \
             and a fresh snapshot, from a fresh subscription.",
        ],
        needs: Needs::Tunables("needs REPLAY_CAPACITY set to 16 to know how far behind is too far"),
        body: |t| Box::pin(a_subscriber_too_far_behind_gets_reset_or_is_disconnected(t)),
    },
    Check {
        name: "parser_reads_fields_comments_and_multi_line_data",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &[
            "Split off the field name at the first `:`; drop one space after it, and only one.",
            "Each `data` line appends its value and a `\\n`; at dispatch, remove the last `\\n`. No \
             `event` field means the type `message`.",
            "A line starting with `:` is a comment; a field name you don't know is ignored.",
        ],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_reads_fields_comments_and_multi_line_data(t)),
    },
    Check {
        name: "parser_dispatches_only_events_with_data_at_a_blank_line",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &[
            "A blank line dispatches; if no `data` line came (the data buffer is empty), nothing is \
             dispatched, and the event type is forgotten too.",
            "A line `data` without a colon is the field `data` with an empty value: it still counts.",
            "Bytes after the last blank line are an unfinished event: keep them until more come.",
        ],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_dispatches_only_events_with_data_at_a_blank_line(t)),
    },
    Check {
        name: "parser_accepts_crlf_lf_and_cr_line_endings",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &["A line ends at CR, at LF, or at CR LF — one ending, not two. So `\\r\\n` is one end of \
             line, while `\\n\\r` is two (a blank line)."],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_accepts_crlf_lf_and_cr_line_endings(t)),
    },
    Check {
        name: "parser_gives_the_same_events_however_the_bytes_are_split",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &[
            "Keep the bytes of an unfinished line between calls to `feed`, and only handle a line \
             once its end has come.",
            "A chunk can end right after a CR: remember it, so an LF at the start of the next chunk \
             is not taken for a second (blank) line.",
            "Work on bytes and decode a line only when it is complete: a chunk can end in the middle \
             of a multi-byte UTF-8 character.",
        ],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_gives_the_same_events_however_the_bytes_are_split(t)),
    },
    Check {
        name: "parser_strips_one_leading_bom_and_no_other",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &["Only the very first bytes of the stream may be a BOM (`EF BB BF`): strip it from the \
             first line. A BOM anywhere else is part of the text — here, of a field name nobody knows."],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_strips_one_leading_bom_and_no_other(t)),
    },
    Check {
        name: "parser_keeps_the_last_event_id_and_the_retry_time",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &[
            "The `id` field sets the last event ID *buffer*, and every blank line copies the \
             buffer into the last event ID the events carry, even when nothing is dispatched. It \
             stays until another `id` changes it; an empty `id` clears it; an id containing NUL \
             is ignored.",
            "`retry` counts only if its value is all ASCII digits; anything else is ignored.",
        ],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_keeps_the_last_event_id_and_the_retry_time(t)),
    },
    Check {
        name: "parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line",
        stage: PARSER,
        section: PARSER_SECTION,
        hints: &[
            "Keep two things: the *buffer* the `id` field sets, and the stream's last event ID, \
             which a blank line sets from the buffer — whether or not the event had data.",
            "`last_event_id()` answers the latter: an `id` in an event the connection dropped \
             before its blank line must never be sent back as `Last-Event-ID`.",
        ],
        needs: PARSER_NEEDS,
        body: |t| Box::pin(parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line(t)),
    },
];

// ---------------------------------------------------------------------------
// Stage 1: opening the stream

async fn the_stream_is_200_text_event_stream_and_not_cached(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut stream = EventStream::subscribe(&t, &board, None).await?;
    let no_cache = stream
        .header("cache-control")
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-cache")));
    if !no_cache {
        stream.read_for(Duration::from_millis(200)).await;
        return Err(stream.fail(
            "the event stream has no Cache-Control: no-cache header",
            "Cache-Control: no-cache, so no cache on the way answers a later request with a stored \
             copy of the stream without asking the server",
        ));
    }
    Ok(())
}

async fn a_fresh_stream_sets_the_reconnection_time_with_retry(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut stream = EventStream::subscribe(&t, &board, None).await?;
    let expected = "a line `retry: <milliseconds>` before the first event or in it, e.g. `retry: 2000`";
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        match stream.next_item(deadline).await {
            Next::Item(Item::Retry(_)) => return Ok(()),
            Next::Item(Item::Comment(_)) => {}
            Next::Item(Item::Event(event)) => {
                return Err(stream.fail(
                    format!("the first event ({:?}) came without a retry: field before it", event.name),
                    expected,
                ));
            }
            Next::TimedOut => {
                return Err(stream.fail("no retry: field and no event arrived on a fresh stream", expected));
            }
            Next::Ended(why) => return Err(stream.fail(format!("the stream stopped: {why}"), expected)),
        }
    }
}

async fn a_fresh_stream_starts_with_a_snapshot_of_the_board(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != 0 || !snapshot.tasks.is_empty() {
        return Err(stream.fail(
            "the snapshot of a board where nothing has happened is not empty",
            r#"event: snapshot, id: 0, data: {"eventId":0,"tasks":[]}"#,
        ));
    }
    let first = create_task(&t, &board, "Design login page").await?;
    let second = create_task(&t, &board, "Write the API").await?;
    let first = move_task(&t, &board, &first, "doing").await?;
    let tasks = vec![first, second];
    let listed = list_tasks(&t, &board).await?;
    if listed != tasks {
        return Err(Failure::new(format!("GET /boards/{board}/tasks does not list the tasks just created"))
            .expected(format!("{} (chapter 1's API, which the starter ships working)", Value::Array(tasks)))
            .got(Value::Array(listed).to_string()));
    }
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.tasks != tasks {
        return Err(stream.fail(
            "the snapshot does not list the board's tasks as they are now",
            format!(
                "event: snapshot, with data {{\"eventId\": …, \"tasks\": {}}} (what GET /boards/{board}/tasks answers)",
                Value::Array(tasks)
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 2: pushing board changes

async fn creating_moving_and_deleting_a_task_emit_events_with_the_contracts_data(
    t: Target,
) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    let task = create_task(&t, &board, "Design login page").await?;
    let after = format!("POST /boards/{board}/tasks");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_created", &task, &after).await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let after = format!("PATCH /boards/{board}/tasks/task-1 {{\"column\":\"doing\"}}");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_moved", &moved, &after).await?;
    delete_task(&t, &board, "task-1").await?;
    let after = format!("DELETE /boards/{board}/tasks/task-1");
    expect_change(&mut stream, ANSWER_TIMEOUT, "task_deleted", &json!({"id": "task-1"}), &after).await?;
    Ok(())
}

async fn event_ids_start_at_1_and_increase_strictly_per_board(t: Target) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    let (mut a, _) = subscribe_fresh(&t, &one).await?;
    let (mut b, _) = subscribe_fresh(&t, &two).await?;
    let mut last_a = 0;
    let mut last_b = 0;
    let task = create_task(&t, &one, "On board one").await?;
    let id = expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, &format!("POST on {one}")).await?;
    expect_first_id(&a, id, &one)?;
    last_a = expect_increasing(&a, last_a, id)?;
    let other = create_task(&t, &two, "On board two").await?;
    let id = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &other, &format!("POST on {two}")).await?;
    expect_first_id(&b, id, &two)?;
    last_b = expect_increasing(&b, last_b, id)?;
    let moved = move_task(&t, &one, &task, "done").await?;
    let id = expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {one}")).await?;
    last_a = expect_increasing(&a, last_a, id)?;
    let third = create_task(&t, &two, "Also on board two").await?;
    let id = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &third, &format!("POST on {two}")).await?;
    expect_increasing(&b, last_b, id)?;
    delete_task(&t, &one, "task-1").await?;
    let deleted = json!({"id": "task-1"});
    let id =
        expect_change(&mut a, ANSWER_TIMEOUT, "task_deleted", &deleted, &format!("DELETE on {one}")).await?;
    expect_increasing(&a, last_a, id)?;
    Ok(())
}

async fn a_snapshot_carries_the_id_of_the_latest_event(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut a, _) = subscribe_fresh(&t, &board).await?;
    let mut seen = Vec::new();
    for title in ["Design login page", "Write the API"] {
        let task = create_task(&t, &board, title).await?;
        seen.push(expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, "a POST").await?);
    }
    let task = move_task(&t, &board, &json!({"id": "task-1"}), "done").await?;
    seen.push(expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &task, "a PATCH").await?);
    let latest = seen.last().copied().unwrap_or_default();

    let (mut b, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != latest {
        return Err(b.fail(
            format!(
                "the snapshot's eventId is {}; the board's latest event has id {latest}",
                snapshot.event_id
            ),
            format!(
                "event: snapshot with id: {latest} and eventId {latest}: the state after event {latest}, \
                 so the client knows which live events are news"
            ),
        ));
    }
    let task = create_task(&t, &board, "Ship it").await?;
    let next = expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, "a POST").await?;
    let got = expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &task, "the snapshot and a POST").await?;
    if got != next {
        return Err(b.fail(
            format!("after the snapshot, this subscriber got event id {got}; the others got {next}"),
            format!("the first live event after the snapshot is the board's next event, id {next}"),
        ));
    }
    Ok(())
}

async fn each_event_arrives_within_500_ms_of_the_response_that_caused_it(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    let task = create_task(&t, &board, "Design login page").await?;
    let after = format!("the response to POST /boards/{board}/tasks (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_created", &task, &after).await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let after = format!("the response to PATCH /boards/{board}/tasks/task-1 (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_moved", &moved, &after).await?;
    delete_task(&t, &board, "task-1").await?;
    let after = format!("the response to DELETE /boards/{board}/tasks/task-1 (within 500 ms of it)");
    expect_change(&mut stream, REAL_TIME, "task_deleted", &json!({"id": "task-1"}), &after).await?;
    // The stream is still open: the next change still arrives.
    let task = create_task(&t, &board, "Write the API").await?;
    let after = "a second POST (the stream stays open for as long as the client listens)";
    expect_change(&mut stream, REAL_TIME, "task_created", &task, after).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 3: every subscriber, only its board

async fn every_subscriber_of_a_board_gets_every_event(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(subscribe_fresh(&t, &board).await?.0);
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let moved = move_task(&t, &board, &task, "done").await?;
    let other = create_task(&t, &board, "Write the API").await?;
    delete_task(&t, &board, "task-1").await?;
    let changes = [
        ("task_created", task),
        ("task_moved", moved),
        ("task_created", other),
        ("task_deleted", json!({"id": "task-1"})),
    ];
    let mut ids: Option<Vec<u64>> = None;
    for (n, stream) in streams.iter_mut().enumerate() {
        let mut got = Vec::new();
        for (name, data) in &changes {
            let after = format!("4 changes to {board}, with 3 subscribers (this is subscriber {})", n + 1);
            got.push(expect_change(stream, ANSWER_TIMEOUT, name, data, &after).await?);
        }
        match &ids {
            Some(first) if *first != got => {
                return Err(stream.fail(
                    format!("subscriber {} got ids {got:?}; subscriber 1 got {first:?}", n + 1),
                    "every subscriber of a board gets the same events with the same ids",
                ));
            }
            Some(_) => {}
            None => ids = Some(got),
        }
    }
    Ok(())
}

async fn a_subscriber_gets_no_events_of_other_boards(t: Target) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    let (mut a, _) = subscribe_fresh(&t, &one).await?;
    let (mut b, _) = subscribe_fresh(&t, &two).await?;
    let task = create_task(&t, &one, "Only on board one").await?;
    let moved = move_task(&t, &one, &task, "doing").await?;
    expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &task, &format!("POST on {one}")).await?;
    expect_change(&mut a, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {one}")).await?;
    // A marker on board two: it must be the first thing board two's subscriber hears.
    let marker = create_task(&t, &two, "Marker on board two").await?;
    let after = format!("changes on {one}, then POST on {two}: {two}'s subscriber hears only the latter");
    expect_change(&mut b, ANSWER_TIMEOUT, "task_created", &marker, &after).await?;
    // And the other way round.
    let moved = move_task(&t, &two, &marker, "done").await?;
    expect_change(&mut b, ANSWER_TIMEOUT, "task_moved", &moved, &format!("PATCH on {two}")).await?;
    let marker = create_task(&t, &one, "Marker on board one").await?;
    let after = format!("a PATCH on {two}, then POST on {one}: {one}'s subscriber hears only the latter");
    expect_change(&mut a, ANSWER_TIMEOUT, "task_created", &marker, &after).await?;
    Ok(())
}

async fn a_hundred_subscribers_all_get_every_event(t: Target) -> Result<(), Failure> {
    const SUBSCRIBERS: usize = 100;
    let board = t.board(1);
    let opened = join_all((0..SUBSCRIBERS).map(|_| subscribe_fresh(&t, &board))).await;
    let mut streams = Vec::new();
    for result in opened {
        streams.push(result?.0);
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let moved = move_task(&t, &board, &task, "doing").await?;
    let other = create_task(&t, &board, "Write the API").await?;
    let changes = [("task_created", task), ("task_moved", moved), ("task_created", other)];
    let changes = &changes;
    let results = join_all(streams.iter_mut().enumerate().map(|(n, stream)| async move {
        let mut ids = Vec::new();
        for (name, data) in changes {
            let after =
                format!("3 changes to the board, with {SUBSCRIBERS} subscribers (this is number {})", n + 1);
            ids.push(expect_change(stream, ANSWER_TIMEOUT, name, data, &after).await?);
        }
        Ok::<_, Failure>(ids)
    }))
    .await;
    let mut first: Option<Vec<u64>> = None;
    for (n, result) in results.into_iter().enumerate() {
        let ids = result?;
        match &first {
            Some(want) if *want != ids => {
                return Err(streams[n].fail(
                    format!("subscriber {} got ids {ids:?}; subscriber 1 got {want:?}", n + 1),
                    "every subscriber gets the same events with the same ids",
                ));
            }
            Some(_) => {}
            None => first = Some(ids),
        }
    }
    Ok(())
}

async fn subscribers_of_unknown_boards_leave_no_board_behind(t: Target) -> Result<(), Failure> {
    // 1,000 over HTTP prove that your streams let go of their receivers;
    // `board.rs`'s own test proves the same of 10,000 without the network.
    const UNKNOWN: usize = 1_000;
    const AT_ONCE: usize = 32;
    let board = t.board(1);
    // A board that has held a task stays, even empty and unwatched: its ids
    // must go on counting.
    create_task(&t, &board, "Design login page").await?;
    drop(subscribe_fresh(&t, &board).await?);
    delete_task(&t, &board, "task-1").await?;
    let before = board_count(&t)?;

    let addr = t.addr();
    let prefix = format!("{board}-unknown-");
    stream::iter((1..=UNKNOWN).map(|n| subscribe_and_leave(addr, format!("{prefix}{n}"))))
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;

    // The server learns that a client left only when it next writes to it
    // (a keep-alive at the latest), so the count may take a moment.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut after = board_count(&t)?;
    while after != before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = board_count(&t)?;
    }
    if after != before {
        return Err(Failure::new(format!(
            "subscribers of boards nobody uses left {} boards behind after they disconnected: the \
             server held {before} boards, now {after}",
            after.saturating_sub(before)
        ))
        .sent(format!(
            "{UNKNOWN} × GET /boards/{board}-unknown-N/events, each read up to its snapshot and closed"
        ))
        .expected(format!(
            "{before} boards again within {} s: a board nobody has written to is kept only while \
             someone is subscribed",
            ANSWER_TIMEOUT.as_secs()
        ))
        .got(format!("{after} boards")));
    }

    let task = create_task(&t, &board, "Write the API").await?;
    if task["id"] != "task-2" {
        return Err(Failure::new(format!(
            "a board whose only task was deleted gave its next task the id {}",
            task["id"]
        ))
        .expected("task-2: a board that has held a task keeps its counter, so ids are never reused")
        .got(task.to_string()));
    }
    let (stream, snapshot) = subscribe_fresh(&t, &board).await?;
    if snapshot.event_id != 3 {
        return Err(stream.fail(
            format!("the board's event ids started over: its snapshot has eventId {}", snapshot.event_id),
            "eventId 3 (task-1 created, deleted, task-2 created): a board that has held a task keeps \
             counting its events",
        ));
    }
    Ok(())
}

/// Opens `board`'s event stream, reads until its snapshot, and drops the
/// connection with a reset, as a tab that closes does.
async fn subscribe_and_leave(addr: SocketAddr, board: String) -> Result<(), Failure> {
    let request =
        format!("GET /boards/{board}/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    let failed = |why: String| {
        Failure::new(format!("GET /boards/{board}/events: {why}"))
            .sent(request.clone())
            .expected("200 OK, text/event-stream, and a snapshot of the (empty) board")
    };
    let exchange = async {
        let mut socket = TcpStream::connect(addr).await?;
        socket.write_all(request.as_bytes()).await?;
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        while !received.windows(7).any(|w| w == b"\"tasks\"") {
            let n = socket.read(&mut buffer).await?;
            if n == 0 || received.len() > 64 << 10 {
                return Ok(Err(String::from_utf8_lossy(&received).into_owned()));
            }
            received.extend_from_slice(&buffer[..n]);
        }
        socket.set_zero_linger()?;
        Ok::<_, std::io::Error>(Ok(()))
    };
    match timeout(ANSWER_TIMEOUT, exchange).await {
        Err(_) => Err(failed(format!("no snapshot within {} s", ANSWER_TIMEOUT.as_secs()))),
        Ok(Err(e)) => Err(failed(format!("the connection failed ({e})"))),
        Ok(Ok(Err(got))) => Err(failed("the stream ended before a snapshot".into()).got(got)),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Stage 4: keep-alives

async fn a_keep_alive_comment_arrives_every_keepalive_ms(t: Target) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let keepalive = Duration::from_millis(tunables.keepalive_ms);
    let board = t.board(1);
    let (mut stream, _) = subscribe_fresh(&t, &board).await?;
    for n in 1..=2 {
        let expected = format!(
            "a comment line (`:` or `: keep-alive`) within KEEPALIVE_MS = {} ms of the last thing sent \
             (keep-alive number {n})",
            keepalive.as_millis()
        );
        let deadline = Instant::now() + keepalive + KEEPALIVE_SLACK;
        loop {
            match stream.next_item(deadline).await {
                Next::Item(Item::Comment(_)) => break,
                Next::Item(Item::Retry(_)) => {}
                Next::Item(Item::Event(event)) => {
                    return Err(stream.fail(
                        format!(
                            "an event ({:?}) came where a keep-alive comment belongs: nothing happened on \
                             the board, and an event would wake every listener",
                            event.name
                        ),
                        expected,
                    ));
                }
                Next::TimedOut => {
                    return Err(stream.fail(
                        format!(
                            "no keep-alive comment within {} ms on a quiet stream",
                            (keepalive + KEEPALIVE_SLACK).as_millis()
                        ),
                        expected,
                    ));
                }
                Next::Ended(why) => {
                    return Err(stream.fail(format!("the stream stopped while quiet: {why}"), expected));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 5: other origins

async fn the_api_and_the_stream_allow_other_origins(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let allowed = |value: Option<&str>| value.is_some_and(|v| v == "*" || v == BOOK_ORIGIN);
    let expected_origin =
        format!("Access-Control-Allow-Origin: * (or {BOOK_ORIGIN}), so the book's pages may read the answer");

    let path = format!("/boards/{board}/events");
    let mut stream = EventStream::open(&t, &path, &[("Origin", BOOK_ORIGIN)]).await?;
    stream.expect_event_stream().await?;
    if !allowed(stream.header("access-control-allow-origin")) {
        stream.read_for(Duration::from_millis(200)).await;
        return Err(stream.fail(
            "the event stream does not allow another origin: EventSource on the book's page would fail",
            expected_origin,
        ));
    }
    drop(stream);

    let exchange =
        t.request("GET", format!("/boards/{board}/tasks")).header("Origin", BOOK_ORIGIN).send().await?;
    exchange.expect_status(200, "200 OK with the tasks")?;
    if !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail("GET of the tasks does not allow another origin", expected_origin));
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let exchange = t
        .request("GET", format!("/boards/{board}/tasks/task-1"))
        .header("Origin", BOOK_ORIGIN)
        .send()
        .await?;
    let expected = format!("200 OK with the task {task}, and {expected_origin}");
    exchange.expect_status(200, &expected)?;
    if exchange.expect_json(&expected)? != task || !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail("GET of a task does not give it to another origin", expected));
    }
    // A page that creates a task reads where it lives from Location.
    let exchange = t
        .request("POST", format!("/boards/{board}/tasks"))
        .header("Origin", BOOK_ORIGIN)
        .json(&json!({"title": "Write the API"}))
        .send()
        .await?;
    let expected = format!(
        "201 Created with {expected_origin}, and Access-Control-Expose-Headers listing Location, so \
         the page may read where the new task lives"
    );
    exchange.expect_status(201, &expected)?;
    let exposes_location = exchange
        .header("access-control-expose-headers")
        .is_some_and(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case("location")));
    if !allowed(exchange.header("access-control-allow-origin")) || !exposes_location {
        return Err(
            exchange.fail("a cross-origin create does not expose the Location header to the page", expected)
        );
    }
    // Errors too: a page must be able to read why its request failed.
    let exchange = t
        .request("GET", format!("/boards/{board}/tasks/task-99"))
        .header("Origin", BOOK_ORIGIN)
        .send()
        .await?;
    exchange.expect_error(404, r#"404 Not Found with {"error": "…"}, as in chapter 1"#)?;
    if !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail(
            "an error response does not allow another origin: the page could not read why its request failed",
            expected_origin,
        ));
    }

    let preflights = [
        (format!("/boards/{board}/tasks"), "POST", "content-type"),
        (format!("/boards/{board}/tasks/task-1"), "PATCH", "content-type"),
        (format!("/boards/{board}/tasks/task-1"), "DELETE", ""),
        (format!("/boards/{board}/events"), "GET", "last-event-id"),
    ];
    for (path, method, header) in preflights {
        let mut request = t
            .request("OPTIONS", path)
            .header("Origin", BOOK_ORIGIN)
            .header("Access-Control-Request-Method", method);
        if !header.is_empty() {
            request = request.header("Access-Control-Request-Headers", header);
        }
        let exchange = request.send().await?;
        let expected = format!(
            "a successful preflight (200 or 204) with Access-Control-Allow-Origin, \
             Access-Control-Allow-Methods listing {method}{}",
            if header.is_empty() {
                String::new()
            } else {
                format!(" and Access-Control-Allow-Headers listing {header}")
            }
        );
        preflight_allows(&exchange, method, header, &expected, allowed)?;
    }
    Ok(())
}

fn preflight_allows(
    exchange: &Exchange,
    method: &str,
    header: &str,
    expected: &str,
    allowed_origin: impl Fn(Option<&str>) -> bool,
) -> Result<(), Failure> {
    let lists = |name: &str, item: &str| {
        exchange
            .header(name)
            .is_some_and(|v| v.split(',').any(|x| x.trim() == "*" || x.trim().eq_ignore_ascii_case(item)))
    };
    let request = format!("the preflight for a cross-origin {method}");
    if !(200..300).contains(&exchange.status) {
        return Err(exchange.fail(format!("{request} was answered {}", exchange.status), expected));
    }
    if !allowed_origin(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail(format!("{request} does not allow the origin"), expected));
    }
    if !lists("access-control-allow-methods", method) {
        return Err(exchange.fail(format!("{request} does not allow the method {method}"), expected));
    }
    if !header.is_empty() && !lists("access-control-allow-headers", header) {
        return Err(exchange.fail(format!("{request} does not allow the header {header}"), expected));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 6: reconnecting without losing events

async fn last_event_id_replays_exactly_the_events_after_it_then_continues_live(
    t: Target,
) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    // A browser that saw the snapshot of an empty board (id 0) and lost the
    // connection comes back with Last-Event-ID: 0: nothing to replay yet.
    let mut empty = EventStream::subscribe(&t, &board, Some("0")).await?;
    let mut seen = Vec::new();
    let one = create_task(&t, &board, "Design login page").await?;
    seen.push(expect_seen(&mut live, "task_created", &one).await?);
    expect_replay(&mut empty, "0", &seen).await?;
    let two = create_task(&t, &board, "Write the API").await?;
    seen.push(expect_seen(&mut live, "task_created", &two).await?);
    let one = move_task(&t, &board, &one, "doing").await?;
    seen.push(expect_seen(&mut live, "task_moved", &one).await?);
    let three = create_task(&t, &board, "Ship it").await?;
    seen.push(expect_seen(&mut live, "task_created", &three).await?);
    delete_task(&t, &board, "task-2").await?;
    seen.push(expect_seen(&mut live, "task_deleted", &json!({"id": "task-2"})).await?);

    // Back after event 2: events 3, 4, 5 again, then live ones.
    let from = seen[1].id.to_string();
    let mut back = EventStream::subscribe(&t, &board, Some(&from)).await?;
    expect_replay(&mut back, &from, &seen[2..]).await?;
    let three = move_task(&t, &board, &three, "done").await?;
    let next = expect_seen(&mut live, "task_moved", &three).await?;
    expect_replay(&mut back, &from, std::slice::from_ref(&next)).await?;
    seen.push(next);

    // Back after the latest event: nothing to replay, the next event is live.
    let latest = seen[seen.len() - 1].id.to_string();
    let mut caught_up = EventStream::subscribe(&t, &board, Some(&latest)).await?;
    let four = create_task(&t, &board, "Celebrate").await?;
    let next = expect_seen(&mut live, "task_created", &four).await?;
    expect_replay(&mut caught_up, &latest, std::slice::from_ref(&next)).await?;
    seen.push(next);

    // Back from the very start: everything, in order.
    let mut from_start = EventStream::subscribe(&t, &board, Some("0")).await?;
    expect_replay(&mut from_start, "0", &seen).await
}

async fn last_event_id_older_than_the_replay_buffer_gets_reset_then_a_snapshot(
    t: Target,
) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let capacity = tunables.replay_capacity;
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    let mut seen = Vec::new();
    let mut task = create_task(&t, &board, "Design login page").await?;
    seen.push(expect_seen(&mut live, "task_created", &task).await?);
    for column in ["doing", "done", "todo"].iter().cycle().take(capacity + 3) {
        task = move_task(&t, &board, &task, column).await?;
        seen.push(expect_seen(&mut live, "task_moved", &task).await?);
    }
    // REPLAY_CAPACITY + 4 events: the last REPLAY_CAPACITY are 5, 6, …, so
    // after event 4 all is kept, after event 3 one is missing.
    let from = seen[3].id.to_string();
    let mut back = EventStream::subscribe(&t, &board, Some(&from)).await?;
    expect_replay(&mut back, &from, &seen[4..]).await.map_err(|f| {
        let headline = format!(
            "{} (the server keeps the last REPLAY_CAPACITY = {capacity} events, and those are all that \
             came after id {from})",
            f.headline
        );
        Failure { headline, ..f }
    })?;

    let too_old = seen[2].id.to_string();
    let latest = seen[seen.len() - 1].id;
    let expected_tasks = [task.clone()];
    expect_reset_then_snapshot(&t, &board, &too_old, latest, &expected_tasks, "is older than the events kept")
        .await
}

async fn a_future_or_malformed_last_event_id_gets_reset_then_a_snapshot(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let (mut live, _) = subscribe_fresh(&t, &board).await?;
    let one = create_task(&t, &board, "Design login page").await?;
    expect_seen(&mut live, "task_created", &one).await?;
    let two = create_task(&t, &board, "Write the API").await?;
    let latest = expect_seen(&mut live, "task_created", &two).await?.id;
    let tasks = [one, two];
    let next = (latest + 1).to_string();
    let far = (latest + 1000).to_string();
    let bad = [
        (next.as_str(), "is one more than the latest event's id (from before a restart?)"),
        (far.as_str(), "is far in the future"),
        ("abc", "is not a number"),
        ("-1", "is negative"),
        ("2.5", "is not a whole number"),
    ];
    for (id, why) in bad {
        expect_reset_then_snapshot(&t, &board, id, latest, &tasks, why).await?;
    }
    let untouched = t.board(2);
    expect_reset_then_snapshot(&t, &untouched, "1", 0, &[], "names an event of a board that has none").await
}

// ---------------------------------------------------------------------------
// Stage 7: slow subscribers

async fn a_subscriber_that_stops_reading_does_not_delay_the_others(t: Target) -> Result<(), Failure> {
    let capacity = t.tunables().map_or(CHAPTER.tunables.replay_capacity, |t| t.replay_capacity);
    let _behind = fall_behind(&t, capacity).await?;
    Ok(())
}

async fn a_subscriber_too_far_behind_gets_reset_or_is_disconnected(t: Target) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let capacity = tunables.replay_capacity;
    let behind = fall_behind(&t, capacity).await?;
    let FallenBehind { board, mut slow, ids, task } = behind;
    let sent = ids.len();
    let expected = format!(
        "the slow subscriber, {sent} events behind (more than REPLAY_CAPACITY = {capacity}), gets the \
         events it was already sent, then `event: reset` and a fresh snapshot — or the response ends, so \
         that EventSource reconnects with Last-Event-ID"
    );
    let mut next = 0;
    loop {
        match slow.next_item(Instant::now() + ANSWER_TIMEOUT).await {
            Next::Item(Item::Event(event)) if event.name == "reset" => break,
            Next::Item(Item::Event(event)) => {
                let id = event_id(&slow, &event, &expected)?;
                if ids.get(next) != Some(&id) {
                    return Err(slow.fail(
                        format!(
                            "the slow subscriber got event id {id} where id {} was next, with no reset \
                             before it: a silent gap",
                            ids.get(next).map_or("(none)".to_owned(), u64::to_string)
                        ),
                        expected,
                    ));
                }
                next += 1;
                if next == sent {
                    return Err(slow.fail(
                        format!(
                            "the slow subscriber got all {sent} events it missed, with no reset: the server \
                             kept more than REPLAY_CAPACITY = {capacity} events for it (a queue without bound \
                             lets one stuck client eat the server's memory)"
                        ),
                        expected,
                    ));
                }
            }
            Next::Item(_) => {}
            Next::Ended(_) => return Ok(()),
            Next::TimedOut => {
                return Err(slow.fail(
                    format!(
                        "the slow subscriber read again, and nothing came within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    ),
                    expected,
                ));
            }
        }
    }
    // After the reset: a snapshot, then the events after it, then live ones.
    let event = slow.next_event(ANSWER_TIMEOUT, "event: snapshot right after the reset").await?;
    let snapshot = parse_snapshot(&slow, &event, "event: snapshot right after the reset")?;
    let latest = ids[sent - 1];
    if snapshot.event_id == latest && snapshot.tasks != [task.clone()] {
        return Err(slow.fail(
            "the snapshot after the reset does not show the board as it is",
            format!("a snapshot with eventId {latest} and the tasks [{task}]"),
        ));
    }
    let Some(from) = ids.iter().position(|&id| id == snapshot.event_id) else {
        return Err(slow.fail(
            format!(
                "the snapshot after the reset has eventId {}, an id the board never sent",
                snapshot.event_id
            ),
            format!("a snapshot with the id of the latest event ({latest})"),
        ));
    };
    for &want in &ids[from + 1..] {
        let event = slow.next_event(ANSWER_TIMEOUT, "the events after the snapshot").await?;
        let id = event_id(&slow, &event, "the events after the snapshot")?;
        if id != want {
            return Err(slow.fail(
                format!(
                    "after the snapshot with eventId {}, event id {id} came; expected {want}",
                    snapshot.event_id
                ),
                "every event after the snapshot, in order",
            ));
        }
    }
    let moved = move_task(&t, &board, &task, "done").await?;
    expect_change(&mut slow, ANSWER_TIMEOUT, "task_moved", &moved, "the reset, the snapshot, and a PATCH")
        .await?;
    Ok(())
}

/// A subscriber that stopped reading while a big task moved far more often
/// than `capacity` events, and more than socket buffers hold.
struct FallenBehind {
    board: String,
    slow: EventStream,
    /// The ids of the events a subscriber that kept reading got, in order.
    ids: Vec<u64>,
    /// The big task as it is now.
    task: Value,
}

async fn fall_behind(t: &Target, capacity: usize) -> Result<FallenBehind, Failure> {
    let moves = capacity + BYTES_BEYOND_BUFFERS / BIG_TITLE_BYTES;
    let board = t.board(1);
    let (slow, _) = subscribe_fresh(t, &board).await?;
    let (mut fast, _) = subscribe_fresh(t, &board).await?;
    let stuck = |f: Failure| Failure {
        headline: format!("while one subscriber was not reading: {}", f.headline),
        ..f
    };
    let title = "x".repeat(BIG_TITLE_BYTES);
    let task = create_task(t, &board, &title).await.map_err(stuck)?;
    let after = "a POST of a task with a 64 KiB title, while another subscriber reads nothing";
    // A server that waits for the stuck subscriber stops delivering for good
    // once its socket buffers fill, so a generous deadline still catches it,
    // and a busy machine doesn't make a correct server fail.
    let mut ids = vec![expect_change(&mut fast, ANSWER_TIMEOUT, "task_created", &task, after).await?];
    let path = format!("/boards/{board}/tasks/task-1");
    let mut column = "todo";
    for n in 1..=moves {
        column = ["doing", "done", "todo"][n % 3];
        // Only the status: these checks move a lot of bytes, and the events'
        // data is checked elsewhere.
        t.request("PATCH", path.clone())
            .json(&json!({ "column": column }))
            .send()
            .await
            .and_then(|exchange| exchange.expect_status(200, "200 OK with the moved task"))
            .map_err(stuck)?;
        let expected = format!(
            "event: task_moved after the response to PATCH number {n} of {moves} (each event \
             carries the task's 64 KiB title), while another subscriber reads nothing"
        );
        let event = fast.next_event(ANSWER_TIMEOUT, &expected).await?;
        if event.name != "task_moved" {
            return Err(
                fast.fail(format!("the next event is {:?}; expected \"task_moved\"", event.name), expected)
            );
        }
        let id = event_id(&fast, &event, &expected)?;
        ids.push(expect_increasing(&fast, ids[ids.len() - 1], id)?);
    }
    let task = json!({ "id": "task-1", "title": title, "column": column });
    Ok(FallenBehind { board, slow, ids, task })
}

// ---------------------------------------------------------------------------
// Stage 8: the parser

/// An event as the parser under test dispatched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
}

/// What a parser made of a whole stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The events it dispatched, in order.
    pub events: Vec<ParsedEvent>,
    /// Its reconnection time at the end, in milliseconds, if a `retry`
    /// field set one.
    pub retry_ms: Option<u64>,
    /// What it would send as `Last-Event-ID` if the connection dropped at
    /// the end (empty: no header).
    pub last_event_id: String,
}

/// The learner's client-side parser, as `tests/checks.rs` hands it over:
/// a fresh parser, fed `chunks` one after the other.
#[derive(Debug, Clone, Copy)]
pub struct ParseChunks(pub fn(&[&[u8]]) -> Parsed);

/// A stream and what the WHATWG algorithm makes of it.
struct Case {
    what: &'static str,
    stream: &'static [u8],
    /// `(event type, data, last event id)`.
    events: &'static [(&'static str, &'static str, &'static str)],
    retry_ms: Option<u64>,
    /// The stream's last event ID at the end: what a reconnection sends.
    last_event_id: &'static str,
}

const FIELDS: Case = Case {
    what: "fields, comments and multi-line data",
    stream: b": a comment: browsers ignore it\n\
              event: task_created\n\
              id: 1\n\
              data: {\"id\":\"task-1\"}\n\
              \n\
              data: first line\n\
              : a comment between data lines\n\
              data: second line\n\
              \n\
              data:no space after the colon\n\
              \n\
              data:  two spaces, one is kept\n\
              \n\
              data: a colon: in the value\n\
              unknown: a field nobody knows\n\
              Data: field names are case-sensitive\n\
              data : a space before the colon makes another name\n\
              \n\
              event:\n\
              data: an empty event type means message\n\
              \n",
    events: &[
        ("task_created", "{\"id\":\"task-1\"}", "1"),
        ("message", "first line\nsecond line", "1"),
        ("message", "no space after the colon", "1"),
        ("message", " two spaces, one is kept", "1"),
        ("message", "a colon: in the value", "1"),
        ("message", "an empty event type means message", "1"),
    ],
    retry_ms: None,
    last_event_id: "1",
};

const DISPATCH: Case = Case {
    what: "which blank lines dispatch",
    stream: b"event: no_data\n\
              \n\
              data: the type of an event that was not dispatched is forgotten\n\
              \n\
              : only a comment\n\
              \n\
              unknown: only unknown fields\n\
              \n\
              data\n\
              \n\
              data\n\
              data\n\
              \n\
              \n\
              \n\
              event: unfinished\n\
              data: no blank line after it yet",
    events: &[
        ("message", "the type of an event that was not dispatched is forgotten", ""),
        ("message", "", ""),
        ("message", "\n", ""),
    ],
    retry_ms: None,
    last_event_id: "",
};

const LINE_ENDINGS: Case = Case {
    what: "LF, CRLF and CR line endings, mixed",
    stream: b"event: lf\ndata: 1\n\n\
              event: crlf\r\ndata: 2\r\n\r\n\
              event: cr\rdata: 3\r\r\
              data: crlf then lf\r\n\n\
              data: lf then cr\n\r\
              data: cr then crlf\r\r\n\n\
              data: last\n\n",
    events: &[
        ("lf", "1", ""),
        ("crlf", "2", ""),
        ("cr", "3", ""),
        ("message", "crlf then lf", ""),
        ("message", "lf then cr", ""),
        ("message", "cr then crlf", ""),
        ("message", "last", ""),
    ],
    retry_ms: None,
    last_event_id: "",
};

const SPLITS: Case = Case {
    what: "a stream of every kind of line, UTF-8 included",
    stream:
        "\u{feff}: hi\r\nevent: task_moved\r\nid: 41\r\ndata: {\"title\":\"Caf\u{e9} \u{1f680}\"}\r\n\r\n\
             data: two\rdata: lines\r\rid: 42\n\ndata: x\n\n"
            .as_bytes(),
    events: &[
        ("task_moved", "{\"title\":\"Caf\u{e9} \u{1f680}\"}", "41"),
        ("message", "two\nlines", "41"),
        ("message", "x", "42"),
    ],
    retry_ms: None,
    last_event_id: "42",
};

const BOMS: [Case; 3] = [
    Case {
        what: "a BOM at the start",
        stream: "\u{feff}data: after the BOM\n\n".as_bytes(),
        events: &[("message", "after the BOM", "")],
        retry_ms: None,
        last_event_id: "",
    },
    Case {
        what: "two BOMs at the start: the second is part of the field name",
        stream: "\u{feff}\u{feff}data: not data\n\ndata: next\n\n".as_bytes(),
        events: &[("message", "next", "")],
        retry_ms: None,
        last_event_id: "",
    },
    Case {
        what: "a BOM later on: part of the field name",
        stream: "data: first\n\n\u{feff}data: not data\n\n".as_bytes(),
        events: &[("message", "first", "")],
        retry_ms: None,
        last_event_id: "",
    },
];

const IDS_AND_RETRY: Case = Case {
    what: "ids and retry",
    stream: b"retry: 500\n\
              id: 7\n\
              \n\
              data: after an id with no data\n\
              \n\
              data: the id stays\n\
              \n\
              retry: 1500\n\
              retry: 2s\n\
              retry: -1\n\
              retry: +5\n\
              retry: 1 000\n\
              id\n\
              data: an empty id clears it\n\
              \n\
              id: 8\0\n\
              data: an id with NUL is ignored\n\
              \n\
              data: an id after the data counts too\n\
              id: 9\n\
              \n",
    events: &[
        ("message", "after an id with no data", "7"),
        ("message", "the id stays", "7"),
        ("message", "an empty id clears it", ""),
        ("message", "an id with NUL is ignored", ""),
        ("message", "an id after the data counts too", "9"),
    ],
    retry_ms: Some(1500),
    last_event_id: "9",
};

const ID_AT_DISPATCH: Case = Case {
    what: "ids that count only at a blank line",
    stream: b"id: 1\n\
              data: a\n\
              \n\
              id: 2\n\
              \n\
              id: 3\n\
              data: the connection drops before the blank line",
    events: &[("message", "a", "1")],
    retry_ms: None,
    last_event_id: "2",
};

async fn parser_reads_fields_comments_and_multi_line_data(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &FIELDS, &whole_and_bytewise(FIELDS.stream))
}

async fn parser_dispatches_only_events_with_data_at_a_blank_line(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &DISPATCH, &whole_and_bytewise(DISPATCH.stream))
}

async fn parser_accepts_crlf_lf_and_cr_line_endings(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &LINE_ENDINGS, &whole_and_bytewise(LINE_ENDINGS.stream))
}

async fn parser_gives_the_same_events_however_the_bytes_are_split(t: Target) -> Result<(), Failure> {
    let stream = SPLITS.stream;
    let mut splits = whole_and_bytewise(stream);
    for i in 1..stream.len() {
        splits.push(vec![&stream[..i], &stream[i..]]);
    }
    for i in 1..stream.len() {
        for j in i + 1..stream.len() {
            splits.push(vec![&stream[..i], &stream[i..j], &stream[j..]]);
        }
    }
    // Empty chunks happen too (a read that returned nothing new).
    splits.push(vec![b"", &stream[..5], b"", &stream[5..], b""]);
    expect_parse(&t, &SPLITS, &splits)
}

async fn parser_strips_one_leading_bom_and_no_other(t: Target) -> Result<(), Failure> {
    for case in &BOMS {
        expect_parse(&t, case, &whole_and_bytewise(case.stream))?;
    }
    Ok(())
}

async fn parser_keeps_the_last_event_id_and_the_retry_time(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &IDS_AND_RETRY, &whole_and_bytewise(IDS_AND_RETRY.stream))
}

async fn parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &ID_AT_DISPATCH, &whole_and_bytewise(ID_AT_DISPATCH.stream))
}

fn whole_and_bytewise(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    vec![vec![stream], stream.chunks(1).collect()]
}

/// Feeds `case` to the learner's parser in each of `splits`, and requires
/// exactly the events and the retry time the spec gives.
fn expect_parse(t: &Target, case: &Case, splits: &[Vec<&[u8]>]) -> Result<(), Failure> {
    let ParseChunks(parse) = *t.local::<ParseChunks>()?;
    let want = Parsed {
        events: case
            .events
            .iter()
            .map(|(event_type, data, last_event_id)| ParsedEvent {
                event_type: (*event_type).to_owned(),
                data: (*data).to_owned(),
                last_event_id: (*last_event_id).to_owned(),
            })
            .collect(),
        retry_ms: case.retry_ms,
        last_event_id: case.last_event_id.to_owned(),
    };
    for chunks in splits {
        let got = std::panic::catch_unwind(|| parse(chunks)).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_owned());
            Failure::new(format!("your parser panicked on {}: {message}", case.what))
                .sent(show_chunks(chunks))
                .expected(show_parsed(&want))
        })?;
        if got != want {
            return Err(Failure::new(format!(
                "your parser read {} differently from the spec ({})",
                case.what,
                how_split(chunks)
            ))
            .sent(show_chunks(chunks))
            .expected(show_parsed(&want))
            .got(show_parsed(&got)));
        }
    }
    Ok(())
}

fn how_split(chunks: &[&[u8]]) -> String {
    match chunks.len() {
        1 => "fed in one piece".to_owned(),
        n if chunks.iter().all(|c| c.len() == 1) => format!("fed one byte at a time, {n} calls"),
        n => format!("fed in {n} chunks"),
    }
}

/// Chunks as the parser was fed them, bytes escaped so that line endings
/// and a split inside a character show.
fn show_chunks(chunks: &[&[u8]]) -> String {
    if chunks.len() > 3 && chunks.iter().all(|c| c.len() <= 1) {
        let whole: Vec<u8> = chunks.concat();
        return format!("one byte at a time, {} calls to feed:\n{}", chunks.len(), escape(&whole));
    }
    let mut out = match chunks.len() {
        1 => "one call to feed:\n".to_owned(),
        n => format!("{n} calls to feed:\n"),
    };
    for (n, chunk) in chunks.iter().enumerate() {
        out += &format!("{}. {}\n", n + 1, escape(chunk));
    }
    out
}

/// Bytes as a Rust byte string would write them (`\r`, `\n`, `\0`, and
/// `\xNN` for anything not printable ASCII), a line of output per line of
/// the stream.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => out += "\\n",
            b'\r' => out += "\\r",
            b'\0' => out += "\\0",
            b'"' => out += "\\\"",
            b'\\' => out += "\\\\",
            0x20..=0x7e => out.push(b as char),
            _ => out += &format!("\\x{b:02X}"),
        }
        let line_ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if line_ends && i + 1 < bytes.len() {
            out += "\n  ";
        }
    }
    out + "\""
}

fn show_parsed(parsed: &Parsed) -> String {
    let mut out = String::new();
    if parsed.events.is_empty() {
        out += "no events\n";
    }
    for (n, event) in parsed.events.iter().enumerate() {
        out += &format!(
            "{}. type {:?}, data {:?}, last event id {:?}\n",
            n + 1,
            event.event_type,
            event.data,
            event.last_event_id
        );
    }
    match parsed.retry_ms {
        Some(ms) => out += &format!("reconnection time: {ms} ms\n"),
        None => out += "reconnection time: never set\n",
    }
    match parsed.last_event_id.as_str() {
        "" => out += "a reconnection sends no Last-Event-ID\n",
        id => out += &format!("a reconnection sends Last-Event-ID: {id}\n"),
    }
    out
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks above.

/// A snapshot event's content.
struct Snapshot {
    event_id: u64,
    tasks: Vec<Value>,
}

/// An event a check saw, to compare with a replay.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    name: String,
    id: u64,
    data: Value,
}

/// Opens a board's stream without `Last-Event-ID` and reads its snapshot.
async fn subscribe_fresh(t: &Target, board: &str) -> Result<(EventStream, Snapshot), Failure> {
    let mut stream = EventStream::subscribe(t, board, None).await?;
    let expected = "a fresh connection (no Last-Event-ID) starts with\n\
                    event: snapshot\nid: N\ndata: {\"eventId\": N, \"tasks\": [ …the board's tasks… ]}";
    let event = stream.next_event(ANSWER_TIMEOUT, expected).await?;
    let snapshot = parse_snapshot(&stream, &event, expected)?;
    Ok((stream, snapshot))
}

/// Requires a `snapshot` event with `{"eventId": N, "tasks": [...]}` and `id: N`.
fn parse_snapshot(stream: &EventStream, event: &Event, expected: &str) -> Result<Snapshot, Failure> {
    if event.name != "snapshot" {
        return Err(
            stream.fail(format!("the first event is {:?}; expected \"snapshot\"", event.name), expected)
        );
    }
    let data: Value = serde_json::from_str(&event.data)
        .map_err(|e| stream.fail(format!("the snapshot's data is not JSON ({e})"), expected))?;
    let (Some(event_id), Some(tasks)) = (data["eventId"].as_u64(), data["tasks"].as_array()) else {
        return Err(
            stream.fail("the snapshot's data is not {\"eventId\": <a number>, \"tasks\": [ … ]}", expected)
        );
    };
    if event.id.as_deref() != Some(event_id.to_string().as_str()) {
        return Err(stream.fail(
            format!(
                "the snapshot's id: field is {:?}; its eventId is {event_id}",
                event.id.as_deref().unwrap_or("missing")
            ),
            format!(
                "id: {event_id} on the snapshot, so that a browser reconnecting sends Last-Event-ID: {event_id}"
            ),
        ));
    }
    Ok(Snapshot { event_id, tasks: tasks.clone() })
}

/// The event's `id:` field as a number.
fn event_id(stream: &EventStream, event: &Event, expected: &str) -> Result<u64, Failure> {
    match event.id.as_deref().map(str::parse::<u64>) {
        Some(Ok(id)) => Ok(id),
        Some(Err(_)) => Err(stream.fail(
            format!(
                "the {} event's id {:?} is not a whole number",
                event.name,
                event.id.as_deref().unwrap_or("")
            ),
            expected,
        )),
        None => Err(stream.fail(
            format!("the {} event has no id: field", event.name),
            format!("{expected}\n(every event carries an id: line with the board's next event number)"),
        )),
    }
}

/// Requires the next event to be `name` with JSON `data`; returns its id.
async fn expect_change(
    stream: &mut EventStream,
    within: Duration,
    name: &str,
    data: &Value,
    after: &str,
) -> Result<u64, Failure> {
    let expected = format!("after {after}:\nevent: {name}\nid: <the board's next event id>\ndata: {data}");
    let event = stream.next_event(within, &expected).await?;
    if event.name != name {
        return Err(stream.fail(
            format!("after {after}, the next event is {:?}; expected {name:?}", event.name),
            expected,
        ));
    }
    let got: Value = serde_json::from_str(&event.data)
        .map_err(|e| stream.fail(format!("the {name} event's data is not JSON ({e})"), &expected))?;
    if &got != data {
        return Err(stream.fail(format!("the {name} event's data is not what the contract says"), expected));
    }
    event_id(stream, &event, &expected)
}

/// Like [`expect_change`], keeping the event to compare with a replay.
async fn expect_seen(stream: &mut EventStream, name: &str, data: &Value) -> Result<Seen, Failure> {
    let id = expect_change(stream, ANSWER_TIMEOUT, name, data, "a change to the board").await?;
    Ok(Seen { name: name.to_owned(), id, data: data.clone() })
}

fn expect_first_id(stream: &EventStream, id: u64, board: &str) -> Result<(), Failure> {
    if id == 1 {
        return Ok(());
    }
    Err(stream.fail(
        format!("the first event of {board} has id {id}"),
        "id: 1 — each board counts its own events from 1",
    ))
}

/// Requires `id` to come after `last`; returns it.
fn expect_increasing(stream: &EventStream, last: u64, id: u64) -> Result<u64, Failure> {
    if id > last {
        return Ok(id);
    }
    Err(stream.fail(
        format!("event id {id} came after id {last}"),
        "each event of a board has a greater id than the one before",
    ))
}

/// Requires `want`, in order, as the next events of a stream opened with
/// `Last-Event-ID: from`.
async fn expect_replay(stream: &mut EventStream, from: &str, want: &[Seen]) -> Result<(), Failure> {
    for seen in want {
        let expected = format!(
            "with Last-Event-ID: {from}, the events after {from} again, as they were sent: now\n\
             event: {}\nid: {}\ndata: {}",
            seen.name, seen.id, seen.data
        );
        let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
        if event.name == "snapshot" || event.name == "reset" {
            return Err(stream.fail(
                format!(
                    "with Last-Event-ID: {from}, an id the server can still replay from, the stream \
                     started over with {:?}",
                    event.name
                ),
                expected,
            ));
        }
        let id = event_id(stream, &event, &expected)?;
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        if (event.name.as_str(), id, &data) != (seen.name.as_str(), seen.id, &seen.data) {
            return Err(stream.fail(
                format!(
                    "with Last-Event-ID: {from}, event {:?} id {id} came where event id {} belongs",
                    event.name, seen.id
                ),
                expected,
            ));
        }
    }
    Ok(())
}

/// Opens the board's stream with `Last-Event-ID: id` and requires `reset`,
/// then a snapshot of `tasks` at event `latest`, then live events.
async fn expect_reset_then_snapshot(
    t: &Target,
    board: &str,
    id: &str,
    latest: u64,
    tasks: &[Value],
    why: &str,
) -> Result<(), Failure> {
    let mut stream = EventStream::subscribe(t, board, Some(id)).await?;
    let expected = format!(
        "Last-Event-ID: {id} {why}, so the events after it cannot be replayed:\n\
         event: reset\ndata: …\n\nthen\nevent: snapshot\nid: {latest}\ndata: {{\"eventId\":{latest},\"tasks\":{}}}",
        Value::Array(tasks.to_vec())
    );
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    if event.name != "reset" {
        return Err(stream.fail(
            format!(
                "with Last-Event-ID: {id} (which {why}), the first event is {:?}; expected \"reset\"",
                event.name
            ),
            expected,
        ));
    }
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await.map_err(|failure| Failure {
        headline: format!("after event: reset, no snapshot came: {}", failure.headline),
        ..failure
    })?;
    if event.name != "snapshot" {
        return Err(stream.fail(
            format!("after event: reset, the next event is {:?}; expected \"snapshot\"", event.name),
            expected,
        ));
    }
    let snapshot = parse_snapshot(&stream, &event, &expected)?;
    if snapshot.event_id != latest || snapshot.tasks != tasks {
        return Err(stream.fail("the snapshot after the reset does not show the board as it is", expected));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// HTTP, as chapter 1 built it.

async fn create_task(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange =
        t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await?;
    let expected = "201 Created with the new task (this check creates tasks to watch their events)";
    exchange.expect_status(201, expected)?;
    exchange.expect_json(expected)
}

async fn move_task(t: &Target, board: &str, task: &Value, column: &str) -> Result<Value, Failure> {
    let id = task["id"].as_str().unwrap_or("task-1");
    let exchange = t
        .request("PATCH", format!("/boards/{board}/tasks/{id}"))
        .json(&json!({ "column": column }))
        .send()
        .await?;
    let expected = "200 OK with the moved task";
    exchange.expect_status(200, expected)?;
    exchange.expect_json(expected)
}

async fn list_tasks(t: &Target, board: &str) -> Result<Vec<Value>, Failure> {
    let exchange = t.request("GET", format!("/boards/{board}/tasks")).send().await?;
    let expected = "200 OK with the board's tasks as a JSON array";
    exchange.expect_status(200, expected)?;
    match exchange.expect_json(expected)? {
        Value::Array(tasks) => Ok(tasks),
        _ => Err(exchange.fail("the task list is not a JSON array", expected)),
    }
}

async fn delete_task(t: &Target, board: &str, task: &str) -> Result<(), Failure> {
    let exchange = t.request("DELETE", format!("/boards/{board}/tasks/{task}")).send().await?;
    exchange.expect_status(204, "204 No Content")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::Parser;
    use crate::{Locals, Target};

    /// The checks' own reading of the format, through the learner's door.
    fn reference(chunks: &[&[u8]]) -> Parsed {
        let mut parser = Parser::new();
        let mut parsed = Parsed::default();
        for chunk in chunks {
            for item in parser.feed(chunk) {
                match item {
                    Item::Event(e) => parsed.events.push(ParsedEvent {
                        event_type: e.name,
                        data: e.data,
                        last_event_id: e.last_event_id,
                    }),
                    Item::Retry(ms) => parsed.retry_ms = Some(ms),
                    Item::Comment(_) => {}
                }
            }
        }
        parsed.last_event_id = parser.last_event_id().to_owned();
        parsed
    }

    /// The parser checks' expectations agree with the reference parser: two
    /// independent readings of the spec.
    #[tokio::test]
    async fn the_reference_parser_passes_the_parser_checks() {
        let target = Target::in_process(
            "127.0.0.1:9".parse().unwrap(),
            CHAPTER.tunables,
            Locals::new().with(ParseChunks(reference)),
        );
        for check in CHAPTER.checks.iter().filter(|c| c.stage == PARSER) {
            if let Err(failure) = (check.body)(target.clone()).await {
                panic!("{}: {failure}", check.name);
            }
        }
    }
}
