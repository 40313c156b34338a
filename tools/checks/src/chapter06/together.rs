//! Stage 1, "One server, one state".

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{create_over_http, expect_event, subscribe};
use super::{PAGE_SECTION, STATE_SECTION, TOGETHER};

/// The origin the book is served from locally; its "try it" panels read the
/// server's event streams from there.
const BOOK_ORIGIN: &str = "http://localhost:4000";

check!(Check {
    name: the_page_is_served_at_the_root_with_its_script_and_styles,
    stage: TOGETHER,
    section: PAGE_SECTION,
    hints: &[
        "Route `/`, `/board.js` and `/board.css` to the handlers in `page.rs`, next to the API, the \
         event streams and `/ws`, all on the one router `app` builds.",
        "Each handler answers its file from `static/`, put into the binary with `include_str!`, with \
         its type: `text/html; charset=utf-8`, `text/javascript; charset=utf-8`, \
         `text/css; charset=utf-8`. A browser refuses a script or a stylesheet of any other type.",
    ],
    needs: Needs::Address,
});
async fn the_page_is_served_at_the_root_with_its_script_and_styles(t: Target) -> Result<(), Failure> {
    let page = t.request("GET", "/").send().await?;
    let expected =
        "200 OK with Content-Type: text/html; charset=utf-8 and the board's page (static/index.html)";
    page.expect_status(200, expected)?;
    let content_type = page.header("content-type").unwrap_or("");
    if !content_type.starts_with("text/html") {
        return Err(
            page.fail(format!("GET / answered Content-Type {content_type:?}; expected text/html"), expected)
        );
    }
    let html = String::from_utf8_lossy(&page.body).into_owned();
    if !html.trim_start().to_ascii_lowercase().starts_with("<!doctype html") {
        return Err(
            page.fail("GET / answered something that is not an HTML page (no <!doctype html>)", expected)
        );
    }

    let scripts = attribute_values(&html, "script", "src", |_| true);
    let styles =
        attribute_values(&html, "link", "href", |tag| tag.to_ascii_lowercase().contains("stylesheet"));
    if scripts.is_empty() || styles.is_empty() {
        return Err(page.fail(
            "the page names no script (<script src=…>) or no stylesheet (<link rel=\"stylesheet\" href=…>)",
            "the board's page, which loads its script and its styles from the server",
        ));
    }
    let mut code = String::new();
    for (files, types, what) in [
        (&scripts, &["text/javascript", "application/javascript"][..], "script"),
        (&styles, &["text/css"][..], "stylesheet"),
    ] {
        for file in files {
            let exchange = t.request("GET", path_of(file)).send().await?;
            let expected = format!("200 OK with Content-Type: {} (the page loads this {what})", types[0]);
            exchange.expect_status(200, &expected)?;
            let content_type = exchange.header("content-type").unwrap_or("");
            if !types.iter().any(|ty| content_type.starts_with(ty)) {
                return Err(exchange.fail(
                    format!(
                        "the page's {what} {file} is served as {content_type:?}: a browser refuses a {what} \
                         of any type but {}",
                        types[0]
                    ),
                    expected,
                ));
            }
            if what == "script" {
                code += &String::from_utf8_lossy(&exchange.body);
            }
        }
    }
    for api in ["EventSource", "WebSocket"] {
        if !code.contains(api) {
            return Err(Failure::new(format!("the page's scripts never use {api}"))
                .sent(format!("GET / and its scripts {scripts:?}"))
                .expected("the board's page: an EventSource for the board's events, a WebSocket for presence")
                .got(format!("{} bytes of script without {api:?}", code.len())));
        }
    }
    Ok(())
}

check!(Check {
    name: a_task_created_over_http_reaches_every_sse_subscriber_of_its_board_only,
    stage: TOGETHER,
    section: STATE_SECTION,
    hints: &[
        "One router, one `AppState`: chapter 1's routes, chapter 2's `/boards/{board}/events` and \
         chapter 5's `/ws`, with `.with_state(AppState::new(config))` once, at the end.",
        "Keep chapter 2's CORS layer on the router (`.layer(cors())`): the book's panels read the \
         stream from another origin.",
    ],
    needs: Needs::Address,
});
async fn a_task_created_over_http_reaches_every_sse_subscriber_of_its_board_only(
    t: Target,
) -> Result<(), Failure> {
    let (one, two) = (t.board(1), t.board(2));
    // The first subscriber is a page of the book, on another origin.
    let mut from_the_book = subscribe(&t, &one, &[("Origin", BOOK_ORIGIN)]).await?;
    let allowed = from_the_book.header("access-control-allow-origin").unwrap_or("").to_owned();
    if allowed != "*" && allowed != BOOK_ORIGIN {
        return Err(from_the_book.fail(
            format!(
                "the stream, asked for from {BOOK_ORIGIN}, answers Access-Control-Allow-Origin {allowed:?}"
            ),
            format!(
                "Access-Control-Allow-Origin: * (or {BOOK_ORIGIN}): without it the browser hides the \
                 stream from the book's page"
            ),
        ));
    }
    let mut same_board = subscribe(&t, &one, &[]).await?;
    let mut other_board = subscribe(&t, &two, &[]).await?;

    let task = create_over_http(&t, &one, "Design login page").await?;
    let why = format!(
        "a task was created on {one} with POST /boards/{one}/tasks; every stream of {one} hears of it"
    );
    expect_event(&mut from_the_book, "task_created", &task, &why).await?;
    expect_event(&mut same_board, "task_created", &task, &why).await?;

    // The marker: a task on the other board must be the first thing its stream says.
    let marker = create_over_http(&t, &two, "Plan the sprint").await?;
    expect_event(
        &mut other_board,
        "task_created",
        &marker,
        &format!("a task was created on {two}; the task created on {one} before it is none of this stream's business"),
    )
    .await?;
    Ok(())
}

/// The values of attribute `attribute` of every `<tag …>` in `html` that
/// `keep` accepts, as written.
fn attribute_values(html: &str, tag: &str, attribute: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut values = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find(&open).map(|i| from + i) {
        let end = lower[start..].find('>').map_or(lower.len(), |i| start + i);
        from = end;
        let element = &html[start..end];
        if !keep(element) {
            continue;
        }
        let name = format!("{attribute}=");
        let Some(at) = element.to_ascii_lowercase().find(&name).map(|i| i + name.len()) else { continue };
        let rest = &element[at..];
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or(""),
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""),
        };
        if !value.is_empty() {
            values.push(value.to_owned());
        }
    }
    values
}

/// The path a page at `/` loads `file` from.
fn path_of(file: &str) -> String {
    match file.strip_prefix("./") {
        Some(relative) => format!("/{relative}"),
        None if file.starts_with('/') => file.to_owned(),
        None => format!("/{file}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pages_scripts_and_stylesheets() {
        let html = r#"<!doctype html><link rel="icon" href="data:,"><LINK REL=stylesheet HREF='board.css'>
            <script type="module" src="./board.js"></script><script>inline()</script>"#;
        assert_eq!(attribute_values(html, "script", "src", |_| true), ["./board.js"]);
        let sheets =
            attribute_values(html, "link", "href", |tag| tag.to_ascii_lowercase().contains("stylesheet"));
        assert_eq!(sheets, ["board.css"]);
        assert_eq!(path_of("./board.js"), "/board.js");
        assert_eq!(path_of("board.css"), "/board.css");
        assert_eq!(path_of("/static/app.js"), "/static/app.js");
    }
}
