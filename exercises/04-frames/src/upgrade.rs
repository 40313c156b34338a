//! The opening handshake, as chapter 3 built it; then the connection speaks
//! WebSocket frames ([`Connection::run`]).

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::Config;
use crate::connection::Connection;
use crate::handshake::{self, Rejection};
use crate::request::{self, ReadError};
use crate::response::Response;

/// Reads one handshake and answers it: a `101`, then the echo service until
/// the connection ends; or an HTTP refusal, and the connection closes.
pub async fn handle(mut stream: TcpStream, config: Config) -> std::io::Result<()> {
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
    // RFC 6455 §4.1: the client "MUST wait for a response from the server
    // before sending any further data", so no frame was read with the head.
    Connection::new(stream, config.max_message_bytes).run().await
}

/// Writes the refusal and closes the connection.
async fn refuse(mut stream: TcpStream, rejection: &Rejection) -> std::io::Result<()> {
    stream.write_all(&Response::rejection(rejection).to_bytes()).await?;
    stream.shutdown().await
}
