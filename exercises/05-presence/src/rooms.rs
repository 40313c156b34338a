//! Rooms: who is on which board, who is typing there, and one broadcast
//! channel per board.
//!
//! Every connection on a board holds a receiver of the board's
//! `broadcast` channel. Telling the board something is one non-blocking
//! `send`: it never waits for any member, however slow — a member that falls
//! too far behind finds out from its own receiver (`RecvError::Lagged`) and
//! starts again from a fresh snapshot ([`Rooms::resync`]).
//!
//! Membership is counted per user, not per connection: Alice with two tabs
//! open is listed once, `joined` goes out when her first tab joins and
//! `left` when her last one goes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use crate::protocol::{ServerMessage, Typist};

/// How many announcements a member may fall behind before its receiver
/// lags. The channel allocates every slot up front (about 80 bytes each),
/// per board. Presence messages are small and rare, and a member that does
/// fall behind is resynced with a snapshot, so a short buffer is enough.
pub const ROOM_CAPACITY: usize = 64;

/// Something a room tells its members.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The user it is about. Their own connections skip it: nobody is told
    /// that they joined, or that they are typing.
    pub about: Arc<str>,
    /// The message, serialised once for every member. `Utf8Bytes` is
    /// reference-counted: cloning it for 200 members copies no text.
    pub text: Utf8Bytes,
}

/// A member's subscription to its room, taken in one step: where it starts
/// from, and everything after that.
#[derive(Debug)]
pub struct Subscription {
    /// The `presence` snapshot — who is there, who is typing — to send first.
    pub start: ServerMessage,
    /// Every announcement after the snapshot, in order.
    pub live: broadcast::Receiver<Announcement>,
}

/// One board's room.
#[derive(Debug)]
struct Room {
    /// Users and how many connections each has. A `BTreeMap` keeps the
    /// names sorted, so the snapshot comes out sorted.
    connections: BTreeMap<String, usize>,
    /// Who is typing where, exactly as the members were told: a `typing`
    /// adds to it and a `typing_stopped` removes from it, so a snapshot
    /// agrees with the announcements a member has seen.
    typing: BTreeSet<Typist>,
    announcements: broadcast::Sender<Announcement>,
}

/// Every board's room, shared by all connections.
///
/// A `std::sync::Mutex`: every critical section is a few map operations and
/// a non-blocking `send`, never an `.await`. Doing a join's three steps —
/// count the user, tell the others, take the snapshot and subscribe — under
/// one lock is what makes the snapshot and the announcements after it fit
/// together: none can fall between them, or be in both.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    boards: Arc<Mutex<HashMap<String, Room>>>,
}

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Room>> {
        // A panic elsewhere while holding the lock leaves the maps whole
        // (each step is a single insert or remove), so carry on.
        self.boards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection of `user` to `board`'s room. The others hear
    /// `joined` if it is the user's first connection there.
    pub fn join(&self, board: &str, user: &str) -> Subscription {
        todo!(
            "count the user in, tell the others if they are new, and subscribe in the same step \
             (chapter 5, \"Snapshot and subscription, under one lock\")"
        )
    }

    /// Removes a connection of `user` from `board`'s room. The others hear
    /// `left` if it was the user's last one; an empty room is removed.
    pub fn leave(&self, board: &str, user: &str) {
        todo!(
            "count the user out; the last connection tells the others; an empty room goes (chapter \
             5, \"One user, two tabs\")"
        )
    }

    /// A fresh start for a member whose receiver lagged: the current
    /// snapshot and a new receiver, taken together as in [`Rooms::join`].
    pub fn resync(&self, board: &str) -> Option<Subscription> {
        todo!("a fresh subscription for a member that lagged (chapter 5, \"Many clients, and slow ones\")")
    }

    /// `user` started typing on `task`: the others are told, and snapshots
    /// list it until [`Rooms::typing_stopped`].
    pub fn typing(&self, board: &str, user: &str, task: &str) {
        todo!("record that the user types on the task, and tell the others (chapter 5, \"Who is typing\")")
    }

    /// `user` stopped typing on `task`: the others are told, and snapshots
    /// no longer list it.
    pub fn typing_stopped(&self, board: &str, user: &str, task: &str) {
        todo!(
            "record that the user stopped typing on the task, and tell the others (chapter 5, \
             \"Who is typing\")"
        )
    }

    /// How many rooms exist: every empty one is removed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no board has anyone on it.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(subscription: &Subscription) -> (Vec<String>, Vec<Typist>) {
        match &subscription.start {
            ServerMessage::Presence { users, typing, .. } => (users.clone(), typing.clone()),
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    fn typist(user: &str, task: &str) -> Typist {
        Typist { user: user.into(), task_id: task.into() }
    }

    #[test]
    #[ignore = "calls rooms.rs, yours to write (chapter 5, \"Snapshot and subscription, under one lock\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    fn an_empty_room_is_removed() {
        let rooms = Rooms::default();
        let _alice = rooms.join("board-1", "Alice");
        let _tab = rooms.join("board-1", "Alice");
        rooms.leave("board-1", "Alice");
        assert_eq!(rooms.len(), 1, "Alice still has a tab open");
        assert!(!rooms.is_empty());
        rooms.leave("board-1", "Alice");
        assert!(rooms.is_empty(), "nobody is left, so the room goes");
    }

    #[test]
    #[ignore = "calls rooms.rs, yours to write (chapter 5, \"Snapshot and subscription, under one lock\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    fn leaving_a_board_nobody_joined_changes_nothing() {
        let rooms = Rooms::default();
        let bob = rooms.join("board-1", "Bob");
        rooms.leave("board-1", "Alice");
        rooms.leave("board-2", "Alice");
        assert_eq!(rooms.len(), 1);
        assert_eq!(snapshot(&rooms.resync("board-1").unwrap()).0, ["Bob"]);
        drop(bob);
    }

    #[test]
    #[ignore = "calls rooms.rs, yours to write (chapter 5, \"Snapshot and subscription, under one lock\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    fn a_resync_starts_after_everything_already_sent() {
        let rooms = Rooms::default();
        let mut alice = rooms.join("board-1", "Alice");
        let _bob = rooms.join("board-1", "Bob");
        let mut fresh = rooms.resync("board-1").unwrap();
        assert_eq!(snapshot(&fresh).0, ["Alice", "Bob"]);
        assert!(fresh.live.try_recv().is_err(), "Bob's join is in the snapshot, not after it");
        assert_eq!(alice.live.try_recv().unwrap().about.as_ref(), "Bob");
        assert!(rooms.resync("board-2").is_none());
    }

    #[test]
    #[ignore = "calls rooms.rs, yours to write (chapter 5, \"Snapshot and subscription, under one lock\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    fn a_snapshot_lists_exactly_who_is_typing_now() {
        let rooms = Rooms::default();
        let _alice = rooms.join("board-1", "Alice");
        let _bob = rooms.join("board-1", "Bob");
        rooms.typing("board-1", "Bob", "task-3");
        rooms.typing("board-1", "Alice", "task-1");
        rooms.typing("board-1", "Alice", "task-2");
        rooms.typing_stopped("board-1", "Alice", "task-1");
        let (users, typing) = snapshot(&rooms.resync("board-1").unwrap());
        assert_eq!(users, ["Alice", "Bob"]);
        assert_eq!(typing, [typist("Alice", "task-2"), typist("Bob", "task-3")]);
    }
}
