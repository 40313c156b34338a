//! Starts `chromedriver`, the WebDriver server that launches and controls
//! Chromium.
//!
//! It is started with `--port=0`, so the operating system picks a free port,
//! and the port is read from the line chromedriver prints once it listens:
//! no guessing a free port, and no retrying a connection until it works.
//! chromedriver's own port-0 handling can lose a race for the port it
//! picked ("IPv4 port not available", seen once in CI under load); only
//! that is retried, a few times.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long chromedriver may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How many times to start chromedriver when it loses its port.
const ATTEMPTS: usize = 3;

/// What chromedriver prints when the port it picked was taken.
const PORT_TAKEN: &str = "port not available";

/// The line chromedriver prints when it listens, before the port number.
const READY: &str = "ChromeDriver was started successfully on port ";

/// A running chromedriver. Dropping it kills the process.
#[derive(Debug)]
pub struct Driver {
    process: Child,
    port: u16,
}

impl Driver {
    /// Starts the chromedriver at `path` on a free loopback port.
    pub async fn start(path: &Path) -> Result<Driver> {
        let mut attempt = 1;
        loop {
            match Driver::start_once(path).await {
                Err(error) if attempt < ATTEMPTS && format!("{error:#}").contains(PORT_TAKEN) => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    async fn start_once(path: &Path) -> Result<Driver> {
        let mut process = Command::new(path)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stdout = process.stdout.take().context("chromedriver's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix(READY) {
                    let port = rest.trim_end_matches('.').trim();
                    return port.parse::<u16>().with_context(|| format!("chromedriver's port in {line:?}"));
                }
                seen.push(line);
            }
            bail!("chromedriver exited before it listened; it printed:\n{}", seen.join("\n"))
        })
        .await
        .with_context(|| format!("chromedriver did not report a port within {START_TIMEOUT:?}"))??;
        // Keep reading what it prints, so a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Driver { process, port })
    }

    /// The WebDriver endpoint, e.g. `http://127.0.0.1:39245`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops chromedriver and waits until it is gone.
    pub async fn stop(mut self) -> Result<()> {
        self.process.kill().await.context("stopping chromedriver")
    }
}
