//! The server's settings: `Config::default()` holds the production
//! defaults, the binary reads each one from an environment variable, and the
//! checks pass short ones.
//!
//! A setting that is set but wrong stops the server before it binds, with a
//! message naming the variable: a typo in `SESSION_TTL_MS` must not quietly
//! become a default nobody asked for.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The origin of the book when it is served locally (`mdbook serve -p 4000`):
/// its "try it" panels talk to this server from there.
pub const BOOK_ORIGIN: &str = "http://localhost:4000";

/// The server's settings. Each field names its environment variable and
/// its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long an event stream may stay silent before the server sends a
    /// comment to show it is alive (`KEEPALIVE_MS`, 15 s).
    pub keepalive: Duration,
    /// How many events each board keeps for `Last-Event-ID` replay, and how
    /// far a subscriber may fall behind before it is reset
    /// (`REPLAY_CAPACITY`, 1000).
    pub replay_capacity: usize,
    /// How often the server pings each WebSocket client (`HEARTBEAT_MS`, 10 s).
    pub heartbeat: Duration,
    /// A WebSocket client the server has heard nothing from — not even a
    /// pong — for this long is gone (`IDLE_TIMEOUT_MS`, 30 s).
    pub idle_timeout: Duration,
    /// A typing indicator nobody refreshed for this long expires
    /// (`TYPING_TTL_MS`, 5 s).
    pub typing_ttl: Duration,
    /// The largest WebSocket message a client may send, in bytes
    /// (`MAX_MESSAGE_BYTES`, 64 KiB); a bigger one ends its connection.
    pub max_message_bytes: usize,
    /// The certificate chain and private key to serve TLS with (`TLS_CERT`
    /// and `TLS_KEY`, PEM files; both or neither). Unset: plain HTTP, for
    /// localhost or behind a proxy that terminates TLS.
    pub tls: Option<TlsFiles>,
    /// Pages from these origins may open a WebSocket or an event stream and
    /// call the API (`ALLOWED_ORIGINS`, comma-separated; by default the
    /// locally served book, [`BOOK_ORIGIN`]). The server's own origin is
    /// always allowed.
    pub allowed_origins: Vec<String>,
    /// How long a ticket from `POST /tickets` stays valid (`TICKET_TTL_MS`,
    /// 30 s). It is used within a second by a page that works; a stolen one
    /// is worth little after that.
    pub ticket_ttl: Duration,
    /// How long a session lasts after `POST /session` (`SESSION_TTL_MS`, 24 h).
    pub session_ttl: Duration,
    /// At most this many WebSockets and event streams at once, together
    /// (`MAX_CONNECTIONS`, 10000); the next one gets `503`.
    pub max_connections: usize,
    /// Messages a WebSocket client may send per second (`RATE_LIMIT_PER_S`,
    /// 20); a client sending more is closed with `1008`.
    pub rate_limit_per_s: u32,
    /// How long a WebSocket client may take to read one message
    /// (`WRITE_TIMEOUT_MS`, 10 s) before it is dropped.
    pub write_timeout: Duration,
    /// How long a client may take over its TLS handshake, and over each
    /// request's head (`HANDSHAKE_TIMEOUT_MS`, 5 s).
    pub handshake_timeout: Duration,
    /// How long a shutdown may wait for connections to finish
    /// (`SHUTDOWN_GRACE_MS`, 10 s); then the server is gone regardless.
    pub shutdown_grace: Duration,
}

/// Where the TLS certificate and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first, in PEM (`TLS_CERT`).
    pub cert: PathBuf,
    /// The certificate's private key, in PEM (`TLS_KEY`).
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keepalive: Duration::from_secs(15),
            replay_capacity: 1000,
            heartbeat: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            typing_ttl: Duration::from_secs(5),
            max_message_bytes: 64 * 1024,
            tls: None,
            allowed_origins: vec![BOOK_ORIGIN.to_owned()],
            ticket_ttl: Duration::from_secs(30),
            session_ttl: Duration::from_secs(24 * 60 * 60),
            max_connections: 10_000,
            rate_limit_per_s: 20,
            write_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A variable whose value the server refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} {}, got {value:?}", requirement(name))]
pub struct ConfigError {
    /// The variable, e.g. `SESSION_TTL_MS`.
    pub name: &'static str,
    /// What it held.
    pub value: String,
}

/// What a variable must hold, by its name.
fn requirement(name: &str) -> &'static str {
    match name {
        "ALLOWED_ORIGINS" => {
            "must list origins such as https://board.example.com (a scheme and a host, no path)"
        }
        "TLS_CERT" => "is set but TLS_KEY is not: TLS needs both the certificate and its key",
        "TLS_KEY" => "is set but TLS_CERT is not: TLS needs both the certificate and its key",
        name if name.ends_with("_MS") => "must be a positive whole number (milliseconds)",
        _ => "must be a positive whole number (a count)",
    }
}

impl Config {
    /// The defaults, overridden by the environment variables that are set.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the variables `var` finds.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let millis = |name, default: Duration| {
            tunable(&var, name, default.as_millis() as u64).map(Duration::from_millis)
        };
        Ok(Config {
            keepalive: millis("KEEPALIVE_MS", defaults.keepalive)?,
            replay_capacity: tunable(&var, "REPLAY_CAPACITY", defaults.replay_capacity)?,
            heartbeat: millis("HEARTBEAT_MS", defaults.heartbeat)?,
            idle_timeout: millis("IDLE_TIMEOUT_MS", defaults.idle_timeout)?,
            typing_ttl: millis("TYPING_TTL_MS", defaults.typing_ttl)?,
            max_message_bytes: tunable(&var, "MAX_MESSAGE_BYTES", defaults.max_message_bytes)?,
            tls: tls_files(&var)?,
            allowed_origins: match var("ALLOWED_ORIGINS") {
                Some(list) => origins(&list)?,
                None => defaults.allowed_origins,
            },
            ticket_ttl: millis("TICKET_TTL_MS", defaults.ticket_ttl)?,
            session_ttl: millis("SESSION_TTL_MS", defaults.session_ttl)?,
            max_connections: tunable(&var, "MAX_CONNECTIONS", defaults.max_connections)?,
            rate_limit_per_s: tunable(&var, "RATE_LIMIT_PER_S", defaults.rate_limit_per_s)?,
            write_timeout: millis("WRITE_TIMEOUT_MS", defaults.write_timeout)?,
            handshake_timeout: millis("HANDSHAKE_TIMEOUT_MS", defaults.handshake_timeout)?,
            shutdown_grace: millis("SHUTDOWN_GRACE_MS", defaults.shutdown_grace)?,
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

/// `TLS_CERT` and `TLS_KEY`: both, or neither.
fn tls_files(var: &impl Fn(&str) -> Option<String>) -> Result<Option<TlsFiles>, ConfigError> {
    match (var("TLS_CERT"), var("TLS_KEY")) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert: cert.into(), key: key.into() })),
        (None, None) => Ok(None),
        (Some(cert), None) => Err(ConfigError { name: "TLS_CERT", value: cert }),
        (None, Some(key)) => Err(ConfigError { name: "TLS_KEY", value: key }),
    }
}

/// `https://a.example, http://localhost:4000` → each origin as a browser
/// writes it in `Origin`: lower case, no trailing slash.
fn origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let normal = origin.trim_end_matches('/').to_ascii_lowercase();
            let host = normal.strip_prefix("https://").or_else(|| normal.strip_prefix("http://"));
            match host {
                Some(host) if !host.is_empty() && !host.contains('/') => Ok(normal),
                _ => Err(ConfigError { name: "ALLOWED_ORIGINS", value: origin.to_owned() }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    /// Every numeric tunable, by its variable.
    const NUMBERS: &[&str] = &[
        "KEEPALIVE_MS",
        "REPLAY_CAPACITY",
        "HEARTBEAT_MS",
        "IDLE_TIMEOUT_MS",
        "TYPING_TTL_MS",
        "MAX_MESSAGE_BYTES",
        "TICKET_TTL_MS",
        "SESSION_TTL_MS",
        "MAX_CONNECTIONS",
        "RATE_LIMIT_PER_S",
        "WRITE_TIMEOUT_MS",
        "HANDSHAKE_TIMEOUT_MS",
        "SHUTDOWN_GRACE_MS",
    ];

    #[test]
    fn unset_variables_keep_the_defaults() {
        assert_eq!(from(&[]), Ok(Config::default()));
    }

    #[test]
    fn settings_come_from_the_environment() {
        let config = from(&[
            ("KEEPALIVE_MS", "200"),
            ("REPLAY_CAPACITY", "16"),
            ("HEARTBEAT_MS", "100"),
            ("IDLE_TIMEOUT_MS", "300"),
            ("TYPING_TTL_MS", " 250 "),
            ("MAX_MESSAGE_BYTES", "2048"),
            ("TLS_CERT", "cert.pem"),
            ("TLS_KEY", "key.pem"),
            ("ALLOWED_ORIGINS", "https://Board.example.com/, http://localhost:4000"),
            ("TICKET_TTL_MS", "1000"),
            ("SESSION_TTL_MS", "60000"),
            ("MAX_CONNECTIONS", "2"),
            ("RATE_LIMIT_PER_S", "5"),
            ("WRITE_TIMEOUT_MS", "300"),
            ("HANDSHAKE_TIMEOUT_MS", "400"),
            ("SHUTDOWN_GRACE_MS", "500"),
        ]);
        assert_eq!(
            config,
            Ok(Config {
                keepalive: Duration::from_millis(200),
                replay_capacity: 16,
                heartbeat: Duration::from_millis(100),
                idle_timeout: Duration::from_millis(300),
                typing_ttl: Duration::from_millis(250),
                max_message_bytes: 2048,
                tls: Some(TlsFiles { cert: "cert.pem".into(), key: "key.pem".into() }),
                allowed_origins: vec!["https://board.example.com".into(), "http://localhost:4000".into()],
                ticket_ttl: Duration::from_millis(1000),
                session_ttl: Duration::from_millis(60_000),
                max_connections: 2,
                rate_limit_per_s: 5,
                write_timeout: Duration::from_millis(300),
                handshake_timeout: Duration::from_millis(400),
                shutdown_grace: Duration::from_millis(500),
            })
        );
    }

    #[test]
    fn zero_or_unparsable_numbers_are_refused_by_name() {
        for name in NUMBERS {
            for value in ["0", "abc", "-3"] {
                let error = from(&[(name, value)]).expect_err("a bad value must be refused");
                let message = error.to_string();
                assert!(message.starts_with(name), "{message}");
                assert!(message.contains(&format!("{value:?}")), "{message}");
                let unit = if name.ends_with("_MS") { "(milliseconds)" } else { "(a count)" };
                assert!(message.contains(unit), "{message}");
            }
        }
    }

    #[test]
    fn tls_needs_both_files() {
        let error = from(&[("TLS_CERT", "cert.pem")]).expect_err("a certificate without its key");
        assert!(error.to_string().contains("TLS_KEY"));
        let error = from(&[("TLS_KEY", "key.pem")]).expect_err("a key without its certificate");
        assert!(error.to_string().contains("TLS_CERT"));
    }

    #[test]
    fn allowed_origins_must_be_origins() {
        for value in ["localhost:4000", "https://a.example/path", "ftp://a.example", "https://"] {
            let error = from(&[("ALLOWED_ORIGINS", value)]).expect_err("not an origin");
            assert!(error.to_string().starts_with("ALLOWED_ORIGINS must list origins"), "{error}");
        }
    }
}
