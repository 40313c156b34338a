//! Chapter 6's checks, run against this chapter's server: several
//! instances behind one Redis still do everything one board server did.
//!
//! Each check's server runs on a private `redis-server` of its own
//! (`private_redis`), with chapter 6's tunables; the checks' client signs
//! in (`SignIn`), as it does against chapter 7's server. Needs
//! `redis-server`: without it the checks are reported skipped, unless `CI`
//! is set.

mod private_redis;

use std::process::ExitCode;

use course_checks::chapter07::{Keep, Vars};
use course_checks::chapter08::redis_server::ServersNeedRedis;
use course_checks::{Locals, SignIn, Tunables, chapter06};

fn main() -> ExitCode {
    course_checks::run_in_process_with(
        &chapter06::CHAPTER,
        |listener, tunables: Tunables| {
            let vars = Vars::from_tunables(tunables);
            async move { private_redis::serve(listener, vars, std::future::pending(), &Keep::default()).await }
        },
        Locals::new().with(SignIn).with(ServersNeedRedis { skip: &[] }),
    )
}
