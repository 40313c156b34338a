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
        todo!(
            "Response::switching_protocols: the 101 that accepts the handshake \
             (book: Answering 101 Switching Protocols)"
        )
    }

    /// The answer to a request that gets no `101`, which says why (book:
    /// "Saying no with the right status").
    pub fn rejection(rejection: &Rejection) -> Self {
        todo!("Response::rejection: the refusal for {rejection:?} (book: Saying no with the right status)")
    }

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
