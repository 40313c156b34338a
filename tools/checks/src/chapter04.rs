//! Chapter 4, "Frames": a conformant WebSocket echo server, frames by hand.
//!
//! The contract (the book's chapter 4 is the final word; RFC 6455 §5–§8 is
//! the authority, and Autobahn|Testsuite's sections 1–7 are the model):
//! after chapter 3's handshake on `/ws`, every text or binary message is
//! echoed back whole; a ping gets a pong with its payload; a pong gets
//! nothing; a close gets a close with the same code, then the server closes
//! TCP. A client that breaks the protocol gets a close frame with the code
//! RFC 6455 §7.4.1 names — 1002, 1007 or 1009 — and then TCP ends.
//!
//! Stage 1 checks the learner's codec directly, through [`Codec`]; the
//! other stages talk to the server over TCP with a [`FrameClient`], which
//! sends any bytes at all, broken frames included.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

pub use crate::frames::RawFrame;
use crate::frames::{
    BINARY, CLOSE, CONTINUATION, FrameClient, Mask, Outgoing, PING, PONG, TEXT, bytes_of_len,
    describe_payload, length_bytes, mask_key, server_frame_bytes, show_bytes, text_of_len,
};
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

/// The largest message the in-process servers accept: chapter 4 echoes
/// messages up to 1 MiB, so its limit is 2 MiB.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

pub const CHAPTER: Chapter = Chapter {
    number: 4,
    slug: "04-frames",
    title: "Frames",
    tunables: Tunables { max_message_bytes: MAX_MESSAGE_BYTES, ..Tunables::PRODUCTION },
    checks: CHECKS,
};

/// What `decode` answers: a frame and the bytes it used, `None` for "need
/// more bytes", or the error's message.
pub type Decoded = Result<Option<(RawFrame, usize)>, String>;

/// The learner's codec, handed over by `tests/checks.rs`, which adapts the
/// crate's own `Frame` type to [`RawFrame`]:
/// `Locals::new().with(chapter04::Codec { decode, encode })`.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    /// Decodes the client frame at the front of the bytes, refusing payloads
    /// over the limit given.
    pub decode: fn(&[u8], usize) -> Decoded,
    /// Encodes a frame as the server sends it.
    pub encode: fn(&RawFrame) -> Vec<u8>,
}

const PAGE: &str = "ch04-frames.md";

const CODEC: Stage = Stage { number: 1, slug: "codec", title: "Decode and encode frames" };
const ECHO: Stage = Stage { number: 2, slug: "echo", title: "Echo messages at /ws" };
const FRAGMENTS: Stage = Stage { number: 3, slug: "fragments", title: "Control frames and fragmentation" };
const CLOSING: Stage = Stage { number: 4, slug: "closing", title: "Close, and fail on protocol errors" };

const CODEC_SECTION: Section =
    Section { page: PAGE, anchor: "decoding-and-encoding-frames", title: "Decoding and encoding frames" };
const STREAM_SECTION: Section =
    Section { page: PAGE, anchor: "decoding-from-a-byte-stream", title: "Decoding from a byte stream" };
const ECHO_SECTION: Section =
    Section { page: PAGE, anchor: "an-echo-server-at-ws", title: "An echo server at /ws" };
const PING_SECTION: Section =
    Section { page: PAGE, anchor: "control-frames-ping-and-pong", title: "Control frames: ping and pong" };
const FRAGMENTATION_SECTION: Section =
    Section { page: PAGE, anchor: "fragmentation", title: "Fragmentation" };
const UTF8_SECTION: Section =
    Section { page: PAGE, anchor: "utf-8-across-fragments", title: "UTF-8 across fragments" };
const CLOSE_SECTION: Section =
    Section { page: PAGE, anchor: "the-close-handshake", title: "The close handshake" };
const STATUS_SECTION: Section = Section { page: PAGE, anchor: "status-codes", title: "Status codes" };
const FAILING_SECTION: Section =
    Section { page: PAGE, anchor: "failing-the-connection", title: "Failing the connection" };
const LIMITS_SECTION: Section =
    Section { page: PAGE, anchor: "message-size-limits", title: "Message-size limits" };

const CODE: Needs = Needs::Code("calls decode and encode of your crate directly");

const CHECKS: &[Check] = &[
    // Stage 1: the codec.
    Check {
        name: "decoding_the_rfcs_example_frames_gives_their_payloads",
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
        body: |t| Box::pin(decoding_the_rfcs_example_frames_gives_their_payloads(t)),
    },
    Check {
        name: "encoding_gives_the_rfcs_example_bytes",
        stage: CODEC,
        section: CODEC_SECTION,
        hints: &[
            "A server's frame is not masked: FIN|opcode, the length in the fewest bytes (≤ 125 in byte \
             1; 126 + 2 bytes up to 65535; 127 + 8 bytes beyond), then the payload as it is.",
        ],
        needs: CODE,
        body: |t| Box::pin(encoding_gives_the_rfcs_example_bytes(t)),
    },
    Check {
        name: "frames_survive_a_round_trip_through_the_codec",
        stage: CODEC,
        section: CODEC_SECTION,
        hints: &[
            "The check encodes random frames with your `encode` and compares with the RFC's layout, and \
             decodes masked ones with your `decode`. The failing case it prints is the smallest it found.",
            "The codec doesn't look inside payloads: a text frame's bytes need not be UTF-8 (a fragment \
             may end in the middle of a character). Checking UTF-8 is the message layer's job.",
        ],
        needs: CODE,
        body: |t| Box::pin(frames_survive_a_round_trip_through_the_codec(t)),
    },
    Check {
        name: "the_decoder_refuses_frames_no_client_may_send",
        stage: CODEC,
        section: CODEC_SECTION,
        hints: &[
            "Return `Err` for: MASK clear, any of RSV1–3 set, a reserved opcode (0x3–0x7, 0xB–0xF), a \
             control frame (opcode ≥ 0x8) without FIN or with more than 125 bytes.",
            "Check what you can as soon as the first two bytes are there: a broken frame is broken \
             whatever follows.",
        ],
        needs: CODE,
        body: |t| Box::pin(the_decoder_refuses_frames_no_client_may_send(t)),
    },
    Check {
        name: "a_partial_frame_needs_more_bytes",
        stage: CODEC,
        section: STREAM_SECTION,
        hints: &[
            "Before reading any part of the header, check that its bytes are there; return `Ok(None)` \
             when they aren't: the caller reads more and asks again. Never index past the end of the \
             buffer.",
            "Bytes after the frame belong to the next one: return how many bytes this frame used.",
        ],
        needs: CODE,
        body: |t| Box::pin(a_partial_frame_needs_more_bytes(t)),
    },
    Check {
        name: "a_forged_64_bit_length_is_refused_before_its_payload_arrives",
        stage: CODEC,
        section: STREAM_SECTION,
        hints: &[
            "Compare the length with the limit as soon as the length is read, before waiting for (or \
             allocating) the payload: a client can announce 8 EiB in 10 bytes.",
            "A 64-bit length with its top bit set is an error too (RFC 6455 §5.2).",
        ],
        needs: CODE,
        body: |t| Box::pin(a_forged_64_bit_length_is_refused_before_its_payload_arrives(t)),
    },
    // Stage 2: the echo server.
    Check {
        name: "text_messages_are_echoed_byte_for_byte_at_every_length_boundary",
        stage: ECHO,
        section: ECHO_SECTION,
        hints: &[
            "After the 101, read into a buffer, call `decode` on it, and when it returns a frame, drop the \
             bytes it used and write `encode` of the reply. `Ok(None)`: read more.",
            "0, 125, 126, 127, 65535, 65536 bytes and 1 MiB cross every boundary of the length encoding: \
             a message that fails at one size points at that branch of your decoder or encoder.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(text_messages_are_echoed_byte_for_byte_at_every_length_boundary(t)),
    },
    Check {
        name: "binary_messages_are_echoed_byte_for_byte_at_every_length_boundary",
        stage: ECHO,
        section: ECHO_SECTION,
        hints: &["A binary message goes back as a binary frame, with the very same bytes."],
        needs: Needs::Address,
        body: |t| Box::pin(binary_messages_are_echoed_byte_for_byte_at_every_length_boundary(t)),
    },
    Check {
        name: "a_frame_arriving_one_byte_at_a_time_is_echoed",
        stage: ECHO,
        section: ECHO_SECTION,
        hints: &["A read may return a single byte. Keep what you have read in the buffer until `decode` \
             finds a whole frame in it; don't assume one read is one frame."],
        needs: Needs::Address,
        body: |t| Box::pin(a_frame_arriving_one_byte_at_a_time_is_echoed(t)),
    },
    Check {
        name: "several_frames_in_one_read_are_each_echoed_in_order",
        stage: ECHO,
        section: ECHO_SECTION,
        hints: &[
            "One read may hold several frames and the start of the next: after each frame, drop only \
             the bytes it used, and call `decode` again before reading more.",
            "With a `BytesMut` buffer: `self.buffer.advance(used)` (from `bytes::Buf`) drops a frame's \
             bytes, and `self.stream.read_buf(&mut self.buffer)` (from `tokio::io::AsyncReadExt`) \
             appends what arrives. A read of 0 bytes: return `Err(Stop::Io(self.closed_early()))`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(several_frames_in_one_read_are_each_echoed_in_order(t)),
    },
    // Stage 3: control frames and fragmentation.
    Check {
        name: "a_ping_is_answered_with_a_pong_with_the_same_payload",
        stage: FRAGMENTS,
        section: PING_SECTION,
        hints: &["A ping (opcode 0x9) gets a pong (0xA) carrying exactly the ping's payload, at once."],
        needs: Needs::Address,
        body: |t| Box::pin(a_ping_is_answered_with_a_pong_with_the_same_payload(t)),
    },
    Check {
        name: "an_unsolicited_pong_is_ignored",
        stage: FRAGMENTS,
        section: PING_SECTION,
        hints: &["A pong nobody asked for is a heartbeat: answer nothing, and don't echo it."],
        needs: Needs::Address,
        body: |t| Box::pin(an_unsolicited_pong_is_ignored(t)),
    },
    Check {
        name: "a_fragmented_message_is_echoed_whole",
        stage: FRAGMENTS,
        section: FRAGMENTATION_SECTION,
        hints: &[
            "A text or binary frame without FIN starts a message; continuation frames (opcode 0x0) add to \
             it; the one with FIN ends it. Echo the whole message once it is complete.",
            "Fragments may be empty, the first one included.",
            "In `Assembler::push`, `match (frame.opcode, self.unfinished.take())`: a continuation with an \
             unfinished message adds to it, a text or binary frame with none starts one, and the other two \
             cases are errors. Keep the message in `self.unfinished` until a frame with FIN arrives.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_fragmented_message_is_echoed_whole(t)),
    },
    Check {
        name: "a_ping_between_fragments_is_answered_and_the_message_echoed_whole",
        stage: FRAGMENTS,
        section: FRAGMENTATION_SECTION,
        hints: &["Control frames may come between the fragments of a message. Answer the ping at once, \
             and keep the unfinished message as it is."],
        needs: Needs::Address,
        body: |t| Box::pin(a_ping_between_fragments_is_answered_and_the_message_echoed_whole(t)),
    },
    Check {
        name: "a_code_point_split_across_fragments_is_fine",
        stage: FRAGMENTS,
        section: UTF8_SECTION,
        hints: &[
            "A fragment may end in the middle of a character, and the next one finishes it: an incomplete \
             character at the end of a fragment is not an error until the message's last fragment.",
            "`std::str::from_utf8` tells the cases apart: on an error, `error_len()` is `None` when the bytes \
             merely stop inside a character, and `valid_up_to()` says how far they are valid.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_code_point_split_across_fragments_is_fine(t)),
    },
    // Stage 4: the close handshake and protocol errors.
    Check {
        name: "a_close_1000_is_answered_with_close_1000_then_tcp_closes",
        stage: CLOSING,
        section: CLOSE_SECTION,
        hints: &[
            "Answer a close frame with a close frame carrying the same code (here 1000), then close the \
             TCP connection: the server closes it first (RFC 6455 §7.1.1).",
            "`stream.shutdown()` sends the FIN; the client reads end-of-file after your close frame.",
            "Then read and discard what the client still sends until it closes too, for `LINGER` at most \
             (`tokio::time::timeout`): dropping a socket with unread bytes makes the kernel send a reset, \
             which can destroy your close frame before the client reads it.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_close_1000_is_answered_with_close_1000_then_tcp_closes(t)),
    },
    Check {
        name: "other_closes_are_answered_in_kind",
        stage: CLOSING,
        section: CLOSE_SECTION,
        hints: &["Echo the client's code (1001, 3000, 4999…) without its reason; a close with no payload \
             at all gets a close with no payload (or 1000)."],
        needs: Needs::Address,
        body: |t| Box::pin(other_closes_are_answered_in_kind(t)),
    },
    Check {
        name: "a_close_with_a_1_byte_payload_gets_close_1002",
        stage: CLOSING,
        section: STATUS_SECTION,
        hints: &["A close payload is empty, or 2 bytes of code and then the reason. One byte is neither."],
        needs: Needs::Address,
        body: |t| Box::pin(a_close_with_a_1_byte_payload_gets_close_1002(t)),
    },
    Check {
        name: "a_close_code_that_may_not_be_sent_gets_close_1002",
        stage: CLOSING,
        section: STATUS_SECTION,
        hints: &["Codes that may be sent: 1000–1003, 1007–1014 and 3000–4999. Everything else (0–999, \
             1004–1006, 1015–2999, 5000 and up) is a protocol error."],
        needs: Needs::Address,
        body: |t| Box::pin(a_close_code_that_may_not_be_sent_gets_close_1002(t)),
    },
    Check {
        name: "invalid_utf8_in_a_close_reason_gets_close_1007",
        stage: CLOSING,
        section: STATUS_SECTION,
        hints: &["The reason after the code is UTF-8 text: `std::str::from_utf8` on it, and 1007 if it \
             isn't."],
        needs: Needs::Address,
        body: |t| Box::pin(invalid_utf8_in_a_close_reason_gets_close_1007(t)),
    },
    Check {
        name: "an_unmasked_frame_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &[
            "When `decode` (or your message handling) returns an error, don't just drop the connection: \
             send a close frame with the error's code — 1002 here — and then close TCP.",
            "Give each error type a `close_code()`, so the place that fails the connection doesn't need \
             to know every rule.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(an_unmasked_frame_gets_close_1002(t)),
    },
    Check {
        name: "a_reserved_bit_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["RSV1, RSV2 and RSV3 (0x40, 0x20, 0x10 in byte 0) are for extensions; none was \
             negotiated, so any of them set fails the connection with 1002."],
        needs: Needs::Address,
        body: |t| Box::pin(a_reserved_bit_gets_close_1002(t)),
    },
    Check {
        name: "a_reserved_opcode_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["Opcodes 0x3–0x7 and 0xB–0xF are reserved: 1002."],
        needs: Needs::Address,
        body: |t| Box::pin(a_reserved_opcode_gets_close_1002(t)),
    },
    Check {
        name: "a_control_frame_over_125_bytes_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["Control frames (close, ping, pong) carry 125 bytes at most: a 7-bit length of 126 or 127 \
             on one is already an error."],
        needs: Needs::Address,
        body: |t| Box::pin(a_control_frame_over_125_bytes_gets_close_1002(t)),
    },
    Check {
        name: "a_fragmented_control_frame_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["Control frames are never fragmented: a ping or pong without FIN is a protocol error."],
        needs: Needs::Address,
        body: |t| Box::pin(a_fragmented_control_frame_gets_close_1002(t)),
    },
    Check {
        name: "a_continuation_with_nothing_to_continue_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["A continuation frame is only valid while a message is unfinished."],
        needs: Needs::Address,
        body: |t| Box::pin(a_continuation_with_nothing_to_continue_gets_close_1002(t)),
    },
    Check {
        name: "a_new_message_inside_an_unfinished_one_gets_close_1002",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["While a message is unfinished, only continuation (and control) frames may come: a new \
             text or binary frame is a protocol error."],
        needs: Needs::Address,
        body: |t| Box::pin(a_new_message_inside_an_unfinished_one_gets_close_1002(t)),
    },
    Check {
        name: "invalid_utf8_in_a_text_message_gets_close_1007",
        stage: CLOSING,
        section: FAILING_SECTION,
        hints: &["A text message must be valid UTF-8 once complete; if it isn't, fail with 1007 (invalid \
             frame payload data), not 1002."],
        needs: Needs::Address,
        body: |t| Box::pin(invalid_utf8_in_a_text_message_gets_close_1007(t)),
    },
    Check {
        name: "invalid_utf8_fails_the_connection_at_the_fragment_that_holds_it",
        stage: CLOSING,
        section: UTF8_SECTION,
        hints: &[
            "Check a text message's UTF-8 as each fragment arrives, not only on the last one: bytes that \
             can never become valid text (0xff, a surrogate, a character that is cut off by the next \
             fragment) fail the connection with 1007 at once.",
            "Remember how many bytes of the message are already known to be valid, and check only what \
             follows them: at most three bytes of an unfinished character are carried over to the next \
             fragment. `str::from_utf8(..)`'s error gives `valid_up_to()`, and `error_len() == None` \
             for \"stopped inside a character\".",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(invalid_utf8_fails_the_connection_at_the_fragment_that_holds_it(t)),
    },
    Check {
        name: "a_message_over_max_message_bytes_gets_close_1009",
        stage: CLOSING,
        section: LIMITS_SECTION,
        hints: &[
            "Refuse a frame whose length is over the limit as soon as its header is read, and a \
             fragmented message as soon as its fragments add up to more: close 1009.",
            "A message of exactly the limit is fine: compare with `>`, not `>=`.",
        ],
        needs: Needs::Tunables("sends a message of MAX_MESSAGE_BYTES + 1 bytes, so it must know the limit"),
        body: |t| Box::pin(a_message_over_max_message_bytes_gets_close_1009(t)),
    },
];

// ---------------------------------------------------------------------------
// Calling the learner's codec

/// The limit handed to `decode` in the codec checks.
fn limit(t: &Target) -> usize {
    t.tunables().map_or(MAX_MESSAGE_BYTES, |tunables| tunables.max_message_bytes)
}

/// Runs the learner's code, turning a panic (a `todo!()`, an index out of
/// bounds) into a failure that quotes it.
fn call<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic_message(panic.as_ref());
        Failure::new(format!("{what} panicked: {message}"))
            .sent(what.to_owned())
            .expected("an answer, not a panic: bad input is an Err, too little input is Ok(None)")
            .got(format!("a panic: {message}"))
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

fn decode(codec: &Codec, bytes: &[u8], max: usize) -> Result<Decoded, Failure> {
    call(&format!("decode({}, {max})", show_bytes(bytes)), || (codec.decode)(bytes, max))
}

fn encode(codec: &Codec, frame: &RawFrame) -> Result<Vec<u8>, Failure> {
    call(&format!("encode({})", frame.describe()), || (codec.encode)(frame))
}

fn show_decoded(decoded: &Decoded) -> String {
    match decoded {
        Ok(Some((frame, used))) => format!("Ok(Some(({}, {used} bytes used)))", describe_frame(frame)),
        Ok(None) => "Ok(None): need more bytes".to_owned(),
        Err(message) => format!("Err({message:?})"),
    }
}

/// A frame with its FIN bit, for codec transcripts.
fn describe_frame(frame: &RawFrame) -> String {
    format!("{}, FIN={}", describe_payload(frame.opcode, &frame.payload), u8::from(frame.fin))
}

/// Requires `decode(bytes)` to give `frame`, using all of `bytes`.
fn expect_decoded(
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

// ---------------------------------------------------------------------------
// Stage 1: the codec

/// RFC 6455 §5.7's masking key.
const RFC_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

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

// ---------------------------------------------------------------------------
// Stage 2: the echo server

/// The sizes that cross every boundary of the length encoding.
const SIZES: [usize; 7] = [0, 125, 126, 127, 65_535, 65_536, 1024 * 1024];

async fn text_messages_are_echoed_byte_for_byte_at_every_length_boundary(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    for len in SIZES {
        let text = text_of_len(len);
        client.send(Outgoing::text(&text)).await?;
        let expected = format!("the same text message back: {len} bytes, byte for byte");
        client.expect_message(TEXT, text.as_bytes(), &expected).await?;
    }
    Ok(())
}

async fn binary_messages_are_echoed_byte_for_byte_at_every_length_boundary(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    for len in SIZES {
        let bytes = bytes_of_len(len);
        client.send(Outgoing::binary(bytes.clone())).await?;
        let expected = format!("the same binary message back: {len} bytes, byte for byte");
        client.expect_message(BINARY, &bytes, &expected).await?;
    }
    Ok(())
}

async fn a_frame_arriving_one_byte_at_a_time_is_echoed(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send_byte_by_byte(Outgoing::text("Hello, one byte at a time")).await?;
    client.expect_message(TEXT, b"Hello, one byte at a time", "the text message back").await?;
    // A 16-bit length split between reads too.
    let bytes = bytes_of_len(200);
    client.send_byte_by_byte(Outgoing::binary(bytes.clone())).await?;
    client.expect_message(BINARY, &bytes, "the 200-byte binary message back").await
}

async fn several_frames_in_one_read_are_each_echoed_in_order(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    let frames = vec![Outgoing::text("one"), Outgoing::binary(vec![2, 2]), Outgoing::text("three")];
    client.send_all(frames).await?;
    client.expect_message(TEXT, b"one", "the three messages back, in order: \"one\" first").await?;
    client
        .expect_message(BINARY, &[2, 2], "the three messages back, in order: the binary one second")
        .await?;
    client.expect_message(TEXT, b"three", "the three messages back, in order: \"three\" last").await?;
    // A frame and a half, then the other half.
    let first = Outgoing::text("first").to_bytes();
    let second = Outgoing::text("second").mask(mask_key(99)).to_bytes();
    let mut bytes = first.clone();
    bytes.extend_from_slice(&second[..4]);
    client
        .send_bytes(&bytes, "text \"first\" and the first 4 bytes of text \"second\", in one write")
        .await?;
    client.send_bytes(&second[4..], "the rest of text \"second\"").await?;
    client.expect_message(TEXT, b"first", "\"first\" back").await?;
    client.expect_message(TEXT, b"second", "\"second\" back, once its last bytes arrived").await
}

// ---------------------------------------------------------------------------
// Stage 3: control frames and fragmentation

async fn a_ping_is_answered_with_a_pong_with_the_same_payload(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    let payloads = [b"Hello".to_vec(), Vec::new(), bytes_of_len(125)];
    for payload in payloads {
        client.send(Outgoing::new(PING, payload.clone())).await?;
        let expected = format!("a pong carrying the ping's {} bytes", payload.len());
        client.expect_pong(&payload, &expected).await?;
    }
    Ok(())
}

async fn an_unsolicited_pong_is_ignored(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::new(PONG, "nobody asked")).await?;
    client.send(Outgoing::text("marker")).await?;
    client
        .expect_message(TEXT, b"marker", "nothing for the pong: the echo of \"marker\" is the next frame")
        .await
}

async fn a_fragmented_message_is_echoed_whole(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("Hel").fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, "lo, ").fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, "world")).await?;
    client.expect_message(TEXT, b"Hello, world", "the three fragments back as one text message").await?;

    let bytes = bytes_of_len(300);
    client.send(Outgoing::binary(Vec::new()).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, &bytes[..200]).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, Vec::new()).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, &bytes[200..])).await?;
    client
        .expect_message(BINARY, &bytes, "the fragments (two of them empty) back as one binary message")
        .await
}

async fn a_ping_between_fragments_is_answered_and_the_message_echoed_whole(t: Target) -> Result<(), Failure> {
    // All at once: the pong must come, and before the message's echo.
    let mut client = FrameClient::open(t.addr()).await?;
    let frames = vec![
        Outgoing::text("Hel").fin(false),
        Outgoing::new(PING, "are you there?"),
        Outgoing::new(CONTINUATION, "lo"),
    ];
    client.send_all(frames).await?;
    let expected = "the pong for the ping between the fragments, then the whole message, \"Hello\"";
    let frame = client.read_frame(expected).await?;
    if frame.opcode != PONG {
        let headline = format!(
            "the ping between the fragments of a message got no pong before the next {} frame",
            crate::frames::opcode_name(frame.opcode)
        );
        return Err(client.fail(headline, expected));
    }
    client.expect_message(TEXT, b"Hello", expected).await?;

    // The pong comes at once, while the message is still unfinished.
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("Hel").fin(false)).await?;
    client.send(Outgoing::new(PING, "still there?")).await?;
    client.expect_pong(b"still there?", "the pong at once, while the message is unfinished").await?;
    client.send(Outgoing::new(CONTINUATION, "lo")).await?;
    client.expect_message(TEXT, b"Hello", "the whole message, \"Hello\"").await
}

async fn a_code_point_split_across_fragments_is_fine(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    // "κόσμε", cut inside its first and its second character.
    let text = "κόσμε".as_bytes();
    client.send(Outgoing::text("").fin(false).with_payload(&text[..1])).await?;
    client.send(Outgoing::new(CONTINUATION, &text[1..3]).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, &text[3..])).await?;
    client.expect_message(TEXT, text, "\"κόσμε\" back whole: split characters are fine").await?;
    // A 4-byte character, one byte per fragment.
    let rocket = "🚀".as_bytes();
    client.send(Outgoing::text("").fin(false).with_payload(&rocket[..1])).await?;
    for (i, byte) in rocket.iter().enumerate().skip(1) {
        client.send(Outgoing::new(CONTINUATION, vec![*byte]).fin(i == rocket.len() - 1)).await?;
    }
    client.expect_message(TEXT, rocket, "\"🚀\" back whole").await
}

// ---------------------------------------------------------------------------
// Stage 4: closing

async fn a_close_1000_is_answered_with_close_1000_then_tcp_closes(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("before the close")).await?;
    client.expect_message(TEXT, b"before the close", "the echo, as ever").await?;
    client.send(Outgoing::close(1000, b"done for today")).await?;
    client.expect_close(1000, "the closing handshake: a close answers a close").await
}

async fn other_closes_are_answered_in_kind(t: Target) -> Result<(), Failure> {
    for code in [1001, 1003, 1011, 3000, 4999] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::close(code, b"a reason")).await?;
        client.expect_close(code, "a close is answered with the code it carried").await?;
    }
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::new(CLOSE, Vec::new())).await?;
    let expected = "a close frame with no payload (or with code 1000), then the server closes TCP";
    let frame = client.read_frame(expected).await?;
    if frame.opcode != CLOSE || !(frame.payload.is_empty() || frame.payload == [0x03, 0xe8]) {
        return Err(client.fail("a close without a code was not answered with a close", expected));
    }
    client.expect_tcp_end(expected).await
}

async fn a_close_with_a_1_byte_payload_gets_close_1002(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::new(CLOSE, vec![0x03])).await?;
    client.expect_close(1002, "a 1-byte close payload is a protocol error").await
}

async fn a_close_code_that_may_not_be_sent_gets_close_1002(t: Target) -> Result<(), Failure> {
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::close(code, b"")).await?;
        client.expect_close(1002, &format!("no endpoint may send code {code}")).await?;
    }
    Ok(())
}

async fn invalid_utf8_in_a_close_reason_gets_close_1007(t: Target) -> Result<(), Failure> {
    for reason in INVALID_UTF8 {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::close(1000, reason)).await?;
        client.expect_close(1007, "a close reason is UTF-8 text").await?;
    }
    Ok(())
}

/// Byte strings that are not UTF-8: a lone continuation byte, a surrogate
/// (U+D800, which UTF-8 may not encode), a character cut short at the end,
/// an overlong encoding of '/'.
const INVALID_UTF8: [&[u8]; 4] = [
    &[0xff],
    &[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0, 0x80, 0x65, 0x64],
    &[0x68, 0x69, 0xce],
    &[0xc0, 0xaf],
];

async fn an_unmasked_frame_gets_close_1002(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("Hello").unmasked()).await?;
    client.expect_close(1002, "a client's frame must be masked (RFC 6455 §5.1)").await
}

async fn a_reserved_bit_gets_close_1002(t: Target) -> Result<(), Failure> {
    for (bit, name) in [(0x40, "RSV1"), (0x20, "RSV2"), (0x10, "RSV3")] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::text("before")).await?;
        client.expect_message(TEXT, b"before", "the echo of a valid frame first").await?;
        client.send(Outgoing::text("Hello").rsv(bit)).await?;
        client.expect_close(1002, &format!("{name} is set and no extension was negotiated")).await?;
    }
    Ok(())
}

async fn a_reserved_opcode_gets_close_1002(t: Target) -> Result<(), Failure> {
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(opcode, "Hello")).await?;
        client.expect_close(1002, &format!("opcode {opcode:#x} is reserved")).await?;
    }
    Ok(())
}

async fn a_control_frame_over_125_bytes_gets_close_1002(t: Target) -> Result<(), Failure> {
    let frames = [
        Outgoing::new(PING, bytes_of_len(126)),
        Outgoing::new(PONG, bytes_of_len(1000)),
        Outgoing::close(1000, &[b'x'; 124]),
    ];
    for frame in frames {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(frame).await?;
        client.expect_close(1002, "control frames carry at most 125 bytes").await?;
    }
    Ok(())
}

async fn a_fragmented_control_frame_gets_close_1002(t: Target) -> Result<(), Failure> {
    for opcode in [PING, PONG] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(opcode, "part").fin(false)).await?;
        client.expect_close(1002, "control frames cannot be fragmented").await?;
    }
    Ok(())
}

async fn a_continuation_with_nothing_to_continue_gets_close_1002(t: Target) -> Result<(), Failure> {
    for fin in [true, false] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::text("a whole message")).await?;
        client.expect_message(TEXT, b"a whole message", "the echo of a whole message first").await?;
        client.send(Outgoing::new(CONTINUATION, "more?").fin(fin)).await?;
        client.expect_close(1002, "no message is unfinished, so there is nothing to continue").await?;
    }
    Ok(())
}

async fn a_new_message_inside_an_unfinished_one_gets_close_1002(t: Target) -> Result<(), Failure> {
    for (first, second) in [(TEXT, TEXT), (BINARY, TEXT), (TEXT, BINARY)] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(first, "Hel").fin(false)).await?;
        client.send(Outgoing::new(second, "lo")).await?;
        client.expect_close(1002, "a new message started before the unfinished one ended").await?;
    }
    Ok(())
}

async fn invalid_utf8_in_a_text_message_gets_close_1007(t: Target) -> Result<(), Failure> {
    for text in INVALID_UTF8 {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::text("").with_payload(text)).await?;
        client.expect_close(1007, "a text message must be valid UTF-8").await?;
    }
    // Each fragment could start valid text, but the message ends mid-character.
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("κόσμ").fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, vec![0xce])).await?;
    client.expect_close(1007, "the message ends in the middle of a character").await
}

async fn invalid_utf8_fails_the_connection_at_the_fragment_that_holds_it(t: Target) -> Result<(), Failure> {
    // Each case: the fragments of an unfinished text message, the last of
    // which makes it invalid whatever could follow. The message is never
    // finished: a ping follows as a marker, so a server that waits for the
    // last fragment answers the ping instead of failing the connection.
    let cases: [(&[&[u8]], &str); 5] = [
        (&[b"Hel", &[0xff]], "the second fragment holds 0xff, which is never UTF-8"),
        (&[&[0xff], b"lo"], "the first fragment starts with 0xff"),
        (
            &[b"\xce", b"A"],
            "the first fragment ends with the start of \"\u{3ba}\" (ce), the next starts with \"A\"",
        ),
        (&[b"ok \xed", &[0xa0, 0x80]], "ed a0 80 would be U+D800, a surrogate, which UTF-8 may not encode"),
        (&[b"\xf4", &[0x90, 0x80, 0x80]], "f4 90 80 80 would be past U+10FFFF"),
    ];
    for (fragments, why) in cases {
        let mut client = FrameClient::open(t.addr()).await?;
        let mut frames = Vec::new();
        for (i, fragment) in fragments.iter().enumerate() {
            let opcode = if i == 0 { TEXT } else { CONTINUATION };
            frames.push(Outgoing::new(opcode, fragment.to_vec()).fin(false));
        }
        frames.push(Outgoing::new(PING, "marker"));
        client.send_all(frames).await?;
        let expected = format!(
            "a close frame with code 1007 as soon as the fragment that makes the message invalid arrives \
             ({why}), before the message's last fragment and instead of the pong"
        );
        let frame = client.read_frame(&expected).await?;
        if frame.opcode == PONG {
            return Err(client.fail(
                "invalid UTF-8 in a fragment did not fail the connection: the server waited for the \
                 message's last fragment (and answered the ping that came after it)",
                expected,
            ));
        }
        client.expect_close_frame(frame, 1007, &expected).await?;
    }
    Ok(())
}

async fn a_message_over_max_message_bytes_gets_close_1009(t: Target) -> Result<(), Failure> {
    let Some(tunables) = t.tunables() else { return Ok(()) };
    let max = tunables.max_message_bytes;
    let half = max / 2;

    // Exactly the limit is fine, whole or in two fragments.
    let mut client = FrameClient::open(t.addr()).await?;
    let bytes = bytes_of_len(max);
    client.send(Outgoing::binary(bytes.clone())).await?;
    client
        .expect_message(BINARY, &bytes, &format!("the {max}-byte message back: exactly the limit is allowed"))
        .await?;
    client.send(Outgoing::binary(bytes[..half].to_vec()).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, &bytes[half..])).await?;
    client.expect_message(BINARY, &bytes, &format!("the {max} bytes back, sent in two fragments")).await?;

    // One frame over the limit: its header is enough to refuse it.
    let mut client = FrameClient::open(t.addr()).await?;
    let mut start = vec![0x82];
    start.extend(length_bytes(max as u64 + 1, 0x80));
    start.extend_from_slice(&mask_key(7));
    start.extend(bytes_of_len(1024));
    let what = format!("the header of a binary frame of {} bytes and its first 1024 bytes", max + 1);
    client.send_bytes(&start, &what).await?;
    let why = format!(
        "{} bytes is over MAX_MESSAGE_BYTES ({max}): refuse it as soon as the header says so",
        max + 1
    );
    client.expect_close(1009, &why).await?;

    // Fragments that add up to one byte over the limit.
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::binary(bytes[..half].to_vec()).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, &bytes[half..]).fin(false)).await?;
    client.send(Outgoing::new(CONTINUATION, vec![0])).await?;
    let why = format!("the fragments add up to {} bytes, over MAX_MESSAGE_BYTES ({max})", max + 1);
    client.expect_close(1009, &why).await
}
