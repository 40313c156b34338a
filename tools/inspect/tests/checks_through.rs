//! Chapters' checks, run through the inspector: each check's fresh solution
//! server sits behind a proxy of its own, and the checks dial the proxy.
//! The solutions pass every check directly (`cargo test -p solNN-…`), so
//! every check passing here shows the inspector changes nothing a check can
//! see: frames split one byte at a time, 1 MiB messages, protocol errors,
//! close handshakes, TCP ends, heartbeats, SSE streams and their timing.
//!
//! Chapters 3 (the handshake), 4 (frames), 5 (presence, with
//! `--include-ignored`) and 6 (the board: SSE and WebSocket together) run,
//! one suite after the other. Chapters 1
//! and 2 hand their checks functions keyed by the server's address, which
//! a proxy in between would need its own copies of; they are plain HTTP and
//! SSE, which chapter 6 covers too.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use course_checks::chapter04::{Codec, Decoded, RawFrame};
use course_checks::harness::{Server, StartServer, run_suite};
use course_checks::{Chapter, Locals, Tunables, chapter03, chapter04, chapter05, chapter06};
use course_inspect::{Collect, Options};
use libtest_mimic::Arguments;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let suites: [(&'static Chapter, StartServer, Locals); 4] = [
        (
            &chapter03::CHAPTER,
            behind_proxy(|listener, _| sol03_handshake::serve(listener, sol03_handshake::Config::default())),
            Locals::new().with(chapter03::AcceptKey(sol03_handshake::accept_key)),
        ),
        (
            &chapter04::CHAPTER,
            behind_proxy(|listener, tunables| {
                sol04_frames::serve(
                    listener,
                    sol04_frames::Config { max_message_bytes: tunables.max_message_bytes },
                )
            }),
            Locals::new().with(Codec { decode, encode }),
        ),
        (
            &chapter05::CHAPTER,
            behind_proxy(|listener, t| {
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
            behind_proxy(|listener, t| {
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
/// one the check dials, forwarding to it. Decoding runs too, with hex dumps
/// (into a list nobody reads), as it does for a learner.
fn behind_proxy<F, Fut>(serve: F) -> StartServer
where
    F: Fn(TcpListener, Tunables) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let serve = Arc::new(serve);
    Arc::new(move |front: TcpListener, tunables: Tunables| {
        let serve = serve.clone();
        Box::pin(async move {
            let behind = TcpListener::bind("127.0.0.1:0").await?;
            let to = behind.local_addr()?.to_string();
            tokio::spawn(serve(behind, tunables));
            course_inspect::serve(front, Options { to, bytes: true }, Arc::new(Collect::default())).await
        })
    })
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
