//! Stage 2, "Answer 101 Switching Protocols".

use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, SEED_KEY, ask, expect_101, want_101};
use super::{UPGRADE, UPGRADE_SECTION};

check!(Check {
    name: the_seeds_request_gets_101_switching_protocols,
    stage: UPGRADE,
    section: UPGRADE_SECTION,
    hints: &[
        "Read the request, then write `HTTP/1.1 101 Switching Protocols`, `Upgrade: websocket`, \
         `Connection: Upgrade` and `Sec-WebSocket-Accept: <accept_key(key)>`, each line ending in \
         \\r\\n, and one empty line (\\r\\n) to end the head.",
        "The server must not wait for a body: a GET has none. Answer as soon as the blank line that \
         ends the head has arrived.",
        "In `connection::handle`: `request::read_request(&mut stream)`, then \
         `handshake::validate(&request)` (for now it only needs `accept_key` of the \
         Sec-WebSocket-Key), then write `Response::switching_protocols(&accept).to_bytes()`.",
        "In `request::parse`: `let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];`, \
         `httparse::Request::new(&mut headers).parse(buffer)`; `Status::Partial` is `Ok(None)`, and on \
         `Status::Complete` copy method, target, version and headers into a `Request`. In \
         `read_request`: a `Vec<u8>` buffer, `read_buf` into it, and `parse` the whole buffer after \
         each read.",
    ],
    needs: Needs::Address,
});
async fn the_seeds_request_gets_101_switching_protocols(t: Target) -> Result<(), Failure> {
    let (client, head) = ask(&t, &Handshake::seed(), &want_101(SEED_KEY)).await?;
    expect_101(&client, &head, SEED_KEY, "the example handshake")
}

check!(Check {
    name: each_key_gets_its_own_accept_value,
    stage: UPGRADE,
    section: UPGRADE_SECTION,
    hints: &["Compute Sec-WebSocket-Accept from the Sec-WebSocket-Key of *this* request with \
              accept_key: a client checks it against the key it chose at random."],
    needs: Needs::Address,
});
async fn each_key_gets_its_own_accept_value(t: Target) -> Result<(), Failure> {
    for _ in 0..3 {
        let key = generate_key();
        let (client, head) =
            ask(&t, &Handshake::seed().set("Sec-WebSocket-Key", &key), &want_101(&key)).await?;
        expect_101(&client, &head, &key, &format!("a handshake with the key {key:?}"))?;
    }
    Ok(())
}
