//! Stage 6, "Say no with the right status".

use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, WANT_426, ask, expect_101, expect_426, expect_status, want_101};
use super::{REFUSALS, REFUSALS_SECTION};

check!(Check {
    name: a_plain_get_gets_426_upgrade_required,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &["A GET /ws without `Upgrade: websocket` (curl, a browser tab) asks for something this \
              endpoint only serves over WebSocket: `426 Upgrade Required`, with `Upgrade: websocket` \
              and `Connection: Upgrade` saying what to switch to."],
    needs: Needs::Address,
});
async fn a_plain_get_gets_426_upgrade_required(t: Target) -> Result<(), Failure> {
    // What `curl http://localhost:3000/ws` sends, then what a browser tab sends.
    let curl = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("User-Agent", "curl/8.5.0"),
        ("Accept", "*/*"),
    ]);
    let tab = Handshake::empty().with_headers([
        ("Host", "localhost:3000"),
        ("Connection", "keep-alive"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ]);
    for (request, what) in [(curl, "curl's plain GET /ws"), (tab, "a browser tab's plain GET /ws")] {
        let (client, head) = ask(&t, &request, WANT_426).await?;
        expect_426(&client, &head, false, what)?;
    }
    Ok(())
}

check!(Check {
    name: a_missing_or_malformed_key_gets_400,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &[
        "RFC 6455 §4.2.1: the key is base64 that decodes to exactly 16 bytes. Decode it with \
         `STANDARD.decode(key)` and check the length; a missing key, `abc` or 15 bytes get 400.",
        "Validate the key, but compute the accept value from the key *as sent*, not from the \
         decoded bytes.",
    ],
    needs: Needs::Address,
});
async fn a_missing_or_malformed_key_gets_400(t: Target) -> Result<(), Failure> {
    let bad_keys = [
        ("abc", "not 16 bytes"),
        ("dGhlIHNhbXBsZSBub25j", "15 bytes, base64"),
        ("dGhlIHNhbXBsZSBub25jZXM=", "17 bytes, base64"),
        ("not base64, not at all!!", "24 characters that are not base64"),
        ("", "empty"),
    ];
    let expected = "400 Bad Request: a handshake needs a Sec-WebSocket-Key";
    let (client, head) = ask(&t, &Handshake::seed().without("Sec-WebSocket-Key"), expected).await?;
    expect_status(&client, &head, 400, "a handshake without Sec-WebSocket-Key", expected)?;
    for (key, what) in bad_keys {
        let expected = format!(
            "400 Bad Request: the key {key:?} is {what}; a key is base64 that decodes to exactly 16 bytes"
        );
        let (client, head) = ask(&t, &Handshake::seed().set("Sec-WebSocket-Key", key), &expected).await?;
        expect_status(&client, &head, 400, &format!("the key {key:?} ({what})"), &expected)?;
    }
    Ok(())
}

check!(Check {
    name: a_request_without_host_gets_400,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &["Every HTTP/1.1 request carries `Host` (RFC 9112), and RFC 6455 §4.2.1 lists it among \
              the handshake's required headers: none gets 400."],
    needs: Needs::Address,
});
async fn a_request_without_host_gets_400(t: Target) -> Result<(), Failure> {
    let expected = "400 Bad Request: an HTTP/1.1 request without Host is malformed";
    let (client, head) = ask(&t, &Handshake::seed().without("Host"), expected).await?;
    expect_status(&client, &head, 400, "a handshake without Host", expected)?;
    for (value, what) in [("", "an empty Host"), (" ", "a Host of one space")] {
        let expected =
            "400 Bad Request: Host must name the server (RFC 6455 §4.2.1: \"the server's authority\")";
        let (client, head) = ask(&t, &Handshake::seed().set("Host", value), expected).await?;
        expect_status(&client, &head, 400, &format!("a handshake with {what}"), expected)?;
    }
    Ok(())
}

check!(Check {
    name: a_connection_header_without_upgrade_gets_400,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &["`Upgrade: websocket` without the `upgrade` token in Connection is a broken handshake: \
              400. (The token tells proxies that Upgrade is about this connection only.)"],
    needs: Needs::Address,
});
async fn a_connection_header_without_upgrade_gets_400(t: Target) -> Result<(), Failure> {
    for (request, what) in [
        (Handshake::seed().set("Connection", "keep-alive"), "Upgrade: websocket with Connection: keep-alive"),
        (Handshake::seed().without("Connection"), "Upgrade: websocket without a Connection header"),
        (Handshake::seed().set("Connection", "Upgraded"), "Upgrade: websocket with Connection: Upgraded"),
    ] {
        let expected = "400 Bad Request: Upgrade: websocket, but no `upgrade` token in Connection";
        let (client, head) = ask(&t, &request, expected).await?;
        expect_status(&client, &head, 400, what, expected)?;
    }
    Ok(())
}

check!(Check {
    name: an_http_1_0_request_gets_400,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &["RFC 6455 needs HTTP/1.1 or later, and RFC 9110 says a server MUST ignore Upgrade in an \
              HTTP/1.0 request. httparse gives the minor version in `request.version`: 1 is HTTP/1.1."],
    needs: Needs::Address,
});
async fn an_http_1_0_request_gets_400(t: Target) -> Result<(), Failure> {
    let expected = "400 Bad Request: the WebSocket handshake needs HTTP/1.1 or later";
    let (client, head) = ask(&t, &Handshake::seed().request_line("GET /ws HTTP/1.0"), expected).await?;
    expect_status(&client, &head, 400, "an HTTP/1.0 handshake", expected)
}

check!(Check {
    name: other_methods_get_405_with_allow_get,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &["The handshake is a GET. Any other method on /ws gets `405 Method Not Allowed` with \
              `Allow: GET`, which RFC 9110 requires on a 405."],
    needs: Needs::Address,
});
async fn other_methods_get_405_with_allow_get(t: Target) -> Result<(), Failure> {
    for method in ["POST", "PUT", "DELETE"] {
        let request =
            Handshake::seed().request_line(&format!("{method} /ws HTTP/1.1")).add("Content-Length", "0");
        let expected =
            format!("405 Method Not Allowed with `Allow: GET`: the handshake is a GET, not a {method}");
        let (client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, 405, &format!("{method} /ws"), &expected)?;
        if !head.has_token("Allow", "GET") {
            return Err(client.fail("the 405 does not say `Allow: GET`", expected));
        }
    }
    Ok(())
}

check!(Check {
    name: the_path_is_matched_without_its_query,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &[
        "`ws://localhost:3000/ws?room=1` asks for the path /ws, with a query: the request line says \
         `GET /ws?room=1 HTTP/1.1`. Compare the path, the target up to its `?`, with /ws.",
        "`Request::path()` gives the target without its query; `request.target` is the whole of it.",
    ],
    needs: Needs::Address,
});
async fn the_path_is_matched_without_its_query(t: Target) -> Result<(), Failure> {
    for target in ["/ws?x=1", "/ws?room=board-1&user=ada", "/ws?"] {
        let key = generate_key();
        let request =
            Handshake::seed().set("Sec-WebSocket-Key", &key).request_line(&format!("GET {target} HTTP/1.1"));
        let (client, head) = ask(&t, &request, &want_101(&key)).await?;
        expect_101(
            &client,
            &head,
            &key,
            &format!("a handshake for GET {target} (the path /ws, with a query)"),
        )?;
    }
    Ok(())
}

check!(Check {
    name: other_paths_get_404,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &[
        "Only /ws speaks WebSocket; any other path gets `404 Not Found`, whatever its headers and \
         its query: /chat?path=/ws is for /chat. Paths are case-sensitive: /WS is not /ws.",
        "Check the rules in the order of the book's table (version, path, method, Host, Upgrade, \
         Connection, Sec-WebSocket-Version, key), each returning its `Err(Rejection::…)`, so that a \
         request breaking several rules gets the most useful answer.",
    ],
    needs: Needs::Address,
});
async fn other_paths_get_404(t: Target) -> Result<(), Failure> {
    for path in ["/", "/chat", "/ws/extra", "/wss", "/chat?path=/ws", "/WS"] {
        let expected = format!("404 Not Found: only /ws speaks WebSocket, not {path}");
        let request = Handshake::seed().request_line(&format!("GET {path} HTTP/1.1"));
        let (client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, 404, &format!("GET {path}"), &expected)?;
    }
    Ok(())
}

check!(Check {
    name: a_refusal_explains_itself_and_closes_the_connection,
    stage: REFUSALS,
    section: REFUSALS_SECTION,
    hints: &[
        "A refusal carries a short text body saying what was wrong (with its Content-Length), for \
         whoever reads it in curl or the Network tab.",
        "This server answers one request per connection. RFC 9112 §9.3: a server that does not keep \
         connections open MUST send `Connection: close` (on a 426: `Connection: Upgrade, close`), \
         then close it.",
        "In `Response::rejection`, `match` on the rejection for the status and its headers (`Allow` on \
         405; `Upgrade`, `Connection` and `Sec-WebSocket-Version` on 426), and use \
         `format!(\"{rejection}\\n\")`, the variant's `#[error]` text, as the body.",
    ],
    needs: Needs::Address,
});
async fn a_refusal_explains_itself_and_closes_the_connection(t: Target) -> Result<(), Failure> {
    let refusals = [
        (Handshake::seed().request_line("GET /chat HTTP/1.1"), 404),
        (Handshake::seed().request_line("POST /ws HTTP/1.1").add("Content-Length", "0"), 405),
        (Handshake::seed().without("Sec-WebSocket-Key"), 400),
        (Handshake::empty().with_headers([("Host", "localhost:3000")]), 426),
    ];
    for (request, status) in refusals {
        let expected = format!(
            "a {status} with `Connection: close` and a text body saying why, then the connection closes"
        );
        let (mut client, head) = ask(&t, &request, &expected).await?;
        expect_status(&client, &head, status, &format!("a request that deserves {status}"), &expected)?;
        if !head.has_token("Connection", "close") {
            return Err(client.fail(
                format!("the {status} does not say `Connection: close`, yet this server closes after it"),
                expected,
            ));
        }
        let body_length = head.header("Content-Length").and_then(|v| v.trim().parse::<usize>().ok());
        if body_length.is_none_or(|length| length == 0) {
            return Err(client.fail(
                format!("the {status} has no body (or no Content-Length): it does not say what was wrong"),
                expected,
            ));
        }
        client.expect_closed(&expected).await?;
    }
    Ok(())
}
