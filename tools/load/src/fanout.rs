//! SSE fan-out: N subscribers on one board, E tasks created over HTTP, and
//! every `task_created` event must reach every subscriber.
//!
//! One event at a time: a task is created (`POST`), and the next one only
//! once every subscriber has the event (or the wait timed out). With
//! `burst`, all of them back to back instead. Each
//! delivery's latency runs from the moment the `POST`'s response arrived —
//! when the change is done, as far as its author knows — to the moment the
//! subscriber read the event. A delivery read before that response (the
//! server may publish before it answers) counts as zero and is reported.
//!
//! The creating requests run on a thread of their own, so that ten
//! thousand subscribers busy reading cannot delay the reading of a
//! response, and with it the start of every latency.
//!
//! Against several instances of one server (chapter 8: they share a
//! Redis), the subscribers are spread over the instances in turn and the
//! tasks are created through the first, so most deliveries cross from one
//! instance to another through Redis. The CPU figure is then all the
//! instances' together, and with the Redis's port the report adds how many
//! commands Redis ran per event (`INFO commandstats`, before and after) and,
//! when its process is known, Redis's own CPU.
//!
//! A server that signs users in (chapter 7 on) gets `POST /session` first,
//! and its cookie on every request; one that answers `404` is used as is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::http::{self, Chunked};
use crate::latency::{self, Latency};
use crate::process::{CpuMeter, WriteMeter};
use crate::redis;
use crate::sse::SseParser;

/// How many subscriptions open at once (see the idle mode's reason).
const SUBSCRIBING_AT_ONCE: usize = 128;

/// The event the mode counts.
const TASK_CREATED: &str = "task_created";

/// Who listens, how many events, how long to wait for each.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// The board; by default a fresh one for each run, so its tasks are
    /// numbered from `task-1`.
    pub board: Option<String>,
    pub subscribers: usize,
    pub events: usize,
    /// How long to wait for one event to reach everyone.
    pub event_timeout: Duration,
    /// Create all the tasks back to back, without waiting for deliveries in
    /// between: a burst, which a server must queue per subscriber (and
    /// which shows what it does with a subscriber that falls behind).
    pub burst: bool,
}

/// The servers a fan-out runs against: one, or several instances that
/// share a Redis.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Each instance's port on 127.0.0.1; the first takes the `POST`s.
    pub ports: Vec<u16>,
    /// Their process ids, to read their CPU time: all of them, or there is
    /// no CPU figure.
    pub pids: Vec<u32>,
    /// The Redis they share, to count its commands.
    pub redis: Option<RedisTarget>,
}

/// A Redis on 127.0.0.1, and its process when the tool may read its CPU time.
#[derive(Debug, Clone, Copy)]
pub struct RedisTarget {
    pub port: u16,
    pub pid: Option<u32>,
}

impl Targets {
    /// One server on `port`, with its process id if known.
    pub fn single(port: u16, pid: Option<u32>) -> Targets {
        Targets { ports: vec![port], pids: pid.into_iter().collect(), redis: None }
    }
}

/// What arrived, and how late.
#[derive(Debug, Clone)]
pub struct FanoutReport {
    /// How many instances the subscribers were spread over.
    pub instances: usize,
    pub subscribers: usize,
    pub events: usize,
    /// `subscribers × events`.
    pub expected: u64,
    /// Distinct (subscriber, event) pairs that arrived.
    pub delivered: u64,
    /// The same event arriving twice on one subscription.
    pub duplicates: u64,
    /// `reset` events received (a subscriber told to start over).
    pub resets: u64,
    /// Subscriptions that ended before the run did.
    pub ended_early: usize,
    /// Deliveries read before the `POST`'s response (counted as zero).
    pub before_response: u64,
    /// Delivery latency, from the `POST`'s response to the subscriber's read.
    pub latency: Latency,
    /// The `POST`s' own round trips.
    pub post: Latency,
    /// Delivery latency of each event in turn (task-1 first).
    pub each: Vec<Latency>,
    /// The server's CPU time from the first `POST` to the last delivery,
    /// when its process is known (every instance's, added up).
    pub server_cpu: Option<Duration>,
    /// The server's write calls (`write`, `writev`) over the same stretch,
    /// when its process is known.
    pub server_writes: Option<u64>,
    /// Commands the shared Redis ran over the same stretch.
    pub redis_commands: Option<u64>,
    /// Redis's CPU time over the same stretch, when its process is known.
    pub redis_cpu: Option<Duration>,
}

impl FanoutReport {
    /// Every event reached every subscriber exactly once.
    pub fn all_delivered(&self) -> bool {
        self.delivered == self.expected && self.duplicates == 0
    }

    /// The server's CPU time per delivery (its `POST`s included): what one
    /// subscriber hearing of one change costs it.
    pub fn server_cpu_per_delivery(&self) -> Option<Duration> {
        Some(self.server_cpu? / u32::try_from(self.delivered.max(1)).ok()?)
    }

    /// The server's write calls per delivery (its `POST` responses
    /// included): 1 when every event goes out in a write of its own, less
    /// when a subscriber's queued events leave together.
    pub fn server_writes_per_delivery(&self) -> Option<f64> {
        Some(self.server_writes? as f64 / self.delivered.max(1) as f64)
    }

    /// Redis's CPU time per delivery.
    pub fn redis_cpu_per_delivery(&self) -> Option<Duration> {
        Some(self.redis_cpu? / u32::try_from(self.delivered.max(1)).ok()?)
    }

    /// Redis commands per event (per task created, however many hear of it).
    pub fn redis_commands_per_event(&self) -> Option<f64> {
        Some(self.redis_commands? as f64 / self.events.max(1) as f64)
    }
}

impl std::fmt::Display for FanoutReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.instances > 1 {
            write!(f, "{} instances, ", self.instances)?;
        }
        writeln!(
            f,
            "{} subscribers × {} events: {} of {} deliveries{}",
            self.subscribers,
            self.events,
            self.delivered,
            self.expected,
            if self.all_delivered() { " (all)" } else { " — SOME MISSING" }
        )?;
        write!(f, "  delivery latency {}", self.latency)?;
        if let Some(cpu) = self.server_cpu_per_delivery() {
            write!(f, "; server CPU {:.1} µs per delivery", cpu.as_secs_f64() * 1e6)?;
        }
        if let Some(writes) = self.server_writes_per_delivery() {
            write!(f, ", {writes:.2} write calls per delivery")?;
        }
        writeln!(f)?;
        if let Some(commands) = self.redis_commands_per_event() {
            write!(f, "  Redis: {commands:.1} commands per event")?;
            if let Some(cpu) = self.redis_cpu_per_delivery() {
                write!(f, ", CPU {:.2} µs per delivery", cpu.as_secs_f64() * 1e6)?;
            }
            writeln!(f)?;
        }
        write!(
            f,
            "  POST round trip {}; duplicates {}, resets {}, streams ended early {}, read before the response {}",
            self.post, self.duplicates, self.resets, self.ended_early, self.before_response
        )
    }
}

/// What the subscribers share with the thread creating the tasks.
#[derive(Debug)]
struct Tally {
    /// Arrivals per task number (`task-N` → index N; 0 unused).
    arrivals: Vec<AtomicUsize>,
    /// Subscriptions still reading.
    listening: AtomicUsize,
    /// Rung when an event has reached everyone still listening, or when a
    /// subscription ends.
    progress: Notify,
}

impl Tally {
    fn everyone_has(&self, task: usize) -> bool {
        self.arrivals[task].load(Ordering::Acquire) >= self.listening.load(Ordering::Acquire)
    }
}

/// One subscription's record.
#[derive(Debug, Default)]
struct Heard {
    /// (task number, when it was read).
    deliveries: Vec<(usize, Instant)>,
    resets: u64,
    ended_early: bool,
}

/// Runs the fan-out against the board server on `127.0.0.1:port`; with the
/// server's process id, also reads the CPU time it spends delivering.
pub async fn run(port: u16, server: Option<u32>, options: &FanoutOptions) -> Result<FanoutReport> {
    run_on(&Targets::single(port, server), options).await
}

/// Runs the fan-out with the subscribers spread over `targets`' instances.
pub async fn run_on(targets: &Targets, options: &FanoutOptions) -> Result<FanoutReport> {
    ensure!(options.subscribers > 0 && options.events > 0, "at least one subscriber and one event");
    ensure!(!targets.ports.is_empty(), "at least one server");
    let board = options.board.clone().unwrap_or_else(fresh_board);
    let post_port = targets.ports[0];
    let cookie = sign_in(post_port).await?;
    let tally = Arc::new(Tally {
        arrivals: (0..=options.events).map(|_| AtomicUsize::new(0)).collect(),
        listening: AtomicUsize::new(0),
        progress: Notify::new(),
    });

    // Everyone subscribes first. A `200` head means the server has run the
    // handler, which took the subscription: from here on, no event can be
    // missed for lack of a subscriber.
    let permits = Arc::new(Semaphore::new(SUBSCRIBING_AT_ONCE));
    let mut subscribing = JoinSet::new();
    for n in 0..options.subscribers {
        let (permits, board, cookie) = (permits.clone(), board.clone(), cookie.clone());
        let port = targets.ports[n % targets.ports.len()];
        subscribing.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            subscribe(port, &board, cookie.as_deref()).await
        });
    }
    let (stop, stopped) = watch::channel(false);
    let mut listeners = JoinSet::new();
    while let Some(result) = subscribing.join_next().await {
        let (stream, body_start, chunked) = result.context("a subscribing task panicked")??;
        tally.listening.fetch_add(1, Ordering::AcqRel);
        listeners.spawn(listen(stream, body_start, chunked, tally.clone(), stopped.clone(), options.events));
    }

    let cpu: Vec<Option<CpuMeter>> = targets.pids.iter().map(|&pid| CpuMeter::start(Some(pid))).collect();
    let redis_cpu = CpuMeter::start(targets.redis.and_then(|redis| redis.pid));
    let redis_before = match targets.redis {
        Some(redis) => Some(redis::commands_run(redis.port).await?),
        None => None,
    };
    let writes: Vec<Option<WriteMeter>> =
        targets.pids.iter().map(|&pid| WriteMeter::start(Some(pid))).collect();
    let responses = {
        let (tally, board) = (tally.clone(), board.clone());
        let pace = Pace { events: options.events, wait: options.event_timeout, burst: options.burst };
        tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(create_tasks(
                post_port,
                &board,
                cookie.as_deref(),
                pace,
                &tally,
            ))
        })
        .await
        .context("the task-creating thread panicked")??
    };
    // Every instance's CPU time, or none: a partial sum would flatter.
    let server_cpu = if cpu.is_empty() {
        None
    } else {
        cpu.iter().map(|meter| meter.and_then(|meter| meter.used())).sum::<Option<Duration>>()
    };
    let redis_cpu = redis_cpu.and_then(|meter| meter.used());
    let redis_commands = match (targets.redis, redis_before) {
        (Some(redis), Some(before)) => Some(redis::commands_run(redis.port).await?.saturating_sub(before)),
        _ => None,
    };
    // Every instance's write calls, or none, for the same reason.
    let server_writes = if writes.is_empty() {
        None
    } else {
        writes.iter().map(|meter| meter.and_then(|meter| meter.made())).sum::<Option<u64>>()
    };

    stop.send_replace(true);
    let mut heard = Vec::with_capacity(options.subscribers);
    while let Some(result) = listeners.join_next().await {
        heard.push(result.context("a subscriber task panicked")?);
    }
    Ok(FanoutReport {
        instances: targets.ports.len(),
        server_cpu,
        server_writes,
        redis_commands,
        redis_cpu,
        ..report(options, &responses, &heard)
    })
}

/// Signs in with `POST /session {"user":"load"}` when the server has that
/// route (chapter 7 on), and returns the cookie to send (`session=…`);
/// `None` when the server answers `404` or `405` (it has no sign-in).
async fn sign_in(port: u16) -> Result<Option<String>> {
    let mut stream = timeout(http::IO_TIMEOUT, TcpStream::connect((crate::HOST, port)))
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {}:{port}", crate::HOST))?;
    http::write(&mut stream, &http::request("POST", "/session", port, Some(r#"{"user":"load"}"#))).await?;
    let mut buffer = Vec::new();
    let head = http::read_head(&mut stream, &mut buffer).await?;
    http::read_body(&mut stream, &head, &mut buffer).await?;
    match head.status {
        404 | 405 => Ok(None),
        200..=299 => {
            let cookie = head.header("set-cookie").context("POST /session succeeded without a Set-Cookie")?;
            Ok(Some(cookie.split(';').next().unwrap_or_default().trim().to_owned()))
        }
        status => bail!("POST /session answered {status}"),
    }
}

/// `load-<pid>-<nanoseconds>`: a board no one has used.
fn fresh_board() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("load-{}-{nanos}", std::process::id())
}

/// `GET /boards/{board}/events` up to the response head. Returns the
/// stream, the body bytes read with the head, and whether it is chunked.
async fn subscribe(port: u16, board: &str, cookie: Option<&str>) -> Result<(TcpStream, Vec<u8>, bool)> {
    let mut stream = timeout(http::IO_TIMEOUT, TcpStream::connect((crate::HOST, port)))
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {}:{port}", crate::HOST))?;
    stream.set_nodelay(true)?;
    let path = format!("/boards/{board}/events");
    http::write(&mut stream, &http::signed_request("GET", &path, port, None, cookie)).await?;
    let mut buffer = Vec::new();
    let head = http::read_head(&mut stream, &mut buffer).await?;
    ensure!(head.status == 200, "GET /boards/{board}/events answered {}", head.status);
    let content_type = head.header("content-type").unwrap_or_default();
    ensure!(
        content_type.starts_with("text/event-stream"),
        "the event stream's Content-Type is {content_type:?}"
    );
    let chunked = head.is_chunked();
    Ok((stream, buffer, chunked))
}

/// Reads one subscription until told to stop, noting when each
/// `task_created` arrives.
async fn listen(
    mut stream: TcpStream,
    body_start: Vec<u8>,
    chunked: bool,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
    events: usize,
) -> Heard {
    let mut heard = Heard { deliveries: Vec::with_capacity(events), ..Heard::default() };
    let mut dechunk = chunked.then(Chunked::default);
    let mut parser = SseParser::default();
    let mut raw = body_start;
    let mut body = Vec::new();
    loop {
        // What has been read so far, as events.
        let now = Instant::now();
        let bytes = match &mut dechunk {
            Some(dechunk) => {
                if dechunk.decode(&raw, &mut body).is_err() {
                    break;
                }
                &body[..]
            }
            None => &raw[..],
        };
        let body_ended = dechunk.as_ref().is_some_and(Chunked::is_done);
        parser.feed(bytes, |event| match event.name.as_str() {
            TASK_CREATED => {
                if let Some(task) = task_number(&event.data).filter(|n| (1..=events).contains(n)) {
                    heard.deliveries.push((task, now));
                    if tally.arrivals[task].fetch_add(1, Ordering::AcqRel) + 1
                        >= tally.listening.load(Ordering::Acquire)
                    {
                        tally.progress.notify_one();
                    }
                }
            }
            "reset" => heard.resets += 1,
            _ => {}
        });
        raw.clear();
        body.clear();
        if body_ended {
            // The server ended the response: this subscriber hears no more.
            break;
        }

        tokio::select! {
            _ = stop.changed() => return heard,
            read = stream.read_buf(&mut raw) => if !matches!(read, Ok(n) if n > 0) { break },
        }
    }
    // The stream ended (or broke) before the run did: stop waiting for it.
    heard.ended_early = true;
    tally.listening.fetch_sub(1, Ordering::AcqRel);
    tally.progress.notify_one();
    heard
}

/// `{"id":"task-12",…}` → 12.
fn task_number(data: &str) -> Option<usize> {
    let (_, after) = data.split_once("\"id\":\"task-")?;
    let digits = after.split('"').next()?;
    digits.parse().ok()
}

/// How the tasks are created.
#[derive(Debug, Clone, Copy)]
struct Pace {
    events: usize,
    /// How long to wait for one event to reach everyone (for a burst: all).
    wait: Duration,
    burst: bool,
}

/// Creates the tasks one at a time; after each (or, for a burst, after the
/// last) waits until every subscriber still listening has its event.
/// Returns, per task number, when the `POST`'s response arrived and how
/// long the `POST` took.
async fn create_tasks(
    port: u16,
    board: &str,
    cookie: Option<&str>,
    pace: Pace,
    tally: &Tally,
) -> Result<Vec<(Instant, Duration)>> {
    let Pace { events, wait, burst } = pace;
    let mut stream = TcpStream::connect((crate::HOST, port))
        .await
        .with_context(|| format!("connecting to {}:{port}", crate::HOST))?;
    stream.set_nodelay(true)?;
    let path = format!("/boards/{board}/tasks");
    let mut responses = Vec::with_capacity(events);
    for n in 1..=events {
        let body = format!(r#"{{"title":"load event {n}"}}"#);
        let sent = Instant::now();
        http::write(&mut stream, &http::signed_request("POST", &path, port, Some(&body), cookie)).await?;
        let mut buffer = Vec::new();
        let head = http::read_head(&mut stream, &mut buffer).await?;
        let answer = http::read_body(&mut stream, &head, &mut buffer).await?;
        let answered = Instant::now();
        let answer = String::from_utf8_lossy(&answer);
        ensure!(head.status == 201, "POST {path} answered {}: {answer}", head.status);
        match task_number(&answer) {
            Some(task) if task == n => {}
            _ => bail!("POST {path} created {answer}, not task-{n}: use a board no one else uses"),
        }
        responses.push((answered, answered - sent));
        if !burst {
            wait_for_everyone(tally, n, tokio::time::Instant::now() + wait).await;
        }
    }
    if burst {
        let deadline = tokio::time::Instant::now() + wait;
        for n in 1..=events {
            wait_for_everyone(tally, n, deadline).await;
        }
    }
    Ok(responses)
}

/// Waits until every subscriber still listening has task `n`'s event, or
/// until `deadline` (what is missing then is reported as missing).
async fn wait_for_everyone(tally: &Tally, n: usize, deadline: tokio::time::Instant) {
    while !tally.everyone_has(n) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if timeout(left, tally.progress.notified()).await.is_err() {
            return;
        }
    }
}

/// Latencies and counts from what every subscriber heard.
fn report(options: &FanoutOptions, responses: &[(Instant, Duration)], heard: &[Heard]) -> FanoutReport {
    let mut delays = latency::histogram();
    let mut each: Vec<_> = (0..options.events).map(|_| latency::histogram()).collect();
    let mut posts = latency::histogram();
    for (_, round_trip) in responses {
        latency::record(&mut posts, *round_trip);
    }
    let (mut delivered, mut duplicates, mut before_response) = (0, 0, 0);
    for subscriber in heard {
        let mut seen = vec![false; options.events + 1];
        for &(task, at) in &subscriber.deliveries {
            if std::mem::replace(&mut seen[task], true) {
                duplicates += 1;
                continue;
            }
            delivered += 1;
            let Some(&(answered, _)) = responses.get(task - 1) else { continue };
            if at < answered {
                before_response += 1;
            }
            let delay = at.saturating_duration_since(answered);
            latency::record(&mut delays, delay);
            latency::record(&mut each[task - 1], delay);
        }
    }
    FanoutReport {
        instances: 1,
        subscribers: options.subscribers,
        events: options.events,
        expected: (options.subscribers * options.events) as u64,
        delivered,
        duplicates,
        resets: heard.iter().map(|h| h.resets).sum(),
        ended_early: heard.iter().filter(|h| h.ended_early).count(),
        before_response,
        latency: Latency::of(&delays),
        post: Latency::of(&posts),
        each: each.iter().map(Latency::of).collect(),
        server_cpu: None,
        server_writes: None,
        redis_commands: None,
        redis_cpu: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_number_is_read_from_the_event_data() {
        assert_eq!(task_number(r#"{"id":"task-12","title":"x","column":"todo"}"#), Some(12));
        assert_eq!(task_number(r#"{"title":"x","id":"task-3"}"#), Some(3));
        assert_eq!(task_number(r#"{"eventId":0,"tasks":[]}"#), None);
    }
}
