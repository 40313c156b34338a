//! Opens each page in the browser and records what a reader gets: the
//! page's anchors and links, its diagrams and quizzes once rendered, and
//! any error the page raised.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use course_browser::Browser;
use serde::Deserialize;

/// One page, as the browser showed it.
#[derive(Debug)]
pub struct Page {
    /// The page's file in the build, e.g. `code/ex01-http.html`.
    pub file: String,
    /// The text of its first heading.
    pub title: String,
    /// Every `id` (and `<a name>`) on the page: where a `#fragment` can land.
    pub ids: BTreeSet<String>,
    pub links: Vec<Link>,
    pub diagrams: usize,
    pub quizzes: usize,
    /// Questions in all the page's quizzes.
    pub questions: usize,
    /// The page's headings and code blocks, in order (for the spoiler rule).
    pub blocks: Vec<Block>,
    /// What went wrong on the page.
    pub problems: Vec<String>,
}

/// A heading or a code block of a page's content, as the reader gets it.
#[derive(Debug, Clone, Deserialize)]
pub struct Block {
    /// `h1`, `h2`, `h3` or `pre` (a code block, or every text of a quiz).
    pub kind: String,
    /// The heading's text, or the code block's whole text (hidden lines included).
    pub text: String,
    /// Inside a `<details>`: folded until the reader opens it.
    pub folded: bool,
}

/// A link as the page has it, and where the browser resolves it to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// The `href` as written.
    pub href: String,
    /// Whether it points into this site (same origin).
    pub internal: bool,
    /// The resolved path, percent-decoded (`/book/code/ex01-http.html`).
    pub path: String,
    /// The `#fragment`, percent-decoded; `None` without one (or for a bare `#`).
    pub fragment: Option<String>,
    /// Whether the link is in the page's content, rather than the sidebar or menus.
    pub in_content: bool,
}

impl Page {
    /// A page the browser could not open or survey.
    pub fn failed(file: &str, problem: String) -> Page {
        Page {
            file: file.to_owned(),
            title: String::new(),
            ids: BTreeSet::new(),
            links: Vec::new(),
            diagrams: 0,
            quizzes: 0,
            questions: 0,
            blocks: Vec::new(),
            problems: vec![problem],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Survey {
    title: String,
    ids: Vec<String>,
    links: Vec<Link>,
    diagrams: usize,
    unprocessed_diagrams: usize,
    quizzes: usize,
    questions: usize,
    unprocessed_quizzes: usize,
    blocks: Vec<Block>,
}

/// Reads the page's anchors, links, diagrams and quizzes.
const SURVEY: &str = r#"
const main = document.querySelector('main');
const heading = main && main.querySelector('h1');
const decode = (text) => { try { return decodeURIComponent(text); } catch (e) { return text; } };
return {
  title: heading ? heading.textContent.trim() : document.title,
  ids: Array.from(document.querySelectorAll('[id]'), (e) => e.id)
    .concat(Array.from(document.querySelectorAll('a[name]'), (a) => a.getAttribute('name'))),
  links: Array.from(document.querySelectorAll('a[href]'), (a) => {
    const url = new URL(a.href, document.baseURI);
    return {
      href: a.getAttribute('href'),
      internal: url.origin === location.origin,
      path: decode(url.pathname),
      fragment: url.hash.length > 1 ? decode(url.hash.slice(1)) : null,
      inContent: main !== null && main.contains(a),
    };
  }),
  diagrams: document.querySelectorAll('.mermaid').length,
  unprocessedDiagrams: document.querySelectorAll('code.language-mermaid').length,
  quizzes: document.querySelectorAll('.quiz-placeholder').length,
  questions: Array.from(document.querySelectorAll('.quiz-placeholder[data-quiz-questions]'))
    .map((q) => { try { return JSON.parse(q.dataset.quizQuestions).questions.length; } catch (e) { return 0; } })
    .reduce((a, b) => a + b, 0),
  unprocessedQuizzes: main
    ? Array.from(main.querySelectorAll('p')).filter((p) => p.textContent.trim().startsWith('{{#quiz')).length
    : 0,
  blocks: main
    ? Array.from(main.querySelectorAll('h1, h2, h3, pre, .quiz-placeholder'), (e) => {
        const folded = e.closest('details') !== null;
        if (e.classList.contains('quiz-placeholder')) {
          // A quiz's questions and answers, every text in them, as code.
          const texts = [];
          const walk = (v) => {
            if (typeof v === 'string') { texts.push(v); } else if (v && typeof v === 'object') { Object.values(v).forEach(walk); }
          };
          try { walk(JSON.parse(e.dataset.quizQuestions || 'null')); } catch (error) { /* counted elsewhere */ }
          return { kind: 'pre', text: texts.join('\n'), folded };
        }
        if (e.tagName === 'PRE' && e.closest('.quiz-placeholder')) { return null; }
        return { kind: e.tagName.toLowerCase(), text: e.tagName === 'PRE' ? e.textContent : e.textContent.trim(), folded };
      }).filter((block) => block !== null)
    : [],
};
"#;

/// True once every diagram holds the SVG mermaid drew.
const DIAGRAMS_DRAWN: &str = r#"
return Array.from(document.querySelectorAll('.mermaid')).every((d) => d.querySelector('svg') !== null);
"#;

/// What mermaid said about each diagram it could not draw (it draws an
/// error picture instead, "Syntax error in text"), with the diagram's
/// number on the page and the heading it follows.
const BROKEN_DIAGRAMS: &str = r#"
const headings = Array.from(document.querySelectorAll('main h1, main h2, main h3'));
return Array.from(document.querySelectorAll('.mermaid')).flatMap((diagram, i) => {
  const svg = diagram.querySelector('svg');
  if (!svg || svg.getAttribute('aria-roledescription') !== 'error') { return []; }
  const texts = Array.from(svg.querySelectorAll('text'), (t) => t.textContent.trim()).filter((t) => t);
  const before = headings.filter((h) => h.compareDocumentPosition(diagram) & Node.DOCUMENT_POSITION_FOLLOWING).pop();
  const where = before ? ` (after "${before.textContent.trim()}")` : '';
  return [`diagram ${i + 1}${where}: ${texts.join(' ')}`];
});
"#;

/// True once every quiz placeholder holds the quiz mdbook-quiz's script drew.
const QUIZZES_DRAWN: &str = r#"
return Array.from(document.querySelectorAll('.quiz-placeholder'))
  .every((q) => q.querySelector('.mdbook-quiz') !== null && q.querySelectorAll('button, input').length > 0);
"#;

/// Opens `url` (the page `file`) and surveys it.
pub async fn visit(browser: &Browser, file: &str, url: &str) -> Result<Page> {
    browser.open(url).await?;
    let survey: Survey = serde_json::from_value(browser.eval(SURVEY, vec![]).await?)
        .with_context(|| format!("surveying {file}"))?;
    let mut page = Page {
        file: file.to_owned(),
        title: survey.title,
        ids: survey.ids.into_iter().collect(),
        links: survey.links,
        diagrams: survey.diagrams,
        quizzes: survey.quizzes,
        questions: survey.questions,
        blocks: survey.blocks,
        problems: Vec::new(),
    };
    if survey.unprocessed_diagrams > 0 {
        page.problems.push(format!(
            "{} mermaid block(s) left as code: is the mermaid preprocessor configured?",
            survey.unprocessed_diagrams
        ));
    }
    if survey.unprocessed_quizzes > 0 {
        page.problems.push(format!(
            "{} `{{{{#quiz …}}}}` left as text: is the quiz preprocessor configured?",
            survey.unprocessed_quizzes
        ));
    }
    if page.diagrams > 0 {
        match browser
            .wait_until("every diagram to be drawn (an <svg> in each .mermaid)", DIAGRAMS_DRAWN)
            .await
        {
            Ok(_) => {
                let broken: Vec<String> =
                    serde_json::from_value(browser.eval(BROKEN_DIAGRAMS, vec![]).await?)?;
                for source in broken {
                    page.problems.push(format!("mermaid could not draw {source}"));
                }
            }
            Err(error) => page.problems.push(format!("{error:#}")),
        }
    }
    if page.quizzes > 0 {
        let drawn =
            browser.wait_until("every quiz to be drawn (.mdbook-quiz with its buttons)", QUIZZES_DRAWN);
        if let Err(error) = drawn.await {
            page.problems.push(format!("{error:#}"));
        }
    }
    page.problems.extend(errors(browser).await?);
    Ok(page)
}

/// The errors the page logged since the last call, as problems. Call it
/// again before leaving a page, for what happened after its survey.
pub async fn errors(browser: &Browser) -> Result<Vec<String>> {
    Ok(browser.errors().await?.into_iter().map(|error| format!("error in the browser: {error}")).collect())
}

/// Scrolls the first element matching `selector` to the middle of the window.
pub async fn scroll_to(browser: &Browser, selector: &str) -> Result<()> {
    browser
        .eval(
            "const e = document.querySelector(arguments[0]); if (e) { e.scrollIntoView({block: 'center', behavior: 'instant'}); } return e !== null;",
            vec![selector.into()],
        )
        .await?;
    Ok(())
}
