//! What one check did, as it travels from a check binary to the course
//! runner and the gate.
//!
//! The harness appends one [`CheckReport`] per check, as a line of JSON, to
//! the file named by [`REPORT_ENV`]; the runner reads them back with
//! [`read_reports`]. Both sides use these types, so an outcome is an
//! [`Outcome`], never a string compared by hand (chapter 1's own lesson: an
//! enum, not a string).

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Environment variable: a file the harness appends one JSON line per check
/// to (used by the gate and the course runner).
pub const REPORT_ENV: &str = "COURSE_CHECK_REPORT";

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server behaved as the book says.
    Passed,
    /// It did not; the report's message is the transcript.
    Failed,
    /// The check did not run; the report's message says why (it needs the
    /// course's short tunables, or an earlier check failed and the run stops
    /// at the first failure).
    Skipped,
}

impl Outcome {
    /// `passed`, `failed`, `skipped`: as a sentence says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The chapter's number.
    pub chapter: u8,
    /// The check's name, e.g. `empty_board_lists_no_tasks`.
    pub check: String,
    /// The name `cargo test` lists, e.g. `s1_listing::empty_board_lists_no_tasks`.
    pub test: String,
    /// The check's stage number.
    pub stage: u8,
    pub outcome: Outcome,
    /// For a failure: whether its message points at what is missing (a
    /// mismatch, or the server's panic message), not a bare "no answer".
    pub informative: bool,
    /// For a failure, the transcript as the learner sees it; for a skip, the
    /// reason; empty for a pass.
    pub message: String,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed
    }

    /// The first line of the message: for a failure, the behaviour that is
    /// wrong.
    pub fn headline(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// Appends this report to `path` as one line of JSON.
    pub fn append_to(&self, path: &Path) -> std::io::Result<()> {
        let line = serde_json::to_string(self).map_err(std::io::Error::other)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(file, "{line}")
    }
}

/// Reads the reports a run appended to `path`, in the order they were
/// written. A missing file reads as no reports (the binary never ran).
pub fn read_reports(path: &Path) -> std::io::Result<Vec<CheckReport>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome) -> CheckReport {
        CheckReport {
            chapter: 1,
            check: "empty_board_lists_no_tasks".into(),
            test: "s1_listing::empty_board_lists_no_tasks".into(),
            stage: 1,
            outcome,
            informative: true,
            message: "GET /boards/board-1/tasks answered 500\n\n  sent:\n    > GET".into(),
        }
    }

    #[test]
    fn a_report_survives_the_trip_through_a_file() {
        let dir = std::env::temp_dir().join(format!("course-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let path = dir.join("report.jsonl");
        let _ = std::fs::remove_file(&path);
        let sent = [report(Outcome::Passed), report(Outcome::Failed), report(Outcome::Skipped)];
        for r in &sent {
            r.append_to(&path).expect("appending");
        }
        assert_eq!(read_reports(&path).expect("reading"), sent);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_outcome_is_written_as_a_word() {
        let json = serde_json::to_string(&report(Outcome::Failed)).expect("serializing");
        assert!(json.contains(r#""outcome":"failed""#), "{json}");
        assert_eq!(report(Outcome::Failed).headline(), "GET /boards/board-1/tasks answered 500");
    }

    #[test]
    fn a_missing_file_is_no_reports() {
        assert!(read_reports(Path::new("/nonexistent/course-report.jsonl")).expect("no error").is_empty());
    }
}
