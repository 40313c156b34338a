//! Chapter 7's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter07/`, written once for the
//! exercise, the solution and the course runner. Most of them start a
//! server of their own through the `Launch` below, with the settings they
//! need given as environment variables — a certificate for TLS, a short
//! ticket lifetime — read by the same `Config::from_vars` as the binary,
//! and a way to shut it down, and to start it again on the same state.

use std::process::ExitCode;

use course_checks::chapter07::{self, Binary, Launch, LogWriter, LogsCaptured, Vars};
use course_checks::{Locals, Tunables};
use ex07_production as server;

fn main() -> ExitCode {
    // The server's log lines go where the checks can read them: a ticket
    // must never show up there.
    tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .init();
    let launch = Launch::new(|listener, vars, stop, keep| {
        let state = keep.get_or_insert_with(|| server::AppState::new(config(&vars)));
        server::serve_state(listener, state, stop)
    });
    // The binary itself (this package's), for the check that sends it SIGTERM.
    let binary = Binary(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))));
    let locals = Locals::new().with(launch).with(binary).with(course_checks_tls::kit()).with(LogsCaptured);
    course_checks::run_in_process_with(
        &chapter07::CHAPTER,
        |listener, tunables: Tunables| server::serve(listener, config(&Vars::from_tunables(tunables))),
        locals,
    )
}

/// The checks' settings, read as the binary reads the environment.
fn config(vars: &Vars) -> server::Config {
    server::Config::from_vars(|name| vars.get(name)).expect("the checks' settings are valid")
}
