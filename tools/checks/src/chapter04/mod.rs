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
//! other stages talk to the server over TCP with a
//! [`FrameClient`](crate::frames::FrameClient), which sends any bytes at
//! all, broken frames included.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain; `calls`
//! holds how stage 1 calls the learner's codec. `CHECKS` lists them all in
//! stage order.

mod calls;
mod closing;
mod codec;
mod echo;
mod fragments;

pub use crate::frames::RawFrame;
use crate::{Chapter, Check, Needs, Section, Stage, Tunables};

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
    codec::decoding_the_rfcs_example_frames_gives_their_payloads::CHECK,
    codec::encoding_gives_the_rfcs_example_bytes::CHECK,
    codec::frames_survive_a_round_trip_through_the_codec::CHECK,
    codec::the_decoder_refuses_frames_no_client_may_send::CHECK,
    codec::a_partial_frame_needs_more_bytes::CHECK,
    codec::a_forged_64_bit_length_is_refused_before_its_payload_arrives::CHECK,
    echo::text_messages_are_echoed_byte_for_byte_at_every_length_boundary::CHECK,
    echo::binary_messages_are_echoed_byte_for_byte_at_every_length_boundary::CHECK,
    echo::a_frame_arriving_one_byte_at_a_time_is_echoed::CHECK,
    echo::several_frames_in_one_read_are_each_echoed_in_order::CHECK,
    fragments::a_ping_is_answered_with_a_pong_with_the_same_payload::CHECK,
    fragments::an_unsolicited_pong_is_ignored::CHECK,
    fragments::a_fragmented_message_is_echoed_whole::CHECK,
    fragments::a_ping_between_fragments_is_answered_and_the_message_echoed_whole::CHECK,
    fragments::a_code_point_split_across_fragments_is_fine::CHECK,
    closing::a_close_1000_is_answered_with_close_1000_then_tcp_closes::CHECK,
    closing::other_closes_are_answered_in_kind::CHECK,
    closing::a_close_with_a_1_byte_payload_gets_close_1002::CHECK,
    closing::a_close_code_that_may_not_be_sent_gets_close_1002::CHECK,
    closing::invalid_utf8_in_a_close_reason_gets_close_1007::CHECK,
    closing::an_unmasked_frame_gets_close_1002::CHECK,
    closing::a_reserved_bit_gets_close_1002::CHECK,
    closing::a_reserved_opcode_gets_close_1002::CHECK,
    closing::a_control_frame_over_125_bytes_gets_close_1002::CHECK,
    closing::a_fragmented_control_frame_gets_close_1002::CHECK,
    closing::a_continuation_with_nothing_to_continue_gets_close_1002::CHECK,
    closing::a_new_message_inside_an_unfinished_one_gets_close_1002::CHECK,
    closing::invalid_utf8_in_a_text_message_gets_close_1007::CHECK,
    closing::invalid_utf8_fails_the_connection_at_the_fragment_that_holds_it::CHECK,
    closing::a_message_over_max_message_bytes_gets_close_1009::CHECK,
];
