//! Stage 5, "Reject bad input".

use serde_json::json;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{create_task, expect_board_unchanged, expect_task, move_task, post_task};
use super::{ERRORS, ERRORS_SECTION};

check!(Check {
    name: an_empty_title_is_422_with_a_json_error,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &[
        "JSON that parses can still be wrong: check the title after extracting the body, and \
         answer `422 Unprocessable Content` with `{\"error\": \"…\"}` when it is empty or blank.",
        "Validate before you touch the board, so a rejected request takes no id.",
    ],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_missing_title_is_422_with_a_json_error,
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
});
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

check!(Check {
    name: an_unknown_column_is_422_with_a_json_error,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["Make the column an enum with `#[serde(rename_all = \"lowercase\")]`: serde then rejects \
         `\"blocked\"` for you, as a `JsonDataError` (422)."],
    needs: Needs::Address,
});
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

check!(Check {
    name: malformed_json_is_400_with_a_json_error,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["A body that isn't valid JSON is a `JsonSyntaxError` rejection (status 400). Answer it \
         as `{\"error\": \"…\"}`, not axum's plain text."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_body_that_is_not_json_is_415_with_a_json_error,
    stage: ERRORS,
    section: ERRORS_SECTION,
    hints: &["`curl -d` sends `Content-Type: application/x-www-form-urlencoded`. axum's `Json` refuses \
         it with `MissingJsonContentType` (status 415): map it to a JSON error too."],
    needs: Needs::Address,
});
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
