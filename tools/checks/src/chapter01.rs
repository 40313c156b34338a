//! Chapter 1, "HTTP: request and response": the task board's JSON API.
//!
//! The contract (the book's chapter 1 is the final word):
//! `GET /boards/{board}/tasks` lists a board's tasks; `POST` creates one
//! (`201`, `Location`, the task); `GET`/`PATCH`/`DELETE
//! /boards/{board}/tasks/{task}` read, move and delete one. Errors are
//! `{"error": "…"}` with `400`, `404`, `415` or `422`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::http::Exchange;
use crate::raw::RawClient;
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 1,
    slug: "01-http",
    title: "HTTP: request and response",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

const PAGE: &str = "ch01-http.md";

const LISTING: Stage = Stage { number: 1, slug: "listing", title: "List a board's tasks" };
const CREATING: Stage = Stage { number: 2, slug: "creating", title: "Create tasks" };
const READING: Stage = Stage { number: 3, slug: "reading", title: "Read one task" };
const MOVING: Stage = Stage { number: 4, slug: "moving", title: "Move a task" };
const ERRORS: Stage = Stage { number: 5, slug: "errors", title: "Reject bad input" };
const DELETING: Stage = Stage { number: 6, slug: "deleting", title: "Delete a task" };
const SHARING: Stage = Stage { number: 7, slug: "sharing", title: "Boards and concurrency" };

const LISTING_SECTION: Section =
    Section { page: PAGE, anchor: "listing-a-boards-tasks", title: "Listing a board's tasks" };
const CREATING_SECTION: Section = Section { page: PAGE, anchor: "creating-a-task", title: "Creating a task" };
const READING_SECTION: Section =
    Section { page: PAGE, anchor: "reading-one-task", title: "Reading one task" };
const MOVING_SECTION: Section = Section { page: PAGE, anchor: "moving-a-task", title: "Moving a task" };
const ERRORS_SECTION: Section =
    Section { page: PAGE, anchor: "errors-the-client-can-act-on", title: "Errors the client can act on" };
const DELETING_SECTION: Section = Section { page: PAGE, anchor: "deleting-a-task", title: "Deleting a task" };
const SHARING_SECTION: Section =
    Section { page: PAGE, anchor: "shared-state-and-concurrency", title: "Shared state and concurrency" };

const CHECKS: &[Check] = &[
    Check {
        name: "empty_board_lists_no_tasks",
        stage: LISTING,
        section: LISTING_SECTION,
        hints: &[
            "`list_tasks` answers `Json(tasks)`: axum turns a `Vec<Task>` into a JSON array with \
             `Content-Type: application/json`. A board nobody has written to has no tasks: `[]`.",
            "`Boards::list` locks `self.boards` and looks the board up; a board that isn't there \
             yet is simply empty (`unwrap_or_default()`).",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(empty_board_lists_no_tasks(t)),
    },
    Check {
        name: "listing_unknown_boards_creates_no_board",
        stage: LISTING,
        section: LISTING_SECTION,
        hints: &[
            "A `GET` is safe: it must not change what the server holds. Look the board up with \
             `get`, and answer `[]` when it isn't there, without inserting it.",
            "`entry(name).or_default()` inserts the board: keep it for `create`, the one place a \
             board comes into being.",
        ],
        needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex01-http`"),
        body: |t| Box::pin(listing_unknown_boards_creates_no_board(t)),
    },
    Check {
        name: "creating_a_task_answers_201_with_the_task",
        stage: CREATING,
        section: CREATING_SECTION,
        hints: &[
            "Answer a tuple: `(StatusCode::CREATED, [(header::LOCATION, location)], Json(task))`.",
            "A new task gets the next number of *its board* (`task-1` first) and starts in `todo`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(creating_a_task_answers_201_with_the_task(t)),
    },
    Check {
        name: "creating_a_task_answers_with_its_location",
        stage: CREATING,
        section: CREATING_SECTION,
        hints: &["`201 Created` tells the client where the new resource lives: a `Location` header with \
             the task's path, `/boards/{board}/tasks/{task}`."],
        needs: Needs::Address,
        body: |t| Box::pin(creating_a_task_answers_with_its_location(t)),
    },
    Check {
        name: "task_ids_count_up_from_1_per_board",
        stage: CREATING,
        section: CREATING_SECTION,
        hints: &[
            "Keep a counter per board next to its tasks: the first task is `task-1`, the next `task-2`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(task_ids_count_up_from_1_per_board(t)),
    },
    Check {
        name: "created_tasks_are_listed_in_creation_order",
        stage: CREATING,
        section: CREATING_SECTION,
        hints: &["Store a board's tasks in the order they were created (a `Vec`, or a `BTreeMap` keyed \
             by number — not a `HashMap`, whose order is arbitrary)."],
        needs: Needs::Address,
        body: |t| Box::pin(created_tasks_are_listed_in_creation_order(t)),
    },
    Check {
        name: "a_new_tasks_location_serves_it",
        stage: READING,
        section: READING_SECTION,
        hints: &["`get_task` finds the task on its board and answers `200` with `Json(task)`."],
        needs: Needs::Address,
        body: |t| Box::pin(a_new_tasks_location_serves_it(t)),
    },
    Check {
        name: "an_unknown_task_is_404_with_a_json_error",
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
        body: |t| Box::pin(an_unknown_task_is_404_with_a_json_error(t)),
    },
    Check {
        name: "looking_up_tasks_of_unknown_boards_creates_no_board",
        stage: READING,
        section: READING_SECTION,
        hints: &["Reading, moving or deleting a task of a board that isn't there is a 404, and leaves \
             the boards as they were: look the board up with `get` or `get_mut`, never `entry`."],
        needs: Needs::Code("counts the server's boards: run it with `cargo test -p ex01-http`"),
        body: |t| Box::pin(looking_up_tasks_of_unknown_boards_creates_no_board(t)),
    },
    Check {
        name: "moving_a_task_answers_200_with_the_task_in_its_new_column",
        stage: MOVING,
        section: MOVING_SECTION,
        hints: &["`PATCH` carries `{\"column\": \"doing\"}`: set the task's column and answer `200` with \
             the whole task."],
        needs: Needs::Address,
        body: |t| Box::pin(moving_a_task_answers_200_with_the_task_in_its_new_column(t)),
    },
    Check {
        name: "a_moved_task_stays_moved",
        stage: MOVING,
        section: MOVING_SECTION,
        hints: &["Change the task *in the shared state*, not a copy of it: `get_mut` on the board's tasks."],
        needs: Needs::Address,
        body: |t| Box::pin(a_moved_task_stays_moved(t)),
    },
    Check {
        name: "an_empty_title_is_422_with_a_json_error",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "JSON that parses can still be wrong: check the title after extracting the body, and \
             answer `422 Unprocessable Content` with `{\"error\": \"…\"}` when it is empty or blank.",
            "Validate before you touch the board, so a rejected request takes no id.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(an_empty_title_is_422_with_a_json_error(t)),
    },
    Check {
        name: "a_missing_title_is_422_with_a_json_error",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "axum's `Json` rejects `{}` for a struct with a `title` field as a `JsonDataError` \
             (status 422) with a plain-text body. Map every `JsonRejection` to the contract's JSON \
             error, keeping its status: see the `ApiJson` extractor.",
            "In `From<JsonRejection> for ApiError`, keep `rejection.status()` and \
             `rejection.body_text()` in `ApiError::BadBody`; `into_response` answers it as JSON.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_missing_title_is_422_with_a_json_error(t)),
    },
    Check {
        name: "an_unknown_column_is_422_with_a_json_error",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["Make the column an enum with `#[serde(rename_all = \"lowercase\")]`: serde then rejects \
             `\"blocked\"` for you, as a `JsonDataError` (422)."],
        needs: Needs::Address,
        body: |t| Box::pin(an_unknown_column_is_422_with_a_json_error(t)),
    },
    Check {
        name: "malformed_json_is_400_with_a_json_error",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["A body that isn't valid JSON is a `JsonSyntaxError` rejection (status 400). Answer it \
             as `{\"error\": \"…\"}`, not axum's plain text."],
        needs: Needs::Address,
        body: |t| Box::pin(malformed_json_is_400_with_a_json_error(t)),
    },
    Check {
        name: "a_body_that_is_not_json_is_415_with_a_json_error",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["`curl -d` sends `Content-Type: application/x-www-form-urlencoded`. axum's `Json` refuses \
             it with `MissingJsonContentType` (status 415): map it to a JSON error too."],
        needs: Needs::Address,
        body: |t| Box::pin(a_body_that_is_not_json_is_415_with_a_json_error(t)),
    },
    Check {
        name: "deleting_a_task_answers_204_then_it_is_gone",
        stage: DELETING,
        section: DELETING_SECTION,
        hints: &["Answer `StatusCode::NO_CONTENT` with no body; afterwards the task is 404 everywhere, \
             including a second `DELETE`."],
        needs: Needs::Address,
        body: |t| Box::pin(deleting_a_task_answers_204_then_it_is_gone(t)),
    },
    Check {
        name: "ids_are_not_reused_after_a_delete",
        stage: DELETING,
        section: DELETING_SECTION,
        hints: &["Don't derive the next id from the number of tasks: after deleting `task-2` of two, the \
             next task is `task-3`, or a client holding `task-2` would now point at a different task."],
        needs: Needs::Address,
        body: |t| Box::pin(ids_are_not_reused_after_a_delete(t)),
    },
    Check {
        name: "boards_are_isolated",
        stage: SHARING,
        section: SHARING_SECTION,
        hints: &["Key the state by board: `HashMap<String, Board>`, each `Board` with its own tasks and \
             its own counter."],
        needs: Needs::Address,
        body: |t| Box::pin(boards_are_isolated(t)),
    },
    Check {
        name: "concurrent_creates_get_distinct_ids_and_none_are_lost",
        stage: SHARING,
        section: SHARING_SECTION,
        hints: &[
            "Take the next id and insert the task under *one* lock: two requests that both read \
             \"next is 7\" before either writes would both create `task-7`.",
            "One `lock()` (or one `with_boards` call) in `Boards::create`, holding the guard from \
             reading `last_number` to inserting the task.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(concurrent_creates_get_distinct_ids_and_none_are_lost(t)),
    },
];

// ---------------------------------------------------------------------------
// Stage 1: listing

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

// ---------------------------------------------------------------------------
// Stage 2: creating

async fn creating_a_task_answers_201_with_the_task(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let exchange = post_task(&t, &board, "Design login page").await?;
    let expected =
        r#"201 Created with the task: {"id":"task-1","title":"Design login page","column":"todo"}"#;
    exchange.expect_status(201, expected)?;
    let task = exchange.expect_json(expected)?;
    expect_task(&exchange, &task, "task-1", "Design login page", "todo", expected)
}

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

// ---------------------------------------------------------------------------
// Stage 3: reading

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

// ---------------------------------------------------------------------------
// Stage 4: moving

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

// ---------------------------------------------------------------------------
// Stage 5: errors. Each one also checks that nothing was lost or made.

async fn an_empty_title_is_422_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let expected = r#"422 Unprocessable Content with {"error": "…"}: a task needs a title"#;
    for title in ["", "   "] {
        post_task(&t, &board, title).await?.expect_error(422, expected)?;
    }
    expect_board_unchanged(&t, &board, &[]).await?;
    // A rejected create must not use up an id.
    let exchange = post_task(&t, &board, "Design login page").await?;
    let expected = "after two rejected creates, the first real task is still task-1";
    exchange.expect_status(201, expected)?;
    let task = exchange.expect_json(expected)?;
    expect_task(&exchange, &task, "task-1", "Design login page", "todo", expected)
}

async fn a_missing_title_is_422_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let expected = r#"422 Unprocessable Content with {"error": "…"}: the body has no "title""#;
    for body in [json!({}), json!({"name": "Design login page"}), json!({"title": 42})] {
        t.request("POST", format!("/boards/{board}/tasks"))
            .json(&body)
            .send()
            .await?
            .expect_error(422, expected)?;
    }
    expect_board_unchanged(&t, &board, &[]).await
}

async fn an_unknown_column_is_422_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let task = create_task(&t, &board, "Design login page").await?;
    let expected =
        r#"422 Unprocessable Content with {"error": "…"}: the columns are "todo", "doing" and "done""#;
    for column in ["blocked", "Done", ""] {
        move_task(&t, &board, "task-1", column).await?.expect_error(422, expected)?;
    }
    expect_board_unchanged(&t, &board, &[task]).await
}

async fn malformed_json_is_400_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let task = create_task(&t, &board, "Design login page").await?;
    let expected = r#"400 Bad Request with {"error": "…"}: the body is not valid JSON"#;
    for body in [r#"{"title": "Design login page""#, "{title: 'x'}"] {
        t.request("POST", format!("/boards/{board}/tasks"))
            .body("application/json", body)
            .send()
            .await?
            .expect_error(400, expected)?;
    }
    t.request("PATCH", format!("/boards/{board}/tasks/task-1"))
        .body("application/json", r#"{"column": "#)
        .send()
        .await?
        .expect_error(400, expected)?;
    expect_board_unchanged(&t, &board, &[task]).await
}

async fn a_body_that_is_not_json_is_415_with_a_json_error(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let expected =
        r#"415 Unsupported Media Type with {"error": "…"}: the body must be sent as application/json"#;
    // What `curl -d '{"title":"x"}'` sends when you forget the header.
    t.request("POST", format!("/boards/{board}/tasks"))
        .body("application/x-www-form-urlencoded", r#"{"title":"Design login page"}"#)
        .send()
        .await?
        .expect_error(415, expected)?;
    t.request("POST", format!("/boards/{board}/tasks"))
        .body("text/plain", "Design login page")
        .send()
        .await?
        .expect_error(415, expected)?;
    expect_board_unchanged(&t, &board, &[]).await
}

// ---------------------------------------------------------------------------
// Stage 6: deleting

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

// ---------------------------------------------------------------------------
// Stage 7: boards and concurrency

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

// ---------------------------------------------------------------------------
// Helpers shared by the checks above.

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
fn expect_board_count(t: &Target, before: usize, sent: &str) -> Result<(), Failure> {
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

async fn post_task(t: &Target, board: &str, title: &str) -> Result<Exchange, Failure> {
    t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await
}

async fn move_task(t: &Target, board: &str, task: &str, column: &str) -> Result<Exchange, Failure> {
    t.request("PATCH", format!("/boards/{board}/tasks/{task}"))
        .json(&json!({ "column": column }))
        .send()
        .await
}

/// Creates a task a check needs as a starting point, and returns it.
async fn create_task(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange = post_task(t, board, title).await?;
    let expected = "201 Created with the new task (this check creates tasks to start from)";
    exchange.expect_status(201, expected)?;
    exchange.expect_json(expected)
}

/// Lists a board's tasks, requiring a JSON array.
async fn list_tasks(t: &Target, board: &str) -> Result<(Exchange, Vec<Value>), Failure> {
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
async fn expect_board_unchanged(t: &Target, board: &str, tasks: &[Value]) -> Result<(), Failure> {
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

fn expect_tasks(exchange: &Exchange, got: &[Value], want: &[Value], expected: &str) -> Result<(), Failure> {
    let same = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same_task(g, w));
    if same { Ok(()) } else { Err(exchange.fail("the board's task list is not what it should be", expected)) }
}

/// Requires `task` to be the contract's task object with these fields.
fn expect_task(
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
fn same_task(a: &Value, b: &Value) -> bool {
    ["id", "title", "column"].iter().all(|f| a.get(f).is_some() && a.get(f) == b.get(f))
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), Value::to_string)
}
