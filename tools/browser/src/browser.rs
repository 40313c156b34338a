//! A WebDriver session with headless Chromium.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::driver::Driver;
use crate::log::{GetLog, LogEntry};

/// How often a condition is looked at again while waiting for it.
const POLL: Duration = Duration::from_millis(50);

/// Where the browser comes from and how it is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Chromium's executable: `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
    pub chromium: PathBuf,
    /// chromedriver's executable: `$CHROMEDRIVER`, else Debian's `/usr/bin/chromedriver`.
    pub chromedriver: PathBuf,
    /// The window's size in CSS pixels: what a screenshot shows.
    pub window: (u32, u32),
    /// How long any one step may take: loading a page, a condition to come
    /// true, a command to the browser.
    pub timeout: Duration,
    /// More command-line flags for Chromium, e.g. the
    /// `--ignore-certificate-errors-spki-list=…` that makes it trust one
    /// test certificate.
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        let from_env =
            |name: &str, default: &str| std::env::var_os(name).unwrap_or_else(|| default.into()).into();
        Options {
            chromium: from_env("CHROMIUM", "/usr/bin/chromium"),
            chromedriver: from_env("CHROMEDRIVER", "/usr/bin/chromedriver"),
            window: (1280, 900),
            timeout: Duration::from_secs(15),
            args: Vec::new(),
        }
    }
}

/// Headless Chromium, driven through chromedriver.
///
/// Call [`Browser::close`] when done: it ends the browser and removes its
/// profile. (Dropping a `Browser` kills chromedriver, which takes Chromium
/// with it, but cannot wait for that.)
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: Option<Driver>,
    profile: PathBuf,
    /// Chromium's main process, to make sure it is gone once we are done.
    chromium: Option<u32>,
    timeout: Duration,
}

impl Browser {
    /// Starts Debian's Chromium with the default [`Options`].
    pub async fn start() -> Result<Browser> {
        Browser::start_with(Options::default()).await
    }

    /// Starts chromedriver, and through it a headless Chromium with a fresh profile.
    pub async fn start_with(options: Options) -> Result<Browser> {
        for (what, path, package) in [
            ("Chromium", &options.chromium, "chromium"),
            ("chromedriver", &options.chromedriver, "chromium-driver"),
        ] {
            if !path.exists() {
                return Err(anyhow!(
                    "{what} is not at {}: install Debian's {package} package (apt-get install -y {package})",
                    path.display()
                ));
            }
        }
        let profile = fresh_profile_dir()?;
        let driver = Driver::start(&options.chromedriver).await?;
        let (width, height) = options.window;
        let timeout_ms = u64::try_from(options.timeout.as_millis()).unwrap_or(u64::MAX);
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": timeout_ms, "script": timeout_ms, "implicit": 0 },
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": options.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    // Without these, Chromium calls home at start and this
                    // machine's closed network refuses it, many times over.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let mut capabilities = capabilities;
        if let Some(Value::Array(args)) = capabilities.pointer_mut("/goog:chromeOptions/args") {
            args.extend(options.args.iter().map(|arg| json!(arg)));
        }
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object literal") };
        let client = within(options.timeout, "starting Chromium", async {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&driver.url())
                .await
                .context("starting a WebDriver session with Chromium")
        })
        .await?;
        let chromium = chromium_pid(&profile);
        Ok(Browser { client, driver: Some(driver), profile, chromium, timeout: options.timeout })
    }

    /// The fantoccini client, for anything this wrapper does not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How long each step may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Opens `url` and waits until the page has loaded (its `load` event).
    pub async fn open(&self, url: &str) -> Result<()> {
        within(self.timeout, &format!("opening {url}"), async {
            self.client.goto(url).await.with_context(|| format!("opening {url}"))
        })
        .await
    }

    /// The page's current URL.
    pub async fn url(&self) -> Result<String> {
        let url = within(self.timeout, "reading the URL", async {
            self.client.current_url().await.context("reading the URL")
        })
        .await?;
        Ok(url.to_string())
    }

    /// Runs `script` (a function body: use `return`, and `arguments[i]`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        within(self.timeout, "running a script", async {
            self.client.execute(script, args).await.with_context(|| format!("running script: {script}"))
        })
        .await
    }

    /// Waits until an element matches the CSS `selector`, and returns it.
    pub async fn wait_for(&self, selector: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(self.timeout)
            .every(POLL)
            .for_element(Locator::Css(selector))
            .await
            .with_context(|| format!("waited {:?} for an element matching `{selector}`", self.timeout))
    }

    /// Waits until `script` (a function body, as in [`Browser::eval`])
    /// returns a truthy value, and returns that value. `what` says what is
    /// awaited, for the error message.
    ///
    /// A script that throws counts as "not yet" (the element it reads may not
    /// exist yet); the last exception is in the error if time runs out.
    pub async fn wait_until(&self, what: &str, script: &str) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut poll = tokio::time::interval(POLL);
        loop {
            poll.tick().await;
            let last = match self.eval(script, vec![]).await {
                Ok(value) if truthy(&value) => return Ok(value),
                Ok(value) => format!("the last answer was {value}"),
                Err(error) => format!("the last attempt failed: {error:#}"),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(anyhow!("waited {:?} for {what}; {last}", self.timeout));
            }
        }
    }

    /// Clicks the element matching `selector` (waiting for it to exist).
    pub async fn click(&self, selector: &str) -> Result<()> {
        let element = self.wait_for(selector).await?;
        within(self.timeout, &format!("clicking `{selector}`"), async {
            element.click().await.with_context(|| format!("clicking `{selector}`"))
        })
        .await
    }

    /// Types `text` into the element matching `selector`, as keystrokes.
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        let element = self.wait_for(selector).await?;
        within(self.timeout, &format!("typing into `{selector}`"), async {
            element.send_keys(text).await.with_context(|| format!("typing into `{selector}`"))
        })
        .await
    }

    /// Everything the console logged since the last call to [`Browser::log`]
    /// or [`Browser::errors`] (the log is handed over once).
    pub async fn log(&self) -> Result<Vec<LogEntry>> {
        let value = within(self.timeout, "reading the browser's log", async {
            self.client.issue_cmd(GetLog).await.context("reading the browser's log")
        })
        .await?;
        serde_json::from_value(value).context("reading the browser's log entries")
    }

    /// The errors since the last call: uncaught exceptions, unhandled promise
    /// rejections, `console.error`s, and resources that failed to load.
    ///
    /// Left out: a missing `/favicon.ico` at the server's root. The browser
    /// asks for it by itself for any page that names no icon; the page did
    /// not.
    pub async fn errors(&self) -> Result<Vec<LogEntry>> {
        Ok(self
            .log()
            .await?
            .into_iter()
            .filter(|entry| entry.is_error() && !entry.is_default_favicon())
            .collect())
    }

    /// Saves a PNG of what the window shows to `path`, creating its folder.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = within(self.timeout, "taking a screenshot", async {
            self.client.screenshot().await.context("taking a screenshot")
        })
        .await?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (and so Chromium), stops chromedriver and removes the profile.
    pub async fn close(mut self) -> Result<()> {
        let ended = within(self.timeout, "closing Chromium", async {
            self.client.clone().close().await.context("ending the WebDriver session")
        })
        .await;
        if let Some(driver) = self.driver.take() {
            driver.stop().await?;
        }
        // chromedriver normally takes Chromium with it; on a busy machine
        // Chromium can outlive it. Give it a moment: if it is still there,
        // `drop` (right after this) ends it.
        if let Some(pid) = self.chromium {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let mut poll = tokio::time::interval(POLL);
            while is_running(pid) && tokio::time::Instant::now() < deadline {
                poll.tick().await;
            }
        }
        ended
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.chromium.filter(|&pid| is_running(pid)) {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The PID of the Chromium that uses `profile`: it holds the profile with a
/// symbolic link `SingletonLock` → `<hostname>-<pid>`.
fn chromium_pid(profile: &Path) -> Option<u32> {
    let target = std::fs::read_link(profile.join("SingletonLock")).ok()?;
    target.to_str()?.rsplit('-').next()?.parse().ok()
}

/// Whether a process `pid` runs (a zombie, which has no command line, doesn't).
fn is_running(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| !cmdline.is_empty())
}

/// A new empty folder for Chromium's profile.
fn fresh_profile_dir() -> Result<PathBuf> {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let name = format!("course-browser-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// JavaScript's idea of true: anything but `false`, `null`, `0`, `""`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Runs `step`, failing if it takes longer than `limit`.
async fn within<T>(limit: Duration, what: &str, step: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(limit, step).await {
        Ok(result) => result,
        Err(_) => Err(anyhow!("{what} took longer than {limit:?}")),
    }
}
