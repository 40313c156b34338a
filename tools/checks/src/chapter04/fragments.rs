//! Stage 3, "Control frames and fragmentation".

use crate::check::check;
use crate::frames::{BINARY, CONTINUATION, FrameClient, Outgoing, PING, PONG, TEXT, bytes_of_len};
use crate::{Failure, Needs, Target};

use super::{FRAGMENTATION_SECTION, FRAGMENTS, PING_SECTION, UTF8_SECTION};

check!(Check {
    name: a_ping_is_answered_with_a_pong_with_the_same_payload,
    stage: FRAGMENTS,
    section: PING_SECTION,
    hints: &["A ping (opcode 0x9) gets a pong (0xA) carrying exactly the ping's payload, at once."],
    needs: Needs::Address,
});
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

check!(Check {
    name: an_unsolicited_pong_is_ignored,
    stage: FRAGMENTS,
    section: PING_SECTION,
    hints: &["A pong nobody asked for is a heartbeat: answer nothing, and don't echo it."],
    needs: Needs::Address,
});
async fn an_unsolicited_pong_is_ignored(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send(Outgoing::new(PONG, "nobody asked")).await?;
    client.send(Outgoing::text("marker")).await?;
    client
        .expect_message(TEXT, b"marker", "nothing for the pong: the echo of \"marker\" is the next frame")
        .await
}

check!(Check {
    name: a_fragmented_message_is_echoed_whole,
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
});
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

check!(Check {
    name: a_ping_between_fragments_is_answered_and_the_message_echoed_whole,
    stage: FRAGMENTS,
    section: FRAGMENTATION_SECTION,
    hints: &["Control frames may come between the fragments of a message. Answer the ping at once, \
         and keep the unfinished message as it is."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_code_point_split_across_fragments_is_fine,
    stage: FRAGMENTS,
    section: UTF8_SECTION,
    hints: &[
        "A fragment may end in the middle of a character, and the next one finishes it: an incomplete \
         character at the end of a fragment is not an error until the message's last fragment.",
        "`std::str::from_utf8` tells the cases apart: on an error, `error_len()` is `None` when the bytes \
         merely stop inside a character, and `valid_up_to()` says how far they are valid.",
    ],
    needs: Needs::Address,
});
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
