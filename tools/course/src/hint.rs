//! `course hint`: the hints of the first failing check, one more each time.
//!
//! The failure itself already shows the first hint (or the first
//! `COURSE_HINTS`), so `hint` starts at the one after. The only thing the
//! runner remembers is how many hints it has shown for a check (in
//! `target/course/hints.json`); which check is failing is always found by
//! running the checks.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use course_checks::harness::hints_shown;

use crate::progress::{self, Status};
use crate::term::{BOLD, DIM, GOOD, paint};
use crate::workspace::Workspace;

pub fn run(workspace: &Workspace, chapter: Option<&str>) -> Result<ExitCode> {
    let progress = match chapter {
        Some(key) => progress::measure(workspace, workspace.chapter(key)?)?,
        None => match progress::current(workspace)? {
            Some(progress) => progress,
            None => {
                anstream::println!("{}", paint(GOOD, "Every check passes: no hints needed."));
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    if let Status::DoesNotBuild(errors) = &progress.status {
        anstream::println!("It doesn't compile yet; start with the first error:\n{errors}");
        return Ok(ExitCode::FAILURE);
    }
    let Some((check, _)) = progress.first_failing() else {
        anstream::println!(
            "{}",
            paint(GOOD, format!("Every check of chapter {} passes.", progress.chapter.number))
        );
        return Ok(ExitCode::SUCCESS);
    };
    let key = format!("{}/{}", progress.chapter.slug, check.name);
    let path = workspace.state_dir().join("hints.json");
    let mut shown: BTreeMap<String, usize> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    // The failure showed the first hints already; each `hint` adds one.
    let in_failure = hints_shown().min(check.hints.len());
    let before = shown.get(&key).copied().unwrap_or(0).max(in_failure);
    let count = (before + 1).min(check.hints.len());
    anstream::println!(
        "{} {}  {}",
        paint(BOLD, "Failing:"),
        check.name,
        paint(
            DIM,
            format!(
                "(chapter {}, stage {}: {})",
                progress.chapter.number, check.stage.number, check.stage.title
            )
        )
    );
    anstream::println!("Read: \"{}\" in {}", check.section.title, check.section.source());
    let total = check.hints.len();
    if count > before {
        let hint = check.hints[count - 1];
        anstream::println!("{} {hint}", paint(BOLD, format!("Hint {count} of {total}:")));
        if before > 0 {
            let seen = if before == 1 { "Hint 1 is".to_owned() } else { format!("Hints 1 to {before} are") };
            anstream::println!("{}", paint(DIM, format!("({seen} in the failure's transcript.)")));
        }
    } else {
        // Every hint has been given: all of them again, in order.
        for (i, hint) in check.hints.iter().enumerate() {
            anstream::println!("{} {hint}", paint(BOLD, format!("Hint {} of {total}:", i + 1)));
        }
    }
    if count == total {
        anstream::println!(
            "{}",
            paint(
                DIM,
                format!(
                    "That's every hint. Compare with the solution: `cargo course solution {}`.",
                    progress.chapter.number
                )
            )
        );
    }
    shown.insert(key, count);
    std::fs::create_dir_all(workspace.state_dir()).context("creating the runner's state folder")?;
    std::fs::write(&path, serde_json::to_string_pretty(&shown)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(ExitCode::FAILURE)
}
