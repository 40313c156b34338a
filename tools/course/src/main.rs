//! `course`: the course runner.
//!
//! ```sh
//! cargo course verify     # the gate: every stub fails each check, every solution passes
//! ```
//!
//! - [`cargo_test`]: runs a chapter's check binary with `cargo test` and
//!   reads the per-check report it writes.
//! - [`verify`]: the gate.

mod cargo_test;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The course runner for "Real-time web in Rust".
#[derive(Debug, Parser)]
#[command(name = "course", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The gate the course keeps: for every chapter, each check fails on the
    /// exercise stub with a message that points at what is missing, passes on
    /// the solution, and both run the same set of checks. Run on an
    /// unmodified clone (your own finished exercises would fail it).
    Verify {
        /// Only these chapters (number or slug, e.g. `1` or `01-http`).
        chapters: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify { chapters } => verify::run(&chapters),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
