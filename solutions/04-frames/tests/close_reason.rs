//! The Close payload the server builds for itself: a code and a reason that
//! must fit a control frame (125 bytes) and stay UTF-8 when cut.
//!
//! The checks only ever see short reasons, so the cutting is tested here.

use sol04_frames::close::{self, CloseCode};
use sol04_frames::frame::MAX_CONTROL_PAYLOAD;

#[test]
fn a_short_reason_is_kept_whole() {
    let payload = close::payload(CloseCode::PROTOCOL_ERROR, "bad frame");
    assert_eq!(payload, b"\x03\xeabad frame");
}

#[test]
fn a_long_reason_is_cut_to_fit_a_control_frame() {
    let reason = "x".repeat(200);
    let payload = close::payload(CloseCode::NORMAL, &reason);
    assert_eq!(payload.len(), MAX_CONTROL_PAYLOAD);
    assert_eq!(&payload[2..], &reason.as_bytes()[..MAX_CONTROL_PAYLOAD - 2]);
}

#[test]
fn a_cut_never_splits_a_character() {
    // 122 bytes of ASCII, then "é" (2 bytes) would end at byte 124 of a
    // 123-byte budget: the "é" goes entirely.
    let reason = format!("{}é and more", "x".repeat(122));
    let payload = close::payload(CloseCode::NORMAL, &reason);
    assert_eq!(payload.len(), 2 + 122);
    assert!(std::str::from_utf8(&payload[2..]).is_ok());
}
