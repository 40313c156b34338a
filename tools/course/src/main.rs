//! `course`: the course runner — where you are, what to do next, and your
//! server's checks, without remembering a package name.
//!
//! ```sh
//! cargo course list            # every chapter's status and the next step
//! cargo course check           # the current chapter's checks, stage by stage
//! cargo course watch           # …re-run on every save, and move on when green
//! cargo course hint            # one more hint for the first failing check
//! cargo course check 1 --url http://localhost:8080   # any server, any language
//! cargo course sse http://localhost:3000/boards/board-1/events   # watch an event stream
//! cargo course ws ws://localhost:3000/ws             # talk to a WebSocket server
//! cargo course inspect --to localhost:3000           # see the wire, on port 3001
//! cargo course book            # serve the book on http://localhost:4000
//! ```
//!
//! Maintainers' gates live under `cargo course dev …` (`verify`, `catalogue`).
//!
//! One module per command; [`workspace`] knows where things are,
//! [`cargo_test`] runs a chapter's checks through `cargo test`, [`progress`]
//! turns the results into a status, [`term`] handles colour and spinners.

mod book;
mod cargo_test;
mod catalogue;
mod check;
mod copies;
mod hint;
mod inspect;
mod progress;
mod reset;
mod solution;
mod sse_client;
mod strip;
mod term;
mod verify;
mod watch;
mod workspace;
mod ws_client;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::workspace::Workspace;

/// The course runner for "Real-time web in Rust".
///
/// Exit codes: 0 when everything asked for passes, 1 when checks fail (or
/// you answered no), 2 when the runner itself could not do its job.
#[derive(Debug, Parser)]
#[command(name = "course", version, about, long_about)]
struct Cli {
    /// Work on the solutions instead of your exercises (to see what "done"
    /// looks like, or for instructors).
    #[arg(long, global = true)]
    solutions: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every chapter with its status — not started, N of M checks passing,
    /// done — and the next thing to do. Runs every chapter's checks, so it
    /// is never out of date.
    #[command(alias = "progress")]
    List,
    /// Runs a chapter's checks, stage by stage, and shows the first failure's
    /// transcript. Without a chapter: the first chapter that isn't done.
    Check {
        /// Chapter number (`1`) or folder slug (`01-http`).
        chapter: Option<String>,
        /// Check a server that is already running at this URL (any language):
        /// e.g. `--url http://localhost:8080`. Checks that need the course's
        /// short timings, or call your Rust code, are skipped with the reason.
        #[arg(long, requires = "chapter")]
        url: Option<String>,
        /// Show every failure's transcript, not just the first.
        #[arg(long)]
        all: bool,
        /// Also write the failure as a web page (its path is printed): the
        /// transcript drawn as a sequence diagram, next to its text.
        #[arg(long)]
        html: bool,
    },
    /// Re-runs the current chapter's checks each time you save a file of its
    /// exercise, and moves on to the next chapter when it goes green.
    Watch,
    /// Shows the hints of the first failing check: one more each time you ask.
    Hint {
        /// Chapter number or slug (default: the current chapter).
        chapter: Option<String>,
    },
    /// Says where a chapter's solution and its walkthrough are.
    Solution {
        /// Chapter number or slug.
        chapter: String,
    },
    /// Shows your exercise against the solution, as a diff of the code
    /// (comments and the book's ANCHOR markers left out).
    Diff {
        /// Chapter number or slug.
        chapter: String,
        /// Show every line, comments too.
        #[arg(long)]
        all: bool,
    },
    /// Puts an exercise back as the course shipped it (asks first). Only that
    /// exercise's folder changes.
    Reset {
        /// Chapter number or slug.
        chapter: String,
        /// The git revision to restore from.
        #[arg(long, default_value = "HEAD")]
        from: String,
        /// Don't ask.
        #[arg(long)]
        yes: bool,
    },
    /// An EventSource for the terminal: prints each event (and the comments
    /// a browser hides) as it arrives.
    Sse {
        /// e.g. `http://localhost:3000/boards/board-1/events`
        url: String,
        /// Resume after this event id, as a reconnecting browser does.
        #[arg(long)]
        last_event_id: Option<String>,
    },
    /// A WebSocket client: prints messages and control frames as they arrive,
    /// sends each line you type (`/ping`, `/close [code]` for control frames).
    Ws {
        /// e.g. `ws://localhost:3000/ws`
        url: String,
    },
    /// See the wire: a proxy that forwards every connection to your server
    /// unchanged and prints each HTTP head, SSE event and WebSocket frame,
    /// bit by bit, with the RFC rule a frame breaks.
    Inspect {
        /// Your server: `localhost:3000` (or just `3000`, or its URL).
        #[arg(long)]
        to: String,
        /// The port to listen on (connect your client here).
        #[arg(long, default_value_t = 3001)]
        listen: u16,
        /// The port of the live view: a page fed by Server-Sent Events, and
        /// the stream the book's "Wire" panels read.
        #[arg(long, value_name = "PORT", default_value_t = 3002)]
        view: u16,
        /// No live view.
        #[arg(long, conflicts_with = "view")]
        no_view: bool,
        /// Let pages from this origin read the live view too (loopback
        /// pages such as `http://localhost:4000` always may), e.g. the
        /// published book's `https://<owner>.github.io`.
        #[arg(long, value_name = "ORIGIN")]
        allow_origin: Vec<String>,
        /// Add hex dumps, with each frame header's bits named.
        #[arg(long)]
        bytes: bool,
        /// One JSON record per line, for tools and tests.
        #[arg(long)]
        json: bool,
    },
    /// For the course's maintainers: the gates that keep the course honest
    /// (`cargo course dev verify`, `dev catalogue`, `dev copies`).
    Dev {
        #[command(subcommand)]
        command: Dev,
    },
    /// Moved: `cargo course dev verify`.
    #[command(hide = true)]
    Verify { chapters: Vec<String> },
    /// Serves the book on http://localhost:4000 and rebuilds it as its files
    /// change. The first run installs mdBook and its two preprocessors at the
    /// versions the book is built with (about two minutes of compiling, once).
    Book {
        /// Only install (or update) the mdBook tools; don't serve.
        #[arg(long)]
        install_only: bool,
        /// Open the book in your web browser once it is served.
        #[arg(long)]
        open: bool,
    },
}

/// Maintainers' commands: they prove the course itself, and fail on a
/// learner's finished exercises.
#[derive(Debug, Subcommand)]
enum Dev {
    /// The gate the course keeps: for every chapter, each check fails on the
    /// exercise stub with a message that points at what is missing, passes on
    /// the solution, and both run the same set of checks. Run on an
    /// unmodified clone (your own finished exercises would fail it).
    Verify {
        /// Only these chapters (number or slug, e.g. `1` or `01-http`).
        chapters: Vec<String>,
    },
    /// The wrong-answer catalogue: applies each `tools/catalogue/NN-slug/*.patch`
    /// to a scratch copy of the workspace (with its own target folder), runs
    /// that solution's checks, and proves the check the patch names under
    /// `# caught-by:` fails first, its first line containing `# says:`.
    Catalogue {
        /// Only these chapters (number or slug).
        chapters: Vec<String>,
        /// Read the variants from this folder instead of tools/catalogue.
        #[arg(long, value_name = "DIR")]
        catalogue: Option<PathBuf>,
    },
    /// Proves the copies listed in tools/copies.toml are identical, that no
    /// other copy between crates goes unlisted, and that .cargo/mutants.toml
    /// excludes what the list implies.
    Copies {
        /// Rewrite .cargo/mutants.toml's generated exclusions from the list.
        #[arg(long)]
        write: bool,
        /// Print the unlisted shared items as TOML to start an entry from.
        #[arg(long)]
        suggest: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let solutions = cli.solutions;
    let workspace = || Workspace::find(solutions);
    let result = match cli.command {
        Command::List => workspace().and_then(|w| progress::list(&w)),
        Command::Check { chapter, url: Some(url), all, html } => {
            check::run_url(&url, chapter.as_deref().unwrap_or("1"), all, html)
        }
        Command::Check { chapter, url: None, all, html } => {
            workspace().and_then(|w| check::run(&w, chapter.as_deref(), all, html))
        }
        Command::Watch => workspace().and_then(|w| watch::run(&w)),
        Command::Hint { chapter } => workspace().and_then(|w| hint::run(&w, chapter.as_deref())),
        Command::Solution { chapter } => workspace().and_then(|w| solution::where_is(&w, &chapter)),
        Command::Diff { chapter, all } => workspace().and_then(|w| solution::diff(&w, &chapter, all)),
        Command::Reset { chapter, from, yes } => {
            workspace().and_then(|w| reset::run(&w, &chapter, &from, yes))
        }
        Command::Sse { url, last_event_id } => sse_client::run(&url, last_event_id.as_deref()),
        Command::Ws { url } => ws_client::run(&url),
        Command::Inspect { to, listen, view, no_view, allow_origin, bytes, json } => {
            let view = (!no_view).then_some(view);
            inspect::run(&to, listen, view, allow_origin, bytes, json)
        }
        Command::Dev { command: Dev::Verify { chapters } } => verify::run(&chapters),
        Command::Dev { command: Dev::Catalogue { chapters, catalogue } } => {
            catalogue::run(&chapters, catalogue.as_deref())
        }
        Command::Verify { chapters } => {
            anstream::eprintln!("note: `cargo course verify` is now `cargo course dev verify`");
            verify::run(&chapters)
        }
        Command::Book { install_only, open } => book::run(install_only, open),
        Command::Dev { command: Dev::Copies { write, suggest: false } } => {
            Workspace::find(false).and_then(|w| copies::run(&w.root, write))
        }
        Command::Dev { command: Dev::Copies { suggest: true, .. } } => {
            Workspace::find(false).and_then(|w| copies::suggest(&w.root))
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            anstream::eprintln!("{} {error:#}", term::paint(term::BAD, "error:"));
            ExitCode::from(2)
        }
    }
}
