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
//! 6. [`search`]: the search finds each chapter by its title, and leaves
//!    the solution pages (`code/solNN-*`) out of its index.
//! 7. [`spoilers`]: no page shows, unfolded, three or more lines of a
//!    function an exercise leaves to the learner ([`items`]) before the
//!    chapter's walkthrough (`--spoilers report` lists them without
//!    failing), and the solution pages fold every file.
//! 8. [`figures`]: no measured figure is typed into a page or the README;
//!    each comes from its figures file (`book/src/figures/`, written by the
//!    load tool) by `{{#include}}`.
//!
//! Screenshots of chapters 0 and 1, a diagram, a quiz and the search go to
//! `.ci/artifacts/screenshots/`.

mod course;
mod figures;
mod items;
mod links;
mod mdbook;
mod search;
mod site;
mod spoilers;
mod visit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use course_browser::{Browser, Options};

use crate::visit::Page;

/// How long opening a page, or anything else in the browser, may take.
const PAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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
    /// Whether a spoiler (solution code shown unfolded before the chapter's
    /// walkthrough) fails the check or is only listed.
    #[arg(long, value_enum, default_value_t = Spoilers::Enforce)]
    spoilers: Spoilers,
    /// Run only the figures rule (no build, no browser): quick, while editing.
    #[arg(long)]
    figures_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Spoilers {
    /// Each spoiler is a problem.
    Enforce,
    /// Spoilers are listed; they do not fail the check.
    Report,
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
    let mut problems = check_figures(&root, &book)?;
    if args.figures_only {
        return Ok(problems);
    }

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
    // print.html holds the whole book, every solution file included: on a
    // loaded machine it takes Chromium well over the default 15 s to lay out.
    let browser = Browser::start_with(Options { timeout: PAGE_TIMEOUT, ..Options::default() }).await?;
    let outcome = check_pages(&browser, &base, &files, &root, &book, &build_dir, &shots, args.spoilers).await;
    browser.close().await?;
    problems += outcome?;

    println!("book-check: screenshots in {}", shots.display());
    println!("book-check: {} pages checked, {problems} problem(s)", files.len());
    Ok(problems)
}

#[allow(clippy::too_many_arguments)]
async fn check_pages(
    browser: &Browser,
    base: &str,
    files: &[String],
    root: &Path,
    book: &Path,
    build_dir: &Path,
    shots: &Path,
    spoiler_rule: Spoilers,
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
    match search::indexed_solution_pages(build_dir)? {
        indexed if indexed.is_empty() => println!("  ✓ the solution pages are left out of the search index"),
        indexed => {
            problems += 1;
            println!(
                "  ✗ the search index holds the solution pages {}: add each to [output.html.search.chapter] in book.toml with enable = false",
                indexed.join(", ")
            );
        }
    }

    problems += check_spoilers(&pages, root, book, spoiler_rule)?;
    Ok(problems)
}

/// Runs the figures rule ([`figures`]); returns how many problems it found.
fn check_figures(root: &Path, book: &Path) -> Result<usize> {
    println!("book-check: measured figures come from book/src/figures/, never typed in");
    let found = figures::check(root, book)?;
    for typed in &found.typed {
        println!("  ✗ {typed}");
    }
    if found.typed.is_empty() {
        println!("  ✓ no measured figure typed into the pages or the README");
    }
    for (page, figure) in &found.stale {
        println!(
            "  ! {page}: \"{figure}\" is in figures::ALLOWED but no sentence there claims it any more: drop it"
        );
    }
    if !found.exempt.is_empty() {
        println!(
            "  ! {} figure(s) typed into pages not migrated yet ({}), listed, not counted:",
            found.exempt.len(),
            figures::EXEMPT_PAGES.join(", ")
        );
        for typed in &found.exempt {
            println!("    {}:{}: \"{}\"", typed.page, typed.line, typed.figure);
        }
    }
    Ok(found.typed.len())
}

/// Runs the spoiler rule; returns how many problems it counts (none when
/// only reporting).
fn check_spoilers(pages: &[Page], root: &Path, book: &Path, rule: Spoilers) -> Result<usize> {
    println!(
        "book-check: no spoilers: no {}+ lines of a function an exercise leaves to the learner shown unfolded before its walkthrough",
        spoilers::RUN
    );
    let mut learner = Vec::new();
    let mut chapters = std::collections::BTreeMap::new();
    for chapter in course_checks::CHAPTERS {
        let found = items::chapter_items(root, chapter.number, chapter.slug)?;
        println!(
            "  chapter {}: {} function(s) are the learner's ({} todo!(), {} only in the solution)",
            chapter.number,
            found.items.len(),
            found.items.iter().filter(|item| item.why == items::Why::Todo).count(),
            found.items.iter().filter(|item| item.why == items::Why::SolutionOnly).count(),
        );
        learner.push(found);
        chapters.insert(
            chapter.number,
            (format!("ch{}.html", chapter.slug), format!("code/{}.html", chapter.solution_package())),
        );
    }
    let summary = book.join("src/SUMMARY.md");
    let summary =
        std::fs::read_to_string(&summary).with_context(|| format!("reading {}", summary.display()))?;
    let shape = spoilers::Book { order: summary_order(&summary), chapters };
    let unfolded = spoilers::unfolded_solution_files(pages);
    for problem in &unfolded {
        println!("  ✗ {problem}");
    }
    let found = spoilers::find(pages, &shape, &learner);
    let mut per_page: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for spoiler in &found {
        *per_page.entry(spoiler.page.as_str()).or_default() += 1;
        let mark = if rule == Spoilers::Enforce { "✗" } else { "!" };
        println!("  {mark} {spoiler}");
    }
    if found.is_empty() {
        println!("  ✓ no spoilers on {} pages", pages.len());
        return Ok(unfolded.len());
    }
    let pages: Vec<String> = per_page.iter().map(|(page, n)| format!("{page} ({n})")).collect();
    println!("  {} spoiler(s) on: {}", found.len(), pages.join(", "));
    Ok(unfolded.len()
        + match rule {
            Spoilers::Enforce => found.len(),
            Spoilers::Report => {
                println!("  (--spoilers report: listed, not counted as problems)");
                0
            }
        })
}

/// The pages SUMMARY.md links, in order, as built files (`ch01-http.html`).
fn summary_order(summary: &str) -> Vec<String> {
    summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')'))
        .map(|(target, _)| target.trim())
        .filter(|target| target.ends_with(".md"))
        .map(|target| target.trim_start_matches("./").replace(".md", ".html"))
        .collect()
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
