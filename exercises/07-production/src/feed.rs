//! A board's feed: every change, numbered, kept for replay, and sent to
//! every subscriber.
//!
//! Each board has one [`Feed`], and it lives *inside* the board, behind the
//! same lock as the tasks (see `board.rs`). That single lock is what makes
//! the stream trustworthy:
//! - a change and its event happen in one step, so event ids follow the
//!   order in which the tasks really changed;
//! - a new subscriber takes its snapshot (or its replay) and its live
//!   receiver in one step, so no event can slip in between: it gets every
//!   event after its starting point exactly once.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::board::Task;

/// A change to a board, as subscribers hear of it.
///
/// `untagged`: the event's name says what happened, the data is just the
/// task (`{"id":"task-1","title":…,"column":…}`) or, for a deleted task,
/// `{"id":"task-1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Change {
    TaskCreated(Task),
    TaskMoved(Task),
    TaskDeleted { id: String },
}

impl Change {
    /// The SSE event name, which a browser listens for with
    /// `addEventListener("task_created", …)`.
    pub fn name(&self) -> &'static str {
        match self {
            Change::TaskCreated(_) => "task_created",
            Change::TaskMoved(_) => "task_moved",
            Change::TaskDeleted { .. } => "task_deleted",
        }
    }
}

/// A change with its number, ready to send.
///
/// It is encoded once, when it is published, as the bytes of a whole SSE
/// event; every subscriber gets the same `Arc`, and sends the same bytes
/// (`Bytes` is reference-counted: sharing it copies nothing), so a change
/// costs one encoding however many are listening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// The board's event number: 1, 2, 3, … The client sends the last one
    /// it saw back as `Last-Event-ID` when it reconnects.
    pub id: u64,
    /// `event: task_moved`, `id: 7`, `data: {…}` and the blank line.
    pub encoded: Bytes,
}

/// The board as it is, and the id of the last event that shaped it:
/// `{"eventId": 7, "tasks": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub event_id: u64,
    pub tasks: Vec<Task>,
}

/// How a new subscriber's stream begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A fresh connection: the board as it is now.
    Snapshot(Snapshot),
    /// A reconnection whose missed events are all still kept: these, in order.
    Replay(Vec<Arc<FeedEvent>>),
    /// A reconnection that cannot be replayed: start over from a snapshot.
    Reset(Snapshot),
}

/// A subscriber's starting point, and its receiver for what comes after.
#[derive(Debug)]
pub struct Subscription {
    pub start: Start,
    pub live: broadcast::Receiver<Arc<FeedEvent>>,
}

/// One board's events: a counter, the last few events, and the channel
/// that fans each new one out to every subscriber.
#[derive(Debug)]
pub struct Feed {
    /// The id of the last event published; 0 before the first.
    last_id: u64,
    /// The last `capacity` events, oldest first, for `Last-Event-ID` replay.
    recent: VecDeque<Arc<FeedEvent>>,
    capacity: usize,
    /// `broadcast` gives each receiver every message, and never makes the
    /// sender wait: a receiver that falls too far behind (`capacity`,
    /// rounded up to a power of two) loses
    /// the oldest ones and is told so (`RecvError::Lagged`) on its next
    /// `recv`.
    sender: broadcast::Sender<Arc<FeedEvent>>,
}

impl Feed {
    /// A feed that keeps the last `capacity` events (at least 1).
    pub fn new(capacity: usize) -> Self {
        // The channel is made with the replay buffer's capacity: a
        // subscriber that falls further behind could not be replayed to
        // either. (tokio rounds it up to a power of two: 1000 → 1024, so a
        // receiver lags a little later than replay gives up, never sooner.)
        let (sender, _) = broadcast::channel(capacity);
        Feed { last_id: 0, recent: VecDeque::with_capacity(capacity), capacity, sender }
    }

    // ANCHOR: publish
    /// Numbers `change`, keeps it for replay and sends it to every
    /// subscriber. Never waits: a slow subscriber only falls behind.
    pub fn publish(&mut self, change: &Change) {
        self.last_id += 1;
        let data = serde_json::to_string(change).expect("a change is plain data and always serializes");
        let encoded = crate::events::encode(change.name(), Some(self.last_id), &data);
        let event = Arc::new(FeedEvent { id: self.last_id, encoded });
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(Arc::clone(&event));
        // An error only means that nobody is subscribed right now.
        let _ = self.sender.send(event);
    }
    // ANCHOR_END: publish

    // ANCHOR: subscribe
    /// Starts a subscriber at `tasks` (the board as it is now), or after the
    /// event a reconnecting client names in `Last-Event-ID`.
    pub fn subscribe(&self, tasks: Vec<Task>, last_event_id: Option<&str>) -> Subscription {
        let live = self.sender.subscribe();
        let snapshot = Snapshot { event_id: self.last_id, tasks };
        let start = match last_event_id {
            None => Start::Snapshot(snapshot),
            Some(id) => match self.replay_after(id) {
                Some(events) => Start::Replay(events),
                None => Start::Reset(snapshot),
            },
        };
        Subscription { start, live }
    }
    // ANCHOR_END: subscribe

    /// Whether anyone is subscribed right now.
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// A way to wait, outside the lock, until this feed has no subscribers.
    pub fn unwatched(&self) -> Unwatched {
        Unwatched { sender: self.sender.clone() }
    }

    // ANCHOR: replay
    /// The events after `last_event_id`, if this feed can vouch that they
    /// are all of them. It cannot when the id
    /// - is not a number: it did not come from us;
    /// - is greater than our last id: it was handed out before a restart,
    ///   and the events it counts are gone;
    /// - is so old that the event right after it is no longer kept.
    fn replay_after(&self, last_event_id: &str) -> Option<Vec<Arc<FeedEvent>>> {
        let id: u64 = last_event_id.parse().ok()?;
        if id > self.last_id {
            return None;
        }
        // The oldest event kept; with none kept yet, the first one to come.
        let oldest = self.recent.front().map_or(1, |event| event.id);
        if id + 1 < oldest {
            return None;
        }
        Some(self.recent.iter().filter(|event| event.id > id).cloned().collect())
    }
    // ANCHOR_END: replay
}

/// Waits for a feed's last subscriber to go (see [`Feed::unwatched`]).
#[derive(Debug)]
pub struct Unwatched {
    sender: broadcast::Sender<Arc<FeedEvent>>,
}

impl Unwatched {
    /// Returns once the feed has no subscribers, at once if it has none now.
    pub async fn wait(&self) {
        self.sender.closed().await;
    }

    /// Whether this is `feed`'s, and not a later feed's of the same name.
    pub fn is(&self, feed: &Feed) -> bool {
        self.sender.same_channel(&feed.sender)
    }
}
