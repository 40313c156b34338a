//! Two processes of this server on one Redis; one is killed with SIGKILL.
//! Its users must be announced `left` on the other within
//! `PRESENCE_TTL_MS` + 1 s: nothing of the killed process runs to clean up,
//! so only the TTL of its presence entries can get rid of them.
//!
//! Needs Debian's `redis-server` (`apt install redis-server`, `brew install
//! redis`). Without it the test says it is skipped and passes — unless
//! `CI=true`, where a missing Redis is a failure.

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

/// Starts the binary as instance `name` on `redis`, and waits for the log
/// line that says it serves; returns the process and its address.
async fn instance(redis: &RedisServer, name: &str) -> (Child, Dial) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sol08-scale-out"))
        .env("PORT", port.to_string())
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
            if line.contains("task board on") {
                return true;
            }
        }
        false
    });
    assert_eq!(serving.await, Ok(true), "instance {name} did not say it serves");
    // Keep reading its log, so that a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, Dial::plain(([127, 0, 0, 1], port).into()))
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
