//! `course check`: a chapter's checks, stage by stage, with the transcript of
//! the first failure — against the learner's exercise, or with `--url`
//! against a server already running anywhere, written in any language.
//! `--html` also writes each failure shown as a page: its transcript drawn
//! as a sequence diagram ([`course_checks::picture`]).

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use course_checks::harness::{self, hints_shown};
use course_checks::{Chapter, Outcome};

use crate::cargo_test::Run;
use crate::progress::{self, Progress, Status};
use crate::term::{self, BAD, BOLD, DIM, GOOD, NOTE, paint};
use crate::workspace::Workspace;

/// Checks the learner's exercise for `chapter` (or the current chapter).
pub fn run(workspace: &Workspace, chapter: Option<&str>, all: bool, html: bool) -> Result<ExitCode> {
    let progress = match chapter {
        Some(key) => progress::measure(workspace, workspace.chapter(key)?)?,
        None => match progress::current(workspace)? {
            Some(progress) => progress,
            None => {
                anstream::println!("{}", paint(GOOD, "Every chapter with an exercise is done."));
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let folder = workspace.show(&workspace.exercise_dir(progress.chapter));
    print_report(&progress, &folder, all);
    if html {
        write_pictures(&progress, all, &workspace.state_dir().join("reports"))?;
    }
    if !progress.is_done() {
        anstream::println!();
        progress::print_next_step(workspace, &progress);
    }
    Ok(exit_code(&progress))
}

/// Checks the server at `url` against `chapter`'s checks. Checks that need
/// the course's short tunables, or call the learner's Rust code, are skipped
/// with the reason.
pub fn run_url(url: &str, chapter: &str, all: bool, html: bool) -> Result<ExitCode> {
    let chapter =
        course_checks::chapter(chapter).with_context(|| format!("no chapter {chapter:?} has checks"))?;
    let addr = resolve(url)?;
    let server = harness::remote_server(addr);
    let spinner = term::spinner(format!("chapter {}: checking {url}", chapter.number));
    let mut results = BTreeMap::new();
    for (index, check) in chapter.checks_in_order().into_iter().enumerate() {
        spinner.set_message(format!("chapter {}: {}", chapter.number, check.name));
        let verdict = harness::run_check(chapter, check, &server, index);
        results.insert(check.name.to_owned(), verdict.to_report(chapter, check, hints_shown()));
    }
    spinner.finish_and_clear();
    let total = chapter
        .checks
        .iter()
        .filter(|c| results.get(c.name).is_some_and(|r| r.outcome != Outcome::Skipped))
        .count();
    let passing = results.values().filter(|r| r.passed()).count();
    let status = if passing == total { Status::Done { total } } else { Status::Passing { passing, total } };
    let progress = Progress { chapter, run: Run { results, build_error: None }, status };
    print_report(&progress, url, all);
    if total == 0 {
        // Not "done": nothing was asked of the server at all.
        anstream::println!(
            "\n{}\n      Run them in-process instead: `cargo course check {}` (without --url).",
            paint(
                BAD,
                format!(
                    "Nothing was checked: every check of chapter {} is skipped against a URL.",
                    chapter.number
                )
            ),
            chapter.number
        );
        return Ok(ExitCode::from(2));
    }
    if html {
        let dir = match Workspace::find(false) {
            Ok(workspace) => workspace.state_dir().join("reports"),
            Err(_) => std::env::temp_dir().join("course-reports"),
        };
        write_pictures(&progress, all, &dir)?;
    }
    Ok(exit_code(&progress))
}

/// Writes the first failure (every failure, with `all`) as a page in `dir`,
/// and prints each page's path.
fn write_pictures(progress: &Progress, all: bool, dir: &Path) -> Result<()> {
    let failures = failures(progress);
    if failures.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    anstream::println!();
    for (check, result) in failures.iter().take(if all { usize::MAX } else { 1 }) {
        let path = dir.join(format!("{}.html", check.name));
        let page = course_checks::picture::html(check.name, &whole_transcript(&result.message));
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        anstream::println!("{} {}", paint(DIM, "drawn as a sequence diagram:"), path.display());
    }
    Ok(())
}

/// The message with its whole transcript: a long one is cut in the message,
/// which names the file that holds all of it.
fn whole_transcript(message: &str) -> String {
    let saved = message.split(" lines in ").skip(1).find_map(|rest| {
        let path = PathBuf::from(rest.split(')').next()?);
        std::fs::read_to_string(path).ok()
    });
    saved.unwrap_or_else(|| message.to_owned())
}

/// The failing checks, in stage order, with their reports.
fn failures(progress: &Progress) -> Vec<(&'static course_checks::Check, &course_checks::CheckReport)> {
    progress
        .chapter
        .checks_in_order()
        .into_iter()
        .filter_map(|c| progress.run.results.get(c.name).filter(|r| r.failed()).map(|r| (c, r)))
        .collect()
}

/// `http://localhost:3000/…` → the socket address to connect to.
fn resolve(url: &str) -> Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .with_context(|| format!("{url:?}: give an http:// URL, e.g. http://localhost:3000"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    let mut addrs = authority.to_socket_addrs().with_context(|| format!("resolving {authority}"))?;
    match addrs.next() {
        Some(addr) => Ok(addr),
        None => bail!("{authority} resolves to no address"),
    }
}

/// Prints the chapter's checks stage by stage, then the first failure's
/// transcript (or every failure's, with `all`).
pub fn print_report(progress: &Progress, against: &str, all: bool) {
    let chapter: &Chapter = progress.chapter;
    anstream::println!(
        "{} {}",
        paint(BOLD, format!("Chapter {} · {}", chapter.number, chapter.title)),
        paint(DIM, format!("({against})"))
    );
    if let Status::DoesNotBuild(errors) = &progress.status {
        anstream::println!("\n{}\n{errors}", paint(BAD, "It doesn't compile yet:"));
        return;
    }
    let mut stage = 0;
    for check in chapter.checks_in_order() {
        if check.stage.number != stage {
            stage = check.stage.number;
            anstream::println!("  {}", paint(DIM, format!("stage {stage} · {}", check.stage.title)));
        }
        let (mark, note) = match progress.run.results.get(check.name).map(|r| (r.outcome, r)) {
            Some((Outcome::Passed, _)) => (paint(GOOD, "✓"), String::new()),
            Some((Outcome::Skipped, r)) => {
                (paint(NOTE, "-"), paint(DIM, format!("  skipped: {}", r.message)))
            }
            Some((Outcome::Failed, r)) => (paint(BAD, "✗"), waits_for(&r.message)),
            None => (paint(DIM, "?"), paint(DIM, "  did not run")),
        };
        anstream::println!("    {mark} {}{note}", check.name);
    }
    anstream::println!("  {}", progress.describe());
    let failures = failures(progress);
    for (check, result) in failures.iter().take(if all { usize::MAX } else { 1 }) {
        anstream::println!(
            "\n{} {}\n{}",
            paint(BAD, "✗"),
            paint(BOLD, check.name),
            result.message.trim_end()
        );
    }
    if !all && failures.len() > 1 {
        anstream::println!(
            "{}",
            paint(DIM, format!("\n({} more failing; `--all` shows every transcript)", failures.len() - 1))
        );
    }
}

/// `  waits for stage 1` when a failure's first line says the check got no
/// further than an earlier stage's `todo!()` (see
/// [`harness::Report::todo_line`]): the list then shows which failures go
/// away by themselves once that stage is written.
fn waits_for(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    match first.strip_prefix(harness::WAITS_FOR).and_then(|rest| rest.split_once(':')) {
        Some((stage, _)) => paint(DIM, format!("  waits for stage {stage}")),
        None => String::new(),
    }
}

fn exit_code(progress: &Progress) -> ExitCode {
    if progress.is_done() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_waiting_for_an_earlier_stage_says_which_in_the_list() {
        let note = waits_for("waits for stage 1: your server reached its todo!() at auth.rs:96: …\nPOST …");
        assert!(note.contains("waits for stage 1") && !note.contains("auth.rs"), "{note}");
        assert_eq!(waits_for("not written yet: your server reached the todo!() at feed.rs:140: …"), "");
        assert_eq!(waits_for("POST /session answered 500; expected 204"), "");
    }
}
