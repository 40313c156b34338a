//! Chapter 6's checks, run against this chapter's server: what chapter 6
//! built still works once the board asks who is connecting.
//!
//! The server is this crate's, as `cargo run` starts it, with chapter 6's
//! short tunables. The checks' client signs in (`SignIn`): before each
//! request and event stream it gets a session cookie of its own, and each
//! WebSocket signs in as the user it then joins as (`alice#2` joins as
//! `Alice`), because a connection may only `join` as its signed-in user.

use std::process::ExitCode;

use course_checks::chapter07::Vars;
use course_checks::{Locals, SignIn, Tunables, chapter06};
use sol07_production as server;

fn main() -> ExitCode {
    course_checks::run_in_process_with(
        &chapter06::CHAPTER,
        |listener, tunables: Tunables| {
            let vars = Vars::from_tunables(tunables);
            let config =
                server::Config::from_vars(|name| vars.get(name)).expect("chapter 6's settings are valid");
            server::serve(listener, config)
        },
        Locals::new().with(SignIn),
    )
}
