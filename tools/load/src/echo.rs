//! WebSocket echo load: every connection sends a message, waits for it to
//! come back, and sends the next — one message in flight per connection.
//!
//! Closed-loop load like this measures what the server does per message
//! (throughput) and how long one trip takes (latency) together: with N
//! connections, messages/s ≈ N ÷ the mean round trip.
//!
//! With a rate (`--rate 1000`), the connections share a schedule instead:
//! each sends every N ÷ rate seconds (still one message in flight), so the
//! round trip is measured at a load that doesn't depend on how fast the
//! server is — what comparing two servers, or a server with and without a
//! proxy in front, needs. Each round trip is timed from its actual send; a
//! connection behind schedule sends at once to catch up.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use crate::http::IO_TIMEOUT;
use crate::latency::{self, Latency};
use crate::process::CpuMeter;
use crate::ws::{self, Socket, next_data};

/// What to send, how much, for how long.
#[derive(Debug, Clone)]
pub struct EchoOptions {
    /// The WebSocket endpoint's path, e.g. `/ws`.
    pub path: String,
    pub connections: usize,
    /// The payload of every message, in bytes.
    pub size: usize,
    /// How long the measurement runs (after the warm-up).
    pub duration: Duration,
    /// How long the load runs before anything is counted: connections,
    /// buffers and the CPU's caches settle first.
    pub warmup: Duration,
    /// Text messages (the server validates UTF-8) instead of binary ones.
    pub text: bool,
    /// Messages per second over all connections; `None`: as fast as the
    /// echoes come back.
    pub rate: Option<f64>,
}

/// What came out.
#[derive(Debug, Clone)]
pub struct EchoReport {
    pub connections: usize,
    pub size: usize,
    pub measured: Duration,
    /// The rate asked for, if any.
    pub rate: Option<f64>,
    /// Round trips completed in the measured time.
    pub messages: u64,
    pub latency: Latency,
    /// The server's CPU time over the measured seconds, when its process
    /// is known.
    pub server_cpu: Option<Duration>,
}

impl EchoReport {
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.measured.as_secs_f64()
    }

    /// The server's CPU time per echoed message: what a message costs it,
    /// whatever else the machine was doing.
    pub fn server_cpu_per_message(&self) -> Option<Duration> {
        Some(self.server_cpu? / u32::try_from(self.messages.max(1)).ok()?)
    }
}

impl std::fmt::Display for EchoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let asked = self.rate.map_or(String::new(), |rate| format!(" (paced at {rate:.0}/s)"));
        write!(
            f,
            "{} connections × {} B: {:.0} messages/s{asked}; round trip {}",
            self.connections,
            self.size,
            self.messages_per_second(),
            self.latency
        )?;
        if let Some(cpu) = self.server_cpu_per_message() {
            write!(f, "; server CPU {:.1} µs per message", cpu.as_secs_f64() * 1e6)?;
        }
        Ok(())
    }
}

/// Runs echo load against `ws://127.0.0.1:port{path}`; with the server's
/// process id, also reads the CPU time it spends over the measured seconds.
pub async fn run(port: u16, server: Option<u32>, options: &EchoOptions) -> Result<EchoReport> {
    ensure!(options.connections > 0, "at least one connection");
    let mut sockets = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        sockets.push(ws::connect(port, &options.path).await?);
    }
    let message = if options.text {
        Message::Text(Utf8Bytes::from("x".repeat(options.size)))
    } else {
        Message::Binary(Bytes::from(vec![b'x'; options.size]))
    };
    let start = Instant::now();
    let counted_from = start + options.warmup;
    let until = counted_from + options.duration;
    // Each connection's period, and their starts spread over one period,
    // so that the messages are spread evenly over time.
    let period = options.rate.map(|rate| Duration::from_secs_f64(options.connections as f64 / rate));
    let mut tasks = JoinSet::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let pace = period.map(|period| {
            let first = start + period.mul_f64(i as f64 / options.connections as f64);
            let mut ticks = tokio::time::interval_at(first.into(), period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            ticks
        });
        tasks.spawn(echo_until(socket, message.clone(), pace, counted_from, until));
    }
    tokio::time::sleep_until(counted_from.into()).await;
    let cpu = CpuMeter::start(server);
    let mut histogram = latency::histogram();
    while let Some(result) = tasks.join_next().await {
        histogram.add(result.context("an echo task panicked")??)?;
    }
    let server_cpu = cpu.and_then(|cpu| cpu.used());
    Ok(EchoReport {
        connections: options.connections,
        size: options.size,
        measured: options.duration,
        rate: options.rate,
        messages: histogram.len(),
        latency: Latency::of(&histogram),
        server_cpu,
    })
}

/// One connection's loop: (wait for its next tick, when paced,) send, wait
/// for the echo, check it, repeat until `until`. Round trips that start
/// after `counted_from` are recorded.
async fn echo_until(
    mut socket: Socket,
    message: Message,
    mut pace: Option<tokio::time::Interval>,
    counted_from: Instant,
    until: Instant,
) -> Result<Histogram<u64>> {
    let mut histogram = latency::histogram();
    loop {
        if let Some(ticks) = &mut pace {
            ticks.tick().await;
        }
        let sent = Instant::now();
        if sent >= until {
            break;
        }
        timeout(IO_TIMEOUT, socket.send(message.clone())).await.context("sending timed out")??;
        let echo = next_data(&mut socket).await?;
        if echo != message {
            bail!("the echo differs from what was sent ({} bytes sent, {} back)", message.len(), echo.len());
        }
        if sent >= counted_from {
            latency::record(&mut histogram, sent.elapsed());
        }
    }
    // A polite goodbye, so the server sees a close rather than a reset; a
    // server that doesn't answer in time changes nothing measured.
    let _ = timeout(Duration::from_secs(1), socket.close(None)).await;
    Ok(histogram)
}
