//! What the test binary hands over: how to start the learner's server
//! ([`Launch`]), its settings ([`Vars`]) and its captured logs.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use crate::Tunables;

/// What a server's future is.
pub type Serving = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// What tells a server to shut down: it completes when the check says so.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts the learner's server on a listener with settings given as
/// environment variables, until `Stop` completes, on the state kept in
/// `Keep` (so that a check can restart a server on the same state). The
/// test binary hands it over in its `Locals`:
///
/// ```ignore
/// let launch = Launch::new(|listener, vars, stop, keep| {
///     let state = keep.get_or_insert_with(|| server::AppState::new(config(&vars)));
///     server::serve_state(listener, state, stop)
/// });
/// ```
#[derive(Clone)]
pub struct Launch(pub(super) Arc<StartFn>);

/// What [`Launch`] holds: the test binary's way to start a server.
pub(super) type StartFn = dyn Fn(TcpListener, Vars, Stop, &Keep) -> Serving + Send + Sync;

impl Launch {
    pub fn new<F, Fut>(start: F) -> Self
    where
        F: Fn(TcpListener, Vars, Stop, &Keep) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        Launch(Arc::new(move |listener, vars, stop, keep| Box::pin(start(listener, vars, stop, keep))))
    }

    /// The learner's server on `listener`, as a future to spawn (chapter 8
    /// starts several).
    pub fn serve(&self, listener: TcpListener, vars: Vars, stop: Stop, keep: &Keep) -> Serving {
        (self.0)(listener, vars, stop, keep)
    }
}

/// A server's state, kept across an in-process restart. The test binary
/// decides what it holds (the learner's `AppState`).
#[derive(Clone, Default)]
pub struct Keep(Arc<Mutex<Option<Box<dyn std::any::Any + Send>>>>);

impl Keep {
    /// The kept value, made by `make` the first time.
    pub fn get_or_insert_with<T: Clone + Send + 'static>(&self, make: impl FnOnce() -> T) -> T {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = kept.as_ref().and_then(|value| value.downcast_ref::<T>()) {
            return value.clone();
        }
        let value = make();
        *kept = Some(Box::new(value.clone()));
        value
    }
}

impl std::fmt::Debug for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keep")
    }
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Launch")
    }
}

/// A server's settings, as the environment variables the binary reads.
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<&'static str, String>);

impl Vars {
    /// The chapter's short tunables as variables.
    pub fn from_tunables(tunables: Tunables) -> Self {
        Vars::default()
            .with("KEEPALIVE_MS", tunables.keepalive_ms)
            .with("REPLAY_CAPACITY", tunables.replay_capacity)
            .with("HEARTBEAT_MS", tunables.heartbeat_ms)
            .with("IDLE_TIMEOUT_MS", tunables.idle_timeout_ms)
            .with("TYPING_TTL_MS", tunables.typing_ttl_ms)
            .with("MAX_MESSAGE_BYTES", tunables.max_message_bytes)
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.0.insert(name, value.to_string());
        self
    }

    /// Every variable and its value.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(name, value)| (*name, value.as_str()))
    }

    /// The variable's value, as `std::env::var(name).ok()` would give it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The server's log lines, captured by the test binary: it installs a
/// `tracing` subscriber that writes to [`LogWriter`], and hands over
/// `LogsCaptured` to say so.
#[derive(Debug, Clone, Copy)]
pub struct LogsCaptured;

/// Where captured log lines go: one buffer for the whole test binary.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogWriter;

pub(super) fn captured() -> &'static Mutex<Vec<u8>> {
    static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    &LOGS
}

impl io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        captured().lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far.
pub(super) fn logs() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn vars_hold_the_tunables() {
        let vars = Vars::from_tunables(Tunables::PRODUCTION).with("TICKET_TTL_MS", 200);
        assert_eq!(vars.get("HEARTBEAT_MS").as_deref(), Some("10000"));
        assert_eq!(vars.get("TICKET_TTL_MS").as_deref(), Some("200"));
        assert_eq!(vars.get("TLS_CERT"), None);
    }

    #[test]
    fn the_log_writer_keeps_what_it_is_given() {
        let _ = LogWriter.write_all(b"GET /ws \xe2\x86\x92 101\n");
        assert!(logs().contains("GET /ws → 101"));
    }
}
