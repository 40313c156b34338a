//! Stage 8, "Parse the stream yourself".

use crate::check::check;
use crate::{Failure, Target};

use super::{PARSER, PARSER_NEEDS, PARSER_SECTION};

/// An event as the parser under test dispatched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
}

/// What a parser made of a whole stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The events it dispatched, in order.
    pub events: Vec<ParsedEvent>,
    /// Its reconnection time at the end, in milliseconds, if a `retry`
    /// field set one.
    pub retry_ms: Option<u64>,
    /// What it would send as `Last-Event-ID` if the connection dropped at
    /// the end (empty: no header).
    pub last_event_id: String,
}

/// The learner's client-side parser, as `tests/checks.rs` hands it over:
/// a fresh parser, fed `chunks` one after the other.
#[derive(Debug, Clone, Copy)]
pub struct ParseChunks(pub fn(&[&[u8]]) -> Parsed);

/// A stream and what the WHATWG algorithm makes of it.
struct Case {
    what: &'static str,
    stream: &'static [u8],
    /// `(event type, data, last event id)`.
    events: &'static [(&'static str, &'static str, &'static str)],
    retry_ms: Option<u64>,
    /// The stream's last event ID at the end: what a reconnection sends.
    last_event_id: &'static str,
}

const FIELDS: Case = Case {
    what: "fields, comments and multi-line data",
    stream: b": a comment: browsers ignore it\n\
              event: task_created\n\
              id: 1\n\
              data: {\"id\":\"task-1\"}\n\
              \n\
              data: first line\n\
              : a comment between data lines\n\
              data: second line\n\
              \n\
              data:no space after the colon\n\
              \n\
              data:  two spaces, one is kept\n\
              \n\
              data: a colon: in the value\n\
              unknown: a field nobody knows\n\
              Data: field names are case-sensitive\n\
              data : a space before the colon makes another name\n\
              \n\
              event:\n\
              data: an empty event type means message\n\
              \n",
    events: &[
        ("task_created", "{\"id\":\"task-1\"}", "1"),
        ("message", "first line\nsecond line", "1"),
        ("message", "no space after the colon", "1"),
        ("message", " two spaces, one is kept", "1"),
        ("message", "a colon: in the value", "1"),
        ("message", "an empty event type means message", "1"),
    ],
    retry_ms: None,
    last_event_id: "1",
};

const DISPATCH: Case = Case {
    what: "which blank lines dispatch",
    stream: b"event: no_data\n\
              \n\
              data: the type of an event that was not dispatched is forgotten\n\
              \n\
              : only a comment\n\
              \n\
              unknown: only unknown fields\n\
              \n\
              data\n\
              \n\
              data\n\
              data\n\
              \n\
              \n\
              \n\
              event: unfinished\n\
              data: no blank line after it yet",
    events: &[
        ("message", "the type of an event that was not dispatched is forgotten", ""),
        ("message", "", ""),
        ("message", "\n", ""),
    ],
    retry_ms: None,
    last_event_id: "",
};

const LINE_ENDINGS: Case = Case {
    what: "LF, CRLF and CR line endings, mixed",
    stream: b"event: lf\ndata: 1\n\n\
              event: crlf\r\ndata: 2\r\n\r\n\
              event: cr\rdata: 3\r\r\
              data: crlf then lf\r\n\n\
              data: lf then cr\n\r\
              data: cr then crlf\r\r\n\n\
              data: last\n\n",
    events: &[
        ("lf", "1", ""),
        ("crlf", "2", ""),
        ("cr", "3", ""),
        ("message", "crlf then lf", ""),
        ("message", "lf then cr", ""),
        ("message", "cr then crlf", ""),
        ("message", "last", ""),
    ],
    retry_ms: None,
    last_event_id: "",
};

const SPLITS: Case = Case {
    what: "a stream of every kind of line, UTF-8 included",
    stream:
        "\u{feff}: hi\r\nevent: task_moved\r\nid: 41\r\ndata: {\"title\":\"Caf\u{e9} \u{1f680}\"}\r\n\r\n\
             data: two\rdata: lines\r\rid: 42\n\ndata: x\n\n"
            .as_bytes(),
    events: &[
        ("task_moved", "{\"title\":\"Caf\u{e9} \u{1f680}\"}", "41"),
        ("message", "two\nlines", "41"),
        ("message", "x", "42"),
    ],
    retry_ms: None,
    last_event_id: "42",
};

const BOMS: [Case; 3] = [
    Case {
        what: "a BOM at the start",
        stream: "\u{feff}data: after the BOM\n\n".as_bytes(),
        events: &[("message", "after the BOM", "")],
        retry_ms: None,
        last_event_id: "",
    },
    Case {
        what: "two BOMs at the start: the second is part of the field name",
        stream: "\u{feff}\u{feff}data: not data\n\ndata: next\n\n".as_bytes(),
        events: &[("message", "next", "")],
        retry_ms: None,
        last_event_id: "",
    },
    Case {
        what: "a BOM later on: part of the field name",
        stream: "data: first\n\n\u{feff}data: not data\n\n".as_bytes(),
        events: &[("message", "first", "")],
        retry_ms: None,
        last_event_id: "",
    },
];

const IDS_AND_RETRY: Case = Case {
    what: "ids and retry",
    stream: b"retry: 500\n\
              id: 7\n\
              \n\
              data: after an id with no data\n\
              \n\
              data: the id stays\n\
              \n\
              retry: 1500\n\
              retry: 2s\n\
              retry: -1\n\
              retry: +5\n\
              retry: 1 000\n\
              id\n\
              data: an empty id clears it\n\
              \n\
              id: 8\0\n\
              data: an id with NUL is ignored\n\
              \n\
              data: an id after the data counts too\n\
              id: 9\n\
              \n",
    events: &[
        ("message", "after an id with no data", "7"),
        ("message", "the id stays", "7"),
        ("message", "an empty id clears it", ""),
        ("message", "an id with NUL is ignored", ""),
        ("message", "an id after the data counts too", "9"),
    ],
    retry_ms: Some(1500),
    last_event_id: "9",
};

const ID_AT_DISPATCH: Case = Case {
    what: "ids that count only at a blank line",
    stream: b"id: 1\n\
              data: a\n\
              \n\
              id: 2\n\
              \n\
              id: 3\n\
              data: the connection drops before the blank line",
    events: &[("message", "a", "1")],
    retry_ms: None,
    last_event_id: "2",
};

check!(Check {
    name: parser_reads_fields_comments_and_multi_line_data,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &[
        "Split off the field name at the first `:`; drop one space after it, and only one.",
        "Each `data` line appends its value and a `\\n`; at dispatch, remove the last `\\n`. No \
         `event` field means the type `message`.",
        "A line starting with `:` is a comment; a field name you don't know is ignored.",
    ],
    needs: PARSER_NEEDS,
});
async fn parser_reads_fields_comments_and_multi_line_data(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &FIELDS, &whole_and_bytewise(FIELDS.stream))
}

check!(Check {
    name: parser_dispatches_only_events_with_data_at_a_blank_line,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &[
        "A blank line dispatches; if no `data` line came (the data buffer is empty), nothing is \
         dispatched, and the event type is forgotten too.",
        "A line `data` without a colon is the field `data` with an empty value: it still counts.",
        "Bytes after the last blank line are an unfinished event: keep them until more come.",
    ],
    needs: PARSER_NEEDS,
});
async fn parser_dispatches_only_events_with_data_at_a_blank_line(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &DISPATCH, &whole_and_bytewise(DISPATCH.stream))
}

check!(Check {
    name: parser_accepts_crlf_lf_and_cr_line_endings,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &["A line ends at CR, at LF, or at CR LF — one ending, not two. So `\\r\\n` is one end of \
         line, while `\\n\\r` is two (a blank line)."],
    needs: PARSER_NEEDS,
});
async fn parser_accepts_crlf_lf_and_cr_line_endings(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &LINE_ENDINGS, &whole_and_bytewise(LINE_ENDINGS.stream))
}

check!(Check {
    name: parser_gives_the_same_events_however_the_bytes_are_split,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &[
        "Keep the bytes of an unfinished line between calls to `feed`, and only handle a line \
         once its end has come.",
        "A chunk can end right after a CR: remember it, so an LF at the start of the next chunk \
         is not taken for a second (blank) line.",
        "Work on bytes and decode a line only when it is complete: a chunk can end in the middle \
         of a multi-byte UTF-8 character.",
    ],
    needs: PARSER_NEEDS,
});
async fn parser_gives_the_same_events_however_the_bytes_are_split(t: Target) -> Result<(), Failure> {
    let stream = SPLITS.stream;
    let mut splits = whole_and_bytewise(stream);
    for i in 1..stream.len() {
        splits.push(vec![&stream[..i], &stream[i..]]);
    }
    for i in 1..stream.len() {
        for j in i + 1..stream.len() {
            splits.push(vec![&stream[..i], &stream[i..j], &stream[j..]]);
        }
    }
    // Empty chunks happen too (a read that returned nothing new).
    splits.push(vec![b"", &stream[..5], b"", &stream[5..], b""]);
    expect_parse(&t, &SPLITS, &splits)
}

check!(Check {
    name: parser_strips_one_leading_bom_and_no_other,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &["Only the very first bytes of the stream may be a BOM (`EF BB BF`): strip it from the \
         first line. A BOM anywhere else is part of the text — here, of a field name nobody knows."],
    needs: PARSER_NEEDS,
});
async fn parser_strips_one_leading_bom_and_no_other(t: Target) -> Result<(), Failure> {
    for case in &BOMS {
        expect_parse(&t, case, &whole_and_bytewise(case.stream))?;
    }
    Ok(())
}

check!(Check {
    name: parser_keeps_the_last_event_id_and_the_retry_time,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &[
        "The `id` field sets the last event ID *buffer*, and every blank line copies the \
         buffer into the last event ID the events carry, even when nothing is dispatched. It \
         stays until another `id` changes it; an empty `id` clears it; an id containing NUL \
         is ignored.",
        "`retry` counts only if its value is all ASCII digits; anything else is ignored.",
    ],
    needs: PARSER_NEEDS,
});
async fn parser_keeps_the_last_event_id_and_the_retry_time(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &IDS_AND_RETRY, &whole_and_bytewise(IDS_AND_RETRY.stream))
}

check!(Check {
    name: parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line,
    stage: PARSER,
    section: PARSER_SECTION,
    hints: &[
        "Keep two things: the *buffer* the `id` field sets, and the stream's last event ID, \
         which a blank line sets from the buffer — whether or not the event had data.",
        "`last_event_id()` answers the latter: an `id` in an event the connection dropped \
         before its blank line must never be sent back as `Last-Event-ID`.",
    ],
    needs: PARSER_NEEDS,
});
async fn parser_takes_an_id_as_the_last_event_id_only_at_a_blank_line(t: Target) -> Result<(), Failure> {
    expect_parse(&t, &ID_AT_DISPATCH, &whole_and_bytewise(ID_AT_DISPATCH.stream))
}

fn whole_and_bytewise(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    vec![vec![stream], stream.chunks(1).collect()]
}

/// Feeds `case` to the learner's parser in each of `splits`, and requires
/// exactly the events and the retry time the spec gives.
fn expect_parse(t: &Target, case: &Case, splits: &[Vec<&[u8]>]) -> Result<(), Failure> {
    let ParseChunks(parse) = *t.local::<ParseChunks>()?;
    let want = Parsed {
        events: case
            .events
            .iter()
            .map(|(event_type, data, last_event_id)| ParsedEvent {
                event_type: (*event_type).to_owned(),
                data: (*data).to_owned(),
                last_event_id: (*last_event_id).to_owned(),
            })
            .collect(),
        retry_ms: case.retry_ms,
        last_event_id: case.last_event_id.to_owned(),
    };
    for chunks in splits {
        let got = std::panic::catch_unwind(|| parse(chunks)).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_owned());
            Failure::new(format!("your parser panicked on {}: {message}", case.what))
                .sent(show_chunks(chunks))
                .expected(show_parsed(&want))
        })?;
        if got != want {
            return Err(Failure::new(format!(
                "your parser read {} differently from the spec ({})",
                case.what,
                how_split(chunks)
            ))
            .sent(show_chunks(chunks))
            .expected(show_parsed(&want))
            .got(show_parsed(&got)));
        }
    }
    Ok(())
}

fn how_split(chunks: &[&[u8]]) -> String {
    match chunks.len() {
        1 => "fed in one piece".to_owned(),
        n if chunks.iter().all(|c| c.len() == 1) => format!("fed one byte at a time, {n} calls"),
        n => format!("fed in {n} chunks"),
    }
}

/// Chunks as the parser was fed them, bytes escaped so that line endings
/// and a split inside a character show.
fn show_chunks(chunks: &[&[u8]]) -> String {
    if chunks.len() > 3 && chunks.iter().all(|c| c.len() <= 1) {
        let whole: Vec<u8> = chunks.concat();
        return format!("one byte at a time, {} calls to feed:\n{}", chunks.len(), escape(&whole));
    }
    let mut out = match chunks.len() {
        1 => "one call to feed:\n".to_owned(),
        n => format!("{n} calls to feed:\n"),
    };
    for (n, chunk) in chunks.iter().enumerate() {
        out += &format!("{}. {}\n", n + 1, escape(chunk));
    }
    out
}

/// Bytes as a Rust byte string would write them (`\r`, `\n`, `\0`, and
/// `\xNN` for anything not printable ASCII), a line of output per line of
/// the stream.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => out += "\\n",
            b'\r' => out += "\\r",
            b'\0' => out += "\\0",
            b'"' => out += "\\\"",
            b'\\' => out += "\\\\",
            0x20..=0x7e => out.push(b as char),
            _ => out += &format!("\\x{b:02X}"),
        }
        let line_ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if line_ends && i + 1 < bytes.len() {
            out += "\n  ";
        }
    }
    out + "\""
}

fn show_parsed(parsed: &Parsed) -> String {
    let mut out = String::new();
    if parsed.events.is_empty() {
        out += "no events\n";
    }
    for (n, event) in parsed.events.iter().enumerate() {
        out += &format!(
            "{}. type {:?}, data {:?}, last event id {:?}\n",
            n + 1,
            event.event_type,
            event.data,
            event.last_event_id
        );
    }
    match parsed.retry_ms {
        Some(ms) => out += &format!("reconnection time: {ms} ms\n"),
        None => out += "reconnection time: never set\n",
    }
    match parsed.last_event_id.as_str() {
        "" => out += "a reconnection sends no Last-Event-ID\n",
        id => out += &format!("a reconnection sends Last-Event-ID: {id}\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chapter02::CHAPTER;
    use crate::sse::{Item, Parser};
    use crate::{Locals, Target};

    /// The checks' own reading of the format, through the learner's door.
    fn reference(chunks: &[&[u8]]) -> Parsed {
        let mut parser = Parser::new();
        let mut parsed = Parsed::default();
        for chunk in chunks {
            for item in parser.feed(chunk) {
                match item {
                    Item::Event(e) => parsed.events.push(ParsedEvent {
                        event_type: e.name,
                        data: e.data,
                        last_event_id: e.last_event_id,
                    }),
                    Item::Retry(ms) => parsed.retry_ms = Some(ms),
                    Item::Comment(_) => {}
                }
            }
        }
        parsed.last_event_id = parser.last_event_id().to_owned();
        parsed
    }

    /// The parser checks' expectations agree with the reference parser: two
    /// independent readings of the spec.
    #[tokio::test]
    async fn the_reference_parser_passes_the_parser_checks() {
        let target = Target::in_process(
            "127.0.0.1:9".parse().unwrap(),
            CHAPTER.tunables,
            Locals::new().with(ParseChunks(reference)),
        );
        for check in CHAPTER.checks.iter().filter(|c| c.stage == PARSER) {
            if let Err(failure) = (check.body)(target.clone()).await {
                panic!("{}: {failure}", check.name);
            }
        }
    }
}
