//! `load wire` against the chapter-6 board server, in process: the byte
//! counts add up as the protocols say they must.

use std::time::Duration;

use course_load::wire::{self, WireOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_counts_match_what_the_protocols_put_around_each_message() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Long keep-alives: no comment or ping among the counted bytes.
    let config = sol06_board::Config {
        keepalive: Duration::from_secs(600),
        heartbeat: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        ..sol06_board::Config::default()
    };
    tokio::spawn(sol06_board::serve(listener, config));

    let report = wire::run(port, &WireOptions { messages: 3, rounds: 5 }).await.unwrap();

    // RFC 6455 §5.2: a short unmasked frame is 2 bytes of header, a masked one 6.
    let ws = &report.websocket;
    for (down, payload) in ws.down.iter().zip(&ws.payload) {
        assert_eq!(*down, payload + 2, "{report}");
    }
    assert!(ws.up.iter().all(|&up| up == 0), "the receiver sends nothing: {report}");
    assert_eq!(report.websocket_send.0, report.websocket_send.1 + 6, "{report}");
    // One-digit ids: every event, every frame the same size.
    assert!(report.sse.down.windows(2).all(|w| w[0] == w[1]), "{report}");
    assert!(report.sse.down.iter().zip(&report.sse.payload).all(|(d, p)| d > p), "{report}");
    // A poll sends the same request each time; the list grows with the board.
    let polling = &report.polling;
    assert!(polling.up.windows(2).all(|w| w[0] == w[1]), "{report}");
    assert!(polling.payload.windows(2).all(|w| w[0] < w[1]), "{report}");
    assert_eq!(report.empty_poll, (polling.up[2], polling.down[2]), "{report}");
    assert_eq!(report.sse_latency.count, 5);
    assert_eq!(report.websocket_latency.count, 5);
}
