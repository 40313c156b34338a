//! The server's settings, read from environment variables.
//!
//! Chapter 1 has none yet. Later chapters add their tunables here
//! (keep-alives, heartbeats, …) and read them the same way: an unset
//! variable keeps its default, and a bad value stops the server at
//! start-up with a [`ConfigError`] naming the variable. So every chapter's
//! server starts alike: `serve(listener, Config::from_env()?)`.

/// The server's settings: nothing to set in chapter 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {}

/// A variable whose value the server refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a positive whole number, got {value:?}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What it held.
    pub value: String,
}

impl Config {
    /// Reads the settings from the environment: nothing to read yet.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var`, so tests can hand in variables.
    pub fn from_vars(_var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Ok(Config {})
    }
}
