//! `GET /boards/{board}/events`: a board's changes as Server-Sent Events,
//! from whichever instance the client reaches.
//!
//! One response that never ends. It opens with a `retry:` line and where
//! the client stands (a snapshot, a replay, or a reset and a snapshot), read
//! from Redis, then sends each change as this instance's reader of the
//! board hands it over (see `feed.rs`), with a comment whenever the board
//! has been quiet for `KEEPALIVE_MS`.
//!
//! Chapter 8: the replay comes from the board's stream in Redis, so a
//! client that was on instance A resumes on instance B exactly where it
//! left off. When Redis is down the request gets `503`; a stream already
//! open ends, and the browser reconnects (`retry:`) until Redis is back.

use std::collections::VecDeque;
use std::convert::Infallible;
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
use crate::error::ApiError;
use crate::feed::{FeedEvent, Live, Snapshot};
use crate::store::Unavailable;

/// How long `EventSource` waits before reconnecting when the connection
/// drops. Browsers default to a few seconds; saying it makes it ours.
pub const RETRY: Duration = Duration::from_secs(2);

/// The request header a reconnecting `EventSource` sends: the `id` of the
/// last event it received.
const LAST_EVENT_ID: &str = "last-event-id";

// ANCHOR: handler
/// `GET /boards/{board}/events` → `200`, `text/event-stream`, until the
/// client goes away or Redis does; `503` if Redis is down already.
pub async fn board_events(
    State(state): State<AppState>,
    Path(board): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // A value that is not even text cannot be one of our ids: it gets
    // `reset` like any other id we cannot replay from.
    let last_event_id = headers.get(LAST_EVENT_ID).map(|value| value.to_str().unwrap_or_default());
    // First the receiver, then the read: every event after what the read
    // returns is then on its way to the receiver (duplicates are skipped).
    let live = state.feeds.subscribe(&board).await?;
    let (opening, last) = opening(&state.boards, &board, last_event_id).await?;
    tracing::debug!(%board, ?last_event_id, "a subscriber joined");
    let mut queued = VecDeque::from([Event::default().retry(RETRY)]);
    queued.extend(opening);
    let subscriber = Subscriber { boards: state.boards, board, queued, live, last };
    let events = stream::unfold(subscriber, |mut subscriber| async move {
        let event = subscriber.next().await?;
        Some((Ok(event), subscriber))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.config.keepalive).text("keep-alive")))
}
// ANCHOR_END: handler

/// The events that tell a new subscriber where it stands, and the id of
/// the last event they account for.
async fn opening(
    boards: &Boards,
    board: &str,
    last_event_id: Option<&str>,
) -> Result<(Vec<Event>, u64), Unavailable> {
    if let Some(id) = last_event_id {
        if let Some((events, last)) = boards.replay_after(board, id).await? {
            return Ok((events.iter().map(sse_event).collect(), last));
        }
        let snapshot = boards.snapshot(board).await?;
        let reset = reset_event("the events since Last-Event-ID can no longer be replayed");
        return Ok((vec![reset, snapshot_event(&snapshot)], snapshot.event_id));
    }
    let snapshot = boards.snapshot(board).await?;
    Ok((vec![snapshot_event(&snapshot)], snapshot.event_id))
}

/// One connection's view of a board: what to send first, then the live
/// events from the instance's reader, each exactly once.
#[derive(Debug)]
struct Subscriber {
    boards: Boards,
    board: String,
    /// Events to send before the next live one.
    queued: VecDeque<Event>,
    live: Receiver<Live>,
    /// The id of the last event this client has (or its snapshot covers).
    last: u64,
}

impl Subscriber {
    // ANCHOR: next
    /// The next event to send; `None` ends the response.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Some(event);
            }
            match self.live.recv().await {
                // Already in the opening snapshot or replay.
                Ok(Live::Event(event)) if event.id <= self.last => continue,
                Ok(Live::Event(event)) if event.id == self.last + 1 => {
                    self.last = event.id;
                    return Some(sse_event(&event));
                }
                // A gap (the reader fell behind the stream's trimming), or
                // this connection fell behind its buffer: events are
                // missing, so start over rather than carry on with a hole.
                Ok(Live::Event(_)) | Err(RecvError::Lagged(_)) => {
                    tracing::warn!(board = %self.board, "a subscriber missed events: reset");
                    let snapshot = self.boards.snapshot(&self.board).await.ok()?;
                    self.last = snapshot.event_id;
                    self.queued.push_back(reset_event("this connection fell too far behind"));
                    self.queued.push_back(snapshot_event(&snapshot));
                }
                // Redis is gone: end the stream, so the client reconnects.
                Ok(Live::Lost) | Err(RecvError::Closed) => return None,
            }
        }
    }
    // ANCHOR_END: next
}

// ANCHOR: events
/// `event: task_moved`, `id: 7`, `data: {…}`.
fn sse_event(event: &FeedEvent) -> Event {
    Event::default().event(&event.name).id(event.id.to_string()).data(&event.data)
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
