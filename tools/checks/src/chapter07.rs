//! Chapter 7, "Running it in production": the task board made fit for the
//! internet, stage by stage.
//!
//! 1. TLS: with `TLS_CERT`/`TLS_KEY` the API, the event stream and the
//!    WebSocket all work over TLS, for a client that trusts nothing but a
//!    certificate authority the check made a moment ago; a plain-HTTP
//!    request to the TLS port is refused, and the server carries on.
//! 2. Origin: a WebSocket handshake from a page the server does not know
//!    gets `403`, before any upgrade; CORS names allowed origins only.
//! 3. Authentication: a session cookie from `POST /session`, one-time
//!    tickets from `POST /tickets`, and a gate that asks for them.
//! 4. Limits: `503` over `MAX_CONNECTIONS`, close `1008` over
//!    `RATE_LIMIT_PER_S`, a client that stops reading dropped after
//!    `WRITE_TIMEOUT_MS` without holding up the others, slow handshakes and
//!    request heads cut off after `HANDSHAKE_TIMEOUT_MS`.
//!
//! Most checks start a server of their own through the [`Launch`] the test
//! binary hands over, with the settings the check needs as environment
//! variables ([`Vars`]) — the same `Config::from_vars` the binary uses. The
//! TLS client comes the same way, as a [`TlsKit`] from `course-checks-tls`,
//! so no earlier chapter compiles rustls.
//!
//! Checks of the first stages run before authentication exists, and keep
//! working after: they sign in *if the server offers it* (`POST /session`
//! answers `204` with a cookie) and carry the cookie; otherwise they go
//! without.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::dial::{Answer, Dial, TlsKit};
use crate::http::ANSWER_TIMEOUT;
use crate::sse::Item;
use crate::ws::json_matches;
use crate::{Chapter, Check, Failure, Needs, Section, Stage, Target, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 7,
    slug: "07-production",
    title: "Running it in production",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

const PAGE: &str = "ch07-production.md";

/// The locally served book: allowed by default.
const BOOK_ORIGIN: &str = "http://localhost:4000";

/// A page no server of the course knows.
const EVIL_ORIGIN: &str = "https://evil.example";

const TLS: Stage = Stage { number: 1, slug: "tls", title: "TLS: https and wss" };
const ORIGIN: Stage = Stage { number: 2, slug: "origin", title: "Origin: who may open a socket" };
const AUTH: Stage = Stage { number: 3, slug: "auth", title: "Sessions and tickets" };
const LIMITS: Stage = Stage { number: 4, slug: "limits", title: "Limits that protect everyone" };
const SHUTDOWN: Stage = Stage { number: 5, slug: "shutdown", title: "Graceful shutdown" };
const OPERABLE: Stage = Stage { number: 6, slug: "operable", title: "Health and metrics" };

const TLS_SECTION: Section = Section { page: PAGE, anchor: "tls-https-and-wss", title: "TLS: https and wss" };
const ORIGIN_SECTION: Section =
    Section { page: PAGE, anchor: "origin-who-may-open-a-socket", title: "Origin: who may open a socket" };
const CORS_SECTION: Section = Section {
    page: PAGE,
    anchor: "cors-for-the-allowed-origins-only",
    title: "CORS for the allowed origins only",
};
const SESSION_SECTION: Section = Section {
    page: PAGE,
    anchor: "sessions-a-cookie-the-browser-sends-by-itself",
    title: "Sessions: a cookie the browser sends by itself",
};
const TICKET_SECTION: Section = Section {
    page: PAGE,
    anchor: "tickets-where-a-cookie-cant-go",
    title: "Tickets: where a cookie can't go",
};
const SIGN_OUT_SECTION: Section = Section {
    page: PAGE,
    anchor: "signing-out-and-sessions-that-end",
    title: "Signing out, and sessions that end",
};
const LOGS_SECTION: Section =
    Section { page: PAGE, anchor: "logs-that-keep-secrets", title: "Logs that keep secrets" };

const MAX_SECTION: Section = Section {
    page: PAGE,
    anchor: "how-many-at-once-503-and-retry-after",
    title: "How many at once: 503 and Retry-After",
};
const RATE_SECTION: Section =
    Section { page: PAGE, anchor: "how-fast-close-1008", title: "How fast: close 1008" };
const READER_SECTION: Section =
    Section { page: PAGE, anchor: "a-client-that-stops-reading", title: "A client that stops reading" };
const SLOW_SECTION: Section = Section {
    page: PAGE,
    anchor: "slowloris-a-deadline-for-every-handshake",
    title: "Slowloris: a deadline for every handshake",
};

const SEES_SECTION: Section =
    Section { page: PAGE, anchor: "what-each-client-sees", title: "What each client sees" };
const GRACE_SECTION: Section =
    Section { page: PAGE, anchor: "gone-within-the-grace", title: "Gone within the grace" };
const RESTART_SECTION: Section =
    Section { page: PAGE, anchor: "nothing-lost-across-a-restart", title: "Nothing lost across a restart" };

const OPERABLE_SECTION: Section =
    Section { page: PAGE, anchor: "health-and-metrics", title: "Health and metrics" };

const STARTS_ITS_OWN: &str = "starts a server of its own with chapter 7's settings (run it in-process)";

const CHECKS: &[Check] = &[
    Check {
        name: "https_serves_the_api_to_a_client_that_trusts_only_the_test_ca",
        stage: TLS,
        section: TLS_SECTION,
        hints: &[
            "With `config.tls` set, `serve` builds a `TlsAcceptor` (`tls::acceptor`) and every accepted \
             TCP connection runs `acceptor.accept(tcp)` before HTTP starts.",
            "`tls::acceptor`: read the chain with `CertificateDer::pem_file_iter`, the key with \
             `PrivateKeyDer::from_pem_file`, then `ServerConfig::builder_with_provider(ring provider)\
             .with_safe_default_protocol_versions()?.with_no_client_auth().with_single_cert(chain, key)?`.",
            "Set `alpn_protocols` to `http/1.1`: the WebSocket upgrade is an HTTP/1.1 handshake.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(https_serves_the_api_to_a_client_that_trusts_only_the_test_ca(t)),
    },
    Check {
        name: "the_event_stream_works_over_https",
        stage: TLS,
        section: TLS_SECTION,
        hints: &["Nothing above the accept loop knows TLS is there: once the handshake is done, the \
                  same router serves the stream. If the API works over TLS but the stream does not, \
                  look at how the connection is served (hyper's `http1::Builder`)."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(the_event_stream_works_over_https(t)),
    },
    Check {
        name: "a_websocket_works_over_wss",
        stage: TLS,
        section: TLS_SECTION,
        hints: &["`wss://` is the same upgrade inside TLS. Serve the TLS stream with \
             `http1::Builder::new().serve_connection(..).with_upgrades()`: without `with_upgrades` \
             the connection can't leave HTTP behind."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(a_websocket_works_over_wss(t)),
    },
    Check {
        name: "plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving",
        stage: TLS,
        section: TLS_SECTION,
        hints: &["Run each connection's TLS handshake in a task of its own, and when it fails, log it and \
             drop that connection: `Err(error) => tracing::debug!(..)`, never `?` or `unwrap` in the \
             accept loop."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving(t)),
    },
    Check {
        name: "a_websocket_handshake_from_an_unknown_origin_gets_403",
        stage: ORIGIN,
        section: ORIGIN_SECTION,
        hints: &[
            "`origin::guard` runs before every handler: a request with an `Origin` that \
             `Origins::allows` refuses gets `403` and goes no further.",
            "`Origins::allows(origin, host)`: the origin is on the list, or it is the server's own — \
             `http://` or `https://` followed by exactly the request's `Host`.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_websocket_handshake_from_an_unknown_origin_gets_403(t)),
    },
    Check {
        name: "a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded",
        stage: ORIGIN,
        section: ORIGIN_SECTION,
        hints: &[
            "The server's own pages send `Origin: http://<the Host they were served from>`; the book's \
             panels send `Origin: http://localhost:4000`, on the list by default. Both are allowed.",
            "No `Origin` at all is not a browser: let it through (the session or ticket is its check).",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded(t)),
    },
    Check {
        name: "allowed_origins_come_from_the_setting",
        stage: ORIGIN,
        section: ORIGIN_SECTION,
        hints: &["`Origins::new` takes `config.allowed_origins`, which `ALLOWED_ORIGINS` replaces: \
                  with it set, the book's origin is no longer allowed unless it is listed."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(allowed_origins_come_from_the_setting(t)),
    },
    Check {
        name: "cors_answers_allowed_origins_only",
        stage: ORIGIN,
        section: CORS_SECTION,
        hints: &["`origin::cors`: `AllowOrigin::predicate` with `Origins::allows`, never `Any` — and \
             `allow_credentials(true)`, so the book's panels may send the session cookie."],
        needs: Needs::Address,
        body: |t| Box::pin(cors_answers_allowed_origins_only(t)),
    },
    Check {
        name: "signing_in_sets_an_httponly_samesite_session_cookie",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &[
            "`auth::sign_in`: store the user under a new token (`Expiring::insert`) and answer `204` \
             with `Set-Cookie: session=<token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<seconds>`.",
            "An empty `user` is a `422`, like an empty title.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(signing_in_sets_an_httponly_samesite_session_cookie(t)),
    },
    Check {
        name: "the_session_cookie_is_secure_under_tls",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &["Add `; Secure` to the cookie when the server speaks TLS (`config.tls.is_some()`): a \
                  browser then never sends it over plain HTTP, where anyone on the path could read it."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(the_session_cookie_is_secure_under_tls(t)),
    },
    Check {
        name: "streams_refuse_a_request_without_a_session_or_ticket",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &[
            "`auth::needs` is the policy: `/ws` and `/boards/{board}/events` need \
             `Needs::SessionOrTicket`. `auth::gate` answers `401` when the request brings neither.",
            "The routes are matched as written in the router (`MatchedPath`): `/boards/{board}/events`, \
             braces included.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(streams_refuse_a_request_without_a_session_or_ticket(t)),
    },
    Check {
        name: "the_session_cookie_opens_the_event_stream_and_the_websocket",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &["`Auth::session_user` finds the `session` cookie in the `Cookie` header (there may be \
                  other cookies around it, separated by `; `) and looks it up."],
        needs: Needs::Address,
        body: |t| Box::pin(the_session_cookie_opens_the_event_stream_and_the_websocket(t)),
    },
    Check {
        name: "http_writes_need_the_session_and_reads_do_not",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &["In `auth::needs`: a route under `/boards/` with a method that is not safe \
                  (`!method.is_safe()`: POST, PATCH, DELETE) needs `Needs::Session`; GET needs nothing."],
        needs: Needs::Address,
        body: |t| Box::pin(http_writes_need_the_session_and_reads_do_not(t)),
    },
    Check {
        name: "join_must_name_the_signed_in_user",
        stage: AUTH,
        section: SESSION_SECTION,
        hints: &[
            "`connection::upgrade` takes the `User` the gate found (`Extension<User>`) and hands it to \
                  the connection; `join` compares it with the `user` of the message and answers an \
                  `error` when they differ — the connection stays open.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(join_must_name_the_signed_in_user(t)),
    },
    Check {
        name: "a_ticket_needs_the_session",
        stage: AUTH,
        section: TICKET_SECTION,
        hints: &["`POST /tickets` is `Needs::Session` in the policy; `auth::issue_ticket` stores the \
                  session's user under a new token in the tickets' store and answers \
                  `201 {\"ticket\": token}`."],
        needs: Needs::Address,
        body: |t| Box::pin(a_ticket_needs_the_session(t)),
    },
    Check {
        name: "a_ticket_opens_one_connection_only",
        stage: AUTH,
        section: TICKET_SECTION,
        hints: &[
            "In the gate, a `?ticket=` is *taken* from the store (`Expiring::take`): the second time it \
             is not there, and the answer is `401`.",
            "A ticket, when there is one, decides on its own: don't fall back to the cookie when it \
             is used up.",
        ],
        needs: Needs::Address,
        body: |t| Box::pin(a_ticket_opens_one_connection_only(t)),
    },
    Check {
        name: "an_expired_ticket_is_refused",
        stage: AUTH,
        section: TICKET_SECTION,
        hints: &["The tickets' store lives `config.ticket_ttl` (`TICKET_TTL_MS`): build it with that, \
                  not with the session's time to live."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(an_expired_ticket_is_refused(t)),
    },
    Check {
        name: "signing_out_ends_the_session",
        stage: AUTH,
        section: SIGN_OUT_SECTION,
        hints: &["`auth::sign_out` removes the session from the store — the browser forgetting the \
                  cookie is not enough, a copy of it must stop working — and answers `204` with a \
                  cookie that expires at once (`Max-Age=0`)."],
        needs: Needs::Address,
        body: |t| Box::pin(signing_out_ends_the_session(t)),
    },
    Check {
        name: "an_expired_session_is_refused",
        stage: AUTH,
        section: SIGN_OUT_SECTION,
        hints: &["The sessions' store lives `config.session_ttl` (`SESSION_TTL_MS`), and a session is \
                  looked up with `Expiring::get`, which ignores an expired one."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(an_expired_session_is_refused(t)),
    },
    Check {
        name: "tickets_never_appear_in_the_logs",
        stage: AUTH,
        section: LOGS_SECTION,
        hints: &["Log `request.uri().path()`, never `request.uri()`: the query may hold a ticket. The \
                  same goes for any `tracing` line you added that prints a URI or a ticket."],
        needs: Needs::Code("reads the server's logs, which only the test binary can capture"),
        body: |t| Box::pin(tickets_never_appear_in_the_logs(t)),
    },
    Check {
        name: "over_max_connections_the_next_stream_gets_503_with_retry_after",
        stage: LIMITS,
        section: MAX_SECTION,
        hints: &[
            "`limits::admit` runs for `/ws` and `/boards/{board}/events` only: it takes a place from \
             `Slots` (`Semaphore::try_acquire_owned`, which never waits) or answers `503` with a \
             `Retry-After` header (seconds).",
            "The place must live as long as the connection: the WebSocket handler keeps its copy (from \
             the request's extensions) until `run` ends, and the event stream's response body holds \
             another. When the last copy is dropped, the place is free again.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(over_max_connections_the_next_stream_gets_503_with_retry_after(t)),
    },
    Check {
        name: "a_client_sending_faster_than_the_rate_limit_is_closed_with_1008",
        stage: LIMITS,
        section: RATE_SECTION,
        hints: &[
            "`Rate::allow` is a token bucket: up to `RATE_LIMIT_PER_S` tokens, refilled at that many \
             per second, one per message. The read loop asks it for every text message and, when it \
             says no, closes with `close_code::POLICY` (1008).",
            "A burst of exactly `RATE_LIMIT_PER_S` messages is within the limit: only the one after \
             is too many.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(a_client_sending_faster_than_the_rate_limit_is_closed_with_1008(t)),
    },
    Check {
        name: "a_client_that_stops_reading_is_dropped_without_delaying_the_others",
        stage: LIMITS,
        section: READER_SECTION,
        hints: &["`limits::send_within` wraps the writer's `sink.send` in `tokio::time::timeout` with \
             `WRITE_TIMEOUT_MS`; when it runs out, the writer returns, the read loop sees the outbox \
             close, and the connection ends as any other: the user leaves the room."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(a_client_that_stops_reading_is_dropped_without_delaying_the_others(t)),
    },
    Check {
        name: "slow_handshakes_and_request_heads_are_cut_off",
        stage: LIMITS,
        section: SLOW_SECTION,
        hints: &[
            "hyper times a request's head with `http1::Builder::header_read_timeout`, and only when it \
             has a timer: `.timer(TokioTimer::new())`.",
            "The TLS handshake happens before hyper sees the connection: wrap `acceptor.accept(tcp)` in \
             `tokio::time::timeout(handshake_timeout, …)`.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(slow_handshakes_and_request_heads_are_cut_off(t)),
    },
    Check {
        name: "shutdown_closes_every_websocket_with_1001",
        stage: SHUTDOWN,
        section: SEES_SECTION,
        hints: &[
            "`Draining` is a `tokio::sync::watch` channel: `begin` sends `true`, `begun` waits until it \
             sees `true` (`wait_for`). The accept loop calls `begin` when `stop` completes.",
            "The read loop in `connection.rs` already waits on `draining.begun()` and closes with \
             `shutdown::GOING_AWAY` (1001) — once `begun` ever returns.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(shutdown_closes_every_websocket_with_1001(t)),
    },
    Check {
        name: "shutdown_ends_every_event_stream_after_a_jittered_retry",
        stage: SHUTDOWN,
        section: SEES_SECTION,
        hints: &[
            "`shutdown::end_streams` wraps an event stream's body: \
             `body.into_data_stream().take_until(draining.begun())`, then one more chunk, \
             `retry: <ms>\\n\\n`, chained after it.",
            "Each stream's `retry:` is drawn at random from `RETRY_JITTER_MS` (`jittered_retry_ms`), so \
             that the clients of a server that stops don't all come back in the same instant.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(shutdown_ends_every_event_stream_after_a_jittered_retry(t)),
    },
    Check {
        name: "shutdown_is_over_within_the_grace_even_if_a_request_never_ends",
        stage: SHUTDOWN,
        section: GRACE_SECTION,
        hints: &["`shutdown::wait` gives what still runs `SHUTDOWN_GRACE_MS` \
                  (`tokio::time::timeout(grace, drained.all_done())`), and no more: a client that never \
                  finishes its request must not keep the server alive."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(shutdown_is_over_within_the_grace_even_if_a_request_never_ends(t)),
    },
    Check {
        name: "no_event_accepted_before_shutdown_is_lost_across_a_restart",
        stage: SHUTDOWN,
        section: RESTART_SECTION,
        hints: &["The stream must *end* on shutdown, not break off: then `EventSource` reconnects with \
                  `Last-Event-ID`, and the next server replays from the board's feed (chapter 2's \
                  replay). Ending the stream early loses nothing; the replay fills the gap."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(no_event_accepted_before_shutdown_is_lost_across_a_restart(t)),
    },
    Check {
        name: "healthz_answers_200_while_serving_and_503_while_draining",
        stage: OPERABLE,
        section: OPERABLE_SECTION,
        hints: &["`metrics::health`: `state.draining.is_draining()` decides between `503` and `200`. The \
                  route is public (the policy asks nothing of it)."],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(healthz_answers_200_while_serving_and_503_while_draining(t)),
    },
    Check {
        name: "metrics_count_open_connections_deliveries_and_evictions",
        stage: OPERABLE,
        section: OPERABLE_SECTION,
        hints: &[
            "`metrics::render` encodes the state's registry with `prometheus_client::encoding::text::encode` \
             and answers it with `Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8`.",
            "The gauges move with the connection limit's places (`Slots::try_take`); the evictions are \
             counted where they happen; `count_deliveries` counts each event an event stream's body \
             writes.",
        ],
        needs: Needs::Code(STARTS_ITS_OWN),
        body: |t| Box::pin(metrics_count_open_connections_deliveries_and_evictions(t)),
    },
];

// ---------------------------------------------------------------------------
// What the test binary hands over

/// What a server's future is.
pub type Serving = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// What tells a server to shut down: it completes when the check says so.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts the learner's server on a listener with settings given as
/// environment variables, until `Stop` completes, on the state kept in
/// `Keep` (so that a check can restart a server on the same state). The
/// test binary hands it over in its `Locals`:
///
/// ```ignore
/// let launch = Launch::new(|listener, vars, stop, keep| {
///     let state = keep.get_or_insert_with(|| server::AppState::new(config(&vars)));
///     server::serve_state(listener, state, stop)
/// });
/// ```
#[derive(Clone)]
pub struct Launch(Arc<StartFn>);

/// What [`Launch`] holds: the test binary's way to start a server.
type StartFn = dyn Fn(TcpListener, Vars, Stop, &Keep) -> Serving + Send + Sync;

impl Launch {
    pub fn new<F, Fut>(start: F) -> Self
    where
        F: Fn(TcpListener, Vars, Stop, &Keep) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        Launch(Arc::new(move |listener, vars, stop, keep| Box::pin(start(listener, vars, stop, keep))))
    }
}

/// A server's state, kept across an in-process restart. The test binary
/// decides what it holds (the learner's `AppState`).
#[derive(Clone, Default)]
pub struct Keep(Arc<Mutex<Option<Box<dyn std::any::Any + Send>>>>);

impl Keep {
    /// The kept value, made by `make` the first time.
    pub fn get_or_insert_with<T: Clone + Send + 'static>(&self, make: impl FnOnce() -> T) -> T {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = kept.as_ref().and_then(|value| value.downcast_ref::<T>()) {
            return value.clone();
        }
        let value = make();
        *kept = Some(Box::new(value.clone()));
        value
    }
}

impl std::fmt::Debug for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keep")
    }
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Launch")
    }
}

/// A server's settings, as the environment variables the binary reads.
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<&'static str, String>);

impl Vars {
    /// The chapter's short tunables as variables.
    pub fn from_tunables(tunables: Tunables) -> Self {
        Vars::default()
            .with("KEEPALIVE_MS", tunables.keepalive_ms)
            .with("REPLAY_CAPACITY", tunables.replay_capacity)
            .with("HEARTBEAT_MS", tunables.heartbeat_ms)
            .with("IDLE_TIMEOUT_MS", tunables.idle_timeout_ms)
            .with("TYPING_TTL_MS", tunables.typing_ttl_ms)
            .with("MAX_MESSAGE_BYTES", tunables.max_message_bytes)
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.0.insert(name, value.to_string());
        self
    }

    /// The variable's value, as `std::env::var(name).ok()` would give it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The server's log lines, captured by the test binary: it installs a
/// `tracing` subscriber that writes to [`LogWriter`], and hands over
/// `LogsCaptured` to say so.
#[derive(Debug, Clone, Copy)]
pub struct LogsCaptured;

/// Where captured log lines go: one buffer for the whole test binary.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogWriter;

fn captured() -> &'static Mutex<Vec<u8>> {
    static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    &LOGS
}

impl io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        captured().lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far.
fn logs() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

// ---------------------------------------------------------------------------
// Servers of a check's own

/// A server a check started, and its task, to tell "it stopped" from
/// "it did not answer".
struct Started {
    dial: Dial,
    task: JoinHandle<io::Result<()>>,
    _files: Option<TempFolder>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    keep: Keep,
}

/// A folder of the check's own under the system's temporary folder,
/// removed when the check is done. (Not the `tempfile` crate: it would add
/// crates to chapter 1's first build, which compiles this one too.)
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> io::Result<Self> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("course-ch07-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempFolder(path))
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Started {
    /// Turns a failure into "your server stopped", when it did.
    async fn explain<T>(&mut self, outcome: Result<T, Failure>) -> Result<T, Failure> {
        let failure = match outcome {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !self.task.is_finished() {
            return Err(failure);
        }
        let why = match (&mut self.task).await {
            Ok(Ok(())) => "serve() returned Ok(()) while the check still needed it".to_owned(),
            Ok(Err(e)) => format!("serve() returned an error: {e}"),
            Err(e) if e.is_panic() => "serve() panicked (see below)".to_owned(),
            Err(e) => format!("the server task ended: {e}"),
        };
        Err(Failure { headline: format!("your server stopped: {why}"), ..failure })
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Started {
    /// Tells the server to shut down, as SIGTERM would.
    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the learner's server with `vars` on a fresh port.
async fn start(t: &Target, vars: Vars) -> Result<Started, Failure> {
    start_keeping(t, vars, Keep::default()).await
}

/// Starts the learner's server with `vars` on a fresh port, on the state in `keep`.
async fn start_keeping(t: &Target, vars: Vars, keep: Keep) -> Result<Started, Failure> {
    let launch = t.local::<Launch>()?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new(format!("could not bind 127.0.0.1:0: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Failure::new(format!("no local address: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped: Stop = Box::pin(async move {
        // A dropped sender (the check is over) also stops the server.
        let _ = stopped.await;
    });
    let task = tokio::spawn((launch.0)(listener, vars, stopped, &keep));
    Ok(Started { dial: Dial::plain(addr), task, _files: None, stop: Some(stop), keep })
}

/// Makes a CA and a certificate, writes the certificate and key where
/// `TLS_CERT` and `TLS_KEY` point, and starts the server with them.
async fn start_tls(t: &Target, vars: Vars) -> Result<Started, Failure> {
    let kit = *t.local::<TlsKit>()?;
    let pki = (kit.issue)().map_err(|e| Failure::new(format!("could not make a test certificate: {e}")))?;
    let dir = TempFolder::new().map_err(|e| Failure::new(format!("no temporary folder: {e}")))?;
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    for (path, pem) in [(&cert, &pki.cert_pem), (&key, &pki.key_pem)] {
        std::fs::write(path, pem).map_err(|e| Failure::new(format!("could not write {path:?}: {e}")))?;
    }
    let vars = vars.with("TLS_CERT", cert.display()).with("TLS_KEY", key.display());
    let mut started = start(t, vars).await?;
    started.dial = Dial::tls(started.dial.addr(), kit, &pki.ca_pem);
    started._files = Some(dir);
    Ok(started)
}

fn short_vars(t: &Target) -> Vars {
    Vars::from_tunables(t.tunables().unwrap_or(Tunables::PRODUCTION))
}

// ---------------------------------------------------------------------------
// Signing in

/// `POST /session {"user"}`, requiring `204` and a session cookie; returns
/// the `Cookie` header to send back (`session=…`).
async fn sign_in(dial: &Dial, user: &str) -> Result<String, Failure> {
    let answer = dial.request("POST", "/session").json(&json!({ "user": user })).send().await?;
    let expected = "204 No Content with Set-Cookie: session=…; HttpOnly; SameSite=Lax";
    answer.expect_status(204, expected)?;
    session_cookie(&answer).ok_or_else(|| {
        answer.fail("POST /session answered 204 without a Set-Cookie: session=… header", expected)
    })
}

/// Signs in when the server offers it (it does once stage 3 is built), so
/// that the earlier stages' checks pass before and after.
/// Anything else — another status, no answer at all (a `todo!()`) — means
/// "not yet": the check goes on without a session.
async fn sign_in_if_offered(dial: &Dial, user: &str) -> Result<Option<String>, Failure> {
    let answer = dial.request("POST", "/session").json(&json!({ "user": user })).send().await;
    Ok(match answer {
        Ok(answer) if answer.status == 204 => session_cookie(&answer),
        _ => None,
    })
}

/// The `session=…` pair of a `Set-Cookie` header.
fn session_cookie(answer: &Answer) -> Option<String> {
    set_cookie(answer).and_then(|cookie| cookie.split(';').next()).map(|pair| pair.trim().to_owned())
}

/// The whole `Set-Cookie` header that sets `session`.
fn set_cookie(answer: &Answer) -> Option<&str> {
    answer
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .find(|value| value.trim_start().starts_with("session="))
}

/// Whether a `Set-Cookie` value has the attribute `name` (`HttpOnly`) or
/// `name=value` (`SameSite=Lax`), in any case.
fn has_attribute(cookie: &str, attribute: &str) -> bool {
    cookie.split(';').skip(1).any(|a| a.trim().eq_ignore_ascii_case(attribute))
}

/// `POST /tickets` with the session; returns the ticket.
async fn ticket(dial: &Dial, cookie: &str) -> Result<String, Failure> {
    let answer = dial.request("POST", "/tickets").header("Cookie", cookie).send().await?;
    let expected = "201 Created with {\"ticket\": \"…\"}";
    answer.expect_status(201, expected)?;
    let body = answer.json(expected)?;
    match body.get("ticket").and_then(Value::as_str) {
        Some(ticket) if !ticket.is_empty() => Ok(ticket.to_owned()),
        _ => Err(answer.fail("POST /tickets answered 201 without a \"ticket\" string", expected)),
    }
}

fn join(board: &str, user: &str) -> Value {
    json!({"type": "join", "boardId": board, "user": user})
}

// ---------------------------------------------------------------------------
// Stage 1: TLS

async fn https_serves_the_api_to_a_client_that_trusts_only_the_test_ca(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let board = t.board(1);
    let outcome = server.dial.request("GET", format!("/boards/{board}/tasks")).send().await;
    let answer = server.explain(outcome).await?;
    answer.expect_status(200, "200 OK and [] over TLS, for a client that trusts only the test CA")?;
    if answer.json("a JSON list")? != json!([]) {
        return Err(answer.fail("GET over TLS answered something other than []", "[] for a new board"));
    }
    Ok(())
}

async fn the_event_stream_works_over_https(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let dial = server.dial.clone();
    let mut events = dial
        .request("GET", format!("/boards/{board}/events"))
        .header_opt("Cookie", cookie.as_deref())
        .events()
        .await?;
    events.answer.expect_status(200, "200 OK and an event stream, over TLS")?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot, first thing on the stream").await?;
    let created = dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header_opt("Cookie", cookie.as_deref())
        .json(&json!({"title": "Renew the certificate"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created, over TLS")?;
    let event = events.next_event(ANSWER_TIMEOUT, "event: task_created, over TLS").await?;
    if event.name != "task_created" {
        return Err(events.fail(
            format!("the stream over TLS sent event: {} after a POST; expected task_created", event.name),
            "event: task_created with the new task",
        ));
    }
    Ok(())
}

async fn a_websocket_works_over_wss(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let opened =
        server.dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await?;
    let mut ws = match opened {
        Ok(ws) => ws,
        Err(answer) => {
            return Err(answer.fail(
                format!("GET wss://…/ws answered {} instead of 101", answer.status),
                "101 Switching Protocols, over TLS",
            ));
        }
    };
    ws.send_json(&join(&board, "Alice")).await?;
    ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "the presence snapshot, over wss")
        .await?;
    Ok(())
}

async fn plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving(
    t: Target,
) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let addr = server.dial.addr();
    let outcome = plain_request(addr).await;
    let got = server.explain(outcome).await?;
    let sent =
        format!("(plain TCP, no TLS)\n> GET /boards/{0}/tasks HTTP/1.1\n> Host: {addr}\n>", t.board(1));
    let expected = "the connection closed (a TLS alert first is fine), or a 4xx answer — never a 2xx \
                    over plain HTTP";
    if got.starts_with("HTTP/1.1 2") || got.starts_with("HTTP/1.0 2") {
        return Err(Failure::new("a plain-HTTP request to the TLS port was served in the clear")
            .sent(sent)
            .expected(expected)
            .got(got));
    }
    if got == TIMED_OUT {
        return Err(Failure::new(
            "a plain-HTTP request to the TLS port was left hanging: nothing within 5 s",
        )
        .sent(sent)
        .expected(expected)
        .got(got));
    }
    let outcome = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await;
    let answer = server.explain(outcome).await.map_err(|failure| Failure {
        headline: format!("after a plain-HTTP request to the TLS port, {}", failure.headline),
        ..failure
    })?;
    answer.expect_status(200, "200 OK over TLS: one bad connection must not stop the server")
}

const TIMED_OUT: &str = "(nothing within 5 s, and the connection stayed open)";

/// Sends a plain-HTTP request and returns what came back until the server
/// closed the connection.
async fn plain_request(addr: SocketAddr) -> Result<String, Failure> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let request = format!("GET /boards/board-1/tasks HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut got = Vec::new();
    let read = timeout(ANSWER_TIMEOUT, async {
        let mut buffer = [0u8; 1024];
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        return Ok(TIMED_OUT.to_owned());
    }
    if got.starts_with(b"HTTP/") {
        return Ok(String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned());
    }
    Ok(format!("(the connection closed after {} bytes that are not HTTP)", got.len()))
}

// ---------------------------------------------------------------------------
// Stage 2: Origin

async fn a_websocket_handshake_from_an_unknown_origin_gets_403(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in_if_offered(&dial, "Alice").await?;
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", EVIL_ORIGIN)
        .websocket()
        .await?;
    let expected = "403 Forbidden, and no upgrade: a page from an unknown origin must not get a socket \
                    that carries the user's cookie";
    match opened {
        Ok(mut ws) => {
            ws.send_json(&join(&t.board(1), "Alice")).await.ok();
            Err(ws.fail(
                format!("a WebSocket handshake with Origin: {EVIL_ORIGIN} was upgraded (101)"),
                expected,
            ))
        }
        Err(answer) => answer.expect_status(403, expected),
    }?;
    // The server carries on.
    let answer = dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200 OK: refusing one page changes nothing for anyone else")
}

async fn a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in_if_offered(&dial, "Alice").await?;
    for origin in [Some(dial.origin()), Some(BOOK_ORIGIN.to_owned()), None] {
        let opened = dial
            .request("GET", "/ws")
            .header_opt("Cookie", cookie.as_deref())
            .header_opt("Origin", origin.as_deref())
            .websocket()
            .await?;
        if let Err(answer) = opened {
            let which = match &origin {
                Some(origin) if *origin == dial.origin() => format!("Origin: {origin} (the server's own)"),
                Some(origin) => format!("Origin: {origin} (the locally served book, allowed by default)"),
                None => "no Origin (not a browser)".to_owned(),
            };
            return Err(answer.fail(
                format!("a WebSocket handshake with {which} got {} instead of 101", answer.status),
                "101 Switching Protocols",
            ));
        }
    }
    Ok(())
}

async fn allowed_origins_come_from_the_setting(t: Target) -> Result<(), Failure> {
    let listed = "https://board.example";
    let mut server = start(&t, short_vars(&t).with("ALLOWED_ORIGINS", listed)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", listed)
        .websocket()
        .await?;
    if let Err(answer) = opened {
        return Err(answer.fail(
            format!("with ALLOWED_ORIGINS={listed}, a handshake from {listed} got {}", answer.status),
            "101 Switching Protocols: the origin is on the list",
        ));
    }
    let opened = dial
        .request("GET", "/ws")
        .header_opt("Cookie", cookie.as_deref())
        .header("Origin", BOOK_ORIGIN)
        .websocket()
        .await?;
    let expected = "403: ALLOWED_ORIGINS replaces the default list, so the book's origin is no longer on it";
    match opened {
        Ok(ws) => Err(ws.fail(
            format!("with ALLOWED_ORIGINS={listed}, a handshake from {BOOK_ORIGIN} was upgraded"),
            expected,
        )),
        Err(answer) => answer.expect_status(403, expected),
    }
}

async fn cors_answers_allowed_origins_only(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let path = format!("/boards/{}/tasks", t.board(1));
    let allowed = dial.request("GET", &path).header("Origin", BOOK_ORIGIN).send().await?;
    let expected = format!(
        "200 with Access-Control-Allow-Origin: {BOOK_ORIGIN} and Access-Control-Allow-Credentials: true"
    );
    allowed.expect_status(200, &expected)?;
    if allowed.header("access-control-allow-origin") != Some(BOOK_ORIGIN) {
        return Err(allowed.fail(
            format!("a request from {BOOK_ORIGIN} got no Access-Control-Allow-Origin naming it"),
            expected,
        ));
    }
    if allowed.header("access-control-allow-credentials") != Some("true") {
        return Err(allowed.fail(
            "CORS does not allow credentials: the book's panels could not send the session cookie",
            expected,
        ));
    }
    let refused = dial.request("GET", &path).header("Origin", EVIL_ORIGIN).send().await?;
    match refused.header("access-control-allow-origin") {
        None => Ok(()),
        Some(value) => Err(refused.fail(
            format!("a request from {EVIL_ORIGIN} got Access-Control-Allow-Origin: {value}"),
            "no Access-Control-Allow-Origin (or a 403): an unknown page must not read the answer",
        )),
    }
}

// ---------------------------------------------------------------------------
// Stage 3: sessions and tickets

async fn signing_in_sets_an_httponly_samesite_session_cookie(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let answer = dial.request("POST", "/session").json(&json!({"user": "Alice"})).send().await?;
    let expected = "204 No Content with Set-Cookie: session=…; Path=/; HttpOnly; SameSite=Lax";
    answer.expect_status(204, expected)?;
    let Some(cookie) = set_cookie(&answer) else {
        return Err(answer.fail("POST /session set no session cookie", expected));
    };
    for attribute in ["HttpOnly", "SameSite=Lax"] {
        if !has_attribute(cookie, attribute) {
            return Err(answer.fail(format!("the session cookie lacks {attribute}"), expected));
        }
    }
    let empty = dial.request("POST", "/session").json(&json!({"user": " "})).send().await?;
    empty.expect_status(422, "422 Unprocessable Content: a session needs a user that is not empty")
}

async fn the_session_cookie_is_secure_under_tls(t: Target) -> Result<(), Failure> {
    let mut server = start_tls(&t, short_vars(&t)).await?;
    let outcome = server.dial.request("POST", "/session").json(&json!({"user": "Alice"})).send().await;
    let answer = server.explain(outcome).await?;
    let expected = "204 with Set-Cookie: session=…; HttpOnly; SameSite=Lax; Secure";
    answer.expect_status(204, expected)?;
    match set_cookie(&answer) {
        Some(cookie) if has_attribute(cookie, "Secure") => Ok(()),
        Some(_) => Err(answer.fail("under TLS the session cookie lacks Secure", expected)),
        None => Err(answer.fail("POST /session set no session cookie", expected)),
    }
}

/// Requires `401` and no stream for `GET /boards/{board}/events`.
async fn expect_events_refused(dial: &Dial, path: &str, why: &str) -> Result<(), Failure> {
    let events = dial.request("GET", path).events().await?;
    if events.answer.status != 401 {
        return Err(events.fail(
            format!("GET {path} {why} answered {}; expected 401", events.answer.status),
            "401 Unauthorized, and no stream",
        ));
    }
    Ok(())
}

/// Requires `401` and no upgrade for a WebSocket handshake.
async fn expect_ws_refused(call: crate::dial::Call, why: &str) -> Result<(), Failure> {
    let line = call.line();
    match call.websocket().await? {
        Ok(ws) => {
            Err(ws.fail(format!("{line} {why} was upgraded (101)"), "401 Unauthorized, and no upgrade"))
        }
        Err(answer) => answer.expect_status(401, &format!("401 Unauthorized: {why}")),
    }
}

async fn streams_refuse_a_request_without_a_session_or_ticket(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    expect_ws_refused(dial.request("GET", "/ws"), "without a session or a ticket").await?;
    expect_ws_refused(
        dial.request("GET", "/ws").header("Cookie", "session=made-up"),
        "with a session cookie the server never issued",
    )
    .await?;
    expect_events_refused(&dial, &format!("/boards/{}/events", t.board(1)), "without a session or a ticket")
        .await
}

async fn the_session_cookie_opens_the_event_stream_and_the_websocket(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    // Other cookies around ours, as a browser sends them.
    let cookies = format!("theme=dark; {cookie}; lang=en");
    let board = t.board(1);
    let mut events =
        dial.request("GET", format!("/boards/{board}/events")).header("Cookie", &cookies).events().await?;
    events.answer.expect_status(200, "200 OK and an event stream, for the signed-in user")?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    match dial.request("GET", "/ws").header("Cookie", &cookies).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "the presence snapshot").await?;
            Ok(())
        }
        Err(answer) => Err(answer.fail(
            format!("GET /ws with the session cookie answered {}", answer.status),
            "101 Switching Protocols",
        )),
    }
}

async fn http_writes_need_the_session_and_reads_do_not(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let board = t.board(1);
    let tasks = format!("/boards/{board}/tasks");
    let anonymous = dial.request("POST", &tasks).json(&json!({"title": "Sneak in"})).send().await?;
    anonymous.expect_status(401, "401 Unauthorized: changing the board needs a session")?;
    let cookie = sign_in(&dial, "Alice").await?;
    let created = dial
        .request("POST", &tasks)
        .header("Cookie", &cookie)
        .json(&json!({"title": "Sign in"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created, with the session")?;
    let task = format!("{tasks}/task-1");
    let moved = dial.request("PATCH", &task).json(&json!({"column": "done"})).send().await?;
    moved.expect_status(401, "401 Unauthorized: moving a task needs a session")?;
    let deleted = dial.request("DELETE", &task).send().await?;
    deleted.expect_status(401, "401 Unauthorized: deleting a task needs a session")?;
    let listed = dial.request("GET", &tasks).send().await?;
    listed.expect_status(200, "200 OK: reading the board needs no session")?;
    if listed.json("the list")?.as_array().map(Vec::len) != Some(1) {
        return Err(listed.fail(
            "after a refused PATCH and DELETE the task list is not the one task",
            "the task, still in todo: a 401 changes nothing",
        ));
    }
    Ok(())
}

async fn join_must_name_the_signed_in_user(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let board = t.board(1);
    let mut ws = match dial.request("GET", "/ws").header("Cookie", &cookie).websocket().await? {
        Ok(ws) => ws,
        Err(answer) => return Err(answer.fail("GET /ws with the session was not upgraded", "101")),
    };
    ws.send_json(&join(&board, "Mallory")).await?;
    let expected =
        "{\"type\":\"error\",…}: this connection is signed in as Alice, so it may not join as Mallory";
    let got = ws.next_json(expected).await?;
    if got.get("type").and_then(Value::as_str) != Some("error") {
        return Err(
            ws.fail(format!("Alice's connection joined as Mallory: the server answered {got}"), expected)
        );
    }
    ws.send_json(&join(&board, "Alice")).await?;
    ws.expect_json(
        &json!({"type": "presence", "users": ["Alice"]}),
        "the connection stays open after the error, and joins as Alice",
    )
    .await?;
    Ok(())
}

async fn a_ticket_needs_the_session(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let anonymous = dial.request("POST", "/tickets").send().await?;
    anonymous.expect_status(401, "401 Unauthorized: a ticket is for a signed-in user")?;
    let cookie = sign_in(&dial, "Alice").await?;
    ticket(&dial, &cookie).await.map(drop)
}

async fn a_ticket_opens_one_connection_only(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let board = t.board(1);
    let first = ticket(&dial, &cookie).await?;
    let path = format!("/ws?ticket={first}");
    match dial.request("GET", &path).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            ws.expect_json(&json!({"type": "presence", "users": ["Alice"]}), "presence, as Alice").await?;
        }
        Err(answer) => {
            return Err(answer.fail(format!("GET /ws?ticket=… answered {}", answer.status), "101, once"));
        }
    }
    expect_ws_refused(dial.request("GET", &path), "with a ticket that was already used").await?;
    let second = ticket(&dial, &cookie).await?;
    let events_path = format!("/boards/{board}/events?ticket={second}");
    let events = dial.request("GET", &events_path).events().await?;
    events.answer.expect_status(200, "200 OK and an event stream, with a fresh ticket")?;
    drop(events);
    expect_events_refused(&dial, &events_path, "with a ticket that was already used").await
}

async fn an_expired_ticket_is_refused(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(200);
    let mut server = start(&t, short_vars(&t).with("TICKET_TTL_MS", ttl.as_millis())).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let stale = ticket(&dial, &cookie).await?;
    // Not synchronisation: the ticket must be older than its time to live.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    expect_ws_refused(
        dial.request("GET", format!("/ws?ticket={stale}")),
        "with a ticket past TICKET_TTL_MS=200",
    )
    .await
}

async fn signing_out_ends_the_session(t: Target) -> Result<(), Failure> {
    let dial = Dial::plain(t.addr());
    let cookie = sign_in(&dial, "Alice").await?;
    let out = dial.request("DELETE", "/session").header("Cookie", &cookie).send().await?;
    let expected = "204 No Content with a Set-Cookie: session=…; Max-Age=0 that ends the cookie";
    out.expect_status(204, expected)?;
    match set_cookie(&out) {
        Some(value)
            if has_attribute(value, "Max-Age=0") || value.to_ascii_lowercase().contains("expires=") => {}
        _ => return Err(out.fail("DELETE /session did not tell the browser to drop the cookie", expected)),
    }
    expect_ws_refused(dial.request("GET", "/ws").header("Cookie", &cookie), "with a signed-out session")
        .await?;
    let write = dial
        .request("POST", format!("/boards/{}/tasks", t.board(1)))
        .header("Cookie", &cookie)
        .json(&json!({"title": "After sign-out"}))
        .send()
        .await?;
    write.expect_status(401, "401 Unauthorized: a copy of the cookie must stop working after sign-out")
}

async fn an_expired_session_is_refused(t: Target) -> Result<(), Failure> {
    let ttl = Duration::from_millis(300);
    let mut server = start(&t, short_vars(&t).with("SESSION_TTL_MS", ttl.as_millis())).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    // Not synchronisation: the session must be older than its time to live.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    expect_ws_refused(
        server.dial.request("GET", "/ws").header("Cookie", &cookie),
        "with a session past SESSION_TTL_MS=300",
    )
    .await
}

async fn tickets_never_appear_in_the_logs(t: Target) -> Result<(), Failure> {
    t.local::<LogsCaptured>()?;
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    let mut used = Vec::new();
    let ws_ticket = ticket(&dial, &cookie).await?;
    match dial.request("GET", format!("/ws?ticket={ws_ticket}")).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(&board, "Alice")).await?;
            // The presence snapshot comes after the join was handled (and logged).
            ws.expect_json(&json!({"type": "presence"}), "presence, as Alice").await?;
        }
        Err(answer) => return Err(answer.fail("GET /ws?ticket=… was not upgraded", "101")),
    }
    used.push(ws_ticket);
    let sse_ticket = ticket(&dial, &cookie).await?;
    let mut events =
        dial.request("GET", format!("/boards/{board}/events?ticket={sse_ticket}")).events().await?;
    events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    used.push(sse_ticket);
    let logs = logs();
    if logs.trim().is_empty() {
        return Err(Failure::new(
            "the checks captured no log lines at all, so they cannot tell whether a ticket is logged",
        )
        .expected("your server's tracing lines (tests/checks.rs installs the capture)"));
    }
    for ticket in used {
        if let Some(line) = logs.lines().find(|line| line.contains(&ticket)) {
            return Err(Failure::new("a ticket appears in the server's logs")
                .sent(format!("GET /ws?ticket={ticket} (and the event stream with another)"))
                .expected("log lines without the query string: GET /ws → 101")
                .got(line.to_owned()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 4: limits

/// Requires `503` with a `Retry-After` of whole seconds.
fn expect_full(answer: &Answer, what: &str) -> Result<(), Failure> {
    let expected = "503 Service Unavailable with Retry-After: <seconds>, and no stream";
    if answer.status != 503 {
        return Err(answer.fail(
            format!("{what} beyond MAX_CONNECTIONS=2 answered {}; expected 503", answer.status),
            expected,
        ));
    }
    match answer.header("retry-after").map(|value| value.trim().parse::<u64>()) {
        Some(Ok(_)) => Ok(()),
        _ => Err(answer.fail(format!("{what} got 503 without a Retry-After in seconds"), expected)),
    }
}

async fn over_max_connections_the_next_stream_gets_503_with_retry_after(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t).with("MAX_CONNECTIONS", 2)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    let ws_call = || dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref());
    let events_call =
        || dial.request("GET", format!("/boards/{board}/events")).header_opt("Cookie", cookie.as_deref());

    let mut first = match ws_call().websocket().await? {
        Ok(ws) => ws,
        Err(answer) => return Err(answer.fail("the first WebSocket was refused", "101: one of two places")),
    };
    first.send_json(&join(&board, "Alice")).await?;
    first.expect_json(&json!({"type": "presence"}), "presence: the first connection works").await?;
    let mut stream = events_call().events().await?;
    stream.answer.expect_status(200, "200 and an event stream: the second of two places")?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;

    match ws_call().websocket().await? {
        Ok(ws) => {
            return Err(ws.fail(
                "a third connection with MAX_CONNECTIONS=2 was upgraded (101)",
                "503 with Retry-After: WebSockets and event streams count together",
            ));
        }
        Err(answer) => expect_full(&answer, "a WebSocket")?,
    }
    let refused = events_call().events().await?;
    expect_full(&refused.answer, "an event stream")?;
    drop(refused);

    // Everyone else carries on: plain requests, and the open connections.
    let tasks = dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
    tasks.expect_status(200, "200: MAX_CONNECTIONS counts only WebSockets and event streams")?;
    first.send_json(&join(&board, "Alice")).await?;
    let got = first.next_json("an error for the second join: the open socket still works").await?;
    if got.get("type").and_then(Value::as_str) != Some("error") {
        return Err(
            first.fail(format!("after a 503 to another client, the open socket answered {got}"), "an error")
        );
    }

    // A connection that ends gives its place back. How soon after the close
    // the server notices is not part of the contract: retry until a deadline.
    first.close().await;
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        match ws_call().websocket().await? {
            Ok(_) => return Ok(()),
            Err(answer) if tokio::time::Instant::now() >= deadline => {
                return Err(answer.fail(
                    "a WebSocket that closed did not give its place back: 5 s later, still 503",
                    "101: the closed connection's place is free again",
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn a_client_sending_faster_than_the_rate_limit_is_closed_with_1008(t: Target) -> Result<(), Failure> {
    let limit = 5;
    let mut server = start(&t, short_vars(&t).with("RATE_LIMIT_PER_S", limit)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    let mut alice =
        match dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await? {
            Ok(ws) => ws,
            Err(answer) => return Err(answer.fail("GET /ws was not upgraded", "101")),
        };
    // A second's worth at once is within the limit: join, then four more
    // messages that each get an answer (a second join is an error).
    alice.send_json(&join(&board, "Alice")).await?;
    alice.expect_json(&json!({"type": "presence"}), "presence").await?;
    for n in 2..=limit {
        alice.send_json(&join(&board, "Alice")).await?;
        let why = format!(
            "an error for message {n} of {limit}: {limit} messages at once are within RATE_LIMIT_PER_S={limit}"
        );
        let got = alice.next_json(&why).await?;
        if got.get("type").and_then(Value::as_str) != Some("error") {
            return Err(alice.fail(format!("message {n} of {limit} got {got}"), why));
        }
    }
    alice.note(format!("→ {} more messages, as fast as they go", 4 * limit));
    for _ in 0..4 * limit {
        if alice.send_json(&json!({"type": "typing", "taskId": "task-1"})).await.is_err() {
            break;
        }
    }
    alice
        .expect_close(
            1008,
            &format!("close 1008 (policy violation): more than RATE_LIMIT_PER_S={limit} messages a second"),
        )
        .await?;
    // Nobody else pays for it.
    let outcome = sign_in_if_offered(&dial, "Bob").await;
    let bob_cookie = server.explain(outcome).await?;
    match dial.request("GET", "/ws").header_opt("Cookie", bob_cookie.as_deref()).websocket().await? {
        Ok(mut bob) => {
            bob.send_json(&join(&board, "Bob")).await?;
            bob.expect_json(&json!({"type": "presence", "users": ["Bob"]}), "Bob joins, alone").await?;
            Ok(())
        }
        Err(answer) => Err(answer.fail("after Alice was closed, Bob's WebSocket was refused", "101")),
    }
}

async fn a_client_that_stops_reading_is_dropped_without_delaying_the_others(
    t: Target,
) -> Result<(), Failure> {
    let vars = short_vars(&t).with("WRITE_TIMEOUT_MS", 300).with("RATE_LIMIT_PER_S", 1_000_000);
    let mut server = start(&t, vars).await?;
    let board = t.board(1);
    let dial = server.dial.clone();
    let outcome = sign_in_if_offered(&dial, "Olivia").await;
    server.explain(outcome).await?;
    // Sam's small receive buffer fills soon; then Sam reads nothing at all.
    let sam = member(&dial.clone().with_recv_buffer(4096), &board, "Sam").await?;
    let mut olivia = member(&dial, &board, "Olivia").await?;
    let mut tom = member(&dial, &board, "Tom").await?;
    olivia.expect_json(&json!({"type": "joined", "user": "Tom"}), "Tom joined").await?;
    olivia.note("sam ✕ stops reading");

    // Tom types on tasks with long ids, in rounds, until the server drops
    // Sam (Olivia hears that Sam left) — at most 32 MiB, far more than any
    // socket buffer holds.
    let id_bytes = 32 * 1024;
    let mut sent = 0usize;
    let mut sam_left = false;
    while !sam_left && sent < 32 * 1024 * 1024 {
        let tasks: Vec<String> =
            (0..16).map(|n| format!("task-{sent}-{n}-{}", "x".repeat(id_bytes))).collect();
        for task in &tasks {
            tom.send_json(&json!({"type": "typing", "taskId": task})).await?;
            tom.send_json(&json!({"type": "typing_stopped", "taskId": task})).await?;
            sent += 2 * id_bytes;
        }
        for task in &tasks {
            for kind in ["typing", "typing_stopped"] {
                let why = "Tom's typing reaches Olivia in full and in order while Sam reads nothing";
                let mut got = olivia.next_json(why).await?;
                if json_matches(&json!({"type": "left", "user": "Sam"}), &got) {
                    sam_left = true;
                    got = olivia.next_json(why).await?;
                }
                if !json_matches(&json!({"type": kind, "user": "Tom", "taskId": task}), &got) {
                    return Err(
                        olivia.fail(format!("Olivia expected Tom's {kind}, got another message"), why)
                    );
                }
            }
        }
    }
    if !sam_left {
        tom.send_json(&json!({"type": "typing", "taskId": "task-marker"})).await?;
        let why = "{\"type\":\"left\",\"user\":\"Sam\"}: Sam read nothing for longer than WRITE_TIMEOUT_MS=300, \
                   so the server dropped him";
        let got = olivia.next_json(why).await?;
        if !json_matches(&json!({"type": "left", "user": "Sam"}), &got) {
            return Err(olivia.fail(
                format!(
                    "Sam read nothing while {} MiB waited for him, and was not dropped",
                    sent / (1024 * 1024)
                ),
                why,
            ));
        }
    }
    drop(sam);
    Ok(())
}

/// Signs `user` in (if the server offers it), opens a WebSocket and joins `board`.
async fn member(dial: &Dial, board: &str, user: &str) -> Result<crate::dial::Ws, Failure> {
    let cookie = sign_in_if_offered(dial, user).await?;
    match dial.request("GET", "/ws").header_opt("Cookie", cookie.as_deref()).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&join(board, user)).await?;
            ws.expect_json(&json!({"type": "presence"}), "presence").await?;
            Ok(ws)
        }
        Err(answer) => Err(answer.fail(format!("{user}'s WebSocket was refused"), "101")),
    }
}

async fn slow_handshakes_and_request_heads_are_cut_off(t: Target) -> Result<(), Failure> {
    let timeout_ms = 300;
    let mut server = start(&t, short_vars(&t).with("HANDSHAKE_TIMEOUT_MS", timeout_ms)).await?;
    let addr = server.dial.addr();
    let head = format!("GET /boards/{}/tasks HTTP/1.1\r\nHost: {addr}\r\n", t.board(1));
    let outcome = silent_after(addr, head.as_bytes()).await;
    let got = server.explain(outcome).await?;
    if got == TIMED_OUT {
        return Err(Failure::new(format!(
            "a request head left unfinished was still open 5 s later (HANDSHAKE_TIMEOUT_MS={timeout_ms})"
        ))
        .sent(format!(
            "> GET /boards/{}/tasks HTTP/1.1\n> Host: {addr}\n(and then nothing: no blank line)",
            t.board(1)
        ))
        .expected("the connection closed (or 408) soon after HANDSHAKE_TIMEOUT_MS")
        .got(got));
    }
    let answer = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200: the server keeps serving everyone else")?;

    let mut tls = start_tls(&t, short_vars(&t).with("HANDSHAKE_TIMEOUT_MS", timeout_ms)).await?;
    let outcome = silent_after(tls.dial.addr(), b"").await;
    let got = tls.explain(outcome).await?;
    if got == TIMED_OUT {
        return Err(Failure::new(format!(
            "a TCP connection to the TLS port that never started its TLS handshake was still open 5 s \
             later (HANDSHAKE_TIMEOUT_MS={timeout_ms})"
        ))
        .sent("(a TCP connection, and not a byte)")
        .expected("the connection closed soon after HANDSHAKE_TIMEOUT_MS")
        .got(got));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 5: graceful shutdown

async fn shutdown_closes_every_websocket_with_1001(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    server.explain(outcome).await?;
    let board = t.board(1);
    let mut alice = member(&server.dial, &board, "Alice").await?;
    let mut bob = member(&server.dial, &board, "Bob").await?;
    alice.expect_json(&json!({"type": "joined", "user": "Bob"}), "Bob joined").await?;
    alice.note("(the server is told to shut down)");
    bob.note("(the server is told to shut down)");
    server.shut_down();
    let expected = "close 1001 (going away): the server is shutting down, and the page reconnects elsewhere";
    alice.expect_close(1001, expected).await.map_err(on_shutdown)?;
    bob.expect_close(1001, expected).await.map_err(on_shutdown)
}

/// Says in the headline that the failure came on shutdown.
fn on_shutdown(failure: Failure) -> Failure {
    Failure { headline: format!("on shutdown, {}", failure.headline), ..failure }
}

async fn shutdown_ends_every_event_stream_after_a_jittered_retry(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let board = t.board(1);
    let mut streams = Vec::new();
    for _ in 0..3 {
        let call = server.dial.request("GET", format!("/boards/{board}/events"));
        let mut events = call.header_opt("Cookie", cookie.as_deref()).events().await?;
        events.answer.expect_status(200, "200 and an event stream")?;
        events.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
        streams.push(events);
    }
    server.shut_down();
    let mut retries = Vec::new();
    for events in &mut streams {
        let expected = "a last retry: line, then the end of the response, so that EventSource reconnects";
        let items = events.until_end(ANSWER_TIMEOUT, expected).await.map_err(on_shutdown)?;
        match items.iter().rev().find_map(|item| if let Item::Retry(ms) = item { Some(*ms) } else { None }) {
            Some(ms) => retries.push(ms),
            None => {
                return Err(events.fail("the stream ended on shutdown without a retry: line", expected));
            }
        }
    }
    if retries.windows(2).all(|pair| pair[0] == pair[1]) {
        return Err(Failure::new(format!(
            "three event streams ended on shutdown with the same retry: {} ms",
            retries[0]
        ))
        .expected("a retry: drawn at random for each stream, so that clients come back spread out")
        .got(format!("retry: {retries:?}")));
    }
    Ok(())
}

async fn shutdown_is_over_within_the_grace_even_if_a_request_never_ends(t: Target) -> Result<(), Failure> {
    let grace = Duration::from_millis(500);
    let mut server = start(&t, short_vars(&t).with("SHUTDOWN_GRACE_MS", grace.as_millis())).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let addr = server.dial.addr();
    // A request whose body never finishes: in flight for as long as the
    // server lets it be.
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let head = format!(
        "POST /boards/{}/tasks HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n{}\r\n{{\"title\":",
        t.board(1),
        cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default()
    );
    let _ = tcp.write_all(head.as_bytes()).await;
    // A round trip on another connection: the first one's head is read by now.
    let answer = server.dial.request("GET", format!("/boards/{}/tasks", t.board(1))).send().await?;
    answer.expect_status(200, "200")?;
    server.shut_down();
    let started = tokio::time::Instant::now();
    let within = grace + Duration::from_secs(3);
    match timeout(within, &mut server.task).await {
        Ok(_) => Ok(()),
        Err(_) => Err(Failure::new(format!(
            "the server was still running {} ms after it was told to shut down (SHUTDOWN_GRACE_MS={})",
            started.elapsed().as_millis(),
            grace.as_millis()
        ))
        .sent(format!("{}(a POST whose body never ends), then shutdown", head.replace("\r\n", "\n")))
        .expected("serve() returns within SHUTDOWN_GRACE_MS, whatever its clients do")
        .got("serve() had not returned")),
    }
}

async fn no_event_accepted_before_shutdown_is_lost_across_a_restart(t: Target) -> Result<(), Failure> {
    let keep = Keep::default();
    let mut first = start_keeping(&t, short_vars(&t), keep.clone()).await?;
    let outcome = sign_in_if_offered(&first.dial, "Alice").await;
    let cookie = first.explain(outcome).await?;
    let board = t.board(1);
    let events_path = format!("/boards/{board}/events");
    let mut stream =
        first.dial.request("GET", &events_path).header_opt("Cookie", cookie.as_deref()).events().await?;
    stream.answer.expect_status(200, "200 and an event stream")?;
    let snapshot = stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    // Five tasks, each accepted (201) before the shutdown begins.
    let titles: Vec<String> = (1..=5).map(|n| format!("Accepted before shutdown {n}")).collect();
    for title in &titles {
        let created = first
            .dial
            .request("POST", format!("/boards/{board}/tasks"))
            .header_opt("Cookie", cookie.as_deref())
            .json(&json!({ "title": title }))
            .send()
            .await?;
        created.expect_status(201, "201 Created")?;
    }
    first.shut_down();
    let expected = "the stream ends on shutdown (the events it had not sent yet come on reconnecting)";
    stream.until_end(ANSWER_TIMEOUT, expected).await.map_err(on_shutdown)?;
    timeout(ANSWER_TIMEOUT, &mut first.task).await.ok();
    // The worst case: a client that had received nothing after the snapshot
    // when its stream ended. It must get all five, from the next server.
    let last_id = snapshot.last_event_id.clone();
    let mut seen: Vec<String> = Vec::new();

    // The next instance, on the same state; the same page reconnects.
    let mut second = start_keeping(&t, short_vars(&t), first.keep.clone()).await?;
    let again = second
        .dial
        .request("GET", &events_path)
        .header_opt("Cookie", cookie.as_deref())
        .header("Last-Event-ID", &last_id);
    let outcome = again.events().await;
    let mut resumed = second.explain(outcome).await?;
    resumed.answer.expect_status(200, "200 and the replay after Last-Event-ID")?;
    while seen.len() < titles.len() {
        let why = format!(
            "after reconnecting with Last-Event-ID: {last_id} (the snapshot's), the replay of the tasks \
             created before the shutdown ({} of {} so far)",
            seen.len(),
            titles.len()
        );
        let event = resumed.next_event(ANSWER_TIMEOUT, &why).await?;
        match event.name.as_str() {
            "task_created" => seen.push(task_title(&event.data)),
            "reset" | "snapshot" => {
                return Err(resumed.fail(format!("the restarted server answered event: {}", event.name), why));
            }
            _ => {}
        }
    }
    if seen != titles {
        return Err(Failure::new("the events before and after the restart are not each task once, in order")
            .expected(titles.join("\n"))
            .got(seen.join("\n")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Stage 6: health and metrics

async fn healthz_answers_200_while_serving_and_503_while_draining(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t)).await?;
    let outcome = server.dial.request("GET", "/healthz").send().await;
    let serving = server.explain(outcome).await?;
    serving.expect_status(200, "200 OK while the server serves")?;
    let mut alice = member(&server.dial, &t.board(1), "Alice").await?;
    // A request that has begun but whose head is not finished yet: it will
    // be answered, even once the server drains.
    let addr = server.dial.addr();
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n");
    let _ = tcp.write_all(head.as_bytes()).await;
    let again = server.dial.request("GET", "/healthz").send().await?;
    again.expect_status(200, "200 OK while the server serves")?;
    server.shut_down();
    // Alice's close frame says the server is draining now.
    alice.expect_close(1001, "close 1001: the server drains").await.map_err(on_shutdown)?;
    let _ = tcp.write_all(b"\r\n").await;
    let sent =
        format!("> GET /healthz HTTP/1.1\n> Host: {addr}\n(the last line sent once the server drains)");
    let mut got = Vec::new();
    let read = timeout(ANSWER_TIMEOUT, async {
        let mut buffer = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let status_line = String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned();
    if read.is_ok() && status_line.starts_with("HTTP/1.1 503") {
        return Ok(());
    }
    let got = if got.is_empty() { "(no response)".to_owned() } else { status_line };
    Err(Failure::new(format!("GET /healthz while the server drains answered {got}; expected 503"))
        .sent(sent)
        .expected("503 Service Unavailable: a load balancer must stop sending new clients here")
        .got(got))
}

/// The value of the sample `key` (a name, with its labels) in a scrape.
fn sample(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

/// `GET /metrics`, requiring the sample `key` to hold `want` (or at least
/// `want`, with `at_least`).
async fn expect_sample(dial: &Dial, key: &str, want: f64, at_least: bool, why: &str) -> Result<f64, Failure> {
    let answer = dial.request("GET", "/metrics").send().await?;
    let expected = format!("{key} {}{want} ({why})", if at_least { "≥ " } else { "" });
    answer.expect_status(200, &expected)?;
    let content_type = answer.header("content-type").unwrap_or("");
    if !(content_type.starts_with("application/openmetrics-text") || content_type.starts_with("text/plain")) {
        return Err(answer.fail(
            format!("GET /metrics answered Content-Type {content_type:?}, not Prometheus's text format"),
            "Content-Type: application/openmetrics-text (or text/plain; version=0.0.4)",
        ));
    }
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    match sample(&text, key) {
        Some(value) if value == want || (at_least && value >= want) => Ok(value),
        Some(value) => {
            Err(answer.fail(format!("GET /metrics says {key} {value}; expected {want}"), expected))
        }
        None => Err(answer.fail(format!("GET /metrics has no sample {key}"), expected)),
    }
}

async fn metrics_count_open_connections_deliveries_and_evictions(t: Target) -> Result<(), Failure> {
    let mut server = start(&t, short_vars(&t).with("RATE_LIMIT_PER_S", 5)).await?;
    let outcome = sign_in_if_offered(&server.dial, "Alice").await;
    let cookie = server.explain(outcome).await?;
    let dial = server.dial.clone();
    let board = t.board(1);
    expect_sample(&dial, "board_websockets_open", 0.0, false, "no WebSocket yet").await?;
    let _alice = member(&dial, &board, "Alice").await?;
    let _bob = member(&dial, &board, "Bob").await?;
    let mut stream = dial
        .request("GET", format!("/boards/{board}/events"))
        .header_opt("Cookie", cookie.as_deref())
        .events()
        .await?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    expect_sample(&dial, "board_websockets_open", 2.0, false, "Alice's and Bob's").await?;
    expect_sample(&dial, "board_event_streams_open", 1.0, false, "one stream").await?;
    let before = expect_sample(&dial, "board_events_delivered_total", 1.0, true, "the snapshot").await?;
    let created = dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header_opt("Cookie", cookie.as_deref())
        .json(&json!({"title": "Count me"}))
        .send()
        .await?;
    created.expect_status(201, "201 Created")?;
    stream.next_event(ANSWER_TIMEOUT, "event: task_created").await?;
    expect_sample(&dial, "board_events_delivered_total", before + 1.0, true, "one more: task_created")
        .await?;
    let mut carol = member(&dial, &board, "Carol").await?;
    for _ in 0..20 {
        if carol.send_json(&json!({"type": "typing", "taskId": "task-1"})).await.is_err() {
            break;
        }
    }
    carol.expect_close(1008, "close 1008: Carol sent more than RATE_LIMIT_PER_S=5").await?;
    expect_sample(&dial, "board_clients_evicted_total{reason=\"rate_limit\"}", 1.0, false, "Carol").await?;
    Ok(())
}

/// The title of a `task_created` event's task.
fn task_title(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|task| task.get("title").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| data.to_owned())
}

/// Sends `bytes`, then nothing, and waits for the server to close the
/// connection; [`TIMED_OUT`] when it is still open after 5 s.
async fn silent_after(addr: SocketAddr, bytes: &[u8]) -> Result<String, Failure> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::no_answer(format!("could not connect to {addr}: {e}")))?;
    let _ = tcp.write_all(bytes).await;
    let mut got = Vec::new();
    let read = timeout(ANSWER_TIMEOUT, async {
        let mut buffer = [0u8; 1024];
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        return Ok(TIMED_OUT.to_owned());
    }
    let first_line = String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned();
    Ok(if got.is_empty() { "(the connection closed)".to_owned() } else { first_line })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn cookie_attributes_are_found_in_any_case() {
        let cookie = "session=abc; Path=/; httponly; SameSite=Lax; Max-Age=60";
        assert!(has_attribute(cookie, "HttpOnly"));
        assert!(has_attribute(cookie, "SameSite=Lax"));
        assert!(!has_attribute(cookie, "Secure"));
        assert!(!has_attribute("session=HttpOnly", "HttpOnly"));
    }

    #[test]
    fn samples_are_read_by_name_and_labels() {
        let text = "# TYPE board_websockets_open gauge\nboard_websockets_open 2\n\
                    board_clients_evicted_total{reason=\"rate_limit\"} 1 1700000000\n# EOF\n";
        assert_eq!(sample(text, "board_websockets_open"), Some(2.0));
        assert_eq!(sample(text, "board_clients_evicted_total{reason=\"rate_limit\"}"), Some(1.0));
        assert_eq!(sample(text, "board_websockets"), None);
    }

    #[test]
    fn vars_hold_the_tunables() {
        let vars = Vars::from_tunables(Tunables::PRODUCTION).with("TICKET_TTL_MS", 200);
        assert_eq!(vars.get("HEARTBEAT_MS").as_deref(), Some("10000"));
        assert_eq!(vars.get("TICKET_TTL_MS").as_deref(), Some("200"));
        assert_eq!(vars.get("TLS_CERT"), None);
    }

    #[test]
    fn the_log_writer_keeps_what_it_is_given() {
        let _ = LogWriter.write_all(b"GET /ws \xe2\x86\x92 101\n");
        assert!(logs().contains("GET /ws → 101"));
    }
}
