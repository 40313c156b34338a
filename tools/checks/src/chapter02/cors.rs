//! Stage 5, "Other origins".

use std::time::Duration;

use serde_json::json;

use crate::check::check;
use crate::http::Exchange;
use crate::sse::EventStream;
use crate::{Failure, Needs, Target};

use super::api::create_task;
use super::{CORS, CORS_SECTION};

/// The origin the book is served from locally; its pages call the server.
const BOOK_ORIGIN: &str = "http://localhost:4000";

check!(Check {
    name: the_api_and_the_stream_allow_other_origins,
    stage: CORS,
    section: CORS_SECTION,
    hints: &[
        "Add a `tower_http::cors::CorsLayer` to the router: `allow_origin(Any)`, the methods the \
         API uses, and the request headers `Content-Type` and `Last-Event-ID`.",
        "A `POST` with `Content-Type: application/json` or any `PATCH` from another origin is \
         preceded by an `OPTIONS` preflight: the layer answers it.",
        "A page reads only the response headers CORS exposes: `expose_headers([header::LOCATION])` \
         lets it read where a created task lives.",
    ],
    needs: Needs::Address,
});
async fn the_api_and_the_stream_allow_other_origins(t: Target) -> Result<(), Failure> {
    let board = t.board(1);
    let allowed = |value: Option<&str>| value.is_some_and(|v| v == "*" || v == BOOK_ORIGIN);
    let expected_origin =
        format!("Access-Control-Allow-Origin: * (or {BOOK_ORIGIN}), so the book's pages may read the answer");

    let path = format!("/boards/{board}/events");
    let mut stream = EventStream::open(&t, &path, &[("Origin", BOOK_ORIGIN)]).await?;
    stream.expect_event_stream().await?;
    if !allowed(stream.header("access-control-allow-origin")) {
        stream.read_for(Duration::from_millis(200)).await;
        return Err(stream.fail(
            "the event stream does not allow another origin: EventSource on the book's page would fail",
            expected_origin,
        ));
    }
    drop(stream);

    let exchange =
        t.request("GET", format!("/boards/{board}/tasks")).header("Origin", BOOK_ORIGIN).send().await?;
    exchange.expect_status(200, "200 OK with the tasks")?;
    if !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail("GET of the tasks does not allow another origin", expected_origin));
    }
    let task = create_task(&t, &board, "Design login page").await?;
    let exchange = t
        .request("GET", format!("/boards/{board}/tasks/task-1"))
        .header("Origin", BOOK_ORIGIN)
        .send()
        .await?;
    let expected = format!("200 OK with the task {task}, and {expected_origin}");
    exchange.expect_status(200, &expected)?;
    if exchange.expect_json(&expected)? != task || !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail("GET of a task does not give it to another origin", expected));
    }
    // A page that creates a task reads where it lives from Location.
    let exchange = t
        .request("POST", format!("/boards/{board}/tasks"))
        .header("Origin", BOOK_ORIGIN)
        .json(&json!({"title": "Write the API"}))
        .send()
        .await?;
    let expected = format!(
        "201 Created with {expected_origin}, and Access-Control-Expose-Headers listing Location, so \
         the page may read where the new task lives"
    );
    exchange.expect_status(201, &expected)?;
    let exposes_location = exchange
        .header("access-control-expose-headers")
        .is_some_and(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case("location")));
    if !allowed(exchange.header("access-control-allow-origin")) || !exposes_location {
        return Err(
            exchange.fail("a cross-origin create does not expose the Location header to the page", expected)
        );
    }
    // Errors too: a page must be able to read why its request failed.
    let exchange = t
        .request("GET", format!("/boards/{board}/tasks/task-99"))
        .header("Origin", BOOK_ORIGIN)
        .send()
        .await?;
    exchange.expect_error(404, r#"404 Not Found with {"error": "…"}, as in chapter 1"#)?;
    if !allowed(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail(
            "an error response does not allow another origin: the page could not read why its request failed",
            expected_origin,
        ));
    }

    let preflights = [
        (format!("/boards/{board}/tasks"), "POST", "content-type"),
        (format!("/boards/{board}/tasks/task-1"), "PATCH", "content-type"),
        (format!("/boards/{board}/tasks/task-1"), "DELETE", ""),
        (format!("/boards/{board}/events"), "GET", "last-event-id"),
    ];
    for (path, method, header) in preflights {
        let mut request = t
            .request("OPTIONS", path)
            .header("Origin", BOOK_ORIGIN)
            .header("Access-Control-Request-Method", method);
        if !header.is_empty() {
            request = request.header("Access-Control-Request-Headers", header);
        }
        let exchange = request.send().await?;
        let expected = format!(
            "a successful preflight (200 or 204) with Access-Control-Allow-Origin, \
             Access-Control-Allow-Methods listing {method}{}",
            if header.is_empty() {
                String::new()
            } else {
                format!(" and Access-Control-Allow-Headers listing {header}")
            }
        );
        preflight_allows(&exchange, method, header, &expected, allowed)?;
    }
    Ok(())
}

fn preflight_allows(
    exchange: &Exchange,
    method: &str,
    header: &str,
    expected: &str,
    allowed_origin: impl Fn(Option<&str>) -> bool,
) -> Result<(), Failure> {
    let lists = |name: &str, item: &str| {
        exchange
            .header(name)
            .is_some_and(|v| v.split(',').any(|x| x.trim() == "*" || x.trim().eq_ignore_ascii_case(item)))
    };
    let request = format!("the preflight for a cross-origin {method}");
    if !(200..300).contains(&exchange.status) {
        return Err(exchange.fail(format!("{request} was answered {}", exchange.status), expected));
    }
    if !allowed_origin(exchange.header("access-control-allow-origin")) {
        return Err(exchange.fail(format!("{request} does not allow the origin"), expected));
    }
    if !lists("access-control-allow-methods", method) {
        return Err(exchange.fail(format!("{request} does not allow the method {method}"), expected));
    }
    if !header.is_empty() && !lists("access-control-allow-headers", header) {
        return Err(exchange.fail(format!("{request} does not allow the header {header}"), expected));
    }
    Ok(())
}
