//! Chapter 5's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter05/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port, with short heartbeats and timeouts so that the
//! checks take seconds, and talks to it over real WebSockets.

use std::time::Duration;

use sol05_presence as server;

fn main() -> std::process::ExitCode {
    course_checks::run_in_process(&course_checks::chapter05::CHAPTER, |listener, tunables| {
        let config = server::Config {
            heartbeat: Duration::from_millis(tunables.heartbeat_ms),
            idle_timeout: Duration::from_millis(tunables.idle_timeout_ms),
            typing_ttl: Duration::from_millis(tunables.typing_ttl_ms),
            max_message_bytes: tunables.max_message_bytes,
        };
        server::serve(listener, config)
    })
}
