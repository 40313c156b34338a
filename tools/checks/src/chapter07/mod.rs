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
//! TLS client comes the same way, as a [`TlsKit`](crate::dial::TlsKit) from `course-checks-tls`,
//! so no earlier chapter compiles rustls.
//! One check runs the binary itself ([`Binary`], in `process`), because
//! only a process shows what SIGTERM does and when the process exits.
//!
//! Checks of the first stages run before authentication exists, and keep
//! working after: they sign in *if the server offers it* (`POST /session`
//! answers `204` with a cookie) and carry the cookie; otherwise they go
//! without.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `launch`, `servers`, `sign_in` and `helpers` hold what several stages
//! share. `CHECKS` lists them all in stage order.

mod auth;
mod helpers;
mod launch;
mod limits;
mod operable;
mod origin;
mod process;
mod servers;
mod shutdown;
mod sign_in;
mod tls;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub use launch::{Keep, Launch, LogWriter, LogsCaptured, Serving, Stop, Vars};
pub use process::Binary;

pub const CHAPTER: Chapter = Chapter {
    number: 7,
    slug: "07-production",
    title: "Running it in production",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

const PAGE: &str = "ch07-production.md";

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
const RUNS_THE_BINARY: &str = "runs the server's binary, and sends it SIGTERM (run it in-process)";

const CHECKS: &[Check] = &[
    tls::https_serves_the_api_to_a_client_that_trusts_only_the_test_ca::CHECK,
    tls::the_event_stream_works_over_https::CHECK,
    tls::a_websocket_works_over_wss::CHECK,
    tls::plain_http_to_the_tls_port_is_refused_and_the_server_keeps_serving::CHECK,
    origin::a_websocket_handshake_from_an_unknown_origin_gets_403::CHECK,
    origin::a_websocket_handshake_from_an_allowed_origin_or_none_is_upgraded::CHECK,
    origin::allowed_origins_come_from_the_setting::CHECK,
    origin::cors_answers_allowed_origins_only::CHECK,
    auth::signing_in_sets_an_httponly_samesite_session_cookie::CHECK,
    auth::the_session_cookie_is_secure_under_tls::CHECK,
    auth::streams_refuse_a_request_without_a_session_or_ticket::CHECK,
    auth::the_session_cookie_opens_the_event_stream_and_the_websocket::CHECK,
    auth::http_writes_need_the_session_and_reads_do_not::CHECK,
    auth::join_must_name_the_signed_in_user::CHECK,
    auth::a_ticket_needs_the_session::CHECK,
    auth::a_ticket_opens_one_connection_only::CHECK,
    auth::an_expired_ticket_is_refused::CHECK,
    auth::signing_out_ends_the_session::CHECK,
    auth::an_expired_session_is_refused::CHECK,
    auth::tickets_never_appear_in_the_logs::CHECK,
    limits::over_max_connections_the_next_stream_gets_503_with_retry_after::CHECK,
    limits::a_client_sending_faster_than_the_rate_limit_is_closed_with_1008::CHECK,
    limits::a_client_that_stops_reading_is_dropped_without_delaying_the_others::CHECK,
    limits::slow_handshakes_and_request_heads_are_cut_off::CHECK,
    shutdown::shutdown_closes_every_websocket_with_1001::CHECK,
    shutdown::shutdown_ends_every_event_stream_after_a_jittered_retry::CHECK,
    shutdown::shutdown_is_over_within_the_grace_even_if_a_request_never_ends::CHECK,
    shutdown::no_event_accepted_before_shutdown_is_lost_across_a_restart::CHECK,
    shutdown::on_sigterm_the_binary_drains_and_answers_the_request_in_flight::CHECK,
    operable::healthz_answers_200_while_serving_and_503_while_draining::CHECK,
    operable::metrics_count_open_connections_deliveries_and_evictions::CHECK,
    operable::metrics_count_a_client_dropped_for_not_reading::CHECK,
];
