//! Running a server out of file descriptors, to prove it survives.
//!
//! Every connection costs the server one file descriptor, and a process has
//! a limit (`ulimit -n`: often 1024). When the limit is reached, `accept`
//! fails with `EMFILE`, "too many open files", while the clients keep
//! coming. An accept loop that ends on that error (`accept().await?`) stops
//! serving *everyone*, for good; one that logs it, waits and tries again
//! serves new clients as soon as old ones leave.
//!
//! [`survives_running_out_of_descriptors`] runs a server's binary with a
//! limit of [`LIMIT`] descriptors, opens more connections than that, then
//! lets them go, and requires a fresh handshake to get its `101`. Nothing
//! sleeps: every wait is for a line of the server's log or an answer, with a
//! deadline. Used by the solutions' own tests (chapters 3 and 4); it needs a
//! Unix shell for `ulimit`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The server's open-files limit: a handful for the runtime and the
/// listener, and room for a few dozen connections.
pub const LIMIT: usize = 32;

/// Connections opened at once: well over [`LIMIT`], so `accept` must fail.
const CONNECTIONS: usize = 2 * LIMIT;

/// How long each step may take.
const DEADLINE: Duration = Duration::from_secs(15);

/// How long a server that stopped serving gets to finish exiting, so that
/// the failure can say it exited.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// What the log says when `accept` fails for want of descriptors (EMFILE).
const EMFILE: &str = "Too many open files";

/// The opening handshake of RFC 6455's example.
const HANDSHAKE: &str = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Runs the server binary at `bin` (which logs `ws://<address>/ws` once it
/// listens, on `PORT=0`) with [`LIMIT`] file descriptors, exhausts them,
/// and returns `Err` with the server's log if it stops serving.
pub fn survives_running_out_of_descriptors(bin: &str) -> Result<(), String> {
    let mut server = Server::start(bin)?;
    let result = server.exhaust_then_handshake();
    server.stop();
    result.map_err(|why| format!("{why}\n--- the server's log ---\n{}", server.log.join("\n")))
}

/// The server's process and the lines it logged so far.
struct Server {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl Server {
    fn start(bin: &str) -> Result<Server, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {LIMIT} && exec \"$0\""))
            .arg(bin)
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {bin}: {e}"))?;
        let (send, lines) = channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        for output in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Server { child, lines, log: Vec::new() })
    }

    /// The first line of the log containing `text`, within [`DEADLINE`].
    fn wait_for_line(&mut self, text: &str) -> Result<String, String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(text) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "the server's log has no line with {text:?} after {} s",
                        DEADLINE.as_secs()
                    ));
                }
            }
        }
    }

    fn exhaust_then_handshake(&mut self) -> Result<(), String> {
        let line = self.wait_for_line("ws://")?;
        let addr = address_in(&line).ok_or_else(|| format!("no address in the log line {line:?}"))?;

        // More clients than descriptors: each waits, silent, for its
        // handshake to be read, so every accepted one keeps its descriptor.
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            match TcpStream::connect_timeout(&addr, DEADLINE) {
                Ok(client) => clients.push(client),
                Err(e) => return Err(self.died_or(format!("could not open {CONNECTIONS} connections: {e}"))),
            }
        }
        self.wait_for_line(EMFILE).map_err(|why| {
            format!("{why}: with {CONNECTIONS} connections and a limit of {LIMIT}, accept should fail")
        })?;
        drop(clients);

        // Every client left: the descriptors are free again, and a new
        // client must be served.
        handshake(addr).map_err(|why| {
            self.died_or(format!("after running out of descriptors, a new client was not served: {why}"))
        })
    }

    /// The failure's first line: the server exited (an accept loop that
    /// ended on the error), or else `otherwise`. A process that exits closes
    /// its output, so the log ending says so, without polling.
    fn died_or(&mut self, otherwise: String) -> String {
        let deadline = Instant::now() + EXIT_DEADLINE;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => return otherwise,
            }
        }
        let status = self.child.wait().map_or_else(|e| e.to_string(), |status| status.to_string());
        format!(
            "the server exited ({status}) when accept failed for want of file descriptors: an accept loop \
             must log the error, wait and accept again\n({otherwise})"
        )
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log.extend(self.lines.try_iter());
    }
}

/// The address in `... ws://127.0.0.1:41234/ws`.
fn address_in(line: &str) -> Option<SocketAddr> {
    let start = line.find("ws://")? + "ws://".len();
    let rest = &line[start..];
    rest[..rest.find("/ws")?].parse().ok()
}

/// Sends the example handshake and requires a `101`.
fn handshake(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(DEADLINE)).map_err(|e| e.to_string())?;
    stream.write_all(HANDSHAKE.as_bytes()).map_err(|e| format!("sending the handshake: {e}"))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("no answer to the handshake within {} s: {e}", DEADLINE.as_secs())),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 101") {
        Ok(())
    } else {
        Err(format!("the handshake was answered {status:?}, not 101"))
    }
}
