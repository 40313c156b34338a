//! What Redis did for a measurement: how many commands it ran, and a
//! private `redis-server` to run them in.
//!
//! Chapter 8's instances share one Redis; the figure that says whether the
//! design holds is *Redis commands per event*: a board's event should cost
//! a few commands (the write, one read per instance), not one per
//! subscriber. Redis counts every command it runs, per command name, in
//! `INFO commandstats`; the difference between two readings is the work
//! done in between.
//!
//! One command needs no client library: Redis accepts an *inline command*
//! (the command as a line of text) and answers `INFO` with one bulk string,
//! `$<length>\r\n<bytes>\r\n`. The servers under test use a real client
//! crate; this tool only reads a counter.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::http::IO_TIMEOUT;

/// The Redis at `redis://127.0.0.1:port` (or `localhost`), as a port.
pub fn port_of_url(url: &str) -> Result<u16> {
    let rest = url.strip_prefix("redis://").with_context(|| format!("{url:?} is not a redis:// URL"))?;
    loopback_port(rest).with_context(|| format!("in the Redis URL {url:?}"))
}

/// `127.0.0.1:3001/…` or `localhost:3001` → 3001; any other host is refused
/// (load belongs on loopback).
pub fn loopback_port(host_port: &str) -> Result<u16> {
    let host_port = host_port.split('/').next().unwrap_or_default();
    let (host, port) = host_port.rsplit_once(':').context("no port")?;
    ensure!(
        host == crate::HOST || host == "localhost",
        "the host is {host:?}: the load tool only talks to {}",
        crate::HOST
    );
    port.parse().with_context(|| format!("the port {port:?} is not a number"))
}

/// The number of commands the Redis on `port` has run since it started
/// (or since `CONFIG RESETSTAT`), leaving out `INFO` itself, so that
/// reading the counter does not move it.
pub async fn commands_run(port: u16) -> Result<u64> {
    let mut stream = timeout(IO_TIMEOUT, TcpStream::connect((crate::HOST, port)))
        .await
        .context("connecting to Redis timed out")?
        .with_context(|| format!("connecting to Redis on {}:{port}", crate::HOST))?;
    stream.write_all(b"INFO commandstats\r\n").await?;
    let mut reply = Vec::new();
    loop {
        if let Some(text) = bulk_string(&reply)? {
            return Ok(total_calls(&text));
        }
        let read = timeout(IO_TIMEOUT, stream.read_buf(&mut reply))
            .await
            .context("waiting for Redis's INFO timed out")??;
        ensure!(read > 0, "Redis closed the connection before answering INFO");
    }
}

/// `$5\r\nhello\r\n` → `Some("hello")`; `None` while incomplete.
fn bulk_string(reply: &[u8]) -> Result<Option<String>> {
    let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
    let header = std::str::from_utf8(&reply[..end]).context("Redis's reply is not text")?;
    let Some(length) = header.strip_prefix('$') else { bail!("Redis answered INFO with {header:?}") };
    let length: usize = length.parse().with_context(|| format!("a bulk length {length:?}"))?;
    let body = &reply[end + 2..];
    if body.len() < length {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&body[..length]).into_owned()))
}

/// Sums `calls=` over the `cmdstat_<name>:calls=N,usec=…` lines, except
/// `cmdstat_info`.
fn total_calls(info: &str) -> u64 {
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter(|line| !line.starts_with("info:"))
        .filter_map(|line| line.split_once("calls=")?.1.split(',').next()?.parse::<u64>().ok())
        .sum()
}

/// A `redis-server` of the tool's own, on a free port, in a temporary
/// directory, for one round: nothing shared with another round or with a
/// Redis the machine already runs. Dropping it ends the process and removes
/// the directory.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `program` (`redis-server`) with an append-only file synced
    /// once a second (Redis's own default policy for it) and no snapshots,
    /// and waits until it accepts connections.
    pub async fn start(program: &Path, name: &str) -> Result<RedisServer> {
        const READY_WITHIN: Duration = Duration::from_secs(10);
        let port = TcpListener::bind((crate::HOST, 0))?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("course-load-redis-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = File::create(dir.join("redis.log"))?;
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", crate::HOST, "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "everysec", "--logfile", ""])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (Debian: apt install redis-server; macOS: brew install redis)",
                    program.display()
                )
            })?;
        let mut server = RedisServer { child, port, dir };
        let started = Instant::now();
        while TcpStream::connect((crate::HOST, port)).await.is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{} exited ({status}); see {}",
                    program.display(),
                    server.dir.join("redis.log").display()
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

    /// `redis://127.0.0.1:<port>`, for the servers' `REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://{}:{}", crate::HOST, self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_summed_without_info() {
        let info = "# Commandstats\r\ncmdstat_xadd:calls=20,usec=100,usec_per_call=5.00\r\n\
                    cmdstat_info:calls=7,usec=1\r\ncmdstat_xread:calls=61,usec=9,rejected_calls=0\r\n";
        assert_eq!(total_calls(info), 81);
    }

    #[test]
    fn a_bulk_string_is_read_once_complete() {
        assert_eq!(bulk_string(b"$5\r\nhel").unwrap(), None);
        assert_eq!(bulk_string(b"$5\r\nhello\r\n").unwrap().as_deref(), Some("hello"));
        assert!(bulk_string(b"-ERR unknown\r\n").is_err());
    }

    #[test]
    fn only_loopback_urls_are_taken() {
        assert_eq!(port_of_url("redis://127.0.0.1:6390").unwrap(), 6390);
        assert_eq!(port_of_url("redis://localhost:6390/0").unwrap(), 6390);
        assert!(port_of_url("redis://cache.example.com:6379").is_err());
        assert!(port_of_url("http://127.0.0.1:6379").is_err());
        assert_eq!(loopback_port("127.0.0.1:3001/").unwrap(), 3001);
    }
}
