//! Chapter 1's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter01/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port and talks to it over real TCP; one check also counts
//! the server's boards.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use course_checks::Locals;
use course_checks::chapter01::{self, BoardCount};
use ex01_http as server;

/// The boards of every server this binary started, by address, so that a
/// check can count them.
static BOARDS: Mutex<Vec<(SocketAddr, server::board::Boards)>> = Mutex::new(Vec::new());

fn main() -> std::process::ExitCode {
    let locals = Locals::new().with(BoardCount(board_count));
    course_checks::run_in_process_with(
        &chapter01::CHAPTER,
        |listener, _tunables| {
            let boards = server::board::Boards::default();
            if let Ok(addr) = listener.local_addr() {
                BOARDS.lock().unwrap_or_else(PoisonError::into_inner).push((addr, boards.clone()));
            }
            async move { axum::serve(listener, server::router(boards)).await }
        },
        locals,
    )
}

/// How many boards the server at `addr` holds.
fn board_count(addr: SocketAddr) -> Option<usize> {
    let servers = BOARDS.lock().unwrap_or_else(PoisonError::into_inner);
    servers.iter().find(|(a, _)| *a == addr).map(|(_, boards)| boards.board_count())
}
