//! The gate: proves, check by check, that every exercise stub fails and every
//! solution passes, so a learner's green run means something.
//!
//! For each chapter it runs the stub's and the solution's check binaries and
//! requires:
//! - both ran exactly the checks the registry lists, no more, no less;
//! - every check *fails* on the stub, with a message that points at what is
//!   missing (a mismatch or the stub's `todo!()` message, not a bare
//!   "connection closed");
//! - every check *passes* on the solution;
//! - the stub's own unit tests pass (those of the code the learner writes
//!   are ignored until it is written): cargo runs them before the checks,
//!   and a failing one stops `cargo test -p exNN-slug` before any check.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Result, bail};
use course_checks::{Chapter, Outcome};

use crate::cargo_test::{Run, run_checks, unit_tests_failing};
use crate::workspace::Workspace;

pub fn run(keys: &[String]) -> Result<ExitCode> {
    let workspace = Workspace::find(false)?;
    let chapters = select(keys)?;
    let mut problems = 0;
    for chapter in chapters {
        println!("chapter {} ({}): {}", chapter.number, chapter.slug, chapter.title);
        let stub = run_checks(&workspace.root, &chapter.exercise_package())?;
        let solution = run_checks(&workspace.root, &chapter.solution_package())?;
        problems += judge(chapter, &stub, &solution);
        if let Some(failures) = unit_tests_failing(&workspace.root, &chapter.exercise_package())? {
            println!(
                "  ✗ the stub's own unit tests fail, so `cargo test -p {}` stops before the checks \
                 (ignore those that call the learner's code until it is written):\n{failures}",
                chapter.exercise_package()
            );
            problems += 1;
        } else {
            println!(
                "  ✓ the stub's own unit tests pass: `cargo test -p {}` reaches the checks",
                chapter.exercise_package()
            );
        }
    }
    if problems == 0 {
        println!("verify: every check fails on its stub and passes on its solution");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("verify: {problems} problem(s)");
        Ok(ExitCode::FAILURE)
    }
}

pub fn select(keys: &[String]) -> Result<Vec<&'static Chapter>> {
    if keys.is_empty() {
        return Ok(course_checks::CHAPTERS.to_vec());
    }
    keys.iter()
        .map(|key| match course_checks::chapter(key) {
            Some(chapter) => Ok(chapter),
            None => bail!("no chapter {key:?} has checks"),
        })
        .collect()
}

/// Prints a line per check and returns how many problems there are.
fn judge(chapter: &Chapter, stub: &Run, solution: &Run) -> usize {
    let mut problems = 0;
    for (who, run) in [("stub", stub), ("solution", solution)] {
        if let Some(error) = &run.build_error {
            println!("  ✗ the {who}'s checks did not run:\n{error}");
            problems += 1;
        }
    }
    let registry: BTreeSet<&str> = chapter.checks.iter().map(|c| c.name).collect();
    for (who, run) in [("stub", stub), ("solution", solution)] {
        let ran: BTreeSet<&str> = run.results.keys().map(String::as_str).collect();
        for extra in ran.difference(&registry) {
            println!("  ✗ the {who} ran {extra}, which the registry does not list");
            problems += 1;
        }
    }
    for check in chapter.checks_in_order() {
        let verdict = match (stub.results.get(check.name), solution.results.get(check.name)) {
            (None, _) | (_, None) => Err("did not run on both the stub and the solution".to_owned()),
            (Some(s), _) if s.outcome != Outcome::Failed => {
                Err(format!("{} on the stub: it cannot catch anything", s.outcome))
            }
            (Some(s), _) if !s.informative => {
                Err(format!("fails on the stub without pointing at what is missing:\n{}", s.message))
            }
            (_, Some(s)) if s.outcome != Outcome::Passed => {
                Err(format!("{} on the solution:\n{}", s.outcome, s.message))
            }
            (Some(_), Some(_)) => Ok(()),
        };
        match verdict {
            Ok(()) => println!("  ✓ {}: fails on the stub, passes on the solution", check.test_name()),
            Err(why) => {
                println!("  ✗ {}: {why}", check.test_name());
                problems += 1;
            }
        }
    }
    problems
}
