//! The browser's console log, read through chromedriver.
//!
//! The session asks for it with the capability
//! `"goog:loggingPrefs": {"browser": "ALL"}`; chromedriver then records what
//! the page's console shows, and hands it over (and forgets it) on
//! `POST /session/{id}/se/log {"type": "browser"}`. Chromium logs at level
//! `SEVERE` an uncaught exception (source `javascript`), a `console.error`
//! (source `console-api`) and a resource that failed to load (source
//! `network`). Reading the log catches errors thrown while the page loads,
//! before any script a test injects could listen for them.

use fantoccini::wd::WebDriverCompatibleCommand;
use http::Method;
use serde::Deserialize;
use url::{ParseError, Url};

/// One line of the browser's console.
#[derive(Debug, Clone, Deserialize)]
pub struct LogEntry {
    pub level: Level,
    /// Chromium's source of the entry: `javascript`, `console-api`, `network`, …
    #[serde(default)]
    pub source: String,
    /// The message as the console shows it, prefixed with the script's URL and line.
    pub message: String,
}

impl LogEntry {
    /// An error: an exception, a `console.error`, or a resource that failed to load.
    pub fn is_error(&self) -> bool {
        self.level == Level::Severe
    }

    /// The browser's own request for `/favicon.ico` at the server's root failed.
    pub fn is_default_favicon(&self) -> bool {
        self.source == "network"
            && self.message.split_whitespace().next().is_some_and(|url| {
                url.strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"))
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(_host, path)| path == "favicon.ico")
            })
    }
}

impl std::fmt::Display for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = if self.source.is_empty() { "console" } else { &self.source };
        write!(f, "[{source}] {}", self.message)
    }
}

/// The level of a log entry, as chromedriver names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    All,
    Debug,
    Info,
    Warning,
    Severe,
    #[serde(other)]
    Other,
}

/// chromedriver's command that hands over (and clears) a log.
#[derive(Debug)]
pub(crate) struct GetLog;

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
