//! `GET /boards/{board}/events`: a board's changes as Server-Sent Events.
//!
//! One response that never ends. It opens with a `retry:` line and where
//! the client stands (a snapshot, a replay, or a reset and a snapshot), then
//! sends each change as it happens, with a comment whenever the board has
//! been quiet for `KEEPALIVE_MS` so that no proxy takes the silence for a
//! dead connection.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use serde_json::json;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::board::Boards;
use crate::feed::{FeedEvent, Snapshot, Start, Subscription};

/// How long `EventSource` waits before reconnecting when the connection
/// drops. Browsers default to a few seconds; saying it makes it ours.
pub const RETRY: Duration = Duration::from_secs(2);

/// The request header a reconnecting `EventSource` sends: the `id` of the
/// last event it received.
const LAST_EVENT_ID: &str = "last-event-id";

// ANCHOR: handler
/// `GET /boards/{board}/events` → `200`, `text/event-stream`, until the
/// client goes away.
pub async fn board_events(
    State(state): State<AppState>,
    Path(board): Path<String>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // A value that is not even text cannot be one of our ids: it gets
    // `reset` like any other id we cannot replay from.
    let last_event_id = headers.get(LAST_EVENT_ID).map(|value| value.to_str().unwrap_or_default());
    let subscription = state.boards.subscribe(&board, last_event_id);
    tracing::debug!(%board, ?last_event_id, "a subscriber joined");
    let subscriber = Subscriber::new(state.boards, board, subscription);
    let events = stream::unfold(subscriber, |mut subscriber| async move {
        let event = subscriber.next().await?;
        Some((Ok(event), subscriber))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(state.config.keepalive).text("keep-alive"))
}
// ANCHOR_END: handler

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
        let mut queued = VecDeque::from([Event::default().retry(RETRY)]);
        queued.extend(opening(subscription.start));
        Subscriber { boards, board, queued, live: subscription.live }
    }

    // ANCHOR: next
    /// The next event to send; `None` ends the response.
    async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.queued.pop_front() {
            return Some(event);
        }
        match self.live.recv().await {
            Ok(event) => Some(sse_event(&event)),
            // This connection fell more than REPLAY_CAPACITY events behind
            // and the oldest ones are gone. Ending the stream here (as
            // `while let Ok(..) = rx.recv().await` does) would leave the
            // client guessing; carrying on would leave a silent gap. Tell
            // it to start over, from a fresh subscription.
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(board = %self.board, missed, "a subscriber fell too far behind: reset");
                let Subscription { start, live } = self.boards.subscribe(&self.board, None);
                self.live = live;
                self.queued.push_back(reset_event("this connection fell too far behind"));
                self.queued.extend(opening(start));
                self.queued.pop_front()
            }
            // The board's sender is gone: there will be no more events.
            Err(RecvError::Closed) => None,
        }
    }
    // ANCHOR_END: next
}

// ANCHOR: events
/// The events that tell a new subscriber where it stands.
fn opening(start: Start) -> Vec<Event> {
    match start {
        Start::Snapshot(snapshot) => vec![snapshot_event(&snapshot)],
        Start::Replay(events) => events.iter().map(|event| sse_event(event)).collect(),
        Start::Reset(snapshot) => vec![
            reset_event("the events since Last-Event-ID can no longer be replayed"),
            snapshot_event(&snapshot),
        ],
    }
}

/// `event: task_moved`, `id: 7`, `data: {…}`.
fn sse_event(event: &FeedEvent) -> Event {
    Event::default().event(event.name).id(event.id.to_string()).data(&event.data)
}

/// `event: snapshot`, `id: 7`, `data: {"eventId":7,"tasks":[…]}`. The `id`
/// makes the browser's `lastEventId` the snapshot's, so a reconnection
/// resumes right after it.
fn snapshot_event(snapshot: &Snapshot) -> Event {
    let data = serde_json::to_string(snapshot).expect("a snapshot is plain data and always serializes");
    Event::default().event("snapshot").id(snapshot.event_id.to_string()).data(data)
}

/// `event: reset`: forget what you know, a snapshot follows. It carries
/// data because an event without data is never dispatched.
fn reset_event(reason: &str) -> Event {
    Event::default().event("reset").data(json!({ "reason": reason }).to_string())
}
// ANCHOR_END: events
