//! Chapter 3, "How WebSockets work: the upgrade handshake": the opening
//! handshake of RFC 6455, by hand, on a raw TCP listener.
//!
//! The contract (the book's chapter 3 is the final word): `GET /ws` with
//! `Upgrade: websocket`, `Connection: Upgrade`, a `Sec-WebSocket-Key` of 16
//! base64 bytes and `Sec-WebSocket-Version: 13` gets `101 Switching
//! Protocols` with the key's `Sec-WebSocket-Accept`, then one text frame
//! ([`GREETING`]) and a close frame with code 1000. Anything else gets an
//! HTTP answer and the connection closes: `426` (no WebSocket upgrade, or a
//! version other than 13), `400` (a malformed handshake or request), `405`
//! (not GET), `404` (not `/ws`), `431` or `400` (a head over 8 KiB).
//!
//! Almost every check talks through a [`RawClient`](crate::raw::RawClient),
//! because the point is what a server does with bytes that a polite client
//! library would never send. One check uses tokio-tungstenite, a real client.
//!
//! One file per stage holds its checks, each declared with `check!` just
//! above its body, so the hints sit next to the code they explain;
//! `helpers` holds what several stages share. `CHECKS` lists them all in
//! stage order.

mod accept;
mod greeting;
mod headers;
mod helpers;
mod refusals;
mod robustness;
mod upgrade;
mod version;

use crate::{Chapter, Check, Section, Stage, Tunables};

pub const CHAPTER: Chapter = Chapter {
    number: 3,
    slug: "03-handshake",
    title: "How WebSockets work: the upgrade handshake",
    tunables: Tunables::PRODUCTION,
    checks: CHECKS,
};

/// The text of the one message the server sends after the `101`.
pub const GREETING: &str = "Hello from the task board!";

/// The learner's `accept_key`, handed over by `tests/checks.rs`:
/// `Locals::new().with(chapter03::AcceptKey(server::accept_key))`.
#[derive(Debug, Clone, Copy)]
pub struct AcceptKey(pub fn(&str) -> String);

/// The chapter's limit on a request head.
const HEAD_LIMIT: &str = "8 KiB";

const PAGE: &str = "ch03-handshake.md";

const ACCEPT: Stage = Stage { number: 1, slug: "accept", title: "Compute Sec-WebSocket-Accept" };
const UPGRADE: Stage = Stage { number: 2, slug: "upgrade", title: "Answer 101 Switching Protocols" };
const GREETING_STAGE: Stage = Stage { number: 3, slug: "greeting", title: "Greet, then close" };
const HEADERS: Stage = Stage { number: 4, slug: "headers", title: "Read headers the way HTTP does" };
const VERSION: Stage = Stage { number: 5, slug: "version", title: "Negotiate the version" };
const REFUSALS: Stage = Stage { number: 6, slug: "refusals", title: "Say no with the right status" };
const ROBUSTNESS: Stage = Stage { number: 7, slug: "robustness", title: "Read bytes as they come" };

const ACCEPT_SECTION: Section =
    Section { page: PAGE, anchor: "computing-sec-websocket-accept", title: "Computing Sec-WebSocket-Accept" };
const UPGRADE_SECTION: Section = Section {
    page: PAGE,
    anchor: "answering-101-switching-protocols",
    title: "Answering 101 Switching Protocols",
};
const GREETING_SECTION: Section = Section {
    page: PAGE,
    anchor: "after-the-101-a-greeting-and-a-close",
    title: "After the 101: a greeting and a close",
};
const HEADERS_SECTION: Section = Section {
    page: PAGE,
    anchor: "reading-headers-the-way-http-does",
    title: "Reading headers the way HTTP does",
};
const VERSION_SECTION: Section =
    Section { page: PAGE, anchor: "version-negotiation", title: "Version negotiation" };
const REFUSALS_SECTION: Section = Section {
    page: PAGE,
    anchor: "saying-no-with-the-right-status",
    title: "Saying no with the right status",
};
const ROBUSTNESS_SECTION: Section =
    Section { page: PAGE, anchor: "reading-bytes-as-they-come", title: "Reading bytes as they come" };

const CHECKS: &[Check] = &[
    accept::accept_key_matches_the_rfc_example::CHECK,
    upgrade::the_seeds_request_gets_101_switching_protocols::CHECK,
    upgrade::each_key_gets_its_own_accept_value::CHECK,
    greeting::after_the_101_comes_a_greeting_then_a_close::CHECK,
    greeting::a_websocket_client_receives_the_greeting_and_a_close::CHECK,
    headers::header_names_match_in_any_case::CHECK,
    headers::connection_is_a_list_of_tokens::CHECK,
    headers::the_upgrade_value_matches_in_any_case::CHECK,
    headers::a_browsers_handshake_gets_101_without_extensions::CHECK,
    version::an_unsupported_version_gets_426_with_version_13::CHECK,
    version::a_missing_version_gets_426_with_version_13::CHECK,
    refusals::a_plain_get_gets_426_upgrade_required::CHECK,
    refusals::a_missing_or_malformed_key_gets_400::CHECK,
    refusals::a_request_without_host_gets_400::CHECK,
    refusals::a_connection_header_without_upgrade_gets_400::CHECK,
    refusals::an_http_1_0_request_gets_400::CHECK,
    refusals::other_methods_get_405_with_allow_get::CHECK,
    refusals::the_path_is_matched_without_its_query::CHECK,
    refusals::other_paths_get_404::CHECK,
    refusals::a_refusal_explains_itself_and_closes_the_connection::CHECK,
    robustness::a_request_sent_one_byte_at_a_time_gets_101::CHECK,
    robustness::heads_up_to_8_kib_are_read_and_larger_ones_get_431::CHECK,
    robustness::garbage_gets_400_and_the_next_client_is_served::CHECK,
    robustness::a_client_that_hangs_up_mid_request_does_not_stop_the_server::CHECK,
    robustness::a_slow_client_does_not_hold_up_the_next_one::CHECK,
];
