//! Chapters' checks, run through the inspector: each check's fresh solution
//! server sits behind a proxy of its own, and the checks dial the proxy.
//! The solutions pass every check directly (`cargo test -p solNN-…`), so
//! every check passing here shows the inspector changes nothing a check can
//! see: frames split one byte at a time, 1 MiB messages, protocol errors,
//! close handshakes, TCP ends, heartbeats, SSE streams and their timing.
//!
//! Chapters 1 (HTTP), 2 (SSE), 3 (the handshake), 4 (frames), 5
//! (presence, with `--include-ignored`) and 6 (the board: SSE and WebSocket
//! together) run, one suite after the other. Chapters 1 and 2 count a
//! server's boards by the address the check dials: here, the proxy's, so
//! the servers are registered under it ([`BOARDS`]).

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use course_checks::chapter01::BoardCount;
use course_checks::chapter02::{ParseChunks, Parsed, ParsedEvent};
use course_checks::chapter04::{Codec, Decoded, RawFrame};
use course_checks::harness::{Server, StartServer, run_suite};
use course_checks::{
    Chapter, Locals, Tunables, chapter01, chapter02, chapter03, chapter04, chapter05, chapter06,
};
use course_inspect::{Collect, Options};
use libtest_mimic::Arguments;
use tokio::net::TcpListener;

/// Counts one server's boards.
type Counter = Arc<dyn Fn() -> usize + Send + Sync>;

/// The boards of every chapter 1 and 2 server started, by the address of
/// the proxy in front of it: the address the checks dial.
static BOARDS: Mutex<Vec<(SocketAddr, Counter)>> = Mutex::new(Vec::new());

fn main() -> ExitCode {
    let suites: [(&'static Chapter, StartServer, Locals); 6] = [
        (
            &chapter01::CHAPTER,
            behind_proxy(|listener, _, front| {
                let boards = sol01_http::board::Boards::default();
                let counted = boards.clone();
                register(front, Arc::new(move || counted.board_count()));
                async move { axum::serve(listener, sol01_http::router(boards)).await }
            }),
            Locals::new().with(BoardCount(board_count)),
        ),
        (
            &chapter02::CHAPTER,
            behind_proxy(|listener, t, front| {
                let config = sol02_sse::Config {
                    keepalive: Duration::from_millis(t.keepalive_ms),
                    replay_capacity: t.replay_capacity,
                };
                let state = sol02_sse::AppState::new(config);
                let counted = state.boards.clone();
                register(front, Arc::new(move || counted.board_count()));
                async move { axum::serve(listener, sol02_sse::router(state)).await }
            }),
            Locals::new().with(ParseChunks(parse_chunks)).with(BoardCount(board_count)),
        ),
        (
            &chapter03::CHAPTER,
            behind_proxy(|listener, _, _| {
                sol03_handshake::serve(listener, sol03_handshake::Config::default())
            }),
            Locals::new().with(chapter03::AcceptKey(sol03_handshake::accept_key)),
        ),
        (
            &chapter04::CHAPTER,
            behind_proxy(|listener, tunables, _| {
                sol04_frames::serve(
                    listener,
                    sol04_frames::Config { max_message_bytes: tunables.max_message_bytes },
                )
            }),
            Locals::new().with(Codec { decode, encode }),
        ),
        (
            &chapter05::CHAPTER,
            behind_proxy(|listener, t, _| {
                let config = sol05_presence::Config {
                    heartbeat: Duration::from_millis(t.heartbeat_ms),
                    idle_timeout: Duration::from_millis(t.idle_timeout_ms),
                    typing_ttl: Duration::from_millis(t.typing_ttl_ms),
                    max_message_bytes: t.max_message_bytes,
                };
                sol05_presence::serve(listener, config)
            }),
            Locals::new(),
        ),
        (
            &chapter06::CHAPTER,
            behind_proxy(|listener, t, _| {
                let config = sol06_board::Config {
                    keepalive: Duration::from_millis(t.keepalive_ms),
                    replay_capacity: t.replay_capacity,
                    heartbeat: Duration::from_millis(t.heartbeat_ms),
                    idle_timeout: Duration::from_millis(t.idle_timeout_ms),
                    typing_ttl: Duration::from_millis(t.typing_ttl_ms),
                    max_message_bytes: t.max_message_bytes,
                };
                sol06_board::serve(listener, config)
            }),
            Locals::new(),
        ),
    ];
    let args = Arguments::from_args();
    // Chapter 5's suite holds hundreds of sockets and waits out heartbeats:
    // about 25 s through a debug-built proxy on a busy machine. It runs
    // when asked: `cargo test -p course-inspect --test checks_through -- --include-ignored`.
    let everything = args.include_ignored || args.ignored;
    let mut code = ExitCode::SUCCESS;
    for (chapter, start, locals) in suites {
        if chapter.number == 5 && !everything {
            println!("\nchapter 5's checks through the inspector: run with -- --include-ignored");
            continue;
        }
        println!("\nchapter {}'s checks, through the inspector:", chapter.number);
        if run_suite(chapter, Server::InProcess(start, locals), args.clone()) != ExitCode::SUCCESS {
            code = ExitCode::FAILURE;
        }
    }
    code
}

/// Starts the solution on a listener of its own, and the inspector on the
/// one the check dials (whose address `serve` is given too), forwarding to
/// it. Decoding runs too, with hex dumps (into a list nobody reads), as it
/// does for a learner.
fn behind_proxy<F, Fut>(serve: F) -> StartServer
where
    F: Fn(TcpListener, Tunables, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let serve = Arc::new(serve);
    Arc::new(move |front: TcpListener, tunables: Tunables| {
        // The server starts now, not when the returned future first runs:
        // chapters 1 and 2 register its boards before the check dials.
        let started = std::net::TcpListener::bind("127.0.0.1:0").and_then(|behind| {
            behind.set_nonblocking(true)?;
            let behind = TcpListener::from_std(behind)?;
            let to = behind.local_addr()?.to_string();
            Ok((to, serve(behind, tunables, front.local_addr()?)))
        });
        Box::pin(async move {
            let (to, server) = started?;
            tokio::spawn(server);
            course_inspect::serve(front, Options { to, bytes: true }, Arc::new(Collect::default())).await
        })
    })
}

fn register(front: SocketAddr, count: Counter) {
    BOARDS.lock().unwrap_or_else(PoisonError::into_inner).push((front, count));
}

/// How many boards the server behind the proxy at `addr` holds.
fn board_count(addr: SocketAddr) -> Option<usize> {
    let servers = BOARDS.lock().unwrap_or_else(PoisonError::into_inner);
    servers.iter().find(|(a, _)| *a == addr).map(|(_, count)| count())
}

/// A fresh chapter 2 `Parser`, fed `chunks` one after the other. (Chapter
/// 2's parser checks call the solution directly: no bytes go through the
/// proxy, but the suite runs whole.)
fn parse_chunks(chunks: &[&[u8]]) -> Parsed {
    let mut parser = sol02_sse::parser::Parser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        for sol02_sse::parser::Event { event_type, data, last_event_id } in parser.feed(chunk) {
            events.push(ParsedEvent { event_type, data, last_event_id });
        }
    }
    let retry_ms = parser.reconnection_time().map(|time| u64::try_from(time.as_millis()).unwrap_or(u64::MAX));
    Parsed { events, retry_ms, last_event_id: parser.last_event_id().to_owned() }
}

fn decode(bytes: &[u8], max_payload: usize) -> Decoded {
    let decoded = sol04_frames::frame::decode(bytes, max_payload).map_err(|error| error.to_string())?;
    Ok(decoded.map(|(frame, used)| {
        (RawFrame { fin: frame.fin, opcode: frame.opcode as u8, payload: frame.payload }, used)
    }))
}

fn encode(frame: &RawFrame) -> Vec<u8> {
    let Some(opcode) = sol04_frames::frame::OpCode::from_bits(frame.opcode) else {
        panic!("the checks only encode defined opcodes, not {:#x}", frame.opcode)
    };
    sol04_frames::frame::encode(&sol04_frames::frame::Frame {
        fin: frame.fin,
        opcode,
        payload: frame.payload.clone(),
    })
}
