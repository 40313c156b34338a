//! Stage 1, "Compute Sec-WebSocket-Accept".

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::SEED_KEY;
use super::{ACCEPT, ACCEPT_SECTION, AcceptKey};

/// The accept value RFC 6455 §1.3 computes from [`SEED_KEY`].
const SEED_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Keys with their accept values: the RFC's example first, then keys with
/// `+` and `/` in them (base64's two non-alphanumeric characters).
const ACCEPT_VECTORS: &[(&str, &str)] = &[
    (SEED_KEY, SEED_ACCEPT),
    ("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
    ("AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY="),
    ("+/+/+/+/+/+/+/+/+/+/+w==", "M0DUs3om0SqzerhOhYSMM7WQuBQ="),
];

check!(Check {
    name: accept_key_matches_the_rfc_example,
    stage: ACCEPT,
    section: ACCEPT_SECTION,
    hints: &[
        "Append the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11 to the key *as text* (don't decode \
         it), SHA-1 the result, and base64 the 20 raw bytes of the digest (not their hex).",
        "With the sha1 and base64 crates: `Sha1::new().chain_update(key).chain_update(GUID).finalize()`, \
         then `base64::engine::general_purpose::STANDARD.encode(digest)`.",
    ],
    needs: Needs::Code("calls accept_key of your crate directly"),
});
async fn accept_key_matches_the_rfc_example(t: Target) -> Result<(), Failure> {
    let AcceptKey(accept_key) = *t.local::<AcceptKey>()?;
    for &(key, want) in ACCEPT_VECTORS {
        let call = format!("accept_key({key:?})");
        let expected = format!(
            "{want:?}: base64 of the SHA-1 of {key:?} followed by \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\""
        );
        let got = std::panic::catch_unwind(|| accept_key(key)).map_err(|panic| {
            Failure::new(format!("{call} panicked: {}", panic_message(&*panic)))
                .sent(call.clone())
                .expected(expected.clone())
        })?;
        if got != want {
            return Err(Failure::new(format!("{call} returned {got:?}; expected {want:?}"))
                .sent(call)
                .expected(expected)
                .got(format!("{got:?}")));
        }
    }
    Ok(())
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}
