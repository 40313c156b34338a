//! Each board's feed: one blocking read of the board's Redis stream per
//! instance, fanned out in process to every event stream of that board.
//!
//! A hundred subscribers of `board-1` on this instance share **one**
//! reader: one dedicated connection, one `XREAD BLOCK` waiting for the
//! next entry, and a `broadcast` channel that hands each event to all of
//! them. Redis works once per event per instance, not once per client.
//!
//! A reader starts with the first subscriber of its board, and stops when a
//! read times out with nobody listening. If Redis fails under it, it tells
//! every subscriber ([`Live::Lost`]) so that their streams end and their
//! browsers reconnect — to an instance that can serve them, or to this one
//! once Redis is back.
//!
//! Why a subscriber can trust what it gets: event ids count up by exactly
//! one (one `INCR` per event, in the same script as the change). So a
//! subscriber knows the id it expects next: a smaller one it already has
//! (skipped), a bigger one means it missed some (it starts over from a
//! snapshot). No event is ever silently lost or sent twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::{StreamReadOptions, StreamReadReply};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::board::Task;
use crate::store::{Store, Unavailable, keys};

/// How long one `XREAD` waits for an entry. When it times out, the reader
/// looks whether anyone still listens; if not, it stops.
const READ_BLOCK: Duration = Duration::from_secs(5);

/// At most this many entries per read: a burst arrives in a few reads.
const READ_COUNT: usize = 100;

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

/// A change with its number, as the stream holds it: entry `7-0` with the
/// fields `name` and `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// The board's event number: 1, 2, 3, … The client sends the last one
    /// it saw back as `Last-Event-ID` when it reconnects.
    pub id: u64,
    pub name: String,
    pub data: String,
}

impl FeedEvent {
    /// The event in stream entry `id` (`"7-0"`) with these fields; `None`
    /// for an entry this server did not write.
    pub fn from_entry(id: &str, fields: impl IntoIterator<Item = (String, String)>) -> Option<FeedEvent> {
        let id = id.strip_suffix("-0")?.parse().ok()?;
        let (mut name, mut data) = (None, None);
        for (field, value) in fields {
            match field.as_str() {
                "name" => name = Some(value),
                "data" => data = Some(value),
                _ => {}
            }
        }
        Some(FeedEvent { id, name: name?, data: data? })
    }
}

/// The board as it is, and the id of the last event that shaped it:
/// `{"eventId": 7, "tasks": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub event_id: u64,
    pub tasks: Vec<Task>,
}

/// What a reader hands its subscribers.
#[derive(Debug, Clone)]
pub enum Live {
    /// The next event of the board. One `Arc` for all subscribers: the
    /// event is parsed once however many are listening.
    Event(Arc<FeedEvent>),
    /// Redis failed under the reader: no more events will come this way.
    Lost,
}

/// A board's reader, as its subscribers reach it.
#[derive(Debug)]
struct Reader {
    sender: broadcast::Sender<Live>,
    /// `None` until the reader knows where it starts, then whether it could.
    ready: watch::Receiver<Option<bool>>,
}

/// Every board's reader on this instance.
#[derive(Debug, Clone)]
pub struct Feeds {
    store: Store,
    readers: Arc<Mutex<HashMap<String, Reader>>>,
    /// Each subscriber's buffer: one that falls further behind than this
    /// could not be replayed either, so it starts over.
    capacity: usize,
}

impl Feeds {
    pub fn new(store: Store, capacity: usize) -> Self {
        Feeds { store, readers: Arc::default(), capacity }
    }

    // ANCHOR: subscribe
    /// A receiver of `board`'s events from now on: every event after the
    /// ones already in Redis when this returns. Starts the board's reader if
    /// this instance has none yet.
    pub async fn subscribe(&self, board: &str) -> Result<broadcast::Receiver<Live>, Unavailable> {
        let (live, mut ready) = {
            let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
            let reader = readers.entry(board.to_owned()).or_insert_with(|| self.start_reader(board));
            (reader.sender.subscribe(), reader.ready.clone())
        };
        // Wait until the reader has read where the stream ends, so that its
        // first `XREAD` covers every event after our snapshot.
        match ready.wait_for(Option::is_some).await.map(|ready| *ready) {
            Ok(Some(true)) => Ok(live),
            _ => Err(Unavailable(format!("the reader of {board} could not start"))),
        }
    }
    // ANCHOR_END: subscribe

    /// Starts `board`'s reader; called with the map locked.
    fn start_reader(&self, board: &str) -> Reader {
        let (sender, _) = broadcast::channel(self.capacity);
        let (ready_tx, ready) = watch::channel(None);
        let task = read(self.clone(), board.to_owned(), sender.clone(), ready_tx);
        tokio::spawn(task);
        Reader { sender, ready }
    }

    /// Removes `board`'s reader if it is this one (`sender`), and nobody
    /// listens, or `force`. Returns whether it was removed.
    fn retire(&self, board: &str, sender: &broadcast::Sender<Live>, force: bool) -> bool {
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        let ours = readers.get(board).is_some_and(|reader| reader.sender.same_channel(sender));
        if ours && (force || sender.receiver_count() == 0) {
            readers.remove(board);
            return true;
        }
        false
    }
}

// ANCHOR: read
/// The reader: one dedicated connection, one blocking read at a time, each
/// entry sent to every subscriber of this instance.
async fn read(
    feeds: Feeds,
    board: String,
    sender: broadcast::Sender<Live>,
    ready: watch::Sender<Option<bool>>,
) {
    let outcome: Result<(), Unavailable> = async {
        let mut connection = feeds.store.dedicated().await?;
        let start: Option<u64> = connection.get(keys::last_event(&board)).await?;
        let mut after = format!("{}-0", start.unwrap_or(0));
        let _ = ready.send(Some(true));
        let options = StreamReadOptions::default().block(READ_BLOCK.as_millis() as usize).count(READ_COUNT);
        loop {
            let reply: Option<StreamReadReply> =
                connection.xread_options(&[keys::events(&board)], &[&after], &options).await?;
            let entries = reply.into_iter().flat_map(|reply| reply.keys).flat_map(|key| key.ids);
            let mut got_any = false;
            for entry in entries {
                got_any = true;
                after = entry.id.clone();
                let fields = entry.map.into_iter().filter_map(|(field, value)| {
                    Some((field, redis::from_redis_value::<String>(value).ok()?))
                });
                if let Some(event) = FeedEvent::from_entry(&entry.id, fields) {
                    // An error only means nobody is subscribed right now.
                    let _ = sender.send(Live::Event(Arc::new(event)));
                }
            }
            if !got_any && feeds.retire(&board, &sender, false) {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(Unavailable(error)) = outcome {
        tracing::warn!(%board, "the board's reader lost Redis: {error}");
        feeds.retire(&board, &sender, true);
        let _ = ready.send(Some(false));
        let _ = sender.send(Live::Lost);
    }
}
// ANCHOR_END: read
