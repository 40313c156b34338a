//! The server's settings, read once from the environment at start-up.
//!
//! An unset variable keeps its production default. A value the server
//! could not use — zero, negative, not a number — stops start-up with a
//! message naming the variable: `HEARTBEAT_MS=0` would otherwise make every
//! connection ping in a busy loop, and a typo would silently run the
//! defaults nobody asked for.

use std::str::FromStr;
use std::time::Duration;

/// The server's settings; `Config::default()` holds the production values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How often the server pings each client (`HEARTBEAT_MS`, 10 s).
    pub heartbeat: Duration,
    /// A client the server has heard nothing from — not even a pong — for
    /// this long is gone (`IDLE_TIMEOUT_MS`, 30 s). Three missed heartbeats.
    pub idle_timeout: Duration,
    /// A typing indicator nobody refreshed for this long expires
    /// (`TYPING_TTL_MS`, 5 s).
    pub typing_ttl: Duration,
    /// The largest message a client may send, in bytes (`MAX_MESSAGE_BYTES`,
    /// 64 KiB); a bigger one ends its connection.
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            typing_ttl: Duration::from_secs(5),
            max_message_bytes: 64 * 1024,
        }
    }
}

/// A setting the server refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a positive whole number ({}), got {value:?}", unit_of(.name))]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// Its value, as it was set.
    pub value: String,
}

impl Config {
    /// The defaults, overridden by `HEARTBEAT_MS`, `IDLE_TIMEOUT_MS`,
    /// `TYPING_TTL_MS` and `MAX_MESSAGE_BYTES` where they are set.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the variables `var` finds: the
    /// environment, or a closure in a test.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let millis = |name, default: Duration| {
            let default = u64::try_from(default.as_millis()).expect("the defaults are a few seconds");
            tunable(&var, name, default).map(Duration::from_millis)
        };
        Ok(Config {
            heartbeat: millis("HEARTBEAT_MS", defaults.heartbeat)?,
            idle_timeout: millis("IDLE_TIMEOUT_MS", defaults.idle_timeout)?,
            typing_ttl: millis("TYPING_TTL_MS", defaults.typing_ttl)?,
            max_message_bytes: tunable(&var, "MAX_MESSAGE_BYTES", defaults.max_message_bytes)?,
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

/// What a variable counts, from its name.
fn unit_of(name: &str) -> &'static str {
    match name.rsplit('_').next() {
        Some("MS") => "milliseconds",
        Some("BYTES") => "bytes",
        _ => "a count",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUNABLES: [&str; 4] = ["HEARTBEAT_MS", "IDLE_TIMEOUT_MS", "TYPING_TTL_MS", "MAX_MESSAGE_BYTES"];

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        assert_eq!(from(&[]), Ok(Config::default()));
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        let config = from(&[
            ("HEARTBEAT_MS", "100"),
            ("IDLE_TIMEOUT_MS", "300"),
            ("TYPING_TTL_MS", " 250 "),
            ("MAX_MESSAGE_BYTES", "2048"),
        ]);
        let expected = Config {
            heartbeat: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(300),
            typing_ttl: Duration::from_millis(250),
            max_message_bytes: 2048,
        };
        assert_eq!(config, Ok(expected));
    }

    #[test]
    fn zero_or_unreadable_values_are_refused_naming_the_variable() {
        for name in TUNABLES {
            for value in ["0", "abc", "-5", ""] {
                let error = from(&[(name, value)]).expect_err("a bad value must stop start-up");
                assert_eq!(error, ConfigError { name, value: value.to_owned() });
                let message = error.to_string();
                assert!(message.starts_with(name), "{message}");
                assert!(message.contains(&format!("{value:?}")), "{message}");
            }
        }
        assert_eq!(
            from(&[("HEARTBEAT_MS", "0")]).unwrap_err().to_string(),
            r#"HEARTBEAT_MS must be a positive whole number (milliseconds), got "0""#
        );
    }
}
