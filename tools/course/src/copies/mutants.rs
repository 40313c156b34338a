//! `.cargo/mutants.toml`'s exclusions, derived from the copies list: a copy
//! in a later chapter's solution is mutation-tested where it was written
//! first (the first solution the manifest lists), not again.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::manifest::{Manifest, Sources};

/// Where the config is, from the course's root.
pub const PATH: &str = ".cargo/mutants.toml";
const BEGIN: &str = "# BEGIN copies: generated from tools/copies.toml by `cargo course dev copies --write`";
const END: &str = "# END copies";

/// The exclusions the manifest implies: (file globs, mutant-name regexes).
/// Whole files go in as globs; items with code to mutate as regexes.
pub fn exclusions(manifest: &Manifest, sources: &mut Sources<'_>) -> (Vec<String>, Vec<String>) {
    let mut globs = BTreeSet::new();
    for entry in manifest.copy.iter().filter(|entry| entry.items.is_empty()) {
        globs.extend(later_solutions(&entry.files).cloned());
    }
    let mut res = BTreeSet::new();
    for entry in manifest.copy.iter().filter(|entry| !entry.items.is_empty()) {
        for file in later_solutions(&entry.files).filter(|file| !globs.contains(*file)) {
            for item in &entry.items {
                if sources.item(file, item).is_ok_and(|found| found.mutable) {
                    res.insert(format!("{}:.*(replace|in) {}( |$)", escape(file), mutant_name(item)));
                }
            }
        }
    }
    (globs.into_iter().collect(), res.into_iter().collect())
}

/// The places of a copy in solutions after the first: the copies.
fn later_solutions(files: &[String]) -> impl Iterator<Item = &String> {
    files.iter().filter(|file| file.starts_with("solutions/")).skip(1)
}

/// How `cargo mutants` names the functions of `item`, as a regex: `run`,
/// `Rooms::join`, and for a whole block every method (`Rooms::…`,
/// `<impl Default for Config>::…`).
fn mutant_name(item: &str) -> String {
    match item.strip_prefix("impl ") {
        Some(header) if header.contains(" for ") => format!("{}::[^ ]+", escape(&format!("<{item}>"))),
        Some(header) => format!("{}::[^ ]+", escape(header)),
        None => escape(item),
    }
}

fn escape(text: &str) -> String {
    text.chars().flat_map(|c| "\\.+*?()|[]{}^$".contains(c).then_some('\\').into_iter().chain([c])).collect()
}

/// The config's text with the generated blocks replaced by `globs` and `res`.
pub fn render(config: &str, globs: &[String], res: &[String]) -> Result<String> {
    let mut out = String::new();
    let mut rest = config;
    for values in [globs, res] {
        let Some(begin) = rest.find(BEGIN) else { bail!("{PATH} has no (more) `{BEGIN}` line") };
        let Some(end) = rest[begin..].find(END).map(|end| begin + end) else {
            bail!("{PATH}: `{BEGIN}` without an `{END}` line")
        };
        let indent: String = rest[..begin].chars().rev().take_while(|c| *c == ' ').collect();
        out.push_str(&rest[..begin]);
        out.push_str(BEGIN);
        out.push('\n');
        for value in values {
            out.push_str(&format!("{indent}'{value}',\n"));
        }
        out.push_str(&indent);
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `.cargo/mutants.toml` says what the manifest implies; with
/// `write`, makes it so. Returns a problem to report, if any.
pub fn check(
    root: &Path,
    manifest: &Manifest,
    sources: &mut Sources<'_>,
    write: bool,
) -> Result<Option<String>> {
    let path = root.join(PATH);
    let config = std::fs::read_to_string(&path).with_context(|| format!("reading {PATH}"))?;
    let (globs, res) = exclusions(manifest, sources);
    let wanted = render(&config, &globs, &res)?;
    if wanted == config {
        return Ok(None);
    }
    if write {
        std::fs::write(&path, wanted).with_context(|| format!("writing {PATH}"))?;
        return Ok(None);
    }
    let first = config.lines().zip(wanted.lines()).position(|(have, want)| have != want);
    let line = first.unwrap_or_else(|| config.lines().count().min(wanted.lines().count()));
    Ok(Some(format!(
        "{PATH} does not exclude what tools/copies.toml implies (first difference at line {}: \
         expected {:?}); run `cargo course dev copies --write`",
        line + 1,
        wanted.lines().nth(line).unwrap_or("(end of file)")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_and_impl_blocks_are_named_as_cargo_mutants_names_them() {
        assert_eq!(mutant_name("run"), "run");
        assert_eq!(mutant_name("Rooms::join"), "Rooms::join");
        assert_eq!(mutant_name("impl Rooms"), "Rooms::[^ ]+");
        assert_eq!(mutant_name("impl Default for Config"), "<impl Default for Config>::[^ ]+");
        assert_eq!(mutant_name("<impl Default for Config>::default"), "<impl Default for Config>::default");
    }

    #[test]
    fn render_replaces_only_the_generated_blocks() {
        let config = format!(
            "exclude_globs = [\n    \"keep\",\n    {BEGIN}\n    'old',\n    {END}\n]\nexclude_re = [\n    {BEGIN}\n    {END}\n]\n"
        );
        let out = render(&config, &["a.rs".to_owned()], &["x".to_owned()]).expect("renders");
        assert_eq!(
            out,
            format!(
                "exclude_globs = [\n    \"keep\",\n    {BEGIN}\n    'a.rs',\n    {END}\n]\nexclude_re = [\n    {BEGIN}\n    'x',\n    {END}\n]\n"
            )
        );
        assert_eq!(render(&out, &["a.rs".to_owned()], &["x".to_owned()]).expect("renders"), out);
    }
}
