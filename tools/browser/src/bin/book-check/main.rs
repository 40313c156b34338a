//! `book-check`: checks the book as a reader sees it.
//!
//! ```sh
//! cargo run -p course-browser --bin book-check    # or .ci/check-book, which installs what it needs
//! ```
//!
//! 1. [`mdbook`]: builds the book; any warning fails the check.
//! 2. [`site`]: serves the build on loopback under `/book/`, as GitHub Pages
//!    serves it under `/<repo>/`.
//! 3. [`visit`]: opens every page in headless Chromium: no JavaScript error,
//!    every diagram drawn, every quiz drawn.
//! 4. [`links`]: no internal link or `#anchor` leads nowhere.
//! 5. [`course`]: each chapter with checks links its exercise and solution,
//!    every check's book section exists, and the exercise links its chapter.
//! 6. [`search`]: the search finds each chapter by its title.
//!
//! Screenshots of chapters 0 and 1, a diagram, a quiz and the search go to
//! `.ci/artifacts/screenshots/`.

mod course;
mod links;
mod mdbook;
mod search;
mod site;
mod visit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use course_browser::Browser;

use crate::visit::Page;

/// Checks the book as a reader sees it: build, links, pages in Chromium, search.
#[derive(Debug, Parser)]
#[command(name = "book-check")]
struct Args {
    /// The course's root folder.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The book's folder (with book.toml); `<root>/book` by default.
    #[arg(long)]
    book: Option<PathBuf>,
    /// Where the screenshots go; `<root>/.ci/artifacts/screenshots` by default.
    #[arg(long)]
    screenshots: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("book-check: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs every check; returns how many problems it found.
async fn run(args: Args) -> Result<usize> {
    let root = args.root.canonicalize().with_context(|| format!("finding {}", args.root.display()))?;
    let book = args.book.unwrap_or_else(|| root.join("book"));
    let shots = args.screenshots.unwrap_or_else(|| root.join(".ci/artifacts/screenshots"));
    let build_dir = root.join("target/book-check/html");
    let mut problems = 0;

    println!("book-check: building {} (warnings are errors)", book.display());
    let build = mdbook::build(&book, &build_dir, site::PREFIX)?;
    for problem in &build.problems {
        println!("  ✗ {problem}");
    }
    if build.known_notices > 0 {
        println!("  (the known mdbook-mermaid version notice appeared; it is not a problem)");
    }
    problems += build.problems.len();

    let files = html_files(&build_dir)?;
    let base = site::serve(&build_dir).await?;
    println!("book-check: opening {} pages of {base} in headless Chromium", files.len());
    clear_screenshots(&shots)?;
    let browser = Browser::start().await?;
    let outcome = check_pages(&browser, &base, &files, &root, &book, &build_dir, &shots).await;
    browser.close().await?;
    problems += outcome?;

    println!("book-check: screenshots in {}", shots.display());
    println!("book-check: {} pages checked, {problems} problem(s)", files.len());
    Ok(problems)
}

async fn check_pages(
    browser: &Browser,
    base: &str,
    files: &[String],
    root: &Path,
    book: &Path,
    build_dir: &Path,
    shots: &Path,
) -> Result<usize> {
    let mut pages = Vec::new();
    let (mut diagram_shot, mut quiz_shot) = (false, false);
    for file in files {
        let url = format!("{base}{file}");
        let mut page = match visit::visit(browser, file, &url).await {
            Ok(page) => page,
            Err(error) => Page::failed(file, format!("{error:#}")),
        };
        let stem = file.trim_end_matches(".html").replace('/', "-");
        if file.starts_with("ch00-") || file.starts_with("ch01-") {
            browser.screenshot(&shots.join(format!("{stem}.png"))).await?;
        }
        if page.diagrams > 0 && !diagram_shot && file != "print.html" {
            visit::scroll_to(browser, ".mermaid").await?;
            browser.screenshot(&shots.join(format!("diagram-{stem}.png"))).await?;
            diagram_shot = true;
        }
        if page.quizzes > 0 && !quiz_shot && file != "print.html" {
            visit::scroll_to(browser, ".quiz-placeholder").await?;
            browser.screenshot(&shots.join(format!("quiz-{stem}.png"))).await?;
            quiz_shot = true;
        }
        page.problems.extend(visit::errors(browser).await?);
        pages.push(page);
    }
    links::check(&mut pages, build_dir);

    let mut problems = 0;
    for page in &pages {
        problems += page.problems.len();
        if page.problems.is_empty() {
            println!("  ✓ {}{}", page.file, rendered(page));
        } else {
            println!("  ✗ {}{}", page.file, rendered(page));
            for problem in &page.problems {
                println!("      {problem}");
            }
        }
    }

    println!("book-check: chapters with checks link their exercise and solution, and back");
    for chapter in course_checks::CHAPTERS {
        let found = course::check(chapter, &pages, root, book);
        problems += found.len();
        let mark = if found.is_empty() { "✓" } else { "✗" };
        println!("  {mark} chapter {} ({}): {} checks", chapter.number, chapter.slug, chapter.checks.len());
        for problem in found {
            println!("      {problem}");
        }
    }

    println!("book-check: the search finds each chapter by its title");
    browser.open(base).await?;
    let mut search_shot = false;
    for page in pages.iter().filter(|page| is_chapter(&page.file) && !page.title.is_empty()) {
        match search::finds(browser, &page.title, &page.file).await? {
            Ok(()) => println!("  ✓ {:?} finds {}", page.title, page.file),
            Err(why) => {
                problems += 1;
                println!("  ✗ {:?} does not find {}: {why}", page.title, page.file);
            }
        }
        if !search_shot {
            browser.screenshot(&shots.join("search.png")).await?;
            search_shot = true;
        }
    }
    for error in visit::errors(browser).await? {
        problems += 1;
        println!("  ✗ while searching: {error}");
    }
    Ok(problems)
}

/// ` (1 diagram(s), 1 quiz(zes))`, or nothing.
fn rendered(page: &Page) -> String {
    let mut parts = Vec::new();
    if page.diagrams > 0 {
        parts.push(format!("{} diagram(s)", page.diagrams));
    }
    if page.quizzes > 0 {
        parts.push(format!("{} quiz(zes)", page.quizzes));
    }
    if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
}

/// A chapter's page: `chNN-slug.html` at the book's top level.
fn is_chapter(file: &str) -> bool {
    let Some(rest) = file.strip_prefix("ch") else { return false };
    !file.contains('/')
        && rest.len() > 3
        && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && rest.as_bytes()[2] == b'-'
}

/// Every `.html` file under `dir`, relative to it with `/` separators, sorted.
fn html_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &format!("{prefix}{name}/"), files)?;
            } else if name.ends_with(".html") {
                files.push(format!("{prefix}{name}"));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    files.sort();
    Ok(files)
}

/// Removes the screenshots of an earlier run.
fn clear_screenshots(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "png") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}
