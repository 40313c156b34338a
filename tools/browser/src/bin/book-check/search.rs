//! The book's search, used as a reader uses it: open the search bar, type,
//! and look for the chapter among the results.

use std::path::Path;

use anyhow::{Context, Result};
use course_browser::Browser;

use crate::site::PREFIX;

/// Searches for `term` and returns whether a result links to `file`.
/// The search bar must be on the current page.
pub async fn finds(browser: &Browser, term: &str, file: &str) -> Result<Result<(), String>> {
    let hidden = browser
        .eval("return document.getElementById('mdbook-search-wrapper').classList.contains('hidden');", vec![])
        .await?;
    if hidden == true {
        browser.click("#mdbook-search-toggle").await?;
    }
    browser.eval("document.getElementById('mdbook-searchbar').value = ''; return true;", vec![]).await?;
    browser.type_into("#mdbook-searchbar", term).await?;
    let target = serde_json::to_string(&format!("{PREFIX}{file}"))?;
    let found = format!(
        "const target = {target};
         return Array.from(document.querySelectorAll('#mdbook-searchresults a'))
           .some((a) => new URL(a.href).pathname === target);"
    );
    Ok(match browser.wait_until(&format!("a search result linking {file}"), &found).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let results = browser
                .eval(
                    "return Array.from(document.querySelectorAll('#mdbook-searchresults a'), (a) => a.getAttribute('href'));",
                    vec![],
                )
                .await?;
            Err(format!("{error:#}; the results were {results}"))
        }
    })
}

/// The solution pages (`code/sol…`) the built search index links to; none
/// when `book.toml` leaves them out (`[output.html.search.chapter]`).
pub fn indexed_solution_pages(build: &Path) -> Result<Vec<String>> {
    let mut pages = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(build).with_context(|| format!("reading {}", build.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !(name.starts_with("searchindex") && name.ends_with(".js")) {
            continue;
        }
        let index = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        for part in index.split("\"code/sol").skip(1) {
            let page = part.split(['#', '"']).next().unwrap_or_default();
            pages.insert(format!("code/sol{page}"));
        }
    }
    Ok(pages.into_iter().collect())
}
