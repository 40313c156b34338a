//! The board's data: tasks in columns, and the shared state that holds
//! every board.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// A task, exactly as it goes over the wire:
/// `{"id":"task-5","title":"Design login page","column":"todo"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub column: Column,
}

/// The three columns of a board.
///
/// An enum, not a string: serde rejects `"blocked"` while parsing the
/// request, so no handler can ever store a column that doesn't exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Column {
    Todo,
    Doing,
    Done,
}

// ANCHOR: state
/// One board: its tasks by number, and the number of the last task created.
///
/// A `BTreeMap` keyed by number lists tasks in creation order. The counter
/// only goes up, so a deleted task's id is never handed out again: a client
/// still holding `task-2` must not end up pointing at someone else's task.
#[derive(Debug, Default)]
struct Board {
    tasks: BTreeMap<u64, Task>,
    last_number: u64,
}

/// Every board, shared by all requests.
///
/// A `std::sync::Mutex`, not tokio's: each critical section is a few map
/// operations that never `.await`, so a blocking lock is cheaper and cannot
/// be held across a suspension point. One lock for all boards is plenty for
/// a course; the walkthrough discusses when to shard it.
#[derive(Debug, Clone, Default)]
pub struct Boards {
    boards: Arc<Mutex<HashMap<String, Board>>>,
}
// ANCHOR_END: state

impl Boards {
    /// The tasks of `board`, oldest first. A board nobody has written to is
    /// empty, and reading it creates nothing.
    pub fn list(&self, board: &str) -> Vec<Task> {
        self.with_boards(|boards| {
            boards.get(board).map(|b| b.tasks.values().cloned().collect()).unwrap_or_default()
        })
    }

    // ANCHOR: create
    /// Adds a task in `todo`. Numbering and inserting happen under one lock,
    /// so concurrent creates can never get the same id.
    pub fn create(&self, board: &str, title: String) -> Task {
        self.with_boards(|boards| {
            let board = boards.entry(board.to_owned()).or_default();
            board.last_number += 1;
            let task = Task { id: format!("task-{}", board.last_number), title, column: Column::Todo };
            board.tasks.insert(board.last_number, task.clone());
            task
        })
    }
    // ANCHOR_END: create

    /// The task `id` of `board`, if there is one.
    pub fn get(&self, board: &str, id: &str) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| boards.get(board)?.tasks.get(&number).cloned())
    }

    /// Moves the task `id` to `column` and returns it as it is now.
    pub fn move_to(&self, board: &str, id: &str, column: Column) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| {
            let task = boards.get_mut(board)?.tasks.get_mut(&number)?;
            task.column = column;
            Some(task.clone())
        })
    }

    /// Deletes the task `id`; returns it if it was there.
    pub fn delete(&self, board: &str, id: &str) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| boards.get_mut(board)?.tasks.remove(&number))
    }

    /// How many boards the server holds. The checks count them, to prove
    /// that reading a board nobody uses creates nothing.
    pub fn board_count(&self) -> usize {
        self.with_boards(|boards| boards.len())
    }

    fn with_boards<R>(&self, f: impl FnOnce(&mut HashMap<String, Board>) -> R) -> R {
        // A panic while holding the lock would poison it. Every critical
        // section above leaves the maps consistent at each step, so the data
        // is still good: keep serving rather than fail every later request.
        let mut boards = self.boards.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut boards)
    }
}

/// `task-7` → `7`. Anything else names no task.
fn task_number(id: &str) -> Option<u64> {
    id.strip_prefix("task-")?.parse().ok()
}
