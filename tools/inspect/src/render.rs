//! A record as the terminal shows it, or as one line of JSON.
//!
//! ```text
//!    0.412 ms #1 → GET /ws HTTP/1.1  (request 1)
//!    0.903 ms #1 ← handshake ✓ key dGhlIHNhbXBsZSBub25jZQ== → accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//!    1.377 ms #1 → frame FIN=1 RSV=000 text MASK=1 len=5 (7-bit) key=37 fa 21 3d "Hello"
//!    1.380 ms #1 ⚠ RFC 6455 §5.1: a server frame is masked …
//! ```

use anstyle::{AnsiColor, Style};

use crate::ws::FrameInfo;
use crate::{Dir, Item, Record};

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();
const UP: Style = AnsiColor::Cyan.on_default();
const DOWN: Style = AnsiColor::Magenta.on_default();
const NOTE: Style = AnsiColor::Yellow.on_default();

/// One record as JSON, on one line.
pub fn json(record: &Record) -> String {
    serde_json::to_string(record).expect("a record is plain data")
}

/// One record as text; `colour` adds ANSI styles (for a terminal only).
pub fn text(record: &Record, colour: bool) -> String {
    let paint =
        |style: Style, text: &str| if colour { format!("{style}{text}{style:#}") } else { text.to_owned() };
    let arrow = match record.dir {
        Dir::ToServer => paint(UP, "→"),
        Dir::ToClient => paint(DOWN, "←"),
        Dir::Proxy => paint(DIM, "·"),
    };
    let stamp = paint(DIM, &format!("{:>10.3} ms #{}", record.ms, record.conn));
    let indent = "                 ";
    let body = match &record.item {
        Item::Open { client, server } => format!("connection from {client}, forwarded to {server}"),
        Item::DialFailed { server, error } => paint(BAD, &format!("could not connect to {server}: {error}")),
        Item::Request { n, method, target, version, headers } => {
            let reuse = if *n > 1 {
                paint(NOTE, &format!("  (request {n}: connection kept alive, reused)"))
            } else {
                String::new()
            };
            let mut out = format!("{} {target} {version}{reuse}", paint(Style::new().bold(), method));
            for (name, value) in headers {
                out += &format!("\n{indent}  {name}: {value}");
            }
            out
        }
        Item::Response { n, status, reason, version, headers } => {
            let style = if *status < 400 { GOOD } else { BAD };
            let mut out =
                format!("{version} {} {reason}  (answers request {n})", paint(style, &status.to_string()));
            for (name, value) in headers {
                out += &format!("\n{indent}  {name}: {value}");
            }
            out
        }
        Item::Body { len, preview, complete } => {
            let cut = if *complete { "" } else { " (cut short: the connection ended)" };
            format!("body {len} bytes{cut}: {preview}")
        }
        Item::Handshake(h) => {
            let mark = if h.ok { paint(GOOD, "✓") } else { paint(BAD, "✗") };
            let mut out = format!("WebSocket handshake {mark}");
            if let Some(key) = &h.key {
                out += &format!("\n{indent}  Sec-WebSocket-Key     {key}");
            }
            if let Some(want) = &h.expected_accept {
                out += &format!("\n{indent}  accept should be      {want}");
            }
            let sent = h.sent_accept.as_deref().unwrap_or("(none)");
            let same = h.sent_accept.is_some() && h.sent_accept == h.expected_accept;
            let mark = if same { paint(GOOD, "✓") } else { paint(BAD, "✗") };
            out += &format!("\n{indent}  Sec-WebSocket-Accept  {sent} {mark}");
            for reason in &h.reasons {
                out += &format!("\n{indent}  {reason}");
            }
            out
        }
        Item::Frame(frame) => frame_line(frame),
        Item::Message { opcode, frames, len, payload } => {
            format!("message: {opcode}, {len} bytes in {frames} frames: {payload}")
        }
        Item::PongMatched { ping_ms_ago } => {
            paint(GOOD, &format!("↳ answers the ping sent {ping_ms_ago:.3} ms earlier"))
        }
        Item::Violation { section, what } => {
            paint(BAD, &format!("⚠ {section}: {what} (forwarded unchanged)"))
        }
        Item::SseEvent { event, data, id, last_event_id } => {
            let id = id.as_deref().map_or(String::new(), |id| format!(" id={id:?}"));
            format!("SSE event {event:?}{id} dispatched: data {data:?} (lastEventId {last_event_id:?})")
        }
        Item::SseComment { text } => paint(DIM, &format!("SSE comment :{text} (ignored by browsers)")),
        Item::SseRetry { retry_ms } => format!("SSE retry: reconnect after {retry_ms} ms"),
        Item::Unparsed { what, len } => paint(NOTE, &format!("? {what} ({len} bytes)")),
        Item::Bytes { dump } => {
            paint(DIM, &dump.lines().map(|l| format!("{indent}  {l}")).collect::<Vec<_>>().join("\n"))
                .trim_start()
                .to_owned()
        }
        Item::End { how } => paint(DIM, how),
    };
    format!("{stamp} {arrow} {body}")
}

/// `frame FIN=1 RSV=000 text (0x1) MASK=1 len=5 (7-bit) key=37 fa 21 3d masked 7f 9f 4d 51 58 → "Hello"`.
fn frame_line(f: &FrameInfo) -> String {
    let bit = |b: bool| if b { '1' } else { '0' };
    let mut out = format!(
        "frame FIN={} RSV={}{}{} {} ({:#x}) MASK={} len={} ({})",
        bit(f.fin),
        bit(f.rsv1),
        bit(f.rsv2),
        bit(f.rsv3),
        f.opcode_name,
        f.opcode,
        bit(f.masked),
        f.len,
        f.length_encoding
    );
    if let Some(key) = &f.mask_key {
        out += &format!(" key={key}");
    }
    if let Some(masked) = &f.payload_masked {
        out += &format!(" masked {masked} →");
    }
    match &f.close {
        Some(close) => {
            let code = close.code.map_or(String::new(), |c| format!("{c} "));
            out += &format!(" {code}({})", close.meaning);
            if !close.reason.is_empty() {
                out += &format!(" reason {:?}", close.reason);
            }
        }
        None => out += &format!(" {}", f.payload),
    }
    out
}
