//! Rooms: who is on which board, who is typing there — across every
//! instance — and one broadcast channel per board for this instance's
//! members.
//!
//! Chapter 5 counted connections in one process. Now a board's users are
//! spread over instances, so each room keeps two halves:
//!
//! - **local**: this instance's users (with their connection counts) and
//!   typists — the truth, changed at once by this instance's connections;
//! - **others**: what the other instances' presence entries in Redis said
//!   when last read (see `presence.rs`).
//!
//! Members are told about the *union*. Whenever either half changes, the
//! room settles (`Room::settle`): it compares the union with what it last
//! told its members, and announces the difference — `joined`, `left`,
//! `typing`, `typing_stopped`. So Alice with a tab on A and one on B is
//! listed once, and closing one of them announces nothing; and when an
//! instance dies, its users go when its entries expire and the others'
//! next read no longer finds them.
//!
//! Telling the members is one non-blocking `send` on the room's
//! `broadcast` channel, as in chapter 5: it never waits for any member.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};

use crate::protocol::{ServerMessage, Typist};

/// How many notices a member may fall behind before its receiver lags.
/// Presence messages are small and rare, and a member that does fall
/// behind is resynced with a snapshot, so a short buffer is enough.
pub const ROOM_CAPACITY: usize = 64;

/// Something a room tells its members.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The user it is about. Their own connections skip it: nobody is told
    /// that they joined, or that they are typing.
    pub about: Arc<str>,
    /// The message, serialised once for every member.
    pub text: Utf8Bytes,
}

/// What a member's connection hears from its room.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A message for the member's client.
    Said(Announcement),
    /// Chapter 8: Redis is unreachable, so this instance can no longer see
    /// the other instances' users: the connection is closed with `1013`,
    /// "try again later", and the page reconnects.
    StoreLost,
}

/// A member's subscription to its room, taken in one step: where it starts
/// from, and everything after that.
#[derive(Debug)]
pub struct Subscription {
    /// The `presence` snapshot — who is there, who is typing — to send first.
    pub start: ServerMessage,
    /// Every notice after the snapshot, in order.
    pub live: broadcast::Receiver<Notice>,
}

// ANCHOR: view
/// Who is on a board and who is typing there: one instance's presence
/// entry in Redis (as JSON), or the whole board's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub users: BTreeSet<String>,
    pub typing: BTreeSet<Typist>,
}

impl View {
    /// Everyone in either view.
    fn union(&self, other: &View) -> View {
        View {
            users: self.users.union(&other.users).cloned().collect(),
            typing: self.typing.union(&other.typing).cloned().collect(),
        }
    }
}
// ANCHOR_END: view

/// One board's room on this instance.
#[derive(Debug)]
struct Room {
    /// This instance's users and how many connections each has.
    connections: BTreeMap<String, usize>,
    /// This instance's typists.
    typing: BTreeSet<Typist>,
    /// The other instances' users and typists, as last read from Redis.
    others: View,
    /// What the members have been told: the union, as of the last settle.
    told: View,
    notices: broadcast::Sender<Notice>,
}

impl Room {
    fn new() -> Self {
        Room {
            connections: BTreeMap::new(),
            typing: BTreeSet::new(),
            others: View::default(),
            told: View::default(),
            notices: broadcast::channel(ROOM_CAPACITY).0,
        }
    }

    /// This instance's own entry.
    fn local(&self) -> View {
        View { users: self.connections.keys().cloned().collect(), typing: self.typing.clone() }
    }

    // ANCHOR: settle
    /// Tells the members how the board's union changed since they were last
    /// told: new users first, then typing news, then who left.
    fn settle(&mut self, board: &str) {
        todo!(
            "stage 3: tell the members how the union of every instance's entries changed — book: \"Presence with TTLs\""
        )
    }
    // ANCHOR_END: settle

    fn tell(&self, about: &str, message: ServerMessage) {
        let announcement = Announcement { about: about.into(), text: message.to_json().into() };
        // An error only means nobody is listening, which is fine.
        let _ = self.notices.send(Notice::Said(announcement));
    }

    fn subscribe(&self, board: &str) -> Subscription {
        let start = ServerMessage::Presence {
            board_id: board.to_owned(),
            users: self.told.users.iter().cloned().collect(),
            typing: self.told.typing.iter().cloned().collect(),
        };
        Subscription { start, live: self.notices.subscribe() }
    }
}

/// Every board's room on this instance, shared by all its connections and
/// by the presence task that keeps Redis up to date.
///
/// A `std::sync::Mutex`: every critical section is a few set operations
/// and non-blocking `send`s, never an `.await`.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    boards: Arc<Mutex<HashMap<String, Room>>>,
    /// Boards whose local half changed since it was last written to Redis.
    changed: Arc<Mutex<HashSet<String>>>,
    /// Wakes the presence task when `changed` gets a board.
    pub wake: Arc<Notify>,
}

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Room>> {
        // A panic elsewhere while holding the lock leaves the maps whole
        // (each step is a single insert or remove), so carry on.
        self.boards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `board`'s local half as changed, for the presence task.
    fn changed(&self, board: &str) {
        self.changed.lock().unwrap_or_else(PoisonError::into_inner).insert(board.to_owned());
        self.wake.notify_one();
    }

    /// The boards whose local half changed since the last call.
    pub fn take_changed(&self) -> Vec<String> {
        self.changed.lock().unwrap_or_else(PoisonError::into_inner).drain().collect()
    }

    // ANCHOR: join
    /// Adds a connection of `user` to `board`'s room, with `others` just
    /// read from Redis. The others hear `joined` if the user is new to the
    /// board (on any instance).
    pub fn join(&self, board: &str, user: &str, others: View) -> Subscription {
        let mut boards = self.lock();
        let room = boards.entry(board.to_owned()).or_insert_with(Room::new);
        *room.connections.entry(user.to_owned()).or_default() += 1;
        room.others = others;
        room.settle(board);
        let subscription = room.subscribe(board);
        drop(boards);
        self.changed(board);
        subscription
    }

    /// Removes a connection of `user` from `board`'s room. The others hear
    /// `left` if it was the user's last connection on every instance.
    pub fn leave(&self, board: &str, user: &str) {
        let mut boards = self.lock();
        let Some(room) = boards.get_mut(board) else { return };
        if let Some(connections) = room.connections.get_mut(user) {
            *connections -= 1;
            if *connections == 0 {
                room.connections.remove(user);
            }
        }
        room.settle(board);
        // Nobody here to tell any more: the room goes. (Its entry in Redis
        // is deleted by the presence task, since the board has changed.)
        if room.connections.is_empty() {
            boards.remove(board);
        }
        drop(boards);
        self.changed(board);
    }
    // ANCHOR_END: join

    /// A fresh start for a member whose receiver lagged: the current
    /// snapshot and a new receiver, taken together as in [`Rooms::join`].
    pub fn resync(&self, board: &str) -> Option<Subscription> {
        self.lock().get(board).map(|room| room.subscribe(board))
    }

    // ANCHOR: typing
    /// `user` started typing on `task`: the others are told, and snapshots
    /// list it until [`Rooms::typing_stopped`].
    pub fn typing(&self, board: &str, user: &str, task: &str) {
        self.change_typing(board, |typing| {
            typing.insert(Typist { user: user.to_owned(), task_id: task.to_owned() })
        });
    }

    /// `user` stopped typing on `task`: the others are told, and snapshots
    /// no longer list it.
    pub fn typing_stopped(&self, board: &str, user: &str, task: &str) {
        self.change_typing(board, |typing| {
            typing.remove(&Typist { user: user.to_owned(), task_id: task.to_owned() })
        });
    }
    // ANCHOR_END: typing

    fn change_typing(&self, board: &str, change: impl FnOnce(&mut BTreeSet<Typist>) -> bool) {
        let mut boards = self.lock();
        let Some(room) = boards.get_mut(board) else { return };
        if change(&mut room.typing) {
            room.settle(board);
            drop(boards);
            self.changed(board);
        }
    }

    // ANCHOR: others
    /// The other instances' half of `board`, freshly read from Redis: the
    /// members hear what changed.
    pub fn update_others(&self, board: &str, others: View) {
        if let Some(room) = self.lock().get_mut(board) {
            room.others = others;
            room.settle(board);
        }
    }
    // ANCHOR_END: others

    /// This instance's own entry for `board` (empty once nobody is there).
    pub fn local(&self, board: &str) -> View {
        self.lock().get(board).map(Room::local).unwrap_or_default()
    }

    /// Whether this instance has members on `board`.
    pub fn has(&self, board: &str) -> bool {
        self.lock().contains_key(board)
    }

    /// The boards this instance has members on.
    pub fn boards(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Redis is gone: every member is told, and its connection closes.
    pub fn store_lost(&self) {
        for room in self.lock().values() {
            let _ = room.notices.send(Notice::StoreLost);
        }
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

    fn users(subscription: &Subscription) -> Vec<String> {
        match &subscription.start {
            ServerMessage::Presence { users, .. } => users.clone(),
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    fn said(live: &mut broadcast::Receiver<Notice>) -> Vec<String> {
        let mut texts = Vec::new();
        while let Ok(Notice::Said(announcement)) = live.try_recv() {
            texts.push(announcement.text.to_string());
        }
        texts
    }

    fn view(users: &[&str]) -> View {
        View { users: users.iter().map(|user| (*user).to_owned()).collect(), typing: BTreeSet::new() }
    }

    #[test]
    #[ignore = "waits for stage 3 (Room::settle); once it is written: cargo test -p ex08-scale-out -- --include-ignored"]
    fn a_user_on_two_instances_is_listed_once_and_leaves_once() {
        let rooms = Rooms::default();
        let mut bob = rooms.join("board-1", "Bob", view(&["Alice"]));
        assert_eq!(users(&bob), ["Alice", "Bob"]);
        // Alice opens a tab here too: nothing new for Bob.
        let _alice = rooms.join("board-1", "Alice", view(&["Alice"]));
        assert!(said(&mut bob.live).iter().all(|text| !text.contains("Alice")));
        // Her tab here closes: she is still on the other instance.
        rooms.leave("board-1", "Alice");
        assert!(said(&mut bob.live).is_empty());
        // Her other instance's entry is gone: now she has left.
        rooms.update_others("board-1", View::default());
        let told = said(&mut bob.live);
        assert_eq!(told.len(), 1);
        assert!(told[0].contains("\"left\"") && told[0].contains("Alice"), "{told:?}");
    }

    #[test]
    #[ignore = "waits for stage 3 (Room::settle); once it is written: cargo test -p ex08-scale-out -- --include-ignored"]
    fn an_empty_room_is_removed_and_marked_changed() {
        let rooms = Rooms::default();
        let _alice = rooms.join("board-1", "Alice", View::default());
        assert_eq!(rooms.take_changed(), ["board-1"]);
        rooms.leave("board-1", "Alice");
        assert!(rooms.is_empty());
        assert_eq!(rooms.take_changed(), ["board-1"]);
        assert_eq!(rooms.local("board-1"), View::default());
    }
}
