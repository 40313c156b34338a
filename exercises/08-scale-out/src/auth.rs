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

use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;
use crate::error::{ApiError, ApiJson};
use crate::store::{Store, Unavailable, keys};

/// The session cookie's name.
pub const COOKIE: &str = "session";

/// Random bytes in a session id or a ticket: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// The signed-in user a request speaks for. The gate puts it in the
/// request's extensions; the WebSocket handler takes it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User(pub String);

// ANCHOR: store
/// Sessions and tickets, in Redis: a session made on instance A is valid on
/// instance B, and a ticket is good for one connection on whichever
/// instance redeems it first.
///
/// Each is one key holding the user's name, with a TTL: Redis forgets it
/// when it expires, so no instance has to. (Chapter 7 bounded its store by
/// count; here Redis's `maxmemory` does that job, for every kind of key.)
#[derive(Debug, Clone)]
pub struct Auth {
    store: Store,
    /// Whether cookies get `Secure`: only when this server speaks TLS.
    secure: bool,
    session_ttl: Duration,
    ticket_ttl: Duration,
}

impl Auth {
    pub fn new(config: &Config, store: Store) -> Self {
        Auth {
            store,
            secure: config.tls.is_some(),
            session_ttl: config.session_ttl,
            ticket_ttl: config.ticket_ttl,
        }
    }

    /// The user of the request's session cookie, if it is a live session.
    async fn session_user(&self, headers: &HeaderMap) -> Result<Option<User>, Unavailable> {
        todo!(
            "stage 1: the user of the session cookie, from Redis — book: \"Sessions and tickets on every instance\""
        )
    }

    /// The user a ticket was issued to — once, cluster-wide: `GETDEL` reads
    /// and deletes in one step, so of two instances redeeming the same
    /// ticket at once, exactly one gets the user.
    async fn redeem(&self, ticket: &str) -> Result<Option<User>, Unavailable> {
        todo!(
            "stage 1: take the ticket from Redis, once cluster-wide — book: \"Sessions and tickets on every instance\""
        )
    }

    /// Stores `user` under a fresh token for `ttl`, and returns the token.
    async fn issue(&self, key: fn(&str) -> String, user: &str, ttl: Duration) -> Result<String, Unavailable> {
        todo!(
            "stage 1: store the user under a fresh token, with a TTL — book: \"Sessions and tickets on every instance\""
        )
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
// ANCHOR_END: store

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
    let looked_up = match needs(request.method(), route) {
        Needs::Nothing => return next.run(request).await,
        Needs::Session => {
            auth.session_user(request.headers()).await.map(|user| user.ok_or("sign in first: POST /session"))
        }
        Needs::SessionOrTicket => match ticket(request.uri().query()) {
            // A ticket, when there is one, decides on its own.
            Some(ticket) => {
                auth.redeem(ticket).await.map(|user| user.ok_or("this ticket is used, expired or unknown"))
            }
            None => auth
                .session_user(request.headers())
                .await
                .map(|user| user.ok_or("sign in first, or bring a ?ticket=")),
        },
    };
    match looked_up {
        Ok(Ok(user)) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Ok(Err(why)) => (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response(),
        // Chapter 8: without Redis nobody can be checked: 503, not 401.
        Err(unavailable) => ApiError::from(unavailable).into_response(),
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
    let id = auth.issue(keys::session, user, auth.session_ttl).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth.cookie(Some(&id)))]).into_response())
}

/// `DELETE /session` → `204`; the session is over, here and in the browser.
pub async fn sign_out(State(auth): State<Auth>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers) {
        let _: u64 = auth.store.shared().del(keys::session(id)).await.map_err(Unavailable::from)?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth.cookie(None))]).into_response())
}

/// `POST /tickets` (the gate has checked the session) → `201 {"ticket"}`.
pub async fn issue_ticket(
    State(auth): State<Auth>,
    axum::Extension(User(user)): axum::Extension<User>,
) -> Result<Response, ApiError> {
    let ticket = auth.issue(keys::ticket, &user, auth.ticket_ttl).await?;
    Ok((StatusCode::CREATED, Json(json!({ "ticket": ticket }))).into_response())
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

#[cfg(test)]
mod tests {
    use super::*;

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
