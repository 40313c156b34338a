//! Stage 4, "Move a task".

use serde_json::json;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{create_task, expect_task, expect_tasks, list_tasks, move_task};
use super::{MOVING, MOVING_SECTION};

check!(Check {
    name: moving_a_task_answers_200_with_the_task_in_its_new_column,
    stage: MOVING,
    section: MOVING_SECTION,
    hints: &["`PATCH` carries `{\"column\": \"doing\"}`: set the task's column and answer `200` with \
         the whole task."],
    needs: Needs::Address,
});
async fn moving_a_task_answers_200_with_the_task_in_its_new_column(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    create_task(&t, &board, "Design login page").await?;
    for column in ["doing", "done", "todo"] {
        let exchange = move_task(&t, &board, "task-1", column).await?;
        let expected = format!(
            r#"200 OK with the moved task: {{"id":"task-1","title":"Design login page","column":"{column}"}}"#
        );
        exchange.expect_status(200, &expected)?;
        let task = exchange.expect_json(&expected)?;
        expect_task(&exchange, &task, "task-1", "Design login page", column, &expected)?;
    }
    Ok(())
}

check!(Check {
    name: a_moved_task_stays_moved,
    stage: MOVING,
    section: MOVING_SECTION,
    hints: &["Change the task *in the shared state*, not a copy of it: `get_mut` on the board's tasks."],
    needs: Needs::Address,
});
async fn a_moved_task_stays_moved(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    create_task(&t, &board, "Design login page").await?;
    create_task(&t, &board, "Write the API").await?;
    move_task(&t, &board, "task-2", "done").await?.expect_status(200, "200 OK with the moved task")?;

    let exchange = t.request("GET", format!("/boards/{board}/tasks/task-2")).send().await?;
    let expected = r#"after the PATCH, GET answers the task in "done": {"id":"task-2","title":"Write the API","column":"done"}"#;
    exchange.expect_status(200, expected)?;
    let task = exchange.expect_json(expected)?;
    expect_task(&exchange, &task, "task-2", "Write the API", "done", expected).map_err(|failure| {
        Failure {
            headline: format!("the move did not last: after the PATCH, {}", failure.headline),
            ..failure
        }
    })?;

    let (exchange, tasks) = list_tasks(&t, &board).await?;
    let want = [
        json!({"id": "task-1", "title": "Design login page", "column": "todo"}),
        json!({"id": "task-2", "title": "Write the API", "column": "done"}),
    ];
    expect_tasks(
        &exchange,
        &tasks,
        &want,
        "the list shows task-2 in \"done\" and task-1 untouched in \"todo\"",
    )
}
