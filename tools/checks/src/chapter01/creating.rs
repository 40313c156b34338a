//! Stage 2, "Create tasks".

use serde_json::{Value, json};

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{create_task, expect_task, expect_tasks, list_tasks, post_task, same_task};
use super::{CREATING, CREATING_SECTION};

check!(Check {
    name: creating_a_task_answers_201_with_the_task,
    stage: CREATING,
    section: CREATING_SECTION,
    hints: &[
        "Answer a tuple: `(StatusCode::CREATED, [(header::LOCATION, location)], Json(task))`.",
        "A new task gets the next number of *its board* (`task-1` first) and starts in `todo`.",
    ],
    needs: Needs::Address,
});
async fn creating_a_task_answers_201_with_the_task(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let exchange = post_task(&t, &board, "Design login page").await?;
    let expected =
        r#"201 Created with the task: {"id":"task-1","title":"Design login page","column":"todo"}"#;
    exchange.expect_status(201, expected)?;
    let task = exchange.expect_json(expected)?;
    expect_task(&exchange, &task, "task-1", "Design login page", "todo", expected)
}

check!(Check {
    name: creating_a_task_answers_with_its_location,
    stage: CREATING,
    section: CREATING_SECTION,
    hints: &["`201 Created` tells the client where the new resource lives: a `Location` header with \
         the task's path, `/boards/{board}/tasks/{task}`."],
    needs: Needs::Address,
});
async fn creating_a_task_answers_with_its_location(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let exchange = post_task(&t, &board, "Design login page").await?;
    let location = format!("/boards/{board}/tasks/task-1");
    let expected = format!("201 Created with the header Location: {location}");
    exchange.expect_status(201, &expected)?;
    match exchange.header("location") {
        Some(got) if got == location => Ok(()),
        Some(got) => {
            Err(exchange.fail(format!("the Location header is {got:?}; expected {location:?}"), expected))
        }
        None => Err(exchange.fail("the 201 response has no Location header", expected)),
    }
}

check!(Check {
    name: task_ids_count_up_from_1_per_board,
    stage: CREATING,
    section: CREATING_SECTION,
    hints: &["Keep a counter per board next to its tasks: the first task is `task-1`, the next `task-2`.",],
    needs: Needs::Address,
});
async fn task_ids_count_up_from_1_per_board(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    for (n, title) in ["Design login page", "Write the API"].iter().enumerate() {
        let exchange = post_task(&t, &board, title).await?;
        let id = format!("task-{}", n + 1);
        let expected =
            format!("201 Created with a task whose id is {id:?} (task number {} on this board)", n + 1);
        exchange.expect_status(201, &expected)?;
        let task = exchange.expect_json(&expected)?;
        expect_task(&exchange, &task, &id, title, "todo", &expected)?;
    }
    Ok(())
}

check!(Check {
    name: created_tasks_are_listed_in_creation_order,
    stage: CREATING,
    section: CREATING_SECTION,
    hints: &["Store a board's tasks in the order they were created (a `Vec`, or a `BTreeMap` keyed \
         by number — not a `HashMap`, whose order is arbitrary)."],
    needs: Needs::Address,
});
async fn created_tasks_are_listed_in_creation_order(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let titles = ["Design login page", "Write the API", "Ship it"];
    for title in titles {
        create_task(&t, &board, title).await?;
    }
    let expected_tasks: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(n, title)| json!({"id": format!("task-{}", n + 1), "title": title, "column": "todo"}))
        .collect();
    let (exchange, tasks) = list_tasks(&t, &board).await?;
    let expected = format!("the three tasks created, oldest first: {}", Value::Array(expected_tasks.clone()));
    let same_set = tasks.len() == expected_tasks.len()
        && expected_tasks.iter().all(|want| tasks.iter().any(|got| same_task(got, want)));
    if same_set && !tasks.iter().zip(&expected_tasks).all(|(g, w)| same_task(g, w)) {
        return Err(
            exchange.fail("the board lists its tasks in another order than they were created", expected)
        );
    }
    expect_tasks(&exchange, &tasks, &expected_tasks, &expected)
}
