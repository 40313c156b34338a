//! Side by side: two server binaries, the same load, interleaved rounds.
//!
//! On a shared machine one run differs from the next by ±15% or so —
//! frequency scaling, other processes, where the scheduler puts things.
//! Running "ours, then reference, then ours…" spreads that drift evenly
//! over both, and the median of several rounds ignores the odd outlier.
//! Each round starts a fresh server process, so no round inherits another's
//! warm caches or leftover connections.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::echo::{self, EchoOptions};
use crate::fanout::{self, FanoutOptions};
use crate::idle::{self, IdleOptions};
use crate::process;
use crate::server::Server;

/// The load to run in every round.
#[derive(Debug, Clone)]
pub enum Load {
    Echo(EchoOptions),
    Idle(IdleOptions),
    Fanout(FanoutOptions),
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The server being measured, e.g. `target/release/sol04-frames`.
    pub ours: PathBuf,
    /// The one it is measured against, e.g. `target/release/ref-tungstenite-echo`.
    pub reference: PathBuf,
    /// Rounds per server.
    pub rounds: usize,
    /// Extra environment for both servers (`MAX_MESSAGE_BYTES=…`).
    pub env: Vec<(String, String)>,
    pub load: Load,
}

/// Whether a bigger figure is a better one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One figure from one round.
#[derive(Debug, Clone, Copy)]
struct Figure {
    name: &'static str,
    better: Better,
    value: f64,
}

/// One round's outcome for one server.
#[derive(Debug, Clone)]
struct Round {
    figures: Vec<Figure>,
    /// False when the run broke its own rules (an event not delivered).
    complete: bool,
}

/// Runs the comparison and prints each round as it ends, then the summary.
pub async fn run(options: &CompareOptions) -> Result<()> {
    let sides = [("ours", &options.ours), ("reference", &options.reference)];
    for (_, program) in sides {
        if !program.is_file() {
            bail!("{} is not a file: build it first (cargo build --release -p …)", program.display());
        }
    }
    println!("load average at the start: {}", process::load_average());
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=options.rounds {
        for (side, (label, program)) in sides.iter().enumerate() {
            let server = Server::start(program, &options.env, &format!("{label}-{round}")).await?;
            let outcome = measure(&options.load, &server).await;
            let log = server.log().to_owned();
            server.stop();
            let (text, result) = outcome.with_context(|| {
                format!("round {round} against {} (its output: {})", program.display(), log.display())
            })?;
            println!("round {round}/{} {label:<9} [load {}] {text}", options.rounds, process::load_average());
            rounds[side].push(result);
        }
    }
    println!("load average at the end: {}", process::load_average());
    summarize(options, &rounds);
    Ok(())
}

/// Runs the load once against `server`: the text to print, and the figures.
async fn measure(load: &Load, server: &Server) -> Result<(String, Round)> {
    Ok(match load {
        Load::Echo(options) => {
            let report = echo::run(server.port(), Some(server.pid()), options).await?;
            let figures = vec![
                Figure { name: "messages/s", better: Better::Higher, value: report.messages_per_second() },
                Figure {
                    name: "server CPU/message (µs)",
                    better: Better::Lower,
                    value: micros(report.server_cpu_per_message()),
                },
                Figure { name: "p50 round trip (ms)", better: Better::Lower, value: ms(report.latency.p50) },
                Figure { name: "p99 round trip (ms)", better: Better::Lower, value: ms(report.latency.p99) },
            ];
            (report.to_string(), Round { figures, complete: true })
        }
        Load::Idle(options) => {
            let report = idle::run(server.port(), server.pid(), options).await?;
            let per_connection = report.bytes_per_connection() / 1024.0;
            let figures = vec![Figure {
                name: "KiB per idle connection",
                better: Better::Lower,
                value: per_connection,
            }];
            let complete = report.failed == 0 && report.open_at_reading == options.connections;
            (report.to_string(), Round { figures, complete })
        }
        Load::Fanout(options) => {
            let report = fanout::run(server.port(), Some(server.pid()), options).await?;
            let figures = vec![
                Figure {
                    name: "server CPU/delivery (µs)",
                    better: Better::Lower,
                    value: micros(report.server_cpu_per_delivery()),
                },
                Figure { name: "p50 delivery (ms)", better: Better::Lower, value: ms(report.latency.p50) },
                Figure { name: "p99 delivery (ms)", better: Better::Lower, value: ms(report.latency.p99) },
                Figure { name: "max delivery (ms)", better: Better::Lower, value: ms(report.latency.max) },
            ];
            (report.to_string(), Round { figures, complete: report.all_delivered() })
        }
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn micros(duration: Option<Duration>) -> f64 {
    duration.map_or(f64::NAN, |duration| duration.as_secs_f64() * 1e6)
}

/// Medians, ranges and the ratio of medians, one line per figure.
fn summarize(options: &CompareOptions, rounds: &[Vec<Round>; 2]) {
    println!();
    println!("ours:      {}", options.ours.display());
    println!("reference: {}", options.reference.display());
    println!(
        "{:<24} {:>28} {:>28} {:>10}",
        "median (min–max)",
        format!("ours ({} rounds)", rounds[0].len()),
        format!("reference ({} rounds)", rounds[1].len()),
        "ours ÷ ref"
    );
    let Some(first) = rounds[0].first() else { return };
    for (index, figure) in first.figures.iter().enumerate() {
        let values =
            |side: &Vec<Round>| side.iter().map(|round| round.figures[index].value).collect::<Vec<_>>();
        let (ours, reference) = (Spread::of(values(&rounds[0])), Spread::of(values(&rounds[1])));
        let better = match figure.better {
            Better::Higher => "higher is better",
            Better::Lower => "lower is better",
        };
        println!(
            "{:<24} {:>28} {:>28} {:>10.2}   ({better})",
            figure.name,
            ours.to_string(),
            reference.to_string(),
            ours.median / reference.median
        );
    }
    let complete = |side: &Vec<Round>| side.iter().filter(|round| round.complete).count();
    let checked = match options.load {
        Load::Echo(_) => None,
        Load::Idle(_) => Some("every connection opened and stayed open"),
        Load::Fanout(_) => Some("every event reached every subscriber"),
    };
    if let Some(what) = checked {
        println!(
            "{what}: ours in {}/{} rounds, reference in {}/{} rounds",
            complete(&rounds[0]),
            rounds[0].len(),
            complete(&rounds[1]),
            rounds[1].len()
        );
    }
}

/// The median and range of one figure over the rounds.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Spread {
            median,
            min: values.first().copied().unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |value: f64| if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.2}") };
        write!(f, "{} ({}–{})", show(self.median), show(self.min), show(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let spread = Spread::of(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!((spread.median, spread.min, spread.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of(vec![5.0, 1.0, 3.0]).median, 3.0);
    }
}
