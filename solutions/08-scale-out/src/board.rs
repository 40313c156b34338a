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
local tasks, last_event, events = KEYS[1], KEYS[2], KEYS[3]
local op, number, task, name, data, capacity = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if op == 'delete' then
  if redis.call('HDEL', tasks, number) == 0 then return false end
else
  if op == 'replace' and redis.call('HEXISTS', tasks, number) == 0 then return false end
  redis.call('HSET', tasks, number, task)
end
local id = redis.call('INCR', last_event)
redis.call('XADD', events, 'MAXLEN', '=', capacity, id .. '-0', 'name', name, 'data', data)
return id
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
        let stored: BTreeMap<u64, String> = self.store.shared().hgetall(keys::tasks(board)).await?;
        Ok(parse_tasks(stored))
    }

    /// The tasks and the id of the last event, read in one `MULTI`, so the
    /// snapshot says exactly which events it already holds.
    pub async fn snapshot(&self, board: &str) -> Result<Snapshot, Unavailable> {
        let (stored, last): (BTreeMap<u64, String>, Option<u64>) = redis::pipe()
            .atomic()
            .hgetall(keys::tasks(board))
            .get(keys::last_event(board))
            .query_async(&mut self.store.shared())
            .await?;
        Ok(Snapshot { event_id: last.unwrap_or(0), tasks: parse_tasks(stored) })
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
        let Ok(after) = last_event_id.parse::<u64>() else { return Ok(None) };
        let (last, entries): (Option<u64>, Vec<Entry>) = redis::pipe()
            .atomic()
            .get(keys::last_event(board))
            .xrange(keys::events(board), format!("{}-0", after + 1), "+")
            .query_async(&mut self.store.shared())
            .await?;
        let last = last.unwrap_or(0);
        let events: Vec<FeedEvent> =
            entries.into_iter().filter_map(|(id, fields)| FeedEvent::from_entry(&id, fields)).collect();
        // Complete means: the first event kept is the one right after
        // `after`, and the events run up to the last one.
        let complete = after <= last && events.first().map_or(after == last, |first| first.id == after + 1);
        Ok(complete.then_some((events, last)))
    }
    // ANCHOR_END: replay

    // ANCHOR: create
    /// Adds a task in `todo` and appends `task_created`.
    pub async fn create(&self, board: &str, title: String) -> Result<Task, Unavailable> {
        let number: u64 = self.store.shared().incr(keys::last_task(board), 1).await?;
        let task = Task { id: format!("task-{number}"), title, column: Column::Todo };
        self.apply(board, "put", number, &Change::TaskCreated(task.clone())).await?;
        Ok(task)
    }
    // ANCHOR_END: create

    /// The task `id` of `board`, if there is one.
    pub async fn get(&self, board: &str, id: &str) -> Result<Option<Task>, Unavailable> {
        let Some(number) = task_number(id) else { return Ok(None) };
        let stored: Option<String> = self.store.shared().hget(keys::tasks(board), number).await?;
        Ok(stored.and_then(|json| serde_json::from_str(&json).ok()))
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
        let task = match change {
            Change::TaskCreated(task) | Change::TaskMoved(task) => serde_json::to_string(task),
            Change::TaskDeleted { .. } => Ok(String::new()),
        }
        .expect("a task is plain data and always serializes");
        let data = serde_json::to_string(change).expect("a change is plain data and always serializes");
        let id: Option<u64> = self
            .apply
            .key(keys::tasks(board))
            .key(keys::last_event(board))
            .key(keys::events(board))
            .arg(op)
            .arg(number)
            .arg(task)
            .arg(change.name())
            .arg(data)
            .arg(self.replay_capacity)
            .invoke_async(&mut self.store.shared())
            .await?;
        Ok(id.is_some())
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
