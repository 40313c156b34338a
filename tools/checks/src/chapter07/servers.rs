//! Servers of a check's own, started through the test binary's [`Launch`],
//! plain or with TLS, and told apart when they stop.

use std::io;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::dial::{Dial, TlsKit};
use crate::{Failure, Target, Tunables};

use super::launch::{Keep, Launch, Stop, Vars};

/// A server a check started, and its task, to tell "it stopped" from
/// "it did not answer".
pub(super) struct Started {
    pub(super) dial: Dial,
    pub(super) task: JoinHandle<io::Result<()>>,
    _files: Option<TempFolder>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(super) keep: Keep,
}

/// A folder of the check's own under the system's temporary folder,
/// removed when the check is done. (Not the `tempfile` crate: it would add
/// crates to chapter 1's first build, which compiles this one too.)
pub(super) struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> io::Result<Self> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("course-ch07-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempFolder(path))
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Started {
    /// Turns a failure into "your server stopped", when it did.
    pub(super) async fn explain<T>(&mut self, outcome: Result<T, Failure>) -> Result<T, Failure> {
        let failure = match outcome {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !self.task.is_finished() {
            return Err(failure);
        }
        let why = match (&mut self.task).await {
            Ok(Ok(())) => "serve() returned Ok(()) while the check still needed it".to_owned(),
            Ok(Err(e)) => format!("serve() returned an error: {e}"),
            Err(e) if e.is_panic() => "serve() panicked (see below)".to_owned(),
            Err(e) => format!("the server task ended: {e}"),
        };
        Err(Failure { headline: format!("your server stopped: {why}"), ..failure })
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Started {
    /// Tells the server to shut down, as SIGTERM would.
    pub(super) fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the learner's server with `vars` on a fresh port.
pub(super) async fn start(t: &Target, vars: Vars) -> Result<Started, Failure> {
    start_keeping(t, vars, Keep::default()).await
}

/// Starts the learner's server with `vars` on a fresh port, on the state in `keep`.
pub(super) async fn start_keeping(t: &Target, vars: Vars, keep: Keep) -> Result<Started, Failure> {
    let launch = t.local::<Launch>()?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new(format!("could not bind 127.0.0.1:0: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Failure::new(format!("no local address: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped: Stop = Box::pin(async move {
        // A dropped sender (the check is over) also stops the server.
        let _ = stopped.await;
    });
    let task = tokio::spawn((launch.0)(listener, vars, stopped, &keep));
    Ok(Started { dial: Dial::plain(addr), task, _files: None, stop: Some(stop), keep })
}

/// Makes a CA and a certificate, writes the certificate and key where
/// `TLS_CERT` and `TLS_KEY` point, and starts the server with them.
pub(super) async fn start_tls(t: &Target, vars: Vars) -> Result<Started, Failure> {
    let kit = *t.local::<TlsKit>()?;
    let pki = (kit.issue)().map_err(|e| Failure::new(format!("could not make a test certificate: {e}")))?;
    let dir = TempFolder::new().map_err(|e| Failure::new(format!("no temporary folder: {e}")))?;
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    for (path, pem) in [(&cert, &pki.cert_pem), (&key, &pki.key_pem)] {
        std::fs::write(path, pem).map_err(|e| Failure::new(format!("could not write {path:?}: {e}")))?;
    }
    let vars = vars.with("TLS_CERT", cert.display()).with("TLS_KEY", key.display());
    let mut started = start(t, vars).await?;
    started.dial = Dial::tls(started.dial.addr(), kit, &pki.ca_pem);
    started._files = Some(dir);
    Ok(started)
}

pub(super) fn short_vars(t: &Target) -> Vars {
    Vars::from_tunables(t.tunables().unwrap_or(Tunables::PRODUCTION))
}
