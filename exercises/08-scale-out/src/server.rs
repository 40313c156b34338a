//! The accept loop: each TCP connection, through TLS when it is configured,
//! to the router.
//!
//! Chapter 6 handed the listener to `axum::serve`. Here the server accepts
//! connections itself, because this is where production concerns live that
//! `axum::serve` does not cover: the TLS handshake of each connection, and
//! how long a client may take over it and over a request's head. Every
//! connection gets a task of its own, so a slow handshake holds up nobody
//! else's.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

use crate::shutdown::Draining;

/// After an accept error that is not about one connection (too many open
/// files, say), wait this long before accepting again, rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

// ANCHOR: accept
/// Accepts connections until the process ends. With `tls`, each one must
/// complete a TLS handshake first; one that fails — a plain-HTTP request to
/// the TLS port, say — is closed, and only that one. A client gets
/// `handshake_timeout` for the TLS handshake, and again for each request's
/// head: one that sends a byte now and then (slowloris) holds a connection
/// for that long, not for ever.
///
/// When `stop` completes, it stops accepting and begins `draining`: each
/// connection finishes the request in hand, if any, and closes.
pub async fn accept(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    stop: impl Future<Output = ()>,
    draining: Draining,
) {
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => {
                tracing::info!("shutting down: no new connections");
                draining.begin();
                return;
            }
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, draining) = (app.clone(), tls.clone(), draining.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(tcp, app, handshake_timeout, draining).await,
                Some(acceptor) => match timeout(handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => serve_connection(stream, app, handshake_timeout, draining).await,
                    Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
                    Err(_) => tracing::debug!(%peer, "no TLS handshake within {handshake_timeout:?}"),
                },
            }
        });
    }
}
// ANCHOR_END: accept

/// Speaks HTTP/1.1 on one connection, plain or TLS alike, until it closes.
/// `with_upgrades` lets a request leave HTTP behind: the WebSocket upgrade.
/// When the server drains, the request in hand (if any) is answered, and
/// the connection closes. A connection that has not sent a request yet was
/// accepted before the drain began: its first request is answered too (with
/// `Connection: close`, see `shutdown::close_connections`) — hyper's own
/// graceful shutdown would drop it unanswered, and a client whose request
/// was on its way would see a reset instead of the `503` of `/healthz`.
async fn serve_connection<S>(stream: S, app: Router, head_timeout: Duration, draining: Draining)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Whether hyper has handed this connection's service a request yet.
    let used = Arc::new(AtomicBool::new(false));
    let app = TowerToHyperService::new(app);
    let service = hyper::service::service_fn({
        let used = Arc::clone(&used);
        move |request| {
            used.store(true, Ordering::Relaxed);
            hyper::service::Service::call(&app, request)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // hyper measures the time with the timer it is given; without one,
        // it has no timeout at all.
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = draining.begun() => {
            if used.load(Ordering::Relaxed) {
                connection.as_mut().graceful_shutdown();
            }
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!("connection ended with an error: {error}");
    }
}
