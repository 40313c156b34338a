//! The server under test.

use std::net::SocketAddr;

use crate::Tunables;
use crate::http::Request;

/// A server at an address, as one check sees it.
///
/// In-process, every check gets a fresh server of its own, so boards start
/// empty and are called `board-1`, `board-2`. Against a server at a URL all
/// checks share one server, so each check's boards get a suffix that no other
/// run uses (`board-1-k7q2`): a check never sees another's tasks.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    tunables: Option<Tunables>,
    board_suffix: String,
}

impl Target {
    /// A fresh server of the check's own, started with `tunables`.
    pub fn in_process(addr: SocketAddr, tunables: Tunables) -> Self {
        Target { addr, tunables: Some(tunables), board_suffix: String::new() }
    }

    /// A shared server that someone else started, with its own defaults.
    pub fn remote(addr: SocketAddr, board_suffix: String) -> Self {
        Target { addr, tunables: None, board_suffix }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The tunables the server was started with, when the check started it.
    pub fn tunables(&self) -> Option<Tunables> {
        self.tunables
    }

    /// The name of this check's n-th board: `board-1` on a fresh server.
    pub fn board(&self, n: u32) -> String {
        format!("board-{n}{}", self.board_suffix)
    }

    /// Starts an HTTP request to `path` (which starts with `/`).
    pub fn request(&self, method: &str, path: impl Into<String>) -> Request {
        Request::new(self.addr, method, path.into())
    }
}
