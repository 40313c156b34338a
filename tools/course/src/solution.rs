//! `course solution` and `course diff`: the reference answer, only when asked.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::term::{BOLD, DIM, paint};
use crate::workspace::Workspace;

/// Says where a chapter's solution and its walkthrough are.
pub fn where_is(workspace: &Workspace, chapter: &str) -> Result<ExitCode> {
    let chapter = workspace.chapter(chapter)?;
    let dir = workspace.show(&workspace.solution_dir(chapter));
    anstream::println!("{} {dir} (package {})", paint(BOLD, "Solution:"), chapter.solution_package());
    anstream::println!(
        "{} the last section of book/src/ch{}.md walks through it; the book shows its code on the page \
         \"Solution {}: the code\".",
        paint(BOLD, "Walkthrough:"),
        chapter.slug,
        chapter.number
    );
    anstream::println!("{} cargo course diff {}", paint(BOLD, "Your code against it:"), chapter.number);
    anstream::println!("{} cargo run -p {}", paint(BOLD, "Run it:"), chapter.solution_package());
    Ok(ExitCode::SUCCESS)
}

/// Shows the learner's exercise against the solution, as a unified diff.
pub fn diff(workspace: &Workspace, chapter: &str) -> Result<ExitCode> {
    let chapter = workspace.chapter(chapter)?;
    let mine = workspace.show(&workspace.root.join("exercises").join(chapter.slug));
    let theirs = workspace.show(&workspace.solution_dir(chapter));
    anstream::println!("{}", paint(DIM, format!("--- {mine} (yours)\n+++ {theirs} (the solution)")));
    // git's diff works outside a repository too (--no-index), with colour on a TTY.
    let status = Command::new("git")
        .args(["diff", "--no-index", "--color=auto", "--", &mine, &theirs])
        .current_dir(&workspace.root)
        .status()
        .context("running `git diff` (is git installed?)")?;
    // git diff --no-index exits 1 when the folders differ: that's the answer, not an error.
    Ok(if status.code().is_some_and(|c| c <= 1) { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
