//! A failing check's transcript as a picture: a sequence diagram of who sent
//! what, in order, and where the expected message did not come — next to
//! the text transcript, in one self-contained HTML page (`cargo course check
//! --html`).
//!
//! ```text
//!    the check                         your server
//!        │ ── GET /tasks HTTP/1.1 ──────────► │
//!        │ ◄── HTTP/1.1 404 Not Found ─────── │
//!        │ ◄─ ─ expected: 200 OK ─ ─ ─ ─ ✗    │
//! ```
//!
//! It reads the message a learner reads (see [`crate::failure`]): a
//! headline, then indented blocks (`sent:`, `expected:`, `got:`, …). In the
//! transcripts, `> ` and `→ ` lines went to the server, `< ` and `← ` lines
//! came back (a run of `>` or `<` lines is one HTTP head, drawn as one
//! arrow), and anything else is a note on the timeline. The diagram is SVG
//! drawn here, inline: the page needs no script and nothing from the
//! internet.

use std::fmt::Write as _;

/// One step of the diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The check sent this (its first line is the label, the rest detail).
    ToServer(Vec<String>),
    /// The server sent this.
    FromServer(Vec<String>),
    /// Something that happened, said in words: `(the server closed the TCP connection)`.
    Note(String),
    /// What should have come next and did not.
    Expected(Vec<String>),
}

/// A failure message, read back: its headline, its blocks in order (title
/// and lines), and the lines outside any block (`read: …`, hints).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub headline: String,
    pub blocks: Vec<(String, Vec<String>)>,
    pub trailer: Vec<String>,
}

impl Message {
    /// Reads a message as [`crate::harness::Report::render`] writes it.
    pub fn parse(text: &str) -> Message {
        let mut lines = text.lines();
        let mut message =
            Message { headline: lines.next().unwrap_or_default().to_owned(), ..Message::default() };
        for line in lines {
            if let Some(inner) = line.strip_prefix("    ") {
                match message.blocks.last_mut() {
                    Some((_, block)) => block.push(inner.to_owned()),
                    None => message.trailer.push(line.trim().to_owned()),
                }
            } else if let Some(title) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                message.blocks.push((title.to_owned(), Vec::new()));
            } else if !line.trim().is_empty() {
                message.trailer.push(line.trim().to_owned());
            }
        }
        message
    }

    fn block(&self, title: &str) -> Option<&[String]> {
        self.blocks.iter().find(|(t, _)| t == title).map(|(_, lines)| lines.as_slice())
    }

    /// The diagram's steps: what was sent, what came back, then what was
    /// expected.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        for title in ["sent", "got"] {
            if let Some(lines) = self.block(title) {
                steps.extend(transcript_steps(lines));
            }
        }
        if let Some(expected) = self.block("expected") {
            steps.push(Step::Expected(expected.to_vec()));
        }
        steps
    }
}

/// A transcript's lines as steps; a run of `> ` (or `< `) lines is one HTTP
/// head, with the body lines after its blank `>` line.
fn transcript_steps(lines: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    // Whether the last step is a head still open to body lines.
    let mut open_head = false;
    for line in lines {
        let (to_server, from_server, text) = match line.as_str() {
            l if l.starts_with("→") => (true, false, l.trim_start_matches('→').trim()),
            l if l.starts_with("←") => (false, true, l.trim_start_matches('←').trim()),
            l if l == ">" || l.starts_with("> ") => (true, false, l[1..].trim()),
            l if l == "<" || l.starts_with("< ") => (false, true, l[1..].trim()),
            l => (false, false, l.trim()),
        };
        let head_line = line.starts_with('>') || line.starts_with('<');
        match (steps.last_mut(), head_line) {
            (Some(Step::ToServer(head)), true) if to_server && head_continues(head) => {
                head.push(text.to_owned());
                continue;
            }
            (Some(Step::FromServer(head)), true) if from_server && head_continues(head) => {
                head.push(text.to_owned());
                continue;
            }
            (Some(Step::ToServer(head) | Step::FromServer(head)), false)
                if open_head && !head_continues(head) && !to_server && !from_server && !text.is_empty() =>
            {
                head.push(text.to_owned());
                continue;
            }
            _ => {}
        }
        open_head = head_line;
        if to_server {
            steps.push(Step::ToServer(vec![text.to_owned()]));
        } else if from_server {
            steps.push(Step::FromServer(vec![text.to_owned()]));
        } else if !text.is_empty() {
            steps.push(Step::Note(text.to_owned()));
        }
    }
    steps
}

/// An HTTP head goes on until its blank line.
fn head_continues(head: &[String]) -> bool {
    head.last().is_some_and(|last| !last.is_empty())
}

// -- drawing ----------------------------------------------------------------

const WIDTH: usize = 760;
const CLIENT_X: usize = 110;
const SERVER_X: usize = 650;
const TOP: usize = 70;
const ROW: usize = 40;
/// Characters of a label drawn; the whole is in its tooltip and the text.
const LABEL_CHARS: usize = 72;

/// The diagram, as an inline SVG element.
pub fn svg(steps: &[Step]) -> String {
    let height = TOP + ROW * steps.len() + 40;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sequence" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="The check's exchange with your server, as a sequence diagram">
<defs>
<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>
</defs>
<g class="actors">
<rect x="{}" y="10" width="160" height="30" rx="5"/><text x="{CLIENT_X}" y="30">the check (client)</text>
<rect x="{}" y="10" width="160" height="30" rx="5"/><text x="{SERVER_X}" y="30">your server</text>
</g>
<line class="lifeline" x1="{CLIENT_X}" y1="40" x2="{CLIENT_X}" y2="{}"/>
<line class="lifeline" x1="{SERVER_X}" y1="40" x2="{SERVER_X}" y2="{}"/>
"#,
        CLIENT_X - 80,
        SERVER_X - 80,
        height - 10,
        height - 10,
    );
    for (i, step) in steps.iter().enumerate() {
        let y = TOP + ROW * i + ROW / 2;
        let _ = match step {
            Step::ToServer(lines) => arrow(&mut out, "sent", CLIENT_X, SERVER_X, y, lines),
            Step::FromServer(lines) => arrow(&mut out, "received", SERVER_X, CLIENT_X, y, lines),
            Step::Note(text) => {
                let (x, w) = (CLIENT_X + 20, SERVER_X - CLIENT_X - 40);
                writeln!(
                    out,
                    r#"<g class="note"><title>{}</title><rect x="{x}" y="{}" width="{w}" height="24" rx="4"/><text x="{}" y="{}">{}</text></g>"#,
                    escape(text),
                    y - 14,
                    WIDTH / 2 - 10,
                    y + 3,
                    escape(&cut(text))
                )
            }
            Step::Expected(lines) => {
                let label = format!("expected: {}", lines.first().map_or("", String::as_str));
                let all = format!("expected:\n{}", lines.join("\n"));
                writeln!(
                    out,
                    r#"<g class="expected"><title>{}</title><line x1="{SERVER_X}" y1="{y}" x2="{}" y2="{y}" marker-end="url(#head)"/><text x="{}" y="{}">{}</text><text class="cross" x="{}" y="{}">✗ did not come</text></g>"#,
                    escape(&all),
                    CLIENT_X + 4,
                    (CLIENT_X + SERVER_X) / 2,
                    y - 6,
                    escape(&cut(&label)),
                    CLIENT_X + 8,
                    y + 15,
                )
            }
        };
    }
    out.push_str("</svg>");
    out
}

fn arrow(
    out: &mut String,
    class: &str,
    from: usize,
    to: usize,
    y: usize,
    lines: &[String],
) -> std::fmt::Result {
    let first = lines.first().map_or("", String::as_str);
    let more = lines.iter().skip(1).filter(|l| !l.is_empty()).count();
    let label = if more > 0 { format!("{first}  (+{more} lines)") } else { first.to_owned() };
    writeln!(
        out,
        r#"<g class="{class}"><title>{}</title><line x1="{from}" y1="{y}" x2="{to}" y2="{y}" marker-end="url(#head)"/><text x="{}" y="{}">{}</text></g>"#,
        escape(&lines.join("\n")),
        (CLIENT_X + SERVER_X) / 2,
        y - 6,
        escape(&cut(&label))
    )
}

fn cut(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Text for HTML and SVG: `&`, `<`, `>` and quotes escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: #222; background: #fafafa; }
header { padding: 1em 1.5em; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { margin: 0 0 0.2em; font-size: 1.2em; }
header .headline { margin: 0; color: #b3261e; font-weight: 600; }
main { display: grid; grid-template-columns: minmax(0, 800px) minmax(0, 1fr); gap: 1.5em; padding: 1.5em; }
@media (max-width: 1200px) { main { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; overflow-x: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.5em; }
figcaption { color: #666; font-size: 0.9em; }
pre { margin: 0; padding: 1em; overflow-x: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; font: 13px/1.45 ui-monospace, monospace; white-space: pre-wrap; }
svg.sequence { font: 12px ui-monospace, monospace; }
svg .actors rect { fill: #eef3fb; stroke: #4183c4; }
svg .actors text { text-anchor: middle; font-weight: bold; font-family: system-ui, sans-serif; }
svg .lifeline { stroke: #bbb; stroke-dasharray: 4 4; }
svg .sent line { stroke: #4183c4; stroke-width: 1.6; }
svg .received line { stroke: #8e44ad; stroke-width: 1.6; }
svg .sent text, svg .received text, svg .expected text { text-anchor: middle; fill: #222; }
svg .note rect { fill: #f4f4f4; stroke: #ccc; }
svg .note text { text-anchor: middle; fill: #555; font-style: italic; }
svg .expected line { stroke: #b3261e; stroke-width: 1.6; stroke-dasharray: 6 4; }
svg .expected text { fill: #b3261e; }
svg .expected text.cross { text-anchor: start; font-weight: bold; }
"#;

/// Steps drawn at most: the first few and the last ones (just before it
/// went wrong), with a note of how many were left out between.
const MAX_STEPS: usize = 60;
const FIRST_STEPS: usize = 10;

fn shorten(mut steps: Vec<Step>) -> Vec<Step> {
    if steps.len() <= MAX_STEPS {
        return steps;
    }
    let last = steps.split_off(steps.len() - (MAX_STEPS - FIRST_STEPS - 1));
    let left_out = steps.len() - FIRST_STEPS;
    steps.truncate(FIRST_STEPS);
    steps.push(Step::Note(format!("… {left_out} more steps (all of them in the text)")));
    steps.extend(last);
    steps
}

/// The whole page: the headline, the diagram, and the text transcript.
pub fn html(check: &str, message: &str) -> String {
    let parsed = Message::parse(message);
    let steps = shorten(parsed.steps());
    let diagram = if steps.is_empty() {
        "<p>This failure has no exchange to draw: read its text.</p>".to_owned()
    } else {
        svg(&steps)
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>✗ {check} — cargo course check</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>✗ {check}</h1>
<p class="headline">{headline}</p>
</header>
<main>
<figure>
{diagram}
<figcaption>Blue: what the check sent. Purple: what your server sent back. Red, dashed: what should have come next, and did not. Hover over an arrow for all its lines.</figcaption>
</figure>
<pre class="transcript">{text}</pre>
</main>
</body>
</html>
"#,
        check = escape(check),
        headline = escape(&parsed.headline),
        text = escape(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTP: &str = "GET /boards/board-1/tasks should answer 200 with a JSON list, got 404
  sent:
    > GET /boards/board-1/tasks HTTP/1.1
    > Host: 127.0.0.1:3000
    >

  expected:
    200 OK, Content-Type: application/json

  got:
    < HTTP/1.1 404 Not Found
    < content-length: 0
    <

  read: \"Listing tasks\" in ch01-http.md
  hint: add a route
";

    #[test]
    fn heads_are_one_arrow_each_and_the_expected_answer_comes_last() {
        let message = Message::parse(HTTP);
        assert_eq!(message.headline, "GET /boards/board-1/tasks should answer 200 with a JSON list, got 404");
        assert_eq!(message.trailer, ["read: \"Listing tasks\" in ch01-http.md", "hint: add a route"]);
        let steps = message.steps();
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(
            matches!(&steps[0], Step::ToServer(l) if l[0] == "GET /boards/board-1/tasks HTTP/1.1" && l.len() == 3)
        );
        assert!(matches!(&steps[1], Step::FromServer(l) if l[0] == "HTTP/1.1 404 Not Found"));
        assert!(matches!(&steps[2], Step::Expected(l) if l[0].starts_with("200 OK")));
    }

    #[test]
    fn frames_and_notes_keep_their_order() {
        let message = Message::parse(
            "expected close 1002, got text \"Hello\"
  sent:
    → text \"Hello\" (unmasked)
    ← text \"Hello\"
    (the server closed the TCP connection)

  expected:
    close 1002
",
        );
        let steps = message.steps();
        assert_eq!(
            steps,
            [
                Step::ToServer(vec!["text \"Hello\" (unmasked)".into()]),
                Step::FromServer(vec!["text \"Hello\"".into()]),
                Step::Note("(the server closed the TCP connection)".into()),
                Step::Expected(vec!["close 1002".into()]),
            ]
        );
    }

    #[test]
    fn the_page_escapes_what_the_server_sent() {
        let page = html("a<b", "headline <script>\n  got:\n    ← <script>alert(1)</script>\n");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("<svg"));
    }
}
