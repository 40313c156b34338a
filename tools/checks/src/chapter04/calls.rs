//! Calling the learner's codec: `decode` and `encode` through the [`Codec`]
//! the test binary hands over, a panic turned into a failure that quotes it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::frames::{RawFrame, describe_payload, show_bytes};
use crate::{Failure, Target};

use super::{Codec, Decoded, MAX_MESSAGE_BYTES};

/// The limit handed to `decode` in the codec checks.
pub(super) fn limit(t: &Target) -> usize {
    t.tunables().map_or(MAX_MESSAGE_BYTES, |tunables| tunables.max_message_bytes)
}

/// Runs the learner's code, turning a panic (a `todo!()`, an index out of
/// bounds) into a failure that quotes it.
pub(super) fn call<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic_message(panic.as_ref());
        Failure::new(format!("{what} panicked: {message}"))
            .sent(what.to_owned())
            .expected("an answer, not a panic: bad input is an Err, too little input is Ok(None)")
            .got(format!("a panic: {message}"))
    })
}

pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

pub(super) fn decode(codec: &Codec, bytes: &[u8], max: usize) -> Result<Decoded, Failure> {
    call(&format!("decode({}, {max})", show_bytes(bytes)), || (codec.decode)(bytes, max))
}

pub(super) fn encode(codec: &Codec, frame: &RawFrame) -> Result<Vec<u8>, Failure> {
    call(&format!("encode({})", frame.describe()), || (codec.encode)(frame))
}

pub(super) fn show_decoded(decoded: &Decoded) -> String {
    match decoded {
        Ok(Some((frame, used))) => format!("Ok(Some(({}, {used} bytes used)))", describe_frame(frame)),
        Ok(None) => "Ok(None): need more bytes".to_owned(),
        Err(message) => format!("Err({message:?})"),
    }
}

/// A frame with its FIN bit, for codec transcripts.
pub(super) fn describe_frame(frame: &RawFrame) -> String {
    format!("{}, FIN={}", describe_payload(frame.opcode, &frame.payload), u8::from(frame.fin))
}

/// Requires `decode(bytes)` to give `frame`, using all of `bytes`.
pub(super) fn expect_decoded(
    codec: &Codec,
    bytes: &[u8],
    max: usize,
    frame: &RawFrame,
    why: &str,
) -> Result<(), Failure> {
    let decoded = decode(codec, bytes, max)?;
    let want: Decoded = Ok(Some((frame.clone(), bytes.len())));
    if decoded == want {
        return Ok(());
    }
    Err(Failure::new(format!("decoding {why} gave the wrong answer"))
        .sent(format!("decode({}, {max})", show_bytes(bytes)))
        .expected(show_decoded(&want))
        .got(show_decoded(&decoded)))
}
