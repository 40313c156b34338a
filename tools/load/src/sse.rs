//! The client side of Server-Sent Events, reduced to what the fan-out
//! mode needs: split the stream into events and tell each one's name and
//! data (the WHATWG HTML "event stream interpretation", without `id` and
//! `retry`, which a load client has no use for).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:`; `message` when the server named none.
    pub name: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// An incremental parser: feed it body bytes as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    name: String,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// Parses `bytes`, calling `on_event` for each event they complete.
    /// Lines end in LF or CRLF (a lone CR, which the format also allows,
    /// is not handled: no server in this course sends one).
    pub fn feed(&mut self, mut bytes: &[u8], mut on_event: impl FnMut(SseEvent)) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&bytes[..end]);
            bytes = &bytes[end + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.take_line(&line) {
                on_event(event);
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(bytes);
    }

    fn take_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            let name = std::mem::take(&mut self.name);
            let data = std::mem::take(&mut self.data);
            // "If the data buffer is an empty string, … return" — an event
            // without data is never dispatched.
            let had_data = std::mem::take(&mut self.has_data);
            return had_data
                .then(|| SseEvent { name: if name.is_empty() { "message".into() } else { name }, data });
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // Comments (`:keep-alive`), `id`, `retry` and unknown fields.
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for part in raw.as_bytes().chunks(piece) {
            parser.feed(part, |event| events.push(event));
        }
        events
    }

    #[test]
    fn events_are_split_at_blank_lines_whatever_the_reads_split() {
        let raw = "retry: 2000\n\n: keep-alive\n\nevent: task_created\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\n\
                   data: one\ndata:two\n\n";
        let want = vec![
            SseEvent { name: "task_created".into(), data: "{\"a\":1}".into() },
            SseEvent { name: "message".into(), data: "one\ntwo".into() },
        ];
        for piece in 1..=raw.len() {
            assert_eq!(parse(raw, piece), want, "pieces of {piece}");
        }
    }
}
