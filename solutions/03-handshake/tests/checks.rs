//! Chapter 3's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter03/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port and talks to it over real TCP; the first one calls
//! `accept_key` directly.

use course_checks::chapter03::{AcceptKey, CHAPTER};
use course_checks::{Locals, run_in_process_with};
use sol03_handshake as server;

fn main() -> std::process::ExitCode {
    run_in_process_with(
        &CHAPTER,
        |listener, _tunables| server::serve(listener, server::Config::default()),
        Locals::new().with(AcceptKey(server::accept_key)),
    )
}
