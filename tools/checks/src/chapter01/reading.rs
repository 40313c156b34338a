//! Stage 3, "Read one task".

use serde_json::json;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{board_count, create_task, expect_board_count, expect_task, post_task};
use super::{READING, READING_SECTION};

check!(Check {
    name: a_new_tasks_location_serves_it,
    stage: READING,
    section: READING_SECTION,
    hints: &["`get_task` finds the task on its board and answers `200` with `Json(task)`."],
    needs: Needs::Address,
});
async fn a_new_tasks_location_serves_it(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    create_task(&t, &board, "Design login page").await?;
    let created = post_task(&t, &board, "Write the API").await?;
    let location = created.header("location").unwrap_or_default().to_owned();
    let location = if location.is_empty() { format!("/boards/{board}/tasks/task-2") } else { location };
    let exchange = t.request("GET", location).send().await?;
    let expected = r#"200 OK with the task: {"id":"task-2","title":"Write the API","column":"todo"}"#;
    exchange.expect_status(200, expected)?;
    let task = exchange.expect_json(expected)?;
    expect_task(&exchange, &task, "task-2", "Write the API", "todo", expected)
}

check!(Check {
    name: an_unknown_task_is_404_with_a_json_error,
    stage: READING,
    section: READING_SECTION,
    hints: &[
        "A missing task is `ApiError::TaskNotFound`, whose response is `404` with \
         `{\"error\": \"…\"}`. `GET`, `PATCH` and `DELETE` all answer it.",
        "`into_response` is one line: a tuple of the status (a `match` on the variant) and \
         `Json(serde_json::json!({ \"error\": self.to_string() }))`; thiserror's `#[error(..)]` \
         gives `to_string()`.",
        "An unknown *board* has no tasks either: `task-1` of a board nobody used is 404 too.",
    ],
    needs: Needs::Address,
});
async fn an_unknown_task_is_404_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let expected = r#"404 Not Found with a JSON body {"error": "…"} naming what was not found"#;
    // A board nobody has used: no task can be found on it.
    let exchange = t.request("GET", format!("/boards/{board}/tasks/task-1")).send().await?;
    exchange.expect_error(404, expected)?;
    create_task(&t, &board, "Design login page").await?;
    let unknown = format!("/boards/{board}/tasks/task-99");
    for request in [
        t.request("GET", unknown.clone()),
        t.request("PATCH", unknown.clone()).json(&json!({"column": "done"})),
        t.request("DELETE", unknown.clone()),
        t.request("GET", format!("/boards/{board}/tasks/not-a-task")),
        t.request("GET", format!("/boards/{board}/tasks/task-x")),
    ] {
        request.send().await?.expect_error(404, expected)?;
    }
    Ok(())
}

check!(Check {
    name: looking_up_tasks_of_unknown_boards_creates_no_board,
    stage: READING,
    section: READING_SECTION,
    hints: &["Reading, moving or deleting a task of a board that isn't there is a 404, and leaves \
         the boards as they were: look the board up with `get` or `get_mut`, never `entry`."],
    needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex01-http`"),
});
async fn looking_up_tasks_of_unknown_boards_creates_no_board(t: Target) -> Result<(), Failure> {
    let before = board_count(&t)?;
    let expected = r#"404 Not Found with {"error": "…"}: a board nobody has used has no tasks"#;
    for n in 1..=10 {
        let path = format!("/boards/{}-unknown-{n}/tasks/task-1", t.board(1));
        for request in [
            t.request("GET", path.clone()),
            t.request("PATCH", path.clone()).json(&json!({"column": "done"})),
            t.request("DELETE", path.clone()),
        ] {
            request.send().await?.expect_error(404, expected)?;
        }
    }
    expect_board_count(&t, before, "GET, PATCH and DELETE of task-1 on 10 boards nobody has used")
}
