//! Chapter 1's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter01.rs`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port and talks to it over real TCP.

use ex01_http as server;

fn main() -> std::process::ExitCode {
    course_checks::run_in_process(&course_checks::chapter01::CHAPTER, |listener, _tunables| {
        server::serve(listener, server::Config::default())
    })
}
