//! The transparent part: every accepted connection is forwarded to the
//! server, byte for byte, both ways.
//!
//! Each direction is one loop: read up to [`BUFFER`] bytes, write them all
//! to the other side, *then* hand them to the decoder. Nothing is read
//! while a write waits, so when the receiver is slow the sender's TCP window
//! fills up just as it would without the inspector: backpressure passes
//! through, and memory per connection stays bounded.
//!
//! The kernel's buffers count too: a proxy puts two more sockets in the
//! path, and Linux lets each buffer megabytes on loopback. Left alone, they
//! would hide a stuck reader from the server (chapter 2's slow subscriber
//! would not lag). So the proxy's own sockets get small, fixed buffers
//! ([`SOCKET_BUFFER`]): what it holds in all stays a few hundred KiB.
//!
//! The end of a connection is mirrored too: a FIN (one side has finished
//! sending) becomes a `shutdown(Write)` towards the other side, which can
//! still answer; a reset becomes a reset (`SO_LINGER` 0, then close).

use std::io;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::decode::Conn;
use crate::{Dir, Item, Record, Sink};

/// Bytes read at once per direction: the most the inspector holds.
pub const BUFFER: usize = 64 * 1024;
/// The send and receive buffer asked of the kernel for each of the proxy's
/// sockets (Linux doubles it for its bookkeeping, and stops autotuning it).
pub const SOCKET_BUFFER: usize = 64 * 1024;

/// What to forward to, and how much to show.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server, as `host:port` (`localhost:3000`).
    pub to: String,
    /// Add annotated hex dumps (`--bytes`).
    pub bytes: bool,
}

/// Accepts connections on `listener` and forwards each to `options.to`
/// until the process ends, telling `sink` what passes.
pub async fn serve(listener: TcpListener, options: Options, sink: Arc<dyn Sink>) -> io::Result<()> {
    let start = Instant::now();
    let mut count = 0;
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // One client's failed accept is no reason to stop serving the others.
            Err(_) => continue,
        };
        count += 1;
        let (options, sink) = (options.clone(), sink.clone());
        tokio::spawn(async move {
            connection(client, peer.to_string(), count, options, sink, start).await;
        });
    }
}

/// How one direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The sender finished (FIN), passed on as a FIN.
    Fin,
    /// A reset, passed on as a reset.
    Reset,
}

async fn connection(
    client: TcpStream,
    peer: String,
    id: u64,
    options: Options,
    sink: Arc<dyn Sink>,
    start: Instant,
) {
    let _ = bound(&socket2::SockRef::from(&client));
    let server = match dial(&options.to).await {
        Ok(server) => server,
        Err(error) => {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let item = Item::DialFailed { server: options.to.clone(), error: error.to_string() };
            sink.record(Record { conn: id, ms, dir: Dir::Proxy, item });
            // The client sees what it would see without us: the connection refused (reset).
            let _ = client.set_zero_linger();
            return;
        }
    };
    // Small writes go out at once, as they would between the two directly.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let server_addr = server.peer_addr().map_or_else(|_| options.to.clone(), |a| a.to_string());
    let conn = Conn::new(id, start, sink, options.bytes);
    conn.emit(Dir::Proxy, Item::Open { client: peer, server: server_addr });
    let conn = Mutex::new(conn);
    let (mut client, mut server) = (client, server);
    let ended = {
        // Borrowed halves: unlike owned ones, dropping them sends no FIN,
        // so a reset below is a reset and nothing else.
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let mut up = pin!(pump(client_read, server_write, Dir::ToServer, &conn));
        let mut down = pin!(pump(server_read, client_write, Dir::ToClient, &conn));
        let (ended, up_first) = tokio::select! {
            ended = &mut up => (ended, true),
            ended = &mut down => (ended, false),
        };
        match (ended, up_first) {
            (Ended::Fin, true) => down.await,
            (Ended::Fin, false) => up.await,
            (Ended::Reset, _) => Ended::Reset,
        }
    };
    if ended == Ended::Reset {
        // SO_LINGER 0, then close: the side still standing gets a reset too.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Connects to `to` (each of its addresses in turn, as
/// `TcpStream::connect` does) from a socket with bounded buffers.
async fn dial(to: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{to} resolves to no address"));
    for addr in tokio::net::lookup_host(to).await? {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        let _ = bound(&socket2::SockRef::from(&socket));
        match socket.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Gives a socket of the proxy's the small kernel buffers of [`SOCKET_BUFFER`].
fn bound(socket: &socket2::SockRef<'_>) -> io::Result<()> {
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    socket.set_send_buffer_size(SOCKET_BUFFER)
}

/// Forwards `from` to `to` until one ends, feeding the decoder.
async fn pump(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, dir: Dir, conn: &Mutex<Conn>) -> Ended {
    let mut buf = vec![0; BUFFER];
    let (sender, receiver) = match dir {
        Dir::ToServer => ("the client", "the server"),
        _ => ("the server", "the client"),
    };
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => {
                let _ = to.shutdown().await;
                lock(conn).end(dir, format!("{sender} finished sending (FIN); passed on to {receiver}"));
                return Ended::Fin;
            }
            Ok(n) => n,
            Err(error) => {
                lock(conn)
                    .end(dir, format!("{sender}'s connection broke ({error}); {receiver}'s is reset too"));
                return Ended::Reset;
            }
        };
        if let Err(error) = to.write_all(&buf[..n]).await {
            lock(conn).end(
                dir,
                format!("{receiver} can't be written to ({error}); {sender}'s connection is reset"),
            );
            return Ended::Reset;
        }
        lock(conn).feed(dir, &buf[..n]);
    }
}

/// The decoder, even if a panic poisoned its lock: it stops itself then.
fn lock(conn: &Mutex<Conn>) -> MutexGuard<'_, Conn> {
    conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
