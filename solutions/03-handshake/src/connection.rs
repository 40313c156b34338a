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

// ANCHOR: handle
/// Reads one handshake and answers it: a `101`, a greeting and a close; or
/// an HTTP refusal. Either way the connection then closes.
pub async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let request = match request::read_request(&mut stream).await {
        Ok(request) => request,
        Err(ReadError::TooLarge) => return refuse(stream, &Rejection::HeadTooLarge).await,
        Err(ReadError::Malformed(_)) => {
            return refuse(stream, &Rejection::BadRequest("this is not an HTTP/1.1 request")).await;
        }
        // The client left: there is nobody to answer.
        Err(ReadError::Closed) => return Ok(()),
        Err(ReadError::Io(error)) => return Err(error),
    };
    let accept = match handshake::validate(&request) {
        Ok(accept) => accept,
        Err(rejection) => {
            tracing::debug!(?request, %rejection, "refused a handshake");
            return refuse(stream, &rejection).await;
        }
    };
    stream.write_all(&Response::switching_protocols(&accept).to_bytes()).await?;
    tracing::info!(path = %request.path(), "upgraded to WebSocket");

    // From here on the connection speaks WebSocket, not HTTP.
    stream.write_all(&frames::text_frame(GREETING)).await?;
    stream.write_all(&frames::close_frame(NORMAL_CLOSURE)).await?;
    // RFC 6455 §7.1.1: after the closing handshake the server closes TCP
    // first. So wait for the client's close frame (any bytes will do: this
    // chapter doesn't decode frames) or for it to hang up, then drop the
    // stream, which closes the connection.
    let mut reply = [0u8; 128];
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, stream.read(&mut reply)).await;
    Ok(())
}

/// Writes the refusal and closes the connection.
async fn refuse(mut stream: TcpStream, rejection: &Rejection) -> std::io::Result<()> {
    stream.write_all(&Response::rejection(rejection).to_bytes()).await?;
    stream.shutdown().await
}
// ANCHOR_END: handle
