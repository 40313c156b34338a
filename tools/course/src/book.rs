//! `cargo course book`: serves the book on <http://localhost:4000>, after
//! installing the mdBook tools it needs on first use.
//!
//! The book is built with three tools at pinned versions ([`TOOLS`]). They
//! are installed with `cargo install --locked`, so every reader, CI and the
//! GitHub Pages workflow (`.github/workflows/book.yml`, which pins the same
//! versions) build the book with the same code. A tool already on the `PATH`
//! at another version is replaced. The first run compiles the missing ones
//! from source, without optimisation, and mdBook without its own web server
//! and file watcher (`mdbook serve`): this command builds the book with
//! `mdbook build` and serves it itself, with the web server the course
//! already compiled, rebuilding it when a file of `book/` changes. That
//! leaves out 61 of mdBook's 191 dependencies (tokio, hyper, axum, notify…,
//! compiled for the course in its own profile already, not for an
//! installed tool); later runs start at once.
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
    /// What `cargo install` is told about its features.
    pub features: &'static [&'static str],
}

/// The tools the book needs. Keep in step with `.github/workflows/book.yml`.
pub const TOOLS: &[Tool] = &[
    // Only `search` of its default features: `watch` and `serve` are
    // `mdbook serve`, which this command does itself (see the module's documentation).
    Tool { name: "mdbook", version: "0.5.4", features: &["--no-default-features", "--features", "search"] },
    // Renders ```mermaid blocks into diagrams in the browser, offline.
    Tool { name: "mdbook-mermaid", version: "0.17.1", features: &[] },
    // Turns `{{#quiz …}}` into interactive quizzes and checks their answers at build time.
    Tool { name: "mdbook-quiz", version: "0.5.0", features: &[] },
];

/// The port the book is served on (the learner's server has 3000).
pub const PORT: u16 = 4000;

pub fn run(install_only: bool, open: bool) -> Result<ExitCode> {
    install_missing()?;
    if install_only {
        return Ok(ExitCode::SUCCESS);
    }
    let book = book_dir();
    build(&book)?;
    let html = book.join("book");
    // Rebuilt in the background as the book's files change; the server
    // below always serves what the last build wrote.
    let watched = book.clone();
    std::thread::spawn(move || {
        if let Err(e) = rebuild_on_change(&watched) {
            eprintln!("the book is no longer rebuilt when it changes: {e:#}");
        }
    });
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(serve(html, open))?;
    Ok(ExitCode::SUCCESS)
}

/// `mdbook build`: the book into `book/book`.
fn build(book: &Path) -> Result<()> {
    let status = Command::new("mdbook").arg("build").arg(book).status().context("starting `mdbook build`")?;
    if !status.success() {
        bail!("`mdbook build {}` failed (its errors are above)", book.display());
    }
    Ok(())
}

/// Builds the book again after each burst of saves under `book/`. What a
/// build writes itself is not a change: its output, `book/book`, and the
/// quiz assets mdbook-quiz copies into `book/src/quiz` each time (the same
/// bytes). Reload the page to see the change.
fn rebuild_on_change(book: &Path) -> Result<()> {
    let watcher = crate::watch::Watcher::new(book)?;
    let written_by_a_build = [book.join("book"), book.join("src").join("quiz")];
    loop {
        let Some(saved) = watcher.next_change(None)? else { continue };
        if saved.iter().all(|path| written_by_a_build.iter().any(|dir| path.starts_with(dir))) {
            continue;
        }
        println!("the book changed: rebuilding it (reload the page to see it)");
        if let Err(e) = build(book) {
            eprintln!("{e:#}");
        }
    }
}

/// Serves the built book on [`PORT`] until Ctrl-C: its files as they are,
/// and its own `404.html` (with a 404 status) for a page it doesn't have.
async fn serve(html: PathBuf, open: bool) -> Result<()> {
    use tower_http::services::{ServeDir, ServeFile};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", PORT))
        .await
        .with_context(|| format!("listening on port {PORT} (is the book already served?)"))?;
    let url = format!("http://localhost:{PORT}");
    println!("serving the book at {url} (Ctrl-C stops it)");
    if open {
        open_in_browser(&url);
    }
    let files = ServeDir::new(&html).not_found_service(ServeFile::new(html.join("404.html")));
    let app = axum::Router::new().fallback_service(files);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the book")
}

/// Opens `url` with the system's opener; says so when there is none.
fn open_in_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut start = Command::new("cmd");
        start.args(["/C", "start", ""]);
        start
    } else {
        Command::new("xdg-open")
    };
    let opened = command.arg(url).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !opened.is_ok_and(|status| status.success()) {
        println!("(could not open a browser: open {url} yourself)");
    }
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

/// `cargo install --locked` of the given tools with one build folder: the
/// tools share some dependencies at the same versions, and those are
/// compiled once. One invocation per set of feature flags (cargo applies
/// them to every crate it is given). The folder is kept if the install fails
/// (running again resumes it) and removed when it succeeds.
fn install(tools: &[&Tool]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build_dir = build_dir();
    let mut groups: Vec<(&[&str], Vec<String>)> = Vec::new();
    for tool in tools {
        let name = format!("{}@{}", tool.name, tool.version);
        match groups.iter_mut().find(|(features, _)| *features == tool.features) {
            Some((_, crates)) => crates.push(name),
            None => groups.push((tool.features, vec![name])),
        }
    }
    for (features, crates) in groups {
        let status = Command::new(&cargo)
            .args(["install", "--locked", "--force", "--config", UNOPTIMISED, "--target-dir"])
            .arg(&build_dir)
            .args(features)
            .args(&crates)
            .status()
            .context("running cargo install")?;
        if !status.success() {
            bail!("`cargo install --locked {} {}` failed", features.join(" "), crates.join(" "));
        }
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
