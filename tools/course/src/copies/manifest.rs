//! `tools/copies.toml`: the copies the course keeps on purpose.
//!
//! ```toml
//! [[copy]]
//! what = "chapter 3's request parser, shipped solved in chapter 4"
//! files = ["solutions/03-handshake/src/request.rs", "solutions/04-frames/src/request.rs"]
//!
//! [[copy]]
//! what = "the board's rooms, solved in chapter 5's stub"
//! files = ["solutions/05-presence/src/rooms.rs", "exercises/05-presence/src/rooms.rs"]
//! items = ["Rooms", "Rooms::resync"]
//!
//! [[differs]]
//! what = "the read loop: chapter 6's also runs board commands"
//! files = ["solutions/05-presence/src/connection.rs", "solutions/06-board/src/connection.rs"]
//! items = ["run"]
//! ```
//!
//! A `[[copy]]` without `items` is whole files; with `items`, each named item
//! is a copy in every file listed. List the original (the earliest chapter's
//! solution) first: the later solutions' copies are left out of mutation
//! testing. A `[[differs]]` entry names code that looks alike but may differ
//! (it says why), so it is not reported as an unlisted copy.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::regions;

/// Where the manifest is, from the course's root.
pub const PATH: &str = "tools/copies.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub copy: Vec<Entry>,
    #[serde(default)]
    pub differs: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// What is copied and why (or, in `[[differs]]`, why it may differ).
    pub what: String,
    /// Paths from the course's root.
    pub files: Vec<String>,
    /// Rust items in each of the files; none means the whole files.
    #[serde(default)]
    pub items: Vec<String>,
}

impl Manifest {
    pub fn read(root: &Path) -> Result<Manifest> {
        let path = root.join(PATH);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {PATH}"))?;
        let manifest: Manifest = toml::from_str(&text).with_context(|| format!("reading {PATH}"))?;
        for entry in manifest.copy.iter().chain(&manifest.differs) {
            if entry.files.len() < 2 {
                bail!(
                    "{PATH}: \"{}\" lists {} file(s); a copy has at least two places",
                    entry.what,
                    entry.files.len()
                );
            }
        }
        Ok(manifest)
    }
}

impl Entry {
    /// The regions this entry names: one per item (or one for the whole
    /// files), each a list of places in the order of `files`, or why the
    /// item can't be found.
    pub fn regions<'a>(&'a self, sources: &mut Sources<'_>) -> Vec<Result<Vec<Place<'a>>>> {
        let items: Vec<Option<&str>> = if self.items.is_empty() {
            vec![None]
        } else {
            self.items.iter().map(|item| Some(item.as_str())).collect()
        };
        items
            .into_iter()
            .map(|item| self.files.iter().map(|file| Place::find(sources, file, item)).collect())
            .collect()
    }
}

/// One place of a copy: a whole file or an item in it, and its lines.
#[derive(Debug)]
pub struct Place<'a> {
    pub file: &'a str,
    pub item: Option<&'a str>,
    /// The lines compared, numbered from 1 (mdBook anchor lines left out).
    pub lines: Vec<(usize, String)>,
}

impl<'a> Place<'a> {
    fn find(sources: &mut Sources<'_>, file: &'a str, item: Option<&'a str>) -> Result<Place<'a>> {
        let span = match item {
            Some(item) => sources.item(file, item).with_context(|| format!("{PATH}: {file}"))?.lines,
            None => 1..=sources.get(file)?.lines().count(),
        };
        let source = sources.get(file)?;
        let lines = regions::compared_lines(source, span).into_iter().map(|(n, line)| (n, line.to_owned()));
        Ok(Place { file, item, lines: lines.collect() })
    }

    /// `path:line (item)`, for messages.
    pub fn at(&self, line: Option<usize>) -> String {
        let line = line.or_else(|| self.lines.first().map(|(n, _)| *n)).unwrap_or(1);
        match self.item {
            Some(item) => format!("{}:{line} ({item})", self.file),
            None => format!("{}:{line}", self.file),
        }
    }
}

/// The course's files, each read (and parsed) once.
#[derive(Debug)]
pub struct Sources<'r> {
    root: &'r Path,
    files: BTreeMap<String, String>,
    items: BTreeMap<String, regions::Found>,
}

impl<'r> Sources<'r> {
    pub fn new(root: &'r Path) -> Self {
        Sources { root, files: BTreeMap::new(), items: BTreeMap::new() }
    }

    /// The named items of a Rust file.
    pub fn items(&mut self, file: &str) -> Result<&regions::Found> {
        if !self.items.contains_key(file) {
            let found = regions::items(self.get(file)?).with_context(|| format!("parsing {file}"))?;
            self.items.insert(file.to_owned(), found);
        }
        Ok(&self.items[file])
    }

    /// `item` of a Rust file.
    pub fn item(&mut self, file: &str, item: &str) -> Result<regions::Item> {
        match self.items(file)?.get(item) {
            Some(Some(found)) => Ok(found.clone()),
            Some(None) => bail!("more than one item is named `{item}`"),
            None => bail!("no item named `{item}`"),
        }
    }

    pub fn get(&mut self, file: &str) -> Result<&str> {
        if !self.files.contains_key(file) {
            let text = std::fs::read_to_string(self.root.join(file))
                .with_context(|| format!("{PATH}: reading {file}"))?;
            self.files.insert(file.to_owned(), text);
        }
        Ok(&self.files[file])
    }
}
