//! The learner's binary as a real process, for what only a process shows:
//! what it does on SIGTERM, and when it exits.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use crate::Failure;
use crate::dial::Dial;

use super::launch::Vars;

/// How long the binary may take to say it serves (it is built already).
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of the learner's server binary, handed over by the test binary
/// (`env!("CARGO_BIN_EXE_<package>")`), for the checks that run it.
#[derive(Debug, Clone, Copy)]
pub struct Binary(pub &'static str);

/// The binary, running on a port of its own, and what it has logged.
pub(super) struct Process {
    child: Child,
    pub(super) dial: Dial,
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `binary` with `vars` on a free port, and waits for the log
    /// line that names its address (`main.rs`: "task board on http://…").
    pub(super) async fn start(binary: Binary, vars: &Vars) -> Result<Process, Failure> {
        // A port that was free a moment ago: another program may take it in
        // between, so a process that can't bind is tried again on another.
        let mut last = None;
        for _ in 0..3 {
            match Process::try_start(binary, vars).await? {
                Ok(process) => return Ok(process),
                Err(failure) => last = Some(failure),
            }
        }
        Err(last.expect("three tries were made"))
    }

    async fn try_start(binary: Binary, vars: &Vars) -> Result<Result<Process, Failure>, Failure> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| Failure::new(format!("could not find a free port: {e}")))?
            .port();
        let mut command = Command::new(binary.0);
        command.envs(vars.iter()).env("PORT", port.to_string()).env("RUST_LOG", "info").env("NO_COLOR", "1");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Failure::new(format!("could not start {}: {e}", binary.0)))?;
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let address = format!("127.0.0.1:{port}");
        let serving = timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let found = line.contains(&address);
                log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                if found {
                    return true;
                }
            }
            false
        })
        .await;
        // Keep reading its log, so that a full pipe never blocks it.
        let kept = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let process = Process { child, dial: Dial::plain(([127, 0, 0, 1], port).into()), log };
        Ok(match serving {
            Ok(true) => Ok(process),
            Ok(false) => {
                Err(Failure::new(format!("{} ended before it said it serves on {address}", binary.0))
                    .got(process.log()))
            }
            Err(_) => Err(Failure::new(format!(
                "{} did not log its address ({address}) within {} s of starting",
                binary.0,
                START_TIMEOUT.as_secs()
            ))
            .got(process.log())),
        })
    }

    /// Sends SIGTERM, as `docker stop`, `systemctl stop` and Kubernetes do.
    pub(super) async fn terminate(&self) -> Result<(), Failure> {
        let pid = self.child.id().ok_or_else(|| Failure::new("the server's process had already ended"))?;
        let kill = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        match timeout(Duration::from_secs(5), kill).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(Failure::new(format!("kill -TERM {pid} failed: {status}"))),
            Ok(Err(e)) => Err(Failure::new(format!("could not run kill -TERM {pid}: {e}"))),
            Err(_) => Err(Failure::new(format!("kill -TERM {pid} did not return within 5 s"))),
        }
    }

    /// Waits for the process to end, for `within` at most.
    pub(super) async fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        timeout(within, self.child.wait()).await.ok().and_then(Result::ok)
    }

    /// What the process has logged so far.
    pub(super) fn log(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        format!("(the server's log)\n{}", log.join("\n"))
    }
}
