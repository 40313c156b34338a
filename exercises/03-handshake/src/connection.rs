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
/// an HTTP refusal. Either way the connection then closes (book: "Answering
/// 101 Switching Protocols" and "After the 101: a greeting and a close").
pub async fn handle(stream: TcpStream) -> std::io::Result<()> {
    todo!(
        "connection::handle: answer the handshake with a 101, a greeting and a close, or refuse it \
         (book: Answering 101 Switching Protocols)"
    )
}

/// Writes the refusal and closes the connection.
async fn refuse(mut stream: TcpStream, rejection: &Rejection) -> std::io::Result<()> {
    stream.write_all(&Response::rejection(rejection).to_bytes()).await?;
    stream.shutdown().await
}
