//! Chapter 8's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter08/`, written once for the
//! exercise, the solution and the course runner. Each check starts a
//! private `redis-server` of its own and several instances of this server
//! on it, through the `Launch` below, with their settings given as
//! environment variables (`REDIS_URL`, `INSTANCE_ID`, `PRESENCE_TTL_MS`…)
//! read by the same `Config::from_vars` as the binary.
//!
//! Needs `redis-server` (`apt install redis-server`, `brew install redis`);
//! without it the checks are reported skipped, unless `CI` is set.

use std::process::ExitCode;

use course_checks::Locals;
use course_checks::chapter07::{Launch, Vars};
use course_checks::chapter08;
use ex08_scale_out as server;

fn main() -> ExitCode {
    let launch = Launch::new(|listener, vars, stop, _keep| {
        server::serve_state(listener, server::AppState::new(config(&vars)), stop)
    });
    // Every check starts its own instances: the harness's own server is
    // not needed, so it only holds its port.
    course_checks::run_in_process_with(
        &chapter08::CHAPTER,
        |listener, _| async move {
            let _listener = listener;
            std::future::pending::<std::io::Result<()>>().await
        },
        Locals::new().with(launch),
    )
}

/// The checks' settings, read as the binary reads the environment.
fn config(vars: &Vars) -> server::Config {
    server::Config::from_vars(|name| vars.get(name)).expect("the checks' settings are valid")
}
