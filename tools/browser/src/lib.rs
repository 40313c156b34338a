//! Drives a real browser, headless, for tests that must see what a reader sees.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use course_browser::Browser;
//!
//! let browser = Browser::start().await?;
//! browser.open("http://127.0.0.1:4000/ch01-http.html").await?;
//! browser.wait_for("pre.mermaid svg").await?;
//! let errors = browser.errors().await?; // JavaScript errors and failed loads since the last call
//! assert!(errors.is_empty(), "{errors:?}");
//! browser.screenshot("ch01.png".as_ref()).await?;
//! browser.close().await?;
//! # Ok(()) }
//! ```
//!
//! A map of the crate:
//! - [`driver`]: starts Debian's `chromedriver` on a free port and reads the
//!   port it reports.
//! - [`browser`]: a WebDriver session with headless Chromium (through
//!   fantoccini): open a page, wait for a selector or a JavaScript condition,
//!   evaluate JavaScript, type and click, collect errors, take screenshots.
//! - [`log`]: the browser's console log, which is how errors are collected:
//!   an uncaught exception, a rejected promise nobody handled, a
//!   `console.error` or a resource that failed to load all land there, even
//!   when they happen before any script of ours could listen.
//!
//! Waiting is always for a condition, with a deadline: a test that sleeps
//! is slow on a fast machine and flaky on a slow one.
//!
//! The browser and its driver come from Debian's `chromium` and
//! `chromium-driver` packages (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `CHROMIUM` and `CHROMEDRIVER` name others). Chromium runs with
//! `--headless --no-sandbox --disable-gpu --disable-background-networking`
//! and a fresh profile, so nothing a previous run left behind, and no call
//! home, changes what a page does.

pub mod browser;
pub mod driver;
pub mod log;

pub use browser::{Browser, Options};
pub use log::{Level, LogEntry};
