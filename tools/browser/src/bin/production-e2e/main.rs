//! `production-e2e`: chapter 7's board page in a real browser, through the
//! book's nginx config, over `https` and `wss`.
//!
//! ```sh
//! .ci/check-board     # builds what it needs, then runs this after board-e2e
//! cargo build -p sol07-production && cargo run -p course-browser --bin production-e2e -- \
//!     --server target/debug/sol07-production
//! ```
//!
//! It makes a throwaway certificate authority and a certificate for
//! `localhost`, starts the reference server on a free port (plain HTTP, on
//! loopback), and Debian's nginx in front of it with the book's own
//! `solutions/07-production/deploy/nginx.conf` — only the ports and the
//! certificate's paths changed. Chromium trusts that one certificate and
//! nothing more (`--ignore-certificate-errors-spki-list` with the hash of
//! its public key). Then, asserting what the page *shows*:
//!
//! 1. `https://localhost:<nginx>/?user=Alice&board=board-1` signs in by
//!    itself (`POST /session`), and its connection shows as live: the event
//!    stream and the `wss://` socket passed nginx with the session cookie;
//! 2. the cookie is `HttpOnly`: the page's script can't see it;
//! 3. Bob, a client of the test's own (TLS, through nginx, with a session
//!    of his own), joins the board: Alice's page lists him online;
//! 4. Bob creates a task over HTTPS: it appears on Alice's page, live;
//! 5. Bob leaves: Alice's page takes him off the list;
//! 6. no JavaScript errors;
//! 7. the book, built and served on loopback, and a second server that
//!    allows the book's origin: chapter 7's WebSocket panel signs in as
//!    Reader and fetches a ticket (`fetch` with `credentials: 'include'`),
//!    connects with it, and its join is answered.
//!
//! Without nginx, Chromium or chromedriver it says it is skipped, and
//! passes — unless `CI=true`, where a missing one is a failure.
//! Screenshots and the server's log go to
//! `.ci/artifacts/screenshots/production-e2e/`.

#[path = "../board-e2e/book.rs"]
mod book;
#[path = "../board-e2e/server.rs"]
mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use course_browser::{Browser, Options};
use course_checks::Failure;
use course_checks::dial::{Dial, Pki};
use course_checks::nginx::{self, Nginx};
use serde_json::{Value, json};

use crate::server::BoardServer;

/// The book's config, relative to the course's root.
const NGINX_CONF: &str = "solutions/07-production/deploy/nginx.conf";

/// What may be changed in the book's file, each found exactly once, and
/// what it becomes (`{port}`, `{upstream}`, `{dir}` filled in).
const SUBSTITUTED: &[(&str, &str)] = &[
    ("listen 8443 ssl;", "listen 127.0.0.1:{port} ssl;"),
    ("server 127.0.0.1:3000;", "server 127.0.0.1:{upstream};"),
    ("ssl_certificate     /etc/ssl/board/cert.pem;", "ssl_certificate {dir}/cert.pem;"),
    ("ssl_certificate_key /etc/ssl/board/key.pem;", "ssl_certificate_key {dir}/key.pem;"),
];

/// Runs chapter 7's page through nginx, over TLS, in headless Chromium.
#[derive(Debug, Parser)]
#[command(name = "production-e2e")]
struct Args {
    /// The reference server's binary (built with `cargo build -p sol07-production`).
    #[arg(long, default_value = "target/debug/sol07-production")]
    server: PathBuf,
    /// The course's root folder.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where the screenshots go; `<root>/.ci/artifacts/screenshots/production-e2e` by default.
    #[arg(long)]
    screenshots: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let nginx = match needs() {
        Ok(nginx) => nginx,
        Err(missing) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            println!("production-e2e: FAILED: {missing}, and CI=true");
            return ExitCode::FAILURE;
        }
        Err(missing) => {
            println!("production-e2e: skipped: {missing}");
            return ExitCode::SUCCESS;
        }
    };
    match run(args, &nginx).await {
        Ok(()) => {
            println!("production-e2e: every step passed");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("production-e2e: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// nginx's path, once nginx, Chromium and chromedriver are all there; else
/// what is missing and how to install it.
fn needs() -> Result<PathBuf, String> {
    let options = Options::default();
    for (path, package) in [(&options.chromium, "chromium"), (&options.chromedriver, "chromium-driver")] {
        if !path.exists() {
            return Err(format!(
                "{} is missing: install it with `sudo apt-get install -y {package}`",
                path.display()
            ));
        }
    }
    nginx::find().ok_or_else(|| format!("nginx is missing: install it with `{}`", nginx::INSTALL))
}

async fn run(args: Args, nginx: &Path) -> Result<()> {
    let root = args.root.canonicalize().with_context(|| format!("finding {}", args.root.display()))?;
    let shots = args.screenshots.unwrap_or_else(|| root.join(".ci/artifacts/screenshots/production-e2e"));
    std::fs::create_dir_all(&shots).with_context(|| format!("creating {}", shots.display()))?;
    for entry in std::fs::read_dir(&shots)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "png" || ext == "log") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    let pki = (course_checks_tls::kit().issue)().map_err(anyhow::Error::msg).context("a test certificate")?;
    let spki = course_checks_tls::spki_sha256(&pki.key_pem).map_err(anyhow::Error::msg)?;

    let mut server = BoardServer::new(root.join(&args.server), &[])?;
    server.start().await?;
    let proxy = Proxy::start(nginx, &root.join(NGINX_CONF), server.port(), &pki).await?;
    println!("production-e2e: the board on {}, behind nginx on {}", server.url("/"), proxy.url("/"));

    let options =
        Options { args: vec![format!("--ignore-certificate-errors-spki-list={spki}")], ..Options::default() };
    let browser = Browser::start_with(options).await.context("starting Alice's browser")?;
    let mut outcome = scenario(&browser, &proxy, &pki, &shots).await;
    if outcome.is_ok() {
        outcome = try_it(&browser, &root, &args.server, &shots).await;
    }
    if outcome.is_err() {
        let _ = browser.screenshot(&shots.join("failure-alice.png")).await;
    }
    let _ = browser.close().await;
    let _ = server.stop().await;
    let _ = std::fs::write(shots.join("server.log"), server.log().join("\n") + "\n");
    proxy.stop().await;
    println!("production-e2e: screenshots in {}", shots.display());
    outcome
}

async fn scenario(alice: &Browser, proxy: &Proxy, pki: &Pki, shots: &Path) -> Result<()> {
    step("the page signs in by itself, over https through nginx, and goes live over wss");
    alice.open(&proxy.url("/?user=Alice&board=board-1")).await?;
    wait(
        alice,
        "the page from https://localhost, live, with Alice online",
        &format!(
            "return location.protocol === 'https:' && {ONLINE} === 'Alice' \
         && document.querySelector('#connection').dataset.state === 'live'"
        ),
    )
    .await?;
    alice.screenshot(&shots.join("live-over-wss.png")).await?;

    step("the session cookie is HttpOnly: the page's script can't read it");
    let cookies = alice.eval("return document.cookie;", vec![]).await?;
    ensure!(
        !cookies.as_str().unwrap_or_default().contains("session="),
        "the page's script reads the session cookie: document.cookie is {cookies}"
    );

    step("Bob joins through nginx (TLS, a session of his own): Alice's page lists him");
    let bob = Dial::tls(proxy.addr(), course_checks_tls::kit(), &pki.ca_pem);
    let cookie = sign_in(&bob, "Bob").await?;
    let mut socket =
        match bob.request("GET", "/ws").header("Cookie", &cookie).websocket().await.map_err(failed)? {
            Ok(ws) => ws,
            Err(answer) => bail!("Bob's WebSocket through nginx was refused:\n{}", answer.transcript()),
        };
    socket.send_json(&json!({"type": "join", "boardId": "board-1", "user": "Bob"})).await.map_err(failed)?;
    socket.expect_json(&json!({"type": "presence"}), "Bob's presence snapshot").await.map_err(failed)?;
    wait(alice, "Alice and Bob online", &format!("return {ONLINE} === 'Alice,Bob'")).await?;

    step("Bob creates a task over https: it appears on Alice's page, live");
    let created = bob
        .request("POST", "/boards/board-1/tasks")
        .header("Cookie", &cookie)
        .json(&json!({"title": "Deploy behind nginx"}))
        .send()
        .await
        .map_err(failed)?;
    ensure!(created.status == 201, "Bob's POST through nginx:\n{}", created.transcript());
    wait(
        alice,
        "Bob's task-1 \"Deploy behind nginx\" on the board",
        r#"const card = document.querySelector('.card[data-id="task-1"]'); return card !== null && card.querySelector('.title').textContent === 'Deploy behind nginx'"#,
    )
    .await?;
    alice.screenshot(&shots.join("task-from-bob.png")).await?;

    step("Bob leaves: Alice's page takes him off the list");
    socket.close().await;
    wait(alice, "only Alice online", &format!("return {ONLINE} === 'Alice'")).await?;

    step("no JavaScript errors");
    let errors: Vec<String> = alice.errors().await?.iter().map(ToString::to_string).collect();
    ensure!(errors.is_empty(), "errors in Alice's tab:\n  {}", errors.join("\n  "));
    Ok(())
}

/// Chapter 7's WebSocket panel, from the book served on loopback, against a
/// server of its own that allows the book's origin.
async fn try_it(tab: &Browser, root: &Path, binary: &Path, shots: &Path) -> Result<()> {
    step("the book's chapter 7 panel signs in, fetches a ticket with credentials, and connects with it");
    let dest = std::env::temp_dir().join(format!("course-production-e2e-book-{}", std::process::id()));
    book::build(&root.join("book"), &dest)?;
    let book_url = book::serve(&dest).await?;
    let book_origin = book_url.trim_end_matches('/').to_owned();
    let mut server = BoardServer::new(root.join(binary), &[("ALLOWED_ORIGINS", &book_origin)])?;
    server.start().await?;
    let outcome = async {
        tab.open(&format!("{book_url}ch07-production.html")).await?;
        let panel = ".try-it[data-kind=ws][data-sign-in]";
        let script = "const e = document.querySelector(arguments[0]); if (e) { e.scrollIntoView({block: 'center', behavior: 'instant'}); } return e !== null;";
        ensure!(tab.eval(script, vec![json!(panel)]).await? == json!(true), "no panel matches {panel}");
        let url = tab.wait_for(&format!("{panel} .try-it-url")).await?;
        url.clear().await?;
        url.send_keys(&format!("ws://127.0.0.1:{}/ws", server.port())).await?;
        tab.click(&format!("{panel} .try-it-connect")).await?;
        wait(tab, "the panel open", &format!("return document.querySelector('{panel}').dataset.state === 'open'"))
            .await?;
        tab.click(&format!("{panel} .try-it-send")).await?;
        let logged = |text: &str| {
            format!(
                "return Array.from(document.querySelectorAll('{panel} .try-it-log li'), (l) => l.textContent).find((t) => t.includes({})) || ''",
                json!(text)
            )
        };
        wait(tab, "201 Created for POST /tickets in the panel's log", &logged("← 201 Created")).await?;
        let reply = wait(tab, "the presence reply in the panel's log", &logged("\"type\":\"presence\"")).await?;
        println!("    the panel shows: {}", reply.as_str().unwrap_or_default());
        tab.screenshot(&shots.join("tryit-signed-in.png")).await?;
        let errors: Vec<String> = tab.errors().await?.iter().map(ToString::to_string).collect();
        ensure!(errors.is_empty(), "errors on the book's page:\n  {}", errors.join("\n  "));
        Ok(())
    }
    .await;
    let _ = server.stop().await;
    let _ = std::fs::remove_dir_all(&dest);
    outcome
}

/// The users the page lists as online, sorted and joined with commas.
const ONLINE: &str =
    "Array.from(document.querySelectorAll('#online .person'), (p) => p.dataset.user).sort().join(',')";

fn step(what: &str) {
    println!("  · {what}");
}

async fn wait(tab: &Browser, what: &str, script: &str) -> Result<Value> {
    tab.wait_until(what, script).await.context("in Alice's tab")
}

/// A check's failure (a transcript) as an error of this program.
fn failed(failure: Failure) -> anyhow::Error {
    anyhow::anyhow!("{failure}")
}

/// `POST /session`; the `session=…` pair to send back.
async fn sign_in(dial: &Dial, user: &str) -> Result<String> {
    let answer =
        dial.request("POST", "/session").json(&json!({ "user": user })).send().await.map_err(failed)?;
    ensure!(answer.status == 204, "signing in through nginx:\n{}", answer.transcript());
    let cookie = answer.header("set-cookie").context("no Set-Cookie from POST /session")?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// Debian's nginx with the book's config, in a folder of its own.
struct Proxy {
    nginx: Nginx,
}

impl Proxy {
    async fn start(nginx: &Path, book_conf: &Path, upstream: u16, pki: &Pki) -> Result<Proxy> {
        let dir = std::env::temp_dir().join(format!("course-production-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("cert.pem"), &pki.cert_pem)?;
        std::fs::write(dir.join("key.pem"), &pki.key_pem)?;
        let book = std::fs::read_to_string(book_conf)
            .with_context(|| format!("reading the book's {}", book_conf.display()))?;
        for (directive, _) in SUBSTITUTED {
            ensure!(book.matches(directive).count() == 1, "the book's nginx.conf has `{directive}` once");
        }
        let folder = dir.display().to_string();
        let config = |port: u16| {
            SUBSTITUTED.iter().fold(book.clone(), |conf, (directive, replacement)| {
                let replacement = replacement
                    .replace("{port}", &port.to_string())
                    .replace("{upstream}", &upstream.to_string())
                    .replace("{dir}", &folder);
                conf.replace(directive, &replacement)
            })
        };
        let nginx = Nginx::start(nginx, dir, config).await.map_err(anyhow::Error::msg)?;
        Ok(Proxy { nginx })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.nginx.port()))
    }

    /// `https://localhost:<port><path>`: the name on the certificate.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.nginx.port())
    }

    /// Stops nginx, its workers with it.
    async fn stop(self) {
        self.nginx.stop().await;
    }
}
