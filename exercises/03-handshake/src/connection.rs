//! One connection, from its first byte to its close. Book: "Answering 101
//! Switching Protocols" and "After the 101: a greeting and a close".

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::frames::{self, GREETING, NORMAL_CLOSURE};
use crate::handshake::{self, Rejection};
use crate::request::{self, ReadError};
use crate::response::Response;

/// How long the server waits for the client's answer to its close frame
/// before it closes the TCP connection anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads one handshake and answers it: a `101`, a greeting and a close; or
/// an HTTP refusal. Either way the connection then closes.
///
/// 1. [`request::read_request`]; a `ReadError` gets [`refuse`]d (431, 400),
///    or, when the client left, just ends the connection;
/// 2. [`handshake::validate`]; a `Rejection` gets [`refuse`]d;
/// 3. write [`Response::switching_protocols`]`(&accept).to_bytes()`;
/// 4. write [`frames::text_frame`]`(GREETING)` and
///    [`frames::close_frame`]`(NORMAL_CLOSURE)`;
/// 5. wait (at most [`CLOSE_TIMEOUT`]) for the client's close frame — any
///    bytes, or end-of-file — and return: dropping the stream closes TCP.
pub async fn handle(stream: TcpStream) -> std::io::Result<()> {
    // TODO: the five steps above.
    todo!("connection::handle: read the request, validate it, write the 101, then the greeting and a close")
}

/// Writes the refusal and closes the connection.
async fn refuse(mut stream: TcpStream, rejection: &Rejection) -> std::io::Result<()> {
    stream.write_all(&Response::rejection(rejection).to_bytes()).await?;
    stream.shutdown().await
}
