//! Idle connections: open N WebSockets, keep them open doing nothing, and
//! read how much resident memory the server grew by.
//!
//! A real-time server spends most of its life holding connections that say
//! nothing — a presence board where everyone is reading. What each one
//! costs at rest decides how many fit on a machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::process;
use crate::ws::{self, Socket};

/// How many handshakes run at once: enough to be quick, few enough not to
/// overflow the server's listen backlog (its queue of connections not yet
/// accepted, often 1,024 long).
const HANDSHAKES_AT_ONCE: usize = 128;

/// How often resident memory is sampled while it settles, and for how long
/// at most.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
const SETTLE_AT_MOST: Duration = Duration::from_secs(10);

/// What to open and what to say on each connection.
#[derive(Debug, Clone)]
pub struct IdleOptions {
    pub path: String,
    pub connections: usize,
    /// A text message each connection sends first (and waits for one
    /// message back), e.g. a presence `join`. `{i}` becomes the
    /// connection's number and `{g}` its group's: `i / group`.
    pub hello: Option<String>,
    pub group: usize,
}

/// The server's resident memory before and after.
#[derive(Debug, Clone)]
pub struct IdleReport {
    /// Connections that opened (and answered the hello).
    pub opened: usize,
    /// Connections that failed to open, with the first failure.
    pub failed: usize,
    pub first_failure: Option<String>,
    /// Connections still open when memory was read.
    pub open_at_reading: usize,
    pub before_kib: u64,
    pub after_kib: u64,
}

impl IdleReport {
    /// The growth in resident memory divided by the connections open.
    pub fn bytes_per_connection(&self) -> f64 {
        let grown = self.after_kib.saturating_sub(self.before_kib) as f64 * 1024.0;
        grown / self.open_at_reading.max(1) as f64
    }
}

impl std::fmt::Display for IdleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connections open: resident {} KiB → {} KiB, {:.1} KiB per connection",
            self.open_at_reading,
            self.before_kib,
            self.after_kib,
            self.bytes_per_connection() / 1024.0
        )?;
        if self.failed > 0 {
            write!(f, " ({} failed to open: {})", self.failed, self.first_failure.as_deref().unwrap_or("?"))?;
        }
        Ok(())
    }
}

/// Opens the connections to the server `pid` listening on `port`, reads its
/// resident memory when it has settled, then closes them.
pub async fn run(port: u16, pid: u32, options: &IdleOptions) -> Result<IdleReport> {
    ensure!(options.connections > 0, "at least one connection");
    let before_kib = settled_resident_kib(pid).await?;

    let permits = Arc::new(Semaphore::new(HANDSHAKES_AT_ONCE));
    let (stop, stopped) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let mut opening = JoinSet::new();
    for i in 0..options.connections {
        let permits = permits.clone();
        let path = options.path.clone();
        let hello = options.hello.as_ref().map(|text| hello(text, i, options.group.max(1)));
        opening.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            open_one(port, &path, hello).await
        });
    }
    let (mut opened, mut failed, mut first_failure) = (0, 0, None);
    let mut holders = JoinSet::new();
    while let Some(result) = opening.join_next().await {
        match result.context("a connecting task panicked")? {
            Ok(socket) => {
                opened += 1;
                open.fetch_add(1, Ordering::Relaxed);
                holders.spawn(hold(socket, stopped.clone(), open.clone()));
            }
            Err(error) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }

    let after_kib = settled_resident_kib(pid).await?;
    let open_at_reading = open.load(Ordering::Relaxed);
    stop.send_replace(true);
    // Every holder closes within a second or two; a bound all the same.
    let _ = timeout(Duration::from_secs(30), async { while holders.join_next().await.is_some() {} }).await;
    Ok(IdleReport { opened, failed, first_failure, open_at_reading, before_kib, after_kib })
}

/// The hello template with `{i}` and `{g}` filled in.
fn hello(template: &str, i: usize, group: usize) -> String {
    template.replace("{i}", &i.to_string()).replace("{g}", &(i / group).to_string())
}

/// Opens one connection and, if there is a hello, says it and waits for
/// the answer, so the server has done its work for this connection.
async fn open_one(port: u16, path: &str, hello: Option<String>) -> Result<Socket> {
    let mut socket = ws::connect(port, path).await?;
    if let Some(text) = hello {
        timeout(crate::http::IO_TIMEOUT, socket.send(Message::Text(Utf8Bytes::from(text))))
            .await
            .context("sending the hello timed out")??;
        ws::next_data(&mut socket).await.context("waiting for the answer to the hello")?;
    }
    Ok(socket)
}

/// Keeps a connection open, reading whatever comes (the library answers
/// the server's heartbeat pings while reading), until told to stop.
/// `open` counts it until it closes.
async fn hold(mut socket: Socket, mut stop: watch::Receiver<bool>, open: Arc<AtomicUsize>) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            message = socket.next() => if !matches!(message, Some(Ok(_))) {
                open.fetch_sub(1, Ordering::Relaxed);
                return;
            },
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
    let _ = timeout(Duration::from_secs(2), socket.close(None)).await;
}

/// Resident memory once it stops moving: a server may still be setting up
/// the last connections (allocating their buffers on their first read) a
/// moment after the client is done. Two samples a quarter-second apart
/// within 0.5% of each other count as settled; ten seconds at most.
async fn settled_resident_kib(pid: u32) -> Result<u64> {
    let deadline = Instant::now() + SETTLE_AT_MOST;
    let mut last = process::resident_kib(pid)?;
    loop {
        tokio::time::sleep(SAMPLE_EVERY).await;
        let now = process::resident_kib(pid)?;
        if now.abs_diff(last) * 200 <= last || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_is_numbered() {
        let join = r#"{"type":"join","boardId":"idle-{g}","user":"user-{i}"}"#;
        assert_eq!(hello(join, 23, 10), r#"{"type":"join","boardId":"idle-2","user":"user-23"}"#);
    }
}
