//! The board's server as a child process that the test starts, stops and
//! starts again on the same port — the way a deploy or a crash does.
//!
//! The first start asks for port 0 and reads the port the system gave from
//! the server's "task board on http://…" line: no other program can take it
//! between a probe and the server's bind, as it could with a probed port.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What the server logs once it listens (see `solutions/06-board/src/main.rs`).
const READY: &str = "task board on http://";

/// The server's binary, its port (0 until its first start) and its
/// settings; running or not.
#[derive(Debug)]
pub struct BoardServer {
    binary: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// Everything it logged, across restarts.
    log: Arc<Mutex<Vec<String>>>,
}

impl BoardServer {
    /// A server that will listen on a port the system picks at its first start.
    pub fn new(binary: PathBuf, env: &[(&str, &str)]) -> Result<BoardServer> {
        let port = 0;
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Ok(BoardServer { binary, port, env, child: None, log: Arc::default() })
    }

    /// Its port, once it has started.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts the server and waits until it says it listens (and where).
    pub async fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("the server is already running");
        }
        let mut child = Command::new(&self.binary)
            .env("PORT", self.port.to_string())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let stdout = child.stdout.take().context("the server's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                let port = served_port(&line);
                if let Ok(mut log) = self.log.lock() {
                    log.push(line.clone());
                }
                if let Some(port) = port {
                    return Ok(port);
                }
                seen.push(line);
            }
            bail!("the server exited before it listened; it printed:\n{}", seen.join("\n"))
        })
        .await
        .with_context(|| format!("the server did not say it listens within {START_TIMEOUT:?}"))??;
        if self.port != 0 && port != self.port {
            bail!("the server came back on port {port}, not on {}", self.port);
        }
        self.port = port;
        // Keep reading what it logs, so a full pipe never blocks it, and
        // keep it for a post-mortem.
        let log = self.log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut log) = log.lock() {
                    log.push(line);
                }
            }
        });
        self.child = Some(child);
        Ok(())
    }

    /// What the server logged so far, across restarts.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Kills the server (no graceful shutdown: a crash, or a deploy that
    /// doesn't wait) and waits until it is gone.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("stopping the server")?;
        }
        Ok(())
    }
}

/// The port in the server's "task board on http://127.0.0.1:PORT/…" line.
fn served_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once(READY)?;
    let address = rest.split('/').next()?;
    address.parse::<std::net::SocketAddr>().ok().map(|addr| addr.port())
}
