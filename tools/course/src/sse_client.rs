//! `course sse URL`: an EventSource for the terminal. It prints each event
//! as the browser would dispatch it — and the comments browsers hide — the
//! moment it arrives.
//!
//! ```text
//! $ cargo course sse http://localhost:3000/boards/board-1/events
//! 200 OK  content-type: text/event-stream
//! retry: 3000 ms
//! event snapshot (id 0): {"eventId":0,"tasks":[]}
//! event task_created (id 1): {"id":"task-1","title":"Design login page","column":"todo"}
//! : keep-alive
//! ```
//!
//! It parses with the same reader the checks use (`course_checks::sse`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use course_checks::sse::{Item, Parser};

use crate::term::{BAD, BOLD, DIM, GOOD, paint};

pub fn run(url: &str, last_event_id: Option<&str>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(listen(url, last_event_id))
}

async fn listen(url: &str, last_event_id: Option<&str>) -> Result<ExitCode> {
    let client = reqwest::Client::builder().no_proxy().build().context("building an HTTP client")?;
    let mut request = client.get(url).header("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let mut response =
        request.send().await.with_context(|| format!("connecting to {url} (is your server running?)"))?;
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let status = response.status();
    let ok = status == 200 && content_type.starts_with("text/event-stream");
    let style = if ok { GOOD } else { BAD };
    anstream::println!("{}  content-type: {content_type}", paint(style, status));
    if !ok {
        // What a browser's EventSource does with such a response: fail, and never reconnect.
        anstream::println!(
            "{}",
            paint(
                BAD,
                "A browser's EventSource gives up on this response for good: it needs 200 and text/event-stream."
            )
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut parser = Parser::new();
    while let Some(chunk) = response.chunk().await.context("reading the stream")? {
        for item in parser.feed(&chunk) {
            match item {
                Item::Event(event) => {
                    let id = event.id.map(|id| format!(" (id {id})")).unwrap_or_default();
                    anstream::println!(
                        "{} {}",
                        paint(BOLD, format!("event {}{id}:", event.name)),
                        event.data
                    );
                }
                Item::Comment(text) => anstream::println!("{}", paint(DIM, format!(":{text}"))),
                Item::Retry(ms) => anstream::println!("{}", paint(DIM, format!("retry: {ms} ms"))),
            }
        }
    }
    anstream::println!("{}", paint(DIM, "the server ended the stream (a browser would reconnect)"));
    Ok(ExitCode::SUCCESS)
}
