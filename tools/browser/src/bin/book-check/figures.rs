//! One source for figures: a measured figure is never typed into a page.
//!
//! Every figure the course *measured* (a latency, a throughput, memory per
//! connection, CPU per delivery, a build time) lives in one file per
//! comparison under `book/src/figures/`, written by the load tool's
//! measuring runs (`load compare --out`, `load wire --out`, driven by
//! `tools/load/compare.sh`) with its command, machine and date. Pages take
//! a figure from there with mdBook's `{{#include figures/fanout.md:ours-p99-delivery}}`,
//! so two pages can't disagree and a new run updates them all.
//!
//! The rule, on the Markdown sources (`book/src/*.md` and `README.md`):
//! a **number with a unit** of time (`ms`, `µs`, `seconds`, `minutes`…),
//! size (`bytes`, `KiB`, `MB`…), rate (`messages/s`) or a percentage,
//! written in digits (`95 ms`, `9.8 KiB`) or in words (`ten minutes`), is a
//! *measured* figure when its sentence claims a measurement: it says
//! `about`, `around`, `roughly`, `some`, `≈`, `~`, `measured`, `took`,
//! `takes`, `p50`, `p99`, `median`, `of CPU`, `costs`, `per connection`,
//! `a connection`, `per delivery` or `per message`, or gives a range
//! (`89.4–95.8`). Such a figure must come
//! from an include. Spec constants and settings ("control frames carry 125
//! bytes at most", "8 KiB of head", "a keep-alive every 15 s") make no such
//! claim and pass. Not checked: code blocks (they are transcripts of a
//! command's output, illustrating its format), inline code, HTML comments,
//! the `figures/` files themselves and the solution listings (`code/`).
//!
//! The README can't include: a measured figure there must read exactly as
//! one of the figures files' anchored figures does (or it fails, naming
//! the anchors whose unit matches).
//!
//! Two lists the lead can shrink: [`ALLOWED`], sentences whose approximate
//! figure is arithmetic or someone else's documented default, not a
//! measurement of ours; and [`EXEMPT_PAGES`], pages not yet migrated.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};

/// `(page, figures as written, why they are not measurements of ours)`.
pub const ALLOWED: &[(&str, &[&str], &str)] = &[
    (
        "ch01-http.md",
        &["1,822 bytes", "110 bytes"],
        "byte counts of this chapter's own server's response (deterministic; curl shows them): \
         candidates for a figures file once a load mode counts them",
    ),
    (
        "ch01-http.md",
        &[
            "1.9 KB",
            "500 bytes",
            "8-hour",
            "60 KB",
            "5.2 GB",
            "99.5%",
            "1.3 GB",
            "one millisecond",
            "100 bytes",
            "1 MB",
        ],
        "arithmetic from the stated assumptions (50 tabs polling a 30-task board every 2 s, 200 changes a day)",
    ),
    (
        "ch02-sse.md",
        &["15 minutes"],
        "Linux's default TCP retransmission time-out (net.ipv4.tcp_retries2 = 15)",
    ),
    (
        "ch02-sse.md",
        &["100 bytes", "14 bytes", "5.2 GB", "1 MB", "100 B", "40 MB", "15 s"],
        "arithmetic from chapter 1's assumptions; a keep-alive comment's size and period are the contract's",
    ),
    (
        "ch02-sse.md",
        &["64 KiB", "2 seconds"],
        "the check's title size and chapter 1's polling period (settings)",
    ),
    ("ch03-handshake.md", &["five seconds"], "the example server's setting: it closes after five seconds"),
    ("ch04-frames.md", &["Ten bytes", "1 bytes"], "RFC 6455 §5.2's frame header sizes"),
    ("ch04-frames.md", &["128 KiB"], "tungstenite's default read buffer (a setting)"),
    ("ch05-presence.md", &["200 ms", "10 s", "400 ms"], "the settings the checks start the server with"),
    ("ch05-presence.md", &["5-second", "5 seconds"], "TYPING_TTL_MS's default (a setting)"),
    ("ch05-presence.md", &["12 MiB"], "how much the check sends (a setting of the check)"),
    ("ch07-production.md", &["30 seconds"], "TICKET_TTL_MS's default (a setting)"),
    ("ch07-production.md", &["one byte"], "what a slowloris client sends (a description, not a measurement)"),
    ("browser-security.md", &["fifteen minutes"], "Linux's default TCP retransmission time-out"),
    (
        "transports.md",
        &["52 bytes", "22 bytes"],
        "TCP/IP header and TLS 1.3 AES-GCM record sizes (RFC 9293, RFC 8446), not measured",
    ),
    (
        "transports.md",
        &["2-byte", "6 bytes", "2 bytes", "126 bytes", "4-byte"],
        "RFC 6455 §5.2's frame header sizes",
    ),
    ("appendix-measuring.md", &["128 KiB", "2 KiB", "1 KiB"], "read buffer sizes (settings)"),
    ("appendix-measuring.md", &["8-byte"], "the size of a pointer (a Box in a channel slot)"),
    (
        "appendix-measuring.md",
        &["15%"],
        "a rule of thumb about run-to-run noise, not one comparison's result",
    ),
    (
        "appendix-measuring.md",
        &["0.5 ms", "128,000 messages/s"],
        "arithmetic: 64 connections ÷ 0.5 ms round trips",
    ),
    ("appendix-measuring.md", &["10 ms", "28 ms", "900 ms"], "an invented example of why averages mislead"),
];

/// Pages whose measured figures are not migrated yet: listed, not failed.
/// Empty now; a page goes here only while someone migrates it, and leaves
/// once it includes its figures.
pub const EXEMPT_PAGES: &[&str] = &[];

/// Words that make a sentence claim a measurement.
const CUES: &[&str] = &[
    "about",
    "around",
    "roughly",
    "some",
    "≈",
    "~",
    "measured",
    "took",
    "takes",
    "p50",
    "p99",
    "median",
    "of cpu",
    "costs",
    "per connection",
    "a connection",
    "per delivery",
    "per message",
];

/// Units of time, size, rate; the longest first, so `ms` isn't read as `m`.
const UNITS: &[&str] = &[
    "messages/s",
    "milliseconds",
    "millisecond",
    "microseconds",
    "microsecond",
    "seconds",
    "second",
    "minutes",
    "minute",
    "hours",
    "hour",
    "bytes",
    "byte",
    "KiB",
    "MiB",
    "GiB",
    "TiB",
    "KB",
    "kB",
    "MB",
    "GB",
    "ms",
    "µs",
    "us",
    "ns",
    "min",
    "s",
    "B",
    "%",
];

/// Numbers spelled out, as the book writes them.
const NUMBER_WORDS: &[&str] = &[
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "ninety",
    "hundred",
    "a hundred",
    "a thousand",
];

/// A measured figure typed into a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    pub page: String,
    pub line: usize,
    pub figure: String,
    pub sentence: String,
    /// For the README: the figures whose unit matches, none equal.
    pub candidates: Vec<String>,
}

impl fmt::Display for Typed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: the measured figure \"{}\" is typed in (\"{}\")",
            self.page, self.line, self.figure, self.sentence
        )?;
        if self.page == "README.md" {
            if self.candidates.is_empty() {
                write!(
                    f,
                    "; no figures file has it: add it to one under book/src/figures/ (written by the load tool)"
                )
            } else {
                write!(
                    f,
                    "; the figures files say {}: copy the figure from there",
                    self.candidates.join(", ")
                )
            }
        } else {
            write!(
                f,
                "; take it from the figures file of its comparison: {{{{#include figures/NAME.md:ANCHOR}}}} \
                 (book/src/figures/, written by `tools/load/compare.sh`), or, if it is not a measurement, \
                 add it to ALLOWED in tools/browser/src/bin/book-check/figures.rs with the reason"
            )
        }
    }
}

/// What the rule found: the problems, and the exempt pages' figures.
#[derive(Debug, Default)]
pub struct Found {
    pub typed: Vec<Typed>,
    pub exempt: Vec<Typed>,
    /// `(page, figure)` in [`ALLOWED`] that no page writes any more: the
    /// list can shrink.
    pub stale: Vec<(&'static str, &'static str)>,
}

/// Checks every page of `book/src` (not `figures/`, not `code/`) and the README.
pub fn check(root: &Path, book: &Path) -> Result<Found> {
    let src = book.join("src");
    let anchored = anchored_figures(&src.join("figures"))?;
    let mut found = Found::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages: Vec<_> = std::fs::read_dir(&src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    for path in pages {
        let name = path.file_name().expect("a file from read_dir has a name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        seen.extend(measured_figures(&name, &text).into_iter().map(|typed| (name.clone(), typed.figure)));
        for typed in typed_figures(&name, &text) {
            if EXEMPT_PAGES.contains(&name.as_str()) {
                found.exempt.push(typed);
            } else {
                found.typed.push(typed);
            }
        }
    }
    for (page, figures, _) in ALLOWED {
        for figure in *figures {
            if !seen.contains(&((*page).to_owned(), (*figure).to_owned())) {
                found.stale.push((page, figure));
            }
        }
    }
    let readme = root.join("README.md");
    let text = std::fs::read_to_string(&readme).with_context(|| format!("reading {}", readme.display()))?;
    for mut typed in typed_figures("README.md", &text) {
        let unit = unit_of(&typed.figure);
        let same = |value: &String| {
            figures_in(value).iter().any(|figure| figure.eq_ignore_ascii_case(&typed.figure))
        };
        if anchored.values().any(same) {
            continue;
        }
        typed.candidates = anchored
            .iter()
            .filter(|(_, value)| unit_of(value) == unit)
            .map(|(anchor, value)| format!("\"{value}\" ({anchor})"))
            .collect();
        found.typed.push(typed);
    }
    Ok(found)
}

/// `figures/x.md:anchor` → the figure between that anchor's markers, for
/// every one-line anchor in `dir`.
pub fn anchored_figures(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut figures = BTreeMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().expect("a file from read_dir has a name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let lines: Vec<&str> = text.lines().collect();
        for window in lines.windows(3) {
            let Some(anchor) = marker(window[0], "ANCHOR:") else { continue };
            if marker(window[2], "ANCHOR_END:") == Some(anchor) {
                figures.insert(format!("figures/{name}:{anchor}"), window[1].trim().to_owned());
            }
        }
    }
    Ok(figures)
}

/// The name in `<!-- ANCHOR: name -->`.
fn marker<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.split_once(word)?.1;
    rest.split_whitespace().next()
}

/// The unit of a figure as written (`95 ms` → `ms`), lowercased.
fn unit_of(figure: &str) -> String {
    figure.rsplit([' ', '\u{a0}', '-']).next().unwrap_or_default().to_lowercase()
}

/// The measured figures typed into one page's Markdown.
pub fn typed_figures(page: &str, text: &str) -> Vec<Typed> {
    measured_figures(page, text)
        .into_iter()
        .filter(|typed| {
            !ALLOWED.iter().any(|(p, allowed, _)| *p == page && allowed.contains(&typed.figure.as_str()))
        })
        .collect()
}

/// Every figure in a sentence that claims a measurement, allowed or not.
fn measured_figures(page: &str, text: &str) -> Vec<Typed> {
    let mut typed = Vec::new();
    for (line, sentence) in sentences(text) {
        let lower = sentence.to_lowercase();
        if !CUES.iter().any(|cue| has_word(&lower, cue)) && !has_range(&sentence) {
            continue;
        }
        for figure in figures_in(&sentence) {
            typed.push(Typed {
                page: page.to_owned(),
                line,
                figure,
                sentence: sentence.clone(),
                candidates: Vec::new(),
            });
        }
    }
    typed
}

/// Whether `text` gives a range of figures, `89.4–95.8` (an en dash
/// between digits): the spread of a measurement's rounds.
fn has_range(text: &str) -> bool {
    text.match_indices('–').any(|(at, dash)| {
        text[..at].ends_with(|c: char| c.is_ascii_digit())
            && text[at + dash.len()..].starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Whether `cue` occurs in `text` as a word (symbols anywhere).
fn has_word(text: &str, cue: &str) -> bool {
    if !cue.chars().any(char::is_alphanumeric) {
        return text.contains(cue);
    }
    text.match_indices(cue).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + cue.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `(first line, sentence)` for every sentence of prose: code blocks, inline
/// code, HTML comments and `{{#include}}`s left out; each heading, list
/// item and table row is a block of its own.
fn sentences(text: &str) -> Vec<(usize, String)> {
    // Each block: its text, and where in it each source line begins.
    let mut blocks: Vec<(Vec<(usize, usize)>, String)> = Vec::new();
    let (mut fence, mut comment, mut open) = (false, false, false);
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = !fence;
            open = false;
            continue;
        }
        if fence {
            continue;
        }
        let mut line = String::new();
        let mut rest = raw;
        loop {
            if comment {
                match rest.split_once("-->") {
                    Some((_, after)) => {
                        comment = false;
                        rest = after;
                    }
                    None => break,
                }
            } else {
                match rest.split_once("<!--") {
                    Some((before, after)) => {
                        line.push_str(before);
                        comment = true;
                        rest = after;
                    }
                    None => {
                        line.push_str(rest);
                        break;
                    }
                }
            }
        }
        let line = strip_code_and_includes(&line);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            open = false;
            continue;
        }
        let starts_block = trimmed.starts_with('#')
            || trimmed.starts_with('|')
            || trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed.split_once(". ").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()));
        if open && !starts_block {
            let block = blocks.last_mut().expect("an open block exists");
            block.1.push(' ');
            block.0.push((block.1.len(), index + 1));
            block.1.push_str(trimmed);
        } else {
            blocks.push((vec![(0, index + 1)], trimmed.to_owned()));
        }
        if trimmed.starts_with('|') {
            // A table row: each cell stands alone.
            let (lines, row) = blocks.pop().expect("the row was just pushed");
            for cell in row.split('|').filter(|cell| !cell.trim().is_empty()) {
                blocks.push((lines.clone(), cell.trim().to_owned()));
            }
        }
        open = !trimmed.starts_with('#') && !trimmed.starts_with('|');
    }
    // Sentences within blocks, each with the line it starts on.
    let mut sentences = Vec::new();
    for (lines, block) in blocks {
        let line_at = |offset: usize| {
            let start = offset + block[offset..].len() - block[offset..].trim_start().len();
            lines.iter().take_while(|(at, _)| *at <= start).last().map_or(0, |(_, line)| *line)
        };
        let mut start = 0;
        let bytes = block.as_bytes();
        for (at, _) in block.match_indices(['.', '?', '!']) {
            let next = bytes.get(at + 1);
            if next == Some(&b' ') && !block[..at].ends_with(|c: char| c.is_ascii_digit()) {
                sentences.push((line_at(start), block[start..=at].trim().to_owned()));
                start = at + 1;
            }
        }
        if start < block.len() && !block[start..].trim().is_empty() {
            sentences.push((line_at(start), block[start..].trim().to_owned()));
        }
    }
    sentences
}

/// The line with `` `inline code` `` and `{{#include …}}` removed.
fn strip_code_and_includes(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(['`', '{']) {
        out.push_str(&rest[..at]);
        let (open, close) = if rest[at..].starts_with("{{") { ("{{", "}}") } else { ("`", "`") };
        if rest[at..].starts_with('{') && open != "{{" {
            out.push('{');
            rest = &rest[at + 1..];
            continue;
        }
        let inner = &rest[at + open.len()..];
        match inner.find(close) {
            Some(end) => {
                out.push_str(" FIGURE ");
                rest = &inner[end + close.len()..];
            }
            None => {
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every number-with-a-unit in a sentence, as written (`95 ms`, `ten minutes`).
fn figures_in(sentence: &str) -> Vec<String> {
    let mut figures = Vec::new();
    let chars: Vec<(usize, char)> = sentence.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let boundary = i == 0 || !chars[i - 1].1.is_alphanumeric() && chars[i - 1].1 != '.';
        let mut number_end = None;
        if boundary && c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].1.is_ascii_digit()
                    || (matches!(chars[j].1, ',' | '.')
                        && chars.get(j + 1).is_some_and(|(_, next)| next.is_ascii_digit())))
            {
                j += 1;
            }
            number_end = Some(j);
        } else if boundary && c.is_alphabetic() {
            let lower = sentence[at..].to_lowercase();
            if let Some(word) = NUMBER_WORDS
                .iter()
                .filter(|word| {
                    lower.starts_with(*word) && !lower[word.len()..].starts_with(char::is_alphanumeric)
                })
                .max_by_key(|word| word.len())
            {
                number_end = Some(i + word.chars().count());
            }
        }
        let Some(end) = number_end else {
            i += 1;
            continue;
        };
        let after_number = chars.get(end).map_or(sentence.len(), |(at, _)| *at);
        let rest = &sentence[after_number..];
        let spaced = rest.trim_start_matches([' ', '\u{a0}', '-']);
        let unit = UNITS.iter().find(|unit| {
            spaced.starts_with(*unit)
                && (unit.as_bytes() == b"%" || !spaced[unit.len()..].starts_with(char::is_alphanumeric))
        });
        match unit {
            Some(unit) if !(spaced.len() == rest.len() && *unit != "%" && c.is_alphabetic()) => {
                let figure_end = after_number + (rest.len() - spaced.len()) + unit.len();
                figures.push(sentence[at..figure_end].replace('\u{a0}', " "));
                i = end;
            }
            _ => i = end.max(i + 1),
        }
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(text: &str) -> Vec<String> {
        typed_figures("page.md", text).into_iter().map(|typed| typed.figure).collect()
    }

    #[test]
    fn an_approximate_figure_with_a_unit_is_a_measurement() {
        assert_eq!(
            figures("An event reaches them within about 95 ms, with 13.1 µs of CPU each."),
            ["95 ms", "13.1 µs"]
        );
        assert_eq!(figures("It takes a while (about ten minutes on a two-core machine)."), ["ten minutes"]);
        assert_eq!(figures("Each costs ≈9.8 KiB."), ["9.8 KiB"]);
        assert_eq!(figures("| … p99 round trip | 0.93 ms (0.89–0.96) |"), ["0.93 ms"]);
        assert_eq!(figures("The same server costs 5.9 KiB a connection."), ["5.9 KiB"]);
        assert_eq!(
            figures("The p99 was 1.84 ms\nand 122,701 messages/s."),
            ["1.84 ms", "122,701 messages/s"]
        );
    }

    #[test]
    fn spec_constants_and_settings_are_not_measurements() {
        assert!(figures("Control frames carry 125 bytes at most.").is_empty());
        assert!(figures("This server reads at most 8 KiB of head.").is_empty());
        assert!(figures("A keep-alive every 200 ms instead of every 15 s.").is_empty());
        // A cue in another sentence does not count.
        assert!(figures("It is about time. A keep-alive every 15 s.").is_empty());
        // Nor one in another table cell.
        assert!(figures("| overhead (measured below) | a 2-byte header |").is_empty());
    }

    #[test]
    fn included_code_and_commented_figures_are_not_typed() {
        assert!(
            figures("The p99 is {{#include figures/fanout.md:ours-p99-delivery}} on two cores.").is_empty()
        );
        assert!(figures("```text\np99 about 95.8 ms\n```\n").is_empty());
        assert!(figures("Run `sleep 5s` for about a minute <!-- about 95 ms -->.").is_empty());
    }

    #[test]
    fn a_figure_reports_the_line_its_sentence_starts_on() {
        let typed = typed_figures("ch02-sse.md", "# Title\n\nFirst.\nIt took\nabout 95 ms.\n");
        assert_eq!(typed.len(), 1);
        assert_eq!((typed[0].line, typed[0].figure.as_str()), (4, "95 ms"));
    }

    #[test]
    fn the_allow_list_lets_a_documented_default_through() {
        let text = "A dead peer is found after about 15 minutes with Linux's defaults.";
        assert!(typed_figures("ch02-sse.md", text).is_empty());
        assert_eq!(typed_figures("ch01-http.md", text).len(), 1);
    }

    #[test]
    fn the_readme_must_quote_a_figure_as_the_figures_file_has_it() {
        let root = std::env::temp_dir().join(format!("book-check-figures-{}", std::process::id()));
        let figures = root.join("book/src/figures");
        std::fs::create_dir_all(&figures).expect("a scratch folder");
        std::fs::write(
            figures.join("setup.md"),
            "<!-- ANCHOR: book-install -->\nabout ten minutes\n<!-- ANCHOR_END: book-install -->\n",
        )
        .expect("writing the figures file");
        std::fs::write(
            root.join("book/src/ch00.md"),
            "It takes {{#include figures/setup.md:book-install}}.\n",
        )
        .expect("writing a page");
        let readme = |text: &str| {
            std::fs::write(root.join("README.md"), text).expect("writing the README");
            check(&root, &root.join("book")).expect("checking").typed
        };
        assert!(readme("Installing takes about ten minutes.\n").is_empty());
        let typed = readme("Installing takes about eight minutes.\n");
        std::fs::remove_dir_all(&root).expect("removing the scratch folder");
        assert_eq!(typed.len(), 1, "{typed:?}");
        assert_eq!(typed[0].figure, "eight minutes");
        assert_eq!(typed[0].candidates, ["\"about ten minutes\" (figures/setup.md:book-install)"]);
    }

    #[test]
    fn words_that_merely_contain_a_number_are_not_figures() {
        assert!(figures("About someone's tone, nonetheless.").is_empty());
        assert!(figures("About one client.").is_empty());
    }
}
