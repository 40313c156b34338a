//! The server's settings, read once at start-up from environment variables.
//!
//! A bad value stops the server before it binds, with a message that names
//! the variable: a limit of `0`, or `2MB` that silently fell back to the
//! default, would only show up later as clients mysteriously cut off.

use std::str::FromStr;

/// The server's settings. `Config::default()` holds the production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `MAX_MESSAGE_BYTES`: the largest message accepted, in bytes, all its
    /// fragments together. A bigger one fails the connection with close
    /// code 1009. Without a limit, one client announcing a huge message
    /// could make the server buffer all of it. Default: 2 MiB (this chapter
    /// echoes messages up to 1 MiB).
    pub max_message_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_message_bytes: 2 * 1024 * 1024 }
    }
}

/// A tunable whose value can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a positive whole number ({unit}), got {value:?}", unit = unit_of(name))]
pub struct ConfigError {
    /// The environment variable, e.g. `MAX_MESSAGE_BYTES`.
    pub name: &'static str,
    /// Its value, as it was set.
    pub value: String,
}

impl Config {
    /// Reads the settings from the process's environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var`, which returns a variable's value or
    /// `None` when it is unset. Tests pass a closure instead of touching the
    /// process's environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let default = Config::default();
        Ok(Config { max_message_bytes: tunable(&var, "MAX_MESSAGE_BYTES", default.max_message_bytes)? })
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

/// The unit a tunable is counted in, from its name's suffix.
fn unit_of(name: &str) -> &'static str {
    if name.ends_with("_MS") { "milliseconds" } else { "bytes" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings read from exactly these variables.
    fn read(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        assert_eq!(read(&[]), Ok(Config::default()));
    }

    #[test]
    fn a_set_variable_is_read() {
        assert_eq!(read(&[("MAX_MESSAGE_BYTES", "1000")]), Ok(Config { max_message_bytes: 1000 }));
    }

    #[test]
    fn zero_or_unparsable_values_are_refused_with_the_variables_name() {
        for name in ["MAX_MESSAGE_BYTES"] {
            for value in ["0", "abc", "-1", "2MB", ""] {
                let error = read(&[(name, value)]).expect_err("a bad value is refused");
                assert_eq!(error, ConfigError { name, value: value.to_owned() });
                let message = error.to_string();
                assert!(message.starts_with(name), "the message names {name}: {message}");
                assert!(message.contains(&format!("{value:?}")), "the message quotes {value:?}: {message}");
            }
        }
    }
}
