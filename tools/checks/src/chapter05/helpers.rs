//! Helpers the stages' checks share.

use crate::ws::{Transcript, WsClient};
use crate::{Failure, Target, Tunables};

use super::messages::{join, joined, presence};

pub(super) fn tunables(t: &Target) -> Tunables {
    t.tunables().unwrap_or(Tunables::PRODUCTION)
}

/// Alice, then Bob, on `board`, and Alice told that Bob joined: the two
/// past their snapshots and the one announcement, ready for the check.
pub(super) async fn alice_and_bob(
    t: &Target,
    tr: &Transcript,
    board: &str,
) -> Result<(WsClient, WsClient), Failure> {
    let mut alice = enter(t, tr, board, "Alice", &["Alice"]).await?;
    let bob = enter(t, tr, board, "Bob", &["Alice", "Bob"]).await?;
    alice.expect_json(&joined(board, "Bob"), "Bob joined").await?;
    Ok((alice, bob))
}

/// Connects a client labelled after `user` and joins: the snapshot must
/// list exactly `users`.
pub(super) async fn enter(
    t: &Target,
    tr: &Transcript,
    board: &str,
    user: &str,
    users: &[&str],
) -> Result<WsClient, Failure> {
    enter_as(t, tr, &user.to_lowercase(), board, user, users).await
}

pub(crate) async fn enter_as(
    t: &Target,
    tr: &Transcript,
    label: &str,
    board: &str,
    user: &str,
    users: &[&str],
) -> Result<WsClient, Failure> {
    let mut client = WsClient::connect(t, tr, label).await?;
    client.send_json(&join(board, user)).await?;
    let why = format!(
        "{user} joins {board}: the snapshot lists everyone on it, {user} included, sorted, and who is \
         typing (nobody)"
    );
    client.expect_json(&presence(board, users), &why).await?;
    Ok(client)
}

/// After `gone` left: the marker is Carol joining. `watcher` must hear of
/// Carol next (no second `left`), and Carol's snapshot must not list `gone`.
pub(super) async fn expect_no_ghost(
    t: &Target,
    tr: &Transcript,
    board: &str,
    watcher: &mut WsClient,
    watcher_user: &str,
    gone: &str,
) -> Result<(), Failure> {
    let mut users = vec![watcher_user, "Carol"];
    users.sort_unstable();
    let _carol = enter(t, tr, board, "Carol", &users).await?;
    watcher
        .expect_json(
            &joined(board, "Carol"),
            &format!("Carol joined. {gone} left exactly once: nothing more about {gone} came before"),
        )
        .await?;
    Ok(())
}
