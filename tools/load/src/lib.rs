//! Load for the course's servers, and the numbers that come out of it.
//!
//! Run it against your own exercise (release builds, both of them):
//!
//! ```sh
//! cargo run --release -p ex04-frames &
//! cargo run --release -p course-load -- echo --port 3000 --connections 64 --size 1024
//! ```
//!
//! The book's appendix "Measuring your server" (`book/src/appendix-measuring.md`)
//! explains each mode and how to read what it prints.
//!
//! - [`echo`]: WebSocket echo load: N connections, each sending a message and
//!   waiting for it to come back → messages per second and round-trip times.
//! - [`idle`]: N WebSockets held open → the server's resident memory per
//!   connection, read from `/proc/PID/status`.
//! - [`fanout`]: N SSE subscribers on one board, E tasks created over HTTP →
//!   every event delivered to every subscriber, and how long it took; the
//!   subscribers spread over several instances of one server, if given.
//! - [`wire`]: one board change delivered by polling, SSE and a WebSocket →
//!   bytes on the wire per message (counted at the socket) and latency.
//! - [`compare`]: starts two server binaries in turn ([`server`]) and runs
//!   the same load against each in interleaved rounds, then prints medians
//!   and ratios.
//! - [`http`], [`sse`], [`ws`]: the few bytes of HTTP/1.1 and SSE a load client
//!   needs, by hand, so ten thousand subscribers cost the client little.
//! - [`latency`], [`limits`], [`process`]: percentiles, the open-files limit,
//!   and what `/proc` says about a server process.
//! - [`redis`]: how many commands a Redis ran (`INFO commandstats`), and a
//!   private `redis-server` per round, for chapter 8's instances.

pub mod compare;
pub mod echo;
pub mod fanout;
pub mod http;
pub mod idle;
pub mod latency;
pub mod limits;
pub mod process;
pub mod redis;
pub mod server;
pub mod sse;
pub mod wire;
pub mod ws;

/// Every connection the tool opens goes to this host: load belongs on
/// loopback, never on someone else's server.
pub const HOST: &str = "127.0.0.1";
