//! The load tool against its own reference servers, small and quick: each
//! mode runs end to end and counts what it should.
//!
//! These are debug builds and tiny loads: they prove the tool works, not
//! how fast anything is.

use std::path::Path;
use std::time::Duration;

use course_load::echo::{self, EchoOptions};
use course_load::fanout::{self, FanoutOptions};
use course_load::idle::{self, IdleOptions};
use course_load::server::Server;

async fn start(program: &str, name: &str) -> Server {
    course_load::limits::raise_open_files_limit().unwrap();
    Server::start(Path::new(program), &[], name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_load_counts_every_round_trip() {
    let server = start(env!("CARGO_BIN_EXE_ref-tungstenite-echo"), "test-echo").await;
    let options = EchoOptions {
        path: "/ws".into(),
        connections: 4,
        size: 100,
        duration: Duration::from_millis(500),
        warmup: Duration::from_millis(100),
        text: true,
        rate: None,
    };
    let report = echo::run(server.port(), Some(server.pid()), &options).await.unwrap();
    assert!(report.messages > 0, "{report}");
    assert_eq!(report.latency.count, report.messages);
    assert!(report.latency.p50 <= report.latency.p99 && report.latency.p99 <= report.latency.max);
    assert!(report.server_cpu.is_some());
}

/// Paced, the load sends no more than its rate: a fixed load, however fast
/// the server answers (flat out, these connections make thousands).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_load_at_a_rate_sends_no_more_than_it() {
    let server = start(env!("CARGO_BIN_EXE_ref-tungstenite-echo"), "test-echo-rate").await;
    let options = EchoOptions {
        path: "/ws".into(),
        connections: 4,
        size: 100,
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        text: true,
        rate: Some(200.0),
    };
    let report = echo::run(server.port(), Some(server.pid()), &options).await.unwrap();
    assert!(report.messages > 0, "{report}");
    // 200 in the measured second, and each connection's one in flight at its end.
    assert!(report.messages <= 200 + 4, "paced at 200/s for 1 s, it sent {}: {report}", report.messages);
    assert!(report.to_string().contains("paced at 200/s"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_show_axums_default_read_buffer() {
    let server = start(env!("CARGO_BIN_EXE_ref-axum-echo"), "test-idle").await;
    let options =
        IdleOptions { path: "/ws".into(), connections: 100, hello: Some("hi {i}".into()), group: 10 };
    let report = idle::run(server.port(), server.pid(), &options).await.unwrap();
    assert_eq!((report.opened, report.failed, report.open_at_reading), (100, 0, 100), "{report}");
    // A 128 KiB buffer, zero-filled on the first read, for each connection.
    assert!(report.bytes_per_connection() > 100.0 * 1024.0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_subscriber() {
    let server = start(env!("CARGO_BIN_EXE_ref-naive-sse"), "test-fanout").await;
    for burst in [false, true] {
        let options = FanoutOptions {
            board: None,
            subscribers: 20,
            events: 5,
            event_timeout: Duration::from_secs(10),
            burst,
        };
        let report = fanout::run(server.port(), Some(server.pid()), &options).await.unwrap();
        assert!(report.all_delivered(), "{report}");
        assert_eq!((report.expected, report.delivered, report.latency.count), (100, 100, 100));
        assert_eq!((report.duplicates, report.resets, report.ended_early), (0, 0, 0));
        assert_eq!(report.each.len(), 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_already_in_use_is_refused() {
    let server = start(env!("CARGO_BIN_EXE_ref-naive-sse"), "test-used-board").await;
    let options = FanoutOptions {
        board: Some("used".into()),
        subscribers: 2,
        events: 1,
        event_timeout: Duration::from_secs(10),
        burst: false,
    };
    fanout::run(server.port(), None, &options).await.unwrap();
    let error = fanout::run(server.port(), None, &options).await.unwrap_err();
    assert!(format!("{error:#}").contains("use a board no one else uses"), "{error:#}");
}
