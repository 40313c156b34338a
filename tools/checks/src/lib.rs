//! The course's checks, written once.
//!
//! Every chapter's exercise and its solution run the same suite from this
//! crate, and the course runner runs it against any server at a URL. A check
//! is black-box: it talks to a server over real TCP, as a browser or `curl`
//! would, and when it fails it says what it sent, what it expected, what came
//! back, which section of the book to read and what to try.
//!
//! A map of the crate:
//! - [`check`]: what a check *is* — name, stage, book section, hints, body —
//!   and what a chapter's suite is.
//! - [`target`]: the server under test, at an address.
//! - [`failure`]: the transcript a failing check hands back.
//! - [`report`]: what one check did, as the harness hands it to the course
//!   runner and the gate (an [`Outcome`], not a string).
//! - [`http`]: an HTTP client that records each exchange as `curl -v` shows it.
//! - [`harness`]: runs a suite as a `cargo test` binary (libtest-mimic): one
//!   result per check, in stage order, with the server's panics attached.
//! - [`chapter01`]: the checks of chapter 1, "HTTP: request and response".
//! - [`sse`]: an event-stream reader that parses as browsers do, with a
//!   transcript of the raw lines received.
//! - [`chapter02`]: the checks of chapter 2, "Server-Sent Events".
//! - [`raw`]: a raw TCP client for malformed input (exact bytes, one byte at a
//!   time), reading HTTP response heads and raw bytes, with a transcript.
//! - [`chapter03`]: the checks of chapter 3, "How WebSockets work: the upgrade
//!   handshake".
//! - [`frames`]: WebSocket frames built and read by hand, and a raw client
//!   that sends any frame at all (masked or not, reserved bits, fragments).
//! - [`chapter04`]: the checks of chapter 4, "Frames".
//! - [`descriptors`]: running a server binary out of file descriptors, to
//!   prove its accept loop survives (the solutions' own tests).
//! - [`ws`]: a WebSocket client that reads in the background, keeps a
//!   transcript of every frame of every client, and can misbehave on purpose
//!   (drop TCP, go silent, stop reading).
//! - [`chapter05`]: the checks of chapter 5, "Presence with axum WebSockets".
//! - [`chapter06`]: the checks of chapter 6, "The real-time task board".
//! - [`dial`]: chapter 7's client — HTTP, event streams and WebSockets over
//!   plain TCP or TLS (the TLS itself comes from `course-checks-tls`).
//! - [`chapter07`]: the checks of chapter 7, "Running it in production".
//! - [`nginx`]: Debian's nginx running the book's config in a folder of its
//!   own, started without port races or polling (chapter 7's own tests).
//! - [`chapter08`]: the checks of chapter 8, "Scaling out": a private
//!   `redis-server` and several instances of the learner's server per check.

pub mod chapter01;
pub mod chapter02;
pub mod chapter03;
pub mod chapter04;
pub mod chapter05;
pub mod chapter06;
pub mod chapter07;
pub mod chapter08;
pub mod check;
pub mod descriptors;
pub mod dial;
pub mod failure;
pub mod frames;
pub mod harness;
pub mod http;
pub mod nginx;
pub mod picture;
pub mod raw;
pub mod report;
pub mod sse;
pub mod target;
pub mod ws;

pub use check::{Chapter, Check, Needs, Section, Stage, Tunables};
pub use failure::Failure;
pub use harness::{run_in_process, run_in_process_with, run_remote};
pub use report::{CheckReport, Outcome};
pub use target::{Locals, SignIn, Target};

/// Every chapter that has checks, in book order.
pub const CHAPTERS: &[&Chapter] = &[
    &chapter01::CHAPTER,
    &chapter02::CHAPTER,
    &chapter03::CHAPTER,
    &chapter04::CHAPTER,
    &chapter05::CHAPTER,
    &chapter06::CHAPTER,
    &chapter07::CHAPTER,
    &chapter08::CHAPTER,
];

/// Finds a chapter by number (`1`) or folder slug (`01-http`).
pub fn chapter(key: &str) -> Option<&'static Chapter> {
    CHAPTERS
        .iter()
        .copied()
        .find(|c| c.slug == key || c.number.to_string() == key || format!("{:02}", c.number) == key)
}
