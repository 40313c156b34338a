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
        // TODO: status 101 and the three headers of the book's example response.
        todo!("Response::switching_protocols: 101 with Upgrade, Connection and Sec-WebSocket-Accept")
    }

    /// The answer to a request that gets no `101`, with the status and the
    /// headers each refusal needs; its body is the rejection's message
    /// (`format!("{rejection}\n")`). The connection closes after it: say so
    /// with `Connection: close`.
    pub fn rejection(rejection: &Rejection) -> Self {
        // TODO: match on the rejection: 404, 405 (+ Allow), 426 (+ three headers), 400, 431.
        todo!("Response::rejection: the status and headers for {rejection:?}")
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
