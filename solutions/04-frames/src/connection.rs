//! One WebSocket connection after the handshake: bytes from the socket
//! become frames, frames go to the [`Session`], its replies go back out.
//!
//! TCP delivers a byte stream, not frames: one read may hold half a frame,
//! or three frames and the start of a fourth. The connection keeps what it
//! has read in a buffer and asks [`frame::decode`] for a frame each time
//! more arrives; "not yet" (`Ok(None)`) means read again.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::close;
use crate::frame::{self, Frame, OpCode};
use crate::session::{Reply, Session, Violation};

/// How much room to make in the buffer before each read.
const READ_CHUNK: usize = 8 * 1024;

/// After its Close frame, how long the server keeps reading (and
/// discarding) what the client still sends, before it lets go of the socket.
const LINGER: Duration = Duration::from_secs(1);

/// Why serving a connection stopped early.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Violation(#[from] Violation),
}

impl From<frame::FrameError> for Stop {
    fn from(error: frame::FrameError) -> Self {
        Stop::Violation(error.into())
    }
}

/// A socket and the bytes read from it that are not a whole frame yet.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffer: BytesMut,
    /// The largest frame payload [`frame::decode`] accepts.
    max_payload: usize,
}

// ANCHOR: run
/// Serves one client until it closes, breaks the protocol, or goes away.
pub async fn run(stream: TcpStream, max_message_bytes: usize) -> io::Result<()> {
    let mut connection = Connection::new(stream, max_message_bytes);
    let mut session = Session::new(max_message_bytes);
    match connection.serve(&mut session).await {
        Ok(()) => Ok(()),
        Err(Stop::Violation(violation)) => {
            tracing::info!(%violation, "failing the connection");
            connection.fail(&violation).await
        }
        Err(Stop::Io(error)) => Err(error),
    }
}
// ANCHOR_END: run

impl Connection {
    pub fn new(stream: TcpStream, max_payload: usize) -> Self {
        Connection { stream, buffer: BytesMut::with_capacity(READ_CHUNK), max_payload }
    }

    /// Reads frames and acts on them until the closing handshake is done
    /// (`Ok`), or the client breaks the protocol (`Err`).
    async fn serve(&mut self, session: &mut Session) -> Result<(), Stop> {
        while let Some(frame) = self.read_frame().await? {
            match session.on_frame(frame)? {
                Reply::Nothing => {}
                Reply::Send(frame) => self.write_frame(&frame).await?,
                Reply::Close(frame) => {
                    self.write_frame(&frame).await?;
                    self.close_tcp().await;
                    return Ok(());
                }
            }
        }
        // The client went away without a Close frame: nothing to answer.
        Ok(())
    }

    // ANCHOR: read_frame
    /// The next frame, or `None` when the client closed TCP.
    async fn read_frame(&mut self) -> Result<Option<Frame>, Stop> {
        loop {
            if let Some((frame, used)) = frame::decode(&self.buffer, self.max_payload)? {
                self.buffer.advance(used);
                return Ok(Some(frame));
            }
            // Not a whole frame yet. The buffer never holds more than one
            // frame of at most `max_payload` bytes and one read.
            self.buffer.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Ok(None);
            }
        }
    }
    // ANCHOR_END: read_frame

    async fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        self.stream.write_all(&frame::encode(frame)).await
    }

    // ANCHOR: fail
    /// _Fail the WebSocket Connection_ (§7.1.7): a Close frame with the
    /// violation's code and, as the reason, what went wrong; then close TCP.
    async fn fail(&mut self, violation: &Violation) -> io::Result<()> {
        let payload = close::payload(violation.close_code(), &violation.to_string());
        self.write_frame(&Frame::new(OpCode::Close, payload)).await?;
        self.close_tcp().await;
        Ok(())
    }

    /// §5.5.1: "The server MUST close the underlying TCP connection
    /// immediately" after the closing handshake; the client waits for it.
    ///
    /// Shutting down our sending half (a TCP FIN) tells the client at once.
    /// We then read and discard whatever the client is still sending until
    /// it closes too, for [`LINGER`] at most: a socket closed with unread
    /// bytes makes the kernel send a reset, and a reset can destroy our
    /// Close frame before the client has read it.
    async fn close_tcp(&mut self) {
        if self.stream.shutdown().await.is_err() {
            return;
        }
        let mut sink = [0u8; READ_CHUNK];
        let drain = async { while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
    // ANCHOR_END: fail
}
