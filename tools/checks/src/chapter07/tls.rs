//! Stage 1, "TLS: https and wss".

use std::net::SocketAddr;

use serde_json::json;

use crate::check::check;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Needs, Target};

use super::helpers::{TIMED_OUT, send_until_closed};
use super::servers::{short_vars, start_tls};
use super::sign_in::{join, sign_in_if_offered};
use super::{STARTS_ITS_OWN, TLS, TLS_SECTION};

check!(Check {
    name: https_serves_the_api_to_a_client_that_trusts_only_the_test_ca,
    stage: TLS,
    section: TLS_SECTION,
    hints: &[
        "With `config.tls` set, `serve` builds a `TlsAcceptor` (`tls::acceptor`) and every accepted \
         TCP connection runs `acceptor.accept(tcp)` before HTTP starts.",
        "`tls::acceptor`: read the chain with `CertificateDer::pem_file_iter`, the key with \
         `PrivateKeyDer::from_pem_file`, then `ServerConfig::builder_with_provider(ring provider)\
         .with_safe_default_protocol_versions()?.with_no_client_auth().with_single_cert(chain, key)?`.",
        "Set `alpn_protocols` to `http/1.1`: the WebSocket upgrade is an HTTP/1.1 handshake.",
    ],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn https_serves_the_api_to_a_client_that_trusts_only_the_test_ca(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let board = t.board(1);
    let outcome = server.dial.request("GET", format!("/boards/{board}/tasks")).send().await;
    let answer = server.explain(outcome).await?;
    answer.expect_status(200, "200 OK and [] over TLS, for a client that trusts only the test CA")?;
    if answer.json("a JSON list")? != json!([]) {
        return Err(answer.fail("GET over TLS answered something other than []", "[] for a new board"));
    }
    Ok(())
}

check!(Check {
    name: the_event_stream_works_over_https,
    stage: TLS,
    section: TLS_SECTION,
    hints: &["Nothing above the accept loop knows TLS is there: once the handshake is done, the \
              same router serves the stream. If the API works over TLS but the stream does not, \
              look at how the connection is served (hyper's `http1::Builder`)."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn the_event_stream_works_over_https(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let dial = server.dial.clone();
    let mut events = dial
        .request("GET", format!("/boards/{board}/events"))
        .header_opt("Cookie", cookie.as_deref())
        .events()
        .await?;
    events.answer.expect_status(200, "200 OK and an event stream, over TLS")?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot, first thing on the stream").await?;
    let created = dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header_opt("Cookie", cookie.as_deref())
        .json(&json!({"title": "Renew the certificate"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created, over TLS")?;
    let event = events.next_event(ANSWER_TIMEOUT, "event: task_created, over TLS").await?;
    if event.name != "task_created" {
        return Err(events.fail(
            format!("the stream over TLS sent event: {} after a POST; expected task_created", event.name),
            "event: task_created with the new task",
        ));
    }
    Ok(())
}

check!(Check {
    name: a_websocket_works_over_wss,
    stage: TLS,
    section: TLS_SECTION,
    hints: &["`wss://` is the same upgrade inside TLS. Serve the TLS stream with \
         `http1::Builder::new().serve_connection(..).with_upgrades()`: without `with_upgrades` \
         the connection can't leave HTTP behind."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn a_websocket_works_over_wss(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let opened =
        server.dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await?;
    let mut ws = match opened {
        Ok(ws) => ws,
        Err(answer) => {
            return Err(answer.fail(
                format!("GET wss://…/ws answered {} instead of 101", answer.status),
                "101 Switching Protocols, over TLS",
            ));
        }
    };
    ws.send_json(&join(&board, "Alice")).await?;
    ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "the presence snapshot, over wss")
        .await?;
    Ok(())
}

check!(Check {
    name: plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving,
    stage: TLS,
    section: TLS_SECTION,
    hints: &["Run each connection's TLS handshake in a task of its own, and when it fails, log it and \
         drop that connection: `Err(error) => tracing::debug!(..)`, never `?` or `unwrap` in the \
         accept loop."],
    needs: Needs::Code(STARTS_ITS_OWN),
});
async fn plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving(
    t: Target,
) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let addr = server.dial.addr();
    let outcome = plain_request(addr).await;
    let got = server.explain(outcome).await?;
    let sent =
        format!("(plain TCP, no TLS)\n> GET /boards/{0}/tasks HTTP/1.1\n> Host: {addr}\n>", t.board(1));
    let expected = "the connection closed (a TLS alert first is fine), or a 4xx answer — never a 2xx \
                    over plain HTTP";
    if got.starts_with("HTTP/1.1 2") || got.starts_with("HTTP/1.0 2") {
        return Err(Failure::new("a plain-HTTP request to the TLS port was served in the clear")
            .sent(sent)
            .expected(expected)
            .got(got));
    }
    if got == TIMED_OUT {
        return Err(Failure::new(
            "a plain-HTTP request to the TLS port was left hanging: nothing within 5 s",
        )
        .sent(sent)
        .expected(expected)
        .got(got));
    }
    let outcome = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await;
    let answer = server.explain(outcome).await.map_err(|failure| Failure {
        headline: format!("after a plain-HTTP request to the TLS port, {}", failure.headline),
        ..failure
    })?;
    answer.expect_status(200, "200 OK over TLS: one bad connection must not stop the server")
}

/// Sends a plain-HTTP request and returns what came back until the server
/// closed the connection.
async fn plain_request(addr: SocketAddr) -> Result<String, Failure> {
    let request = format!("GET /boards/board-1/tasks HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let Some(got) = send_until_closed(addr, request.as_bytes()).await? else {
        return Ok(TIMED_OUT.to_owned());
    };
    if got.starts_with(b"HTTP/") {
        return Ok(String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned());
    }
    Ok(format!("(the connection closed after {} bytes that are not HTTP)", got.len()))
}
