//! The checks of chapters 1, 2 and 5, against this one server: the board
//! keeps every contract it grew out of — the JSON API, the event stream and
//! presence — now that they share a router and a state.
//!
//! ```sh
//! cargo test -p sol06-board --test earlier_chapters
//! ```
//!
//! Chapter 2's parser checks are left out: they call a parser this crate
//! does not have (the page reads the stream with the browser's own
//! `EventSource`). So are the checks that count boards (`…unknown_boards…`):
//! they need a handle on the server's state that this binary does not hand
//! over; `board.rs` and `feed.rs` are chapter 2's, and pass them there.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use course_checks::harness::{Server, StartServer, run_suite};
use course_checks::{Locals, Tunables, chapter01, chapter02, chapter05};
use libtest_mimic::Arguments;
use sol06_board as server;

fn main() -> ExitCode {
    let start: StartServer =
        Arc::new(|listener, tunables| Box::pin(server::serve(listener, config(tunables))));
    let mut all_passed = true;
    for chapter in [&chapter01::CHAPTER, &chapter02::CHAPTER, &chapter05::CHAPTER] {
        println!("\nchapter {} ({}), against chapter 6's server:", chapter.number, chapter.title);
        let mut args = Arguments::from_args();
        args.skip.push("s8_parser::".to_owned());
        args.skip.push("unknown_boards".to_owned());
        let server = Server::InProcess(Arc::clone(&start), Locals::new());
        all_passed &= run_suite(chapter, server, args) == ExitCode::SUCCESS;
    }
    if all_passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The chapter's tunables, as this crate's settings.
fn config(tunables: Tunables) -> server::Config {
    server::Config {
        keepalive: Duration::from_millis(tunables.keepalive_ms),
        replay_capacity: tunables.replay_capacity,
        heartbeat: Duration::from_millis(tunables.heartbeat_ms),
        idle_timeout: Duration::from_millis(tunables.idle_timeout_ms),
        typing_ttl: Duration::from_millis(tunables.typing_ttl_ms),
        max_message_bytes: tunables.max_message_bytes,
    }
}
