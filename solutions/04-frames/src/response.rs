//! What goes back: the `101 Switching Protocols`, or an HTTP refusal.
//! Book: "Answering 101 Switching Protocols" and "Saying no with the right
//! status".

use crate::handshake::{Rejection, VERSION};

/// An HTTP/1.1 response, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    /// The answer that accepts a handshake (RFC 6455 §4.2.2): after its
    /// blank line, the connection speaks WebSocket.
    pub fn switching_protocols(accept: &str) -> Self {
        Response {
            status: 101,
            reason: "Switching Protocols",
            headers: vec![
                ("Upgrade", "websocket".to_owned()),
                ("Connection", "Upgrade".to_owned()),
                ("Sec-WebSocket-Accept", accept.to_owned()),
            ],
            body: String::new(),
        }
    }

    // ANCHOR: rejection
    /// The answer to a request that gets no `101`. The connection closes
    /// after it, which `Connection: close` announces.
    pub fn rejection(rejection: &Rejection) -> Self {
        let (status, reason, mut headers) = match rejection {
            Rejection::NotFound(_) => (404, "Not Found", vec![]),
            // RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field".
            Rejection::MethodNotAllowed(_) => (405, "Method Not Allowed", vec![("Allow", "GET".to_owned())]),
            // RFC 9110 §15.5.22: a 426 "MUST send an Upgrade header field";
            // §7.8: "A sender of Upgrade MUST also send an "Upgrade"
            // connection option in the Connection header field".
            Rejection::UpgradeRequired => (
                426,
                "Upgrade Required",
                vec![
                    ("Upgrade", "websocket".to_owned()),
                    ("Connection", "Upgrade, close".to_owned()),
                    ("Sec-WebSocket-Version", VERSION.to_owned()),
                ],
            ),
            Rejection::BadRequest(_) => (400, "Bad Request", vec![]),
            Rejection::HeadTooLarge => (431, "Request Header Fields Too Large", vec![]),
        };
        if !headers.iter().any(|(name, _)| *name == "Connection") {
            headers.push(("Connection", "close".to_owned()));
        }
        headers.push(("Content-Type", "text/plain; charset=utf-8".to_owned()));
        Response { status, reason, headers, body: format!("{rejection}\n") }
    }
    // ANCHOR_END: rejection

    /// The response as bytes on the wire: status line, headers, blank line,
    /// body. HTTP/1.1 ends every line with CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            head += &format!("{name}: {value}\r\n");
        }
        // A 101 has no body, and no Content-Length: what follows is WebSocket.
        if self.status != 101 {
            head += &format!("Content-Length: {}\r\n", self.body.len());
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}
