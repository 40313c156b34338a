//! Reference: a task board's event stream written the way most examples
//! write one — axum `Sse` over a `broadcast` channel of tasks, each
//! subscriber serializing each task itself — on `127.0.0.1:3000` (or
//! `PORT`). Chapter 2's solution is measured against it.
//!
//! Only what the fan-out load needs: `POST /boards/{board}/tasks
//! {"title"}` → `201` and the task, and `GET /boards/{board}/events` →
//! `task_created` events. No snapshot, no ids, no replay, and a subscriber
//! that lags behind is silently dropped — the shortcuts chapter 2 teaches
//! you not to take.
//!
//! ```sh
//! cargo run --release -p course-load --bin ref-naive-sse
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

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
    updates: broadcast::Sender<Task>,
}

type Boards = Arc<Mutex<HashMap<String, Board>>>;

/// The channel's capacity, as axum's chat example has it.
const CAPACITY: usize = 100;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("naive SSE board on http://{}", listener.local_addr()?);
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
        let task =
            Task { id: format!("task-{}", board.tasks.len() + 1), title: new.title, column: "todo".into() };
        board.tasks.push(task.clone());
        // No subscribers is not an error here.
        let _ = board.updates.send(task.clone());
        task
    });
    (StatusCode::CREATED, Json(task))
}

async fn events(
    State(boards): State<Boards>,
    Path(board): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = with_board(&boards, board, |board| board.updates.subscribe());
    // Each receiver gets its own clone of the task, and serializes it.
    let stream = stream::unfold(updates, |mut updates| async move {
        let task = updates.recv().await.ok()?;
        let event = Event::default().event("task_created").json_data(&task).unwrap();
        Some((Ok(event), updates))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
