//! The board's data: tasks in columns, and the shared state that holds
//! every board. Book: "Shared state and concurrency".

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

/// The three columns of a board: `"todo"`, `"doing"`, `"done"` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Column {
    Todo,
    Doing,
    Done,
}

/// One board: its tasks by number (`task-7` is number 7), and the number
/// of the last task created.
#[derive(Debug, Default)]
struct Board {
    tasks: BTreeMap<u64, Task>,
    last_number: u64,
}

/// Every board, shared by all requests (axum clones it into each handler).
#[derive(Debug, Clone, Default)]
pub struct Boards {
    boards: Arc<Mutex<HashMap<String, Board>>>,
}

impl Boards {
    /// The tasks of `board`, oldest first.
    pub fn list(&self, board: &str) -> Vec<Task> {
        todo!(
            "Boards::list: the board's tasks, oldest first, and none for a board nobody used (\"Listing a board's tasks\")"
        )
    }

    /// Adds a task to `board`, in `todo`, numbered after the board's last task.
    pub fn create(&self, board: &str, title: String) -> Task {
        todo!(
            "Boards::create: a new task in todo with the board's next id, task-1 first (\"Creating a task\")"
        )
    }

    /// The task `id` (`"task-7"`) of `board`, if there is one.
    pub fn get(&self, board: &str, id: &str) -> Option<Task> {
        todo!("Boards::get: the task with this id on this board, if there is one (\"Reading one task\")")
    }

    /// Moves the task `id` to `column` and returns it as it is now.
    pub fn move_to(&self, board: &str, id: &str, column: Column) -> Option<Task> {
        todo!("Boards::move_to: the stored task, now in `column` (\"Moving a task\")")
    }

    /// Deletes the task `id`; returns it if it was there.
    pub fn delete(&self, board: &str, id: &str) -> Option<Task> {
        todo!("Boards::delete: the task, removed from the board (\"Deleting a task\")")
    }

    /// How many boards the server holds. The checks count them, to prove
    /// that reading a board nobody uses creates nothing. (Given: not part
    /// of the exercise.)
    pub fn board_count(&self) -> usize {
        self.boards.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
