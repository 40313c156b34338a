//! The server's settings, read from environment variables.
//!
//! An unset variable keeps its default. A value that is zero, negative or
//! not a number is refused at start-up, naming the variable: a typo in
//! `KEEPALIVE_MS` should stop the server, not quietly run it with settings
//! nobody chose.

use std::str::FromStr;
use std::time::Duration;

/// The server's settings: `Config::default()` for production, short ones
/// for the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long an event stream may stay silent before the server sends a
    /// comment to show it is alive (`KEEPALIVE_MS`, default 15 s).
    pub keepalive: Duration,
    /// How many events each board keeps for `Last-Event-ID` replay, and how
    /// far a subscriber may fall behind before it is reset
    /// (`REPLAY_CAPACITY`, default 1000).
    pub replay_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { keepalive: Duration::from_secs(15), replay_capacity: 1000 }
    }
}

/// A variable whose value the server refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a positive whole number{}, got {value:?}", unit(name))]
pub struct ConfigError {
    /// The variable, e.g. `KEEPALIVE_MS`.
    pub name: &'static str,
    /// What it held.
    pub value: String,
}

impl Config {
    /// Reads `KEEPALIVE_MS` and `REPLAY_CAPACITY` from the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var`, so tests can hand in variables
    /// without touching the process's environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let keepalive_ms = u64::try_from(defaults.keepalive.as_millis()).expect("15 s fits in a u64");
        Ok(Config {
            keepalive: Duration::from_millis(tunable(&var, "KEEPALIVE_MS", keepalive_ms)?),
            replay_capacity: tunable(&var, "REPLAY_CAPACITY", defaults.replay_capacity)?,
        })
    }
}

/// Reads one tunable: unset keeps `default`; zero or unparsable is refused.
fn tunable<T: FromStr + PartialOrd + Default>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    let Some(value) = var(name) else { return Ok(default) };
    match value.trim().parse::<T>() {
        Ok(number) if number > T::default() => Ok(number),
        _ => Err(ConfigError { name, value }),
    }
}

/// What a variable counts, by the suffix of its name.
fn unit(name: &str) -> &'static str {
    if name.ends_with("_MS") { " (milliseconds)" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUNABLES: [&str; 2] = ["KEEPALIVE_MS", "REPLAY_CAPACITY"];

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        assert_eq!(from(&[]), Ok(Config::default()));
    }

    #[test]
    fn settings_come_from_the_environment() {
        let config = from(&[("KEEPALIVE_MS", "200"), ("REPLAY_CAPACITY", "16")]);
        assert_eq!(config, Ok(Config { keepalive: Duration::from_millis(200), replay_capacity: 16 }));
    }

    #[test]
    fn a_zero_setting_is_refused_naming_the_variable() {
        for name in TUNABLES {
            let error = from(&[(name, "0")]).expect_err(name);
            assert_eq!(error, ConfigError { name, value: "0".into() });
            assert!(error.to_string().starts_with(&format!("{name} must be a positive whole number")));
        }
        let message = from(&[("KEEPALIVE_MS", "0")]).expect_err("zero").to_string();
        assert_eq!(message, r#"KEEPALIVE_MS must be a positive whole number (milliseconds), got "0""#);
    }

    #[test]
    fn an_unparsable_or_negative_setting_is_refused_naming_the_variable() {
        for name in TUNABLES {
            for value in ["abc", "-3", "2.5", ""] {
                let error = from(&[(name, value)]).expect_err(value);
                assert_eq!(error, ConfigError { name, value: value.into() }, "{name}={value:?}");
                assert!(error.to_string().contains(name));
            }
        }
    }
}
