//! `load`: put a course server under load and say what it did.
//!
//! ```sh
//! cargo run --release -p course-load -- echo --port 3000 --connections 64 --size 1024
//! cargo run --release -p course-load -- idle --port 3000 --connections 10000
//! cargo run --release -p course-load -- fanout --port 3000 --subscribers 10000 --events 20
//! cargo run --release -p course-load -- fanout --url http://127.0.0.1:3001 --url http://127.0.0.1:3002 \
//!     --redis redis://127.0.0.1:6379 --subscribers 1000   # chapter 8's instances
//! cargo run --release -p course-load -- compare --ours A --reference B --out book/src/figures/x.md echo
//! cargo run --release -p course-load -- wire --port 3000     # against the chapter-6 board server
//! ```
//!
//! Everything goes to 127.0.0.1. The book's appendix "Measuring your
//! server" explains what each figure means.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use course_load::compare::{self, CompareOptions, Load};
use course_load::echo::{self, EchoOptions};
use course_load::fanout::{self, FanoutOptions, RedisTarget, Targets};
use course_load::idle::{self, IdleOptions};
use course_load::wire::{self, WireOptions};
use course_load::{limits, process};

/// Load for the course's servers (always on 127.0.0.1). Build it with
/// --release, and the server too: debug builds measure the debugger's
/// comfort, not the code.
#[derive(Debug, Parser)]
#[command(name = "load", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// WebSocket echo: every connection sends a message and waits for it to
    /// come back, for a while → messages/s and round-trip percentiles.
    Echo {
        /// The server's port on 127.0.0.1.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The server's process id, to read its CPU time; by default, the
        /// process listening on the port (if it is yours).
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        load: EchoArgs,
    },
    /// Idle WebSockets: open many, hold them → the server's resident memory
    /// per connection (Linux: from /proc/PID/status).
    Idle {
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The server's process id; by default, the process listening on the port.
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        load: IdleArgs,
    },
    /// SSE fan-out: many subscribers on one board, tasks created one at a
    /// time over HTTP → every event delivered to every subscriber, and how late.
    Fanout {
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Instead of --port, several instances of one server (chapter 8),
        /// one --url each (http://127.0.0.1:PORT): the subscribers are spread
        /// over them in turn, the tasks are created through the first.
        #[arg(long = "url", conflicts_with = "port")]
        urls: Vec<String>,
        /// The servers' process ids (one per instance), to read their CPU
        /// time; by default, the processes listening on the ports (if yours).
        #[arg(long)]
        pid: Vec<u32>,
        /// The Redis the instances share (redis://127.0.0.1:PORT): reports
        /// the commands it ran per event, and its CPU time if it is yours.
        #[arg(long)]
        redis: Option<String>,
        #[command(flatten)]
        load: FanoutArgs,
    },
    /// Polling, SSE and WebSocket side by side against the chapter-6 board
    /// server → bytes on the wire per delivered message (counted at the
    /// socket) and latency. Start the server with KEEPALIVE_MS=600000
    /// HEARTBEAT_MS=600000, so no keep-alive lands among the counted bytes.
    Wire {
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Messages whose bytes are counted, per transport (1–9: one-digit ids).
        #[arg(long, default_value_t = 9)]
        messages: usize,
        /// Messages timed afterwards, per transport.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Also write the figures as a Markdown section to this file, with
        /// the command, the machine and the date (the book includes
        /// book/src/figures/wire.md).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Two server binaries, the same load, interleaved rounds (ours,
    /// reference, ours, …) → medians, ranges and the ratio.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
struct EchoArgs {
    /// The WebSocket endpoint.
    #[arg(long, default_value = "/ws")]
    path: String,
    /// Connections, each with one message in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1)]
    warmup_secs: u64,
    /// Send text messages instead of binary ones.
    #[arg(long)]
    text: bool,
    /// Messages per second over all connections (each still waits for its
    /// echo): a fixed load, instead of as fast as the server answers.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
}

/// A rate of messages per second: a positive number.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("a rate is a positive number of messages per second, got {text:?}")),
    }
}

#[derive(Debug, Args)]
struct IdleArgs {
    /// The WebSocket endpoint.
    #[arg(long, default_value = "/ws")]
    path: String,
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// A text message each connection sends first, waiting for one message
    /// back: `{i}` is the connection's number, `{g}` is i ÷ --group. E.g.
    /// '{"type":"join","boardId":"idle-{g}","user":"user-{i}"}'.
    #[arg(long)]
    hello: Option<String>,
    #[arg(long, default_value_t = 10)]
    group: usize,
}

#[derive(Debug, Args)]
struct FanoutArgs {
    /// The board (default: a fresh one per run, so tasks count from task-1).
    #[arg(long)]
    board: Option<String>,
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    /// Tasks created, one at a time.
    #[arg(long, default_value_t = 20)]
    events: usize,
    /// Seconds to wait for one event to reach every subscriber.
    #[arg(long, default_value_t = 30)]
    event_timeout_secs: u64,
    /// Create the tasks back to back, without waiting for deliveries in between.
    #[arg(long)]
    burst: bool,
    /// Also print each event's delivery latency (with fanout; compare prints only the summary).
    #[arg(long)]
    each: bool,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// The server binary to measure (it must serve on 127.0.0.1:$PORT).
    #[arg(long)]
    ours: PathBuf,
    /// The server binary to measure it against.
    #[arg(long)]
    reference: PathBuf,
    /// Rounds per server.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Environment for both servers, KEY=VALUE (repeatable).
    #[arg(long, value_parser = key_value)]
    env: Vec<(String, String)>,
    /// Start this many processes of ours per round (fan-out only: the
    /// subscribers are spread over them); the reference is always one.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Start a private redis-server (this program, e.g. redis-server) for
    /// each round of ours, give ours its URL as REDIS_URL and each process
    /// an INSTANCE_ID, and count Redis's commands and CPU (fan-out only).
    #[arg(long)]
    redis_server: Option<PathBuf>,
    /// Also write the medians as a Markdown figures file, with the command,
    /// the machine and the date (the book includes book/src/figures/*.md;
    /// tools/load/compare.sh writes them all).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    load: LoadArgs,
}

#[derive(Debug, Subcommand)]
enum LoadArgs {
    /// WebSocket echo load in each round.
    Echo(EchoArgs),
    /// Idle WebSockets in each round.
    Idle(IdleArgs),
    /// SSE fan-out in each round.
    Fanout(FanoutArgs),
}

impl From<EchoArgs> for EchoOptions {
    fn from(args: EchoArgs) -> Self {
        EchoOptions {
            path: args.path,
            connections: args.connections,
            size: args.size,
            duration: Duration::from_secs(args.secs),
            warmup: Duration::from_secs(args.warmup_secs),
            text: args.text,
            rate: args.rate,
        }
    }
}

impl From<IdleArgs> for IdleOptions {
    fn from(args: IdleArgs) -> Self {
        IdleOptions { path: args.path, connections: args.connections, hello: args.hello, group: args.group }
    }
}

impl From<FanoutArgs> for FanoutOptions {
    fn from(args: FanoutArgs) -> Self {
        FanoutOptions {
            board: args.board,
            subscribers: args.subscribers,
            events: args.events,
            event_timeout: Duration::from_secs(args.event_timeout_secs),
            burst: args.burst,
        }
    }
}

/// `KEY=VALUE` → (KEY, VALUE).
fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let limit = limits::raise_open_files_limit().context("raising the open-files limit")?;
    println!("{limit}");
    match cli.command {
        Command::Echo { port, pid, load } => {
            let pid = pid.or_else(|| process::listener_pid(port).ok());
            println!("{}", echo::run(port, pid, &load.into()).await?);
        }
        Command::Idle { port, pid, load } => {
            let pid = match pid {
                Some(pid) => pid,
                None => process::listener_pid(port)?,
            };
            let report = idle::run(port, pid, &load.into()).await?;
            println!("server process {pid}: {report}");
        }
        Command::Fanout { port, urls, pid, redis, load } => {
            let each = load.each;
            let ports = if urls.is_empty() {
                vec![port]
            } else {
                urls.iter()
                    .map(|url| {
                        let rest = url.strip_prefix("http://").unwrap_or(url);
                        course_load::redis::loopback_port(rest).with_context(|| format!("in --url {url}"))
                    })
                    .collect::<Result<Vec<_>>>()?
            };
            let pids = if pid.is_empty() {
                ports
                    .iter()
                    .map(|&port| process::listener_pid(port))
                    .collect::<Result<Vec<_>>>()
                    .unwrap_or_default()
            } else {
                pid
            };
            let redis = match redis {
                Some(url) => {
                    let port = course_load::redis::port_of_url(&url)?;
                    Some(RedisTarget { port, pid: process::listener_pid(port).ok() })
                }
                None => None,
            };
            let report = fanout::run_on(&Targets { ports, pids, redis }, &load.into()).await?;
            println!("{report}");
            if each {
                for (n, latency) in report.each.iter().enumerate() {
                    println!("  task-{}: {latency}", n + 1);
                }
            }
            if !report.all_delivered() {
                bail!("not every event reached every subscriber");
            }
        }
        Command::Wire { port, messages, rounds, out } => {
            let report = wire::run(port, &WireOptions { messages, rounds }).await?;
            println!("{report}");
            if let Some(out) = out {
                let command: Vec<String> = std::env::args().skip(1).collect();
                let section = format!(
                    "<!-- Written by `load wire --out`; run it again rather than editing. -->\n\n\
                     {report}\n\n\
                     Measured by `cargo run --release -p course-load -- {}` against `sol06-board` \
                     (release build; `KEEPALIVE_MS=600000 HEARTBEAT_MS=600000`), both on loopback: {}. \
                     Byte counts are the same on any machine; latencies depend on it and on its load.\n",
                    command.join(" "),
                    wire::machine_and_date()
                );
                std::fs::write(&out, section).with_context(|| format!("writing {}", out.display()))?;
            }
        }
        Command::Compare(args) => {
            let load = match args.load {
                LoadArgs::Echo(load) => Load::Echo(load.into()),
                LoadArgs::Idle(load) => Load::Idle(load.into()),
                LoadArgs::Fanout(load) => Load::Fanout(load.into()),
            };
            let options = CompareOptions {
                ours: args.ours,
                reference: args.reference,
                rounds: args.rounds,
                env: args.env,
                instances: args.instances,
                redis_server: args.redis_server,
                load,
                out: args.out,
                command: format!("load {}", std::env::args().skip(1).collect::<Vec<_>>().join(" ")),
            };
            compare::run(&options).await?;
        }
    }
    Ok(())
}
