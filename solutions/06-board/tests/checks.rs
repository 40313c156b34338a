//! Chapter 6's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter06/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port, with short heartbeats and timeouts, and talks to
//! it as the page does: HTTP requests, event streams and WebSockets.

use std::time::Duration;

use course_checks::Tunables;
use sol06_board as server;

fn main() -> std::process::ExitCode {
    course_checks::run_in_process(&course_checks::chapter06::CHAPTER, |listener, tunables| {
        server::serve(listener, config(tunables))
    })
}

/// The checks' short tunables, as this crate's settings.
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
