//! A server binary started for a measurement: its own process, a free
//! port, and no trace left behind.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running server process. Dropping it ends the process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `program` with `PORT` set to a free port and `env`, and waits
    /// until it accepts connections. It inherits this process's open-files
    /// limit (raise it first); its output goes to `course-load-{name}.log`
    /// in the temporary directory.
    pub async fn start(program: &Path, env: &[(String, String)], name: &str) -> Result<Server> {
        const READY_WITHIN: Duration = Duration::from_secs(10);
        let port = TcpListener::bind((crate::HOST, 0))?.local_addr()?.port();
        let log = std::env::temp_dir().join(format!("course-load-{name}.log"));
        let output = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(program)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut server = Server { child, port, log };
        let started = Instant::now();
        while tokio::net::TcpStream::connect((crate::HOST, port)).await.is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before listening; see {}",
                    program.display(),
                    server.log.display()
                );
            }
            if started.elapsed() > READY_WITHIN {
                bail!("{} did not listen on port {port} within {READY_WITHIN:?}", program.display());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Ends the server (SIGKILL: nothing of it is kept) and reaps it.
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A measurement that fails halfway still leaves no server behind.
    fn drop(&mut self) {
        self.end();
    }
}
