//! No spoilers: the learner writes each function the exercise leaves open
//! before reading the solution's. On every rendered page (`print.html`
//! included), no run of [`RUN`] or more normalised lines of such a function
//! ([`crate::items`]) may appear in a code block outside a `<details>`
//! while the reader has not yet reached the chapter's walkthrough:
//!
//! - on any page before the chapter's page in the book's order (an earlier
//!   chapter, the transport landscape, …);
//! - on the chapter's page, before the heading that names the walkthrough;
//! - on the chapter's solution page (`code/solNN-*.html`), anywhere: a
//!   reader may land there first, so its files are folded too.
//!
//! Lines the exercise itself contains spoil nothing (the learner has them),
//! so a run that also appears in the exercise is not counted; nor does a
//! run of idiom too short to be an answer ([`MIN_ALPHANUMERIC`]).
//!
//! `print.html` holds every page in order; each `<h1>` there starts the
//! page whose title it is.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::items::{ChapterItems, Item, normalise, substantive};
use crate::visit::Page;

/// The fewest consecutive lines that make a spoiler.
pub const RUN: usize = 3;

/// The fewest letters and digits [`RUN`] lines must hold between them to
/// count. Below it they are an idiom any code of that shape has, not an
/// answer: `loop {` / `tokio::select! {` / `biased;` holds 21.
pub const MIN_ALPHANUMERIC: usize = 30;

/// A run of a learner function's lines, shown unfolded too early.
#[derive(Debug)]
pub struct Spoiler {
    /// The rendered page, e.g. `ch03-handshake.html` or `print.html`.
    pub page: String,
    /// The page and heading the code block sits under, e.g.
    /// `ch03-handshake.html, "Computing Sec-WebSocket-Accept"`.
    pub place: String,
    pub item: Item,
    /// The lines shown, normalised.
    pub lines: Vec<String>,
}

impl std::fmt::Display for Spoiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} shows {} line(s) of {} ({}; {}) unfolded, under {}:",
            self.page,
            self.lines.len(),
            self.item.name,
            self.item.file,
            self.item.why,
            self.place
        )?;
        for line in &self.lines {
            writeln!(f, "          | {line}")?;
        }
        write!(f, "        fold it (<details>) in the walkthrough, or teach the idea with other code")
    }
}

/// The book's shape the rule needs.
#[derive(Debug)]
pub struct Book {
    /// The pages in reading order (SUMMARY.md's links), e.g. `ch01-http.html`.
    pub order: Vec<String>,
    /// Each chapter's page and solution page, by chapter number.
    pub chapters: BTreeMap<u8, (String, String)>,
}

/// Finds every spoiler on `pages`.
pub fn find(pages: &[Page], book: &Book, learner: &[ChapterItems]) -> Vec<Spoiler> {
    let items: Vec<&Item> = learner.iter().flat_map(|chapter| &chapter.items).collect();
    let index = Index::new(&items, learner);
    let titles: HashMap<&str, &str> = pages
        .iter()
        .filter(|p| !p.title.is_empty() && p.file != "print.html" && p.file != "index.html")
        .map(|p| (p.title.as_str(), p.file.as_str()))
        .collect();
    let position = |file: &str| {
        let file = if file == "index.html" { book.order.first().map_or(file, String::as_str) } else { file };
        book.order.iter().position(|f| f == file)
    };
    let mut spoilers = Vec::new();
    for page in pages {
        let mut current = page.file.clone();
        let mut walkthrough_seen = false;
        let mut heading = String::new();
        for block in &page.blocks {
            if block.kind != "pre" {
                if block.kind == "h1" && page.file == "print.html" {
                    if let Some(file) = titles.get(block.text.as_str()) {
                        current = (*file).to_owned();
                        walkthrough_seen = false;
                    }
                }
                if block.text.to_lowercase().contains("walkthrough") {
                    walkthrough_seen = true;
                }
                heading = block.text.clone();
                continue;
            }
            if block.folded {
                continue;
            }
            let at = position(&current);
            let open = |chapter: u8| {
                let Some((chapter_page, solution_page)) = book.chapters.get(&chapter) else { return true };
                if current == *solution_page {
                    return true;
                }
                if current == *chapter_page {
                    return !walkthrough_seen;
                }
                match (at, position(chapter_page)) {
                    (Some(at), Some(chapter_at)) => at < chapter_at,
                    // A page outside the book's order (404, print's
                    // preamble): every chapter is still ahead.
                    (None, _) => true,
                    (Some(_), None) => false,
                }
            };
            let place = if current == page.file {
                format!("{heading:?}")
            } else {
                format!("{current}'s {heading:?}")
            };
            for (item, lines) in index.runs(&block.text) {
                if open(item.chapter) {
                    spoilers.push(Spoiler {
                        page: page.file.clone(),
                        place: place.clone(),
                        item: item.clone(),
                        lines,
                    });
                }
            }
        }
    }
    spoilers
}

/// How many letters and digits `lines` hold.
fn substance(lines: &[String]) -> usize {
    lines.iter().flat_map(|line| line.chars()).filter(|c| c.is_alphanumeric()).count()
}

/// The files a solution page (`code/sol…`) shows unfolded: each file sits
/// under its own `##` heading and must be inside a `<details>`.
pub fn unfolded_solution_files(pages: &[Page]) -> Vec<String> {
    let mut found = Vec::new();
    for page in pages.iter().filter(|page| page.file.starts_with("code/sol")) {
        let mut heading: Option<&str> = None;
        for block in &page.blocks {
            match block.kind.as_str() {
                "h2" => heading = Some(&block.text),
                "pre" if !block.folded => {
                    if let Some(file) = heading {
                        found.push(format!("{} shows {file} unfolded: put it in a <details>", page.file));
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// Every run of [`RUN`] lines of a learner function, to the functions that have it.
struct Index<'a> {
    items: Vec<&'a Item>,
    windows: HashMap<Vec<String>, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(items: &[&'a Item], learner: &[ChapterItems]) -> Index<'a> {
        // What the reader of each chapter already has: its exercise, and
        // every earlier chapter's exercise and solution. Per chapter: the
        // solved copy of chapter 3's code in exercise 4 is no excuse for
        // chapter 3 to show it.
        let given: HashMap<u8, HashSet<&[String]>> = learner
            .iter()
            .map(|chapter| {
                let earlier = learner.iter().filter(|other| other.chapter < chapter.chapter);
                let files = chapter.exercise_files.iter().chain(
                    earlier.flat_map(|other| other.exercise_files.iter().chain(&other.solution_files)),
                );
                (chapter.chapter, files.flat_map(|lines| lines.windows(RUN)).collect())
            })
            .collect();
        let mut windows: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
        for (at, item) in items.iter().enumerate() {
            for window in item.lines.windows(RUN).filter(|window| substance(window) >= MIN_ALPHANUMERIC) {
                if !given.get(&item.chapter).is_some_and(|given| given.contains(window)) {
                    let owners = windows.entry(window.to_vec()).or_default();
                    if !owners.contains(&at) {
                        owners.push(at);
                    }
                }
            }
        }
        Index { items: items.to_vec(), windows }
    }

    /// The learner functions `code` shows runs of, each with the lines of
    /// its longest run (consecutive windows joined).
    fn runs(&self, code: &str) -> Vec<(&'a Item, Vec<String>)> {
        let lines = substantive(&normalise(code));
        // For each function: the window starts that match, in order.
        let mut starts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (start, window) in lines.windows(RUN).enumerate() {
            for &owner in self.windows.get(window).into_iter().flatten() {
                starts.entry(owner).or_default().push(start);
            }
        }
        let mut found = Vec::new();
        for (owner, starts) in starts {
            let mut runs: Vec<(usize, usize)> = Vec::new(); // [first, last line]
            for start in starts {
                match runs.last_mut() {
                    Some((_, last)) if start <= *last + 1 => *last = start + RUN - 1,
                    _ => runs.push((start, start + RUN - 1)),
                }
            }
            let (first, last) =
                runs.into_iter().max_by_key(|(first, last)| last - first).expect("one match at least");
            found.push((self.items[owner], lines[first..=last].to_vec()));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Why;
    use crate::visit::Block;

    fn item(chapter: u8, code: &str) -> Item {
        Item {
            chapter,
            file: "solutions/03-handshake/src/accept.rs".into(),
            name: "accept_key".into(),
            why: Why::Todo,
            lines: substantive(&normalise(code)),
        }
    }

    const SOLUTION: &str = "pub fn accept_key(key: &str) -> String {\n    let mut sha = Sha1::new();\n    \
                            sha.update(key);\n    sha.update(GUID);\n    STANDARD.encode(sha.finalize())\n}\n";

    fn page(file: &str, blocks: &[(&str, &str, bool)]) -> Page {
        let mut page = Page::failed(file, String::new());
        page.problems.clear();
        page.title = blocks.iter().find(|b| b.0 == "h1").map(|b| b.1.to_owned()).unwrap_or_default();
        page.blocks = blocks
            .iter()
            .map(|(kind, text, folded)| Block { kind: (*kind).into(), text: (*text).into(), folded: *folded })
            .collect();
        page
    }

    fn book() -> Book {
        Book {
            order: vec![
                "ch01-http.html".into(),
                "ch03-handshake.html".into(),
                "code/sol03-handshake.html".into(),
                "ch04-frames.html".into(),
            ],
            chapters: BTreeMap::from([(
                3,
                ("ch03-handshake.html".into(), "code/sol03-handshake.html".into()),
            )]),
        }
    }

    fn learner(exercise: &str) -> Vec<ChapterItems> {
        vec![ChapterItems {
            chapter: 3,
            items: vec![item(3, SOLUTION)],
            exercise_files: vec![substantive(&normalise(exercise))],
            solution_files: Vec::new(),
        }]
    }

    /// Reformatted, with comments: still the same lines.
    const SHOWN: &str =
        "// Compute it:\nlet mut sha  =  Sha1::new();\nsha.update(key); // the key\n\nsha.update(GUID);\n";

    #[test]
    fn a_run_before_the_walkthrough_is_a_spoiler_and_after_it_is_not() {
        let pages = [page(
            "ch03-handshake.html",
            &[
                ("h1", "Handshake", false),
                ("h2", "Accept", false),
                ("pre", SHOWN, false),
                ("h2", "Walkthrough of the solution", false),
                ("pre", SHOWN, false),
            ],
        )];
        let found = find(&pages, &book(), &learner(""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].lines.len(), 3);
        assert_eq!(found[0].place, "\"Accept\"");
    }

    #[test]
    fn folded_code_exercise_lines_and_two_lines_are_no_spoiler() {
        let two = "let mut sha = Sha1::new();\nsha.update(key);\n";
        let pages = [page(
            "ch03-handshake.html",
            &[("h1", "Handshake", false), ("pre", SHOWN, true), ("pre", two, false)],
        )];
        assert!(find(&pages, &book(), &learner("")).is_empty());
        let pages = [page("ch03-handshake.html", &[("h1", "Handshake", false), ("pre", SHOWN, false)])];
        assert!(find(&pages, &book(), &learner(SHOWN)).is_empty(), "the exercise has these lines");
    }

    #[test]
    fn earlier_pages_and_the_solution_page_count_and_later_ones_do_not() {
        let shown = |file: &str| page(file, &[("h1", file, false), ("pre", SHOWN, false)]);
        assert_eq!(find(&[shown("ch01-http.html")], &book(), &learner("")).len(), 1);
        assert_eq!(find(&[shown("code/sol03-handshake.html")], &book(), &learner("")).len(), 1);
        assert!(find(&[shown("ch04-frames.html")], &book(), &learner("")).is_empty());
    }

    #[test]
    fn three_lines_of_idiom_are_no_spoiler() {
        let solution = "fn run() {\n    loop {\n        tokio::select! {\n            biased;\n            \
                        line = input.next() => handle(line),\n        }\n    }\n}\n";
        let mut learner = learner("");
        learner[0].items = vec![item(3, solution)];
        let idiom = "loop {\n    tokio::select! {\n        biased;\n        _ = tick.tick() => nudge(),\n";
        let pages = [page("ch03-handshake.html", &[("h1", "Handshake", false), ("pre", idiom, false)])];
        assert!(find(&pages, &book(), &learner).is_empty());
        let answer =
            "loop {\n    tokio::select! {\n        biased;\n        line = input.next() => handle(line),\n";
        let pages = [page("ch03-handshake.html", &[("h1", "Handshake", false), ("pre", answer, false)])];
        assert_eq!(find(&pages, &book(), &learner).len(), 1);
    }

    #[test]
    fn a_solution_page_folds_every_file() {
        let shown = page(
            "code/sol03-handshake.html",
            &[
                ("h1", "Solution", false),
                ("pre", "cargo test", false),
                ("h2", "src/a.rs", false),
                ("pre", "fn a() {}", true),
            ],
        );
        assert!(unfolded_solution_files(&[shown]).is_empty());
        let unfolded =
            page("code/sol03-handshake.html", &[("h2", "src/a.rs", false), ("pre", "fn a() {}", false)]);
        assert_eq!(unfolded_solution_files(&[unfolded]).len(), 1);
    }

    #[test]
    fn print_html_follows_the_pages_by_their_titles() {
        let pages = [
            page("ch03-handshake.html", &[("h1", "Handshake", false)]),
            page("ch04-frames.html", &[("h1", "Frames", false)]),
            page(
                "print.html",
                &[
                    ("h1", "Handshake", false),
                    ("h2", "Walkthrough", false),
                    ("pre", SHOWN, false),
                    ("h1", "Frames", false),
                    ("pre", SHOWN, false),
                ],
            ),
        ];
        assert!(find(&pages, &book(), &learner("")).is_empty());
        let pages = [
            page("ch03-handshake.html", &[("h1", "Handshake", false)]),
            page("print.html", &[("h1", "Handshake", false), ("pre", SHOWN, false)]),
        ];
        let found = find(&pages, &book(), &learner(""));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].page, "print.html");
    }
}
