//! Where a listed copy is: a whole file, or one Rust item inside a file.
//!
//! Items are found by parsing the file with `syn`, not by marker comments:
//! the copied code stays free of bookkeeping, a region always starts and ends
//! where an item does, and an item that was renamed or moved is an error
//! that names it instead of a marker quietly left behind.
//!
//! An item's name is the one `cargo mutants` prints, so the same name
//! excludes its mutants:
//! - `run`, `Config`, `tests::helper`: a free item (inside inline modules);
//! - `Rooms::join`: a method of an inherent `impl Rooms`;
//! - `<impl Default for Config>::default`: a method of a trait impl;
//! - `impl Rooms`, `impl Default for Config`: a whole `impl` block;
//! - `use`: the file's `use` declarations, from the first to the last.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use anyhow::{Context, Result};
use syn::spanned::Spanned;

/// mdBook's include markers: lines the book's `{{#include}}` uses and no
/// reader sees, so copies may differ in them.
pub fn is_anchor(line: &str) -> bool {
    ["ANCHOR:", "ANCHOR_END:"].iter().any(|marker| line.contains(marker))
}

/// The lines of a region that must match, numbered from 1, anchors left out.
pub fn compared_lines(source: &str, lines: RangeInclusive<usize>) -> Vec<(usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(number, line)| lines.contains(number) && !is_anchor(line))
        .collect()
}

/// A named item of a Rust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The lines it spans, numbered from 1.
    pub lines: RangeInclusive<usize>,
    /// Whether it has code `cargo mutants` mutates: a function, a method or
    /// an `impl` block (not a type, a constant, a module or a test).
    pub mutable: bool,
}

/// Every named item of a Rust file, by name. A name that two items share
/// (two `impl Rooms` blocks) maps to `None`: ambiguous.
pub fn items(source: &str) -> Result<Found> {
    let file = syn::parse_file(source).context("parsing as Rust")?;
    let lines: Vec<&str> = source.lines().collect();
    let mut found = BTreeMap::new();
    collect(&file.items, "", &lines, &mut found);
    let uses: Vec<RangeInclusive<usize>> = file
        .items
        .iter()
        .filter(|item| matches!(item, syn::Item::Use(_)))
        .map(|item| extent(item.span(), attrs_of(item), &lines))
        .collect();
    if let (Some(first), Some(last)) = (uses.first(), uses.last()) {
        found.insert("use".to_owned(), Some(Item { lines: *first.start()..=*last.end(), mutable: false }));
    }
    Ok(found)
}

pub type Found = BTreeMap<String, Option<Item>>;

fn collect(items: &[syn::Item], prefix: &str, lines: &[&str], found: &mut Found) {
    let in_tests = prefix.starts_with("tests::");
    for item in items {
        let span = extent(item.span(), attrs_of(item), lines);
        match item {
            syn::Item::Impl(block) => {
                let header = impl_header(block);
                let owner = match &block.trait_ {
                    Some(_) => format!("<{header}>"),
                    None => type_name(&block.self_ty),
                };
                add(found, format!("{prefix}{header}"), span, !in_tests);
                for inner in &block.items {
                    if let Some(name) = impl_item_name(inner) {
                        let span = extent(inner.span(), impl_item_attrs(inner), lines);
                        let mutable = !in_tests && matches!(inner, syn::ImplItem::Fn(_));
                        add(found, format!("{prefix}{owner}::{name}"), span, mutable);
                    }
                }
            }
            syn::Item::Mod(module) => {
                add(found, format!("{prefix}{}", module.ident), span, false);
                if let Some((_, inner)) = &module.content {
                    collect(inner, &format!("{prefix}{}::", module.ident), lines, found);
                }
            }
            _ => {
                if let Some(name) = item_name(item) {
                    let mutable = !in_tests && matches!(item, syn::Item::Fn(_));
                    add(found, format!("{prefix}{name}"), span, mutable);
                }
            }
        }
    }
}

fn add(found: &mut Found, name: String, lines: RangeInclusive<usize>, mutable: bool) {
    found.entry(name).and_modify(|existing| *existing = None).or_insert(Some(Item { lines, mutable }));
}

/// The lines an item spans: from its first attribute (doc comments are
/// attributes) or the `//` comment lines right above it, to its last token.
fn extent(span: proc_macro2::Span, attrs: &[syn::Attribute], lines: &[&str]) -> RangeInclusive<usize> {
    let first = attrs.iter().map(|attr| attr.span().start().line).chain([span.start().line]).min();
    let mut start = first.expect("the chain has the item's own line");
    while start > 1 && lines[start - 2].trim_start().starts_with("//") {
        start -= 1;
    }
    start..=span.end().line
}

fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(item) => &item.ident,
        syn::Item::Enum(item) => &item.ident,
        syn::Item::Fn(item) => &item.sig.ident,
        syn::Item::Macro(item) => item.ident.as_ref()?,
        syn::Item::Static(item) => &item.ident,
        syn::Item::Struct(item) => &item.ident,
        syn::Item::Trait(item) => &item.ident,
        syn::Item::TraitAlias(item) => &item.ident,
        syn::Item::Type(item) => &item.ident,
        syn::Item::Union(item) => &item.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

fn attrs_of(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(item) => &item.attrs,
        syn::Item::Enum(item) => &item.attrs,
        syn::Item::ExternCrate(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::ForeignMod(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Macro(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Static(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Trait(item) => &item.attrs,
        syn::Item::TraitAlias(item) => &item.attrs,
        syn::Item::Type(item) => &item.attrs,
        syn::Item::Union(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        _ => &[],
    }
}

fn impl_item_name(item: &syn::ImplItem) -> Option<String> {
    match item {
        syn::ImplItem::Const(item) => Some(item.ident.to_string()),
        syn::ImplItem::Fn(item) => Some(item.sig.ident.to_string()),
        syn::ImplItem::Type(item) => Some(item.ident.to_string()),
        _ => None,
    }
}

fn impl_item_attrs(item: &syn::ImplItem) -> &[syn::Attribute] {
    match item {
        syn::ImplItem::Const(item) => &item.attrs,
        syn::ImplItem::Fn(item) => &item.attrs,
        syn::ImplItem::Type(item) => &item.attrs,
        syn::ImplItem::Macro(item) => &item.attrs,
        _ => &[],
    }
}

/// `impl Rooms` or `impl Default for Config`, as `cargo mutants` writes it:
/// generics and paths as in the source, spaces only between words.
fn impl_header(block: &syn::ItemImpl) -> String {
    let self_ty = tokens(&block.self_ty);
    match &block.trait_ {
        Some((_, path, _)) => format!("impl {} for {self_ty}", tokens(path)),
        None => format!("impl {self_ty}"),
    }
}

/// The type an inherent impl is for, by its last path segment (`Rooms`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => match path.path.segments.last() {
            Some(segment) => segment.ident.to_string(),
            None => tokens(ty),
        },
        _ => tokens(ty),
    }
}

/// Tokens as text with the spaces `quote` puts everywhere taken out where
/// Rust code has none: `From < io :: Error >` → `From<io::Error>`.
fn tokens(tokens: &impl quote::ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    for piece in text.split(' ') {
        let glue =
            matches!(piece, "<" | ">" | "::" | "," | "&") || out.ends_with(['<', ':', '&']) || out.is_empty();
        if !glue {
            out.push(' ');
        }
        out.push_str(piece);
    }
    out.replace(",", ", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(source: &str, name: &str) -> Result<Item, String> {
        match items(source).expect("parses").remove(name) {
            Some(Some(found)) => Ok(found),
            Some(None) => Err(format!("more than one item is named `{name}`")),
            None => Err(format!("no item named `{name}`")),
        }
    }

    const SOURCE: &str = "\
//! A module.

/// Says hello.
pub fn hello() {}

// A plain comment that belongs to `Rooms`.
#[derive(Debug)]
pub struct Rooms;

impl Rooms {
    // ANCHOR: join
    /// Joins.
    pub fn join(&self) {
        let _ = 1;
    }
    // ANCHOR_END: join
}

impl Default for Rooms {
    fn default() -> Self {
        Rooms
    }
}

impl From<std::io::Error> for Rooms {
    fn from(_: std::io::Error) -> Self {
        Rooms
    }
}

mod tests {
    fn helper() {}
}

use std::io;
use std::fmt;
";

    #[test]
    fn items_are_named_as_cargo_mutants_names_them() {
        let items = items(SOURCE).expect("parses");
        let names: Vec<&str> = items.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "<impl Default for Rooms>::default",
                "<impl From<std::io::Error> for Rooms>::from",
                "Rooms",
                "Rooms::join",
                "hello",
                "impl Default for Rooms",
                "impl From<std::io::Error> for Rooms",
                "impl Rooms",
                "tests",
                "tests::helper",
                "use",
            ]
        );
    }

    #[test]
    fn an_item_spans_its_doc_comment_and_the_comments_right_above_it() {
        assert_eq!(item(SOURCE, "hello").expect("found").lines, 3..=4);
        assert_eq!(item(SOURCE, "Rooms").expect("found").lines, 6..=8);
        // The anchor line above the doc comment is a comment too; it is left
        // out when the lines are compared.
        assert_eq!(item(SOURCE, "Rooms::join").expect("found").lines, 11..=15);
        let lines = compared_lines(SOURCE, 11..=15);
        assert_eq!(lines.first().map(|(number, _)| *number), Some(12));
    }

    #[test]
    fn only_functions_and_impl_blocks_outside_tests_are_mutable() {
        let items = items(SOURCE).expect("parses");
        let mutable: Vec<&str> = items
            .iter()
            .filter(|(_, item)| item.as_ref().is_some_and(|i| i.mutable))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            mutable,
            [
                "<impl Default for Rooms>::default",
                "<impl From<std::io::Error> for Rooms>::from",
                "Rooms::join",
                "hello",
                "impl Default for Rooms",
                "impl From<std::io::Error> for Rooms",
                "impl Rooms",
            ]
        );
    }

    #[test]
    fn two_items_of_one_name_are_ambiguous() {
        assert!(item(SOURCE, "Rooms::leave").is_err());
        assert_eq!(
            item("impl A {}\nimpl A {}\n", "impl A"),
            Err("more than one item is named `impl A`".to_owned())
        );
    }
}
