//! The other side of the wire: reading an event stream as a browser's
//! `EventSource` does, by the WHATWG HTML standard ("Server-sent events",
//! §9.2.5 parsing and §9.2.6 interpreting an event stream).
//!
//! [`Parser`] is incremental and does no I/O: feed it bytes as they arrive,
//! in chunks of any size, and it hands back the events they complete. A
//! chunk may end anywhere — inside a field name, between a CR and its LF,
//! in the middle of a UTF-8 character — so it works on bytes and decodes a
//! line only once the line is whole.

use std::time::Duration;

/// LINE FEED, one of the three line endings.
const LF: u8 = b'\n';
/// CARRIAGE RETURN: a line ending on its own, or the start of CR LF.
const CR: u8 = b'\r';
/// The UTF-8 byte order mark: "the UTF-8 decode algorithm strips one leading
/// UTF-8 BOM, if any".
const BOM: &[u8] = "\u{feff}".as_bytes();

/// An event, as `EventSource` hands it to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `message` unless an `event` field named it.
    pub event_type: String,
    /// The `data` lines, joined with `\n`.
    pub data: String,
    /// The stream's last event ID when the event was dispatched: the latest
    /// `id` field, from this event or an earlier one.
    pub last_event_id: String,
}

/// An event stream being read, and the buffers the spec keeps between lines.
#[derive(Debug, Default)]
pub struct Parser {
    // TODO: whatever the parser must remember between calls to `feed`
    // ("Parsing the stream yourself"). A start, all yours to change:
    /// The bytes of the line received so far.
    line: Vec<u8>,
    data: String,
    event_type: String,
    last_event_id: String,
    reconnection_time: Option<Duration>,
}

impl Parser {
    pub fn new() -> Self {
        Parser::default()
    }

    /// Reads the next bytes of the stream and returns the events they
    /// complete, in order. An unfinished line or event waits for more.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        todo!(
            "Parser::feed: the events these bytes complete, read as the WHATWG standard says, however \
             the stream is split (\"The event-stream format\", \"Parsing the stream yourself\")"
        )
    }

    /// The reconnection time the last valid `retry` field set, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        todo!(
            "Parser::reconnection_time: what the last valid retry field said (\"Parsing the stream yourself\")"
        )
    }

    /// What a reconnection sends as `Last-Event-ID` (nothing when empty).
    pub fn last_event_id(&self) -> &str {
        todo!(
            "Parser::last_event_id: the stream's last event ID as of the last blank line (\"Parsing the stream yourself\")"
        )
    }
}
