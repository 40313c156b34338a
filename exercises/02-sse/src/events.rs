//! `GET /boards/{board}/events`: a board's changes as Server-Sent Events.
//!
//! One response that never ends. It opens with a `retry:` line and where
//! the client stands (a snapshot, a replay, or a reset and a snapshot), then
//! sends each change as it happens, with a comment whenever the board has
//! been quiet for `KEEPALIVE_MS` so that no proxy takes the silence for a
//! dead connection.
//!
//! The body is written by hand, as bytes: each change was encoded once, as
//! a whole SSE event, when it was published (see `feed.rs`), and a
//! subscriber that wakes up sends everything already queued for it as one
//! chunk. axum's `Sse` would encode every event again for every subscriber,
//! one chunk each.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tokio::sync::broadcast::Receiver;

use crate::AppState;
use crate::board::Boards;
use crate::feed::{FeedEvent, Snapshot, Start, Subscription};

/// How long `EventSource` waits before reconnecting when the connection
/// drops. Browsers default to a few seconds; saying it makes it ours.
pub const RETRY: Duration = Duration::from_secs(2);

/// The request header a reconnecting `EventSource` sends: the `id` of the
/// last event it received.
const LAST_EVENT_ID: &str = "last-event-id";

/// What a quiet stream sends every `KEEPALIVE_MS`: a comment, which no
/// listener ever sees, and a blank line.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// A chunk stops taking queued events once it holds this much: the rest
/// stay in the receiver, for the next chunk, rather than being copied into
/// one huge one.
const CHUNK_LIMIT: usize = 64 * 1024;

/// `GET /boards/{board}/events` → `200`, `text/event-stream`, until the
/// client goes away.
pub async fn board_events(
    State(state): State<AppState>,
    Path(board): Path<String>,
    headers: HeaderMap,
) -> Response {
    todo!(
        "board_events: 200 and an endless text/event-stream for this board, opening with a retry \
         and where the client stands, with keep-alive comments (\"Opening the stream\", \"A snapshot \
         first\", \"Keep-alives and buffering proxies\")"
    )
}

/// One connection's view of a board: what to send first, then the live
/// events from its own receiver.
#[derive(Debug)]
struct Subscriber {
    boards: Boards,
    board: String,
    /// Encoded events to send before the next live one.
    queued: Vec<Bytes>,
    live: Receiver<Arc<FeedEvent>>,
}

impl Subscriber {
    fn new(boards: Boards, board: String, subscription: Subscription) -> Self {
        todo!(
            "Subscriber::new: a subscriber that will send the retry and the opening first (\"Opening the stream\")"
        )
    }

    /// Everything there is to send now, as one chunk; `None` ends the
    /// response. Waits only while there is nothing at all, and only in
    /// `recv`, so a `next` given up on (by the keep-alive's timeout) loses
    /// nothing.
    async fn next(&mut self) -> Option<Bytes> {
        todo!(
            "Subscriber::next: what is queued and every change already waiting, as one chunk (\"Pushing \
             board changes\", \"Slow subscribers and Lagged\")"
        )
    }

    /// This connection fell more than REPLAY_CAPACITY events behind and the
    /// oldest ones are gone: it starts over.
    fn start_over(&mut self, missed: u64) {
        todo!(
            "Subscriber::start_over: a reset, then a fresh snapshot from a fresh subscription (\"Slow \
             subscribers and Lagged\")"
        )
    }
}

/// `parts` as one chunk: a single part as it is (shared, not copied),
/// several copied one after the other.
fn one_chunk(mut parts: Vec<Bytes>) -> Bytes {
    if parts.len() == 1 {
        return parts.pop().expect("there is one part");
    }
    Bytes::from(parts.concat())
}

/// The events that tell a new subscriber where it stands.
fn opening(start: Start) -> Vec<Bytes> {
    todo!(
        "opening: the events that say where the client stands (\"A snapshot first\", \"Reconnecting \
         without losing events\")"
    )
}

/// `event: snapshot`, `id: 7`, `data: {"eventId":7,"tasks":[…]}`.
fn snapshot_event(snapshot: &Snapshot) -> Bytes {
    todo!("snapshot_event: the contract's snapshot event (\"A snapshot first\")")
}

/// `event: reset`: forget what you know, a snapshot follows.
fn reset_event(reason: &str) -> Bytes {
    todo!(
        "reset_event: the contract's reset event, one a browser dispatches (\"Reconnecting without losing events\")"
    )
}

/// One whole event as it goes on the wire: `event: name`, `id: 7` (if
/// any), one `data:` line per line of `data`, and the blank line that
/// dispatches it. `name` must be a single line (ours are constants).
pub fn encode(name: &str, id: Option<u64>, data: &str) -> Bytes {
    todo!(
        "encode: one whole event in the event-stream format, data of any number of lines (\"The event-stream format\")"
    )
}

/// `retry: 2000`, alone in an event of its own.
fn retry_field(retry: Duration) -> Bytes {
    todo!("retry_field: the retry field, alone in an event of its own (\"Opening the stream\")")
}
