//! Chapter 4's checks, run through the inspector: each check's fresh
//! `sol04-frames` server sits behind a proxy of its own, and the checks dial
//! the proxy. The solution passes every check directly
//! (`cargo test -p sol04-frames`), so every check passing here shows the
//! inspector changes nothing a check can see: frames split one byte at a
//! time, 1 MiB messages, protocol errors, close handshakes, TCP ends.

use std::sync::Arc;

use course_checks::chapter04::{CHAPTER, Codec, Decoded, RawFrame};
use course_checks::{Locals, run_in_process_with};
use course_inspect::{Collect, Options};
use sol04_frames as server;
use tokio::net::TcpListener;

use server::frame::{Frame, OpCode};

fn main() -> std::process::ExitCode {
    run_in_process_with(
        &CHAPTER,
        |listener, tunables| async move {
            let behind = TcpListener::bind("127.0.0.1:0").await?;
            let to = behind.local_addr()?.to_string();
            let config = server::Config { max_message_bytes: tunables.max_message_bytes };
            tokio::spawn(server::serve(behind, config));
            // Decoding runs too (into a list nobody reads), as it does for a learner.
            course_inspect::serve(listener, Options { to, bytes: true }, Arc::new(Collect::default())).await
        },
        Locals::new().with(Codec { decode, encode }),
    )
}

fn decode(bytes: &[u8], max_payload: usize) -> Decoded {
    let decoded = server::frame::decode(bytes, max_payload).map_err(|error| error.to_string())?;
    Ok(decoded.map(|(frame, used)| {
        (RawFrame { fin: frame.fin, opcode: frame.opcode as u8, payload: frame.payload }, used)
    }))
}

fn encode(frame: &RawFrame) -> Vec<u8> {
    let Some(opcode) = OpCode::from_bits(frame.opcode) else {
        panic!("the checks only encode defined opcodes, not {:#x}", frame.opcode)
    };
    server::frame::encode(&Frame { fin: frame.fin, opcode, payload: frame.payload.clone() })
}
