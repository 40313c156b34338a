//! Typing indicators that expire: one connection's "who is typing where".
//!
//! A client says `typing` when its user starts typing on a task, and again
//! every few seconds while they carry on; `typing_stopped` when they stop.
//! Clients crash, laptops close, networks drop: a `typing_stopped` may never
//! come. So each indicator has a deadline, `ttl` after its last refresh, and
//! the server stops it itself when the deadline passes.
//!
//! The state machine knows nothing of sockets. Its only clock is tokio's, so
//! the tests below run it with paused time: a 5-second TTL takes no time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// The tasks one connection's user is typing on, each with its deadline.
#[derive(Debug)]
pub struct Typing {
    ttl: Duration,
    deadlines: HashMap<String, Instant>,
}

impl Typing {
    pub fn new(ttl: Duration) -> Self {
        Typing { ttl, deadlines: HashMap::new() }
    }

    /// The user is typing on `task`: its deadline moves to now + TTL.
    /// Returns `true` when the indicator is new — the only time the others
    /// need telling; a refresh just keeps it alive.
    pub fn start(&mut self, task: &str) -> bool {
        todo!(
            "keep the indicator alive for one TTL from now, saying whether it is new (chapter 5, \
             \"A state machine with deadlines\")"
        )
    }

    /// The user stopped typing on `task`. Returns `true` when there was an
    /// indicator to stop.
    pub fn stop(&mut self, task: &str) -> bool {
        todo!(
            "end the indicator, saying whether there was one (chapter 5, \"A state machine with \
             deadlines\")"
        )
    }

    /// Waits for the earliest deadline, removes that indicator and returns
    /// its task. With no indicator it waits forever, which in a `select!`
    /// means "this branch has nothing to do".
    ///
    /// Make it cancel-safe: change nothing until the deadline has passed,
    /// so a `select!` may drop this future whenever another branch wins.
    pub async fn expired(&mut self) -> String {
        todo!(
            "wait for the earliest deadline and end that indicator; with none, wait forever \
             (chapter 5, \"A state machine with deadlines\")"
        )
    }

    /// Stops every indicator, returning their tasks in order: the user is
    /// leaving.
    pub fn stop_all(&mut self) -> Vec<String> {
        todo!(
            "end every indicator, returning their tasks in order (chapter 5, \"A state machine \
             with deadlines\")"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{advance, timeout};

    const TTL: Duration = Duration::from_secs(5);

    /// The next expiry, or a failure instead of a hang.
    async fn next_expiry(typing: &mut Typing) -> String {
        timeout(TTL * 10, typing.expired()).await.expect("nothing expired")
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn an_indicator_expires_one_ttl_after_it_starts() {
        let mut typing = Typing::new(TTL);
        let start = Instant::now();
        assert!(typing.start("task-3"), "a new indicator is news");
        assert_eq!(next_expiry(&mut typing).await, "task-3");
        assert_eq!(start.elapsed(), TTL);
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn a_refresh_moves_the_deadline_without_being_news() {
        let mut typing = Typing::new(TTL);
        let start = Instant::now();
        typing.start("task-3");
        advance(Duration::from_secs(3)).await;
        assert!(!typing.start("task-3"), "a refresh is not news");
        assert_eq!(next_expiry(&mut typing).await, "task-3");
        assert_eq!(start.elapsed(), Duration::from_secs(3) + TTL);
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn a_stopped_indicator_never_expires() {
        let mut typing = Typing::new(TTL);
        typing.start("task-3");
        assert!(typing.stop("task-3"));
        assert!(!typing.stop("task-3"), "there is nothing left to stop");
        assert!(timeout(TTL * 10, typing.expired()).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn the_earliest_deadline_expires_first() {
        let mut typing = Typing::new(TTL);
        typing.start("task-2");
        advance(Duration::from_secs(1)).await;
        typing.start("task-1");
        assert_eq!(next_expiry(&mut typing).await, "task-2");
        assert_eq!(next_expiry(&mut typing).await, "task-1");
        assert!(timeout(TTL * 10, typing.expired()).await.is_err(), "nothing is left");
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn an_expiry_cancelled_by_select_changes_nothing() {
        let mut typing = Typing::new(TTL);
        typing.start("task-3");
        assert!(timeout(TTL / 2, typing.expired()).await.is_err());
        assert_eq!(next_expiry(&mut typing).await, "task-3", "still there, expiring on time");
    }

    #[tokio::test(start_paused = true)]
    #[ignore = "calls typing.rs, yours to write (chapter 5, \"A state machine with deadlines\"); once it is: cargo test -p ex05-presence -- --include-ignored"]
    async fn leaving_stops_every_indicator() {
        let mut typing = Typing::new(TTL);
        typing.start("task-2");
        typing.start("task-1");
        assert_eq!(typing.stop_all(), ["task-1", "task-2"]);
        assert!(typing.stop_all().is_empty());
        assert!(timeout(TTL * 10, typing.expired()).await.is_err());
    }
}
