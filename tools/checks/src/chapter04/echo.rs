//! Stage 2, "Echo messages at /ws".

use crate::check::check;
use crate::frames::{BINARY, FrameClient, Outgoing, TEXT, bytes_of_len, mask_key, text_of_len};
use crate::{Failure, Needs, Target};

use super::{ECHO, ECHO_SECTION};

/// The sizes that cross every boundary of the length encoding.
const SIZES: [usize; 7] = [0, 125, 126, 127, 65_535, 65_536, 1024 * 1024];

check!(Check {
    name: text_messages_are_echoed_byte_for_byte_at_every_length_boundary,
    stage: ECHO,
    section: ECHO_SECTION,
    hints: &[
        "After the 101, read into a buffer, call `decode` on it, and when it returns a frame, drop the \
         bytes it used and write `encode` of the reply. `Ok(None)`: read more.",
        "0, 125, 126, 127, 65535, 65536 bytes and 1 MiB cross every boundary of the length encoding: \
         a message that fails at one size points at that branch of your decoder or encoder.",
    ],
    needs: Needs::Address,
});
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

check!(Check {
    name: binary_messages_are_echoed_byte_for_byte_at_every_length_boundary,
    stage: ECHO,
    section: ECHO_SECTION,
    hints: &["A binary message goes back as a binary frame, with the very same bytes."],
    needs: Needs::Address,
});
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

check!(Check {
    name: a_frame_arriving_one_byte_at_a_time_is_echoed,
    stage: ECHO,
    section: ECHO_SECTION,
    hints: &["A read may return a single byte. Keep what you have read in the buffer until `decode` \
         finds a whole frame in it; don't assume one read is one frame."],
    needs: Needs::Address,
});
async fn a_frame_arriving_one_byte_at_a_time_is_echoed(t: Target) -> Result<(), Failure> {
    let mut client = FrameClient::open(t.addr()).await?;
    client.send_byte_by_byte(Outgoing::text("Hello, one byte at a time")).await?;
    client.expect_message(TEXT, b"Hello, one byte at a time", "the text message back").await?;
    // A 16-bit length split between reads too.
    let bytes = bytes_of_len(200);
    client.send_byte_by_byte(Outgoing::binary(bytes.clone())).await?;
    client.expect_message(BINARY, &bytes, "the 200-byte binary message back").await
}

check!(Check {
    name: several_frames_in_one_read_are_each_echoed_in_order,
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
});
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
