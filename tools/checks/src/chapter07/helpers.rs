//! Helpers the stages' checks share.

use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Failure;
use crate::dial::Dial;
use crate::http::ANSWER_TIMEOUT;

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
