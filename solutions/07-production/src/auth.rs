//! Who is asking: sessions, one-time tickets, and the gate that asks for them.
//!
//! The browser APIs set the limits. `fetch` can send anything, but
//! `EventSource` and `WebSocket` can send no header of their own — no
//! `Authorization: Bearer …`. What they do send is the site's cookies. So:
//!
//! - `POST /session {"user"}` signs in: the answer sets a session cookie,
//!   `HttpOnly` (no script can read it, so no injected script can steal it),
//!   `SameSite=Lax` (other sites' pages don't get it sent with their
//!   requests), and `Secure` under TLS (never sent over plain HTTP).
//! - The event stream and the WebSocket go through with that cookie.
//! - Where a cookie can't go — a page on another site, a client that keeps
//!   no cookies — `POST /tickets` (with the session) hands out a ticket: a
//!   random string, good for one connection within `TICKET_TTL_MS`, passed
//!   as `?ticket=`. A URL ends up in logs and histories; a ticket that is
//!   already used or expired is worth nothing there. (And this server never
//!   logs a query string: see `access.rs`.)
//!
//! This course's sign-in trusts the name it is given: a real one checks a
//! password, or hands over to an identity provider, at exactly this point.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{ApiError, ApiJson};

/// The session cookie's name.
pub const COOKIE: &str = "session";

/// At most this many sessions (and as many tickets) are kept. When a new
/// one would go over, the oldest goes: a flood of sign-ins costs the
/// server a bounded amount of memory, and the victims only sign in again.
pub const MAX_SESSIONS: usize = 100_000;

/// Random bytes in a session id or a ticket: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// The signed-in user a request speaks for. The gate puts it in the
/// request's extensions; the WebSocket handler takes it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User(pub String);

/// Sessions and tickets, shared by every request.
#[derive(Debug, Clone)]
pub struct Auth {
    sessions: Arc<Mutex<Expiring>>,
    tickets: Arc<Mutex<Expiring>>,
    /// Whether cookies get `Secure`: only when this server speaks TLS.
    secure: bool,
    session_ttl: Duration,
}

impl Auth {
    pub fn new(config: &Config) -> Self {
        Auth {
            sessions: Arc::new(Mutex::new(Expiring::new(config.session_ttl, MAX_SESSIONS))),
            tickets: Arc::new(Mutex::new(Expiring::new(config.ticket_ttl, MAX_SESSIONS))),
            secure: config.tls.is_some(),
            session_ttl: config.session_ttl,
        }
    }

    /// The user of the request's session cookie, if it is a live session.
    fn session_user(&self, headers: &HeaderMap) -> Option<User> {
        let id = session_cookie(headers)?;
        lock(&self.sessions).get(id, Instant::now()).map(|user| User(user.to_owned()))
    }

    /// The user a ticket was issued to — once: the ticket is gone afterwards.
    fn redeem(&self, ticket: &str) -> Option<User> {
        lock(&self.tickets).take(ticket, Instant::now()).map(User)
    }

    /// The `Set-Cookie` value for a session, or for ending one (`None`).
    fn cookie(&self, session: Option<&str>) -> String {
        let (value, max_age) = match session {
            Some(id) => (id, self.session_ttl.as_secs().max(1)),
            None => ("", 0),
        };
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
    }
}

/// The stores are only ever locked for a map operation, never across an
/// `.await`, so a std mutex is right. A panic while one was held left it
/// consistent (every operation is one insert or remove), so carry on.
fn lock(store: &Mutex<Expiring>) -> MutexGuard<'_, Expiring> {
    store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ANCHOR: policy
/// What a route asks of a request before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// The session cookie.
    Session,
    /// The session cookie, or a ticket in `?ticket=`: the event stream and
    /// the WebSocket, which can't send a header of their own.
    SessionOrTicket,
}

/// The whole policy, in one place: who may do what.
fn needs(method: &Method, route: &str) -> Needs {
    match route {
        "/ws" | "/boards/{board}/events" => Needs::SessionOrTicket,
        "/tickets" => Needs::Session,
        // Reading the board is public; changing it is not.
        _ if route.starts_with("/boards/") && !method.is_safe() => Needs::Session,
        _ => Needs::Nothing,
    }
}
// ANCHOR_END: policy

// ANCHOR: gate
/// Middleware: lets a request through when it brings what its route needs,
/// with the [`User`] it speaks for; otherwise `401`, and no handler runs —
/// for the WebSocket, nothing is upgraded.
pub async fn gate(
    State(auth): State<Auth>,
    route: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = route.as_ref().map_or("", MatchedPath::as_str);
    let user = match needs(request.method(), route) {
        Needs::Nothing => return next.run(request).await,
        Needs::Session => auth.session_user(request.headers()).ok_or("sign in first: POST /session"),
        Needs::SessionOrTicket => match ticket(request.uri().query()) {
            // A ticket, when there is one, decides on its own.
            Some(ticket) => auth.redeem(ticket).ok_or("this ticket is used, expired or unknown"),
            None => auth.session_user(request.headers()).ok_or("sign in first, or bring a ?ticket="),
        },
    };
    match user {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(why) => (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response(),
    }
}
// ANCHOR_END: gate

/// The body of `POST /session`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    pub user: String,
}

// ANCHOR: handlers
/// `POST /session {"user"}` → `204` and the session cookie.
pub async fn sign_in(
    State(auth): State<Auth>,
    ApiJson(SignIn { user }): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(ApiError::BadBody {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "a session needs a user that is not empty".into(),
        });
    }
    let id = lock(&auth.sessions).insert(user.to_owned(), Instant::now());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth.cookie(Some(&id)))]).into_response())
}

/// `DELETE /session` → `204`; the session is over, here and in the browser.
pub async fn sign_out(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        lock(&auth.sessions).remove(id);
    }
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth.cookie(None))]).into_response()
}

/// `POST /tickets` (the gate has checked the session) → `201 {"ticket"}`.
pub async fn issue_ticket(
    State(auth): State<Auth>,
    axum::Extension(User(user)): axum::Extension<User>,
) -> Response {
    let ticket = lock(&auth.tickets).insert(user, Instant::now());
    (StatusCode::CREATED, Json(json!({ "ticket": ticket }))).into_response()
}
// ANCHOR_END: handlers

/// The session id in the request's cookies.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `ticket` parameter of a query string. Tickets are URL-safe base64,
/// so there is nothing to decode.
fn ticket(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("ticket="))
}

/// A fresh, unguessable token.
fn token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    SystemRandom::new().fill(&mut bytes).expect("the operating system's random source works");
    URL_SAFE_NO_PAD.encode(bytes)
}

// ANCHOR: expiring
/// Users by token, each for `ttl` after it was issued, and at most
/// `capacity` of them.
///
/// Every entry lives equally long, so the order they were issued in is the
/// order they expire in: a queue of tokens, oldest first, is all it takes
/// to drop the expired ones — and, when full, the oldest.
#[derive(Debug)]
struct Expiring {
    entries: HashMap<String, (String, Instant)>,
    /// Tokens, oldest first. One may have been removed from `entries`
    /// already (a used ticket, a signed-out session); it is skipped.
    order: VecDeque<String>,
    ttl: Duration,
    capacity: usize,
}

impl Expiring {
    fn new(ttl: Duration, capacity: usize) -> Self {
        Expiring { entries: HashMap::new(), order: VecDeque::new(), ttl, capacity }
    }

    /// Stores `user` under a new token, and returns the token.
    fn insert(&mut self, user: String, now: Instant) -> String {
        self.prune(now);
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else { break };
            self.entries.remove(&oldest);
        }
        let token = token();
        self.entries.insert(token.clone(), (user, now + self.ttl));
        self.order.push_back(token.clone());
        token
    }

    /// The user under `token`, while it has not expired.
    fn get(&self, token: &str, now: Instant) -> Option<&str> {
        let (user, expires) = self.entries.get(token)?;
        (now < *expires).then_some(user.as_str())
    }

    /// The user under `token`, removing it: a token taken can't be taken again.
    fn take(&mut self, token: &str, now: Instant) -> Option<String> {
        let (user, expires) = self.entries.remove(token)?;
        (now < expires).then_some(user)
    }

    fn remove(&mut self, token: &str) {
        self.entries.remove(token);
    }

    /// Drops the expired entries, and tokens no longer stored, from the front.
    fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.order.front() {
            match self.entries.get(oldest) {
                Some((_, expires)) if now < *expires => break,
                Some(_) => drop(self.entries.remove(oldest)),
                None => {}
            }
            self.order.pop_front();
        }
    }
}
// ANCHOR_END: expiring

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn a_token_is_valid_until_it_expires() {
        let mut store = Expiring::new(TTL, 10);
        let now = Instant::now();
        let token = store.insert("Alice".into(), now);
        assert_eq!(store.get(&token, now + TTL / 2), Some("Alice"));
        assert_eq!(store.get(&token, now + TTL), None);
        assert_eq!(store.get("not-a-token", now), None);
    }

    #[test]
    fn a_token_expires_for_take_as_for_get() {
        let mut store = Expiring::new(TTL, 10);
        let now = Instant::now();
        let token = store.insert("Alice".into(), now);
        assert_eq!(store.take(&token, now + TTL), None);
    }

    #[test]
    fn a_taken_token_is_gone() {
        let mut store = Expiring::new(TTL, 10);
        let now = Instant::now();
        let token = store.insert("Alice".into(), now);
        assert_eq!(store.take(&token, now), Some("Alice".into()));
        assert_eq!(store.take(&token, now), None);
    }

    #[test]
    fn the_store_is_bounded_and_drops_the_oldest() {
        let mut store = Expiring::new(TTL, 3);
        let now = Instant::now();
        let tokens: Vec<String> = (0..5).map(|n| store.insert(format!("user-{n}"), now)).collect();
        assert_eq!(store.entries.len(), 3);
        assert_eq!(store.get(&tokens[0], now), None);
        assert_eq!(store.get(&tokens[1], now), None);
        assert_eq!(store.get(&tokens[4], now), Some("user-4"));
    }

    #[test]
    fn expired_tokens_are_dropped_as_new_ones_come() {
        let mut store = Expiring::new(TTL, 100);
        let now = Instant::now();
        for n in 0..10 {
            store.insert(format!("user-{n}"), now);
        }
        store.insert("late".into(), now + TTL);
        assert_eq!(store.entries.len(), 1);
        assert_eq!(store.order.len(), 1);
    }

    #[test]
    fn tokens_are_long_and_url_safe() {
        let (a, b) = (token(), token());
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_policy_protects_streams_and_writes_but_not_reads() {
        assert_eq!(needs(&Method::GET, "/ws"), Needs::SessionOrTicket);
        assert_eq!(needs(&Method::GET, "/boards/{board}/events"), Needs::SessionOrTicket);
        assert_eq!(needs(&Method::POST, "/boards/{board}/tasks"), Needs::Session);
        assert_eq!(needs(&Method::DELETE, "/boards/{board}/tasks/{task}"), Needs::Session);
        assert_eq!(needs(&Method::GET, "/boards/{board}/tasks"), Needs::Nothing);
        assert_eq!(needs(&Method::POST, "/session"), Needs::Nothing);
        assert_eq!(needs(&Method::POST, "/tickets"), Needs::Session);
    }

    #[test]
    fn the_ticket_is_found_among_other_parameters() {
        assert_eq!(ticket(Some("a=1&ticket=abc&b=2")), Some("abc"));
        assert_eq!(ticket(Some("tickets=abc")), None);
        assert_eq!(ticket(None), None);
    }
}
