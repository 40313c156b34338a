//! Stage 4, "Read headers the way HTTP does".

use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, ask, expect_101, want_101};
use super::{HEADERS, HEADERS_SECTION};

check!(Check {
    name: header_names_match_in_any_case,
    stage: HEADERS,
    section: HEADERS_SECTION,
    hints: &["HTTP header names are case-insensitive: compare them with `eq_ignore_ascii_case`, \
              never with `==`. `sec-websocket-key` is the same header as `Sec-WebSocket-Key`."],
    needs: Needs::Address,
});
async fn header_names_match_in_any_case(t: Target) -> Result<(), Failure> {
    for names in [
        ["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"],
        ["HOST", "UPGRADE", "CONNECTION", "SEC-WEBSOCKET-KEY", "SEC-WEBSOCKET-VERSION"],
        ["hOsT", "UpGrAdE", "cOnNeCtIoN", "sEC-wEBsOCKET-kEY", "Sec-Websocket-Version"],
    ] {
        let key = generate_key();
        let values = ["localhost:3000", "websocket", "Upgrade", key.as_str(), "13"];
        let request = Handshake::empty().with_headers(names.into_iter().zip(values));
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        let what = format!("a handshake whose header names are spelled {}, {}…", names[0], names[1]);
        expect_101(&client, &head, &key, &what)?;
    }
    Ok(())
}

check!(Check {
    name: connection_is_a_list_of_tokens,
    stage: HEADERS,
    section: HEADERS_SECTION,
    hints: &[
        "Firefox sends `Connection: keep-alive, Upgrade`. Split the value on commas, trim each \
         token, and look for `upgrade` in any case.",
        "A header may also come on several lines (`Connection: keep-alive` then `Connection: \
         Upgrade`): look at every line with that name, not just the first.",
    ],
    needs: Needs::Address,
});
async fn connection_is_a_list_of_tokens(t: Target) -> Result<(), Failure> {
    let variants: [&[&str]; 4] = [
        &["keep-alive, Upgrade"],
        &["Upgrade, keep-alive"],
        &["keep-alive,upgrade"],
        &["keep-alive", "Upgrade"],
    ];
    for values in variants {
        let key = generate_key();
        let mut request = Handshake::seed().set("Sec-WebSocket-Key", &key).without("Connection");
        for value in values {
            request = request.add("Connection", value);
        }
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        let lines: Vec<String> = values.iter().map(|value| format!("Connection: {value}")).collect();
        expect_101(&client, &head, &key, &format!("a handshake with {}", lines.join(" and ")))?;
    }
    Ok(())
}

check!(Check {
    name: the_upgrade_value_matches_in_any_case,
    stage: HEADERS,
    section: HEADERS_SECTION,
    hints: &["RFC 6455 compares the Upgrade value to `websocket` case-insensitively: `WebSocket` is \
              fine."],
    needs: Needs::Address,
});
async fn the_upgrade_value_matches_in_any_case(t: Target) -> Result<(), Failure> {
    for value in ["WebSocket", "WEBSOCKET"] {
        let key = generate_key();
        let request = Handshake::seed().set("Sec-WebSocket-Key", &key).set("Upgrade", value);
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        expect_101(&client, &head, &key, &format!("a handshake with Upgrade: {value}"))?;
    }
    Ok(())
}

check!(Check {
    name: a_browsers_handshake_gets_101_without_extensions,
    stage: HEADERS,
    section: HEADERS_SECTION,
    hints: &[
        "Headers you don't know (User-Agent, Origin, Pragma…) are not errors: ignore them. They can \
         come in any order.",
        "Don't echo `Sec-WebSocket-Extensions`: answering `permessage-deflate` lets the client send \
         compressed frames, which this server can't read. Leave the header out and the client uses \
         no extension.",
    ],
    needs: Needs::Address,
});
async fn a_browsers_handshake_gets_101_without_extensions(t: Target) -> Result<(), Failure> {
    let key = generate_key();
    // What Chrome sends for `new WebSocket("ws://localhost:3000/ws")` on a page of localhost:3000.
    let request = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("Connection", "Upgrade"),
        ("Pragma", "no-cache"),
        ("Cache-Control", "no-cache"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"),
        ("Upgrade", "websocket"),
        ("Origin", "http://localhost:3000"),
        ("Sec-WebSocket-Version", "13"),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Sec-WebSocket-Key", key.as_str()),
        ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    ]);
    let (client, head) = ask(&t, &request, &want_101(&key)).await?;
    expect_101(&client, &head, &key, "Chrome's handshake (with Origin, User-Agent and an extensions offer)")?;
    for header in ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
        if let Some(value) = head.header(header) {
            return Err(client.fail(
                format!("the 101 carries {header}: {value}, which this server does not implement"),
                format!(
                    "a 101 without {header}: the server speaks plain WebSocket, no extension, no subprotocol"
                ),
            ));
        }
    }
    Ok(())
}
