//! A private `redis-server` for one check: a free port, a temporary folder,
//! no snapshots, and an append-only file flushed on every write
//! (`--appendonly yes --appendfsync always`), so a Redis killed with
//! SIGKILL and started again on the same folder has every write it
//! acknowledged.
//!
//! The checks speak to it with `redis-cli` (it comes with `redis-server`):
//! to count clients and commands, and to kill connections.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use crate::Failure;

/// How to install Redis, for the skip message and the failure.
pub const INSTALL: &str = "apt install redis-server (Debian, Ubuntu), brew install redis (macOS); \
                           on Windows, inside WSL";

/// Why the Redis checks are skipped on this machine, if they are:
/// `redis-server` is not on the `PATH`, and `CI` is not set (in CI a
/// missing Redis is a failure).
pub fn skip_reason() -> Option<&'static str> {
    let in_ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false");
    (!in_ci && !installed()).then_some(
        "redis-server is not installed. Install it — apt install redis-server (Debian, \
         Ubuntu), brew install redis (macOS); on Windows, inside WSL — and run again",
    )
}

/// Whether `redis-server` and `redis-cli` are on the `PATH`.
fn installed() -> bool {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    on_path("redis-server") && on_path("redis-cli")
}

/// Handed over in the `Locals` of a test binary whose every server runs on
/// a private Redis (chapter 6's and 7's checks run against chapter 8's
/// server): each of its checks is then skipped, or fails in CI, as chapter
/// 8's own are when `redis-server` is missing; and the checks it names in
/// `skip` (name, why) are skipped, with that reason.
#[derive(Debug, Clone, Copy)]
pub struct ServersNeedRedis {
    pub skip: &'static [(&'static str, &'static str)],
}

impl ServersNeedRedis {
    /// Why `check` is skipped, if it is one of those named.
    pub fn skips(&self, check: &str) -> Option<&'static str> {
        self.skip.iter().find(|(name, _)| *name == check).map(|(_, why)| *why)
    }
}

/// How long Redis may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How many free ports [`RedisServer::start`] tries.
const START_ATTEMPTS: u32 = 5;

/// What Redis logs when its port was taken after all.
const PORT_TAKEN: &str = "Address already in use";

/// A running private Redis.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a Redis on a free port, in a fresh temporary folder.
    pub async fn start() -> Result<RedisServer, Failure> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("course-ch08-redis-{}-{n}", std::process::id()));
        let mut attempts = 1;
        loop {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Failure::new(format!("no temporary folder {dir:?}: {e}")))?;
            let mut redis = RedisServer { port: free_port()?, dir: dir.clone(), child: None };
            match redis.start_again().await {
                Ok(()) => return Ok(redis),
                // The port was free when we looked, and taken by someone
                // else before Redis bound it (other tests start servers
                // too): another free port, a few times.
                Err(failure) if attempts < START_ATTEMPTS && failure.to_string().contains(PORT_TAKEN) => {
                    attempts += 1;
                }
                Err(failure) => return Err(failure),
            }
        }
    }

    /// `redis://127.0.0.1:<port>`, for `REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts Redis on the same port and folder (after [`RedisServer::kill`]),
    /// and waits until it says it accepts connections.
    pub async fn start_again(&mut self) -> Result<(), Failure> {
        if !installed() {
            return Err(Failure::new("could not start redis-server: it is not on the PATH")
                .expected(format!("redis-server on the PATH ({INSTALL})")));
        }
        // Through a shell that stays as its keeper: when our end of its
        // stdin closes — `kill`, a drop, or this process ending in any way,
        // even before destructors run — it SIGKILLs Redis. So no Redis
        // outlives the check that started it. The keeper hands its stdout to
        // Redis alone, so that it ends when Redis does.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"redis-server "$@" & r=$!; exec >/dev/null; read -r _; kill -9 "$r"; wait "$r""#)
            .arg("redis-keeper")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::new(format!("could not start redis-server through sh: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let ready = timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let ready = line.contains("Ready to accept connections");
                seen.push(line);
                if ready {
                    return true;
                }
            }
            false
        })
        .await;
        if ready != Ok(true) {
            return Err(Failure::new("the check's own redis-server did not start")
                .expected("redis-server logs \"Ready to accept connections\"")
                .got(seen.join("\n")));
        }
        // Keep reading its log, so that a full pipe never stops it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }

    /// Kills Redis with SIGKILL, as a crash would, and waits for it to be gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Its keeper kills it with SIGKILL once its stdin closes, and
            // ends when Redis is gone.
            drop(child.stdin.take());
            let _ = timeout(START_TIMEOUT, child.wait()).await;
        }
    }

    /// `redis-cli -p <port> <args…>`: what it prints.
    pub async fn cli(&self, args: &[&str]) -> Result<String, Failure> {
        let run = Command::new("redis-cli").arg("-p").arg(self.port.to_string()).args(args).output();
        match timeout(START_TIMEOUT, run).await {
            Ok(Ok(output)) if output.status.success() => {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
            Ok(Ok(output)) => Err(Failure::new(format!(
                "redis-cli {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ))),
            Ok(Err(e)) => Err(Failure::new(format!("could not run redis-cli ({INSTALL}): {e}"))),
            Err(_) => Err(Failure::new(format!("redis-cli {} did not answer", args.join(" ")))),
        }
    }

    /// The connected clients, one `CLIENT LIST` line each.
    pub async fn clients(&self) -> Result<Vec<Client>, Failure> {
        let list = self.cli(&["CLIENT", "LIST"]).await?;
        Ok(list.lines().filter_map(Client::parse).collect())
    }

    /// How many times Redis ran `command` (lower case) since it started,
    /// from `INFO commandstats`.
    pub async fn calls(&self, command: &str) -> Result<u64, Failure> {
        let stats = self.cli(&["INFO", "commandstats"]).await?;
        let prefix = format!("cmdstat_{command}:calls=");
        Ok(stats
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Closes the keeper's stdin: it kills Redis.
        drop(self.child.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One line of `CLIENT LIST`.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    /// The last command it ran (`xread`, `subscribe`, `get`…).
    pub cmd: String,
    /// `b` among the flags: waiting in a blocking command.
    pub blocked: bool,
    pub line: String,
}

impl Client {
    fn parse(line: &str) -> Option<Client> {
        let field = |name: &str| {
            line.split(' ').find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        };
        Some(Client {
            id: field("id")?.to_owned(),
            cmd: field("cmd").unwrap_or_default().to_owned(),
            blocked: field("flags").is_some_and(|flags| flags.contains('b')),
            line: line.to_owned(),
        })
    }
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, Failure> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::new(format!("could not bind 127.0.0.1:0: {e}")))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| Failure::new(format!("no local address: {e}")))
}
