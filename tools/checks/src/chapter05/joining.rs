//! Stage 1, "Join a board".

use crate::check::check;
use crate::ws::{Transcript, WsClient};
use crate::{Failure, Needs, Target};

use super::messages::{join, presence};
use super::{JOINING, JOINING_SECTION};

check!(Check {
    name: joining_answers_a_presence_snapshot_with_yourself,
    stage: JOINING,
    section: JOINING_SECTION,
    hints: &[
        "`upgrade` hands the socket over with `ws.on_upgrade(move |socket| run(socket, state))`; \
         `run` reads the first text message, parses it as a `ClientMessage` and answers a \
         join with `ServerMessage::Presence`.",
        "`Message::Text` holds `Utf8Bytes`: `protocol::parse(text.as_str())`. Send an answer with \
         `Message::text(server_message.to_json())`.",
        "The shape of `run`: `socket.split()`; spawn `write(sink, queue, rooms)` fed by an \
         `mpsc::channel(OUTBOX_CAPACITY)`; `Connection::read` until it returns; then `leave()`, \
         drop the outbox and let the writer finish. On `join`, queue `Outgoing::Subscribed`: the \
         writer sends its start (the snapshot) before any announcement.",
    ],
    needs: Needs::Address,
});
async fn joining_answers_a_presence_snapshot_with_yourself(t: Target) -> Result<(), Failure> {
    let transcript = Transcript::new();
    let board = t.board(1);
    let mut alice = WsClient::connect(&t, &transcript, "alice").await?;
    alice.send_json(&join(&board, "Alice")).await?;
    alice
        .expect_json(
            &presence(&board, &["Alice"]),
            "the joiner gets a snapshot of who is on the board — here only itself",
        )
        .await?;
    Ok(())
}
