//! Stage 6, "Delete a task".

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{create_task, expect_board_unchanged, expect_task, post_task};
use super::{DELETING, DELETING_SECTION};

check!(Check {
    name: deleting_a_task_answers_204_then_it_is_gone,
    stage: DELETING,
    section: DELETING_SECTION,
    hints: &["Answer `StatusCode::NO_CONTENT` with no body; afterwards the task is 404 everywhere, \
         including a second `DELETE`."],
    needs: Needs::Address,
});
async fn deleting_a_task_answers_204_then_it_is_gone(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let first = create_task(&t, &board, "Design login page").await?;
    create_task(&t, &board, "Write the API").await?;
    let path = format!("/boards/{board}/tasks/task-2");

    let exchange = t.request("DELETE", path.clone()).send().await?;
    let expected = "204 No Content, with an empty body";
    exchange.expect_status(204, expected)?;
    if !exchange.body.is_empty() {
        return Err(exchange.fail("a 204 response must not have a body", expected));
    }
    let gone = "404 Not Found with {\"error\": \"…\"}: the task was deleted";
    t.request("GET", path.clone()).send().await?.expect_error(404, gone)?;
    t.request("DELETE", path).send().await?.expect_error(404, gone)?;
    expect_board_unchanged(&t, &board, &[first]).await
}

check!(Check {
    name: ids_are_not_reused_after_a_delete,
    stage: DELETING,
    section: DELETING_SECTION,
    hints: &["Don't derive the next id from the number of tasks: after deleting `task-2` of two, the \
         next task is `task-3`, or a client holding `task-2` would now point at a different task."],
    needs: Needs::Address,
});
async fn ids_are_not_reused_after_a_delete(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    create_task(&t, &board, "Design login page").await?;
    create_task(&t, &board, "Write the API").await?;
    t.request("DELETE", format!("/boards/{board}/tasks/task-2"))
        .send()
        .await?
        .expect_status(204, "204 No Content")?;
    let exchange = post_task(&t, &board, "Ship it").await?;
    let expected = "201 Created with task-3: task-2 was deleted, and its id is not given out again";
    exchange.expect_status(201, expected)?;
    let task = exchange.expect_json(expected)?;
    if task["id"] == "task-2" {
        return Err(
            exchange.fail("a deleted task's id was given out again: the new task is task-2", expected)
        );
    }
    expect_task(&exchange, &task, "task-3", "Ship it", "todo", expected)
}
