//! Chapter 1, "HTTP: request and response": the task board's JSON API.
//!
//! The contract (the book's chapter 1 is the final word):
//! `GET /boards/{board}/tasks` lists a board's tasks; `POST` creates one
//! (`201`, `Location`, the task); `GET`/`PATCH`/`DELETE
//! /boards/{board}/tasks/{task}` read, move and delete one. Errors are
//! `{"error": "…"}` with `400`, `404`, `415` or `422`.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `helpers` holds what several stages share. `CHECKS` lists them all in
//! stage order.

mod creating;
mod deleting;
mod errors;
mod helpers;
mod listing;
mod moving;
mod reading;
mod sharing;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub use helpers::BoardCount;
pub(crate) use helpers::board_count;

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
    listing::empty_board_lists_no_tasks::CHECK,
    listing::listing_unknown_boards_creates_no_board::CHECK,
    creating::creating_a_task_answers_201_with_the_task::CHECK,
    creating::creating_a_task_answers_with_its_location::CHECK,
    creating::task_ids_count_up_from_1_per_board::CHECK,
    creating::created_tasks_are_listed_in_creation_order::CHECK,
    reading::a_new_tasks_location_serves_it::CHECK,
    reading::an_unknown_task_is_404_with_a_json_error::CHECK,
    reading::looking_up_tasks_of_unknown_boards_creates_no_board::CHECK,
    moving::moving_a_task_answers_200_with_the_task_in_its_new_column::CHECK,
    moving::a_moved_task_stays_moved::CHECK,
    errors::an_empty_title_is_422_with_a_json_error::CHECK,
    errors::a_missing_title_is_422_with_a_json_error::CHECK,
    errors::an_unknown_column_is_422_with_a_json_error::CHECK,
    errors::malformed_json_is_400_with_a_json_error::CHECK,
    errors::a_body_that_is_not_json_is_415_with_a_json_error::CHECK,
    deleting::deleting_a_task_answers_204_then_it_is_gone::CHECK,
    deleting::ids_are_not_reused_after_a_delete::CHECK,
    sharing::boards_are_isolated::CHECK,
    sharing::concurrent_creates_get_distinct_ids_and_none_are_lost::CHECK,
];
