//! Where the learner is: each chapter's status, derived from running its
//! checks — there is no progress file that could drift from the code.

use std::process::ExitCode;

use anyhow::Result;
use course_checks::Chapter;

use crate::cargo_test::{Run, run_checks};
use crate::term::{self, BAD, BOLD, DIM, GOOD, paint};
use crate::workspace::Workspace;

/// How far a chapter's exercise is.
#[derive(Debug)]
pub enum Status {
    /// It doesn't compile; the compiler's errors.
    DoesNotBuild(String),
    /// Some checks pass (maybe none).
    Passing { passing: usize, total: usize },
    /// Every check passes.
    Done { total: usize },
}

/// A chapter, its last run and what it means.
#[derive(Debug)]
pub struct Progress {
    pub chapter: &'static Chapter,
    pub run: Run,
    pub status: Status,
}

impl Progress {
    pub fn is_done(&self) -> bool {
        matches!(self.status, Status::Done { .. })
    }

    /// The first check, in stage order, that does not pass.
    pub fn first_failing(&self) -> Option<(&'static course_checks::Check, &course_checks::CheckReport)> {
        self.chapter
            .checks_in_order()
            .into_iter()
            .find_map(|check| self.run.results.get(check.name).filter(|r| !r.passed()).map(|r| (check, r)))
    }

    /// One line: `12 of 18 checks pass`, `done`, `doesn't compile`.
    pub fn describe(&self) -> String {
        match &self.status {
            Status::DoesNotBuild(_) => paint(BAD, "doesn't compile"),
            Status::Passing { passing: 0, total } => format!("not started {}", term::bar(0, *total, 20)),
            Status::Passing { passing, total } => {
                format!("{passing} of {total} checks pass {}", term::bar(*passing, *total, 20))
            }
            // Every check skipped (against a URL): nothing to call done.
            Status::Done { total: 0 } => "nothing checked: every check skipped".to_owned(),
            Status::Done { total } => format!("{} {}", paint(GOOD, "done"), term::bar(*total, *total, 20)),
        }
    }
}

/// Runs a chapter's checks (with a spinner) and works out its status.
pub fn measure(workspace: &Workspace, chapter: &'static Chapter) -> Result<Progress> {
    let package = workspace.package(chapter);
    let spinner = term::spinner(format!("chapter {}: running the checks of {package}", chapter.number));
    let run = run_checks(&workspace.root, &package);
    spinner.finish_and_clear();
    let run = run?;
    let total = chapter.checks.len();
    let passing =
        chapter.checks.iter().filter(|c| run.results.get(c.name).is_some_and(|r| r.passed())).count();
    let status = match &run.build_error {
        Some(errors) => Status::DoesNotBuild(errors.clone()),
        None if passing == total => Status::Done { total },
        None => Status::Passing { passing, total },
    };
    Ok(Progress { chapter, run, status })
}

/// The chapter to work on: the first one that is not done. `None` when all are.
pub fn current(workspace: &Workspace) -> Result<Option<Progress>> {
    for chapter in workspace.chapters() {
        let progress = measure(workspace, chapter)?;
        if !progress.is_done() {
            return Ok(Some(progress));
        }
    }
    Ok(None)
}

/// `course list`: every chapter's status and the next thing to do.
pub fn list(workspace: &Workspace) -> Result<ExitCode> {
    let mut next = None;
    let mut all_done = true;
    for chapter in workspace.chapters() {
        let progress = measure(workspace, chapter)?;
        anstream::println!(
            "{} {:<44} {}",
            paint(BOLD, format!("{:>2}", chapter.number)),
            chapter.title,
            progress.describe()
        );
        if !progress.is_done() {
            all_done = false;
            next.get_or_insert(progress);
        }
    }
    anstream::println!();
    match next {
        None => {
            anstream::println!("{}", paint(GOOD, "Every chapter with an exercise is done. Well built!"));
        }
        Some(progress) => print_next_step(workspace, &progress),
    }
    Ok(if all_done { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Tells the learner what to do next about `progress`'s chapter.
pub fn print_next_step(workspace: &Workspace, progress: &Progress) {
    let chapter = progress.chapter;
    let dir = workspace.show(&workspace.exercise_dir(chapter));
    let page = format!("book/src/ch{}.md", chapter.slug);
    match (&progress.status, progress.first_failing()) {
        (Status::DoesNotBuild(_), _) => anstream::println!(
            "Next: chapter {} — {dir} doesn't compile. Run `cargo course check {}` to see the errors.",
            chapter.number,
            chapter.number
        ),
        // Skipped, not failed: nothing to edit until what it needs is there
        // (chapter 8 without redis-server says which command installs it).
        (_, Some((check, report))) if report.outcome == course_checks::Outcome::Skipped => {
            anstream::println!(
                "Next: chapter {}: {} did not run: {}",
                chapter.number,
                paint(BOLD, check.name),
                report.message
            );
        }
        (_, Some((check, _))) => {
            anstream::println!(
                "Next: chapter {}, stage {} ({}): make {} pass.",
                chapter.number,
                check.stage.number,
                check.stage.title,
                paint(BOLD, check.name)
            );
            anstream::println!(
                "      Read \"{}\" in {}, edit {dir}/src, and run `cargo course watch`.",
                check.section.title,
                check.section.source()
            );
        }
        _ => anstream::println!("Next: read {page}."),
    }
    anstream::println!("{}", paint(DIM, "      Stuck? `cargo course hint` gives one more hint each time."));
}
