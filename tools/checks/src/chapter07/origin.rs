//! Stage 2, "Origin: who may open a socket".

use crate::check::check;
use crate::dial::Dial;
use crate::{Failure, Needs, Target};

use super::servers::{short_vars, start};
use super::sign_in::{join, sign_in_if_offered};
use super::{CORS_SECTION, ORIGIN, ORIGIN_SECTION, STARTS_ITS_OWN};

/// The locally served book: allowed by default.
const BOOK_ORIGIN: &str = "http://localhost:4000";

/// A page no server of the course knows.
const EVIL_ORIGIN: &str = "https://evil.example";

check!(Check {
    name: a_websocket_handshake_from_an_unknown_origin_gets_403,
    stage: ORIGIN,
    section: ORIGIN_SECTION,
    hints: &[
        "`origin::guard` runs before every handler: a request with an `Origin` that \
         `Origins::allows` refuses gets `403` and goes no further.",
        "`Origins::allows(origin, host)`: the origin is on the list, or it is the server's own — \
         `http://` or `https://` followed by exactly the request's `Host`.",
    ],
    needs: Needs::Address,
});
async fn a_websocket_handshake_from_an_unknown_origin_gets_403(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in_if_offered(&dial, "Alice").await?;
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", EVIL_ORIGIN)
        .websocket()
        .await?;
    let expected = "403 Forbidden, and no upgrade: a page from an unknown origin must not get a socket \
                    that carries the user's cookie";
    match opened {
        Ok(mut ws) => {
            ws.send_json(&join(&t.board(1), "Alice")).await.ok();
            Err(ws.fail(
                format!("a WebSocket handshake with Origin: {EVIL_ORIGIN} was upgraded (101)"),
                expected,
            ))
        }
        Err(answer) => answer.expect_status(403, expected),
    }?;
    // The server carries on.
    let answer = dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200 OK: refusing one page changes nothing for anyone else")
}

check!(Check {
    name: a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded,
    stage: ORIGIN,
    section: ORIGIN_SECTION,
    hints: &[
        "The server's own pages send `Origin: http://<the Host they were served from>`; the book's \
         panels send `Origin: http://localhost:4000`, on the list by default. Both are allowed.",
        "No `Origin` at all is not a browser: let it through (the session or ticket is its check).",
    ],
    needs: Needs::Address,
});
async fn a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in_if_offered(&dial, "Alice").await?;
    for origin in [Some(dial.origin()), Some(BOOK_ORIGIN.to_owned()), None] {
        let opened = dial
            .request("GET", "/ws")
            .header_opt("Cookie", cookie.as_deref())
            .header_opt("Origin", origin.as_deref())
            .websocket()
            .await?;
        if let Err(answer) = opened {
            let which = match &origin {
                Some(origin) if *origin == dial.origin() => format!("Origin: {origin} (the server's own)"),
                Some(origin) => format!("Origin: {origin} (the locally served book, allowed by default)"),
                None => "no Origin (not a browser)".to_owned(),
            };
            return Err(answer.fail(
                format!("a WebSocket handshake with {which} got {} instead of 101", answer.status),
                "101 Switching Protocols",
            ));
        }
    }
    Ok(())
}

check!(Check {
    name: allowed_origins_come_from_the_setting,
    stage: ORIGIN,
    section: ORIGIN_SECTION,
    hints: &["`Origins::new` takes `config.allowed_origins`, which `ALLOWED_ORIGINS` replaces: \
              with it set, the book's origin is no longer allowed unless it is listed."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn allowed_origins_come_from_the_setting(t: Target) -> Result<(), Failure> {
    let listed = "https://board.example";
    let mut server = start(&t, short_vars(&t).with("ALLOWED_ORIGINS", listed)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", listed)
        .websocket()
        .await?;
    if let Err(answer) = opened {
        return Err(answer.fail(
            format!("with ALLOWED_ORIGINS={listed}, a handshake from {listed} got {}", answer.status),
            "101 Switching Protocols: the origin is on the list",
        ));
    }
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", BOOK_ORIGIN)
        .websocket()
        .await?;
    let expected = "403: ALLOWED_ORIGINS replaces the default list, so the book's origin is no longer on it";
    match opened {
        Ok(ws) => Err(ws.fail(
            format!("with ALLOWED_ORIGINS={listed}, a handshake from {BOOK_ORIGIN} was upgraded"),
            expected,
        )),
        Err(answer) => answer.expect_status(403, expected),
    }
}

check!(Check {
    name: cors_answers_allowed_origins_only,
    stage: ORIGIN,
    section: CORS_SECTION,
    hints: &["`origin::cors`: `AllowOrigin::predicate` with `Origins::allows`, never `Any` — and \
         `allow_credentials(true)`, so the book's panels may send the session cookie."],
    needs: Needs::Address,
});
async fn cors_answers_allowed_origins_only(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let path = format!("/boards/{}/tasks", t.board(1));
    let allowed = dial.request("GET", &path).header("Origin", BOOK_ORIGIN).send().await?;
    let expected = format!(
        "200 with Access-Control-Allow-Origin: {BOOK_ORIGIN} and Access-Control-Allow-Credentials: true"
    );
    allowed.expect_status(200, &expected)?;
    if allowed.header("access-control-allow-origin") != Some(BOOK_ORIGIN) {
        return Err(allowed.fail(
            format!("a request from {BOOK_ORIGIN} got no Access-Control-Allow-Origin naming it"),
            expected,
        ));
    }
    if allowed.header("access-control-allow-credentials") != Some("true") {
        return Err(allowed.fail(
            "CORS does not allow credentials: the book's panels could not send the session cookie",
            expected,
        ));
    }
    let refused = dial.request("GET", &path).header("Origin", EVIL_ORIGIN).send().await?;
    match refused.header("access-control-allow-origin") {
        None => Ok(()),
        Some(value) => Err(refused.fail(
            format!("a request from {EVIL_ORIGIN} got Access-Control-Allow-Origin: {value}"),
            "no Access-Control-Allow-Origin (or a 403): an unknown page must not read the answer",
        )),
    }
}
