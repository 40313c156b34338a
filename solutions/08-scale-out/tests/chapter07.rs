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

/// Chapter 7's checks that cannot hold here, and why.
const SKIPPED: &[(&str, &str)] = &[(
    // It runs the binary as a process with chapter 7's settings, and no
    // REDIS_URL among them: every request of chapter 8's binary would find
    // no Redis. What it proves is proved here another way: the binary on a
    // private Redis in tests/crash.rs, the drain by chapter 8's checks.
    "on_sigterm_the_binary_drains_and_answers_the_request_in_flight",
    "runs the binary with chapter 7's settings alone, and chapter 8's binary needs a Redis (REDIS_URL): \
     chapter 8's s3_presence::a_request_in_hand_when_an_instance_shuts_down_still_gets_its_answer checks \
     the drain, and tests/crash.rs runs the binary",
)];

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
    let locals = Locals::new()
        .with(launch)
        .with(course_checks_tls::kit())
        .with(LogsCaptured)
        .with(ServersNeedRedis { skip: SKIPPED });
    course_checks::run_in_process_with(
        &chapter07::CHAPTER,
        |listener, tunables: Tunables| {
            let vars = Vars::from_tunables(tunables);
            async move { private_redis::serve(listener, vars, std::future::pending(), &Keep::default()).await }
        },
        locals,
    )
}
