//! Stage 7, "Many clients, and slow ones".

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::watch;

use crate::check::check;
use crate::ws::{ConnectOptions, Incoming, Transcript, WsClient, json_matches};
use crate::{Failure, Needs, Target};

use super::helpers::{enter, tunables};
use super::messages::{
    join, joined, left, presence, presence_typing, typing, typing_request, typing_stopped,
    typing_stopped_request,
};
use super::{SCALE, SCALE_SECTION};

check!(Check {
    name: two_hundred_clients_on_one_board_all_see_everyone,
    stage: SCALE,
    section: SCALE_SECTION,
    hints: &[
        "A `broadcast` channel's capacity is how far a receiver may fall behind. When one does, \
         `recv()` returns `Err(RecvError::Lagged(n))`: send that client a fresh snapshot and go \
         on — a `while let Ok(..)` loop would silently end its connection there.",
        "Never hold the rooms' lock across an `.await`.",
    ],
    needs: Needs::Address,
});
async fn two_hundred_clients_on_one_board_all_see_everyone(t: Target) -> Result<(), Failure> {
    const CLIENTS: usize = 200;
    // Each client is two sockets in this process: its own and the server's.
    let _ = crate::ws::raise_open_files_limit(4 * CLIENTS as u64 + 256);
    let tr = Transcript::new();
    let board = t.board(1);
    let users: Vec<String> = (0..CLIENTS).map(|n| format!("user-{n:03}")).collect();
    let everyone: BTreeSet<String> = users.iter().cloned().collect();
    let connected = join_all(users.iter().map(|user| async {
        let mut client = WsClient::connect(&t, &tr, user).await?;
        client.send_json(&join(&board, user)).await?;
        Ok::<_, Failure>(client)
    }))
    .await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for client in connected {
        clients.push(client?);
    }
    // Correctness, not speed: on a busy machine 200 joins (20,000 messages)
    // take a while in a debug build, so the whole wait has one generous budget.
    let deadline = Instant::now() + Duration::from_secs(40);
    for (user, client) in users.iter().zip(&mut clients) {
        let mut view = BTreeSet::new();
        let mut snapshot = false;
        while !snapshot || view != everyone {
            let expected = format!(
                "{user} hears of all {CLIENTS} users: a snapshot, then `joined` for everyone after it \
                 (so far it knows {} of them)",
                view.len()
            );
            let within = deadline.saturating_duration_since(Instant::now()).max(crate::http::ANSWER_TIMEOUT);
            let message = client.next_json_within(&expected, within).await?;
            match message["type"].as_str() {
                Some("presence") => {
                    snapshot = true;
                    view = message["users"]
                        .as_array()
                        .map(|users| users.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                }
                Some("joined") if snapshot => {
                    view.extend(message["user"].as_str().map(str::to_owned));
                }
                Some("left") if snapshot => {
                    if let Some(gone) = message["user"].as_str() {
                        view.remove(gone);
                    }
                }
                _ => {
                    return Err(client
                        .fail("an unexpected message while 200 clients join", expected)
                        .got(message.to_string()));
                }
            }
            if !view.is_subset(&everyone) {
                return Err(client
                    .fail("the presence list holds users nobody joined as", expected)
                    .got(message.to_string()));
            }
        }
    }
    Ok(())
}

check!(Check {
    name: a_client_that_stops_reading_does_not_delay_the_others,
    stage: SCALE,
    section: SCALE_SECTION,
    hints: &[
        "Each connection writes to its own socket from its own task. Broadcasting must never wait \
         for one client: `broadcast::Sender::send` does not, awaiting every member's socket in a \
         loop does.",
        "If the slow client's writer blocks, only its broadcast receiver falls behind (`Lagged`); \
         everyone else carries on.",
    ],
    needs: Needs::Address,
});
async fn a_client_that_stops_reading_does_not_delay_the_others(t: Target) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let tr = Transcript::new();
    let board = t.board(1);
    let mut olivia = enter(&t, &tr, &board, "Olivia", &["Olivia"]).await?;
    // A small receive buffer, so that what Sam does not read backs up into
    // the server soon.
    let options = ConnectOptions { recv_buffer: Some(4096) };
    let mut sam = WsClient::connect_with(&t, &tr, "sam", options).await?;
    sam.send_json(&join(&board, "Sam")).await?;
    sam.expect_json(&presence(&board, &["Olivia", "Sam"]), "Sam joins").await?;
    olivia.expect_json(&joined(&board, "Sam"), "Sam joined").await?;
    let mut tom = enter(&t, &tr, &board, "Tom", &["Olivia", "Sam", "Tom"]).await?;
    olivia.expect_json(&joined(&board, "Tom"), "Tom joined").await?;

    let pong_every = tunables.heartbeat_ms.min(tunables.idle_timeout_ms / 3).max(1);
    sam.stall(Duration::from_millis(pong_every));
    // Tom types on many tasks with long ids: ~12 MiB for each listener, more
    // than any socket buffers hold, so a server that waits for Sam stalls.
    let id_bytes = (tunables.max_message_bytes / 2).min(32 * 1024);
    let rounds = (12 * 1024 * 1024) / (2 * id_bytes);
    let tasks: Vec<String> = (0..rounds).map(|n| format!("task-{n}-{}", "x".repeat(id_bytes))).collect();
    for task in &tasks {
        tom.send_json(&typing_request(task)).await?;
        tom.send_json(&typing_stopped_request(task)).await?;
    }
    tom.send_json(&typing_request("task-last")).await?;
    let sam_left = left(&board, "Sam");
    let mut want = Vec::with_capacity(2 * rounds + 1);
    for task in &tasks {
        want.push(typing("Tom", task));
        want.push(typing_stopped("Tom", task));
    }
    want.push(typing("Tom", "task-last"));
    for (n, wanted) in want.iter().enumerate() {
        let why = format!(
            "message {} of {}: Tom's typing reaches Olivia in full while Sam reads nothing (a server \
             may drop Sam for it; it must not wait for him)",
            n + 1,
            want.len()
        );
        let mut message = olivia.next_json(&why).await?;
        if json_matches(&sam_left, &message) {
            message = olivia.next_json(&why).await?;
        }
        if !json_matches(wanted, &message) {
            return Err(olivia.wrong_message(&message, &format!("{wanted}\n({why})")));
        }
    }
    Ok(())
}

check!(Check {
    name: a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing,
    stage: SCALE,
    section: SCALE_SECTION,
    hints: &[
        "On `RecvError::Lagged` the client has lost announcements: send it a fresh `presence` — users \
         *and* typists — taken under the room's lock together with a fresh receiver.",
        "The typists in the snapshot must be the room's current ones, the same list a joiner gets.",
    ],
    needs: Needs::Address,
});
async fn a_client_that_lagged_is_resynced_with_who_is_there_and_who_is_typing(
    t: Target,
) -> Result<(), Failure> {
    let tunables = tunables(&t);
    let ttl = Duration::from_millis(tunables.typing_ttl_ms);
    let tr = Transcript::new();
    let board = t.board(1);
    let everyone = ["Olivia", "Sam", "Tom", "Uma"];
    let mut olivia = enter(&t, &tr, &board, "Olivia", &everyone[..1]).await?;
    let options = ConnectOptions { recv_buffer: Some(4096) };
    let mut sam = WsClient::connect_with(&t, &tr, "sam", options).await?;
    sam.send_json(&join(&board, "Sam")).await?;
    sam.expect_json(&presence(&board, &everyone[..2]), "Sam joins").await?;
    let mut tom = enter(&t, &tr, &board, "Tom", &everyone[..3]).await?;
    let mut uma = enter(&t, &tr, &board, "Uma", &everyone).await?;
    for user in ["Tom", "Uma"] {
        sam.expect_json(&joined(&board, user), &format!("{user} joined")).await?;
    }
    uma.send_json(&typing_request("task-u")).await?;
    sam.expect_json(&typing("Uma", "task-u"), "Uma is typing on task-u").await?;
    olivia.send_json(&typing_request("task-o")).await?;
    sam.expect_json(&typing("Olivia", "task-o"), "Olivia is typing on task-o").await?;
    let mut view = Picture::default();
    view.apply(&presence_typing(&board, &everyone, &[("Olivia", "task-o"), ("Uma", "task-u")]));

    // Uma keeps typing, refreshing a few times per TTL from a task of its
    // own. (Refreshes are not forwarded. On a machine too busy to refresh
    // in time her indicator expires, and the others are told so: the check
    // still holds, it only has one typist fewer to compare.)
    let (over, mut done) = watch::channel(false);
    let refresher = tokio::spawn(async move {
        let mut every = tokio::time::interval(ttl / 4);
        loop {
            tokio::select! {
                biased;
                _ = done.changed() => return uma,
                _ = every.tick() => {
                    if uma.send_json(&typing_request("task-u")).await.is_err() {
                        return uma;
                    }
                }
            }
        }
    });

    // Sam stops reading. Tom types on many tasks with long ids, far more
    // than the socket buffers hold (about 3 MiB on Linux's loopback), so
    // Sam's announcements pile up until his room receiver lags; three
    // quarters of the way through, Olivia stops typing. That announcement
    // is lost to Sam: dozens more fall after it before he reads again.
    let pong_every = tunables.heartbeat_ms.min(tunables.idle_timeout_ms / 3).max(1);
    sam.stall(Duration::from_millis(pong_every));
    let id_bytes = (tunables.max_message_bytes / 2).min(32 * 1024);
    let rounds = (12 * 1024 * 1024) / (2 * id_bytes);
    let mut last_task = String::new();
    for n in 0..rounds {
        last_task = format!("task-{n}-{}", "x".repeat(id_bytes));
        tom.send_json(&typing_request(&last_task)).await?;
        tom.send_json(&typing_stopped_request(&last_task)).await?;
        match n.cmp(&(rounds * 3 / 4)) {
            std::cmp::Ordering::Less => olivia.send_json(&typing_request("task-o")).await?,
            std::cmp::Ordering::Equal => olivia.send_json(&typing_stopped_request("task-o")).await?,
            std::cmp::Ordering::Greater => {}
        }
    }
    // Settled: Olivia has heard Tom's last message, so the server has
    // handled all of Tom's and Olivia's.
    let last = typing_stopped("Tom", &last_task);
    let expected = format!("{last} (Tom's last message)");
    loop {
        // Only the last task's messages are worth parsing: 12 MiB of JSON
        // would keep this thread busy for a while in a debug build.
        match olivia.next(&expected).await? {
            Incoming::Text(text) if text.contains(&last_task) => {
                if serde_json::from_str::<Value>(&text).is_ok_and(|message| json_matches(&last, &message)) {
                    break;
                }
            }
            Incoming::Text(_) => {}
            other => return Err(olivia.fail("the connection ended", expected).got(other.describe())),
        }
    }

    // Sam reads again, applying what he hears as a page does. Each time a
    // presence comes, Tom types on a fresh marker task: when the marker is
    // the next thing Sam hears, that presence was the last resync.
    sam.resume();
    let why = "Sam fell so far behind that announcements were lost, Olivia's typing_stopped among them: \
               the server sends him a fresh presence — who is there and who is typing now";
    let mut presences = Vec::new();
    let mut marker = None;
    loop {
        let expected = match &marker {
            Some(marker) => format!("{marker}, or another presence\n({why})"),
            None => format!("a presence with \"typing\"\n({why})"),
        };
        let message = sam.next_json(&expected).await.map_err(|failure| Failure {
            headline: format!(
                "sam fell behind but never got a fresh presence (presences since: {}): Olivia stays \
                 typing on his screen — a ghost",
                if presences.is_empty() { "none".to_owned() } else { presences.join(", ") }
            ),
            ..failure
        })?;
        if message["type"] == "presence" {
            if !message["typing"].is_array() {
                return Err(
                    sam.wrong_message(&message, &format!("a presence that lists who is typing\n({why})"))
                );
            }
            presences.push(message["typing"].to_string());
            let task = format!("task-m{}", presences.len());
            tom.send_json(&typing_request(&task)).await?;
            marker = Some(typing("Tom", &task));
        }
        view.apply(&message);
        if marker.as_ref().is_some_and(|marker| json_matches(marker, &message)) {
            break;
        }
    }

    // A newcomer's snapshot is the truth. Tom types once more, and Sam and
    // Carol — applying what each heard — must agree on it.
    let mut carol = WsClient::connect(&t, &tr, "carol").await?;
    carol.send_json(&join(&board, "Carol")).await?;
    let mut truth = Picture::default();
    truth.apply(&carol.next_json("Carol's snapshot").await?);
    tom.send_json(&typing_request("task-z")).await?;
    let z = typing("Tom", "task-z");
    for (client, picture) in [(&mut sam, &mut view), (&mut carol, &mut truth)] {
        loop {
            let message = client.next_json(&format!("{z} (Tom typing: the marker)")).await?;
            picture.apply(&message);
            if json_matches(&z, &message) {
                break;
            }
        }
    }
    let _ = over.send(true);
    let _uma = refresher.await;
    view.users.insert("Carol".to_owned());
    if view != truth {
        return Err(sam
            .fail(
                format!(
                    "after his resync Sam sees {} typing, a newcomer sees {}: the presence he was sent \
                     did not list exactly who is typing now",
                    view.typing_list(),
                    truth.typing_list()
                ),
                format!("the same board as Carol's: {}\n({why})", truth.typing_list()),
            )
            .got(format!("Sam's board, from what he was sent: {}", view.typing_list())));
    }
    Ok(())
}

/// A board as a page draws it from the messages it receives: `presence` is
/// the whole truth, the others change it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Picture {
    users: BTreeSet<String>,
    typing: BTreeSet<(String, String)>,
}

impl Picture {
    fn apply(&mut self, message: &Value) {
        let text = |field: &str| message[field].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("presence") => {
                let users = message["users"].as_array().into_iter().flatten();
                self.users = users.filter_map(|u| u.as_str().map(str::to_owned)).collect();
                let typing = message["typing"].as_array().into_iter().flatten();
                self.typing = typing
                    .map(|t| {
                        (
                            t["user"].as_str().unwrap_or_default().to_owned(),
                            t["taskId"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
            }
            Some("joined") => {
                self.users.insert(text("user"));
            }
            Some("left") => {
                self.users.remove(&text("user"));
            }
            Some("typing") => {
                self.typing.insert((text("user"), text("taskId")));
            }
            Some("typing_stopped") => {
                self.typing.remove(&(text("user"), text("taskId")));
            }
            _ => {}
        }
    }

    fn typing_list(&self) -> String {
        let typists: Vec<String> =
            self.typing.iter().map(|(user, task)| format!("{user} on {task}")).collect();
        if typists.is_empty() { "nobody".to_owned() } else { typists.join(", ") }
    }
}
