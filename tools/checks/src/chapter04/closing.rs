//! Stage 4, "Close, and fail on protocol errors".

use crate::check::check;
use crate::frames::{
    BINARY, CLOSE, CONTINUATION, FrameClient, Outgoing, PING, PONG, TEXT, bytes_of_len, length_bytes,
    mask_key,
};
use crate::{Failure, Needs, Target};

use super::{CLOSE_SECTION, CLOSING, FAILING_SECTION, LIMITS_SECTION, STATUS_SECTION, UTF8_SECTION};

check!(Check {
    name: a_close_1000_is_answered_with_close_1000_then_tcp_closes,
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
});
async fn a_close_1000_is_answered_with_close_1000_then_tcp_closes(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("before the close")).await?;
    client.expect_message(TEXT, b"before the close", "the echo, as ever").await?;
    client.send(Outgoing::close(1000, b"done for today")).await?;
    client.expect_close(1000, "the closing handshake: a close answers a close").await
}

check!(Check {
    name: other_closes_are_answered_in_kind,
    stage: CLOSING,
    section: CLOSE_SECTION,
    hints: &["Echo the client's code (1001, 3000, 4999…) without its reason; a close with no payload \
         at all gets a close with no payload (or 1000)."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_close_with_a_1_byte_payload_gets_close_1002,
    stage: CLOSING,
    section: STATUS_SECTION,
    hints: &["A close payload is empty, or 2 bytes of code and then the reason. One byte is neither."],
    needs: Needs::Address,
});
async fn a_close_with_a_1_byte_payload_gets_close_1002(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::new(CLOSE, vec![0x03])).await?;
    client.expect_close(1002, "a 1-byte close payload is a protocol error").await
}

check!(Check {
    name: a_close_code_that_may_not_be_sent_gets_close_1002,
    stage: CLOSING,
    section: STATUS_SECTION,
    hints: &["Codes that may be sent: 1000–1003, 1007–1014 and 3000–4999. Everything else (0–999, \
         1004–1006, 1015–2999, 5000 and up) is a protocol error."],
    needs: Needs::Address,
});
async fn a_close_code_that_may_not_be_sent_gets_close_1002(t: Target) -> Result<(), Failure> {
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::close(code, b"")).await?;
        client.expect_close(1002, &format!("no endpoint may send code {code}")).await?;
    }
    Ok(())
}

check!(Check {
    name: invalid_utf8_in_a_close_reason_gets_close_1007,
    stage: CLOSING,
    section: STATUS_SECTION,
    hints: &["The reason after the code is UTF-8 text: `std::str::from_utf8` on it, and 1007 if it \
         isn't."],
    needs: Needs::Address,
});
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

check!(Check {
    name: an_unmasked_frame_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &[
        "When `decode` (or your message handling) returns an error, don't just drop the connection: \
         send a close frame with the error's code — 1002 here — and then close TCP.",
        "Give each error type a `close_code()`, so the place that fails the connection doesn't need \
         to know every rule.",
    ],
    needs: Needs::Address,
});
async fn an_unmasked_frame_gets_close_1002(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::text("Hello").unmasked()).await?;
    client.expect_close(1002, "a client's frame must be masked (RFC 6455 §5.1)").await
}

check!(Check {
    name: a_reserved_bit_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["RSV1, RSV2 and RSV3 (0x40, 0x20, 0x10 in byte 0) are for extensions; none was \
         negotiated, so any of them set fails the connection with 1002."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_reserved_opcode_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["Opcodes 0x3–0x7 and 0xB–0xF are reserved: 1002."],
    needs: Needs::Address,
});
async fn a_reserved_opcode_gets_close_1002(t: Target) -> Result<(), Failure> {
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(opcode, "Hello")).await?;
        client.expect_close(1002, &format!("opcode {opcode:#x} is reserved")).await?;
    }
    Ok(())
}

check!(Check {
    name: a_control_frame_over_125_bytes_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["Control frames (close, ping, pong) carry 125 bytes at most: a 7-bit length of 126 or 127 \
         on one is already an error."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_fragmented_control_frame_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["Control frames are never fragmented: a ping or pong without FIN is a protocol error."],
    needs: Needs::Address,
});
async fn a_fragmented_control_frame_gets_close_1002(t: Target) -> Result<(), Failure> {
    for opcode in [PING, PONG] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(opcode, "part").fin(false)).await?;
        client.expect_close(1002, "control frames cannot be fragmented").await?;
    }
    Ok(())
}

check!(Check {
    name: a_continuation_with_nothing_to_continue_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["A continuation frame is only valid while a message is unfinished."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_new_message_inside_an_unfinished_one_gets_close_1002,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["While a message is unfinished, only continuation (and control) frames may come: a new \
         text or binary frame is a protocol error."],
    needs: Needs::Address,
});
async fn a_new_message_inside_an_unfinished_one_gets_close_1002(t: Target) -> Result<(), Failure> {
    for (first, second) in [(TEXT, TEXT), (BINARY, TEXT), (TEXT, BINARY)] {
        let mut client = FrameClient::open(t.addr()).await?;
        client.send(Outgoing::new(first, "Hel").fin(false)).await?;
        client.send(Outgoing::new(second, "lo")).await?;
        client.expect_close(1002, "a new message started before the unfinished one ended").await?;
    }
    Ok(())
}

check!(Check {
    name: invalid_utf8_in_a_text_message_gets_close_1007,
    stage: CLOSING,
    section: FAILING_SECTION,
    hints: &["A text message must be valid UTF-8 once complete; if it isn't, fail with 1007 (invalid \
         frame payload data), not 1002."],
    needs: Needs::Address,
});
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

check!(Check {
    name: invalid_utf8_fails_the_connection_at_the_fragment_that_holds_it,
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
});
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

check!(Check {
    name: a_message_over_max_message_bytes_gets_close_1009,
    stage: CLOSING,
    section: LIMITS_SECTION,
    hints: &[
        "Refuse a frame whose length is over the limit as soon as its header is read, and a \
         fragmented message as soon as its fragments add up to more: close 1009.",
        "A message of exactly the limit is fine: compare with `>`, not `>=`.",
    ],
    needs: Needs::Tunables("sends a message of MAX_MESSAGE_BYTES + 1 bytes, so it must know the limit"),
});
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
