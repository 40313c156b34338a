//! Runs a chapter's suite as a `cargo test` binary.
//!
//! Each exercise and its solution have a `tests/checks.rs` with
//! `harness = false` that hands its server's entry point to
//! [`run_in_process`]. The result looks and filters like any `cargo test`:
//! one line per check, in stage order, so the first failure is the first
//! thing to build.
//!
//! How a check runs in-process:
//! 1. a tokio runtime of its own, whose threads are named after the check;
//! 2. the learner's server on `127.0.0.1:0`, spawned on that runtime;
//! 3. the check's body, driving the server over real TCP.
//!
//! A panic hook records panics on those threads instead of printing them, so
//! a `todo!("answer 201 with the task")` the server hit shows up *in the
//! check's failure*, next to the request that reached it. Checks run several
//! at a time, but are reported in order.
//!
//! Environment variables:
//! - [`REPORT_ENV`]: a file to append one [`CheckReport`] per check to.
//! - [`HINTS_ENV`]: how many of a failing check's hints to show.
//! - [`FAIL_FAST_ENV`]: stop at the first failing check (in stage order);
//!   the later ones are reported as skipped. The catalogue gate uses it.
//! - [`TRANSCRIPTS_ENV`]: where full transcripts of long failures go.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use tokio::net::TcpListener;

use crate::chapter08::redis_server::ServersNeedRedis;
use crate::failure::write_block;
pub use crate::report::REPORT_ENV;
use crate::report::{CheckReport, Outcome};
use crate::{Chapter, Check, Failure, Locals, Needs, Target, Tunables};

/// A check that has not finished after this long is reported as stuck. It
/// only keeps a blocked server from hanging the run.
const CHECK_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Environment variable: how many of a failing check's hints to show (1).
pub const HINTS_ENV: &str = "COURSE_HINTS";

/// Environment variable: when set (to anything but `0`), the run stops at
/// the first failing check in stage order; later checks are skipped.
pub const FAIL_FAST_ENV: &str = "COURSE_FAIL_FAST";

/// Environment variable: the folder for the full transcripts of failures too
/// long to show whole (default: `course/transcripts` in cargo's target folder).
pub const TRANSCRIPTS_ENV: &str = "COURSE_TRANSCRIPTS";

/// Why a check did not run under [`FAIL_FAST_ENV`].
const STOPPED_EARLY: &str = "not run: an earlier check failed (COURSE_FAIL_FAST)";

/// How the first line of a failure begins when the check got no further
/// than an earlier stage's `todo!()` ([`Report::todo_line`]); the runner's
/// list shows it beside the check.
pub const WAITS_FOR: &str = "waits for stage ";

/// Names of the threads that run a learner's server start with this.
const SERVER_THREAD: &str = "server:";
/// Names of the threads that run a check's body start with this.
const CHECK_THREAD: &str = "check:";

/// Starts the learner's server on a listener, with the chapter's tunables (or
/// a check's own, [`Needs::OwnTunables`]).
pub type StartServer = Arc<
    dyn Fn(TcpListener, Tunables) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send + Sync,
>;

/// Where the server under test comes from.
#[derive(Clone)]
pub enum Server {
    /// Start a fresh one for each check, in this process; unit-level checks
    /// find the learner's functions in the [`Locals`].
    InProcess(StartServer, Locals),
    /// A server that is already running, shared by all checks.
    Remote { addr: SocketAddr, run_id: String },
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Server::InProcess(..) => f.write_str("Server::InProcess"),
            Server::Remote { addr, .. } => write!(f, "Server::Remote({addr})"),
        }
    }
}

/// How one check went.
#[derive(Debug, Clone)]
pub enum Verdict {
    Passed,
    Failed(Box<Report>),
    Skipped(&'static str),
}

/// A failed check, with everything the learner needs to fix it.
#[derive(Debug, Clone)]
pub struct Report {
    pub check: &'static Check,
    pub failure: Failure,
    /// Panics of the learner's server while the check ran.
    pub server_panics: Vec<String>,
    /// Set when the learner's `serve` returned while the check still needed it.
    pub server_ended: Option<String>,
}

impl Report {
    /// Whether the failure points at what is missing: a mismatch the check
    /// could describe, or a panic message from the server. A bare "no
    /// response" does not.
    pub fn is_informative(&self) -> bool {
        !self.failure.no_answer || !self.server_panics.is_empty() || self.server_ended.is_some()
    }

    /// The message a learner reads: transcript, panics, book section, hints.
    /// A transcript too long to read is cut to its most relevant lines, and
    /// the whole of it is saved to a file whose path the message gives.
    pub fn render(&self, hints_shown: usize) -> String {
        let todo = self.todo_line();
        if let Some(waits) = todo.as_deref().filter(|line| line.starts_with(WAITS_FOR)) {
            // The transcript is the earlier stage's failure, which that
            // stage's own check shows: here, one short paragraph.
            let section = self.check.section;
            return format!(
                "{waits}  where: {}\n  this check: \"{}\" in {}, once that stage is written\n",
                self.failure.headline,
                section.title,
                section.source()
            );
        }
        let mut out = todo.unwrap_or_default();
        out += &if self.failure.is_long() {
            let path = transcript_path(self.check);
            let whole = self.render_whole(hints_shown);
            let saved = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, whole));
            match saved {
                Ok(()) => self.failure.summary(&path.display().to_string()),
                Err(_) => self.failure.to_string(),
            }
        } else {
            self.failure.to_string()
        };
        self.append_rest(&mut out, hints_shown);
        out
    }

    /// The whole message, the transcript uncut.
    pub fn render_whole(&self, hints_shown: usize) -> String {
        let mut out = self.todo_line().unwrap_or_default();
        out += &self.failure.to_string();
        self.append_rest(&mut out, hints_shown);
        out
    }

    /// When the server reached a `todo!()`, the line that goes first: the
    /// todo's own sentence says what is missing better than the transcript's
    /// "connection closed". A todo of an earlier stage ("stage 1: …" in a
    /// stage 2 check) says that this check waits for that stage, so a
    /// learner who runs every check at once sees one thing to write first,
    /// not the same failure under every name.
    pub fn todo_line(&self) -> Option<String> {
        let (location, text) = self.server_panics.iter().find_map(|panic| {
            let (at, message) = panic.split_once('\n')?;
            let text = message.strip_prefix("not yet implemented: ")?;
            let location = at.strip_prefix("at ")?.trim_end_matches(':');
            Some((location, text.lines().next().unwrap_or(text)))
        })?;
        // `exercises/08-scale-out/src/auth.rs:96:9` → `auth.rs:96`.
        let file = location.rsplit('/').next().unwrap_or(location);
        let file = file.rsplit_once(':').map_or(file, |(line, _column)| line);
        let earlier = text
            .strip_prefix("stage ")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(number, what)| Some((number.trim().parse::<u8>().ok()?, what.trim())))
            .filter(|(number, _)| *number < self.check.stage.number);
        Some(match earlier {
            Some((number, what)) => {
                format!("{WAITS_FOR}{number}: your server reached its todo!() at {file}: {what}\n")
            }
            None => format!("not written yet: your server reached the todo!() at {file}: {text}\n"),
        })
    }

    /// Panics, book section, hints.
    fn append_rest(&self, out: &mut String, hints_shown: usize) {
        if !self.server_panics.is_empty() {
            out.push('\n');
            let _ = write_block(out, "your server panicked", &distinct_panics(&self.server_panics));
        }
        if let Some(ended) = &self.server_ended {
            out.push('\n');
            let _ = write_block(out, "your server stopped", ended);
        }
        let section = self.check.section;
        *out += &format!("\n  read: \"{}\" in {}\n", section.title, section.source());
        let hints = self.check.hints;
        for (i, hint) in hints.iter().take(hints_shown.max(1)).enumerate() {
            let label =
                if hints.len() > 1 { format!("hint {} of {}", i + 1, hints.len()) } else { "hint".into() };
            *out += &format!("  {label}: {hint}\n");
        }
        if hints.len() > hints_shown.max(1) {
            *out += &format!(
                "  (more hints: `cargo course hint`, or {HINTS_ENV}={} cargo test …)\n",
                hints_shown.max(1) + 1
            );
        }
    }
}

/// How many hints a failure shows: [`HINTS_ENV`], at least 1.
pub fn hints_shown() -> usize {
    std::env::var(HINTS_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

/// Where the whole transcript of `check`'s failure is saved.
fn transcript_path(check: &Check) -> PathBuf {
    transcripts_dir().join(format!("{}.txt", check.test_name().replace("::", "-")))
}

/// [`TRANSCRIPTS_ENV`], or `course/transcripts` in the target folder this
/// binary was built in (`target/debug/deps/checks-…` → `target`).
fn transcripts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(TRANSCRIPTS_ENV) {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().ok();
    let profile_dir = exe.as_deref().and_then(Path::parent).map(|dir| match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().unwrap_or(dir),
        _ => dir,
    });
    match profile_dir.and_then(Path::parent) {
        Some(target) => target.join("course").join("transcripts"),
        None => std::env::temp_dir().join("course-transcripts"),
    }
}

impl Verdict {
    /// The report the harness writes for this verdict, with the message a
    /// learner reads.
    pub fn to_report(&self, chapter: &Chapter, check: &Check, hints_shown: usize) -> CheckReport {
        let (outcome, informative, message) = match self {
            Verdict::Passed => (Outcome::Passed, true, String::new()),
            Verdict::Skipped(reason) => (Outcome::Skipped, true, (*reason).to_owned()),
            Verdict::Failed(report) => (Outcome::Failed, report.is_informative(), report.render(hints_shown)),
        };
        CheckReport {
            chapter: chapter.number,
            check: check.name.to_owned(),
            test: check.test_name(),
            stage: check.stage.number,
            outcome,
            informative,
            message,
        }
    }
}

/// The server's panics, each different one once, with how often it happened.
fn distinct_panics(panics: &[String]) -> String {
    let mut distinct: Vec<(&String, usize)> = Vec::new();
    for panic in panics {
        match distinct.iter_mut().find(|(p, _)| *p == panic) {
            Some((_, count)) => *count += 1,
            None => distinct.push((panic, 1)),
        }
    }
    let lines: Vec<String> = distinct
        .into_iter()
        .map(
            |(panic, count)| {
                if count > 1 { format!("{panic}\n(and {} more times)", count - 1) } else { panic.clone() }
            },
        )
        .collect();
    lines.join("\n")
}

/// Runs `chapter`'s checks against servers started by `start`, one fresh
/// server per check, as a `cargo test` binary. Call it from `main` of a test
/// target with `harness = false`.
pub fn run_in_process<F, Fut>(chapter: &'static Chapter, start: F) -> ExitCode
where
    F: Fn(TcpListener, Tunables) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    run_in_process_with(chapter, start, Locals::new())
}

/// Like [`run_in_process`], and hands the learner's functions in `locals` to
/// the chapter's unit-level checks (see [`Needs::Code`]).
pub fn run_in_process_with<F, Fut>(chapter: &'static Chapter, start: F, locals: Locals) -> ExitCode
where
    F: Fn(TcpListener, Tunables) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let start: StartServer = Arc::new(move |listener, tunables| Box::pin(start(listener, tunables)));
    run_suite(chapter, Server::InProcess(start, locals), Arguments::from_args())
}

/// Runs `chapter`'s checks against the server already running at `addr`.
/// Checks that need short tunables are skipped, with the reason.
pub fn run_remote(chapter: &'static Chapter, addr: SocketAddr, args: Arguments) -> ExitCode {
    run_suite(chapter, remote_server(addr), args)
}

/// A server already running at `addr`, shared by the checks of one run (the
/// course runner's `check --url`).
pub fn remote_server(addr: SocketAddr) -> Server {
    Server::Remote { addr, run_id: unique_run_id() }
}

/// Runs a suite with libtest-mimic's arguments: filters, `--list`,
/// `--exact`, `--test-threads` (how many checks run at once; they are
/// reported in order whatever it is).
pub fn run_suite(chapter: &'static Chapter, server: Server, mut args: Arguments) -> ExitCode {
    install_panic_hook();
    let parallel = args.test_threads.unwrap_or(4).max(1);
    // Results are printed in stage order: the checks themselves run on our
    // own threads, and libtest-mimic just waits for each in turn.
    args.test_threads = Some(1);
    let hints_shown = hints_shown();
    let report_file = std::env::var_os(REPORT_ENV).map(|path| Arc::new(Mutex::new(PathBuf::from(path))));
    let fail_fast = std::env::var(FAIL_FAST_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    // Under fail-fast: the index of the first check (in stage order) known to
    // have failed. Checks after it are skipped; checks before it still run,
    // since one of them may fail too.
    let first_failure = Arc::new(AtomicUsize::new(usize::MAX));

    let mut trials = Vec::new();
    let mut queue = Vec::new();
    for (index, check) in chapter.checks_in_order().into_iter().enumerate() {
        let (send, receive) = mpsc::channel::<Verdict>();
        let report_file = report_file.clone();
        let trial = Trial::ignorable_test(check.test_name(), move || {
            let verdict =
                receive.recv().unwrap_or_else(|_| stuck(check, "the check ended without a verdict"));
            let report = verdict.to_report(chapter, check, hints_shown);
            if let Some(Ok(path)) = report_file.as_ref().map(|path| path.lock()) {
                let _ = report.append_to(&path);
            }
            match verdict {
                Verdict::Passed => Ok(Completion::Completed),
                Verdict::Skipped(reason) => Ok(Completion::ignored_with(reason)),
                Verdict::Failed(_) => Err(Failed::from(report.message)),
            }
        });
        if !args.list && !args.is_filtered_out(&trial) && !args.is_ignored(&trial) {
            queue.push((index, check, send));
        }
        trials.push(trial);
    }

    let queue = Arc::new(Mutex::new(queue.into_iter()));
    for _ in 0..parallel {
        let queue = Arc::clone(&queue);
        let server = server.clone();
        let first_failure = Arc::clone(&first_failure);
        std::thread::spawn(move || {
            loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((index, check, send)) = next else { break };
                if fail_fast && index > first_failure.load(Ordering::SeqCst) {
                    let _ = send.send(Verdict::Skipped(STOPPED_EARLY));
                    continue;
                }
                let verdict = run_check(chapter, check, &server, index);
                if matches!(verdict, Verdict::Failed(_)) {
                    first_failure.fetch_min(index, Ordering::SeqCst);
                }
                let _ = send.send(verdict);
            }
        });
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Runs one check against `server` and judges it.
pub fn run_check(chapter: &Chapter, check: &'static Check, server: &Server, index: usize) -> Verdict {
    if let (
        Server::Remote { .. },
        Needs::Tunables(reason) | Needs::OwnTunables(_, reason) | Needs::Code(reason),
    ) = (server, check.needs)
    {
        return Verdict::Skipped(reason);
    }
    // Chapter 8's checks start a private Redis; so does every server of a
    // test binary that runs an earlier chapter's checks against chapter 8's
    // server (it hands over `ServersNeedRedis`).
    let on_redis = match server {
        Server::InProcess(_, locals) => locals.get::<ServersNeedRedis>(),
        Server::Remote { .. } => None,
    };
    if let Some(reason) = on_redis.and_then(|on_redis| on_redis.skips(check.name)) {
        return Verdict::Skipped(reason);
    }
    if check.needs == Needs::Redis || on_redis.is_some() {
        if let Server::Remote { .. } = server {
            return Verdict::Skipped(crate::chapter08::STARTS_ITS_OWN);
        }
        if let Some(reason) = crate::chapter08::redis_server::skip_reason() {
            return Verdict::Skipped(reason);
        }
    }
    let tunables = match check.needs {
        Needs::OwnTunables(own, _) => own,
        _ => chapter.tunables,
    };
    let server = server.clone();
    let (send, receive) = mpsc::channel();
    let spawned =
        std::thread::Builder::new().name(format!("{CHECK_THREAD}{}", check.name)).spawn(move || {
            let _ = send.send(run_check_on_this_thread(check, &server, tunables, index));
        });
    if let Err(e) = spawned {
        return stuck(check, &format!("could not start a thread for the check: {e}"));
    }
    match receive.recv_timeout(CHECK_TIME_LIMIT) {
        Ok(verdict) => verdict,
        Err(mpsc::RecvTimeoutError::Timeout) => stuck(
            check,
            &format!(
                "the check did not finish within {} s. Is the server blocking a thread \
                 (std::thread::sleep, a std Mutex held across .await, a loop that never yields)?",
                CHECK_TIME_LIMIT.as_secs()
            ),
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let panics = take_panics(&format!("{CHECK_THREAD}{}", check.name)).join("\n");
            stuck(check, &format!("the check itself panicked, which is a bug in the course: {panics}"))
        }
    }
}

fn run_check_on_this_thread(
    check: &'static Check,
    server: &Server,
    tunables: Tunables,
    index: usize,
) -> Verdict {
    let thread_name = format!("{SERVER_THREAD}{}", check.name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(thread_name.clone())
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => return stuck(check, &format!("could not start a tokio runtime: {e}")),
    };
    let (outcome, server_ended) = runtime.block_on(async {
        let (target, server_task) = match server {
            Server::Remote { addr, run_id } => (Target::remote(*addr, format!("-{run_id}{index}")), None),
            Server::InProcess(start, locals) => {
                let listener = match TcpListener::bind("127.0.0.1:0").await {
                    Ok(listener) => listener,
                    Err(e) => return (Err(Failure::new(format!("could not bind 127.0.0.1:0: {e}"))), None),
                };
                let addr = match listener.local_addr() {
                    Ok(addr) => addr,
                    Err(e) => return (Err(Failure::new(format!("no local address: {e}"))), None),
                };
                let target = Target::in_process(addr, tunables, locals.clone());
                (target, Some(tokio::spawn(start(listener, tunables))))
            }
        };
        let outcome = (check.body)(target).await;
        let server_ended = match server_task {
            Some(task) if task.is_finished() => Some(match task.await {
                Ok(Ok(())) => "serve() returned Ok(()) while the check still needed it.".to_owned(),
                Ok(Err(e)) => format!("serve() returned an error: {e}"),
                Err(e) if e.is_panic() => "serve() panicked (see above).".to_owned(),
                Err(e) => format!("the server task ended: {e}"),
            }),
            _ => None,
        };
        (outcome, server_ended)
    });
    // The server may be stuck in a blocking call; don't wait for it.
    runtime.shutdown_background();
    let server_panics = take_panics(&thread_name);
    match outcome {
        Ok(()) => Verdict::Passed,
        Err(failure) => Verdict::Failed(Box::new(Report { check, failure, server_panics, server_ended })),
    }
}

fn stuck(check: &'static Check, why: &str) -> Verdict {
    Verdict::Failed(Box::new(Report {
        check,
        failure: Failure::new(why),
        server_panics: take_panics(&format!("{SERVER_THREAD}{}", check.name)),
        server_ended: None,
    }))
}

/// Panics recorded per thread name, for the checks to collect.
fn panics() -> &'static Mutex<HashMap<String, Vec<String>>> {
    static PANICS: OnceLock<Mutex<HashMap<String, Vec<String>>>> = OnceLock::new();
    PANICS.get_or_init(Default::default)
}

fn take_panics(thread_name: &str) -> Vec<String> {
    panics().lock().map(|mut p| p.remove(thread_name).unwrap_or_default()).unwrap_or_default()
}

/// Records panics on server and check threads; any other panic is printed
/// as usual.
fn install_panic_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if !(name.starts_with(SERVER_THREAD) || name.starts_with(CHECK_THREAD)) {
                return default_hook(info);
            }
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_owned());
            let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            let message = match location {
                Some(location) => format!("at {location}:\n{payload}"),
                None => payload,
            };
            if let Ok(mut panics) = panics().lock() {
                panics.entry(name.to_owned()).or_default().push(message);
            }
        }));
    });
}

/// A short id that differs between runs, so a shared server's boards don't
/// collide across runs.
fn unique_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut n = (nanos % 36u128.pow(5)) as u64;
    let mut id = String::new();
    for _ in 0..5 {
        let digit = (n % 36) as u32;
        id.push(std::char::from_digit(digit, 36).unwrap_or('x'));
        n /= 36;
    }
    id + "-"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure of a chapter 8 check of `stage` while the server hit `panic`.
    fn report(stage: u8, panic: &str) -> Report {
        let check = crate::chapter08::CHAPTER.checks.iter().find(|check| check.stage.number == stage);
        Report {
            check: check.expect("chapter 8 has stages 1 and 2"),
            failure: Failure::no_answer("POST http://127.0.0.1:1/session got no response"),
            server_panics: vec![panic.to_owned()],
            server_ended: None,
        }
    }

    const STAGE_1_TODO: &str = "at exercises/08-scale-out/src/auth.rs:96:9:\nnot yet implemented: stage 1: \
                                store the user under a fresh token — book: \"Sessions\"";

    #[test]
    fn a_todo_of_an_earlier_stage_says_the_check_waits_for_it() {
        let report = report(2, STAGE_1_TODO);
        let rendered = report.render(1);
        let mut lines = rendered.lines();
        assert_eq!(
            lines.next(),
            Some(
                "waits for stage 1: your server reached its todo!() at auth.rs:96: store the user under a \
                 fresh token — book: \"Sessions\""
            )
        );
        assert_eq!(lines.next(), Some("  where: POST http://127.0.0.1:1/session got no response"));
        let this_check = lines.next().unwrap_or_default();
        let section = format!("  this check: \"{}\" in ", report.check.section.title);
        assert!(this_check.starts_with(&section), "{this_check}");
        assert_eq!(lines.next(), None, "no transcript, no hints: they are the earlier stage's");
    }

    #[test]
    fn a_todo_of_the_checks_own_stage_is_named_first_and_the_transcript_follows() {
        let rendered = report(1, STAGE_1_TODO).render_whole(1);
        let mut lines = rendered.lines();
        let first = lines.next().unwrap_or_default();
        assert!(
            first.starts_with("not written yet: your server reached the todo!() at auth.rs:96: stage 1:"),
            "{first}"
        );
        assert_eq!(lines.next(), Some("POST http://127.0.0.1:1/session got no response"));
    }

    #[test]
    fn any_other_panic_leaves_the_headline_first() {
        let report = report(2, "at src/board.rs:3:1:\ncalled `Option::unwrap()` on a `None` value");
        assert_eq!(report.todo_line(), None);
        assert!(report.render(1).starts_with("POST http://127.0.0.1:1/session got no response\n"));
    }
}
