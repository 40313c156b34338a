//! Helpers the stages' checks share.

use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Failure;
use crate::dial::{Dial, Ws};
use crate::http::ANSWER_TIMEOUT;
use crate::ws::json_matches;

use super::launch::Vars;
use super::sign_in::{join, sign_in_if_offered};

pub(super) const TIMED_OUT: &str = "(nothing within 5 s, and the connection stayed open)";

/// Signs `user` in (if the server offers it), opens a WebSocket and joins `board`.
pub(super) async fn member(dial: &Dial, board: &str, user: &str) -> Result<crate::dial::Ws, Failure> {
    let cookie = sign_in_if_offered(dial, user).await?;
    match dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(board, user)).await?;
            ws.expect_json(&json!({"type": "presence"}), "presence").await?;
            Ok(ws)
        }
        Err(answer) => Err(answer.fail(format!("{user}'s WebSocket was refused"), "101")),
    }
}

/// Settings under which only the write deadline (300 ms) may drop a client
/// that stops reading: not the idle timeout (it sends no pongs once it
/// stops reading), however long the check takes, nor the rate limit.
pub(super) fn stalled_reader_vars(vars: Vars) -> Vars {
    vars.with("WRITE_TIMEOUT_MS", 300).with("RATE_LIMIT_PER_S", 1_000_000).with("IDLE_TIMEOUT_MS", 3_600_000)
}

/// Sam, Olivia and Tom join `board`; Sam stops reading, and Tom types on
/// tasks with long ids, in rounds, until the server drops Sam (Olivia hears
/// that Sam left) — at most 32 MiB, far more than any socket buffer holds.
/// Meanwhile Olivia must get all of Tom's typing, in full and in order.
/// Returns Olivia's and Tom's connections, still open.
pub(super) async fn a_reader_that_stops_is_dropped(dial: &Dial, board: &str) -> Result<[Ws; 2], Failure> {
    // Sam's small receive buffer fills soon; then Sam reads nothing at all.
    let sam = member(&dial.clone().with_recv_buffer(4096), board, "Sam").await?;
    let mut olivia = member(dial, board, "Olivia").await?;
    let mut tom = member(dial, board, "Tom").await?;
    olivia.expect_json(&json!({"type": "joined", "user": "Tom"}), "Tom joined").await?;
    olivia.note("sam ✕ stops reading");
    let id_bytes = 32 * 1024;
    let mut sent = 0usize;
    let mut sam_left = false;
    while !sam_left && sent < 32 * 1024 * 1024 {
        let tasks: Vec<String> =
            (0..16).map(|n| format!("task-{sent}-{n}-{}", "x".repeat(id_bytes))).collect();
        for task in &tasks {
            tom.send_json(&json!({"type": "typing", "taskId": task})).await?;
            tom.send_json(&json!({"type": "typing_stopped", "taskId": task})).await?;
            sent += 2 * id_bytes;
        }
        for task in &tasks {
            for kind in ["typing", "typing_stopped"] {
                let why = "Tom's typing reaches Olivia in full and in order while Sam reads nothing";
                let mut got = olivia.next_json(why).await?;
                if json_matches(&json!({"type": "left", "user": "Sam"}), &got) {
                    sam_left = true;
                    got = olivia.next_json(why).await?;
                }
                if !json_matches(&json!({"type": kind, "user": "Tom", "taskId": task}), &got) {
                    return Err(
                        olivia.fail(format!("Olivia expected Tom's {kind}, got another message"), why)
                    );
                }
            }
        }
    }
    if !sam_left {
        tom.send_json(&json!({"type": "typing", "taskId": "task-marker"})).await?;
        let why = "{\"type\":\"left\",\"user\":\"Sam\"}: Sam read nothing for longer than WRITE_TIMEOUT_MS=300, \
                   so the server dropped him";
        let got = olivia.next_json(why).await?;
        if !json_matches(&json!({"type": "left", "user": "Sam"}), &got) {
            return Err(olivia.fail(
                format!(
                    "Sam read nothing while {} MiB waited for him, and was not dropped",
                    sent / (1024 * 1024)
                ),
                why,
            ));
        }
    }
    drop(sam);
    Ok([olivia, tom])
}

/// Says in the headline that the failure came on shutdown.
pub(super) fn on_shutdown(failure: Failure) -> Failure {
    Failure { headline: format!("on shutdown, {}", failure.headline), ..failure }
}

/// The value of the sample `key` (a name, with its labels) in a scrape.
pub(super) fn sample(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

/// Connects to `addr`, sends `bytes`, and reads what comes back until the
/// server closes the connection; `None` when it is still open after 5 s.
pub(super) async fn send_until_closed(addr: SocketAddr, bytes: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let _ = tcp.write_all(bytes).await;
    let (got, closed) = read_until_closed(&mut tcp).await;
    Ok(closed.then_some(got))
}

/// Reads what comes on `tcp` until the server closes the connection, for 5 s
/// at most: the bytes, and whether it closed.
pub(super) async fn read_until_closed(tcp: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let read = timeout(ANSWER_TIMEOUT, async {
        let mut buffer = [0u8; 1024];
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    (got, read.is_ok())
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn samples_are_read_by_name_and_labels() {
        let text = "# TYPE board_websockets_open gauge\nboard_websockets_open 2\n\
                    board_clients_evicted_total{reason=\"rate_limit\"} 1 1700000000\n# EOF\n";
        assert_eq!(sample(text, "board_websockets_open"), Some(2.0));
        assert_eq!(sample(text, "board_clients_evicted_total{reason=\"rate_limit\"}"), Some(1.0));
        assert_eq!(sample(text, "board_websockets"), None);
    }
}
