//! Two processes of this server on one Redis; one is killed with SIGKILL.
//! Its users must be announced `left` on the other within
//! `PRESENCE_TTL_MS` + 1 s: nothing of the killed process runs to clean up,
//! so only the TTL of its presence entries can get rid of them.
//!
//! Needs Debian's `redis-server` (`apt install redis-server`, `brew install
//! redis`). Without it the test says it is skipped and passes — unless
//! `CI=true`, where a missing Redis is a failure.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use course_checks::chapter08::cluster::{member, users};
use course_checks::chapter08::redis_server::{RedisServer, skip_reason};
use course_checks::dial::Dial;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

const PRESENCE_TTL: Duration = Duration::from_millis(1000);

/// Starts the binary as instance `name` on `redis`, on a port the system
/// picks (`PORT=0`: no race with other programs for a port that was free a
/// moment ago), and waits for the log line that says where it serves;
/// returns the process and its address.
async fn instance(redis: &RedisServer, name: &str) -> (Child, Dial) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sol08-scale-out"))
        .env("PORT", "0")
        .env("REDIS_URL", redis.url())
        .env("INSTANCE_ID", name)
        .env("PRESENCE_TTL_MS", PRESENCE_TTL.as_millis().to_string())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let serving = timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(address) = served_address(&line) {
                return Some(address);
            }
        }
        None
    });
    let address = match serving.await {
        Ok(Some(address)) => address,
        _ => panic!("instance {name} did not log \"task board on http://<address>/\" within 10 s"),
    };
    // Keep reading its log, so that a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, Dial::plain(address))
}

/// The address in `main.rs`'s "task board on http://127.0.0.1:PORT/…" line.
fn served_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("task board on http://")?;
    rest.split('/').next()?.parse().ok()
}

#[tokio::test]
async fn a_killed_process_users_are_announced_left_within_the_presence_ttl() {
    if let Some(reason) = skip_reason() {
        eprintln!("{reason}");
        return;
    }
    let redis = RedisServer::start().await.expect("a private redis-server");
    let (mut a, dial_a) = instance(&redis, "a").await;
    let (_b, dial_b) = instance(&redis, "b").await;
    let (_alice, _) = member(&dial_a, "board-1", "Alice").await.expect("Alice joins on a");
    let (mut bob, presence) = member(&dial_b, "board-1", "Bob").await.expect("Bob joins on b");
    assert_eq!(users(&presence), ["Alice", "Bob"], "Bob sees Alice, on the other process");

    a.kill().await.expect("kill -9 of instance a");
    let limit = PRESENCE_TTL + Duration::from_secs(1);
    let left = timeout(limit, bob.expect_json(&json!({"type": "left", "user": "Alice"}), "left Alice")).await;
    match left {
        Ok(Ok(_)) => {}
        Ok(Err(failure)) => panic!("{failure}"),
        Err(_) => panic!("no left Alice within PRESENCE_TTL_MS + 1 s = {} ms of kill -9", limit.as_millis()),
    }
    let (_carol, presence) = member(&dial_b, "board-1", "Carol").await.expect("Carol joins on b");
    assert_eq!(users(&presence), ["Bob", "Carol"], "no ghost of Alice");
}
