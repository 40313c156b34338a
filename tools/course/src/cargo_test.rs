//! Runs a chapter's checks through `cargo test` and reads what each check did.
//!
//! The check harness appends one [`CheckReport`] per check, as a line of
//! JSON, to the file named by `COURSE_CHECK_REPORT`; reading that is sturdier
//! than parsing test output, and both sides share the types.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use course_checks::CheckReport;
use course_checks::report::{REPORT_ENV, read_reports};

/// The results of one run of a package's checks, by check name.
#[derive(Debug, Default)]
pub struct Run {
    pub results: BTreeMap<String, CheckReport>,
    /// Set when cargo could not build or start the checks at all: the
    /// compiler's errors.
    pub build_error: Option<String>,
}

/// Runs `cargo test -p <package> --test checks` in `root`, quietly, and
/// collects the report.
pub fn run_checks(root: &Path, package: &str) -> Result<Run> {
    let report = std::env::temp_dir().join(format!("course-report-{package}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let output = cargo()
        .args(["test", "--quiet", "--package", package, "--test", "checks"])
        .current_dir(root)
        .env(REPORT_ENV, &report)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running cargo test for {package}"))?;
    let reports = read_reports(&report).with_context(|| format!("reading the check report of {package}"));
    let _ = std::fs::remove_file(&report);
    let results: BTreeMap<String, CheckReport> = reports?.into_iter().map(|r| (r.check.clone(), r)).collect();
    let build_error = results.is_empty().then(|| compiler_errors(&String::from_utf8_lossy(&output.stderr)));
    Ok(Run { results, build_error })
}

/// Runs the unit tests of a package's library and binaries (`cargo test -p
/// <package> --lib --bins`), which cargo runs before its checks: when one
/// fails, `cargo test -p <package>` stops there and never reaches the
/// checks. `None` when they pass (ignored tests allowed); otherwise the
/// failing tests' lines (or the compiler's errors).
pub fn unit_tests_failing(root: &Path, package: &str) -> Result<Option<String>> {
    let output = cargo()
        .args(["test", "--quiet", "--package", package, "--lib", "--bins"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running the unit tests of {package}"))?;
    if output.status.success() {
        return Ok(None);
    }
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let failed: Vec<&str> =
        text.lines().filter(|l| l.ends_with("FAILED") || l.starts_with("error")).take(20).collect();
    Ok(Some(if failed.is_empty() { compiler_errors(&text) } else { failed.join("\n") }))
}

/// The cargo that runs us (`CARGO`), or the one on the PATH.
fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The interesting part of cargo's output when the build failed: the errors,
/// or the last lines when there are none.
fn compiler_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    match lines.iter().position(|l| l.starts_with("error")) {
        Some(first) => lines[first..].iter().take(40).copied().collect::<Vec<_>>().join("\n"),
        None => lines[lines.len().saturating_sub(30)..].join("\n"),
    }
}
