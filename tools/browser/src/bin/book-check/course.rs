//! The book and the exercises point at each other: a chapter with checks
//! links its exercise's and solution's code pages, every check's section is
//! a heading that exists, and the exercise's crate docs link the chapter.
//! Such a chapter also has a diagram and a quiz of at least four questions.

use std::collections::BTreeSet;
use std::path::Path;

use course_checks::Chapter;

use crate::links::file_of;
use crate::visit::Page;

/// The fewest questions a chapter's quiz has.
const MIN_QUESTIONS: usize = 4;

/// The problems found for `chapter`, given the pages the browser saw.
pub fn check(chapter: &Chapter, pages: &[Page], root: &Path, book: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let page_file = format!("ch{}.html", chapter.slug);
    let Some(page) = pages.iter().find(|page| page.file == page_file) else {
        let source = book.join(format!("src/ch{}.md", chapter.slug));
        let why = if source.is_file() { "is not listed in SUMMARY.md" } else { "does not exist" };
        problems.push(format!(
            "the chapter's page {} {why}; its {} checks send the reader to sections there",
            relative(&source, root),
            chapter.checks.len()
        ));
        problems.extend(exercise_links_chapter(chapter, root));
        return problems;
    };

    // Every written chapter shows the exchange as a sequence diagram and
    // ends with a quiz (the course's conventions).
    if page.diagrams == 0 {
        problems.push(format!("{page_file} has no diagram (a ```mermaid block)"));
    }
    if page.questions < MIN_QUESTIONS {
        problems.push(format!(
            "{page_file}'s quiz has {} question(s); a chapter's quiz has at least {MIN_QUESTIONS}",
            page.questions
        ));
    }

    let linked: BTreeSet<String> = page
        .links
        .iter()
        .filter(|link| link.internal && link.in_content)
        .filter_map(|link| file_of(&link.path))
        .collect();
    for (what, package) in
        [("exercise", chapter.exercise_package()), ("solution", chapter.solution_package())]
    {
        let code_page = format!("code/{package}.html");
        if !linked.contains(&code_page) {
            problems.push(format!("{page_file} does not link its {what}'s code page {code_page}"));
        }
    }

    let mut sections = BTreeSet::new();
    for check in chapter.checks_in_order() {
        let section = check.section;
        if !sections.insert((section.page, section.anchor)) {
            continue;
        }
        let file = section.page.replace(".md", ".html");
        let found = pages.iter().find(|page| page.file == file);
        if !found.is_some_and(|page| page.ids.contains(section.anchor)) {
            problems.push(format!(
                "check {} sends the reader to {}, which does not exist: add a heading \"{}\" to {}",
                check.test_name(),
                section.html(),
                section.title,
                section.page
            ));
        }
    }
    problems.extend(exercise_links_chapter(chapter, root));
    problems
}

/// The exercise's crate docs (`//!`) must link its chapter's page source.
fn exercise_links_chapter(chapter: &Chapter, root: &Path) -> Option<String> {
    let lib = root.join(format!("exercises/{}/src/lib.rs", chapter.slug));
    let chapter_source = format!("book/src/ch{}.md", chapter.slug);
    match std::fs::read_to_string(&lib) {
        Err(error) => Some(format!("cannot read {}: {error}", relative(&lib, root))),
        Ok(text) => {
            let header: Vec<&str> = text.lines().take_while(|line| line.starts_with("//!")).collect();
            let links = header.iter().any(|line| line.contains(&chapter_source));
            (!links).then(|| {
                format!("the crate docs (//!) of {} do not link {chapter_source}", relative(&lib, root))
            })
        }
    }
}

/// `path`, relative to the course's root where it is inside it.
fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
