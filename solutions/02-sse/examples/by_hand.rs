//! The event-stream format by hand: one response whose body never ends,
//! written as plain text. No `Sse`, no helpers — just the bytes a browser
//! reads.
//!
//! ```sh
//! cargo run -p sol02-sse --example by_hand
//! curl -N localhost:3000/ticks
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use futures_util::stream;
use tokio::net::TcpListener;

// ANCHOR: ticks
/// `GET /ticks`: an event every second, for as long as the client listens.
async fn ticks() -> impl IntoResponse {
    // The stream opens with how long to wait before reconnecting...
    let opening = stream::once(async { Ok::<_, Infallible>("retry: 2000\n\n".to_owned()) });
    // ...then an event per tick: fields, one per line, and a blank line
    // that says "dispatch".
    let ticker = tokio::time::interval(Duration::from_secs(1));
    let events = stream::unfold((ticker, 1u64), |(mut ticker, n)| async move {
        ticker.tick().await;
        let event = format!("event: tick\nid: {n}\ndata: {{\"n\":{n}}}\n\n");
        Some((Ok(event), (ticker, n + 1)))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        // Each item is sent as soon as the stream yields it: one chunk of
        // the response body per event.
        Body::from_stream(opening.chain(events)),
    )
}
// ANCHOR_END: ticks

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("ticking on http://{}/ticks", listener.local_addr()?);
    axum::serve(listener, Router::new().route("/ticks", get(ticks))).await
}
