//! Helpers the stages' checks share.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::raw::{RawClient, ResponseHead};
use crate::{Failure, Target};

/// The seed's key, RFC 6455 §1.3's example (`accept` holds its accept value).
pub(super) const SEED_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// An opening handshake to send, header by header.
#[derive(Debug, Clone)]
pub(super) struct Handshake {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Handshake {
    /// The request line `GET /ws HTTP/1.1` and no headers.
    pub(super) fn empty() -> Self {
        Handshake { request_line: "GET /ws HTTP/1.1".to_owned(), headers: Vec::new() }
    }

    /// The seed's request, byte for byte.
    pub(super) fn seed() -> Self {
        Handshake::empty().with_headers([
            ("Host", "localhost:3000"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", SEED_KEY),
            ("Sec-WebSocket-Version", "13"),
        ])
    }

    pub(super) fn with_headers<'a>(mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (name, value) in headers {
            self = self.add(name, value);
        }
        self
    }

    pub(super) fn request_line(mut self, line: &str) -> Self {
        self.request_line = line.to_owned();
        self
    }

    /// Replaces the value of the header `name` (or adds it), keeping its place.
    pub(super) fn set(mut self, name: &str, value: &str) -> Self {
        match self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(header) => header.1 = value.to_owned(),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds a header line, even if one with that name is there already.
    pub(super) fn add(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(super) fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.request_line);
        for (name, value) in &self.headers {
            out += &format!("{name}: {value}\r\n");
        }
        out += "\r\n";
        out.into_bytes()
    }
}

/// Sends `request` on a new connection and reads the answer's head, and its
/// body when it is not a 101 (so the transcript shows the server's message).
pub(super) async fn ask(
    t: &Target,
    request: &Handshake,
    expected: &str,
) -> Result<(RawClient, ResponseHead), Failure> {
    let mut client = RawClient::connect(t.addr()).await?;
    client.send(request.bytes()).await.map_err(|f| f.expected(expected))?;
    let head = client.read_response_head().await.map_err(|f| f.expected(expected))?;
    if head.status != 101 {
        let _ = client.read_body(&head).await;
    }
    Ok((client, head))
}

/// Requires `status`. `what` names the request for the failure's first
/// line: "a handshake with an empty Host was answered 101 …; expected 400".
pub(super) fn expect_status(
    client: &RawClient,
    head: &ResponseHead,
    status: u16,
    what: &str,
    expected: &str,
) -> Result<(), Failure> {
    if head.status == status {
        return Ok(());
    }
    Err(client.fail(format!("{what} was answered {}; expected {status}", head.status_line()), expected))
}

/// The `101` that accepts a handshake whose key was `key`.
pub(super) fn want_101(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\
         Sec-WebSocket-Accept: {}",
        derive_accept_key(key.as_bytes())
    )
}

/// A `426` that says which protocol and version to retry with.
pub(super) const WANT_426: &str =
    "HTTP/1.1 426 Upgrade Required\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Version: 13";

/// Requires the `101` that accepts the handshake whose key was `key`.
pub(super) fn expect_101(
    client: &RawClient,
    head: &ResponseHead,
    key: &str,
    what: &str,
) -> Result<(), Failure> {
    let accept = derive_accept_key(key.as_bytes());
    let expected = want_101(key);
    expect_status(client, head, 101, what, &expected)?;
    match head.header("Upgrade") {
        Some(value) if value.trim().eq_ignore_ascii_case("websocket") => {}
        Some(value) => return Err(client.fail(format!("the 101 says Upgrade: {value}"), expected)),
        None => return Err(client.fail("the 101 has no Upgrade header", expected)),
    }
    if let Some(length) = head.header("Content-Length") {
        return Err(client.fail(
            format!("the 101 says Content-Length: {length}; RFC 9110 forbids it on a 1xx response"),
            expected,
        ));
    }
    match head.header("Connection") {
        Some(value) if value.trim().eq_ignore_ascii_case("Upgrade") => {}
        Some(value) => {
            return Err(client.fail(
                format!("the 101 says Connection: {value}; clients accept exactly `Upgrade` here"),
                expected,
            ));
        }
        None => return Err(client.fail("the 101 has no Connection header", expected)),
    }
    match head.header("Sec-WebSocket-Accept") {
        Some(value) if value.trim() == accept => Ok(()),
        Some(value) => Err(client.fail(
            format!(
                "Sec-WebSocket-Accept is {value:?}; the key {key:?} needs {accept:?}, and a client \
                 refuses any other"
            ),
            expected,
        )),
        None => Err(client.fail("the 101 has no Sec-WebSocket-Accept header", expected)),
    }
}

/// Requires a `426` that names WebSocket as the protocol to switch to, and
/// version 13 when `with_version` (or when it says a version at all).
pub(super) fn expect_426(
    client: &RawClient,
    head: &ResponseHead,
    with_version: bool,
    what: &str,
) -> Result<(), Failure> {
    let expected = WANT_426;
    expect_status(client, head, 426, what, expected)?;
    if !head.has_token("Upgrade", "websocket") {
        return Err(client.fail(
            "the 426 does not say `Upgrade: websocket`: RFC 9110 requires a 426 to name the protocol",
            expected,
        ));
    }
    if !head.has_token("Connection", "upgrade") {
        return Err(client.fail(
            "the 426 sends Upgrade without `Connection: Upgrade`, which RFC 9110 requires alongside it",
            expected,
        ));
    }
    let says_version = head.header("Sec-WebSocket-Version").is_some();
    if (with_version || says_version) && !head.has_token("Sec-WebSocket-Version", "13") {
        return Err(client
            .fail("the 426 does not say `Sec-WebSocket-Version: 13`, the version to retry with", expected));
    }
    Ok(())
}
