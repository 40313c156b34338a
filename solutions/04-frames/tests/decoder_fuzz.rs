//! Fuzzing the frame decoder on the stable toolchain, with proptest.
//!
//! `decode` reads bytes straight off the network, so it must survive any
//! input: no panic, no answer that claims more bytes than it was given, and
//! no allocation beyond the payload limit, whatever length a header claims.
//! A counting allocator (allocation-counter) measures what each call
//! allocates *on its own thread*: `cargo test` runs this file's tests on
//! parallel threads, and a process-wide count would add one test's
//! allocations to the other's measurement.
//!
//! ```sh
//! cargo test -p sol04-frames --test decoder_fuzz                 # 2,000 inputs, with the checks
//! cargo test --release -p sol04-frames --test decoder_fuzz -- --ignored --nocapture
//!                                                                 # 1,000,000 inputs (FUZZ_CASES to change)
//! ```

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sol04_frames::frame::{self, Frame, FrameError, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};

/// The payload limit handed to `decode`: small, so that a decoder which
/// allocates what a header claims is caught at once.
const LIMIT: usize = 1024;

/// Runs `decode` and returns its answer with the bytes it allocated, on
/// this thread, during the call.
fn decode_measured(bytes: &[u8]) -> (Result<Option<(Frame, usize)>, FrameError>, usize) {
    let mut decoded = None;
    let counted = allocation_counter::measure(|| decoded = Some(frame::decode(bytes, LIMIT)));
    let allocated = usize::try_from(counted.bytes_total).expect("a test allocates less than usize::MAX");
    (decoded.expect("measure runs the closure"), allocated)
}

/// Inputs a decoder meets: pure noise; a header with random fields (any
/// length, near the limit or absurd) and a random body; and real masked
/// frames cut at a random point.
fn any_input() -> impl Strategy<Value = Vec<u8>> {
    let noise = prop::collection::vec(any::<u8>(), 0..64);
    let length = prop_oneof![
        (0u64..=125).prop_map(|n| n as u8).prop_map(|n| (n, Vec::new())),
        (0u64..=0xFFFF).prop_map(|n| (126, (n as u16).to_be_bytes().to_vec())),
        prop_oneof![Just(LIMIT as u64), Just(LIMIT as u64 + 1), any::<u64>(), 0u64..2048]
            .prop_map(|n| (127, n.to_be_bytes().to_vec())),
    ];
    let header =
        (any::<u8>(), any::<bool>(), length, any::<[u8; 4]>(), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(first, masked, (len7, extended), key, body)| {
                let mut bytes = vec![first, if masked { 0x80 } else { 0 } | len7];
                bytes.extend(extended);
                bytes.extend(key);
                bytes.extend(body);
                bytes
            });
    let cut_frame = (
        prop::sample::select(vec![0x0u8, 0x1, 0x2, 0x8, 0x9, 0xA]),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<[u8; 4]>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(opcode, fin, payload, key, cut)| {
            let mut bytes = vec![if fin { 0x80 } else { 0 } | opcode];
            let len = payload.len();
            if len <= 125 {
                bytes.push(0x80 | len as u8);
            } else {
                bytes.push(0x80 | 126);
                bytes.extend((len as u16).to_be_bytes());
            }
            bytes.extend(key);
            bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep);
            bytes
        });
    prop_oneof![1 => noise, 2 => header, 2 => cut_frame]
}

/// What must hold for any input.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (decoded, allocated) = decode_measured(bytes);
    // The payload is at most LIMIT bytes; nothing else is allocated.
    prop_assert!(allocated <= LIMIT, "decode allocated {allocated} bytes with a limit of {LIMIT}");
    if let Ok(Some((frame, used))) = decoded {
        prop_assert!(used <= bytes.len(), "used {used} bytes of {}", bytes.len());
        prop_assert!(used <= MAX_HEADER_LEN + frame.payload.len());
        prop_assert!(frame.payload.len() <= LIMIT);
        if frame.opcode.is_control() {
            prop_assert!(frame.fin && frame.payload.len() <= MAX_CONTROL_PAYLOAD);
        }
        // One byte fewer is not a frame yet.
        let (shorter, _) = decode_measured(&bytes[..used - 1]);
        prop_assert_eq!(shorter, Ok(None));
    }
    Ok(())
}

fn fuzz(cases: u32) {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&any_input(), |bytes| check(&bytes));
    if let Err(error) = result {
        panic!("{error}");
    }
    println!("decoder_fuzz: {cases} random inputs decoded: no panic, no allocation over {LIMIT} bytes");
}

/// The measurement itself works: decoding a 300-byte frame allocates its
/// payload, and a header claiming 2⁶³ − 1 bytes allocates nothing.
#[test]
fn the_allocation_count_sees_the_payload() {
    let mut bytes = vec![0x82, 0x80 | 126, 0x01, 0x2c, 1, 2, 3, 4];
    bytes.extend([0u8; 300]);
    let (decoded, allocated) = decode_measured(&bytes);
    assert!(matches!(decoded, Ok(Some((_, 308)))));
    assert!(allocated >= 300, "counted {allocated} bytes");

    let forged = [0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    let (decoded, allocated) = decode_measured(&forged);
    assert!(decoded.is_err());
    assert_eq!(allocated, 0);
}

#[test]
fn decoder_survives_random_input() {
    fuzz(2_000);
}

#[test]
#[ignore = "a million inputs: run it in release mode (see the file's header)"]
fn decoder_survives_a_million_random_inputs() {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    fuzz(cases);
}
