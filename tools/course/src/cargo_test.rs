//! Runs a chapter's checks through `cargo test` and reads what each check did.
//!
//! The check harness appends one JSON line per check to the file named by
//! `COURSE_CHECK_REPORT`; reading that is sturdier than parsing test output.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use course_checks::harness::REPORT_ENV;
use serde::Deserialize;

/// What one check did, as the harness reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckResult {
    pub check: String,
    /// `passed`, `failed` or `skipped`.
    pub outcome: String,
    /// For a failure: whether its message points at what is missing.
    pub informative: bool,
    pub message: String,
}

/// The results of one run of a package's checks, by check name.
#[derive(Debug)]
pub struct Run {
    pub results: BTreeMap<String, CheckResult>,
    /// Set when cargo could not build or start the checks at all.
    pub build_error: Option<String>,
}

/// Runs `cargo test -p <package> --test checks`, quietly, and collects the report.
pub fn run_checks(package: &str) -> Result<Run> {
    let report = report_path(package);
    let _ = std::fs::remove_file(&report);
    let output = Command::new(env!("CARGO"))
        .args(["test", "--quiet", "--package", package, "--test", "checks"])
        .env(REPORT_ENV, &report)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running cargo test for {package}"))?;
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    let mut results = BTreeMap::new();
    for line in text.lines() {
        let result: CheckResult =
            serde_json::from_str(line).with_context(|| format!("reading the check report of {package}"))?;
        results.insert(result.check.clone(), result);
    }
    let build_error = if results.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Some(
            stderr
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n"),
        )
    } else {
        None
    };
    Ok(Run { results, build_error })
}

fn report_path(package: &str) -> PathBuf {
    std::env::temp_dir().join(format!("course-report-{package}-{}.jsonl", std::process::id()))
}
