//! Reading a request head from a byte stream. Book: "Reading bytes as they
//! come" and "Reading headers the way HTTP does".
//!
//! TCP delivers bytes, not requests: one `read` may return a byte of the
//! request, or all of it. So the head is read into a buffer until httparse
//! finds the blank line that ends it — and not a byte past 8 KiB.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest request head this server reads: 8 KiB, a common default
/// (nginx allots a request's headers 8 KiB buffers too). A browser's
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

    // ANCHOR: has_token
    /// Whether the header `name` lists `token`, in any case.
    ///
    /// `Connection` and `Upgrade` hold comma-separated lists
    /// (`Connection: keep-alive, Upgrade`), and a list may be spread over
    /// several lines of the same name (RFC 9110 §5.3), so every line counts.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
    // ANCHOR_END: has_token
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

// ANCHOR: read_request
/// Reads one request head from `stream`.
///
/// It parses after every read, so it notices garbage as soon as it arrives,
/// and it never holds more than [`MAX_HEAD_BYTES`]: a client that sends
/// headers forever gets [`ReadError::TooLarge`], not all our memory.
pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Result<Request, ReadError> {
    let mut buffer = Vec::with_capacity(1024);
    // A reader that ends after the limit: reaching "end-of-file" with a full
    // buffer means the head is too large.
    let mut limited = stream.take(MAX_HEAD_BYTES as u64);
    loop {
        if limited.read_buf(&mut buffer).await? == 0 {
            return Err(if buffer.len() == MAX_HEAD_BYTES { ReadError::TooLarge } else { ReadError::Closed });
        }
        if let Some(request) = parse(&buffer)? {
            return Ok(request);
        }
    }
}

/// Parses a complete head, or says that more bytes are needed (`Ok(None)`).
fn parse(buffer: &[u8]) -> Result<Option<Request>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buffer) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => Ok(Some(Request {
            method: request.method.unwrap_or_default().to_owned(),
            target: request.path.unwrap_or_default().to_owned(),
            version: request.version.unwrap_or_default(),
            headers: request
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                .collect(),
        })),
        Err(httparse::Error::TooManyHeaders) => Err(ReadError::TooLarge),
        Err(error) => Err(ReadError::Malformed(error)),
    }
}
// ANCHOR_END: read_request
