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

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::json;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

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

// ANCHOR: handler
/// `GET /boards/{board}/events` → `200`, `text/event-stream`, until the
/// client goes away.
pub async fn board_events(
    State(state): State<AppState>,
    Path(board): Path<String>,
    headers: HeaderMap,
) -> Response {
    // A value that is not even text cannot be one of our ids: it gets
    // `reset` like any other id we cannot replay from.
    let last_event_id = headers.get(LAST_EVENT_ID).map(|value| value.to_str().unwrap_or_default());
    let subscription = state.boards.subscribe(&board, last_event_id);
    tracing::debug!(%board, ?last_event_id, "a subscriber joined");
    let subscriber = Subscriber::new(state.boards, board, subscription);
    let keepalive = state.config.keepalive;
    let chunks = stream::unfold(subscriber, move |mut subscriber| async move {
        // `next` only waits where nothing is lost when it is given up on,
        // so a quiet spell can end it and send a comment instead.
        let chunk = match tokio::time::timeout(keepalive, subscriber.next()).await {
            Ok(chunk) => chunk?,
            Err(_quiet) => Bytes::from_static(KEEP_ALIVE),
        };
        Some((Ok::<_, Infallible>(chunk), subscriber))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(chunks),
    )
        .into_response()
}
// ANCHOR_END: handler

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
        let mut queued = vec![retry_field(RETRY)];
        queued.extend(opening(subscription.start));
        Subscriber { boards, board, queued, live: subscription.live }
    }

    // ANCHOR: next
    /// Everything there is to send now, as one chunk; `None` ends the
    /// response. Waits only while there is nothing at all, and only in
    /// `recv`, so a `next` given up on (by the keep-alive's timeout) loses
    /// nothing.
    async fn next(&mut self) -> Option<Bytes> {
        if self.queued.is_empty() {
            match self.live.recv().await {
                Ok(event) => self.queued.push(event.encoded.clone()),
                Err(RecvError::Lagged(missed)) => self.start_over(missed),
                // The board's sender is gone: there will be no more events.
                Err(RecvError::Closed) => return None,
            }
        }
        // Whatever else is already queued goes in the same chunk; nothing
        // waits for company.
        let mut size: usize = self.queued.iter().map(Bytes::len).sum();
        while size < CHUNK_LIMIT {
            match self.live.try_recv() {
                Ok(event) => {
                    size += event.encoded.len();
                    self.queued.push(event.encoded.clone());
                }
                Err(TryRecvError::Lagged(missed)) => self.start_over(missed),
                // Closed: send what we have; the next `recv` ends the stream.
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        Some(one_chunk(std::mem::take(&mut self.queued)))
    }

    /// This connection fell more than REPLAY_CAPACITY events behind and the
    /// oldest ones are gone. Ending the stream here (as
    /// `while let Ok(..) = rx.recv().await` does) would leave the client
    /// guessing; carrying on would leave a silent gap. Tell it to start
    /// over, from a fresh subscription.
    fn start_over(&mut self, missed: u64) {
        tracing::warn!(board = %self.board, missed, "a subscriber fell too far behind: reset");
        let Subscription { start, live } = self.boards.subscribe(&self.board, None);
        self.live = live;
        self.queued.push(reset_event("this connection fell too far behind"));
        self.queued.extend(opening(start));
    }
    // ANCHOR_END: next
}

/// `parts` as one chunk: a single part as it is (shared, not copied),
/// several copied one after the other.
fn one_chunk(mut parts: Vec<Bytes>) -> Bytes {
    if parts.len() == 1 {
        return parts.pop().expect("there is one part");
    }
    Bytes::from(parts.concat())
}

// ANCHOR: events
/// The events that tell a new subscriber where it stands.
fn opening(start: Start) -> Vec<Bytes> {
    match start {
        Start::Snapshot(snapshot) => vec![snapshot_event(&snapshot)],
        Start::Replay(events) => events.iter().map(|event| event.encoded.clone()).collect(),
        Start::Reset(snapshot) => vec![
            reset_event("the events since Last-Event-ID can no longer be replayed"),
            snapshot_event(&snapshot),
        ],
    }
}

/// `event: snapshot`, `id: 7`, `data: {"eventId":7,"tasks":[…]}`. The `id`
/// makes the browser's `lastEventId` the snapshot's, so a reconnection
/// resumes right after it.
fn snapshot_event(snapshot: &Snapshot) -> Bytes {
    let data = serde_json::to_string(snapshot).expect("a snapshot is plain data and always serializes");
    encode("snapshot", Some(snapshot.event_id), &data)
}

/// `event: reset`: forget what you know, a snapshot follows. It carries
/// data because an event without data is never dispatched; and no id, so
/// the browser's `lastEventId` stays as it was until the snapshot's.
fn reset_event(reason: &str) -> Bytes {
    encode("reset", None, &json!({ "reason": reason }).to_string())
}
// ANCHOR_END: events

// ANCHOR: encode
/// One whole event as it goes on the wire: `event: name`, `id: 7` (if
/// any), one `data:` line per line of `data`, and the blank line that
/// dispatches it. `name` must be a single line (ours are constants).
pub fn encode(name: &str, id: Option<u64>, data: &str) -> Bytes {
    let mut event = format!("event: {name}\n");
    if let Some(id) = id {
        writeln!(event, "id: {id}").expect("writing to a String cannot fail");
    }
    // A line break inside a field would end it: every line of the data
    // gets a `data:` line of its own, and the client joins them with `\n`.
    // Any of CRLF, LF or CR ends a line.
    for line in data.replace("\r\n", "\n").split(['\n', '\r']) {
        writeln!(event, "data: {line}").expect("writing to a String cannot fail");
    }
    event.push('\n');
    Bytes::from(event)
}

/// `retry: 2000`, alone in an event of its own.
fn retry_field(retry: Duration) -> Bytes {
    Bytes::from(format!("retry: {}\n\n", retry.as_millis()))
}
// ANCHOR_END: encode

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_its_name_its_id_its_data_and_a_blank_line() {
        let event = encode("task_moved", Some(7), r#"{"id":"task-1"}"#);
        assert_eq!(event, "event: task_moved\nid: 7\ndata: {\"id\":\"task-1\"}\n\n");
    }

    #[test]
    fn an_event_without_an_id_has_no_id_line() {
        assert_eq!(encode("reset", None, "{}"), "event: reset\ndata: {}\n\n");
    }

    #[test]
    fn each_line_of_the_data_gets_a_data_line_of_its_own() {
        let event = encode("note", Some(3), "one\ntwo\r\nthree\rfour");
        assert_eq!(event, "event: note\nid: 3\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
    }

    #[test]
    fn empty_lines_of_the_data_are_kept() {
        // The client joins the data lines with `\n`: "", "a", "" is "\na\n".
        assert_eq!(encode("note", None, "\na\n"), "event: note\ndata: \ndata: a\ndata: \n\n");
        assert_eq!(encode("note", None, ""), "event: note\ndata: \n\n");
    }

    #[test]
    fn the_retry_field_is_in_milliseconds() {
        assert_eq!(retry_field(Duration::from_secs(2)), "retry: 2000\n\n");
    }

    #[test]
    fn several_parts_make_one_chunk_in_order_and_one_part_is_shared() {
        let (a, b) = (Bytes::from_static(b"a"), Bytes::from_static(b"b"));
        assert_eq!(one_chunk(vec![a.clone(), b]), "ab");
        assert_eq!(one_chunk(vec![a.clone()]).as_ptr(), a.as_ptr());
    }
}
