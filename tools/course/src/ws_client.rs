//! `course ws URL`: a WebSocket client for the terminal. It prints every
//! message and control frame as it arrives and sends each line you type.
//!
//! ```text
//! $ cargo course ws ws://localhost:3000/ws
//! connected: 101 Switching Protocols
//! {"type":"join","boardId":"board-1","user":"Alice"}
//! → text {"type":"join","boardId":"board-1","user":"Alice"}
//! ← text {"type":"presence","boardId":"board-1","users":["Alice"]}
//! ```
//!
//! Lines starting with `/` are commands: `/ping [text]`, `/close [code] [reason]`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::term::{BAD, DIM, GOOD, paint};

pub fn run(url: &str) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(session(url))
}

async fn session(url: &str) -> Result<ExitCode> {
    let (socket, response) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("connecting to {url} (is your server running?)"))?;
    anstream::println!("{}", paint(GOOD, format!("connected: {}", response.status())));
    anstream::println!(
        "{}",
        paint(DIM, "type a line to send it as a text message; /ping [text], /close [code] [reason]")
    );
    let (mut sink, mut stream) = socket.split();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut typing = true;
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(message)) => print_incoming(&message),
                Some(Err(error)) => {
                    anstream::println!("{}", paint(BAD, format!("connection error: {error}")));
                    return Ok(ExitCode::FAILURE);
                }
                None => {
                    anstream::println!("{}", paint(DIM, "the server closed the connection"));
                    return Ok(ExitCode::SUCCESS);
                }
            },
            line = lines.next_line(), if typing => match line? {
                Some(line) => {
                    let message = outgoing(&line);
                    anstream::println!("{}", paint(DIM, format!("→ {}", describe(&message))));
                    sink.send(message).await.context("sending")?;
                }
                // Standard input ended: keep listening until the server closes.
                None => typing = false,
            },
        }
    }
}

/// What a typed line sends.
fn outgoing(line: &str) -> Message {
    if let Some(rest) = line.strip_prefix("/ping") {
        return Message::Ping(rest.trim().as_bytes().to_vec().into());
    }
    if let Some(rest) = line.strip_prefix("/close") {
        let mut parts = rest.trim().splitn(2, ' ');
        let code = parts.next().and_then(|c| c.parse::<u16>().ok()).unwrap_or(1000);
        let reason = parts.next().unwrap_or("").to_owned();
        return Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }));
    }
    Message::text(line)
}

fn print_incoming(message: &Message) {
    anstream::println!("← {}", describe(message));
}

/// A message as one line: its kind and its payload.
fn describe(message: &Message) -> String {
    match message {
        Message::Text(text) => format!("text {}", text.as_str()),
        Message::Binary(bytes) => {
            format!("binary ({} bytes) {:02x?}", bytes.len(), &bytes[..bytes.len().min(32)])
        }
        Message::Ping(bytes) => format!("ping {:?}", String::from_utf8_lossy(bytes)),
        Message::Pong(bytes) => format!("pong {:?}", String::from_utf8_lossy(bytes)),
        Message::Close(Some(frame)) => format!("close {} {:?}", u16::from(frame.code), frame.reason.as_str()),
        Message::Close(None) => "close (no code)".to_owned(),
        Message::Frame(_) => "raw frame".to_owned(),
    }
}
