//! `course inspect --to localhost:3000`: see the wire. A proxy on another
//! port (3001) forwards every connection to your server unchanged and
//! prints, per connection, each HTTP head, the WebSocket handshake, every
//! frame bit by bit and each SSE event — with the RFC rule a frame breaks.
//!
//! ```text
//! $ cargo course inspect --to localhost:3000
//! inspecting: connect to 127.0.0.1:3001, forwarded to localhost:3000
//!      0.412 ms #1 → GET /ws HTTP/1.1
//!      0.903 ms #1 ← WebSocket handshake ✓
//!      1.377 ms #1 → frame FIN=1 RSV=000 text (0x1) MASK=1 len=5 (7-bit) key=37 fa 21 3d …
//! ```
//!
//! Its live view (port 3002, `--view` to change, `--no-view` for none) is a
//! page fed by Server-Sent Events, and the stream the book's "Wire" panels
//! read; pages served from this computer may read it (CORS), others only
//! when named with `--allow-origin`.
//!
//! The work is done by the `course-inspect` crate (tools/inspect); this
//! module only prints its records.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use course_inspect::view::{self, View};
use course_inspect::{Options, Record, Sink, render};

use crate::term::{DIM, paint};

/// Prints each record as it comes: text (colour on a terminal) or JSON.
#[derive(Debug)]
struct Terminal {
    json: bool,
    colour: bool,
    /// The live view, when `--view` serves one.
    view: Option<Arc<View>>,
}

impl Sink for Terminal {
    fn record(&self, record: Record) {
        let line = if self.json { render::json(&record) } else { render::text(&record, self.colour) };
        // A closed stdout (`| head`) must not stop the forwarding: ignore it.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        if let Some(view) = &self.view {
            view.record(record);
        }
    }
}

pub fn run(
    to: &str,
    listen: u16,
    view_port: Option<u16>,
    origins: Vec<String>,
    bytes: bool,
    json: bool,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(async {
        let address = format!("127.0.0.1:{listen}");
        let listener = tokio::net::TcpListener::bind(&address).await.with_context(|| {
            format!("listening on {address} (is something else using port {listen}? try --listen)")
        })?;
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let to = server_address(to);
        if !json {
            let hint = paint(DIM, "point your browser, client or checks at it; Ctrl-C to stop");
            anstream::println!("inspecting: connect to {address}, forwarded to {to}  {hint}");
        }
        let view = match view_port {
            Some(port) => serve_view(port, View::describing(&address, &to, origins), json).await,
            None => None,
        };
        let options = Options { to, bytes };
        course_inspect::serve(listener, options, Arc::new(Terminal { json, colour, view }))
            .await
            .context("accepting connections")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Serves the live view on `port`; a port already taken only costs the
/// view (said once), never the inspecting.
async fn serve_view(port: u16, view: Arc<View>, json: bool) -> Option<Arc<View>> {
    let address = format!("127.0.0.1:{port}");
    match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => {
            tokio::spawn(view::serve(listener, view.clone()));
            if !json {
                let hint = paint(DIM, "(and the book's Wire panels)");
                anstream::println!("live view: http://{address}/  {hint}");
            }
            Some(view)
        }
        Err(error) => {
            anstream::eprintln!(
                "no live view: port {port} can't be used ({error}); choose another with --view PORT"
            );
            None
        }
    }
}

/// `host:port` from what a learner may type: `3000`, `localhost:3000`,
/// `http://localhost:3000/`, `ws://localhost:3000/ws`.
fn server_address(to: &str) -> String {
    if to.parse::<u16>().is_ok() {
        return format!("localhost:{to}");
    }
    let without_scheme = to.split_once("://").map_or(to, |(_, rest)| rest);
    without_scheme.split('/').next().unwrap_or(without_scheme).to_owned()
}

#[cfg(test)]
mod tests {
    use super::server_address;

    #[test]
    fn the_server_may_be_a_port_an_address_or_a_url() {
        assert_eq!(server_address("3000"), "localhost:3000");
        assert_eq!(server_address("localhost:3000"), "localhost:3000");
        assert_eq!(server_address("http://127.0.0.1:3000/"), "127.0.0.1:3000");
        assert_eq!(server_address("ws://localhost:3000/ws"), "localhost:3000");
    }
}
