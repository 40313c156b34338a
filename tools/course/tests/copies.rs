//! `cargo course dev copies` on a scratch copy of the course: it passes as
//! shipped, and fails, naming both places, on a planted drift or copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the course's root")
}

/// The files the check reads, copied to a fresh folder.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for folder in ["exercises", "solutions"] {
        copy_dir(&root().join(folder), &dir.path().join(folder));
    }
    for file in ["tools/copies.toml", ".cargo/mutants.toml", "Cargo.toml"] {
        let to = dir.path().join(file);
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("creating a folder");
        std::fs::copy(root().join(file), to).expect("copying a file");
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a folder");
    for entry in std::fs::read_dir(from).expect("reading a folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

fn copies(course: &Path, args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_course"))
        .args(["dev", "copies"])
        .args(args)
        .env("COURSE_ROOT", course)
        .env("NO_COLOR", "1")
        .current_dir(course)
        .output()
        .expect("running course");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output, text)
}

/// Inserts `line` after the first line of `file` that contains `after`.
fn insert_after(file: &Path, after: &str, line: &str) {
    let text = std::fs::read_to_string(file).expect("reading a file");
    let at = text.find(after).expect("the marker is in the file");
    let end = at + text[at..].find('\n').expect("a line end") + 1;
    std::fs::write(file, format!("{}{line}\n{}", &text[..end], &text[end..])).expect("writing a file");
}

#[test]
fn the_shipped_course_passes() {
    let course = scratch();
    let (output, text) = copies(course.path(), &[]);
    assert!(output.status.success(), "the shipped copies pass:\n{text}");
    assert!(text.contains("every listed copy is identical"), "{text}");
}

#[test]
fn a_drifted_copy_fails_naming_both_places_and_the_first_differing_line() {
    let course = scratch();
    let drifted = course.path().join("solutions/06-board/src/rooms.rs");
    insert_after(&drifted, "pub fn join(", "        let planted_drift = ();");
    let (output, text) = copies(course.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "a drift fails:\n{text}");
    let report = text.lines().skip_while(|line| !line.contains("drifted copy")).take(3).collect::<Vec<_>>();
    assert!(report.len() == 3, "a drifted copy is reported:\n{text}");
    assert!(
        report[1].contains("solutions/05-presence/src/rooms.rs:") && report[1].contains("(in `Rooms::join`)"),
        "the original's place and item come first:\n{text}"
    );
    assert!(
        report[2].contains("solutions/06-board/src/rooms.rs:")
            && report[2].contains("let planted_drift = ();"),
        "then the copy's place and its first differing line:\n{text}"
    );
    assert!(!text.contains("unlisted copy"), "the drifted copy is not also reported as unlisted:\n{text}");
}

#[test]
fn an_anchor_line_is_not_a_drift() {
    let course = scratch();
    let anchored = course.path().join("solutions/06-board/src/rooms.rs");
    insert_after(&anchored, "pub fn join(", "        // ANCHOR: planted");
    let (output, text) = copies(course.path(), &[]);
    assert!(output.status.success(), "mdBook anchors may differ:\n{text}");
}

#[test]
fn an_unlisted_copy_fails_naming_both_places() {
    let course = scratch();
    let planted: String = (1..=10).map(|i| format!("    let step_{i} = {i} * 2;\n")).collect();
    let function = format!("\n/// Planted.\npub fn planted() {{\n{planted}}}\n");
    for (n, file) in ["solutions/01-http/src/api.rs", "solutions/03-handshake/src/lib.rs"].iter().enumerate()
    {
        let path = course.path().join(file);
        let text = std::fs::read_to_string(&path).expect("reading a file");
        // A line of its own before it, so the copy starts at the function.
        std::fs::write(&path, format!("{text}\nconst BEFORE: usize = {n};\n{function}"))
            .expect("writing a file");
    }
    let (output, text) = copies(course.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "an unlisted copy fails:\n{text}");
    let report = text.lines().skip_while(|line| !line.contains("unlisted copy")).take(4).collect::<Vec<_>>();
    assert!(report.len() == 4, "an unlisted copy is reported:\n{text}");
    assert!(report[0].contains("12 identical code lines"), "{text}");
    assert!(
        report[1].contains("solutions/01-http/src/api.rs:") && report[1].contains("(in `planted`)"),
        "{text}"
    );
    assert!(report[2].contains("solutions/03-handshake/src/lib.rs:"), "{text}");
    assert!(report[3].contains("`pub fn planted() {`"), "{text}");
}

#[test]
fn a_listed_item_that_is_gone_fails_naming_it() {
    let course = scratch();
    let path = course.path().join("solutions/06-board/src/rooms.rs");
    let text = std::fs::read_to_string(&path).expect("reading a file");
    std::fs::write(&path, text.replace("pub fn join(", "pub fn enter(")).expect("writing a file");
    let (output, text) = copies(course.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "a missing item fails:\n{text}");
    assert!(text.contains("solutions/06-board/src/rooms.rs") && text.contains("`Rooms::join`"), "{text}");
}

#[test]
fn mutation_exclusions_that_do_not_follow_the_list_fail_until_rewritten() {
    let course = scratch();
    let config = course.path().join(".cargo/mutants.toml");
    let text = std::fs::read_to_string(&config).expect("reading mutants.toml");
    let stale: String = text
        .lines()
        .filter(|line| !line.contains("solutions/04-frames/src/accept.rs"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, stale + "\n").expect("writing mutants.toml");
    let (output, out) = copies(course.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "stale exclusions fail:\n{out}");
    assert!(out.contains(".cargo/mutants.toml") && out.contains("--write"), "{out}");
    let (output, out) = copies(course.path(), &["--write"]);
    assert!(output.status.success(), "--write brings them in line:\n{out}");
    assert_eq!(std::fs::read_to_string(&config).expect("reading mutants.toml"), text);
}

#[test]
fn a_drifted_region_inside_files_that_otherwise_differ_fails() {
    // Chapter 5's and 6's connection.rs differ (6 also runs board commands),
    // but `write` is a listed copy inside them.
    let course = scratch();
    let drifted = course.path().join("solutions/06-board/src/connection.rs");
    insert_after(&drifted, "async fn write(", "    let planted_drift = ();");
    let (output, text) = copies(course.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "a drift fails:\n{text}");
    let report = text.lines().skip_while(|line| !line.contains("drifted copy")).take(3).collect::<Vec<_>>();
    assert!(report.len() == 3, "a drifted copy is reported:\n{text}");
    assert!(
        report[1].contains("solutions/05-presence/src/connection.rs:") && report[1].contains("(write)"),
        "{text}"
    );
    assert!(
        report[2].contains("solutions/06-board/src/connection.rs:") && report[2].contains("planted_drift"),
        "{text}"
    );
}
