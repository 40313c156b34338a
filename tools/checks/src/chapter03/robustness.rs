//! Stage 7, "Read bytes as they come".

use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use crate::check::check;
use crate::raw::RawClient;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, SEED_KEY, ask, expect_101, expect_status, want_101};
use super::{HEAD_LIMIT, ROBUSTNESS, ROBUSTNESS_SECTION};

check!(Check {
    name: a_request_sent_one_byte_at_a_time_gets_101,
    stage: ROBUSTNESS,
    section: ROBUSTNESS_SECTION,
    hints: &[
        "One `read` is not one request: TCP delivers a byte stream in pieces of any size. Keep \
         reading into a buffer until the head is complete (httparse says `Status::Complete`).",
        "Parse the whole buffer each time, not just the newest piece: the blank line that ends the \
         head can be split across two reads.",
    ],
    needs: Needs::Address,
});
async fn a_request_sent_one_byte_at_a_time_gets_101(t: Target) -> Result<(), Failure> {
    let key = generate_key();
    let mut client = RawClient::connect(t.addr()).await?;
    client.send_byte_by_byte(Handshake::seed().set("Sec-WebSocket-Key", &key).bytes()).await?;
    let head = client.read_response_head().await.map_err(|f| f.expected(want_101(&key)))?;
    expect_101(&client, &head, &key, "a handshake sent one byte at a time")
}

check!(Check {
    name: heads_up_to_8_kib_are_read_and_larger_ones_get_431,
    stage: ROBUSTNESS,
    section: ROBUSTNESS_SECTION,
    hints: &[
        "Heads up to 8 KiB are served (a 7 KiB one gets its 101). Stop reading once the buffer \
         holds 8 KiB without a complete head, and answer `431 Request \
         Header Fields Too Large`: don't wait for a blank line that may never come.",
        "`(&mut stream).take(MAX_HEAD_BYTES as u64)` is a reader that ends after the limit.",
    ],
    needs: Needs::Address,
});
async fn heads_up_to_8_kib_are_read_and_larger_ones_get_431(t: Target) -> Result<(), Failure> {
    // A head of 7 KiB is under the limit: it gets its 101.
    let key = generate_key();
    let big = Handshake::seed().set("Sec-WebSocket-Key", &key).add("X-Padding", &"a".repeat(7 * 1024));
    let (client, head) = ask(&t, &big, &want_101(&key)).await?;
    expect_101(&client, &head, &key, "a 7 KiB head (under the limit)")?;

    let padding = "a".repeat(16 * 1024);
    let expected =
        format!("431 Request Header Fields Too Large: the head is over the chapter's {HEAD_LIMIT} limit");
    // A complete head, but too big.
    let (client, head) = ask(&t, &Handshake::seed().add("X-Padding", &padding), &expected).await?;
    expect_status(&client, &head, 431, "a complete 16 KiB head", &expected)?;

    // A head that never ends: the server must give up without waiting for it.
    let mut never_ends = b"GET /ws HTTP/1.1\r\nHost: localhost:3000\r\n".to_vec();
    for n in 0..32 {
        never_ends.extend_from_slice(format!("X-Padding-{n}: {}\r\n", &padding[..1000]).as_bytes());
    }
    let mut client = RawClient::connect(t.addr()).await?;
    // The server may stop reading, and close, before all of it is written.
    let _ = client.send(&never_ends).await;
    let head = client.read_response_head().await.map_err(|f| {
        f.expected(format!(
            "{expected}, as soon as {HEAD_LIMIT} have arrived without the blank line that ends a head"
        ))
    })?;
    expect_status(&client, &head, 431, "a head that never ends", &expected)?;

    // Many small headers, 5 KiB in all: any answer but a dropped connection.
    let mut many = Handshake::seed();
    for n in 0..200 {
        many = many.add(&format!("X-Header-{n}"), "1");
    }
    let expected = "101 (the head is under 8 KiB), or 431 if you cap the number of header lines";
    let (client, head) = ask(&t, &many, expected).await?;
    if ![101, 431].contains(&head.status) {
        return Err(client.fail(format!("200 small headers were answered {}", head.status_line()), expected));
    }

    expect_still_serving(&t).await
}

check!(Check {
    name: garbage_gets_400_and_the_next_client_is_served,
    stage: ROBUSTNESS,
    section: ROBUSTNESS_SECTION,
    hints: &[
        "When httparse returns `Err(..)`, answer 400 and close that connection: never `unwrap` or \
         `?` your way out of the accept loop.",
        "Handle each connection in its own `tokio::spawn`ed task, so that one connection's failure \
         ends that task only.",
    ],
    needs: Needs::Address,
});
async fn garbage_gets_400_and_the_next_client_is_served(t: Target) -> Result<(), Failure> {
    let garbage: [(&[u8], &str); 3] = [
        // The start of a TLS ClientHello: what `wss://` or `https://` sends to a plain server.
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x9a\x8e\x11\xcc\r\n\r\n", "a TLS hello"),
        (b"hello\r\n\r\n", "a line that is not a request line"),
        (b"GET /ws HTTP/1.1\r\nHost localhost:3000\r\n\r\n", "a header line without a colon"),
    ];
    for (bytes, what) in garbage {
        let mut client = RawClient::connect(t.addr()).await?;
        client.send(bytes).await?;
        let expected = format!("400 Bad Request: {what} is not HTTP");
        let head = client.read_response_head().await.map_err(|f| f.expected(&expected))?;
        expect_status(&client, &head, 400, what, &expected)?;
    }
    expect_still_serving(&t).await
}

check!(Check {
    name: a_client_that_hangs_up_mid_request_does_not_stop_the_server,
    stage: ROBUSTNESS,
    section: ROBUSTNESS_SECTION,
    hints: &["A read that returns 0 bytes means the client closed the connection: stop handling that \
              connection quietly (there is nobody to answer), and keep accepting others."],
    needs: Needs::Address,
});
async fn a_client_that_hangs_up_mid_request_does_not_stop_the_server(t: Target) -> Result<(), Failure> {
    // A client that connects and leaves without a word.
    drop(RawClient::connect(t.addr()).await?);
    // A client that leaves halfway through its request.
    let mut client = RawClient::connect(t.addr()).await?;
    client.send("GET /ws HTTP/1.1\r\nHost: localh").await?;
    client.shutdown_write().await;
    drop(client);
    expect_still_serving(&t).await
}

check!(Check {
    name: a_slow_client_does_not_hold_up_the_next_one,
    stage: ROBUSTNESS,
    section: ROBUSTNESS_SECTION,
    hints: &["Don't handle a connection inside the accept loop: `tokio::spawn` a task per connection, \
              so the loop is back at `accept` while a slow client is still typing."],
    needs: Needs::Address,
});
async fn a_slow_client_does_not_hold_up_the_next_one(t: Target) -> Result<(), Failure> {
    let mut slow = RawClient::connect(t.addr()).await?;
    let request = Handshake::seed().bytes();
    let (first, rest) = request.split_at(30);
    slow.send(first).await?;
    // While the slow client is halfway through, another one must be served.
    let expected = format!("{}\n(while another client is still sending its request)", want_101(SEED_KEY));
    let (client, head) = ask(&t, &Handshake::seed(), &expected).await?;
    expect_101(&client, &head, SEED_KEY, "a handshake sent while another client is halfway through its own")?;
    // And the slow one still gets its answer when it finishes.
    slow.send(rest).await?;
    let head = slow.read_response_head().await.map_err(|f| f.expected(want_101(SEED_KEY)))?;
    expect_101(&slow, &head, SEED_KEY, "the slow client's handshake, once finished")
}

/// Requires a fresh client to get its `101`: the server is still serving.
async fn expect_still_serving(t: &Target) -> Result<(), Failure> {
    let key = generate_key();
    let expected = format!("{}\n(the server keeps serving the next client)", want_101(&key));
    let (client, head) = ask(t, &Handshake::seed().set("Sec-WebSocket-Key", &key), &expected)
        .await
        .map_err(|f| Failure { headline: format!("then the next client: {}", f.headline), ..f })?;
    expect_101(&client, &head, &key, "the next client's handshake")
}
