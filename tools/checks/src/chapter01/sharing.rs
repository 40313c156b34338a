//! Stage 7, "Boards and concurrency".

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::check::check;
use crate::raw::RawClient;
use crate::{Failure, Needs, Target};

use super::helpers::{create_task, expect_board_unchanged, expect_task, expect_tasks, list_tasks, post_task};
use super::{SHARING, SHARING_SECTION};

check!(Check {
    name: boards_are_isolated,
    stage: SHARING,
    section: SHARING_SECTION,
    hints: &["Key the state by board: `HashMap<String, Board>`, each `Board` with its own tasks and \
         its own counter."],
    needs: Needs::Address,
});
async fn boards_are_isolated(t: Target) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    let a = create_task(&t, &one, "Design login page").await?;
    create_task(&t, &one, "Write the API").await?;
    let exchange = post_task(&t, &two, "Plan the sprint").await?;
    let expected = format!("201 Created with task-1: {two} counts its own tasks, whatever {one} holds");
    exchange.expect_status(201, &expected)?;
    let b = exchange.expect_json(&expected)?;
    expect_task(&exchange, &b, "task-1", "Plan the sprint", "todo", &expected)?;

    let gone = format!("404 Not Found: task-2 exists on {one}, not on {two}");
    t.request("GET", format!("/boards/{two}/tasks/task-2")).send().await?.expect_error(404, &gone)?;
    t.request("DELETE", format!("/boards/{two}/tasks/task-1"))
        .send()
        .await?
        .expect_status(204, "204 No Content")?;
    let (exchange, tasks) = list_tasks(&t, &one).await?;
    let want = [a, json!({"id": "task-2", "title": "Write the API", "column": "todo"})];
    expect_tasks(
        &exchange,
        &tasks,
        &want,
        &format!("{one} keeps its two tasks when {two}'s task-1 is deleted"),
    )?;
    expect_board_unchanged(&t, &two, &[]).await
}

check!(Check {
    name: concurrent_creates_get_distinct_ids_and_none_are_lost,
    stage: SHARING,
    section: SHARING_SECTION,
    hints: &[
        "Take the next id and insert the task under *one* lock: two requests that both read \
         \"next is 7\" before either writes would both create `task-7`.",
        "One `lock()` (or one `with_boards` call) in `Boards::create`, holding the guard from \
         reading `last_number` to inserting the task.",
    ],
    needs: Needs::Address,
});
async fn concurrent_creates_get_distinct_ids_and_none_are_lost(t: Target) -> Result<(), Failure> {
    // Two creates collide only when two of the server's threads run them in
    // the same few hundred nanoseconds, which a busy machine makes rare. So
    // the check keeps sending rounds of creates, each on a fresh board,
    // until a split lock shows or the time is up.
    let deadline = Instant::now() + CONCURRENCY_TIME;
    let mut round = 0;
    while round < MIN_ROUNDS || (Instant::now() < deadline && round < MAX_ROUNDS) {
        round += 1;
        creates_at_once(&t, &t.board(round), round).await?;
    }
    Ok(())
}

/// One round: `CREATES` creates on `board` at once, then the list.
async fn creates_at_once(t: &Target, board: &str, round: u32) -> Result<(), Failure> {
    let path = format!("/boards/{board}/tasks");
    let sent = format!(
        "round {round}: {CREATES} × POST {path} at once, over {CONNECTIONS} connections, each \
         sending its {} requests back to back (pipelined) before reading the answers",
        CREATES / CONNECTIONS
    );
    let answers = join_all((0..CONNECTIONS).map(|c| create_pipelined(t.addr(), &path, c))).await;
    let mut ids = Vec::with_capacity(CREATES);
    for answer in answers {
        ids.extend(answer?);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    let mut repeated: Vec<&String> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
    if !repeated.is_empty() {
        let twice = repeated.len();
        repeated.dedup();
        repeated.truncate(8);
        return Err(Failure::new(format!(
            "concurrent creates got the same id: {twice} ids were handed out twice ({}…), so \
             the next number was taken under one lock and the task inserted under another",
            repeated.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .sent(sent)
        .expected(format!("ids task-1 … task-{CREATES}, each exactly once"))
        .got(format!("{} answers, {} distinct ids", ids.len(), ids.len() - twice)));
    }
    let want: BTreeSet<String> = (1..=CREATES).map(|n| format!("task-{n}")).collect();
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    if got != want {
        let missing: Vec<&String> = want.difference(&got).take(8).collect();
        return Err(Failure::new(format!(
            "{CREATES} creates on a fresh board did not get the ids task-1 … task-{CREATES}"
        ))
        .sent(sent)
        .expected(format!("ids task-1 … task-{CREATES}, each exactly once"))
        .got(format!("missing: {missing:?}")));
    }
    let (exchange, tasks) = list_tasks(t, board).await?;
    if tasks.len() != CREATES {
        return Err(exchange.fail(
            format!(
                "tasks were lost: the board lists {} tasks after {CREATES} successful creates",
                tasks.len()
            ),
            format!("all {CREATES} tasks listed: none overwritten"),
        ));
    }
    Ok(())
}

/// How many creates each round of the concurrency check sends at once, and
/// over how many connections.
const CREATES: usize = 1000;
const CONNECTIONS: usize = 8;
/// The concurrency check sends rounds for this long (at least
/// `MIN_ROUNDS`, at most `MAX_ROUNDS`), unless a round fails first.
const CONCURRENCY_TIME: Duration = Duration::from_secs(8);
const MIN_ROUNDS: u32 = 3;
const MAX_ROUNDS: u32 = 80;

/// Sends this connection's share of the creates back to back, then reads
/// the answers; returns the ids they gave, in order.
async fn create_pipelined(addr: SocketAddr, path: &str, connection: usize) -> Result<Vec<String>, Failure> {
    let count = CREATES / CONNECTIONS;
    let mut client = RawClient::connect(addr).await?;
    let mut requests = String::new();
    for n in 0..count {
        let body = format!(r#"{{"title":"Task {connection}-{n}"}}"#);
        requests += &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
    }
    client.send(requests).await?;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let head = client.read_response_head().await?;
        let body = client.read_body(&head).await?;
        let expected = "201 Created with the new task, for each of the creates sent at once";
        if head.status != 201 {
            return Err(Failure::new(format!(
                "create number {} of {count} on one connection answered {}; expected 201",
                n + 1,
                head.status_line()
            ))
            .expected(expected)
            .got(String::from_utf8_lossy(&body).into_owned()));
        }
        let task: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match task["id"].as_str() {
            Some(id) => ids.push(id.to_owned()),
            None => {
                return Err(Failure::new("a 201 answer to a create has no task id in its body")
                    .expected(expected)
                    .got(String::from_utf8_lossy(&body).into_owned()));
            }
        }
    }
    Ok(ids)
}
