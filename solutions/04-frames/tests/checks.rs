//! Chapter 4's checks, run against this crate's server: `cargo test -p <this package>`.
//!
//! The checks live in `tools/checks/src/chapter04/`, written once for the
//! exercise, the solution and the course runner. Each one starts a fresh
//! server on a free port and talks to it over real TCP; the first stage
//! calls the codec in `src/frame.rs` directly, through the two adapters
//! below, which translate between your `Frame` and the checks' `RawFrame`.

use course_checks::chapter04::{CHAPTER, Codec, Decoded, RawFrame};
use course_checks::{Locals, run_in_process_with};
use sol04_frames as server;

use server::frame::{Frame, OpCode};

fn main() -> std::process::ExitCode {
    run_in_process_with(
        &CHAPTER,
        |listener, tunables| {
            server::serve(listener, server::Config { max_message_bytes: tunables.max_message_bytes })
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
