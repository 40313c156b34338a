//! Chapter 6, "The real-time task board": one server for HTTP, SSE and
//! WebSockets, one shared state, task commands with acks, and the page.
//!
//! What earlier chapters check (the API, the event stream, presence) is not
//! checked again here; these checks are about the pieces working together:
//! - the page at `/`, with its script and styles;
//! - a task created over HTTP reaches every event stream of its board, and
//!   only of its board, on the same server that serves the page;
//! - `create_task` and `move_task` over the WebSocket: an `ack` with the
//!   task on the socket that sent the command and on no other, the change on
//!   every event stream, and an `error` carrying the `requestId` when the
//!   command cannot be run;
//! - presence still works next to the commands.

use serde_json::{Value, json};

use crate::chapter05::{
    enter_as, join, joined, left, presence, typing, typing_request, typing_stopped, typing_stopped_request,
};
use crate::http::{ANSWER_TIMEOUT, Exchange};
use crate::sse::EventStream;
use crate::ws::{Transcript, WsClient, json_matches};
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 6,
    slug: "06-board",
    title: "The real-time task board",
    // Nothing here waits for a heartbeat, a keep-alive or a typing
    // indicator to expire, so the production defaults serve, and every
    // check runs against a server at a URL as well.
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

const PAGE: &str = "ch06-board.md";

/// The origin the book is served from locally; its "try it" panels read the
/// server's event streams from there.
const BOOK_ORIGIN: &str = "http://localhost:4000";

const TOGETHER: Stage = Stage { number: 1, slug: "together", title: "One server, one state" };
const COMMANDS: Stage = Stage { number: 2, slug: "commands", title: "Task commands with acks" };
const ERRORS: Stage = Stage { number: 3, slug: "errors", title: "Errors that name their request" };
const PRESENCE: Stage = Stage { number: 4, slug: "presence", title: "Presence next to the commands" };

const PAGE_SECTION: Section =
    Section { page: PAGE, anchor: "the-page-at-the-root", title: "The page at the root" };
const STATE_SECTION: Section =
    Section { page: PAGE, anchor: "one-state-every-tab", title: "One state, every tab" };
const COMMANDS_SECTION: Section = Section {
    page: PAGE,
    anchor: "task-commands-over-the-websocket",
    title: "Task commands over the WebSocket",
};
const ACK_SECTION: Section = Section {
    page: PAGE,
    anchor: "the-ack-goes-to-one-socket-the-change-to-everyone",
    title: "The ack goes to one socket, the change to everyone",
};
const ERRORS_SECTION: Section =
    Section { page: PAGE, anchor: "errors-that-name-their-request", title: "Errors that name their request" };
const PRESENCE_SECTION: Section =
    Section { page: PAGE, anchor: "presence-next-to-the-commands", title: "Presence next to the commands" };

const CHECKS: &[Check] = &[
    Check {
        name: "the_page_is_served_at_the_root_with_its_script_and_styles",
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
        body: |t| Box::pin(the_page_is_served_at_the_root_with_its_script_and_styles(t)),
    },
    Check {
        name: "a_task_created_over_http_reaches_every_sse_subscriber_of_its_board_only",
        stage: TOGETHER,
        section: STATE_SECTION,
        hints: &[
            "One router, one `AppState`: chapter 1's routes, chapter 2's `/boards/{board}/events` and \
             chapter 5's `/ws`, with `.with_state(AppState::new(config))` once, at the end.",
            "Keep chapter 2's CORS layer on the router (`.layer(cors())`): the book's panels read the \
             stream from another origin.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_task_created_over_http_reaches_every_sse_subscriber_of_its_board_only(t)),
    },
    Check {
        name: "create_task_is_acked_with_the_task_on_that_socket_only",
        stage: COMMANDS,
        section: COMMANDS_SECTION,
        hints: &[
            "In `Connection::on_text`, a `ClientMessage::CreateTask` runs `commands::create_task` on the \
             board this connection joined (`member.board`), with the shared `self.state.boards`.",
            "`Connection::reply` answers `ServerMessage::Ack { request_id, task }` through `self.outbox`: \
             the outbox reaches this socket only. The room would tell everyone on the board.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(create_task_is_acked_with_the_task_on_that_socket_only(t)),
    },
    Check {
        name: "move_task_is_acked_with_the_moved_task",
        stage: COMMANDS,
        section: COMMANDS_SECTION,
        hints: &[
            "`commands::move_task` moves the task with `Boards::move_to`, which returns the task as it \
             is *after* the move: ack that one.",
            "A move over the WebSocket changes the same board as a `PATCH`: afterwards `GET` shows the \
             task in its new column.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(move_task_is_acked_with_the_moved_task(t)),
    },
    Check {
        name: "commands_over_the_websocket_reach_every_sse_subscriber",
        stage: COMMANDS,
        section: ACK_SECTION,
        hints: &[
            "Don't send the change over the WebSocket yourself: `Boards::create` and `Boards::move_to` \
             publish it to the board's feed, and every event stream of the board is subscribed to it.",
            "The connection must use the server's one `Boards` (`self.state.boards`), not a `Boards` of \
             its own: otherwise its tasks live on a board no stream is watching.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(commands_over_the_websocket_reach_every_sse_subscriber(t)),
    },
    Check {
        name: "an_invalid_command_gets_an_error_with_its_request_id",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &[
            "`commands::create_task` refuses a blank title with `ApiError::EmptyTitle`, and \
             `commands::move_task` an unknown task with `ApiError::TaskNotFound`; `reply` turns the \
             error into `ServerMessage::Error` with `request_id: Some(request_id)`.",
            "A command serde cannot read (no title, the column \"blocked\") never becomes a \
             `ClientMessage`: `protocol::parse` reads its `requestId` on its own (`request_id_of`), so \
             the error can still carry it.",
            "Check before you change anything: a refused command uses up no id and publishes nothing.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(an_invalid_command_gets_an_error_with_its_request_id(t)),
    },
    Check {
        name: "a_command_before_join_gets_an_error_with_its_request_id",
        stage: ERRORS,
        section: ERRORS_SECTION,
        hints: &["Before `join` the connection has no board to run a command on. Answer an error with the \
             command's `requestId` (`ClientMessage::request_id`), and keep the connection open."],
        needs: Needs::Address,
        body: |t| Box::pin(a_command_before_join_gets_an_error_with_its_request_id(t)),
    },
    Check {
        name: "presence_still_holds_next_to_the_commands",
        stage: PRESENCE,
        section: PRESENCE_SECTION,
        hints: &[
            "The commands are new arms of the same `match` in `on_text`: `join`, `typing` and \
             `typing_stopped` keep doing what chapter 5 made them do.",
            "An ack goes to its sender only; it must not reach the others through the room.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(presence_still_holds_next_to_the_commands(t)),
    },
];

// ---------------------------------------------------------------------------
// Stage 1: one server, one state

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

// ---------------------------------------------------------------------------
// Stage 2: task commands with acks

async fn create_task_is_acked_with_the_task_on_that_socket_only(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut tab1 = enter_as(&t, &tr, "alice#1", &board, "Alice", &["Alice"]).await?;
    let mut tab2 = enter_as(&t, &tr, "alice#2", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    tab1.expect_json(&joined(&board, "Bob"), "Bob joined").await?;
    tab2.expect_json(&joined(&board, "Bob"), "Bob joined").await?;

    tab1.send_json(&create_task("r1", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    tab1.expect_json(&ack("r1", &task), "the answer to create_task r1: an ack with the new task").await?;

    // Markers: the next thing the other sockets hear must be the marker.
    bob.send_json(&typing_request("task-1")).await?;
    tab2.expect_json(
        &typing("Bob", "task-1"),
        "Bob is typing on task-1. The ack of r1 belongs to the socket that sent r1: Alice's other tab \
         gets nothing before this",
    )
    .await?;
    tab1.expect_json(&typing("Bob", "task-1"), "Bob is typing on task-1").await?;
    tab1.send_json(&typing_request("task-1")).await?;
    bob.expect_json(
        &typing("Alice", "task-1"),
        "Alice is typing on task-1. Bob never gets an ack of Alice's command",
    )
    .await?;
    Ok(())
}

async fn move_task_is_acked_with_the_moved_task(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let first = create_over_http(&t, &board, "Design login page").await?;
    create_over_http(&t, &board, "Write the API").await?;
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined").await?;

    for (request, column) in [("r7", "doing"), ("r8", "done")] {
        alice.send_json(&move_task(request, "task-2", column)).await?;
        let task = json!({"id": "task-2", "title": "Write the API", "column": column});
        alice
            .expect_json(
                &ack(request, &task),
                &format!("the answer to move_task {request}: an ack with task-2 as it is now, in {column:?}"),
            )
            .await?;
    }
    alice.send_json(&typing_request("task-2")).await?;
    bob.expect_json(&typing("Alice", "task-2"), "Alice is typing on task-2. Bob never gets Alice's acks")
        .await?;

    // The WebSocket changed the same board that HTTP reads.
    let done = json!({"id": "task-2", "title": "Write the API", "column": "done"});
    expect_task_over_http(&t, &board, &done, "task-2 was moved to done over the WebSocket").await?;
    expect_task_over_http(&t, &board, &first, "task-1 was not moved").await
}

async fn commands_over_the_websocket_reach_every_sse_subscriber(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let (one, two) = (t.board(1), t.board(2));
    let mut early = subscribe(&t, &one, &[]).await?;
    let mut elsewhere = subscribe(&t, &two, &[]).await?;
    let first = create_over_http(&t, &one, "Write the API").await?;
    expect_event(&mut early, "task_created", &first, "a task was created over HTTP").await?;

    let mut alice = enter_as(&t, &tr, "alice", &one, "Alice", &["Alice"]).await?;
    alice.send_json(&create_task("r1", "Design login page")).await?;
    let second = json!({"id": "task-2", "title": "Design login page", "column": "todo"});
    alice
        .expect_json(
            &ack("r1", &second),
            "an ack with task-2: the board counts its tasks once, whichever way they are created",
        )
        .await?;
    let why = "Alice created task-2 with create_task over the WebSocket: the board's streams hear of it";
    expect_event(&mut early, "task_created", &second, why).await.map_err(|f| with_conversation(f, &tr))?;

    let mut late = subscribe(&t, &one, &[]).await?;
    alice.send_json(&move_task("r2", "task-2", "done")).await?;
    let moved = json!({"id": "task-2", "title": "Design login page", "column": "done"});
    alice.expect_json(&ack("r2", &moved), "an ack with task-2, now in done").await?;
    let why =
        "Alice moved task-2 to done with move_task over the WebSocket: every stream of the board hears of it";
    for stream in [&mut early, &mut late] {
        expect_event(stream, "task_moved", &moved, why).await.map_err(|f| with_conversation(f, &tr))?;
    }

    let marker = create_over_http(&t, &two, "Plan the sprint").await?;
    expect_event(
        &mut elsewhere,
        "task_created",
        &marker,
        &format!("a task was created on {two}; Alice's commands changed {one} only"),
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 3: errors that name their request

async fn an_invalid_command_gets_an_error_with_its_request_id(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut stream = subscribe(&t, &board, &[]).await?;
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let refused = [
        (create_task("r1", "   "), "a task needs a title that is not blank"),
        (json!({"type": "create_task", "requestId": "r2"}), "create_task without a title"),
        (move_task("r3", "task-99", "done"), "the board has no task-99"),
    ];
    for (command, why) in &refused {
        alice.send_json(command).await?;
        expect_error_for(&mut alice, command["requestId"].as_str().unwrap_or_default(), why).await?;
    }

    alice.send_json(&create_task("r4", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    alice
        .expect_json(
            &ack("r4", &task),
            "an ack with task-1: the refused commands used up no id, and the connection stayed open",
        )
        .await?;
    alice.send_json(&move_task("r5", "task-1", "blocked")).await?;
    expect_error_for(&mut alice, "r5", "the columns are todo, doing and done").await?;
    alice.send_json(&json!({"type": "move_task", "requestId": "r6", "taskId": "task-1"})).await?;
    expect_error_for(&mut alice, "r6", "move_task without a column").await?;

    let why = "task-1, created by r4, is the first change: the refused commands published nothing";
    expect_event(&mut stream, "task_created", &task, why).await.map_err(|f| with_conversation(f, &tr))?;
    let moved = move_over_http(&t, &board, "task-1", "doing").await?;
    expect_event(
        &mut stream,
        "task_moved",
        &moved,
        "task-1 was moved to doing over HTTP; the refused moves published nothing",
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

async fn a_command_before_join_gets_an_error_with_its_request_id(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut stream = subscribe(&t, &board, &[]).await?;
    let mut alice = WsClient::connect(&t, &tr, "alice").await?;
    alice.send_json(&create_task("r1", "Design login page")).await?;
    expect_error_for(&mut alice, "r1", "a command before join: no board to create the task on").await?;
    alice.send_json(&move_task("r2", "task-1", "done")).await?;
    expect_error_for(&mut alice, "r2", "a command before join").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(&presence(&board, &["Alice"]), "the connection stayed open, and the join works")
        .await?;

    let task = create_over_http(&t, &board, "Write the API").await?;
    expect_event(
        &mut stream,
        "task_created",
        &task,
        "a task was created over HTTP, and it is task-1: the commands sent before join created nothing",
    )
    .await
    .map_err(|f| with_conversation(f, &tr))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 4: presence next to the commands

async fn presence_still_holds_next_to_the_commands(t: Target) -> Result<(), Failure> {
    let tr = Transcript::new();
    let board = t.board(1);
    let mut alice = enter_as(&t, &tr, "alice", &board, "Alice", &["Alice"]).await?;
    let mut bob = enter_as(&t, &tr, "bob", &board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(&board, "Bob"), "Bob joined Alice's board").await?;

    alice.send_json(&create_task("r1", "Design login page")).await?;
    let task = json!({"id": "task-1", "title": "Design login page", "column": "todo"});
    alice.expect_json(&ack("r1", &task), "the ack of Alice's create_task").await?;
    bob.send_json(&typing_request("task-1")).await?;
    alice.expect_json(&typing("Bob", "task-1"), "Bob is typing on the new task").await?;
    bob.send_json(&move_task("r2", "task-1", "doing")).await?;
    let moved = json!({"id": "task-1", "title": "Design login page", "column": "doing"});
    bob.expect_json(&ack("r2", &moved), "the ack of Bob's move_task").await?;
    bob.send_json(&typing_stopped_request("task-1")).await?;
    alice
        .expect_json(
            &typing_stopped("Bob", "task-1"),
            "Bob stopped typing on task-1; the ack of his move went to him alone",
        )
        .await?;
    bob.close(1000).await?;
    alice.expect_json(&left(&board, "Bob"), "Bob closed his connection, so he left").await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks above.

fn create_task(request: &str, title: &str) -> Value {
    json!({"type": "create_task", "requestId": request, "title": title})
}

fn move_task(request: &str, task: &str, column: &str) -> Value {
    json!({"type": "move_task", "requestId": request, "taskId": task, "column": column})
}

fn ack(request: &str, task: &Value) -> Value {
    json!({"type": "ack", "requestId": request, "task": task})
}

/// Requires the next message to be an error that carries `request` and says
/// what was wrong.
async fn expect_error_for(client: &mut WsClient, request: &str, why: &str) -> Result<(), Failure> {
    let want = json!({"type": "error", "requestId": request});
    let expected = format!("{{\"type\":\"error\",\"requestId\":\"{request}\",\"message\":\"…\"}}: {why}");
    let got = client.expect_json(&want, &expected).await?;
    match got["message"].as_str() {
        Some(message) if !message.trim().is_empty() => Ok(()),
        _ => Err(client
            .fail("the error has no \"message\" saying what was wrong", expected)
            .got(got.to_string())),
    }
}

/// Opens a board's event stream with `headers`, and reads its snapshot.
async fn subscribe(t: &Target, board: &str, headers: &[(&str, &str)]) -> Result<EventStream, Failure> {
    let mut stream = EventStream::open(t, &format!("/boards/{board}/events"), headers).await?;
    stream.expect_event_stream().await?;
    let expected = "event: snapshot, the board as it is, before any live event";
    let event = stream.next_event(ANSWER_TIMEOUT, expected).await?;
    if event.name != "snapshot" {
        return Err(stream.fail(format!("a fresh stream began with `event: {}`", event.name), expected));
    }
    Ok(stream)
}

/// Requires the stream's next event to be `name` with data matching `want`,
/// and returns the data.
async fn expect_event(
    stream: &mut EventStream,
    name: &str,
    want: &Value,
    why: &str,
) -> Result<Value, Failure> {
    let expected = format!("event: {name}\ndata: {want}\n({why})");
    let event = stream.next_event(ANSWER_TIMEOUT, &expected).await?;
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    if event.name == name && json_matches(want, &data) {
        return Ok(data);
    }
    let headline = if event.name == name {
        format!("`event: {name}` came with other data than expected")
    } else {
        format!("the next event is `{}`, not `{name}`", event.name)
    };
    Err(stream.fail(format!("{}: {headline}", stream.line()), expected))
}

/// A failure on an event stream, with the WebSocket conversation that led to
/// it in front of the request.
fn with_conversation(failure: Failure, tr: &Transcript) -> Failure {
    let sent = format!("{}\nand over HTTP:\n{}", tr.render(), failure.sent.clone().unwrap_or_default());
    failure.sent(sent)
}

/// `POST /boards/{board}/tasks`, requiring `201` and the task.
async fn create_over_http(t: &Target, board: &str, title: &str) -> Result<Value, Failure> {
    let exchange =
        t.request("POST", format!("/boards/{board}/tasks")).json(&json!({ "title": title })).send().await?;
    expect_task_answer(&exchange, 201, "201 Created with the new task (chapter 1's API, on this server)")
}

/// `PATCH /boards/{board}/tasks/{task}`, requiring `200` and the task.
async fn move_over_http(t: &Target, board: &str, task: &str, column: &str) -> Result<Value, Failure> {
    let exchange = t
        .request("PATCH", format!("/boards/{board}/tasks/{task}"))
        .json(&json!({ "column": column }))
        .send()
        .await?;
    expect_task_answer(&exchange, 200, "200 OK with the moved task (chapter 1's API, on this server)")
}

/// Requires `GET` of `want`'s task to answer it as `want` is.
async fn expect_task_over_http(t: &Target, board: &str, want: &Value, why: &str) -> Result<(), Failure> {
    let id = want["id"].as_str().unwrap_or_default();
    let exchange = t.request("GET", format!("/boards/{board}/tasks/{id}")).send().await?;
    let expected = format!("200 OK with {want} ({why})");
    let got = expect_task_answer(&exchange, 200, &expected)?;
    if json_matches(want, &got) {
        Ok(())
    } else {
        Err(exchange.fail(format!("GET answers {id} as {got}, not {want}: {why}"), expected))
    }
}

fn expect_task_answer(exchange: &Exchange, status: u16, expected: &str) -> Result<Value, Failure> {
    exchange.expect_status(status, expected)?;
    exchange.expect_json(expected)
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
