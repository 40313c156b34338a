//! Just enough HTTP/1.1 for a load client: write a request, read a
//! response head, and undo chunked transfer coding.
//!
//! reqwest would do, but ten thousand SSE subscribers each with its own
//! client machinery cost the client as much CPU as the server under test —
//! and the two share the same cores. A request written by hand and a
//! response read by hand keep the client's share small.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The longest response head this client accepts.
const MAX_HEAD: usize = 16 * 1024;

/// How long any single read or write may take before the tool gives up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A response's status line and headers.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the body comes in chunks (`Transfer-Encoding: chunked`), as
    /// a streaming response without a known length does.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// `GET path` / `POST path` with a JSON body, on a connection kept alive.
pub fn request(method: &str, path: &str, port: u16, json: Option<&str>) -> Vec<u8> {
    signed_request(method, path, port, json, None)
}

/// The same, with a `Cookie` header when the server signed the tool in
/// (chapter 7 on: `Cookie: session=…`).
pub fn signed_request(
    method: &str,
    path: &str,
    port: u16,
    json: Option<&str>,
    cookie: Option<&str>,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}:{port}\r\n", crate::HOST);
    if let Some(cookie) = cookie {
        head += &format!("Cookie: {cookie}\r\n");
    }
    match json {
        Some(body) => {
            head += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            head += body;
        }
        None => head += "Accept: text/event-stream\r\n\r\n",
    }
    head.into_bytes()
}

/// Writes `bytes`, within [`IO_TIMEOUT`].
pub async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<()> {
    timeout(IO_TIMEOUT, stream.write_all(bytes)).await.context("writing a request timed out")??;
    Ok(())
}

/// Reads a response head. Bytes read past it (the start of the body) are
/// left in `buffer`.
pub async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<Head> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(length) = response.parse(buffer).context("a malformed response")? {
            let head = Head {
                status: response.code.unwrap_or_default(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect(),
            };
            buffer.drain(..length);
            return Ok(head);
        }
        ensure!(buffer.len() < MAX_HEAD, "a response head longer than {MAX_HEAD} bytes");
        read_more(stream, buffer).await?;
    }
}

/// Reads a whole body, of known length or chunked, that follows `head`.
/// `buffer` holds what was read past the head and is left empty.
pub async fn read_body(stream: &mut TcpStream, head: &Head, buffer: &mut Vec<u8>) -> Result<Vec<u8>> {
    if head.is_chunked() {
        let mut chunked = Chunked::default();
        let mut body = Vec::new();
        loop {
            chunked.decode(buffer, &mut body)?;
            buffer.clear();
            if chunked.is_done() {
                return Ok(body);
            }
            read_more(stream, buffer).await?;
        }
    }
    let length: usize =
        head.header("content-length").unwrap_or("0").trim().parse().context("Content-Length")?;
    while buffer.len() < length {
        read_more(stream, buffer).await?;
    }
    ensure!(buffer.len() == length, "{} bytes after a body of {length}", buffer.len() - length);
    Ok(std::mem::take(buffer))
}

/// Appends what the next read brings to `buffer`; the connection closing
/// is an error here, since a response was still due.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<()> {
    let read =
        timeout(IO_TIMEOUT, stream.read_buf(buffer)).await.context("waiting for a response timed out")??;
    if read == 0 {
        bail!("the server closed the connection mid-response");
    }
    Ok(())
}

/// Undoes `Transfer-Encoding: chunked` (RFC 9112 §7.1): each chunk is its
/// size in hex, CRLF, the bytes, CRLF; a zero-size chunk and an empty line
/// end the body. Fed raw bytes in pieces of any size.
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
    pending: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Waiting for a chunk-size line.
    #[default]
    Size,
    /// This many bytes of the current chunk are still to come.
    Data(usize),
    /// The CRLF after a chunk's bytes.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
    Done,
}

impl Chunked {
    /// Decodes `input`, appending the body's bytes to `body`.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<()> {
        self.pending.extend_from_slice(input);
        let mut at = 0;
        loop {
            let rest = &self.pending[at..];
            match self.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else { break };
                    let line = &rest[..end];
                    at += end + 2;
                    self.state = match self.state {
                        ChunkState::Trailer if line.is_empty() => ChunkState::Done,
                        ChunkState::Trailer => ChunkState::Trailer,
                        _ => match chunk_size(line)? {
                            0 => ChunkState::Trailer,
                            size => ChunkState::Data(size),
                        },
                    };
                }
                ChunkState::Data(remaining) => {
                    let taken = remaining.min(rest.len());
                    body.extend_from_slice(&rest[..taken]);
                    at += taken;
                    self.state = if taken == remaining {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(remaining - taken)
                    };
                    if taken < remaining {
                        break;
                    }
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        break;
                    }
                    ensure!(&rest[..2] == b"\r\n", "a chunk not followed by CRLF");
                    at += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Done => break,
            }
        }
        self.pending.drain(..at);
        Ok(())
    }

    /// Whether the last chunk has been read.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

/// `1a;name=value` → 26.
fn chunk_size(line: &[u8]) -> Result<usize> {
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    let text = std::str::from_utf8(hex).context("a chunk size that is not text")?;
    usize::from_str_radix(text.trim(), 16).with_context(|| format!("a chunk size {text:?} that is not hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(raw: &[u8], piece: usize) -> (Vec<u8>, bool) {
        let mut chunked = Chunked::default();
        let mut body = Vec::new();
        for part in raw.chunks(piece) {
            chunked.decode(part, &mut body).unwrap();
        }
        (body, chunked.is_done())
    }

    #[test]
    fn chunks_are_joined_whatever_the_reads_split() {
        let raw = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for piece in 1..=raw.len() {
            assert_eq!(decode_in_pieces(raw, piece), (b"hello, world".to_vec(), true), "pieces of {piece}");
        }
    }

    #[test]
    fn an_open_stream_is_not_done() {
        assert_eq!(decode_in_pieces(b"3\r\nabc\r\n4\r\nde", 4), (b"abcde".to_vec(), false));
    }

    #[test]
    fn a_bad_chunk_size_is_an_error() {
        assert!(Chunked::default().decode(b"zz\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn requests_are_plain_http_1_1() {
        let post = request("POST", "/boards/b/tasks", 3000, Some("{}"));
        assert_eq!(
            String::from_utf8(post).unwrap(),
            "POST /boards/b/tasks HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
