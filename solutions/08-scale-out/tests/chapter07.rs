//! Chapter 7's checks, run against this chapter's server: an instance on
//! Redis is still fit for the internet — TLS, origins, sessions and
//! tickets, limits, graceful shutdown, health and metrics.
//!
//! Every server a check starts runs on a private `redis-server` of its own
//! (`private_redis`); a server the check restarts on the same state
//! (`Keep`) finds the same Redis again. Needs `redis-server`: without it
//! the checks are reported skipped, unless `CI` is set.

mod private_redis;

use std::process::ExitCode;

use course_checks::chapter07::{self, Keep, Launch, LogWriter, LogsCaptured, Vars};
use course_checks::chapter08::redis_server::ServersNeedRedis;
use course_checks::{Locals, Tunables};

fn main() -> ExitCode {
    // The server's log lines go where the checks can read them: a ticket
    // must never show up there.
    tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .init();
    let launch = Launch::new(|listener, vars, stop, keep| {
        let keep = keep.clone();
        async move { private_redis::serve(listener, vars, stop, &keep).await }
    });
    let locals =
        Locals::new().with(launch).with(course_checks_tls::kit()).with(LogsCaptured).with(ServersNeedRedis);
    course_checks::run_in_process_with(
        &chapter07::CHAPTER,
        |listener, tunables: Tunables| {
            let vars = Vars::from_tunables(tunables);
            async move { private_redis::serve(listener, vars, std::future::pending(), &Keep::default()).await }
        },
        locals,
    )
}
