//! Stage 3, "Sessions and tickets".

use std::time::Duration;

use serde_json::{Value, json};

use crate::check::check;
use crate::dial::Dial;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::launch::{LogsCaptured, logs};
use super::servers::{short_vars, start, start_tls};
use super::sign_in::{has_attribute, join, set_cookie, sign_in, ticket};
use super::{AUTH, LOGS_SECTION, SESSION_SECTION, SIGN_OUT_SECTION, STARTS_ITS_OWN, TICKET_SECTION};

check!(Check {
    name: signing_in_sets_an_httponly_samesite_session_cookie,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &[
        "`auth::sign_in`: store the user under a new token (`Expiring::insert`) and answer `204` \
         with `Set-Cookie: session=<token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<seconds>`.",
        "An empty `user` is a `422`, like an empty title.",
    ],
    needs: Needs::Address,
});
async fn signing_in_sets_an_httponly_samesite_session_cookie(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let answer = dial.request("POST", "/session").json(&json!({"user": "Alice"})).send().await?;
    let expected = "204 No Content with Set-Cookie: session=…; Path=/; HttpOnly; SameSite=Lax";
    answer.expect_status(204, expected)?;
    let Some(cookie) = set_cookie(&answer) else {
        return Err(answer.fail("POST /session set no session cookie", expected));
    };
    for attribute in ["HttpOnly", "SameSite=Lax"] {
        if !has_attribute(cookie, attribute) {
            return Err(answer.fail(format!("the session cookie lacks {attribute}"), expected));
        }
    }
    let empty = dial.request("POST", "/session").json(&json!({"user": " "})).send().await?;
    empty.expect_status(422, "422 Unprocessable Content: a session needs a user that is not empty")
}

check!(Check {
    name: the_session_cookie_is_secure_under_tls,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &["Add `; Secure` to the cookie when the server speaks TLS (`config.tls.is_some()`): a \
              browser then never sends it over plain HTTP, where anyone on the path could read it."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn the_session_cookie_is_secure_under_tls(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = server.dial.request("POST", "/session").json(&json!({"user": "Alice"})).send().await;
    let answer = server.explain(outcome).await?;
    let expected = "204 with Set-Cookie: session=…; HttpOnly; SameSite=Lax; Secure";
    answer.expect_status(204, expected)?;
    match set_cookie(&answer) {
        Some(cookie) if has_attribute(cookie, "Secure") => Ok(()),
        Some(_) => Err(answer.fail("under TLS the session cookie lacks Secure", expected)),
        None => Err(answer.fail("POST /session set no session cookie", expected)),
    }
}

/// Requires `401` and no stream for `GET /boards/{board}/events`.
async fn expect_events_refused(dial: &Dial, path: &str, why: &str) -> Result<(), Failure> {
    let events = dial.request("GET", path).events().await?;
    if events.answer.status != 401 {
        return Err(events.fail(
            format!("GET {path} {why} answered {}; expected 401", events.answer.status),
            "401 Unauthorized, and no stream",
        ));
    }
    Ok(())
}

/// Requires `401` and no upgrade for a WebSocket handshake.
async fn expect_ws_refused(call: crate::dial::Call, why: &str) -> Result<(), Failure> {
    let line = call.line();
    match call.websocket().await? {
        Ok(ws) => {
            Err(ws.fail(format!("{line} {why} was upgraded (101)"), "401 Unauthorized, and no upgrade"))
        }
        Err(answer) => answer.expect_status(401, &format!("401 Unauthorized: {why}")),
    }
}

check!(Check {
    name: streams_refuse_a_request_without_a_session_or_ticket,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &[
        "`auth::needs` is the policy: `/ws` and `/boards/{board}/events` need \
         `Needs::SessionOrTicket`. `auth::gate` answers `401` when the request brings neither.",
        "The routes are matched as written in the router (`MatchedPath`): `/boards/{board}/events`, \
         braces included.",
    ],
    needs: Needs::Address,
});
async fn streams_refuse_a_request_without_a_session_or_ticket(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    expect_ws_refused(dial.request("GET", "/ws"), "without a session or a ticket").await?;
    expect_ws_refused(
        dial.request("GET", "/ws").header("Cookie", "session=made-up"),
        "with a session cookie the server never issued",
    )
    .await?;
    expect_events_refused(&dial, &format!("/boards/{}/events", t.board(1)), "without a session or a ticket")
        .await
}

check!(Check {
    name: the_session_cookie_opens_the_event_stream_and_the_websocket,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &["`Auth::session_user` finds the `session` cookie in the `Cookie` header (there may be \
              other cookies around it, separated by `; `) and looks it up."],
    needs: Needs::Address,
});
async fn the_session_cookie_opens_the_event_stream_and_the_websocket(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    // Other cookies around ours, as a browser sends them.
    let cookies = format!("theme=dark; {cookie}; lang=en");
    let board = t.board(1);
    let mut events =
        dial.request("GET", format!("/boards/{board}/events")).header("Cookie", &cookies).events().await?;
    events.answer.expect_status(200, "200 OK and an event stream, for the signed-in user")?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    match dial.request("GET", "/ws").header("Cookie", &cookies).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "the presence snapshot").await?;
            Ok(())
        }
        Err(answer) => Err(answer.fail(
            format!("GET /ws with the session cookie answered {}", answer.status),
            "101 Switching Protocols",
        )),
    }
}

check!(Check {
    name: http_writes_need_the_session_and_reads_do_not,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &["In `auth::needs`: a route under `/boards/` with a method that is not safe \
              (`!method.is_safe()`: POST, PATCH, DELETE) needs `Needs::Session`; GET needs nothing."],
    needs: Needs::Address,
});
async fn http_writes_need_the_session_and_reads_do_not(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let board = t.board(1);
    let tasks = format!("/boards/{board}/tasks");
    let anonymous = dial.request("POST", &tasks).json(&json!({"title": "Sneak in"})).send().await?;
    anonymous.expect_status(401, "401 Unauthorized: changing the board needs a session")?;
    let cookie = sign_in(&dial, "Alice").await?;
    let created = dial
        .request("POST", &tasks)
        .header("Cookie", &cookie)
        .json(&json!({"title": "Sign in"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created, with the session")?;
    let task = format!("{tasks}/task-1");
    let moved = dial.request("PATCH", &task).json(&json!({"column": "done"})).send().await?;
    moved.expect_status(401, "401 Unauthorized: moving a task needs a session")?;
    let deleted = dial.request("DELETE", &task).send().await?;
    deleted.expect_status(401, "401 Unauthorized: deleting a task needs a session")?;
    let listed = dial.request("GET", &tasks).send().await?;
    listed.expect_status(200, "200 OK: reading the board needs no session")?;
    if listed.json("the list")?.as_array().map(Vec::len) != Some(1) {
        return Err(listed.fail(
            "after a refused PATCH and DELETE the task list is not the one task",
            "the task, still in todo: a 401 changes nothing",
        ));
    }
    Ok(())
}

check!(Check {
    name: join_must_name_the_signed_in_user,
    stage: AUTH,
    section: SESSION_SECTION,
    hints: &["`connection::upgrade` takes the `User` the gate found (`Extension<User>`) and hands it to \
              the connection; `join` compares it with the `user` of the message and answers an \
              `error` when they differ — the connection stays open.",],
    needs: Needs::Address,
});
async fn join_must_name_the_signed_in_user(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let board = t.board(1);
    let mut ws = match dial.request("GET", "/ws").header("Cookie", &cookie).websocket().await? {
        Ok(ws) => ws,
        Err(answer) => return Err(answer.fail("GET /ws with the session was not upgraded", "101")),
    };
    ws.send_json(&join(&board, "Mallory")).await?;
    let expected =
        "{\"type\":\"error\",…}: this connection is signed in as Alice, so it may not join as Mallory";
    let got = ws.next_json(expected).await?;
    if got.get("type").and_then(Value::as_str) != Some("error") {
        return Err(
            ws.fail(format!("Alice's connection joined as Mallory: the server answered {got}"), expected)
        );
    }
    ws.send_json(&join(&board, "Alice")).await?;
    ws.expect_json(
        &json!({"type": "presence", "users": ["Alice"]}),
        "the connection stays open after the error, and joins as Alice",
    )
    .await?;
    Ok(())
}

check!(Check {
    name: a_ticket_needs_the_session,
    stage: AUTH,
    section: TICKET_SECTION,
    hints: &["`POST /tickets` is `Needs::Session` in the policy; `auth::issue_ticket` stores the \
              session's user under a new token in the tickets' store and answers \
              `201 {\"ticket\": token}`."],
    needs: Needs::Address,
});
async fn a_ticket_needs_the_session(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let anonymous = dial.request("POST", "/tickets").send().await?;
    anonymous.expect_status(401, "401 Unauthorized: a ticket is for a signed-in user")?;
    let cookie = sign_in(&dial, "Alice").await?;
    ticket(&dial, &cookie).await.map(drop)
}

check!(Check {
    name: a_ticket_opens_one_connection_only,
    stage: AUTH,
    section: TICKET_SECTION,
    hints: &[
        "In the gate, a `?ticket=` is *taken* from the store (`Expiring::take`): the second time it \
         is not there, and the answer is `401`.",
        "A ticket, when there is one, decides on its own: don't fall back to the cookie when it \
         is used up.",
    ],
    needs: Needs::Address,
});
async fn a_ticket_opens_one_connection_only(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let board = t.board(1);
    let first = ticket(&dial, &cookie).await?;
    let path = format!("/ws?ticket={first}");
    match dial.request("GET", &path).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "presence, as Alice").await?;
        }
        Err(answer) => {
            return Err(answer.fail(format!("GET /ws?ticket=… answered {}", answer.status), "101, once"));
        }
    }
    expect_ws_refused(dial.request("GET", &path), "with a ticket that was already used").await?;
    let second = ticket(&dial, &cookie).await?;
    let events_path = format!("/boards/{board}/events?ticket={second}");
    let events = dial.request("GET", &events_path).events().await?;
    events.answer.expect_status(200, "200 OK and an event stream, with a fresh ticket")?;
    drop(events);
    expect_events_refused(&dial, &events_path, "with a ticket that was already used").await
}

check!(Check {
    name: an_expired_ticket_is_refused,
    stage: AUTH,
    section: TICKET_SECTION,
    hints: &["The tickets' store lives `config.ticket_ttl` (`TICKET_TTL_MS`): build it with that, \
              not with the session's time to live."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn an_expired_ticket_is_refused(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(200);
    let mut server = start(&t, short_vars(&t).with("TICKET_TTL_MS", ttl.as_millis())).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let stale = ticket(&dial, &cookie).await?;
    // Not synchronisation: the ticket must be older than its time to live.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    expect_ws_refused(
        dial.request("GET", format!("/ws?ticket={stale}")),
        "with a ticket past TICKET_TTL_MS=200",
    )
    .await
}

check!(Check {
    name: signing_out_ends_the_session,
    stage: AUTH,
    section: SIGN_OUT_SECTION,
    hints: &["`auth::sign_out` removes the session from the store — the browser forgetting the \
              cookie is not enough, a copy of it must stop working — and answers `204` with a \
              cookie that expires at once (`Max-Age=0`)."],
    needs: Needs::Address,
});
async fn signing_out_ends_the_session(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let out = dial.request("DELETE", "/session").header("Cookie", &cookie).send().await?;
    let expected = "204 No Content with a Set-Cookie: session=…; Max-Age=0 that ends the cookie";
    out.expect_status(204, expected)?;
    match set_cookie(&out) {
        Some(value)
            if has_attribute(value, "Max-Age=0") || value.to_ascii_lowercase().contains("expires=") => {}
        _ => return Err(out.fail("DELETE /session did not tell the browser to drop the cookie", expected)),
    }
    expect_ws_refused(dial.request("GET", "/ws").header("Cookie", &cookie), "with a signed-out session")
        .await?;
    let write = dial
        .request("POST", format!("/boards/{}/tasks", t.board(1)))
        .header("Cookie", &cookie)
        .json(&json!({"title": "After sign-out"}))
        .send()
        .await?;
    write.expect_status(401, "401 Unauthorized: a copy of the cookie must stop working after sign-out")
}

check!(Check {
    name: an_expired_session_is_refused,
    stage: AUTH,
    section: SIGN_OUT_SECTION,
    hints: &["The sessions' store lives `config.session_ttl` (`SESSION_TTL_MS`), and a session is \
              looked up with `Expiring::get`, which ignores an expired one."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn an_expired_session_is_refused(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(300);
    let mut server = start(&t, short_vars(&t).with("SESSION_TTL_MS", ttl.as_millis())).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    // Not synchronisation: the session must be older than its time to live.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    expect_ws_refused(
        server.dial.request("GET", "/ws").header("Cookie", &cookie),
        "with a session past SESSION_TTL_MS=300",
    )
    .await
}

check!(Check {
    name: tickets_never_appear_in_the_logs,
    stage: AUTH,
    section: LOGS_SECTION,
    hints: &["Log `request.uri().path()`, never `request.uri()`: the query may hold a ticket. The \
              same goes for any `tracing` line you added that prints a URI or a ticket."],
    needs: Needs::Code("reads the server's logs, which only the test binary can capture"),
});
async fn tickets_never_appear_in_the_logs(t: Target) -> Result<(), Failure> {
    t.local::<LogsCaptured>()?;
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    let mut used = Vec::new();
    let ws_ticket = ticket(&dial, &cookie).await?;
    match dial.request("GET", format!("/ws?ticket={ws_ticket}")).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            // The presence snapshot comes after the join was handled (and logged).
            ws.expect_json(&json!({"type": "presence"}), "presence, as Alice").await?;
        }
        Err(answer) => return Err(answer.fail("GET /ws?ticket=… was not upgraded", "101")),
    }
    used.push(ws_ticket);
    let sse_ticket = ticket(&dial, &cookie).await?;
    let mut events =
        dial.request("GET", format!("/boards/{board}/events?ticket={sse_ticket}")).events().await?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    used.push(sse_ticket);
    let logs = logs();
    if logs.trim().is_empty() {
        return Err(Failure::new(
            "the checks captured no log lines at all, so they cannot tell whether a ticket is logged",
        )
        .expected("your server's tracing lines (tests/checks.rs installs the capture)"));
    }
    for ticket in used {
        if let Some(line) = logs.lines().find(|line| line.contains(&ticket)) {
            return Err(Failure::new("a ticket appears in the server's logs")
                .sent(format!("GET /ws?ticket={ticket} (and the event stream with another)"))
                .expected("log lines without the query string: GET /ws → 101")
                .got(line.to_owned()));
        }
    }
    Ok(())
}
