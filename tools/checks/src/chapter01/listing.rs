//! Stage 1, "List a board's tasks".

use futures_util::future::join_all;
use serde_json::json;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{board_count, expect_board_count};
use super::{LISTING, LISTING_SECTION};

check!(Check {
    name: empty_board_lists_no_tasks,
    stage: LISTING,
    section: LISTING_SECTION,
    hints: &[
        "`list_tasks` answers `Json(tasks)`: axum turns a `Vec<Task>` into a JSON array with \
         `Content-Type: application/json`. A board nobody has written to has no tasks: `[]`.",
        "`Boards::list` locks `self.boards` and looks the board up; a board that isn't there \
         yet is simply empty (`unwrap_or_default()`).",
    ],
    needs: Needs::Address,
});
async fn empty_board_lists_no_tasks(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let exchange = t.request("GET", format!("/boards/{board}/tasks")).send().await?;
    let expected = "200 OK with the JSON array [] (a board nobody has used has no tasks)";
    exchange.expect_status(200, expected)?;
    let body = exchange.expect_json(expected)?;
    if body != json!([]) {
        return Err(exchange.fail("an unused board should list no tasks", expected));
    }
    Ok(())
}

check!(Check {
    name: listing_unknown_boards_creates_no_board,
    stage: LISTING,
    section: LISTING_SECTION,
    hints: &[
        "A `GET` is safe: it must not change what the server holds. Look the board up with \
         `get`, and answer `[]` when it isn't there, without inserting it.",
        "`entry(name).or_default()` inserts the board: keep it for `create`, the one place a \
         board comes into being.",
    ],
    needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex01-http`"),
});
async fn listing_unknown_boards_creates_no_board(t: Target) -> Result<(), Failure> {
    let before = board_count(&t)?;
    let paths: Vec<String> = (1..=100).map(|n| format!("/boards/{}-unknown-{n}/tasks", t.board(1))).collect();
    for chunk in paths.chunks(25) {
        for exchange in join_all(chunk.iter().map(|path| t.request("GET", path.clone()).send())).await {
            exchange?.expect_status(200, "200 OK with [] (a board nobody has used has no tasks)")?;
        }
    }
    expect_board_count(&t, before, "100 × GET /boards/<a name nobody used>/tasks")
}
