//! `GET /boards/{board}/events`: a board's changes as Server-Sent Events.
//!
//! One response that never ends. It opens with a `retry:` line and where
//! the client stands (a snapshot, a replay, or a reset and a snapshot), then
//! sends each change as it happens, with a comment whenever the board has
//! been quiet for `KEEPALIVE_MS`.
//!
//! A shape that works (the book's sections follow it): `board_events`
//! subscribes and hands a [`Subscriber`] to `futures_util::stream::unfold`,
//! which asks it for one [`Event`] after another; the helpers at the bottom
//! turn what the feed gives into SSE events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use futures_util::Stream;
use futures_util::stream;
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

/// `GET /boards/{board}/events` → `200`, `text/event-stream`, until the
/// client goes away.
pub async fn board_events(
    State(state): State<AppState>,
    Path(board): Path<String>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // `impl Stream` needs one concrete type to infer: replace these lines
    // with your answer.
    todo!(
        "board_events: subscribe to the board (state.boards.subscribe) and answer Sse::new(stream): \
         a retry, then the snapshot, then each live event as it happens"
    );
    #[allow(unreachable_code)]
    Sse::new(stream::empty())
}

/// One connection's view of a board: what to send first, then the live
/// events from its own receiver.
#[derive(Debug)]
struct Subscriber {
    boards: Boards,
    board: String,
    /// Events to send before the next live one.
    queued: VecDeque<Event>,
    live: Receiver<Arc<FeedEvent>>,
}

impl Subscriber {
    fn new(boards: Boards, board: String, subscription: Subscription) -> Self {
        todo!("Subscriber::new: queue a retry and the opening events, keep the receiver")
    }

    /// The next event to send; `None` ends the response.
    async fn next(&mut self) -> Option<Event> {
        todo!(
            "Subscriber::next: the queued events first, then each event the receiver gets (stage 2); \
             on RecvError::Lagged, a reset and a fresh snapshot (stage 7)"
        )
    }
}

/// The events that tell a new subscriber where it stands.
fn opening(start: Start) -> Vec<Event> {
    todo!("opening: the snapshot (stage 1); the replayed events, or a reset then the snapshot (stage 6)")
}

/// `event: task_moved`, `id: 7`, `data: {…}`.
fn sse_event(event: &FeedEvent) -> Event {
    todo!("sse_event: an Event with the feed event's name, id and data")
}

/// `event: snapshot`, `id: 7`, `data: {"eventId":7,"tasks":[…]}`.
fn snapshot_event(snapshot: &Snapshot) -> Event {
    todo!("snapshot_event: an Event named snapshot, with the snapshot's event id as its id, and its JSON")
}

/// `event: reset`: forget what you know, a snapshot follows.
fn reset_event(reason: &str) -> Event {
    todo!("reset_event: an Event named reset; give it data, or the browser never dispatches it")
}
