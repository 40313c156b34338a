//! Helpers the stages' checks share.

use serde_json::json;

use crate::Failure;
use crate::dial::Dial;

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
