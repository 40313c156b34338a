//! `course solution` and `course diff`: the reference answer, only when asked.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::strip;
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

/// Shows the learner's exercise against the solution, as a unified diff of
/// their code: comments and the book's `ANCHOR` markers are left out, unless
/// `all` asks for every line.
pub fn diff(workspace: &Workspace, chapter: &str, all: bool) -> Result<ExitCode> {
    let chapter = workspace.chapter(chapter)?;
    let mine = workspace.show(&workspace.root.join("exercises").join(chapter.slug));
    let theirs = workspace.show(&workspace.solution_dir(chapter));
    let what = if all { "every line" } else { "code only; `--all` shows comments too" };
    anstream::println!(
        "{}",
        paint(DIM, format!("--- {mine} (yours)\n+++ {theirs} (the solution)\n({what})"))
    );
    let (dir, _scratch) = if all {
        (workspace.root.clone(), None)
    } else {
        let scratch = tempfile::tempdir().context("creating a temporary folder")?;
        for folder in [&mine, &theirs] {
            copy_code(&workspace.root.join(folder), &scratch.path().join(folder))?;
        }
        (scratch.path().to_path_buf(), Some(scratch))
    };
    // git's diff works outside a repository too (--no-index), with colour on a TTY.
    let status = Command::new("git")
        .args(["diff", "--no-index", "--color=auto", "--", &mine, &theirs])
        .current_dir(&dir)
        .status()
        .context("running `git diff` (is git installed?)")?;
    // git diff --no-index exits 1 when the folders differ: that's the answer, not an error.
    Ok(if status.code().is_some_and(|c| c <= 1) { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Copies the crate in `from` to `to` without comments. Build output is left
/// out, and so is `Cargo.toml`: the two differ only in the package's name.
fn copy_code(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (path, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "target" {
                copy_code(&path, &target)?;
            }
            continue;
        }
        if entry.file_name() == "Cargo.toml" {
            continue;
        }
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        match std::fs::read_to_string(&path) {
            Ok(text) if extension == "rs" => std::fs::write(&target, strip::rust(&text))?,
            Ok(text) => std::fs::write(&target, strip::other(&text, extension == "toml"))?,
            // Not text (an image): as it is.
            Err(_) => {
                std::fs::copy(&path, &target)?;
            }
        }
    }
    Ok(())
}
