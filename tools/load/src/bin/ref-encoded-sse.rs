//! Reference: the naive board's event stream (`ref-naive-sse`) with the two
//! changes that make a burst cheaper — each event encoded once, as the
//! bytes of a whole SSE event, when it is published; and a subscriber that
//! wakes up sends everything already queued for it as one chunk, never
//! waiting for more. On `127.0.0.1:3000` (or `PORT`).
//!
//! It shows what those two changes are worth (the appendix's "Measuring
//! your server" compares it with the naive board), with the naive board's
//! shortcuts otherwise: no snapshot, no replay, and a subscriber that lags
//! behind is dropped. axum's `Sse` takes one `Event` at a time and encodes
//! it itself, so this stream is a plain body of bytes, with the headers and
//! the keep-alive comments `Sse` would add written by hand.
//!
//! ```sh
//! cargo run --release -p course-load --bin ref-encoded-sse
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

#[derive(Debug, Clone, Serialize)]
struct Task {
    id: String,
    title: String,
    column: String,
}

#[derive(Debug, Deserialize)]
struct NewTask {
    title: String,
}

#[derive(Debug)]
struct Board {
    tasks: Vec<Task>,
    /// Each event as the bytes every subscriber sends: `Bytes` is
    /// reference-counted, so a clone per subscriber copies nothing.
    updates: broadcast::Sender<Bytes>,
}

type Boards = Arc<Mutex<HashMap<String, Board>>>;

/// The naive board's capacity, so the two differ only in what they send.
const CAPACITY: usize = 100;

/// axum's `KeepAlive` default.
const KEEPALIVE: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("encoded-once SSE board on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/boards/{board}/tasks", post(create_task))
        .route("/boards/{board}/events", get(events))
        .with_state(Boards::default());
    axum::serve(listener, app).await
}

fn with_board<T>(boards: &Boards, name: String, f: impl FnOnce(&mut Board) -> T) -> T {
    let mut boards = boards.lock().unwrap();
    let board = boards
        .entry(name)
        .or_insert_with(|| Board { tasks: Vec::new(), updates: broadcast::channel(CAPACITY).0 });
    f(board)
}

async fn create_task(
    State(boards): State<Boards>,
    Path(board): Path<String>,
    Json(new): Json<NewTask>,
) -> (StatusCode, Json<Task>) {
    let task = with_board(&boards, board, |board| {
        let id = board.tasks.len() + 1;
        let task = Task { id: format!("task-{id}"), title: new.title, column: "todo".into() };
        board.tasks.push(task.clone());
        // Encoded once here, for every subscriber. serde_json writes no
        // newlines, so the JSON is one `data:` line.
        let data = serde_json::to_string(&task).unwrap();
        let event = format!("event: task_created\nid: {id}\ndata: {data}\n\n");
        // No subscribers is not an error here.
        let _ = board.updates.send(event.into());
        task
    });
    (StatusCode::CREATED, Json(task))
}

async fn events(State(boards): State<Boards>, Path(board): Path<String>) -> impl IntoResponse {
    let updates = with_board(&boards, board, |board| board.updates.subscribe());
    let chunks = stream::unfold(updates, |mut updates| async move {
        let chunk = match tokio::time::timeout(KEEPALIVE, next_chunk(&mut updates)).await {
            Ok(chunk) => chunk?,
            Err(_) => Bytes::from_static(b":\n\n"),
        };
        Some((Ok::<_, Infallible>(chunk), updates))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(chunks),
    )
}

/// Waits for the next event, then takes every one already queued behind it
/// without waiting: one event alone goes out as it is (no copy, no delay);
/// several go out together, as one chunk. `None` ends the stream (the
/// board is gone, or this subscriber lagged: the naive board's shortcut).
async fn next_chunk(updates: &mut broadcast::Receiver<Bytes>) -> Option<Bytes> {
    let first = match updates.recv().await {
        Ok(event) => event,
        Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
    };
    let mut chunk: Option<Vec<u8>> = None;
    loop {
        match updates.try_recv() {
            Ok(event) => chunk.get_or_insert_with(|| first.to_vec()).extend_from_slice(&event),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(_) | TryRecvError::Closed) => return None,
        }
    }
    Some(chunk.map_or(first, Bytes::from))
}
