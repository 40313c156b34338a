//! The book's nginx configuration (`deploy/nginx.conf`), in front of this
//! server: TLS ends at nginx, and HTTP, the event stream and the WebSocket
//! pass through.
//!
//! Needs Debian's `nginx` (`sudo apt-get install -y nginx`). Without it the
//! test says it is skipped and passes — unless `CI=true`, where a missing
//! nginx is a failure.
//!
//! The test runs the book's file as it is, changing only the directives
//! `SUBSTITUTED` names: the ports, the certificate's paths and
//! `proxy_read_timeout`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use course_checks::dial::{Dial, TlsKit, Ws};
use course_checks::nginx::{self, Nginx};
use serde_json::{Value, json};
use sol07_production as server;
use tokio::net::TcpListener;
use tokio::time::{Instant, sleep, timeout};

/// What the test may change in the book's file, each exactly once.
const SUBSTITUTED: &[&str] = &[
    "listen 8443 ssl;",
    "server 127.0.0.1:3000;",
    "ssl_certificate     ",
    "ssl_certificate_key ",
    "proxy_read_timeout 60s;",
];

/// nginx, or `None` when the test is to be skipped (and `CI` is not set).
fn nginx_or_skip() -> Option<PathBuf> {
    match nginx::find() {
        Some(path) => Some(path),
        None if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("nginx is missing, and CI=true: install it with `{}`", nginx::INSTALL)
        }
        None => {
            eprintln!(
                "skipped: nginx is not installed; install it with `{}` to run this test",
                nginx::INSTALL
            );
            None
        }
    }
}

/// The board's server on a free port, with `heartbeat_ms`; returns its port.
async fn board(heartbeat_ms: u64) -> u16 {
    let vars = [("HEARTBEAT_MS", heartbeat_ms.to_string()), ("IDLE_TIMEOUT_MS", "600000".into())];
    let config =
        server::Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .expect("valid settings");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(server::serve_state(listener, server::AppState::new(config), std::future::pending()));
    port
}

/// nginx running the book's file in a folder of its own.
struct Proxy {
    nginx: Nginx,
    ca_pem: String,
}

async fn proxy(nginx: &Path, upstream: u16, read_timeout: &str) -> Proxy {
    let dir = std::env::temp_dir().join(format!("course-nginx-{}-{upstream}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for nginx");
    let pki = (course_checks_tls::kit().issue)().expect("a test certificate");
    std::fs::write(dir.join("cert.pem"), &pki.cert_pem).expect("the certificate written");
    std::fs::write(dir.join("key.pem"), &pki.key_pem).expect("the key written");
    let book = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"))
        .expect("the book's deploy/nginx.conf");
    for directive in SUBSTITUTED {
        assert_eq!(book.matches(directive).count(), 1, "the book's nginx.conf has `{directive}` once");
    }
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let config = |port: u16| {
        book.replace("listen 8443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
            .replace("server 127.0.0.1:3000;", &format!("server 127.0.0.1:{upstream};"))
            .replace(
                "ssl_certificate     /etc/ssl/board/cert.pem;",
                &format!("ssl_certificate {};", cert.display()),
            )
            .replace(
                "ssl_certificate_key /etc/ssl/board/key.pem;",
                &format!("ssl_certificate_key {};", key.display()),
            )
            .replace("proxy_read_timeout 60s;", &format!("proxy_read_timeout {read_timeout};"))
    };
    let nginx = Nginx::start(nginx, dir, config).await.unwrap_or_else(|e| panic!("{e}"));
    Proxy { nginx, ca_pem: pki.ca_pem }
}

fn dial(proxy: &Proxy) -> Dial {
    let kit: TlsKit = course_checks_tls::kit();
    Dial::tls(std::net::SocketAddr::from(([127, 0, 0, 1], proxy.nginx.port())), kit, &proxy.ca_pem)
}

async fn sign_in(dial: &Dial, user: &str) -> String {
    let answer =
        dial.request("POST", "/session").json(&json!({ "user": user })).send().await.expect("an answer");
    assert_eq!(answer.status, 204, "{}", answer.transcript());
    let cookie = answer.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().expect("a cookie").to_owned()
}

async fn joined(dial: &Dial, cookie: &str, user: &str) -> Ws {
    let call = dial.request("GET", "/ws").header("Cookie", cookie).header("Origin", &dial.origin());
    let mut ws = match call.websocket().await.expect("an answer") {
        Ok(ws) => ws,
        Err(answer) => panic!("the handshake through nginx failed:\n{}", answer.transcript()),
    };
    ws.send_json(&json!({"type": "join", "boardId": "board-1", "user": user})).await.expect("sent");
    ws.expect_json(&json!({"type": "presence"}), "presence, through nginx").await.expect("presence");
    ws
}

#[tokio::test]
async fn the_books_nginx_config_passes_websockets_and_streams_events_one_by_one() {
    let Some(nginx) = nginx_or_skip() else { return };
    let upstream = board(10_000).await;
    let proxy = proxy(&nginx, upstream, "60s").await;
    let dial = dial(&proxy);
    let cookie = sign_in(&dial, "Alice").await;
    let _alice = joined(&dial, &cookie, "Alice").await;

    let mut events =
        dial.request("GET", "/boards/board-1/events").header("Cookie", &cookie).events().await.unwrap();
    assert_eq!(events.answer.status, 200, "{}", events.answer.transcript());
    events.next_event(Duration::from_secs(5), "the snapshot").await.expect("a snapshot");
    for n in 1..=3 {
        let posted = Instant::now();
        let created = dial
            .request("POST", "/boards/board-1/tasks")
            .header("Cookie", &cookie)
            .json(&json!({ "title": format!("Through nginx {n}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.transcript());
        let event = events
            .next_event(Duration::from_millis(500), "task_created within 500 ms of its POST: not buffered")
            .await
            .unwrap_or_else(|failure| panic!("{failure}"));
        assert_eq!(event.name, "task_created");
        assert!(posted.elapsed() <= Duration::from_millis(500));
    }
}

/// Waits `idle`, then sends a ping: `Some(pong)` if the connection survived.
async fn ping_after(ws: &mut Ws, idle: Duration) -> Option<Value> {
    sleep(idle).await;
    ws.send_json(&json!({"type": "ping"})).await.ok()?;
    timeout(Duration::from_secs(5), ws.next_json("pong")).await.ok()?.ok()
}

#[tokio::test]
async fn a_read_timeout_shorter_than_the_silence_cuts_a_connection_without_heartbeats() {
    let Some(nginx) = nginx_or_skip() else { return };
    // Heartbeats every 300 ms keep nginx's 1 s read timeout from firing.
    let with = board(300).await;
    let proxy_with = proxy(&nginx, with, "1s").await;
    let dial_with = dial(&proxy_with);
    let cookie = sign_in(&dial_with, "Alice").await;
    let mut alive = joined(&dial_with, &cookie, "Alice").await;
    let pong = ping_after(&mut alive, Duration::from_millis(2500)).await;
    assert_eq!(
        pong,
        Some(json!({"type": "pong"})),
        "with heartbeats, the connection survives 2.5 s of silence"
    );

    // Without (a heartbeat a minute), nginx cuts the connection after 1 s.
    let without = board(60_000).await;
    let proxy_without = proxy(&nginx, without, "1s").await;
    let dial_without = dial(&proxy_without);
    let cookie = sign_in(&dial_without, "Bob").await;
    let mut silent = joined(&dial_without, &cookie, "Bob").await;
    let pong = ping_after(&mut silent, Duration::from_millis(2500)).await;
    assert_eq!(pong, None, "without heartbeats, nginx cuts the connection after proxy_read_timeout");
}
