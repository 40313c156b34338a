//! `wire-e2e`: chapter 4's "watch it on the wire" step in a real browser.
//!
//! ```sh
//! .ci/check-board     # builds what it needs, then runs this after board-e2e
//! cargo build -p sol04-frames -p course && cargo run -p course-browser --bin wire-e2e
//! ```
//!
//! As a reader would do it: it starts the echo server (`sol04-frames`) and
//! the inspector in front of it (`course inspect --to … --listen … --view …`,
//! the real command), builds the book and serves it on loopback, opens
//! chapter 4 in headless Chromium and, asserting what the page *shows*:
//!
//! 1. the Wire panel watches the inspector's live view (an event stream
//!    from another origin: CORS) and says where the proxy listens;
//! 2. its button sends the "Try it" panel through the proxy;
//! 3. the "Try it" panel connects and sends `Hello`; the Wire panel shows
//!    the handshake ✓, the browser's text frame **masked** with its key, and
//!    the server's echo **unmasked**;
//! 4. closing shows a close frame each way;
//! 5. with the inspector gone, Watch says that no inspector answered, and
//!    how to start one;
//! 6. no JavaScript errors, other than the browser reporting the failed
//!    connections to the stopped inspector.
//!
//! Without Chromium it says how to install it and passes, unless `CI=true`.
//! Screenshots go to `.ci/artifacts/screenshots/wire-e2e/`.

#[path = "../board-e2e/book.rs"]
mod book;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use course_browser::{Browser, LogEntry, Options};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs chapter 4's Wire panel against the echo server, through the inspector.
#[derive(Debug, Parser)]
#[command(name = "wire-e2e")]
struct Args {
    /// The echo server's binary (built with `cargo build -p sol04-frames`).
    #[arg(long, default_value = "target/debug/sol04-frames")]
    server: PathBuf,
    /// The course runner's binary, whose `inspect` command is the inspector
    /// (built with `cargo build -p course`).
    #[arg(long, default_value = "target/debug/course")]
    course: PathBuf,
    /// The course's root folder.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where the screenshots go; `<root>/.ci/artifacts/screenshots/wire-e2e` by default.
    #[arg(long)]
    screenshots: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options::default();
    if !options.chromium.exists() || !options.chromedriver.exists() {
        let install = "apt-get install -y chromium chromium-driver";
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            println!("wire-e2e: FAILED: Chromium or chromedriver is missing ({install})");
            return ExitCode::FAILURE;
        }
        println!("wire-e2e: skipped: Chromium or chromedriver is missing ({install})");
        return ExitCode::SUCCESS;
    }
    match run(args).await {
        Ok(()) => {
            println!("wire-e2e: every step passed");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("wire-e2e: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let root = args.root.canonicalize().with_context(|| format!("finding {}", args.root.display()))?;
    let shots = args.screenshots.unwrap_or_else(|| root.join(".ci/artifacts/screenshots/wire-e2e"));
    std::fs::create_dir_all(&shots).with_context(|| format!("creating {}", shots.display()))?;
    for entry in std::fs::read_dir(&shots)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "png") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    let [server_port, proxy_port, view_port] = free_ports()?;
    let _server = spawn(&root.join(&args.server), &[], &[("PORT", server_port.to_string())])?;
    wait_listening(server_port).await.context("the echo server")?;
    let to = format!("127.0.0.1:{server_port}");
    let (listen, view) = (proxy_port.to_string(), view_port.to_string());
    let mut inspector = spawn(
        &root.join(&args.course),
        &["inspect", "--to", &to, "--listen", &listen, "--view", &view],
        &[("NO_COLOR", "1".into())],
    )?;
    wait_for_line(&mut inspector, "live view: http://").await.context("the inspector")?;
    println!("wire-e2e: echo server on {to}, inspector on {proxy_port}, its live view on {view_port}");

    let built = root.join("target/wire-e2e/book");
    book::build(&root.join("book"), &built)?;
    let base = book::serve(&built).await?;
    let browser = Browser::start().await.context("starting Chromium")?;
    let outcome = scenario(&browser, &base, server_port, &mut inspector, view_port, &shots).await;
    if outcome.is_err() {
        let _ = browser.screenshot(&shots.join("failure.png")).await;
    }
    let _ = browser.close().await;
    println!("wire-e2e: screenshots in {}", shots.display());
    outcome
}

async fn scenario(
    tab: &Browser,
    base: &str,
    server_port: u16,
    inspector: &mut Child,
    view_port: u16,
    shots: &Path,
) -> Result<()> {
    let (wire, tryit) = (".wire", r#".try-it[data-kind=ws][data-url*="3001"]"#);

    step("chapter 4's Wire panel watches the inspector's live view (another origin: CORS)");
    tab.open(&format!("{base}ch04-frames.html")).await?;
    scroll_to(tab, wire).await?;
    set_value(tab, &format!("{wire} .wire-url"), &format!("http://127.0.0.1:{view_port}")).await?;
    tab.click(&format!("{wire} .wire-watch")).await?;
    let said = wait(tab, "the panel watching, and saying where the proxy listens", &format!(
        "const p = document.querySelector('{wire}'); return p.dataset.state === 'open' && p.querySelector('.wire-where').textContent"
    ))
    .await?;
    let said = said.as_str().unwrap_or_default();
    ensure!(said.contains(&format!("forwarded to 127.0.0.1:{server_port}")), "the Wire panel says {said:?}");
    println!("    the panel says: {said}");

    step("its button sends the Try it panel through the inspector");
    set_value(tab, &format!("{tryit} .try-it-url"), &format!("ws://127.0.0.1:{server_port}/ws")).await?;
    tab.click(&format!("{wire} .wire-route")).await?;
    let routed =
        tab.eval(&format!("return document.querySelector('{tryit} .try-it-url').value"), vec![]).await?;
    let routed = routed.as_str().unwrap_or_default().to_owned();
    ensure!(
        routed.starts_with("ws://127.0.0.1:") && !routed.contains(&format!(":{server_port}/")),
        "the Try it panel's address is {routed:?}, not the inspector's"
    );

    step(
        "the Try it panel sends Hello: the Wire panel shows the handshake, a masked frame, an unmasked echo",
    );
    scroll_to(tab, tryit).await?;
    tab.click(&format!("{tryit} .try-it-connect")).await?;
    wait(
        tab,
        "the Try it panel connected",
        &format!("return document.querySelector('{tryit}').dataset.state === 'open'"),
    )
    .await?;
    tab.click(&format!("{tryit} .try-it-send")).await?;
    wait(tab, "the echo in the Try it panel", &format!(
        "return Array.from(document.querySelectorAll('{tryit} .try-it-in'), (l) => l.textContent).some((t) => t.includes('Hello'))"
    ))
    .await?;
    let record = |selector: &str| {
        format!(
            "const r = Array.from(document.querySelectorAll('{wire} .wire-rec{selector}')).find((r) => r.textContent.includes('Hello')); return r ? r.textContent : ''"
        )
    };
    let handshake = wait(tab, "the handshake ✓ in the Wire panel", &format!(
        "const r = document.querySelector('{wire} .wire-rec[data-kind=handshake]'); return r && !r.classList.contains('try-it-error') && r.textContent"
    ))
    .await?;
    ensure!(
        handshake.as_str().is_some_and(|h| h.contains('✓')),
        "the Wire panel shows the handshake as {handshake}"
    );
    let masked = wait(
        tab,
        "the browser's text frame, masked, in the Wire panel",
        &record("[data-kind=frame][data-dir=to_server][data-opcode=text][data-masked=true]"),
    )
    .await?;
    let masked = masked.as_str().unwrap_or_default();
    ensure!(
        masked.contains("MASK1") && masked.contains("key") && masked.contains("\"Hello\""),
        "the client's frame reads {masked:?}: no MASK 1, key and unmasked \"Hello\""
    );
    let unmasked = wait(
        tab,
        "the server's echo, unmasked, in the Wire panel",
        &record("[data-kind=frame][data-dir=to_client][data-opcode=text][data-masked=false]"),
    )
    .await?;
    let unmasked = unmasked.as_str().unwrap_or_default();
    ensure!(
        unmasked.contains("MASK0") && !unmasked.contains("key") && unmasked.contains("\"Hello\""),
        "the server's frame reads {unmasked:?}"
    );
    println!("    client → server: {masked}");
    println!("    server → client: {unmasked}");
    scroll_to(tab, wire).await?;
    tab.screenshot(&shots.join("wire-frames.png")).await?;

    step("closing shows a close frame each way");
    scroll_to(tab, tryit).await?;
    tab.click(&format!("{tryit} .try-it-close")).await?;
    for dir in ["to_server", "to_client"] {
        wait(tab, &format!("a close frame {dir} in the Wire panel"), &format!(
            "return Array.from(document.querySelectorAll('{wire} .wire-rec[data-kind=frame][data-dir={dir}][data-opcode=close]')).some((r) => r.textContent.includes('1000'))"
        ))
        .await?;
    }

    step("with the inspector gone, Watch says that no inspector answered, and how to start one");
    inspector.kill().await.context("stopping the inspector")?;
    scroll_to(tab, wire).await?;
    tab.click(&format!("{wire} .wire-stop")).await?;
    tab.click(&format!("{wire} .wire-watch")).await?;
    let message = wait(tab, "the panel's \"no inspector\" message", &format!(
        "const p = document.querySelector('{wire}'); return p.dataset.state === 'no-server' && p.querySelector('.try-it-message').textContent"
    ))
    .await?;
    let message = message.as_str().unwrap_or_default();
    ensure!(
        message.contains("No inspector answered") && message.contains("cargo course inspect --to"),
        "the panel says {message:?}"
    );
    println!("    the panel says: {message}");
    tab.screenshot(&shots.join("wire-no-inspector.png")).await?;

    step("no JavaScript errors, other than the failed connections to the stopped inspector");
    let errors: Vec<String> = tab
        .errors()
        .await?
        .into_iter()
        .filter(|entry| !is_failed_connection(entry, view_port))
        .map(|entry| entry.to_string())
        .collect();
    if !errors.is_empty() {
        bail!("errors in the page:\n  {}", errors.join("\n  "));
    }
    Ok(())
}

fn step(what: &str) {
    println!("  · {what}");
}

async fn wait(tab: &Browser, what: &str, script: &str) -> Result<Value> {
    tab.wait_until(what, script).await
}

async fn scroll_to(tab: &Browser, selector: &str) -> Result<()> {
    let script = "const e = document.querySelector(arguments[0]); if (e) { e.scrollIntoView({block: 'center', behavior: 'instant'}); } return e !== null;";
    let found = tab.eval(script, vec![json!(selector)]).await?;
    ensure!(found == json!(true), "no element matches {selector}");
    Ok(())
}

/// Replaces an input's text, as a reader selecting it all and typing would.
async fn set_value(tab: &Browser, selector: &str, value: &str) -> Result<()> {
    let input = tab.wait_for(selector).await?;
    input.clear().await.with_context(|| format!("clearing {selector}"))?;
    input.send_keys(value).await.with_context(|| format!("typing into {selector}"))?;
    Ok(())
}

/// The browser reporting a failed connection to the stopped inspector's view.
fn is_failed_connection(entry: &LogEntry, port: u16) -> bool {
    entry.message.contains(&format!("127.0.0.1:{port}/"))
        && ["ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE", "ERR_INCOMPLETE_CHUNKED_ENCODING"]
            .iter()
            .any(|what| entry.message.contains(what))
}

/// Three ports free right now.
fn free_ports() -> Result<[u16; 3]> {
    let probes = [(); 3].map(|()| std::net::TcpListener::bind("127.0.0.1:0"));
    let mut ports = [0; 3];
    for (port, probe) in ports.iter_mut().zip(probes) {
        *port = probe.context("finding a free port")?.local_addr()?.port();
    }
    Ok(ports)
}

fn spawn(binary: &Path, args: &[&str], env: &[(&str, String)]) -> Result<Child> {
    Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} (build it first)", binary.display()))
}

/// Waits until something accepts connections on `port`.
async fn wait_listening(port: u16) -> Result<()> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("nothing listened on port {port} within {START_TIMEOUT:?}");
        }
    }
}

/// Waits until `child` prints a line containing `marker`; then keeps reading
/// its output, so a full pipe never blocks it.
async fn wait_for_line(child: &mut Child, marker: &str) -> Result<()> {
    let stdout = child.stdout.take().context("the child's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if line.contains(marker) {
                return Ok(());
            }
            seen.push(line);
        }
        bail!("it exited before it said {marker:?}; it printed:\n{}", seen.join("\n"))
    })
    .await
    .with_context(|| format!("it did not say {marker:?} within {START_TIMEOUT:?}"))??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(())
}
