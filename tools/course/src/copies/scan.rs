//! Finding copies: runs of identical code lines in two different crates.
//!
//! Every source file of every exercise and solution is reduced to its code
//! lines — trimmed, without blank lines, comments or mdBook anchors, so a
//! copy that was re-indented or re-commented is still found — and every run
//! of at least [`MIN_LINES`] such lines that two crates share is reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{Context, Result};

use super::regions::is_anchor;

/// The shortest shared run that counts as a copy, in code lines. Shorter
/// runs are the language's idioms (`#[tokio::main]`, a `match` arm or two),
/// not a copy worth listing.
pub const MIN_LINES: usize = 8;

/// The kinds of file scanned.
const EXTENSIONS: [&str; 4] = ["rs", "js", "css", "html"];

/// One file's code lines.
#[derive(Debug)]
pub struct Code {
    /// The path from the course's root.
    pub file: String,
    /// `exercises/05-presence`: copies inside one crate are not the concern.
    pub krate: String,
    /// (line number, trimmed text) of each code line.
    pub lines: Vec<(usize, String)>,
}

/// The source files of every exercise and solution, read and reduced.
pub fn course_code(root: &Path) -> Result<Vec<Code>> {
    let mut files = BTreeSet::new();
    for top in ["exercises", "solutions"] {
        walk(root, &root.join(top), &mut files)?;
    }
    files
        .into_iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(root.join(&file)).with_context(|| format!("reading {file}"))?;
            Ok(Code { lines: code_lines(&text), krate: crate_of(&file), file })
        })
        .collect()
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeSet<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry.context("reading a folder")?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                walk(root, &path, files)?;
            }
        } else if path.extension().is_some_and(|ext| EXTENSIONS.iter().any(|known| ext == *known)) {
            let relative = path.strip_prefix(root).expect("walked from the root");
            files.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// `exercises/05-presence` for `exercises/05-presence/src/lib.rs`.
pub fn crate_of(file: &str) -> String {
    file.splitn(3, '/').take(2).collect::<Vec<_>>().join("/")
}

/// The lines that are code: not blank, not a comment, not an anchor.
pub fn code_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !is_anchor(line) && !is_comment(line))
        .map(|(number, line)| (number, line.to_owned()))
        .collect()
}

fn is_comment(line: &str) -> bool {
    ["//", "/*", "*", "<!--"].iter().any(|start| line.starts_with(start))
}

/// A run of code lines that two files in different crates share: the
/// numbers of its lines in each, pairwise.
#[derive(Debug)]
pub struct Run {
    pub a: usize,
    pub b: usize,
    pub lines: Vec<(usize, usize)>,
}

/// Every maximal run of at least `min` identical code lines shared by two
/// files of different crates.
pub fn shared_runs(code: &[Code], min: usize) -> Vec<Run> {
    let mut windows: HashMap<Vec<&str>, Vec<(usize, usize)>> = HashMap::new();
    for (file, each) in code.iter().enumerate() {
        let texts: Vec<&str> = each.lines.iter().map(|(_, text)| text.as_str()).collect();
        for (at, window) in texts.windows(min).enumerate() {
            windows.entry(window.to_vec()).or_default().push((file, at));
        }
    }
    // Starts of shared windows, per pair of files and diagonal (offset).
    let mut starts: BTreeMap<(usize, usize, isize), BTreeSet<usize>> = BTreeMap::new();
    for places in windows.values().filter(|places| places.len() > 1) {
        for (i, &(a, at_a)) in places.iter().enumerate() {
            for &(b, at_b) in &places[i + 1..] {
                if code[a].krate == code[b].krate {
                    continue;
                }
                let ((a, at_a), (b, at_b)) =
                    if a < b { ((a, at_a), (b, at_b)) } else { ((b, at_b), (a, at_a)) };
                let offset = at_b as isize - at_a as isize;
                starts.entry((a, b, offset)).or_default().insert(at_a);
            }
        }
    }
    let mut runs = Vec::new();
    for ((a, b, offset), starts) in starts {
        let mut starts = starts.into_iter().peekable();
        while let Some(first) = starts.next() {
            let mut last = first;
            while starts.next_if_eq(&(last + 1)).is_some() {
                last += 1;
            }
            let lines = (first..last + min)
                .map(|at_a| {
                    let at_b = (at_a as isize + offset) as usize;
                    (code[a].lines[at_a].0, code[b].lines[at_b].0)
                })
                .collect();
            runs.push(Run { a, b, lines });
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(file: &str, text: &str) -> Code {
        Code { file: file.to_owned(), krate: crate_of(file), lines: code_lines(text) }
    }

    #[test]
    fn comments_blank_lines_anchors_and_indentation_do_not_hide_a_copy() {
        let shared: String = (1..=10).map(|i| format!("let x{i} = {i};\n")).collect();
        let indented: String = shared.lines().map(|line| format!("        {line}\n// noise\n\n")).collect();
        let files = [
            code("solutions/a/src/lib.rs", &format!("fn a() {{\n{shared}}}\n")),
            code("solutions/b/src/lib.rs", &format!("// ANCHOR: x\nfn b() {{\n{indented}}}\n")),
            code("solutions/a/src/other.rs", &shared),
        ];
        let runs = shared_runs(&files, MIN_LINES);
        // a/lib.rs and a/other.rs are one crate: only the copies in b count.
        assert_eq!(runs.len(), 2, "{runs:?}");
        let run = runs.iter().find(|run| run.a == 0 && run.b == 1).expect("a/lib.rs ~ b/lib.rs");
        assert_eq!(run.lines.len(), 11, "ten lets and the closing brace: {run:?}");
        assert_eq!(run.lines[0], (2, 3));
    }

    #[test]
    fn runs_shorter_than_the_minimum_are_idioms_not_copies() {
        let shared: String = (1..MIN_LINES).map(|i| format!("let x{i} = {i};\n")).collect();
        let files = [code("solutions/a/src/lib.rs", &shared), code("solutions/b/src/lib.rs", &shared)];
        assert!(shared_runs(&files, MIN_LINES).is_empty());
    }
}
