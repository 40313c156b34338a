//! Builds the book with `mdbook build`, treating every warning as an error.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

/// The one notice that is not a problem. mdbook-mermaid 0.17.1 (installed
/// `--locked`, as the course pins it) was compiled against mdBook 0.5.0's
/// preprocessor library, and says so when mdBook 0.5.4 runs it; the two
/// speak the same protocol, and the diagrams render. Matched exactly, so any
/// other version mismatch still fails the check.
pub const KNOWN_NOTICE: &str = "Warning: The mdbook-mermaid preprocessor was built against version 0.5.0 \
                                of mdbook, but we're being called from version 0.5.4";

/// What the build said.
#[derive(Debug)]
pub struct Build {
    /// Lines that warn or report an error (other than [`KNOWN_NOTICE`]),
    /// and a line if mdBook failed.
    pub problems: Vec<String>,
    /// How many times the known notice appeared.
    pub known_notices: usize,
}

/// Builds `book` into `dest`, for a site served under `site_url` (e.g.
/// `/book/`, so that the 404 page's links work as they will on GitHub Pages).
pub fn build(book: &Path, dest: &Path, site_url: &str) -> Result<Build> {
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("removing the old build in {}", dest.display()))?;
    }
    let output = Command::new("mdbook")
        .arg("build")
        .arg(book)
        .arg("--dest-dir")
        .arg(dest)
        .env("MDBOOK_OUTPUT__HTML__SITE_URL", site_url)
        .stdin(Stdio::null())
        .output()
        .context("running `mdbook build` (install it with `cargo course book --install-only`)")?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let mut build = Build { problems: Vec::new(), known_notices: 0 };
    for line in text.lines().map(strip_colours) {
        let line = line.trim();
        if line == KNOWN_NOTICE {
            build.known_notices += 1;
        } else if is_warning_or_error(line) {
            build.problems.push(line.to_owned());
        }
    }
    if !output.status.success() {
        build.problems.push(format!("mdbook build failed ({}); it printed:\n{text}", output.status));
    }
    Ok(build)
}

fn is_warning_or_error(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.contains("warn") || lower.contains("error")
}

/// Removes terminal colour codes (`ESC [ … m`).
fn strip_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
