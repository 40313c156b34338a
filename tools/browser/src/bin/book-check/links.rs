//! Dead internal links: every link into the book must reach a file that
//! exists, and its `#fragment` an element on that page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::site::PREFIX;
use crate::visit::{Link, Page};

/// The file in the build a link's path names, e.g. `/book/code/` → `code/index.html`;
/// `None` for a path outside the book.
pub fn file_of(path: &str) -> Option<String> {
    let file = path.strip_prefix(PREFIX)?;
    Some(if file.is_empty() || file.ends_with('/') { format!("{file}index.html") } else { file.to_owned() })
}

/// Adds a problem to each page for each of its internal links that leads nowhere.
pub fn check(pages: &mut [Page], build: &Path) {
    let anchors: BTreeMap<String, BTreeSet<String>> =
        pages.iter().map(|page| (page.file.clone(), page.ids.clone())).collect();
    for page in pages.iter_mut() {
        let mut seen = BTreeSet::new();
        let mut problems = Vec::new();
        for link in page.links.iter().filter(|link| link.internal) {
            if !seen.insert((link.path.clone(), link.fragment.clone())) {
                continue;
            }
            let problem = match (link.href.strip_prefix('#'), &link.fragment) {
                // `#anchor` means "on this page", even where a <base> (the
                // 404 page has one) makes the browser resolve it elsewhere.
                (Some(_), Some(fragment)) if !page.ids.contains(fragment) => {
                    Some(format!("dead link `{}`: this page has no element with id `{fragment}`", link.href))
                }
                (Some(_), _) => None,
                (None, _) => dead(link, &anchors, build),
            };
            problems.extend(problem);
        }
        page.problems.extend(problems);
    }
}

fn dead(link: &Link, anchors: &BTreeMap<String, BTreeSet<String>>, build: &Path) -> Option<String> {
    let Some(file) = file_of(&link.path) else {
        return Some(format!(
            "dead link `{}`: {} is outside the book (a link from the site's root breaks on GitHub Pages)",
            link.href, link.path
        ));
    };
    match anchors.get(&file) {
        Some(ids) => match &link.fragment {
            Some(fragment) if !ids.contains(fragment) => {
                Some(format!("dead link `{}`: {file} has no element with id `{fragment}`", link.href))
            }
            _ => None,
        },
        None if build.join(&file).is_file() => None,
        None => Some(format!("dead link `{}`: {file} does not exist in the built book", link.href)),
    }
}
