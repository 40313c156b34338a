//! The board's data: tasks in columns, each board's feed of changes, and
//! the shared state that holds every board.
//!
//! Chapter 1's board, plus one thing: every change is published to the
//! board's [`Feed`] *while the lock is held*, and subscribing happens under
//! the same lock. See `feed.rs` for why that matters.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::feed::{Change, Feed, Subscription, Unwatched};

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

/// One board: its tasks by number, the number of the last task created,
/// and its feed of changes.
///
/// A `BTreeMap` keyed by number lists tasks in creation order. The counter
/// only goes up, so a deleted task's id is never handed out again.
#[derive(Debug)]
struct Board {
    tasks: BTreeMap<u64, Task>,
    last_number: u64,
    feed: Feed,
}

impl Board {
    fn new(replay_capacity: usize) -> Self {
        Board { tasks: BTreeMap::new(), last_number: 0, feed: Feed::new(replay_capacity) }
    }
}

/// Every board, shared by all requests and all event streams.
///
/// A `std::sync::Mutex`, not tokio's: each critical section is a few map
/// operations and a `broadcast::Sender::send`, which never waits, so the
/// lock is never held across an `.await`.
#[derive(Debug, Clone)]
pub struct Boards {
    boards: Arc<Mutex<HashMap<String, Board>>>,
    /// How many events each board keeps for replay.
    replay_capacity: usize,
}

impl Boards {
    /// No boards yet; each one will keep its last `replay_capacity` events.
    pub fn new(replay_capacity: usize) -> Self {
        Boards { boards: Arc::default(), replay_capacity }
    }

    /// The tasks of `board`, oldest first. A board nobody has written to is
    /// empty, and reading it creates nothing.
    pub fn list(&self, board: &str) -> Vec<Task> {
        self.with_boards(|boards| {
            boards.get(board).map(|b| b.tasks.values().cloned().collect()).unwrap_or_default()
        })
    }

    // ANCHOR: create
    /// Adds a task in `todo` and publishes `task_created`.
    pub fn create(&self, board: &str, title: String) -> Task {
        let capacity = self.replay_capacity;
        self.with_boards(|boards| {
            let board = boards.entry(board.to_owned()).or_insert_with(|| Board::new(capacity));
            board.last_number += 1;
            let task = Task { id: format!("task-{}", board.last_number), title, column: Column::Todo };
            board.tasks.insert(board.last_number, task.clone());
            board.feed.publish(&Change::TaskCreated(task.clone()));
            task
        })
    }
    // ANCHOR_END: create

    /// The task `id` of `board`, if there is one.
    pub fn get(&self, board: &str, id: &str) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| boards.get(board)?.tasks.get(&number).cloned())
    }

    /// Moves the task `id` to `column`, publishes `task_moved`, and returns
    /// the task as it is now.
    pub fn move_to(&self, board: &str, id: &str, column: Column) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| {
            let board = boards.get_mut(board)?;
            let task = board.tasks.get_mut(&number)?;
            task.column = column;
            let task = task.clone();
            board.feed.publish(&Change::TaskMoved(task.clone()));
            Some(task)
        })
    }

    /// Deletes the task `id` and publishes `task_deleted`; returns the task
    /// if it was there.
    pub fn delete(&self, board: &str, id: &str) -> Option<Task> {
        let number = task_number(id)?;
        self.with_boards(|boards| {
            let board = boards.get_mut(board)?;
            let task = board.tasks.remove(&number)?;
            board.feed.publish(&Change::TaskDeleted { id: task.id.clone() });
            Some(task)
        })
    }

    // ANCHOR: subscribe
    /// Subscribes to `board`'s events: a snapshot of its tasks (or a replay
    /// after `last_event_id`) and a receiver for every event after it,
    /// taken together under the lock.
    ///
    /// Subscribing to a board nobody has used yet creates it, so that its
    /// first task reaches this subscriber; but only for as long as someone
    /// is subscribed (see `Boards::forget_when_unwatched`).
    pub fn subscribe(&self, board: &str, last_event_id: Option<&str>) -> Subscription {
        let capacity = self.replay_capacity;
        let (subscription, created) = self.with_boards(|boards| {
            let created = !boards.contains_key(board);
            let entry = boards.entry(board.to_owned()).or_insert_with(|| Board::new(capacity));
            let tasks = entry.tasks.values().cloned().collect();
            let unwatched = created.then(|| entry.feed.unwatched());
            (entry.feed.subscribe(tasks, last_event_id), unwatched)
        });
        if let Some(unwatched) = created {
            self.forget_when_unwatched(board.to_owned(), unwatched);
        }
        subscription
    }
    // ANCHOR_END: subscribe

    /// How many boards the server holds. The checks count them, to prove
    /// that asking about boards nobody uses costs nothing that lasts.
    pub fn board_count(&self) -> usize {
        self.with_boards(|boards| boards.len())
    }

    /// Removes `board` once its last subscriber is gone, unless it has held
    /// a task by then.
    ///
    /// Without this, `GET /boards/<any name>/events` would leave a board
    /// and its channel behind for every name anyone cares to type: memory
    /// that grows for as long as the server runs. A board that has held a
    /// task stays, even when empty, so that its task and event ids keep
    /// counting up and are never handed out twice.
    fn forget_when_unwatched(&self, board: String, unwatched: Unwatched) {
        let boards = self.clone();
        tokio::spawn(async move {
            loop {
                unwatched.wait().await;
                let watched_again = boards.with_boards(|map| match map.get(&board) {
                    Some(entry) if !unwatched.is(&entry.feed) => false,
                    Some(entry) if entry.last_number > 0 => false,
                    Some(entry) if entry.feed.has_subscribers() => true,
                    Some(_) => {
                        map.remove(&board);
                        false
                    }
                    None => false,
                });
                if !watched_again {
                    return;
                }
            }
        });
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    /// Asking for boards nobody uses costs nothing that lasts: 10,000 of
    /// them, subscribed to and left, leave the count where it was, while a
    /// board that held a task keeps counting its ids.
    #[tokio::test]
    async fn ten_thousand_unknown_boards_leave_no_board_behind() {
        let boards = Boards::new(16);
        let task = boards.create("kept", "Design login page".to_owned());
        boards.delete("kept", &task.id);
        let before = boards.board_count();
        for n in 0..10_000 {
            drop(boards.subscribe(&format!("unknown-{n}"), None));
        }
        // Each board is forgotten by a task of its own, once that task runs.
        let deadline = Instant::now() + Duration::from_secs(10);
        while boards.board_count() != before && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(boards.board_count(), before);
        assert_eq!(boards.create("kept", "Write the API".to_owned()).id, "task-2");
    }

    /// A board that gets a task while someone watches it stays after they go.
    #[tokio::test]
    async fn a_board_that_got_a_task_while_watched_stays() {
        let boards = Boards::new(16);
        let subscription = boards.subscribe("board-1", None);
        boards.create("board-1", "Design login page".to_owned());
        drop(subscription);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(boards.board_count(), 1);
        assert_eq!(boards.list("board-1").len(), 1);
    }
}
