//! `course reset`: puts an exercise back as the course shipped it, after
//! asking, and touches nothing outside its folder.

use std::io::BufRead;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::term::{BOLD, GOOD, NOTE, paint};
use crate::workspace::Workspace;

pub fn run(workspace: &Workspace, chapter: &str, from: &str, yes: bool) -> Result<ExitCode> {
    let chapter = workspace.chapter(chapter)?;
    let dir = workspace.show(&workspace.root.join("exercises").join(chapter.slug));
    let changed = git(workspace, &["status", "--porcelain", "--untracked-files=all", "--", &dir])?;
    let differs = !git(workspace, &["diff", "--name-only", from, "--", &dir])?.trim().is_empty();
    if changed.trim().is_empty() && !differs {
        anstream::println!("{dir} is already as the course shipped it ({from}).");
        return Ok(ExitCode::SUCCESS);
    }
    anstream::println!("{} {dir} to its starting state ({from}). These files change:", paint(BOLD, "Reset"));
    anstream::println!("{}", changed.trim_end());
    anstream::println!(
        "{}",
        paint(NOTE, "Your work in this folder will be lost; files you added there are deleted.")
    );
    if !yes {
        anstream::print!("Type yes to reset: ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).context("reading your answer")?;
        if answer.trim() != "yes" {
            anstream::println!("Nothing changed.");
            return Ok(ExitCode::FAILURE);
        }
    }
    git(workspace, &["checkout", from, "--", &dir])?;
    git(workspace, &["clean", "--force", "-d", "--quiet", "--", &dir])?;
    anstream::println!("{}", paint(GOOD, format!("{dir} is back to its starting state.")));
    Ok(ExitCode::SUCCESS)
}

fn git(workspace: &Workspace, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(&workspace.root)
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
