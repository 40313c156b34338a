//! Helpers the stages' checks share.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::http::Exchange;
use crate::{Failure, Target};

/// How many boards a server holds, as its test binary can tell (the
/// server's `Boards::board_count()`): the checks that prove that asking
/// about boards nobody uses costs nothing that lasts. Chapter 2 uses it too.
#[derive(Debug, Clone, Copy)]
pub struct BoardCount(pub fn(SocketAddr) -> Option<usize>);

/// The number of boards the server under test holds now.
pub(crate) fn board_count(t: &Target) -> Result<usize, Failure> {
    let BoardCount(count) = *t.local::<BoardCount>()?;
    count(t.addr()).ok_or_else(|| {
        Failure::new(format!(
            "tests/checks.rs cannot count the boards of the server at {}: it did not register it",
            t.addr()
        ))
    })
}

/// Requires the server to hold `before` boards, after `sent`.
pub(super) fn expect_board_count(t: &Target, before: usize, sent: &str) -> Result<(), Failure> {
    let after = board_count(t)?;
    if after == before {
        return Ok(());
    }
    Err(Failure::new(format!(
        "reading boards nobody has used created {} of them: the server held {before} boards, now {after}",
        after.saturating_sub(before)
    ))
    .sent(sent)
    .expected(format!("{before} boards, as before: reading changes nothing on the server"))
    .got(format!("{after} boards")))
}

pub(super) async fn post_task(t: &Target, board: &str, title: &str) -> Result<Exchange, Failure> {
    t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await
}

pub(super) async fn move_task(
    t: &Target,
    board: &str,
    task: &str,
    column: &str,
) -> Result<Exchange, Failure> {
    t.request("PATCH", format!("/boards/{board}/tasks/{task}"))
        .json(&json!({ "column": column }))
        .send()
        .await
}

/// Creates a task a check needs as a starting point, and returns it.
pub(super) async fn create_task(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange = post_task(t, board, title).await?;
    let expected = "201 Created with the new task (this check creates tasks to start from)";
    exchange.expect_status(201, expected)?;
    exchange.expect_json(expected)
}

/// Lists a board's tasks, requiring a JSON array.
pub(super) async fn list_tasks(t: &Target, board: &str) -> Result<(Exchange, Vec<Value>), Failure> {
    let exchange = t.request("GET", format!("/boards/{board}/tasks")).send().await?;
    let expected = "200 OK with the board's tasks as a JSON array";
    exchange.expect_status(200, expected)?;
    match exchange.expect_json(expected)? {
        Value::Array(tasks) => Ok((exchange, tasks)),
        _ => Err(exchange.fail("the task list is not a JSON array", expected)),
    }
}

/// Requires the board to hold exactly `tasks`: bad input lost nothing and
/// made nothing.
pub(super) async fn expect_board_unchanged(t: &Target, board: &str, tasks: &[Value]) -> Result<(), Failure> {
    let (exchange, got) = list_tasks(t, board).await?;
    let expected = format!("the rejected requests left {board} as it was: {}", Value::Array(tasks.to_vec()));
    expect_tasks(&exchange, &got, tasks, &expected).map_err(|failure| Failure {
        headline: format!(
            "a rejected request changed the board: it lists {} tasks where it held {}",
            got.len(),
            tasks.len()
        ),
        ..failure
    })
}

pub(super) fn expect_tasks(
    exchange: &Exchange,
    got: &[Value],
    want: &[Value],
    expected: &str,
) -> Result<(), Failure> {
    let same = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same_task(g, w));
    if same { Ok(()) } else { Err(exchange.fail("the board's task list is not what it should be", expected)) }
}

/// Requires `task` to be the contract's task object with these fields.
pub(super) fn expect_task(
    exchange: &Exchange,
    task: &Value,
    id: &str,
    title: &str,
    column: &str,
    expected: &str,
) -> Result<(), Failure> {
    let want = json!({ "id": id, "title": title, "column": column });
    if same_task(task, &want) {
        return Ok(());
    }
    let field = ["id", "title", "column"].into_iter().find(|f| task.get(f) != want.get(f)).unwrap_or("id");
    Err(exchange.fail(
        format!("the task's {field:?} is {}; expected {}", show(task.get(field)), want[field]),
        expected,
    ))
}

/// Two tasks are the same when their id, title and column are.
pub(super) fn same_task(a: &Value, b: &Value) -> bool {
    ["id", "title", "column"].iter().all(|f| a.get(f).is_some() && a.get(f) == b.get(f))
}

pub(super) fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), Value::to_string)
}
