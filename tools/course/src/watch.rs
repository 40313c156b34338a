//! `course watch`: re-runs the current chapter's checks whenever a file of
//! its exercise changes, and moves on to the next chapter when it goes green.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

use crate::check::print_report;
use crate::progress;
use crate::term::{BOLD, DIM, GOOD, paint};
use crate::workspace::Workspace;

/// Editors save in bursts (write, rename, touch): changes closer together
/// than this count as one.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Reports files under a folder that are written, created or removed.
///
/// Only those count as a save. The file system also reports every time a
/// file is merely opened or read — and running the checks makes cargo open
/// every file of the exercise — so reacting to any event would re-run the
/// checks for ever without a single save.
pub struct Watcher {
    _watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Whether an event is a save: content written, a file created, removed or
/// renamed. Opening, reading and metadata changes (permissions, access
/// times) are not.
fn is_a_save(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

impl Watcher {
    /// Starts watching `dir` and everything below it.
    pub fn new(dir: &Path) -> Result<Self> {
        let (send, events) = channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = send.send(event);
        })
        .context("starting the file watcher")?;
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", dir.display()))?;
        Ok(Watcher { _watcher: watcher, events })
    }

    /// Waits for the next save (up to `timeout`, or for ever), then for the
    /// burst it starts to settle, and returns the files saved. Build output
    /// under `target/` is ignored.
    pub fn next_change(&self, timeout: Option<Duration>) -> Result<Option<Vec<PathBuf>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut saved = Vec::new();
        loop {
            // Before the first save: wait until the deadline. After it: wait
            // until the burst has been quiet for DEBOUNCE.
            let wait = match (saved.is_empty(), deadline) {
                (false, _) => Some(DEBOUNCE),
                (true, Some(deadline)) => Some(deadline.saturating_duration_since(Instant::now())),
                (true, None) => None,
            };
            let event = match wait {
                Some(wait) => match self.events.recv_timeout(wait) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) if saved.is_empty() => return Ok(None),
                    Err(RecvTimeoutError::Timeout) => return Ok(Some(saved)),
                    Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the file watcher stopped"),
                },
                None => self.events.recv().context("the file watcher stopped")?,
            };
            let event = event.map_err(|e| anyhow::anyhow!("file watcher: {e}"))?;
            if !is_a_save(&event.kind) {
                continue;
            }
            saved.extend(
                event.paths.into_iter().filter(|path| !path.components().any(|c| c.as_os_str() == "target")),
            );
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

    /// Reading files is what cargo does to every file of the exercise when it
    /// runs the checks: it must not count as a save. The marker written
    /// afterwards proves the watcher was listening all along.
    #[test]
    fn opening_and_reading_a_file_is_not_a_save() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, "// the learner's code\n").expect("writing");
        let watcher = Watcher::new(dir.path()).expect("watching");
        for _ in 0..20 {
            let _ = std::fs::read_to_string(&file).expect("reading");
            let _ = std::fs::metadata(&file).expect("metadata");
        }
        std::fs::write(dir.path().join("marker.rs"), "x").expect("writing the marker");
        let changed = watcher.next_change(Some(Duration::from_secs(10))).expect("runs").expect("a change");
        assert!(changed.iter().all(|p| p.ends_with("marker.rs")), "only the marker was saved: {changed:?}");
    }

    #[test]
    fn a_removed_file_is_reported() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("old.rs");
        std::fs::write(&file, "x").expect("writing");
        let watcher = Watcher::new(dir.path()).expect("watching");
        std::fs::remove_file(&file).expect("removing");
        let changed = watcher.next_change(Some(Duration::from_secs(10))).expect("runs").expect("a change");
        assert!(changed.iter().any(|p| p.ends_with("old.rs")), "{changed:?}");
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
