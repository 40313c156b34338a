//! `cargo course book`: serves the book on <http://localhost:4000>, after
//! installing the mdBook tools it needs on first use.
//!
//! The book is built with three tools at pinned versions ([`TOOLS`]). They
//! are installed with `cargo install --locked`, so every reader, CI and the
//! GitHub Pages workflow (`.github/workflows/book.yml`, which pins the same
//! versions) build the book with the same code. A tool already on the `PATH`
//! at another version is replaced. The first run compiles the missing ones
//! from source, all in one `cargo install` and without optimisation: about
//! four minutes on two cores (optimised, one by one, it took eight); later
//! runs start at once.
//!
//! Port 4000, because 3000 is where the learner's own server runs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

/// One mdBook tool at the version the book is built with.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// The crate and the binary it installs (they share the name).
    pub name: &'static str,
    pub version: &'static str,
}

/// The tools the book needs. Keep in step with `.github/workflows/book.yml`.
pub const TOOLS: &[Tool] = &[
    Tool { name: "mdbook", version: "0.5.4" },
    // Renders ```mermaid blocks into diagrams in the browser, offline.
    Tool { name: "mdbook-mermaid", version: "0.17.1" },
    // Turns `{{#quiz …}}` into interactive quizzes and checks their answers at build time.
    Tool { name: "mdbook-quiz", version: "0.5.0" },
];

/// The port the book is served on (the learner's server has 3000).
pub const PORT: u16 = 4000;

pub fn run(install_only: bool, open: bool) -> Result<ExitCode> {
    install_missing()?;
    if install_only {
        return Ok(ExitCode::SUCCESS);
    }
    let book = book_dir();
    println!("serving the book at http://localhost:{PORT} (Ctrl-C stops it)");
    let mut serve = Command::new("mdbook");
    serve.arg("serve").arg(&book).args(["--port", &PORT.to_string()]);
    if open {
        serve.arg("--open");
    }
    let status = serve.status().context("starting `mdbook serve`")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Installs every tool that is missing or at another version, all in one
/// `cargo install` (see [`install`]).
fn install_missing() -> Result<()> {
    let mut missing = Vec::new();
    for tool in TOOLS {
        match installed_version(tool.name) {
            Some(version) if version == tool.version => continue,
            Some(version) => {
                println!(
                    "{} {version} is installed; the book needs {}: replacing it",
                    tool.name, tool.version
                )
            }
            None => println!("{} is not installed: installing {}", tool.name, tool.version),
        }
        missing.push(tool);
    }
    if missing.is_empty() {
        return Ok(());
    }
    println!("compiling them takes a few minutes, once");
    install(&missing)?;
    for tool in missing {
        match installed_version(tool.name) {
            Some(version) if version == tool.version => {}
            other => bail!(
                "installed {} {}, but `{} --version` now says {:?}: is another copy earlier on your PATH?",
                tool.name,
                tool.version,
                tool.name,
                other.unwrap_or_else(|| "nothing".to_owned())
            ),
        }
    }
    Ok(())
}

/// The version `<tool> --version` prints (`mdbook v0.5.4` → `0.5.4`), if it runs.
fn installed_version(tool: &str) -> Option<String> {
    let output = Command::new(tool).arg("--version").stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.split_whitespace().last()?;
    Some(last.trim_start_matches('v').to_owned())
}

/// How the tools are compiled: a release build without optimisation. That
/// halves the compiling (measured: about 220 CPU-seconds for the three,
/// against 420 optimised), and the book still builds in about 3 s (0.5 s
/// optimised). `opt-level` 1 would save only a tenth. Passed as
/// `cargo install --config`, so that it changes only this build.
const UNOPTIMISED: &str = "profile.release.opt-level=0";

/// `cargo install --locked` of the given tools, in one invocation with one
/// build folder: the tools share some dependencies at the same versions, and
/// those are compiled once. The folder is kept if the install fails (running
/// again resumes it) and removed when it succeeds.
fn install(tools: &[&Tool]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build_dir = build_dir();
    let crates: Vec<String> = tools.iter().map(|tool| format!("{}@{}", tool.name, tool.version)).collect();
    let status = Command::new(cargo)
        .args(["install", "--locked", "--force", "--config", UNOPTIMISED, "--target-dir"])
        .arg(&build_dir)
        .args(&crates)
        .status()
        .context("running cargo install")?;
    if !status.success() {
        bail!("`cargo install --locked {}` failed", crates.join(" "));
    }
    // Only disk space is lost if this fails.
    let _ = std::fs::remove_dir_all(&build_dir);
    Ok(())
}

/// Where the tools are compiled: `book-tools` in the workspace's target folder.
fn build_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("book-tools")
}

/// `book/` at the root of the course.
fn book_dir() -> PathBuf {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book");
    book.canonicalize().unwrap_or(book)
}
