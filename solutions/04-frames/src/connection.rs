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

/// Why serving a connection stopped before a closing handshake.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// The socket failed, or the client closed TCP without a closing
    /// handshake: nobody is left to tell.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The client broke the protocol: it gets a Close frame saying so.
    #[error(transparent)]
    Violation(#[from] Violation),
}

impl From<frame::FrameError> for Stop {
    fn from(error: frame::FrameError) -> Self {
        Stop::Violation(error.into())
    }
}

/// One client's WebSocket connection, after the `101`: the socket, the
/// bytes read from it that are not a whole frame yet, and the protocol's
/// state. [`Connection::run`] serves it to the end.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffer: BytesMut,
    /// The largest frame payload [`frame::decode`] accepts.
    max_payload: usize,
    session: Session,
}

impl Connection {
    /// A connection whose handshake is done, accepting messages of up to
    /// `max_message_bytes` (a single frame is never longer than a message).
    pub fn new(stream: TcpStream, max_message_bytes: usize) -> Self {
        Connection {
            stream,
            buffer: BytesMut::with_capacity(READ_CHUNK),
            max_payload: max_message_bytes,
            session: Session::new(max_message_bytes),
        }
    }

    // ANCHOR: run
    /// Serves the client until the connection ends, and says how it ended.
    ///
    /// `Ok` after a closing handshake, or after failing the connection for a
    /// client that broke the protocol (it was told why, with a close code).
    /// `Err` when the socket failed, or the client closed TCP without a
    /// Close frame, which RFC 6455 §7.1.5 calls an abnormal closure (1006):
    /// between two frames, or in the middle of one.
    pub async fn run(mut self) -> io::Result<()> {
        match self.serve().await {
            Ok(()) => Ok(()),
            Err(Stop::Violation(violation)) => {
                tracing::info!(%violation, "failing the connection");
                self.fail(&violation).await
            }
            Err(Stop::Io(error)) => Err(error),
        }
    }
    // ANCHOR_END: run

    /// Reads frames and acts on them until the closing handshake is done
    /// (`Ok`), or the client breaks the protocol or goes away (`Err`).
    async fn serve(&mut self) -> Result<(), Stop> {
        loop {
            let frame = self.read_frame().await?;
            match self.session.on_frame(frame)? {
                Reply::Nothing => {}
                Reply::Send(frame) => self.write_frame(&frame).await?,
                Reply::Close(frame) => {
                    self.write_frame(&frame).await?;
                    self.close_tcp().await;
                    return Ok(());
                }
            }
        }
    }

    // ANCHOR: read_frame
    /// The next frame. End-of-file is an error: a client that is done sends
    /// a Close frame first, so TCP ending before one is an abnormal closure.
    async fn read_frame(&mut self) -> Result<Frame, Stop> {
        loop {
            if let Some((frame, used)) = frame::decode(&self.buffer, self.max_payload)? {
                self.buffer.advance(used);
                return Ok(frame);
            }
            // Not a whole frame yet. The buffer never holds more than one
            // frame of at most `max_payload` bytes and one read.
            self.buffer.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(Stop::Io(self.closed_early()));
            }
        }
    }

    /// The error for a client that closed TCP without a Close frame.
    fn closed_early(&self) -> io::Error {
        let when = match self.buffer.len() {
            0 => "between two frames".to_owned(),
            n => format!("in the middle of a frame, {n} bytes into it"),
        };
        let message = format!("the client closed TCP without a Close frame, {when} (abnormal closure)");
        io::Error::new(io::ErrorKind::UnexpectedEof, message)
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
