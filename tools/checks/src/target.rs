//! The server under test.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::Request;
use crate::{Failure, Tunables};

/// A server at an address, as one check sees it.
///
/// In-process, every check gets a fresh server of its own, so boards start
/// empty and are called `board-1`, `board-2`. Against a server at a URL all
/// checks share one server, so each check's boards get a suffix that no other
/// run uses (`board-1-k7q2`): a check never sees another's tasks.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    tunables: Option<Tunables>,
    board_suffix: String,
    locals: Locals,
}

impl Target {
    /// A fresh server of the check's own, started with `tunables`.
    pub fn in_process(addr: SocketAddr, tunables: Tunables, locals: Locals) -> Self {
        Target { addr, tunables: Some(tunables), board_suffix: String::new(), locals }
    }

    /// A shared server that someone else started, with its own defaults.
    pub fn remote(addr: SocketAddr, board_suffix: String) -> Self {
        Target { addr, tunables: None, board_suffix, locals: Locals::default() }
    }

    /// A function of the learner's crate that the test binary handed over
    /// (see [`Locals`]); checks that use one declare [`crate::Needs::Code`].
    pub fn local<T: Any + Send + Sync>(&self) -> Result<&T, Failure> {
        self.locals.get::<T>().ok_or_else(|| {
            Failure::new(format!(
                "this check calls your code through {}, but tests/checks.rs did not hand it over \
                 (Locals::new().with(…))",
                type_name::<T>()
            ))
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The tunables the server was started with, when the check started it.
    pub fn tunables(&self) -> Option<Tunables> {
        self.tunables
    }

    /// The name of this check's n-th board: `board-1` on a fresh server.
    pub fn board(&self, n: u32) -> String {
        format!("board-{n}{}", self.board_suffix)
    }

    /// Starts an HTTP request to `path` (which starts with `/`).
    pub fn request(&self, method: &str, path: impl Into<String>) -> Request {
        Request::new(self.addr, method, path.into()).signing_in(self.signs_in())
    }

    /// Whether the test binary handed over [`SignIn`].
    pub(crate) fn signs_in(&self) -> bool {
        self.locals.get::<SignIn>().is_some()
    }

    /// The `Cookie` header of a fresh session for `user`, when the test
    /// binary handed over [`SignIn`]; `None` otherwise.
    pub async fn session(&self, user: &str) -> Result<Option<String>, Failure> {
        if !self.signs_in() {
            return Ok(None);
        }
        crate::http::sign_in(self.addr, user).await.map(Some)
    }
}

/// Runs an earlier chapter's checks against a server that asks who is
/// connecting (chapter 7's and later): handed over in the test binary's
/// [`Locals`], it makes every request, event stream and WebSocket of the
/// checks sign in first (`POST /session`) and send the session cookie.
///
/// A WebSocket signs in as the user its transcript label names — `alice`
/// and `alice#2` as `Alice`, `bob` as `Bob` — because the server lets a
/// connection `join` only as the user it signed in as; requests and event
/// streams sign in as `Checks`.
#[derive(Debug, Clone, Copy)]
pub struct SignIn;

impl SignIn {
    /// The user a WebSocket labelled `label` signs in as.
    pub fn user_of(label: &str) -> String {
        let name = label.split('#').next().unwrap_or(label);
        let mut chars = name.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => crate::http::SIGNED_IN_USER.to_owned(),
        }
    }
}

/// Functions of the learner's crate that unit-level checks call directly:
/// a parser, a codec, `accept_key`. The test binary hands them over, each
/// wrapped in a type the chapter's check module defines:
///
/// ```ignore
/// let locals = Locals::new().with(chapter03::AcceptKey(server::accept_key));
/// ```
#[derive(Clone, Default)]
pub struct Locals {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Locals {
    pub fn new() -> Self {
        Locals::default()
    }

    /// Adds `value`; a check finds it with [`Target::local::<T>()`](Target::local).
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The `T` handed over, if one was.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for Locals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Locals({} values)", self.values.len())
    }
}
