//! `cargo course dev copies`: the copies the course keeps on purpose stay
//! copies, and no other copy goes unnoticed.
//!
//! Every chapter's crate reads end to end on its own, so a later chapter
//! carries code an earlier one taught (chapter 3's handshake in chapter 4),
//! and each stub carries the parts that are not the exercise. Each such copy
//! is listed in `tools/copies.toml` ([`manifest`]); this command proves
//! - every listed copy is identical in every place it is listed (mdBook
//!   `ANCHOR` lines aside), or names both places and the first line that
//!   differs;
//! - no run of [`scan::MIN_LINES`] or more identical code lines is shared
//!   by two crates without being listed ([`scan`]);
//! - `.cargo/mutants.toml` excludes exactly the later copies ([`mutants`]).

mod manifest;
mod mutants;
mod regions;
mod scan;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::term::{BAD, DIM, GOOD, NOTE, paint};
use manifest::{Manifest, Place, Sources};

/// An unlisted copy: two files and their shared line numbers, pairwise.
type Unlisted = (String, String, Vec<(usize, usize)>);

/// What the check found.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    notes: Vec<String>,
    unlisted: Vec<Unlisted>,
    regions: usize,
    places: usize,
    differs: usize,
    /// Lines in a listed place, and those of them in a copy (not the original).
    listed_lines: usize,
    copied_lines: usize,
    total_lines: usize,
}

/// Checks the copies under `root`; `write` rewrites `.cargo/mutants.toml`'s
/// generated exclusions instead of reporting them as out of date.
pub fn run(root: &Path, write: bool) -> Result<ExitCode> {
    let report = check(root, write)?;
    for note in &report.notes {
        anstream::println!("{} {note}", paint(NOTE, "note:"));
    }
    for problem in &report.problems {
        anstream::println!("{} {problem}", paint(BAD, "✗"));
    }
    let share = 100.0 * report.copied_lines as f64 / report.total_lines.max(1) as f64;
    anstream::println!(
        "{}",
        paint(
            DIM,
            format!(
                "{} listed copies in {} places: {} of the {} lines in exercises/ and solutions/ are in a listed \
                 place, {} ({share:.0}%) in a copy of a listed original; {} listed region(s) may differ",
                report.regions,
                report.places,
                report.listed_lines,
                report.total_lines,
                report.copied_lines,
                report.differs
            )
        )
    );
    if report.problems.is_empty() {
        anstream::println!(
            "{} every listed copy is identical, no copy of {}+ code lines is unlisted, and {} follows the list",
            paint(GOOD, "copies:"),
            scan::MIN_LINES,
            mutants::PATH
        );
        Ok(ExitCode::SUCCESS)
    } else {
        anstream::println!("{} {} problem(s)", paint(BAD, "copies:"), report.problems.len());
        Ok(ExitCode::FAILURE)
    }
}

fn check(root: &Path, write: bool) -> Result<Report> {
    let manifest = Manifest::read(root)?;
    let mut sources = Sources::new(root);
    let mut same = Same::default();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let (mut regions, mut places) = (0, 0);
    let (mut listed, mut copied) = (BTreeSet::new(), BTreeSet::new());

    for (index, entry) in manifest.copy.iter().enumerate() {
        for (item, region) in entry.regions(&mut sources).into_iter().enumerate() {
            let region = match region {
                Ok(region) => region,
                Err(error) => {
                    problems.push(format!("listed copy \"{}\": {error:#}", entry.what));
                    continue;
                }
            };
            regions += 1;
            places += region.len();
            let (original, copies) = region.split_first().expect("a manifest entry has two files or more");
            listed.extend(original.lines.iter().map(|(n, _)| (original.file, *n)));
            for copy in copies {
                listed.extend(copy.lines.iter().map(|(n, _)| (copy.file, *n)));
                copied.extend(copy.lines.iter().map(|(n, _)| (copy.file, *n)));
                match first_difference(original, copy, &mut sources) {
                    Some(difference) => {
                        problems.push(format!("drifted copy: {}\n{difference}", entry.what));
                        // Reported once: the rest of it is not also an unlisted copy.
                        same.group(Key::Drifted(index, item), [original, copy]);
                    }
                    None => same.align(original, copy),
                }
            }
        }
    }
    for (index, entry) in manifest.differs.iter().enumerate() {
        for (item, region) in entry.regions(&mut sources).into_iter().enumerate() {
            let region = match region {
                Ok(region) => region,
                Err(error) => {
                    problems.push(format!("[[differs]] \"{}\": {error:#}", entry.what));
                    continue;
                }
            };
            same.group(Key::Differs(index, item), &region);
            let (first, others) = region.split_first().expect("a manifest entry has two files or more");
            if others.iter().all(|other| first_difference(first, other, &mut sources).is_none()) {
                notes.push(format!(
                    "{} is identical everywhere now: make it a [[copy]] (\"{}\")",
                    first.at(None),
                    entry.what
                ));
            }
        }
    }

    let code = scan::course_code(root)?;
    let total_lines: usize =
        code.iter().map(|file| sources.get(&file.file).map_or(0, |s| s.lines().count())).sum();
    let mut unlisted = Vec::new();
    for run in scan::shared_runs(&code, scan::MIN_LINES) {
        let (a, b) = (&code[run.a].file, &code[run.b].file);
        let covered: Vec<bool> = run.lines.iter().map(|&(la, lb)| same.same(a, la, b, lb)).collect();
        for stretch in covered.split(|covered| *covered).filter(|s| s.len() >= scan::MIN_LINES) {
            let start = stretch.as_ptr() as usize - covered.as_ptr() as usize;
            let lines = &run.lines[start..start + stretch.len()];
            let (first, last) = (lines[0], lines[lines.len() - 1]);
            unlisted.push((a.clone(), b.clone(), lines.to_vec()));
            let text = code[run.a].lines.iter().find(|(n, _)| *n == first.0).map_or("", |(_, t)| t.as_str());
            problems.push(format!(
                "unlisted copy: {} identical code lines in two crates\n    {a}:{}-{}{}\n    {b}:{}-{}{}\n    \
                 first line: `{text}`\n  list it in tools/copies.toml ([[copy]], or [[differs]] if it may differ)",
                lines.len(),
                first.0,
                last.0,
                in_item(&mut sources, a, first.0),
                first.1,
                last.1,
                in_item(&mut sources, b, first.1),
            ));
        }
    }

    if let Some(problem) = mutants::check(root, &manifest, &mut sources, write)? {
        problems.push(problem);
    }
    let differs = manifest.differs.iter().map(|entry| entry.items.len().max(1)).sum();
    let (listed_lines, copied_lines) = (listed.len(), copied.len());
    Ok(Report {
        problems,
        notes,
        unlisted,
        regions,
        places,
        differs,
        listed_lines,
        copied_lines,
        total_lines,
    })
}

/// Where `copy` first differs from `original`, naming both places, or `None`.
fn first_difference(original: &Place<'_>, copy: &Place<'_>, sources: &mut Sources<'_>) -> Option<String> {
    let mut pairs =
        original.lines.iter().map(Some).chain([None]).zip(copy.lines.iter().map(Some).chain([None]));
    let (want, have) = pairs.find(|(want, have)| want.map(|(_, t)| t) != have.map(|(_, t)| t))?;
    let mut show = |place: &Place<'_>, line: Option<&(usize, String)>| {
        let number = line.or(place.lines.last()).map(|(n, _)| *n);
        // In a whole file, say which item the line is in.
        let item = match (place.item, number) {
            (None, Some(number)) if place.file.ends_with(".rs") => in_item(sources, place.file, number),
            _ => String::new(),
        };
        let text = line.map_or("(its end: the other place goes on)", |(_, text)| text.as_str());
        format!("    {}{item}: {text}", place.at(number))
    };
    let first = show(original, want);
    Some(format!("{first}\n{}", show(copy, have)))
}

/// ` (in Rooms::join)`: the innermost item of a Rust file around `line`.
fn in_item(sources: &mut Sources<'_>, file: &str, line: usize) -> String {
    let Ok(items) = sources.items(file) else { return String::new() };
    let inner = items
        .iter()
        .filter_map(|(name, item)| Some((name, &item.as_ref()?.lines)))
        .filter(|(_, lines)| lines.contains(&line))
        .min_by_key(|(_, lines)| lines.end() - lines.start());
    inner.map(|(name, _)| format!(" (in `{name}`)")).unwrap_or_default()
}

/// A node of [`Same`]: a line of a file, a `[[differs]]` region, or a
/// listed copy that drifted (entry, item).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Line(String, usize),
    Differs(usize, usize),
    Drifted(usize, usize),
}

/// Which lines the manifest accounts for as the same line (union-find):
/// the lines of two places of a copy pairwise, transitively (chapter 5's
/// stub → its solution → chapter 6), and every line of a `[[differs]]`
/// region with every other.
#[derive(Debug, Default)]
struct Same {
    ids: HashMap<Key, usize>,
    parent: Vec<usize>,
}

impl Same {
    fn id(&mut self, key: Key) -> usize {
        let next = self.parent.len();
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            self.parent.push(id);
        }
        id
    }

    fn root(&mut self, mut id: usize) -> usize {
        while self.parent[id] != id {
            self.parent[id] = self.parent[self.parent[id]];
            id = self.parent[id];
        }
        id
    }

    fn union(&mut self, a: Key, b: Key) {
        let (a, b) = (self.id(a), self.id(b));
        let (a, b) = (self.root(a), self.root(b));
        self.parent[a] = b;
    }

    fn align(&mut self, original: &Place<'_>, copy: &Place<'_>) {
        for ((a, _), (b, _)) in original.lines.iter().zip(&copy.lines) {
            self.union(Key::Line(original.file.to_owned(), *a), Key::Line(copy.file.to_owned(), *b));
        }
    }

    fn group<'p>(&mut self, key: Key, region: impl IntoIterator<Item = &'p Place<'p>>) {
        for place in region {
            for (line, _) in &place.lines {
                self.union(key.clone(), Key::Line(place.file.to_owned(), *line));
            }
        }
    }

    fn same(&mut self, a: &str, la: usize, b: &str, lb: usize) -> bool {
        let (Some(&a), Some(&b)) =
            (self.ids.get(&Key::Line(a.to_owned(), la)), self.ids.get(&Key::Line(b.to_owned(), lb)))
        else {
            return false;
        };
        self.root(a) == self.root(b)
    }
}

/// Prints manifest entries that would list today's unlisted copies, as TOML
/// to start from (then merge, trim and say what each is):
/// `cargo course dev copies --suggest`. For each item around an unlisted
/// copy, it finds every crate where that item is identical.
pub fn suggest(root: &Path) -> Result<ExitCode> {
    let report = check(root, false)?;
    let manifest = Manifest::read(root)?;
    let mut sources = Sources::new(root);
    let mut names = BTreeSet::new();
    for (a, b, lines) in &report.unlisted {
        for (file, line) in lines.iter().flat_map(|&(la, lb)| [(a, la), (b, lb)]) {
            names.extend(innermost_item(&mut sources, file, line));
        }
    }
    let code = scan::course_code(root)?;
    let rust: Vec<&str> = code.iter().map(|file| file.file.as_str()).filter(|f| f.ends_with(".rs")).collect();
    // (files where the item is identical) → items
    let mut entries: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for name in names {
        let mut by_text: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for file in &rust {
            let Ok(item) = sources.item(file, &name) else { continue };
            let Ok(source) = sources.get(file) else { continue };
            let text =
                regions::compared_lines(source, item.lines).into_iter().map(|(_, t)| t.to_owned()).collect();
            by_text.entry(text).or_default().push((*file).to_owned());
        }
        for mut files in by_text.into_values() {
            let crates: BTreeSet<String> = files.iter().map(|file| scan::crate_of(file)).collect();
            let listed = manifest.copy.iter().any(|entry| {
                entry.items.contains(&name) && files.iter().all(|file| entry.files.contains(file))
            });
            if crates.len() > 1 && !listed {
                files.sort_by_key(|file| (!file.starts_with("solutions/"), file.clone()));
                entries.entry(files).or_default().push(name.clone());
            }
        }
    }
    for (files, items) in entries {
        println!("[[copy]]\nwhat = \"\"\nfiles = {files:?}\nitems = {items:?}\n");
    }
    // What is alike but not identical: the items around each unlisted copy
    // whose text differs (or whole files, when the items don't match up).
    let mut differs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (a, b, lines) in &report.unlisted {
        let mut names = BTreeSet::new();
        for &(la, lb) in lines {
            names.extend(innermost_item(&mut sources, a, la));
            names.extend(innermost_item(&mut sources, b, lb));
        }
        let items = differs.entry((a.clone(), b.clone())).or_default();
        for name in names {
            let text = |sources: &mut Sources<'_>, file: &str| -> Option<Vec<String>> {
                let item = sources.item(file, &name).ok()?;
                let source = sources.get(file).ok()?;
                Some(
                    regions::compared_lines(source, item.lines)
                        .into_iter()
                        .map(|(_, t)| t.to_owned())
                        .collect(),
                )
            };
            match (text(&mut sources, a), text(&mut sources, b)) {
                (Some(x), Some(y)) if x == y => {}
                (Some(_), Some(_)) => {
                    items.insert(name);
                }
                _ => {
                    items.insert("(whole files: the items differ)".to_owned());
                }
            }
        }
    }
    for ((a, b), items) in differs.into_iter().filter(|(_, items)| !items.is_empty()) {
        println!("[[differs]]\nwhat = \"\"\nfiles = [{a:?}, {b:?}]\nitems = {items:?}\n");
    }
    Ok(ExitCode::SUCCESS)
}

/// The innermost item of a Rust file around `line` that is not a whole
/// `impl` block or module.
fn innermost_item(sources: &mut Sources<'_>, file: &str, line: usize) -> Option<String> {
    let items = sources.items(file).ok()?;
    items
        .iter()
        .filter_map(|(name, item)| Some((name.clone(), item.clone()?.lines)))
        .filter(|(name, lines)| lines.contains(&line) && !name.starts_with("impl ") && name != "tests")
        .min_by_key(|(_, lines)| lines.end() - lines.start())
        .map(|(name, _)| name)
}
