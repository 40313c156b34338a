//! Chapter 2's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter02/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port, with a keep-alive every 200 ms and 16 events kept
//! per board, and talks to it over real TCP. The parser checks call
//! `parser::Parser` directly, and one check counts the server's boards.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use course_checks::chapter01::BoardCount;
use course_checks::chapter02::{self, ParseChunks, Parsed, ParsedEvent};
use course_checks::{Locals, Tunables};
use sol02_sse as server;

/// The boards of every server this binary started, by address, so that a
/// check can count them.
static BOARDS: Mutex<Vec<(SocketAddr, server::board::Boards)>> = Mutex::new(Vec::new());

fn main() -> std::process::ExitCode {
    let locals = Locals::new().with(ParseChunks(parse_chunks)).with(BoardCount(board_count));
    course_checks::run_in_process_with(
        &chapter02::CHAPTER,
        |listener, tunables| {
            let state = server::AppState::new(config(tunables));
            if let Ok(addr) = listener.local_addr() {
                BOARDS.lock().unwrap_or_else(PoisonError::into_inner).push((addr, state.boards.clone()));
            }
            async move { axum::serve(listener, server::router(state)).await }
        },
        locals,
    )
}

/// How many boards the server at `addr` holds.
fn board_count(addr: SocketAddr) -> Option<usize> {
    let servers = BOARDS.lock().unwrap_or_else(PoisonError::into_inner);
    servers.iter().find(|(a, _)| *a == addr).map(|(_, boards)| boards.board_count())
}

/// The checks' short tunables, as this crate's settings.
fn config(tunables: Tunables) -> server::Config {
    server::Config {
        keepalive: Duration::from_millis(tunables.keepalive_ms),
        replay_capacity: tunables.replay_capacity,
    }
}

/// A fresh `Parser`, fed `chunks` one after the other.
fn parse_chunks(chunks: &[&[u8]]) -> Parsed {
    let mut parser = server::parser::Parser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        for event in parser.feed(chunk) {
            let server::parser::Event { event_type, data, last_event_id } = event;
            events.push(ParsedEvent { event_type, data, last_event_id });
        }
    }
    let retry_ms = parser.reconnection_time().map(|time| u64::try_from(time.as_millis()).unwrap_or(u64::MAX));
    Parsed { events, retry_ms, last_event_id: parser.last_event_id().to_owned() }
}
