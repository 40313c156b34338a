//! Debian's nginx, running a configuration in a folder of its own: the book's
//! `deploy/nginx.conf` in front of chapter 7's server, for the solution's
//! proxy test and the browser test behind it.
//!
//! Starting it is where such tests get flaky, so it is done once, here:
//! - the port: a port that was free a moment ago may be taken by another
//!   program before nginx binds it; nginx then says `bind() … failed` and
//!   gives up, and the start is tried again on another port;
//! - readiness: nginx logs `start worker processes` (at `notice`, on its
//!   stderr, which is piped here) once its sockets listen, so the start waits
//!   for that line rather than polling the port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// How to install it, for a message that says it is missing.
pub const INSTALL: &str = "sudo apt-get install -y nginx";

/// How long nginx may take to listen (it tries a taken port for 2.5 s).
const START: Duration = Duration::from_secs(10);

/// How many ports a start tries.
const TRIES: usize = 3;

/// The nginx binary, where Debian, Homebrew or a source build put it.
pub fn find() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/opt/homebrew/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// nginx, running until [`Nginx::stop`] or drop; its folder is removed then.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nginx {
    /// Starts `nginx` in `dir` (created if missing; removed when this value
    /// goes) with the configuration `config` writes for a port to listen on,
    /// and returns once it listens.
    pub async fn start(nginx: &Path, dir: PathBuf, config: impl Fn(u16) -> String) -> Result<Nginx, String> {
        let mut last = String::new();
        for _ in 0..TRIES {
            let port = free_port()?;
            std::fs::create_dir_all(dir.join("logs"))
                .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, config(port))
                .map_err(|e| format!("could not write {}: {e}", conf.display()))?;
            let mut child = Command::new(nginx)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .arg("-g")
                .arg(format!("daemon off; pid {}/nginx.pid; error_log stderr notice;", dir.display()))
                .stdin(Stdio::null())
                // Not the caller's output: a worker holding it open would keep
                // a `cargo test | …` pipe from ever ending.
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                // Its own process group, so that one signal ends the master
                // and its workers (a SIGKILL to the master alone leaves them).
                .process_group(0)
                .spawn()
                .map_err(|e| format!("could not start {}: {e}", nginx.display()))?;
            let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
            let mut log = Vec::new();
            let started = timeout(START, async {
                while let Ok(Some(line)) = lines.next_line().await {
                    let listening = line.contains("start worker processes");
                    let taken = line.contains("[emerg]") && line.contains("bind()");
                    log.push(line);
                    if listening || taken {
                        return listening;
                    }
                }
                false
            })
            .await;
            // Keep reading its log, so that a full pipe never blocks it.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            match started {
                Ok(true) => return Ok(Nginx { child, port, dir }),
                Ok(false) => last = format!("nginx did not start on port {port}:\n{}", log.join("\n")),
                Err(_) => last = format!("nginx did not listen on port {port} within {} s", START.as_secs()),
            }
            kill_group(&mut child);
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last)
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGTERM to the master, which stops its workers and then exits; SIGKILL
    /// to them all only if it has not exited within a few seconds.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let _ = timeout(START, self.child.wait()).await;
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SIGKILL to nginx's process group — its master and workers — unless the
/// master has already exited (and its group with it).
fn kill_group(child: &mut Child) {
    if let (Ok(None), Some(pid)) = (child.try_wait(), child.id()) {
        let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
    }
}

/// A port nobody listened on a moment ago.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("could not find a free port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn folder(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("course-nginx-unit-{}-{name}", std::process::id()))
    }

    fn listening_on(port: u16) -> String {
        format!("events {{}}\nhttp {{ server {{ listen 127.0.0.1:{port}; return 204; }} }}\n")
    }

    #[tokio::test]
    async fn a_port_taken_before_nginx_binds_it_is_tried_again_on_another() {
        let Some(binary) = find() else {
            return eprintln!("skipped: nginx is not installed; install it with `{INSTALL}`");
        };
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to take");
        let taken_port = taken.local_addr().expect("an address").port();
        let tries = Cell::new(0);
        let config = |port: u16| {
            tries.set(tries.get() + 1);
            listening_on(if tries.get() == 1 { taken_port } else { port })
        };
        let nginx =
            Nginx::start(&binary, folder("taken"), config).await.expect("nginx starts on the second try");
        assert_eq!(tries.get(), 2, "the first try met the taken port");
        assert_ne!(nginx.port(), taken_port);
        tokio::net::TcpStream::connect(("127.0.0.1", nginx.port()))
            .await
            .expect("nginx listens once started");
        nginx.stop().await;
    }

    #[tokio::test]
    async fn a_config_nginx_refuses_is_an_error_with_its_log() {
        let Some(binary) = find() else {
            return eprintln!("skipped: nginx is not installed; install it with `{INSTALL}`");
        };
        let dir = folder("refused");
        let error = Nginx::start(&binary, dir.clone(), |_| "no_such_directive on;\n".into())
            .await
            .expect_err("an unknown directive");
        assert!(error.contains("no_such_directive"), "the error quotes nginx's log: {error}");
        assert!(!dir.exists(), "the folder is removed");
    }
}
