//! `board-e2e`: chapter 6's task board in a real browser, end to end, and a
//! "try it" panel of the book against the same server.
//!
//! ```sh
//! .ci/check-board     # builds what it needs, then runs this
//! cargo build -p sol06-board && cargo run -p course-browser --bin board-e2e -- \
//!     --server target/debug/sol06-board
//! ```
//!
//! It starts the server on a free port, and two headless Chromiums: Alice's
//! and Bob's, each a tab of its own with the board's page (two browsers
//! rather than two tabs of one, so that each keeps its window's focus, as
//! two people's would). Then, asserting what the pages *show*:
//!
//! 1. without `?user=…&board=…` the page asks who you are, and the form
//!    leads to the board;
//! 2. each tab shows the other user online, and the connection as live;
//! 3. a task added in Alice's tab appears in Bob's, without a reload, and
//!    one added in Bob's appears in Alice's;
//! 4. moved to Done in Alice's tab (over the WebSocket, this time), it moves
//!    in both;
//! 5. Bob typing a comment on it shows "Bob is typing…" on that card in
//!    Alice's tab, which goes away by itself once `TYPING_TTL_MS` has passed;
//! 6. a `presence` message (what a tab that fell behind gets) replaces the
//!    typists the tab shows: one it does not list goes away;
//! 7. closing Bob's tab takes him off Alice's list;
//! 8. the server restarts: Alice's tab says it is reconnecting, then shows
//!    the board again — the new server's, through `reset` and a snapshot —
//!    and works;
//! 9. no JavaScript errors, other than the browser reporting the failed
//!    connections while the server was down;
//! 10. the book, built and served on loopback: the WebSocket panel of
//!     chapter 6 connects to the server, sends a join and shows the presence
//!     reply; with the server stopped, it says that no server answered.
//!
//! Screenshots go to `.ci/artifacts/screenshots/board-e2e/`.

mod book;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use course_browser::{Browser, LogEntry};
use serde_json::{Value, json};

use crate::server::BoardServer;

/// The typing indicator's time to live on the test's server: long enough to
/// see it, short enough not to wait long.
const TYPING_TTL: Duration = Duration::from_millis(2500);

/// Runs chapter 6's page and a "try it" panel in headless Chromium.
#[derive(Debug, Parser)]
#[command(name = "board-e2e")]
struct Args {
    /// The board server's binary (built with `cargo build -p sol06-board`).
    #[arg(long, default_value = "target/debug/sol06-board")]
    server: PathBuf,
    /// The course's root folder.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where the screenshots go; `<root>/.ci/artifacts/screenshots/board-e2e` by default.
    #[arg(long)]
    screenshots: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => {
            println!("board-e2e: every step passed");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("board-e2e: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let root = args.root.canonicalize().with_context(|| format!("finding {}", args.root.display()))?;
    let shots = args.screenshots.unwrap_or_else(|| root.join(".ci/artifacts/screenshots/board-e2e"));
    std::fs::create_dir_all(&shots).with_context(|| format!("creating {}", shots.display()))?;
    // An earlier run's pictures (a failure's, say) must not pass for this run's.
    for entry in std::fs::read_dir(&shots)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "png" || ext == "log") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    let ttl = TYPING_TTL.as_millis().to_string();
    let mut server = BoardServer::new(root.join(&args.server), &[("TYPING_TTL_MS", &ttl)])?;
    server.start().await?;
    println!("board-e2e: the board's server is on {}", server.url("/"));

    let alice = Browser::start().await.context("starting Alice's browser")?;
    let bob = Browser::start().await.context("starting Bob's browser")?;
    let mut tabs = Tabs { alice, bob: Some(bob), shots: shots.clone(), port: server.port() };
    let outcome = scenario(&mut tabs, &mut server, &root).await;
    if outcome.is_err() {
        tabs.failure_screenshots().await;
    }
    let _ = server.stop().await;
    let log = shots.join("server.log");
    let _ = std::fs::write(&log, server.log().join("\n") + "\n");
    let _ = tabs.alice.close().await;
    if let Some(bob) = tabs.bob {
        let _ = bob.close().await;
    }
    println!("board-e2e: screenshots in {}", shots.display());
    outcome
}

/// The two tabs, and what the steps need to know about the run.
struct Tabs {
    alice: Browser,
    /// Gone once Bob has closed his tab.
    bob: Option<Browser>,
    shots: PathBuf,
    port: u16,
}

impl Tabs {
    async fn failure_screenshots(&self) {
        let _ = self.alice.screenshot(&self.shots.join("failure-alice.png")).await;
        if let Some(bob) = &self.bob {
            let _ = bob.screenshot(&self.shots.join("failure-bob.png")).await;
        }
    }
}

async fn scenario(tabs: &mut Tabs, server: &mut BoardServer, root: &Path) -> Result<()> {
    let alice = &tabs.alice;
    let bob = tabs.bob.as_ref().context("Bob's tab")?;

    step("without ?user=…&board=… the page asks who you are, and the form opens the board");
    alice.open(&server.url("/")).await?;
    wait(
        alice,
        "Alice",
        "the sign-in form",
        "return !document.querySelector('#sign-in').hidden && document.querySelector('#board').hidden",
    )
    .await?;
    alice.screenshot(&tabs.shots.join("board-sign-in.png")).await?;
    alice.type_into("#sign-in input[name=user]", "Alice").await?;
    alice.click("#sign-in button[type=submit]").await?;
    wait(alice, "Alice", "the board for Alice on board-1", r#"return location.search.includes('user=Alice') && location.search.includes('board=board-1') && !document.querySelector('#board').hidden && document.querySelector('#board-name').textContent === 'board-1'"#).await?;
    bob.open(&server.url("/?user=Bob&board=board-1")).await?;
    // Set once: still there at the end means the page never reloaded.
    bob.eval("window.noReload = true; return true;", vec![]).await?;
    alice.eval("window.noReload = true; return true;", vec![]).await?;

    step("each tab shows the other online, and its connection as live");
    for (tab, who) in [(alice, "Alice"), (bob, "Bob")] {
        wait(tab, who, "Alice and Bob online, and the connection live", &format!(
            "return {ONLINE} === 'Alice,Bob' && document.querySelector('#connection').dataset.state === 'live'"
        ))
        .await?;
    }

    step("a task added in Alice's tab appears in Bob's without a reload, and one added in Bob's in Alice's");
    alice.type_into("#new-title", "Design login page").await?;
    alice.click("#add-task button[type=submit]").await?;
    let card = r#"document.querySelector('.card[data-id="task-1"]')"#;
    let in_column = |column: &str| {
        format!(
            "const card = {card}; return card !== null && card.querySelector('.title').textContent === 'Design login page' \
             && card.closest('.column').dataset.column === '{column}' && window.noReload === true"
        )
    };
    wait(bob, "Bob", "task-1 \"Design login page\" in To do", &in_column("todo")).await?;
    wait(alice, "Alice", "task-1 \"Design login page\" in To do", &in_column("todo")).await?;
    bob.type_into("#new-title", "Write the API").await?;
    bob.click("#add-task button[type=submit]").await?;
    let second = r#"const card = document.querySelector('.card[data-id="task-2"]'); return card !== null && card.querySelector('.title').textContent === 'Write the API' && card.closest('.column').dataset.column === 'todo'"#;
    wait(alice, "Alice", "Bob's task-2 \"Write the API\" in To do", second).await?;
    let input_cleared = alice.eval("return document.querySelector('#new-title').value", vec![]).await?;
    ensure!(
        input_cleared == json!(""),
        "Alice's new-task field still holds {input_cleared} after the task was added"
    );

    step("moved to Done in Alice's tab (commands over the WebSocket), it moves in both");
    alice
        .wait_for("#transport")
        .await?
        .select_by_value("ws")
        .await
        .context("choosing WebSocket commands in Alice's tab")?;
    alice.click(r#".card[data-id="task-1"] button[data-to="done"]"#).await?;
    wait(alice, "Alice", "task-1 in Done", &in_column("done")).await?;
    wait(bob, "Bob", "task-1 in Done", &in_column("done")).await?;
    let counts = alice
        .eval(
            "return Array.from(document.querySelectorAll('.count'), (c) => c.textContent).join(',')",
            vec![],
        )
        .await?;
    ensure!(counts == json!("1,0,1"), "Alice's column counts read {counts}, not 1,0,1");

    step("Bob typing on the task shows \"Bob is typing…\" on it in Alice's tab, until the TTL passes");
    let started = Instant::now();
    bob.type_into(r#".card[data-id="task-1"] .comment"#, "Looks good").await?;
    let typing = r#"return (() => { const line = document.querySelector('.card[data-id="task-1"] .typing'); return line !== null && !line.hidden && line.textContent; })()"#;
    let shown = wait(alice, "Alice", "\"Bob is typing…\" on task-1", typing).await?;
    ensure!(shown == json!("Bob is typing…"), "Alice's card says {shown}, not \"Bob is typing…\"");
    tabs.alice.screenshot(&tabs.shots.join("board-alice.png")).await?;
    bob.screenshot(&tabs.shots.join("board-bob.png")).await?;
    wait(alice, "Alice", "the typing indicator to go", &typing.replace("return (", "return !(")).await?;
    let lasted = started.elapsed();
    ensure!(
        lasted >= TYPING_TTL.mul_f32(0.9),
        "the indicator went after {lasted:?}, before the TTL ({TYPING_TTL:?}): Bob's tab stopped it, the \
         server did not expire it"
    );
    let focused = bob
        .eval(
            r#"return document.activeElement === document.querySelector('.card[data-id="task-1"] .comment')"#,
            vec![],
        )
        .await?;
    ensure!(
        focused == json!(true),
        "Bob's comment field lost its focus: the indicator may have stopped on blur"
    );

    step("a presence is the whole truth: applying one clears the typists it does not list");
    bob.type_into(r#".card[data-id="task-1"] .comment"#, ", really").await?;
    wait(alice, "Alice", "\"Bob is typing…\" on task-1 again", typing).await?;
    // What the server sends a tab that fell behind: here, Bob typing on
    // task-2 and no longer on task-1 (the typing_stopped the tab missed).
    let resync = json!({"type": "presence", "boardId": "board-1", "users": ["Alice", "Bob"],
                        "typing": [{"user": "Bob", "taskId": "task-2"}]});
    let applied = alice
        .eval(
            r#"const line = (id) => { const l = document.querySelector(`.card[data-id="${id}"] .typing`); return l.hidden ? '' : l.textContent; };
               const before = line('task-1');
               return import('/board.js').then((page) => {
                 page.onMessage(arguments[0]);
                 return [before, line('task-1'), line('task-2')];
               });"#,
            vec![resync],
        )
        .await?;
    ensure!(
        applied == json!(["Bob is typing…", "", "Bob is typing…"]),
        "Alice's cards (task-1 before, task-1 after, task-2 after) read {applied}: applying presence must \
         clear the typists it does not list, and show the ones it does"
    );
    wait(alice, "Alice", "Alice and Bob still online", &format!("return {ONLINE} === 'Alice,Bob'")).await?;
    let clear = json!({"type": "presence", "boardId": "board-1", "users": ["Alice", "Bob"], "typing": []});
    alice
        .eval("return import('/board.js').then((page) => page.onMessage(arguments[0]))", vec![clear])
        .await?;

    step("no JavaScript errors in Bob's tab; closing it takes Bob off Alice's list");
    expect_no_errors(bob, "Bob", |_| false).await?;
    if let Some(bob) = tabs.bob.take() {
        bob.close().await.context("closing Bob's browser")?;
    }
    wait(alice, "Alice", "only Alice online", &format!("return {ONLINE} === 'Alice'")).await?;
    expect_no_errors(alice, "Alice", |_| false).await?;

    step("the server restarts: Alice's tab reconnects and shows the board again");
    server.stop().await?;
    wait(
        alice,
        "Alice",
        "the connection shown as reconnecting",
        "return document.querySelector('#connection').dataset.state === 'reconnecting'",
    )
    .await?;
    alice.screenshot(&tabs.shots.join("board-reconnecting.png")).await?;
    server.start().await?;
    wait(
        alice,
        "Alice",
        "the connection live again, Alice online, and the new server's empty board",
        &format!(
            "return document.querySelector('#connection').dataset.state === 'live' && {ONLINE} === 'Alice' \
         && document.querySelectorAll('.card').length === 0 && window.noReload === true"
        ),
    )
    .await?;
    alice.type_into("#new-title", "After the restart").await?;
    alice.click("#add-task button[type=submit]").await?;
    wait(alice, "Alice", "task-1 \"After the restart\" in To do", r#"const card = document.querySelector('.card[data-id="task-1"]'); return card !== null && card.querySelector('.title').textContent === 'After the restart' && card.closest('.column').dataset.column === 'todo'"#).await?;

    step(
        "a command the server refuses shows its error (over the WebSocket: the error carries the requestId)",
    );
    alice.type_into("#new-title", "   ").await?;
    alice.click("#add-task button[type=submit]").await?;
    let notice = wait(
        alice,
        "Alice",
        "the error on screen",
        "const box = document.querySelector('#notice'); return !box.hidden && box.textContent",
    )
    .await?;
    ensure!(
        notice.as_str().is_some_and(|n| n.contains("a task needs a title")),
        "Alice's tab says {notice}, not why the task was refused"
    );
    let port = tabs.port;
    expect_no_errors(alice, "Alice", |entry| is_failed_connection(entry, port)).await?;

    step("the book's WebSocket panel connects, sends a join and shows the presence reply");
    let built = root.join("target/board-e2e/book");
    book::build(&root.join("book"), &built)?;
    let base = book::serve(&built).await?;
    alice.open(&format!("{base}ch06-board.html")).await?;
    let panel = ".try-it[data-kind=ws]";
    scroll_to(alice, panel).await?;
    let url = alice.wait_for(&format!("{panel} .try-it-url")).await?;
    url.clear().await?;
    url.send_keys(&format!("ws://127.0.0.1:{port}/ws")).await?;
    alice.click(&format!("{panel} .try-it-connect")).await?;
    wait(
        alice,
        "the book",
        "the panel connected",
        &format!("return document.querySelector('{panel}').dataset.state === 'open'"),
    )
    .await?;
    let join = alice
        .eval(&format!("return document.querySelector('{panel} .try-it-send-text').value"), vec![])
        .await?;
    ensure!(
        join.as_str().is_some_and(|j| j.contains("\"type\":\"join\"")),
        "the panel's message is {join}, not a join"
    );
    alice.click(&format!("{panel} .try-it-send")).await?;
    let presence = format!(
        "return Array.from(document.querySelectorAll('{panel} .try-it-in'), (l) => l.textContent).find((t) => t.includes('\"type\":\"presence\"')) || ''"
    );
    let reply = wait(alice, "the book", "the presence reply in the panel's log", &presence).await?;
    let reply = reply.as_str().unwrap_or_default();
    println!("    the panel shows: {reply}");
    // Alice's board page is gone (her tab went to the book): she must have
    // left, not linger in the back/forward cache with her socket open.
    ensure!(
        reply.contains(r#""users":["Reader"]"#),
        "the presence reply lists someone besides the panel's Reader: {reply}"
    );
    alice.screenshot(&tabs.shots.join("tryit-connected.png")).await?;
    alice.click(&format!("{panel} .try-it-close")).await?;
    wait(
        alice,
        "the book",
        "the panel closed",
        &format!("return document.querySelector('{panel}').dataset.state === 'closed'"),
    )
    .await?;

    step("the book's event-stream panel reads the stream from another origin (CORS) and sees a POST");
    let panel = ".try-it[data-kind=sse]";
    scroll_to(alice, panel).await?;
    let url = alice.wait_for(&format!("{panel} .try-it-url")).await?;
    url.clear().await?;
    url.send_keys(&format!("http://127.0.0.1:{port}/boards/board-1/events")).await?;
    alice.click(&format!("{panel} .try-it-connect")).await?;
    let log = |text: &str| {
        format!(
            "return Array.from(document.querySelectorAll('{panel} .try-it-in'), (l) => l.textContent).find((t) => t.includes({})) || ''",
            json!(text)
        )
    };
    wait(alice, "the book", "the snapshot in the panel's log", &log("event: snapshot")).await?;
    alice.click(&format!("{panel} .try-it-post")).await?;
    wait(alice, "the book", "201 Created in the panel's log", &log("← 201 Created")).await?;
    let event =
        wait(alice, "the book", "task_created in the panel's log", &log("event: task_created")).await?;
    println!("    the panel shows: {}", event.as_str().unwrap_or_default());
    alice.screenshot(&tabs.shots.join("tryit-sse.png")).await?;
    alice.click(&format!("{panel} .try-it-close")).await?;

    step("with the server stopped, the panel says that no server answered");
    let panel = ".try-it[data-kind=ws]";
    scroll_to(alice, panel).await?;
    server.stop().await?;
    alice.click(&format!("{panel} .try-it-connect")).await?;
    let message = wait(alice, "the book", "the panel's \"no server\" message", &format!(
        "const panel = document.querySelector('{panel}'); return panel.dataset.state === 'no-server' && panel.querySelector('.try-it-message').textContent"
    ))
    .await?;
    let message = message.as_str().unwrap_or_default();
    ensure!(message.contains("No server answered at ws://127.0.0.1"), "the panel says {message:?}");
    println!("    the panel says: {message}");
    alice.screenshot(&tabs.shots.join("tryit-no-server.png")).await?;
    expect_no_errors(alice, "the book", |entry| is_failed_connection(entry, port)).await?;
    Ok(())
}

/// The users a tab lists as online, sorted and joined with commas.
const ONLINE: &str =
    "Array.from(document.querySelectorAll('#online .person'), (p) => p.dataset.user).sort().join(',')";

fn step(what: &str) {
    println!("  · {what}");
}

/// Waits until `script` is truthy in `who`'s tab.
async fn wait(tab: &Browser, who: &str, what: &str, script: &str) -> Result<Value> {
    tab.wait_until(what, script).await.with_context(|| format!("in {who}'s tab"))
}

async fn scroll_to(tab: &Browser, selector: &str) -> Result<()> {
    let script = "const e = document.querySelector(arguments[0]); if (e) { e.scrollIntoView({block: 'center', behavior: 'instant'}); } return e !== null;";
    let found = tab.eval(script, vec![json!(selector)]).await?;
    ensure!(found == json!(true), "no element matches {selector}");
    Ok(())
}

/// Requires no error in `who`'s tab since the last look, except those
/// `allowed` accepts.
async fn expect_no_errors(tab: &Browser, who: &str, allowed: impl Fn(&LogEntry) -> bool) -> Result<()> {
    let (expected, errors): (Vec<LogEntry>, Vec<LogEntry>) =
        tab.errors().await?.into_iter().partition(&allowed);
    if !expected.is_empty() {
        println!(
            "    {who}'s tab reported {} failed connection(s) to the stopped server, as it should:",
            expected.len()
        );
        for entry in expected.iter().take(3) {
            println!("      {entry}");
        }
    }
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if errors.is_empty() {
        return Ok(());
    }
    bail!("errors in {who}'s tab:\n  {}", errors.join("\n  "))
}

/// The browser reporting a connection to the server that failed or broke:
/// what it says, in the console, while the server is down.
fn is_failed_connection(entry: &LogEntry, port: u16) -> bool {
    let server = format!("127.0.0.1:{port}/");
    entry.message.contains(&server)
        && [
            "ERR_CONNECTION_REFUSED",
            "ERR_INCOMPLETE_CHUNKED_ENCODING",
            "ERR_EMPTY_RESPONSE",
            "WebSocket connection to",
        ]
        .iter()
        .any(|what| entry.message.contains(what))
}
