//! Side by side: two server binaries, the same load, interleaved rounds.
//!
//! On a shared machine one run differs from the next by ±15% or so —
//! frequency scaling, other processes, where the scheduler puts things.
//! Running "ours, then reference, then ours…" spreads that drift evenly
//! over both, and the median of several rounds ignores the odd outlier.
//! Each round starts a fresh server process, so no round inherits another's
//! warm caches or leftover connections.
//!
//! For chapter 8, "ours" can be several processes sharing a Redis
//! (`instances`, `redis_server`): each round then starts a private
//! `redis-server` and that many instances, and the fan-out spreads its
//! subscribers over them; the reference stays one process.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::echo::{self, EchoOptions};
use crate::fanout::{self, FanoutOptions, RedisTarget, Targets};
use crate::idle::{self, IdleOptions};
use crate::process;
use crate::redis::RedisServer;
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
    /// How many processes of ours each round starts (fan-out only).
    pub instances: usize,
    /// A `redis-server` program: each round of ours starts a private one
    /// and passes its URL as `REDIS_URL` (fan-out only).
    pub redis_server: Option<PathBuf>,
    pub load: Load,
    /// Also write the summary as the book's figures file for this
    /// comparison (`book/src/figures/echo-64.md`, …): `section`.
    pub out: Option<PathBuf>,
    /// The command line that ran the comparison, quoted in that file.
    pub command: String,
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
    /// The figure's anchor in the figures file (`p99-delivery`): a page
    /// quotes it as `{{#include figures/fanout.md:ours-p99-delivery}}`.
    slug: &'static str,
    /// The unit the book writes after the figure (`ms`), or "".
    unit: &'static str,
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
    let clustered = options.instances > 1 || options.redis_server.is_some();
    if clustered && !matches!(options.load, Load::Fanout(_)) {
        bail!("--instances and --redis-server go with the fanout load only");
    }
    let load_at_start = process::load_average();
    println!("load average at the start: {load_at_start}");
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=options.rounds {
        for (side, (label, program)) in sides.iter().enumerate() {
            let name = format!("{label}-{round}");
            let deployment = if side == 0 {
                Deployment::start(
                    program,
                    options.instances,
                    options.redis_server.as_deref(),
                    &options.env,
                    &name,
                )
                .await?
            } else {
                Deployment::start(program, 1, None, &options.env, &name).await?
            };
            let outcome = measure(&options.load, &deployment, options.redis_server.is_some()).await;
            let log = deployment.servers[0].log().to_owned();
            drop(deployment);
            let (text, result) = outcome.with_context(|| {
                format!("round {round} against {} (its output: {})", program.display(), log.display())
            })?;
            println!("round {round}/{} {label:<9} [load {}] {text}", options.rounds, process::load_average());
            rounds[side].push(result);
        }
    }
    let load_at_end = process::load_average();
    println!("load average at the end: {load_at_end}");
    summarize(options, &rounds);
    if let Some(out) = &options.out {
        // The machine's load goes with the figures: a busy machine inflates
        // latencies most, and the reader should know.
        let nice = match process::niceness() {
            Some(nice) if nice != 0 => format!(", everything at nice {nice}"),
            _ => String::new(),
        };
        let machine = format!(
            "{}; load average (1, 5, 15 minutes) {load_at_start} at the start, {load_at_end} at the end{nice}",
            crate::wire::machine_and_date()
        );
        let text = section(options, &rounds, &machine);
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// What one side runs for one round: its server processes, and the Redis
/// they share, if any. Dropping it ends them all.
#[derive(Debug)]
struct Deployment {
    servers: Vec<Server>,
    redis: Option<RedisServer>,
}

impl Deployment {
    async fn start(
        program: &std::path::Path,
        instances: usize,
        redis_server: Option<&std::path::Path>,
        env: &[(String, String)],
        name: &str,
    ) -> Result<Deployment> {
        let redis = match redis_server {
            Some(program) => Some(RedisServer::start(program, name).await?),
            None => None,
        };
        let mut servers = Vec::with_capacity(instances);
        for n in 1..=instances.max(1) {
            let mut env = env.to_vec();
            if let Some(redis) = &redis {
                env.push(("REDIS_URL".into(), redis.url()));
                env.push(("INSTANCE_ID".into(), format!("load-{n}")));
            }
            servers.push(Server::start(program, &env, &format!("{name}-{n}")).await?);
        }
        Ok(Deployment { servers, redis })
    }

    fn targets(&self) -> Targets {
        Targets {
            ports: self.servers.iter().map(Server::port).collect(),
            pids: self.servers.iter().map(Server::pid).collect(),
            redis: self
                .redis
                .as_ref()
                .map(|redis| RedisTarget { port: redis.port(), pid: Some(redis.pid()) }),
        }
    }
}

/// Runs the load once against `deployment`: the text to print, and the
/// figures (with `with_redis`, the Redis ones too, "n/a" for a side
/// without Redis, so that both sides have the same rows).
async fn measure(load: &Load, deployment: &Deployment, with_redis: bool) -> Result<(String, Round)> {
    let server = &deployment.servers[0];
    Ok(match load {
        Load::Echo(options) => {
            let report = echo::run(server.port(), Some(server.pid()), options).await?;
            let figures = vec![
                Figure {
                    name: "messages/s",
                    slug: "messages-per-s",
                    unit: "messages/s",
                    better: Better::Higher,
                    value: report.messages_per_second(),
                },
                Figure {
                    name: "server CPU/message (µs)",
                    slug: "cpu-per-message",
                    unit: "µs",
                    better: Better::Lower,
                    value: micros(report.server_cpu_per_message()),
                },
                Figure {
                    name: "p50 round trip (ms)",
                    slug: "p50-round-trip",
                    unit: "ms",
                    better: Better::Lower,
                    value: ms(report.latency.p50),
                },
                Figure {
                    name: "p99 round trip (ms)",
                    slug: "p99-round-trip",
                    unit: "ms",
                    better: Better::Lower,
                    value: ms(report.latency.p99),
                },
            ];
            (report.to_string(), Round { figures, complete: true })
        }
        Load::Idle(options) => {
            let report = idle::run(server.port(), server.pid(), options).await?;
            let per_connection = report.bytes_per_connection() / 1024.0;
            let figures = vec![Figure {
                name: "KiB per idle connection",
                slug: "per-connection",
                unit: "KiB",
                better: Better::Lower,
                value: per_connection,
            }];
            let complete = report.failed == 0 && report.open_at_reading == options.connections;
            (report.to_string(), Round { figures, complete })
        }
        Load::Fanout(options) => {
            let report = fanout::run_on(&deployment.targets(), options).await?;
            let mut figures = vec![
                Figure {
                    name: "server CPU/delivery (µs)",
                    slug: "cpu-per-delivery",
                    unit: "µs",
                    better: Better::Lower,
                    value: micros(report.server_cpu_per_delivery()),
                },
                Figure {
                    name: "server writes/delivery",
                    slug: "writes-per-delivery",
                    unit: "",
                    better: Better::Lower,
                    value: report.server_writes_per_delivery().unwrap_or(f64::NAN),
                },
                Figure {
                    name: "p50 delivery (ms)",
                    slug: "p50-delivery",
                    unit: "ms",
                    better: Better::Lower,
                    value: ms(report.latency.p50),
                },
                Figure {
                    name: "p99 delivery (ms)",
                    slug: "p99-delivery",
                    unit: "ms",
                    better: Better::Lower,
                    value: ms(report.latency.p99),
                },
                Figure {
                    name: "max delivery (ms)",
                    slug: "max-delivery",
                    unit: "ms",
                    better: Better::Lower,
                    value: ms(report.latency.max),
                },
            ];
            if with_redis {
                figures.push(Figure {
                    name: "Redis CPU/delivery (µs)",
                    slug: "redis-cpu-per-delivery",
                    unit: "µs",
                    better: Better::Lower,
                    value: micros(report.redis_cpu_per_delivery()),
                });
                figures.push(Figure {
                    name: "Redis commands/event",
                    slug: "redis-commands-per-event",
                    unit: "",
                    better: Better::Lower,
                    value: report.redis_commands_per_event().unwrap_or(f64::NAN),
                });
            }
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
            "{:<24} {:>28} {:>28} {:>10}   ({better})",
            figure.name,
            ours.to_string(),
            reference.to_string(),
            ratio(ours.median / reference.median)
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

/// The comparison as a figures file for the book (`book/src/figures/`):
/// the table of medians between `ANCHOR: table` markers, then each
/// median alone between its own markers (`ours-p99-delivery`,
/// `reference-p99-delivery`, `ratio-p99-delivery`), so a page can quote
/// one figure inline with mdBook's `{{#include figures/x.md:anchor}}`.
/// The book checker refuses measured figures typed into the text, so
/// re-running the comparison with `--out` updates every page at once.
fn section(options: &CompareOptions, rounds: &[Vec<Round>; 2], machine_and_date: &str) -> String {
    let mut text =
        String::from("<!-- Written by `load compare --out`; run it again rather than editing. -->\n\n");
    text.push_str("<!-- ANCHOR: table -->\n");
    text.push_str(&format!(
        "| Median (min–max) of {} rounds | Ours | Reference | Ours ÷ reference |\n|---|---:|---:|---:|\n",
        rounds[0].len()
    ));
    let mut singles = String::new();
    if let Some(first) = rounds[0].first() {
        for (index, figure) in first.figures.iter().enumerate() {
            let values =
                |side: &Vec<Round>| side.iter().map(|round| round.figures[index].value).collect::<Vec<_>>();
            let (ours, reference) = (Spread::of(values(&rounds[0])), Spread::of(values(&rounds[1])));
            let ratio = ratio(ours.median / reference.median);
            let better = match figure.better {
                Better::Higher => "higher is better",
                Better::Lower => "lower is better",
            };
            let unit = if figure.unit.is_empty() { String::new() } else { format!(" {}", figure.unit) };
            // A side that has no such figure (the reference has no Redis): "n/a".
            let cell = |spread: Spread| match spread.median.is_finite() {
                true => {
                    format!("{}{unit} ({}–{})", quoted(spread.median), quoted(spread.min), quoted(spread.max))
                }
                false => "n/a".to_owned(),
            };
            text.push_str(&format!(
                "| {} ({better}) | {} | {} | {ratio} |\n",
                figure.name.split(" (").next().unwrap_or(figure.name),
                cell(ours),
                cell(reference),
            ));
            for (side, spread) in [("ours", ours), ("reference", reference)] {
                let value = if spread.median.is_finite() {
                    format!("{}{unit}", quoted(spread.median))
                } else {
                    "n/a".to_owned()
                };
                singles.push_str(&format!(
                    "<!-- ANCHOR: {side}-{slug} -->\n{value}\n<!-- ANCHOR_END: {side}-{slug} -->\n",
                    slug = figure.slug
                ));
            }
            singles.push_str(&format!(
                "<!-- ANCHOR: ratio-{slug} -->\n{ratio}\n<!-- ANCHOR_END: ratio-{slug} -->\n",
                slug = figure.slug
            ));
        }
    }
    let env: Vec<String> = options.env.iter().map(|(key, value)| format!("{key}={value}")).collect();
    let cluster = match (&options.redis_server, options.instances) {
        (Some(redis), instances) => format!(
            " ({instances} processes sharing a private `{}`, append-only file synced every second; \
             subscribers spread over them in turn, tasks created through the first; \
             server CPU is theirs added up)",
            redis.display()
        ),
        (None, 1) => String::new(),
        (None, instances) => format!(" ({instances} processes)"),
    };
    text.push_str(&format!(
        "\nMeasured by `{}`: ours `{}`{cluster}, reference `{}`{}, each a fresh process per round, interleaved, \
         on loopback with the load tool: {machine_and_date}.\n",
        options.command,
        options.ours.display(),
        options.reference.display(),
        if env.is_empty() { String::new() } else { format!(" (both with `{}`)", env.join(" ")) },
    ));
    text.push_str("<!-- ANCHOR_END: table -->\n\nSingle figures (the medians), for the pages to quote:\n\n");
    text.push_str(&singles);
    text
}

/// A ratio with two decimals, or "n/a" where one side has no figure.
fn ratio(value: f64) -> String {
    if value.is_finite() { format!("{value:.2}") } else { "n/a".to_owned() }
}

/// A figure as the book prints it: three significant digits, thousands
/// separated (`122,701`, `94.8`, `8.07`).
fn quoted(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    if value >= 100.0 {
        let digits = format!("{value:.0}");
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        grouped
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
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
        if !self.median.is_finite() {
            return write!(f, "n/a");
        }
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

    #[test]
    fn figures_are_quoted_with_three_significant_digits_and_grouped_thousands() {
        assert_eq!(quoted(122_701.4), "122,701");
        assert_eq!(quoted(94.83), "94.8");
        assert_eq!(quoted(8.071), "8.07");
        assert_eq!(quoted(f64::NAN), "n/a");
    }

    #[test]
    fn the_figures_file_has_the_table_and_one_anchor_per_median() {
        let options = CompareOptions {
            ours: "target/release/sol02-sse".into(),
            reference: "target/release/ref-naive-sse".into(),
            rounds: 2,
            env: Vec::new(),
            instances: 1,
            redis_server: None,
            load: Load::Echo(EchoOptions {
                path: "/ws".into(),
                connections: 1,
                size: 16,
                duration: Duration::from_secs(1),
                warmup: Duration::from_secs(1),
                text: false,
                rate: None,
            }),
            out: None,
            command: "load compare … fanout".into(),
        };
        let round = |value| Round {
            figures: vec![Figure {
                name: "p99 delivery (ms)",
                slug: "p99-delivery",
                unit: "ms",
                better: Better::Lower,
                value,
            }],
            complete: true,
        };
        let text =
            section(&options, &[vec![round(90.0), round(100.0)], vec![round(95.0), round(95.0)]], "2 cores");
        assert!(
            text.contains(
                "| p99 delivery (lower is better) | 95.0 ms (90.0–100) | 95.0 ms (95.0–95.0) | 1.00 |"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "<!-- ANCHOR: ours-p99-delivery -->\n95.0 ms\n<!-- ANCHOR_END: ours-p99-delivery -->"
            ),
            "{text}"
        );
        assert!(text.contains("<!-- ANCHOR: ratio-p99-delivery -->\n1.00\n"), "{text}");
        assert!(text.contains("Measured by `load compare … fanout`") && text.contains("2 cores"), "{text}");
    }
}
