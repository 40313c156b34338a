//! Signing in: sessions, cookies and tickets, as the checks of every stage
//! use them.

use serde_json::{Value, json};

use crate::Failure;
use crate::dial::{Answer, Dial};

/// `POST /session {"user"}`, requiring `204` and a session cookie; returns
/// the `Cookie` header to send back (`session=…`).
pub(super) async fn sign_in(dial: &Dial, user: &str) -> Result<String, Failure> {
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
pub(super) async fn sign_in_if_offered(dial: &Dial, user: &str) -> Result<Option<String>, Failure> {
    let answer = dial.request("POST", "/session").json(&json!({ "user": user })).send().await;
    Ok(match answer {
        Ok(answer) if answer.status == 204 => session_cookie(&answer),
        _ => None,
    })
}

/// The `session=…` pair of a `Set-Cookie` header.
pub(super) fn session_cookie(answer: &Answer) -> Option<String> {
    set_cookie(answer).and_then(|cookie| cookie.split(';').next()).map(|pair| pair.trim().to_owned())
}

/// The whole `Set-Cookie` header that sets `session`.
pub(super) fn set_cookie(answer: &Answer) -> Option<&str> {
    answer
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .find(|value| value.trim_start().starts_with("session="))
}

/// Whether a `Set-Cookie` value has the attribute `name` (`HttpOnly`) or
/// `name=value` (`SameSite=Lax`), in any case.
pub(super) fn has_attribute(cookie: &str, attribute: &str) -> bool {
    cookie.split(';').skip(1).any(|a| a.trim().eq_ignore_ascii_case(attribute))
}

/// `POST /tickets` with the session; returns the ticket.
pub(super) async fn ticket(dial: &Dial, cookie: &str) -> Result<String, Failure> {
    let answer = dial.request("POST", "/tickets").header("Cookie", cookie).send().await?;
    let expected = "201 Created with {\"ticket\": \"…\"}";
    answer.expect_status(201, expected)?;
    let body = answer.json(expected)?;
    match body.get("ticket").and_then(Value::as_str) {
        Some(ticket) if !ticket.is_empty() => Ok(ticket.to_owned()),
        _ => Err(answer.fail("POST /tickets answered 201 without a \"ticket\" string", expected)),
    }
}

pub(super) fn join(board: &str, user: &str) -> Value {
    json!({"type": "join", "boardId": board, "user": user})
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn cookie_attributes_are_found_in_any_case() {
        let cookie = "session=abc; Path=/; httponly; SameSite=Lax; Max-Age=60";
        assert!(has_attribute(cookie, "HttpOnly"));
        assert!(has_attribute(cookie, "SameSite=Lax"));
        assert!(!has_attribute(cookie, "Secure"));
        assert!(!has_attribute("session=HttpOnly", "HttpOnly"));
    }
}
