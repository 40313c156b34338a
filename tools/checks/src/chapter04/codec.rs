//! Stage 1, "Decode and encode frames".

use proptest::prelude::*;
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

use crate::check::check;
use crate::frames::{
    BINARY, CLOSE, CONTINUATION, Mask, Outgoing, PING, PONG, RawFrame, TEXT, bytes_of_len, length_bytes,
    mask_key, server_frame_bytes, show_bytes,
};
use crate::{Failure, Target};

use super::calls::{decode, describe_frame, encode, expect_decoded, limit, show_decoded};
use super::{CODE, CODEC, CODEC_SECTION, Codec, Decoded, STREAM_SECTION};

/// RFC 6455 §5.7's masking key.
const RFC_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

check!(Check {
    name: decoding_the_rfcs_example_frames_gives_their_payloads,
    stage: CODEC,
    section: CODEC_SECTION,
    hints: &[
        "Byte 0 holds FIN (0x80) and the opcode (0x0F); byte 1 holds MASK (0x80) and a 7-bit length. \
         126 means \"the length follows in 2 bytes\", 127 \"in 8 bytes\", both big-endian. Then the \
         4-byte masking key, then the payload.",
        "Unmask with `payload[i] ^= key[i % 4]`, and return how many bytes the frame took: header, \
         key and payload.",
    ],
    needs: CODE,
});
async fn decoding_the_rfcs_example_frames_gives_their_payloads(t: Target) -> Result<(), Failure> {
    let codec = *t.local::<Codec>()?;
    let max = limit(&t);
    // §5.7: "A single-frame masked text message" and "a masked Ping response".
    let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    expect_decoded(&codec, &hello, max, &RawFrame::new(TEXT, "Hello"), "RFC 6455 §5.7's masked \"Hello\"")?;
    let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    expect_decoded(&codec, &pong, max, &RawFrame::new(PONG, "Hello"), "RFC 6455 §5.7's masked pong")?;
    // §5.7's other examples are unmasked, as a server sends them; a client
    // masks them, here with the RFC's key.
    let examples = [
        (Outgoing::text("Hel").fin(false), "the first fragment of §5.7's fragmented \"Hello\""),
        (Outgoing::new(CONTINUATION, "lo"), "the last fragment of §5.7's fragmented \"Hello\""),
        (Outgoing::new(PING, "Hello"), "§5.7's ping"),
        (Outgoing::binary(bytes_of_len(256)), "§5.7's 256-byte binary message (a 16-bit length)"),
        (Outgoing::binary(bytes_of_len(65536)), "§5.7's 64 KiB binary message (a 64-bit length)"),
        (Outgoing::new(CLOSE, vec![0x03, 0xe8]), "a close frame with code 1000"),
        (Outgoing::binary(Vec::new()), "an empty binary frame"),
    ];
    for (frame, why) in examples {
        let frame = frame.mask(RFC_KEY);
        expect_decoded(&codec, &frame.to_bytes(), max, &frame.frame, why)?;
    }
    Ok(())
}

check!(Check {
    name: encoding_gives_the_rfcs_example_bytes,
    stage: CODEC,
    section: CODEC_SECTION,
    hints: &["A server's frame is not masked: FIN|opcode, the length in the fewest bytes (≤ 125 in byte \
         1; 126 + 2 bytes up to 65535; 127 + 8 bytes beyond), then the payload as it is.",],
    needs: CODE,
});
async fn encoding_gives_the_rfcs_example_bytes(t: Target) -> Result<(), Failure> {
    let codec = *t.local::<Codec>()?;
    let examples: [(RawFrame, Vec<u8>, &str); 9] = [
        (
            RawFrame::new(TEXT, "Hello"),
            vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
            "§5.7's text \"Hello\"",
        ),
        (
            RawFrame { fin: false, opcode: TEXT, payload: b"Hel".to_vec() },
            vec![0x01, 0x03, 0x48, 0x65, 0x6c],
            "§5.7's first fragment",
        ),
        (RawFrame::new(CONTINUATION, "lo"), vec![0x80, 0x02, 0x6c, 0x6f], "§5.7's last fragment"),
        (RawFrame::new(PONG, "Hello"), vec![0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], "a pong \"Hello\""),
        (RawFrame::new(CLOSE, vec![0x03, 0xe8]), vec![0x88, 0x02, 0x03, 0xe8], "a close with code 1000"),
        (
            RawFrame::new(BINARY, bytes_of_len(125)),
            [vec![0x82, 0x7d], bytes_of_len(125)].concat(),
            "a 125-byte binary message (the longest length the 7-bit field holds)",
        ),
        (
            RawFrame::new(BINARY, bytes_of_len(126)),
            [vec![0x82, 0x7e, 0x00, 0x7e], bytes_of_len(126)].concat(),
            "a 126-byte binary message (the shortest that needs a 16-bit length)",
        ),
        (
            RawFrame::new(BINARY, bytes_of_len(256)),
            [vec![0x82, 0x7e, 0x01, 0x00], bytes_of_len(256)].concat(),
            "§5.7's 256-byte binary message",
        ),
        (
            RawFrame::new(BINARY, bytes_of_len(65536)),
            [vec![0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0], bytes_of_len(65536)].concat(),
            "§5.7's 64 KiB binary message",
        ),
    ];
    for (frame, want, why) in examples {
        let got = encode(&codec, &frame)?;
        if got != want {
            return Err(Failure::new(format!("encoding {why} gave the wrong bytes"))
                .sent(format!("encode({})", describe_frame(&frame)))
                .expected(format!("{} (RFC 6455 §5.2, §5.7)", show_bytes(&want)))
                .got(format!("{}{}", show_bytes(&got), first_difference(&want, &got))));
        }
    }
    Ok(())
}

/// `; first difference at byte 3` when there is one.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    match want.iter().zip(got).position(|(a, b)| a != b) {
        Some(at) => {
            format!("\n(first difference at byte {at}: {:02x} where {:02x} was due)", got[at], want[at])
        }
        None if got.len() != want.len() => format!("\n({} bytes where {} were due)", got.len(), want.len()),
        None => String::new(),
    }
}

/// Random frames a client may send: every opcode, payloads around each
/// length boundary, any bytes (text frames too: the codec doesn't check
/// UTF-8), any masking key, and stray bytes of a next frame after it.
///
/// A payload is drawn as a length and a seed rather than byte by byte, so
/// that a failing case shrinks quickly to a short frame.
fn any_frame() -> impl Strategy<Value = (RawFrame, [u8; 4], Vec<u8>)> {
    let data_len = prop_oneof![6 => 0usize..=130, 2 => 131usize..=70_000, 1 => 65_530usize..=65_540];
    let data =
        (prop::sample::select(vec![CONTINUATION, TEXT, BINARY]), any::<bool>(), data_len, any::<u64>())
            .prop_map(|(opcode, fin, len, seed)| RawFrame { fin, opcode, payload: random_bytes(len, seed) });
    let control = (prop::sample::select(vec![CLOSE, PING, PONG]), 0usize..=125, any::<u64>())
        .prop_map(|(opcode, len, seed)| RawFrame { fin: true, opcode, payload: random_bytes(len, seed) });
    let next = (0usize..=15, any::<u64>()).prop_map(|(len, seed)| random_bytes(len, seed));
    (prop_oneof![3 => data, 1 => control], any::<[u8; 4]>(), next)
}

/// `len` bytes from a seed (xorshift64*): any byte values, cheap to make.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

check!(Check {
    name: frames_survive_a_round_trip_through_the_codec,
    stage: CODEC,
    section: CODEC_SECTION,
    hints: &[
        "The check encodes random frames with your `encode` and compares with the RFC's layout, and \
         decodes masked ones with your `decode`. The failing case it prints is the smallest it found.",
        "The codec doesn't look inside payloads: a text frame's bytes need not be UTF-8 (a fragment \
         may end in the middle of a character). Checking UTF-8 is the message layer's job.",
    ],
    needs: CODE,
});
async fn frames_survive_a_round_trip_through_the_codec(t: Target) -> Result<(), Failure> {
    const CASES: u32 = 300;
    let codec = *t.local::<Codec>()?;
    let max = 1 << 20;
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    };
    // The same cases on every run, so a failure can be reproduced.
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&any_frame(), |(frame, key, next)| {
        let want = server_frame_bytes(&frame);
        let got = (codec.encode)(&frame);
        if got != want {
            return Err(TestCaseError::fail(format!(
                "encode({}) gave the wrong bytes\n  expected: {}\n  got: {}{}",
                describe_frame(&frame),
                show_bytes(&want),
                show_bytes(&got),
                first_difference(&want, &got)
            )));
        }
        let masked = Outgoing { frame: frame.clone(), rsv: 0, mask: Mask::Key(key) }.to_bytes();
        let input = [masked.as_slice(), &next].concat();
        let decoded = (codec.decode)(&input, max);
        let want: Decoded = Ok(Some((frame.clone(), masked.len())));
        if decoded != want {
            let trailing = if next.is_empty() {
                String::new()
            } else {
                format!(" followed by {} bytes of a next frame", next.len())
            };
            return Err(TestCaseError::fail(format!(
                "decode of {} masked with key {}{trailing} gave the wrong answer\n  expected: {}\n  got: {}",
                describe_frame(&frame),
                show_bytes(&key),
                show_decoded(&want),
                show_decoded(&decoded)
            )));
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, (frame, key, _))) => Err(Failure::new(format!(
            "{} (the smallest failing case of {CASES} random frames)",
            reason.message().lines().next().unwrap_or("a random frame did not survive the round trip")
        ))
        .sent(format!(
            "the frame {} ({} bytes of payload), masked with key {}",
            describe_frame(&frame),
            frame.payload.len(),
            show_bytes(&key)
        ))
        .expected(
            "encode gives the RFC's bytes (unmasked, minimal length), and decode of the masked frame gives \
             the frame back, using exactly its bytes",
        )
        .got(reason.to_string())),
        Err(TestError::Abort(reason)) => Err(Failure::new(format!("the property test stopped: {reason}"))),
    }
}

check!(Check {
    name: the_decoder_refuses_frames_no_client_may_send,
    stage: CODEC,
    section: CODEC_SECTION,
    hints: &[
        "Return `Err` for: MASK clear, any of RSV1–3 set, a reserved opcode (0x3–0x7, 0xB–0xF), a \
         control frame (opcode ≥ 0x8) without FIN or with more than 125 bytes.",
        "Check what you can as soon as the first two bytes are there: a broken frame is broken \
         whatever follows.",
    ],
    needs: CODE,
});
async fn the_decoder_refuses_frames_no_client_may_send(t: Target) -> Result<(), Failure> {
    let codec = *t.local::<Codec>()?;
    let max = limit(&t);
    let mut cases = vec![
        (Outgoing::text("Hello").unmasked(), "an unmasked frame (RFC 6455 §5.1)".to_owned()),
        (Outgoing::new(PING, "ping").fin(false), "a ping without FIN (§5.5)".to_owned()),
        (Outgoing::new(PONG, bytes_of_len(126)), "a pong of 126 bytes (§5.5)".to_owned()),
        (Outgoing::close(1000, &[b'x'; 124]), "a close of 126 bytes (§5.5)".to_owned()),
    ];
    for (bit, name) in [(0x40, "RSV1"), (0x20, "RSV2"), (0x10, "RSV3")] {
        cases.push((Outgoing::text("Hello").rsv(bit), format!("a frame with {name} set (§5.2)")));
    }
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        cases.push((
            Outgoing::new(opcode, "Hello"),
            format!("a frame with the reserved opcode {opcode:#x} (§5.2)"),
        ));
    }
    for (frame, why) in cases {
        // Masked with the RFC's key, unless the point is not to mask.
        let frame = if frame.mask == Mask::Fresh { frame.mask(RFC_KEY) } else { frame };
        let bytes = frame.to_bytes();
        let decoded = decode(&codec, &bytes, max)?;
        if decoded.is_ok() {
            return Err(Failure::new(format!("the decoder accepted {why}"))
                .sent(format!("decode({}, {max})", show_bytes(&bytes)))
                .expected("Err(…): no client may send this frame")
                .got(show_decoded(&decoded)));
        }
    }
    Ok(())
}

check!(Check {
    name: a_partial_frame_needs_more_bytes,
    stage: CODEC,
    section: STREAM_SECTION,
    hints: &[
        "Before reading any part of the header, check that its bytes are there; return `Ok(None)` \
         when they aren't: the caller reads more and asks again. Never index past the end of the \
         buffer.",
        "Bytes after the frame belong to the next one: return how many bytes this frame used.",
    ],
    needs: CODE,
});
async fn a_partial_frame_needs_more_bytes(t: Target) -> Result<(), Failure> {
    let codec = *t.local::<Codec>()?;
    let max = limit(&t);
    let frames = [
        Outgoing::text("Hello"),
        Outgoing::new(PING, Vec::new()),
        Outgoing::binary(bytes_of_len(300)),
        Outgoing::binary(bytes_of_len(70_000)),
    ];
    for frame in frames {
        let frame = frame.mask(RFC_KEY);
        let bytes = frame.to_bytes();
        // Every cut in the header and the first bytes of the payload, and
        // the last few before the end.
        let cuts = (0..bytes.len().min(20)).chain(bytes.len().saturating_sub(3)..bytes.len());
        for cut in cuts {
            let decoded = decode(&codec, &bytes[..cut], max)?;
            if decoded != Ok(None) {
                return Err(Failure::new(format!(
                    "the first {cut} bytes of a {}-byte frame are not a whole frame, yet decode did not ask \
                     for more",
                    bytes.len()
                ))
                .sent(format!("decode({}, {max})", show_bytes(&bytes[..cut])))
                .expected(format!("Ok(None): need more bytes (the frame is {})", frame.describe()))
                .got(show_decoded(&decoded)));
            }
        }
    }
    // A frame and the start of the next: the first uses only its own bytes.
    let first = Outgoing::text("first").mask(RFC_KEY);
    let second = Outgoing::text("second").mask(RFC_KEY).to_bytes();
    let mut bytes = first.to_bytes();
    bytes.extend_from_slice(&second[..4]);
    let decoded = decode(&codec, &bytes, max)?;
    let want: Decoded = Ok(Some((first.frame.clone(), bytes.len() - 4)));
    if decoded != want {
        return Err(Failure::new("decoding a frame followed by the start of the next one went wrong")
            .sent(format!(
                "decode({}, {max}): a text frame \"first\" and 4 bytes of the next",
                show_bytes(&bytes)
            ))
            .expected(format!("{}: the rest is the next frame's", show_decoded(&want)))
            .got(show_decoded(&decoded)));
    }
    Ok(())
}

check!(Check {
    name: a_forged_64_bit_length_is_refused_before_its_payload_arrives,
    stage: CODEC,
    section: STREAM_SECTION,
    hints: &[
        "Compare the length with the limit as soon as the length is read, before waiting for (or \
         allocating) the payload: a client can announce 8 EiB in 10 bytes.",
        "A 64-bit length with its top bit set is an error too (RFC 6455 §5.2).",
    ],
    needs: CODE,
});
async fn a_forged_64_bit_length_is_refused_before_its_payload_arrives(t: Target) -> Result<(), Failure> {
    let codec = *t.local::<Codec>()?;
    let max = limit(&t);
    // A binary frame's header announcing `len` bytes, its key and 10 bytes.
    let header = |len: u64| {
        let mut bytes = vec![0x82];
        bytes.extend(length_bytes(len, 0x80));
        bytes.extend_from_slice(&mask_key(1));
        bytes.extend_from_slice(&[0; 10]);
        bytes
    };
    // Within the limit: wait for the rest. Over it: refuse now. The smallest
    // excess comes first, so a decoder that allocates what the header says
    // fails on 2 MiB, not on 8 EiB.
    let cases = [
        (max as u64, false, "exactly the limit: wait for the rest"),
        (max as u64 + 1, true, "one byte over the limit"),
        (1 << 40, true, "1 TiB"),
        (i64::MAX as u64, true, "the largest 64-bit length there is, 8 EiB"),
        (u64::MAX, true, "a 64-bit length with its most significant bit set (§5.2: it MUST be 0)"),
    ];
    for (len, refuse, why) in cases {
        let bytes = header(len);
        let decoded = decode(&codec, &bytes, max)?;
        let ok = if refuse { decoded.is_err() } else { decoded == Ok(None) };
        if !ok {
            let expected = if refuse {
                format!(
                    "Err(…) at once: the frame announces {len} bytes ({why}), over the limit of {max}; \
                     waiting for them would let one client hold the server's memory"
                )
            } else {
                format!("Ok(None): {len} bytes is {why}")
            };
            return Err(Failure::new(format!(
                "a frame announcing {len} bytes with a limit of {max}: wrong answer"
            ))
            .sent(format!("decode({}, {max})", show_bytes(&bytes)))
            .expected(expected)
            .got(show_decoded(&decoded)));
        }
    }
    // The top bit of a 64-bit length must be 0 whatever the limit, even
    // with no limit at all.
    let bytes = header(u64::MAX);
    let decoded = decode(&codec, &bytes, usize::MAX)?;
    if decoded.is_ok() {
        return Err(Failure::new("a 64-bit length with its most significant bit set was not refused")
            .sent(format!("decode({}, usize::MAX)", show_bytes(&bytes)))
            .expected("Err(…): \"the most significant bit MUST be 0\" (RFC 6455 §5.2), whatever the limit")
            .got(show_decoded(&decoded)));
    }
    Ok(())
}
