//! Opening a WebSocket as a load client.

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::http::IO_TIMEOUT;

/// A client WebSocket over plain TCP.
pub type Socket = WebSocketStream<TcpStream>;

/// Connects to `ws://127.0.0.1:port{path}`.
///
/// Nagle's algorithm is off, as browsers have it: a small message goes out
/// now rather than waiting to be joined by the next. The client's read
/// buffer is small: with tungstenite's default of 128 KiB, ten thousand idle
/// clients would hold more than a gigabyte of zeroes in the load tool.
pub async fn connect(port: u16, path: &str) -> Result<Socket> {
    const CLIENT_READ_BUFFER: usize = 4 * 1024;
    let url = format!("ws://{}:{port}{path}", crate::HOST);
    let tcp = timeout(IO_TIMEOUT, TcpStream::connect((crate::HOST, port)))
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {url}"))?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (socket, _response) =
        timeout(IO_TIMEOUT, tokio_tungstenite::client_async_with_config(url.as_str(), tcp, Some(config)))
            .await
            .context("the WebSocket handshake timed out")?
            .with_context(|| format!("the WebSocket handshake with {url}"))?;
    Ok(socket)
}

/// The next text or binary message; pings and pongs are skipped (the
/// library answers pings by itself).
pub async fn next_data(socket: &mut Socket) -> Result<Message> {
    loop {
        let message = timeout(IO_TIMEOUT, socket.next())
            .await
            .context("no message within 30 s")?
            .context("the server closed the connection")?
            .context("reading a message")?;
        match message {
            Message::Text(_) | Message::Binary(_) => return Ok(message),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(frame) => bail!("the server closed the connection: {frame:?}"),
        }
    }
}
