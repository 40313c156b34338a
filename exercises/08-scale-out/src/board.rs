//! The board's data, in Redis: tasks in columns, and each board's stream of
//! changes.
//!
//! Chapter 6 kept a board in memory, behind a lock, and published each
//! change to the board's feed while holding it. With several instances the
//! lock must be one they all share: a Lua script, which Redis runs alone —
//! no other command of any instance runs while it does. One script changes
//! the task *and* appends its event to the board's stream, so event ids
//! follow the order in which the tasks really changed, cluster-wide.
//!
//! - Task numbers come from `INCR board:{b}:last_task`: atomic, so two
//!   instances never hand out the same number; and it only goes up, so a
//!   deleted task's id never comes back.
//! - Event `N` is stream entry `N-0`, so `Last-Event-ID: N` is the range
//!   read `XRANGE … (N+1)-0 +`; `MAXLEN` keeps the last `REPLAY_CAPACITY`.

use std::collections::BTreeMap;

use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};

use crate::feed::{Change, FeedEvent, Snapshot};
use crate::store::{Store, Unavailable, keys};

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

// ANCHOR: script
/// Applies one change to a board and appends its event, as one step.
///
/// `KEYS`: the tasks, the last event id, the events.
/// `ARGV`: `put` (store the task, replacing it), `replace` (only if it is
/// there) or `delete`; the task's number; its JSON; the event's name and
/// data; `REPLAY_CAPACITY`. Returns the event's id, or `false` when the
/// task is not there to replace or delete (nothing changes).
const APPLY: &str = r"
-- TODO (stage 1): change the task as `op` says (HSET, or HDEL), then number
-- the event (INCR) and append it to the stream as entry <id>-0 (XADD ...
-- MAXLEN = capacity). Return the event's id, or false when there was no task.
return false
";
// ANCHOR_END: script

/// A stream entry as `XRANGE` returns it: its id and its fields.
type Entry = (String, Vec<(String, String)>);

/// Every board, in Redis, as this instance sees them.
#[derive(Debug, Clone)]
pub struct Boards {
    store: Store,
    /// How many events each board's stream keeps for replay.
    replay_capacity: usize,
    apply: Script,
}

impl Boards {
    /// The boards in `store`; each stream keeps its last `replay_capacity` events.
    pub fn new(store: Store, replay_capacity: usize) -> Self {
        Boards { store, replay_capacity, apply: Script::new(APPLY) }
    }

    /// The tasks of `board`, oldest first. A board nobody has written to is
    /// empty.
    pub async fn list(&self, board: &str) -> Result<Vec<Task>, Unavailable> {
        todo!(
            "stage 1: the board's tasks from Redis, oldest first — book: \"Ids come from the shared store\""
        )
    }

    /// The tasks and the id of the last event, read in one `MULTI`, so the
    /// snapshot says exactly which events it already holds.
    pub async fn snapshot(&self, board: &str) -> Result<Snapshot, Unavailable> {
        todo!("stage 2: the tasks and the last event id, read together — book: \"Events in a Redis Stream\"")
    }

    // ANCHOR: replay
    /// The events after `last_event_id`, and the id of the last one, if the
    /// stream can vouch that they are all of them; `None` when the id is not a number, lies in the
    /// future (the data was lost, say), or is so old that the event right
    /// after it has been trimmed away.
    pub async fn replay_after(
        &self,
        board: &str,
        last_event_id: &str,
    ) -> Result<Option<(Vec<FeedEvent>, u64)>, Unavailable> {
        todo!(
            "stage 2: the events after Last-Event-ID from the stream, or None — book: \"Replay from any instance\""
        )
    }
    // ANCHOR_END: replay

    // ANCHOR: create
    /// Adds a task in `todo` and appends `task_created`.
    pub async fn create(&self, board: &str, title: String) -> Result<Task, Unavailable> {
        todo!(
            "stage 1: a task numbered from the shared counter, and its event — book: \"Ids come from the shared store\""
        )
    }
    // ANCHOR_END: create

    /// The task `id` of `board`, if there is one.
    pub async fn get(&self, board: &str, id: &str) -> Result<Option<Task>, Unavailable> {
        todo!("stage 1: the task from Redis, if it is there — book: \"Ids come from the shared store\"")
    }

    /// Moves the task `id` to `column`, appends `task_moved`, and returns the
    /// task as it is now.
    ///
    /// A title never changes, so the task read here, with its new column,
    /// is the whole truth; the script refuses if it was deleted meanwhile.
    pub async fn move_to(&self, board: &str, id: &str, column: Column) -> Result<Option<Task>, Unavailable> {
        let Some(mut task) = self.get(board, id).await? else { return Ok(None) };
        task.column = column;
        let number = task_number(id).expect("the task was found by its number");
        let applied = self.apply(board, "replace", number, &Change::TaskMoved(task.clone())).await?;
        Ok(applied.then_some(task))
    }

    /// Deletes the task `id` and appends `task_deleted`; `false` if it was
    /// not there.
    pub async fn delete(&self, board: &str, id: &str) -> Result<bool, Unavailable> {
        let Some(number) = task_number(id) else { return Ok(false) };
        self.apply(board, "delete", number, &Change::TaskDeleted { id: id.to_owned() }).await
    }

    /// Runs [`APPLY`]: `true` if the change was made and its event appended.
    async fn apply(&self, board: &str, op: &str, number: u64, change: &Change) -> Result<bool, Unavailable> {
        todo!(
            "stage 1: change the task and append its event in one step (a script) — book: \"Events in a Redis Stream\""
        )
    }
}

/// The stored tasks, by number (so oldest first), parsed.
fn parse_tasks(stored: BTreeMap<u64, String>) -> Vec<Task> {
    stored.values().filter_map(|json| serde_json::from_str(json).ok()).collect()
}

/// `task-7` → `7`. Anything else names no task.
fn task_number(id: &str) -> Option<u64> {
    id.strip_prefix("task-")?.parse().ok()
}
