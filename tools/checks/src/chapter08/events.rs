//! Stage 2: events across instances — a Redis Stream per board, replay
//! from any instance, one read per board per instance.

use super::{EVENTS, FANOUT_SECTION, REPLAY_SECTION, STREAMS_SECTION};
use crate::Needs;
use crate::check::check;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::cluster::{self, REPLAY_CAPACITY, create, sign_in};
use super::redis_server::RedisServer;
use crate::dial::{Dial, Events};
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Target};

/// How soon an event created through one instance must reach a stream on another.
const CROSS_INSTANCE: Duration = Duration::from_millis(500);

/// How many event streams watch one board in the fan-out check.
const WATCHERS: usize = 100;

/// Opens `board`'s event stream on `dial`, optionally from `last_event_id`.
async fn subscribe(
    dial: &Dial,
    cookie: &str,
    board: &str,
    last_event_id: Option<&str>,
) -> Result<Events, Failure> {
    let stream = dial
        .request("GET", format!("/boards/{board}/events"))
        .header("Cookie", cookie)
        .header_opt("Last-Event-ID", last_event_id)
        .events()
        .await?;
    stream.answer.expect_status(200, "200 and an event stream")?;
    Ok(stream)
}

/// The title in an event's data.
fn title(data: &str) -> String {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|task| task["title"].as_str().map(str::to_owned))
        .unwrap_or_else(|| data.to_owned())
}

check!(Check {
    name: an_event_stream_sees_a_task_created_through_another_instance_within_500_ms,
    stage: EVENTS,
    section: STREAMS_SECTION,
    hints: &[
        "Append each change to the board's Redis Stream (`XADD`) in the same step as the change \
         (a Lua script), with the event's id as the entry id: `XADD … <id>-0 name … data …`.",
        "Each instance reads the stream with a blocking `XREAD BLOCK … STREAMS <key> <last id>` \
         and hands every entry to its subscribers of that board. Block on a connection of its own \
         (`Store::dedicated`): the shared one gives up on a command after 2 s, and a `503` here \
         is often a reader that failed that way.",
        "`subscribe` returns only once the board's reader knows where it starts: the reader reads \
         the last event id (`GET board:{b}:last_event`) on its own connection, says so on `ready`, \
         then reads from `<that id>-0`; `subscribe` waits for `ready` (`wait_for`). An event \
         written after `subscribe` returns then reaches the receiver.",
    ],
    needs: Needs::Redis,
});
async fn an_event_stream_sees_a_task_created_through_another_instance_within_500_ms(
    t: Target,
) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let mut stream = subscribe(&instances[0].dial, &cookie, &board, None).await?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    for n in 1..=3 {
        let title = format!("Created through b, {n}");
        create(&instances[1].dial, &cookie, &board, &title).await?;
        let expected = format!(
            "event: task_created for \"{title}\" on instance a's stream, within {} ms of instance b's 201",
            CROSS_INSTANCE.as_millis()
        );
        let event = stream.next_event(CROSS_INSTANCE, &expected).await?;
        if event.name != "task_created" || super::events::title(&event.data) != title {
            return Err(
                stream.fail(format!("instance a's stream said event: {} instead", event.name), expected)
            );
        }
    }
    Ok(())
}

check!(Check {
    name: a_reconnection_to_another_instance_replays_exactly_the_missed_events,
    stage: EVENTS,
    section: REPLAY_SECTION,
    hints: &[
        "Entry `N-0` is event `N`, so `Last-Event-ID: N` is `XRANGE <key> (N+1)-0 +`: the same on \
         every instance.",
        "Subscribe to the live events first, then read the replay; skip live events whose id you \
         already sent, so none is missed or sent twice.",
    ],
    needs: Needs::Redis,
});
async fn a_reconnection_to_another_instance_replays_exactly_the_missed_events(
    t: Target,
) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b", "c"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let mut first = subscribe(&instances[0].dial, &cookie, &board, None).await?;
    first.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    for n in 1..=3 {
        create(&instances[0].dial, &cookie, &board, &format!("Seen on a {n}")).await?;
    }
    let mut last_id = String::new();
    for n in 1..=3 {
        let event = first.next_event(ANSWER_TIMEOUT, &format!("task_created \"Seen on a {n}\"")).await?;
        last_id = event.last_event_id;
    }
    drop(first);
    let missed: Vec<String> = (1..=4).map(|n| format!("Missed while away {n}")).collect();
    for title in &missed {
        create(&instances[2].dial, &cookie, &board, title).await?;
    }
    let mut resumed = subscribe(&instances[1].dial, &cookie, &board, Some(&last_id)).await?;
    let mut got = Vec::new();
    let mut previous: u64 = last_id.parse().unwrap_or(0);
    for title in &missed {
        let expected = format!(
            "the replay on instance b after Last-Event-ID: {last_id} (from instance a): {}, in order",
            missed.join(", ")
        );
        let event = resumed.next_event(ANSWER_TIMEOUT, &expected).await?;
        let id: u64 = event.id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(0);
        got.push(format!("{} id {id}: {}", event.name, super::events::title(&event.data)));
        if event.name != "task_created" || super::events::title(&event.data) != *title || id != previous + 1 {
            return Err(Failure::new("the replay on another instance is not exactly the missed events")
                .sent(format!("GET /boards/{board}/events on instance b, Last-Event-ID: {last_id}"))
                .expected(format!(
                    "task_created for each of: {} — ids {}, {}, …",
                    missed.join(", "),
                    previous + 1,
                    previous + 2
                ))
                .got(got.join("\n")));
        }
        previous = id;
    }
    // The marker: the next event must be this one — nothing twice.
    create(&instances[0].dial, &cookie, &board, "After the replay").await?;
    let event =
        resumed.next_event(ANSWER_TIMEOUT, "the live event after the replay, and nothing else first").await?;
    if super::events::title(&event.data) != "After the replay" {
        return Err(resumed.fail(
            format!(
                "after the replay came {} \"{}\", not the next live event",
                event.name,
                title(&event.data)
            ),
            "each missed event once, then the live ones",
        ));
    }
    Ok(())
}

check!(Check {
    name: a_last_event_id_older_than_the_stream_gets_reset_and_a_snapshot,
    stage: EVENTS,
    section: REPLAY_SECTION,
    hints: &["Trim the stream as you append (`XADD … MAXLEN = REPLAY_CAPACITY`). When the entry right \
         after `Last-Event-ID` is gone, the replay would have a gap: send `reset`, then a snapshot."],
    needs: Needs::Redis,
});
async fn a_last_event_id_older_than_the_stream_gets_reset_and_a_snapshot(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let total = REPLAY_CAPACITY + 4;
    for n in 1..=total {
        create(&instances[0].dial, &cookie, &board, &format!("Task {n}")).await?;
    }
    let mut stream = subscribe(&instances[1].dial, &cookie, &board, Some("1")).await?;
    let expected = format!(
        "event: reset, then event: snapshot: with REPLAY_CAPACITY={REPLAY_CAPACITY}, the events after 1 \
         of {total} are no longer all in the stream"
    );
    let first = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    if first.name != "reset" {
        return Err(stream.fail(format!("Last-Event-ID: 1 got event: {} first", first.name), expected));
    }
    let snapshot = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    let count = serde_json::from_str::<serde_json::Value>(&snapshot.data)
        .ok()
        .and_then(|data| data["tasks"].as_array().map(Vec::len));
    if snapshot.name != "snapshot" || count != Some(total) {
        return Err(stream.fail(
            format!("after reset came event: {} with {count:?} tasks", snapshot.name),
            format!("event: snapshot with all {total} tasks"),
        ));
    }
    Ok(())
}

check!(Check {
    name: each_instance_reads_a_board_once_however_many_clients_watch,
    stage: EVENTS,
    section: FANOUT_SECTION,
    hints: &[
        "One reader per board per instance: the first subscriber starts it, the others subscribe \
         to its in-process `broadcast` channel.",
        "A blocking `XREAD` holds its connection until an entry comes: give it a connection of its \
         own, never the shared multiplexed one every other command waits on.",
    ],
    needs: Needs::Redis,
});
async fn each_instance_reads_a_board_once_however_many_clients_watch(t: Target) -> Result<(), Failure> {
    let _ = crate::ws::raise_open_files_limit(4096);
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let opened = join_all((0..WATCHERS).map(|_| subscribe(&instances[0].dial, &cookie, &board, None))).await;
    let mut watchers = Vec::new();
    for stream in opened {
        let mut stream = stream?;
        stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
        watchers.push(stream);
    }
    let mut on_b = subscribe(&instances[1].dial, &cookie, &board, None).await?;
    on_b.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;

    // The blocking reads: one per board per instance.
    let clients = redis.clients().await?;
    let readers: Vec<_> = clients.iter().filter(|c| c.cmd.starts_with("xread")).collect();
    if readers.len() > 2 {
        let lines: Vec<&str> = readers.iter().map(|c| c.line.as_str()).collect();
        return Err(Failure::new(format!(
            "{} Redis connections are reading the board's stream, for {WATCHERS} streams on instance a and 1 on b",
            readers.len()
        ))
        .sent("redis-cli CLIENT LIST, while the streams are open")
        .expected("at most 2 connections whose last command is XREAD: one per board per instance")
        .got(lines.join("\n")));
    }
    // A command on the shared connection is not held up by a blocking read.
    let started = Instant::now();
    let answer = instances[0].dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
    answer.expect_status(200, "200 and the tasks")?;
    if started.elapsed() > Duration::from_secs(1) {
        return Err(answer.fail(
            format!(
                "GET /boards/{board}/tasks took {} ms while streams were open",
                started.elapsed().as_millis()
            ),
            "an answer within 1 s: a blocking XREAD must have a connection of its own, or every other \
             command waits behind it",
        ));
    }

    let before = redis.calls("xread").await?;
    let events = 5;
    for n in 1..=events {
        create(&instances[1].dial, &cookie, &board, &format!("Fan-out {n}")).await?;
    }
    for stream in watchers.iter_mut().chain(std::iter::once(&mut on_b)) {
        for n in 1..=events {
            stream.next_event(ANSWER_TIMEOUT, &format!("task_created \"Fan-out {n}\"")).await?;
        }
    }
    let reads = redis.calls("xread").await? - before;
    // Each instance reads each event at most once (often several at a time),
    // plus the read that is waiting for the next one.
    let allowed = 2 * (events as u64 + 1);
    if reads > allowed {
        return Err(Failure::new(format!(
            "Redis ran XREAD {reads} times to deliver {events} events to {} streams on 2 instances",
            WATCHERS + 1
        ))
        .sent("redis-cli INFO commandstats, before and after the events")
        .expected(format!("at most {allowed}: one read per event per instance, fanned out in process"))
        .got(format!("{reads} XREAD calls")));
    }
    Ok(())
}

check!(Check {
    name: a_reconnection_that_missed_nothing_gets_no_reset,
    stage: EVENTS,
    section: REPLAY_SECTION,
    hints: &["`Last-Event-ID` equal to the board's last event id is a client that missed nothing: the \
         replay is empty and complete, so no `reset` and no snapshot — only the live events that \
         follow."],
    needs: Needs::Redis,
});
async fn a_reconnection_that_missed_nothing_gets_no_reset(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let mut first = subscribe(&instances[0].dial, &cookie, &board, None).await?;
    first.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    for n in 1..=2 {
        create(&instances[0].dial, &cookie, &board, &format!("Seen on a {n}")).await?;
    }
    let mut last_id = String::new();
    for n in 1..=2 {
        let event = first.next_event(ANSWER_TIMEOUT, &format!("task_created \"Seen on a {n}\"")).await?;
        last_id = event.last_event_id;
    }
    drop(first);
    let mut resumed = subscribe(&instances[1].dial, &cookie, &board, Some(&last_id)).await?;
    // The marker: the next event must be this one — no reset, no snapshot.
    create(&instances[0].dial, &cookie, &board, "After the reconnection").await?;
    let expected =
        format!("the live event: after Last-Event-ID: {last_id}, the last id there is, nothing was missed");
    let event = resumed.next_event(ANSWER_TIMEOUT, &expected).await?;
    if event.name != "task_created" || title(&event.data) != "After the reconnection" {
        return Err(resumed.fail(
            format!(
                "a reconnection with the last event id (Last-Event-ID: {last_id}) got event: {} first",
                event.name
            ),
            expected,
        ));
    }
    Ok(())
}

/// How many tasks the busy-board check creates, one after the other: fewer
/// than a subscriber's buffer holds (`REPLAY_CAPACITY`), so that a stream
/// the check reads late never falls behind it, and `reset` is never right.
const BUSY_CREATES: usize = REPLAY_CAPACITY - 1;

/// How many event streams it opens while they are being created.
const BUSY_STREAMS: usize = 12;

check!(Check {
    name: streams_opened_while_tasks_are_created_get_each_event_once,
    stage: EVENTS,
    section: REPLAY_SECTION,
    hints: &["A stream subscribes to the live events first, then reads its snapshot: an event that lands \
         in between comes both ways. Skip the live events the snapshot already holds (their id is at \
         most its `eventId`), and send `reset` only for a real gap."],
    needs: Needs::Redis,
});
async fn streams_opened_while_tasks_are_created_get_each_event_once(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let (a, b) = (&instances[0].dial, &instances[1].dial);
    // A stream already open on a: a's reader of the board runs throughout.
    let mut watcher = subscribe(a, &cookie, &board, None).await?;
    watcher.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    let creating = async {
        for n in 1..=BUSY_CREATES {
            create(b, &cookie, &board, &format!("Busy {n}")).await?;
        }
        Ok::<_, Failure>(())
    };
    let opening = async {
        let mut streams = Vec::new();
        for _ in 0..BUSY_STREAMS {
            let mut stream = subscribe(a, &cookie, &board, None).await?;
            let snapshot = stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
            let covered: u64 = snapshot.id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(0);
            streams.push((stream, covered));
        }
        Ok::<_, Failure>(streams)
    };
    let (created, opened) = tokio::join!(creating, opening);
    created?;
    for (n, (mut stream, covered)) in opened?.into_iter().enumerate() {
        for id in covered + 1..=BUSY_CREATES as u64 {
            let expected = format!(
                "after a snapshot that holds events 1 to {covered}: event {id}, then the next — each once, in \
                 order, no reset"
            );
            let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
            let got: u64 = event.id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(0);
            if event.name != "task_created" || got != id {
                return Err(stream.fail(
                    format!(
                        "stream {} of {BUSY_STREAMS}, opened on instance a while tasks were created through b, \
                         got event: {} (id {got}) where event {id} was due",
                        n + 1,
                        event.name
                    ),
                    expected,
                ));
            }
        }
    }
    Ok(())
}

/// How long the quiet-board check stays silent: longer than a blocking
/// read's timeout (the solution's `XREAD BLOCK` waits 5 s), so that a
/// reader that gives up on a quiet read and starts again is exercised.
const QUIET: Duration = Duration::from_secs(6);

/// How long an instance may keep reading a board nobody watches any more.
const UNWATCHED: Duration = Duration::from_secs(8);

check!(Check {
    name: a_quiet_board_keeps_its_streams_and_an_unwatched_one_is_no_longer_read,
    stage: EVENTS,
    section: FANOUT_SECTION,
    hints: &[
        "A blocking read that times out with nothing new is not the end of the board: read again, \
         for as long as one of this instance's clients watches it.",
        "When a read comes back and nobody here watches the board any more, stop its reader (and \
         forget it, so that the next client starts a fresh one): an instance reads the boards it \
         serves, not every board it ever served.",
    ],
    needs: Needs::Redis,
});
async fn a_quiet_board_keeps_its_streams_and_an_unwatched_one_is_no_longer_read(
    t: Target,
) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let dial = &instances[0].dial;
    let mut stream = subscribe(dial, &cookie, &board, None).await?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    // Not a synchronisation: the board has to be quiet for this long.
    tokio::time::sleep(QUIET).await;
    create(dial, &cookie, &board, "After a quiet while").await?;
    let expected = format!(
        "task_created \"After a quiet while\": the stream was quiet for {} s, longer than a blocking read",
        QUIET.as_secs()
    );
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    if title(&event.data) != "After a quiet while" {
        return Err(
            stream.fail(format!("after a quiet while the stream said event: {}", event.name), expected)
        );
    }
    drop(stream);
    let deadline = Instant::now() + UNWATCHED;
    loop {
        let readers: Vec<String> = redis
            .clients()
            .await?
            .into_iter()
            .filter(|client| client.blocked && client.cmd.starts_with("xread"))
            .map(|client| client.line)
            .collect();
        if readers.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "instance a still reads board {board} {} s after its last stream closed",
                UNWATCHED.as_secs()
            ))
            .sent(format!("GET /boards/{board}/events, then the stream closed; nobody else watches"))
            .expected("no blocked XREAD left: an instance reads only the boards its clients watch")
            .got(format!("CLIENT LIST:\n{}", readers.join("\n"))));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
