//! Reading a request head from a byte stream. Book: "Reading bytes as they
//! come" and "Reading headers the way HTTP does".
//!
//! TCP delivers bytes, not requests: one `read` may return a byte of the
//! request, or all of it. So the head is read into a buffer until httparse
//! finds the blank line that ends it — and not a byte past 8 KiB.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest request head this server reads: 8 KiB. A browser's
/// handshake is well under 1 KiB.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The most header lines a head may have. A browser sends about fifteen.
pub const MAX_HEADERS: usize = 64;

/// An HTTP request head, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent: `/ws`, or `/ws?room=1` with a query.
    pub target: String,
    /// The minor version: `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub version: u8,
    /// Header lines in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path the request is for: its target without the query, so that
    /// `/ws?room=1` is for `/ws` (RFC 3986 §3: the path ends at `?`).
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(path, _query)| path)
    }

    /// The value of the first header called `name`, in any case, trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    }

    /// Whether the header `name` lists `token`, the way HTTP reads a list
    /// (book: "Reading headers the way HTTP does").
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        todo!(
            "Request::has_token: say whether the `{name}` header lists the token `{token}` \
             (book: Reading headers the way HTTP does)"
        )
    }
}

/// Why no request could be read. The first two get an HTTP answer; after
/// the others there is nobody left to answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The head is over [`MAX_HEAD_BYTES`], or has over [`MAX_HEADERS`] lines.
    #[error("the request head is too large")]
    TooLarge,
    /// The bytes are not an HTTP request.
    #[error("not an HTTP request: {0}")]
    Malformed(httparse::Error),
    /// The client closed the connection before its head was complete.
    #[error("the client closed the connection before the end of its request")]
    Closed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one request head from `stream`, however its bytes arrive, and never
/// more than [`MAX_HEAD_BYTES`] of it (book: "Reading bytes as they come").
pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Result<Request, ReadError> {
    todo!("read_request: read one request head from the stream (book: Reading bytes as they come)")
}

/// Parses a complete head, or says that more bytes are needed (`Ok(None)`)
/// (book: "Answering 101 Switching Protocols").
fn parse(buffer: &[u8]) -> Result<Option<Request>, ReadError> {
    todo!(
        "parse: turn the bytes into a Request, or say more are needed (book: Answering 101 Switching Protocols)"
    )
}
