//! The terminal: colour only where it helps, a spinner while checks run.
//!
//! `anstream` strips colour when the output is not a terminal or `NO_COLOR`
//! is set; indicatif hides the spinner when stderr is not a terminal. So a
//! script or CI log gets plain text.

use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};

pub const GOOD: Style = AnsiColor::Green.on_default();
pub const BAD: Style = AnsiColor::Red.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();
pub const NOTE: Style = AnsiColor::Yellow.on_default();

/// `text` in `style` (the ANSI codes are stripped later where unwanted).
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// A spinner with a message on stderr; call `finish_and_clear` when done.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message.into());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        spinner.set_style(style);
    }
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// A text progress bar: `[██████░░░░] 12/18`.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(width);
    let style = if done == total { GOOD } else { NOTE };
    format!("[{}{}] {done}/{total}", paint(style, "█".repeat(filled)), paint(DIM, "░".repeat(width - filled)))
}
