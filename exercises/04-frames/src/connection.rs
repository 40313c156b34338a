//! One WebSocket connection after the handshake: bytes from the socket
//! become frames, frames go to the [`Session`], its replies go back out.
//!
//! TCP delivers a byte stream, not frames: one read may hold half a frame,
//! or three frames and the start of a fourth. The connection keeps what it
//! has read in a buffer and asks [`frame::decode`] for a frame each time
//! more arrives; "not yet" (`Ok(None)`) means read again.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::frame::{self, Frame};
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

    /// The next frame, or `None` when the client closed TCP.
    async fn read_frame(&mut self) -> Result<Option<Frame>, Stop> {
        // TODO (stage 2): loop: try `frame::decode` on `self.buffer` (with
        // `self.max_payload`); a frame → drop the bytes it used and return it;
        // `Ok(None)` → read more from `self.stream` into the buffer, and a
        // read of 0 bytes means the client closed TCP. `?` turns a
        // `FrameError` into a `Stop`. You will want `bytes::Buf` (for
        // `advance`) and `tokio::io::AsyncReadExt` (for `read_buf`) in scope.
        todo!("Connection::read_frame (stage 2): read bytes until they hold a whole frame")
    }

    async fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        self.stream.write_all(&frame::encode(frame)).await
    }

    /// _Fail the WebSocket Connection_ (§7.1.7): a Close frame with the
    /// violation's code and, as the reason, what went wrong; then close TCP.
    async fn fail(&mut self, violation: &Violation) -> io::Result<()> {
        todo!("Connection::fail (stage 4): send a Close frame with violation.close_code(), then close TCP")
    }

    /// §5.5.1: "The server MUST close the underlying TCP connection
    /// immediately" after the closing handshake; the client waits for it.
    async fn close_tcp(&mut self) {
        // TODO (stage 4): shut down the sending half (`self.stream.shutdown()`),
        // then read and discard what the client still sends until it closes
        // too, for LINGER at most: closing a socket with unread bytes makes
        // the kernel send a reset, which can destroy your Close frame.
        todo!("Connection::close_tcp (stage 4): shut down, then drain until the client closes")
    }
}
