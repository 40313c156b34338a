//! `course watch`: re-runs the current chapter's checks whenever a file of
//! its exercise changes, and moves on to the next chapter when it goes green.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use crate::check::print_report;
use crate::progress;
use crate::term::{BOLD, DIM, GOOD, paint};
use crate::workspace::Workspace;

/// Editors save in bursts (write, rename, touch): changes closer together
/// than this count as one.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Reports changed files under a folder, debounced.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
    changes: Receiver<DebounceEventResult>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

impl Watcher {
    /// Starts watching `dir` and everything below it.
    pub fn new(dir: &Path) -> Result<Self> {
        let (send, changes) = channel();
        let mut debouncer = new_debouncer(DEBOUNCE, send).context("starting the file watcher")?;
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", dir.display()))?;
        Ok(Watcher { _debouncer: debouncer, changes })
    }

    /// Waits for the next change (up to `timeout`, or for ever) and returns
    /// the files that changed. Build output under `target/` is ignored.
    pub fn next_change(&self, timeout: Option<Duration>) -> Result<Option<Vec<PathBuf>>> {
        loop {
            let events = match timeout {
                Some(timeout) => match self.changes.recv_timeout(timeout) {
                    Ok(events) => events,
                    Err(RecvTimeoutError::Timeout) => return Ok(None),
                    Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the file watcher stopped"),
                },
                None => self.changes.recv().context("the file watcher stopped")?,
            };
            let paths: Vec<PathBuf> = events
                .map_err(|e| anyhow::anyhow!("file watcher: {e}"))?
                .into_iter()
                .map(|event| event.path)
                .filter(|path| !path.components().any(|c| c.as_os_str() == "target"))
                .collect();
            if !paths.is_empty() {
                return Ok(Some(paths));
            }
        }
    }
}

pub fn run(workspace: &Workspace) -> Result<ExitCode> {
    let chapters = workspace.chapters();
    let mut index = 0;
    while let Some(&chapter) = chapters.get(index) {
        let dir = workspace.exercise_dir(chapter);
        // Watch before measuring, so a save during the run is not missed.
        let watcher = Watcher::new(&dir)?;
        let progress = progress::measure(workspace, chapter)?;
        if progress.is_done() {
            anstream::println!(
                "{}",
                paint(GOOD, format!("✓ Chapter {} ({}) is done.", chapter.number, chapter.title))
            );
            index += 1;
            continue;
        }
        anstream::println!();
        print_report(&progress, &workspace.show(&dir), false);
        anstream::println!();
        progress::print_next_step(workspace, &progress);
        anstream::println!(
            "\n{} {}",
            paint(BOLD, "Watching"),
            paint(DIM, format!("{} — save a file to re-run the checks; Ctrl-C stops.", workspace.show(&dir)))
        );
        watcher.next_change(None)?;
    }
    anstream::println!("{}", paint(GOOD, "Every chapter with an exercise is done. Well built!"));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watcher wakes up for a saved file — driven by the write itself;
    /// the timeout only makes a broken watcher fail fast.
    #[test]
    fn a_saved_file_is_reported() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let watcher = Watcher::new(dir.path()).expect("watching");
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, "// edited\n").expect("writing");
        let changed = watcher.next_change(Some(Duration::from_secs(10))).expect("the watcher runs");
        let changed = changed.expect("a change within 10 s");
        let file = file.canonicalize().expect("canonical path");
        assert!(changed.iter().any(|p| p.canonicalize().ok().as_ref() == Some(&file)), "{changed:?}");
    }

    #[test]
    fn build_output_is_ignored() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir(dir.path().join("target")).expect("target/");
        let watcher = Watcher::new(dir.path()).expect("watching");
        std::fs::write(dir.path().join("target/out.o"), "x").expect("writing build output");
        std::fs::write(dir.path().join("marker.rs"), "x").expect("writing the marker");
        let changed = watcher.next_change(Some(Duration::from_secs(10))).expect("runs").expect("a change");
        assert!(changed.iter().all(|p| !p.components().any(|c| c.as_os_str() == "target")), "{changed:?}");
        assert!(changed.iter().any(|p| p.ends_with("marker.rs")), "{changed:?}");
    }
}
