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
    /// The bytes of the line received so far.
    line: Vec<u8>,
    /// The previous byte was a CR. If the next one is an LF, the two are
    /// one line ending, even when they arrive in different chunks.
    after_cr: bool,
    /// A line has been read, so a BOM can no longer come.
    past_first_line: bool,
    data: String,
    event_type: String,
    /// The spec's "last event ID buffer": what the latest `id` field said.
    /// It counts only once a blank line dispatches the event it is in.
    last_event_id_buffer: String,
    /// The spec's "last event ID string": the buffer, as of the last blank
    /// line. Events carry it, and a reconnection sends it as `Last-Event-ID`.
    last_event_id: String,
    reconnection_time: Option<Duration>,
}

impl Parser {
    pub fn new() -> Self {
        Parser::default()
    }

    // ANCHOR: feed
    /// Reads the next bytes of the stream and returns the events they
    /// complete, in order. An unfinished line or event waits for more.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == CR);
            match byte {
                // The LF of a CR LF: the line already ended at the CR.
                LF if after_cr => {}
                CR | LF => {
                    let line = std::mem::take(&mut self.line);
                    events.extend(self.process_line(&line));
                }
                _ => self.line.push(byte),
            }
        }
        events
    }
    // ANCHOR_END: feed

    /// The reconnection time the last valid `retry` field set, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.reconnection_time
    }

    /// What a reconnection sends as `Last-Event-ID` (nothing when empty):
    /// the last event ID as of the last blank line. An `id` in an event the
    /// connection dropped before finishing never counts.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    // ANCHOR: line
    /// One whole line, without its line ending.
    fn process_line(&mut self, line: &[u8]) -> Option<Event> {
        let line = if self.past_first_line { line } else { line.strip_prefix(BOM).unwrap_or(line) };
        self.past_first_line = true;
        let line = String::from_utf8_lossy(line);
        // "If the line is empty (a blank line): dispatch the event."
        if line.is_empty() {
            return self.dispatch();
        }
        // "If the line starts with a U+003A COLON character (:): ignore the line."
        if line.starts_with(':') {
            return None;
        }
        // The field name runs up to the first colon; "if value starts with a
        // U+0020 SPACE character, remove it from value" — one space, no more.
        // A line without a colon is a field name with an empty value.
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        self.process_field(field, value);
        None
    }

    fn process_field(&mut self, field: &str, value: &str) {
        match field {
            "event" => self.event_type = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL, then set the
            // last event ID buffer to the field value." The buffer; the
            // stream's last event ID follows it only at the blank line.
            "id" if !value.contains('\0') => self.last_event_id_buffer = value.to_owned(),
            // "If the field value consists of only ASCII digits, then …
            // set the event stream's reconnection time."
            "retry" if value.bytes().all(|b| b.is_ascii_digit()) => {
                // An empty value, or one too large for a `u64`, is not a number.
                if let Ok(millis) = value.parse() {
                    self.reconnection_time = Some(Duration::from_millis(millis));
                }
            }
            // "Otherwise: the field is ignored."
            _ => {}
        }
    }
    // ANCHOR_END: line

    // ANCHOR: dispatch
    /// A blank line ends an event. It is dispatched only if it had data;
    /// either way its type is forgotten, and its `id`, if any, becomes the
    /// stream's last event ID.
    fn dispatch(&mut self) -> Option<Event> {
        // "Set the last event ID string of the event source to the value of
        // the last event ID buffer." First, so an event without data moves
        // it too. "The buffer does not get reset."
        self.last_event_id.clone_from(&self.last_event_id_buffer);
        let event_type = std::mem::take(&mut self.event_type);
        let mut data = std::mem::take(&mut self.data);
        // "If the data buffer is an empty string, set the data buffer and the
        // event type buffer to the empty string and return."
        if data.is_empty() {
            return None;
        }
        // "If the data buffer's last character is a U+000A LINE FEED (LF)
        // character, then remove the last character from the data buffer."
        data.pop();
        let event_type = if event_type.is_empty() { "message".to_owned() } else { event_type };
        Some(Event { event_type, data, last_event_id: self.last_event_id.clone() })
    }
    // ANCHOR_END: dispatch
}
