//! What a check is, and what a chapter's suite is.
//!
//! Checks are plain data (`const`s) so that the harness, the course runner
//! and the book's own tests can all read the same registry: list the checks,
//! order them by stage, find the book section each one enforces.

use std::future::Future;
use std::pin::Pin;

use crate::{Failure, Target};

/// What a check's body returns: `Ok(())` when the server behaved.
pub type Judgement = Result<(), Failure>;

/// A check's body: drives the server at the target and judges what it saw.
pub type Body = fn(Target) -> Pin<Box<dyn Future<Output = Judgement> + Send>>;

/// One behaviour of the server, checked over the wire.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Names the behaviour, e.g. `moving_a_task_returns_it_in_the_new_column`.
    pub name: &'static str,
    /// Checks run and are listed stage by stage: stage 1 is the first thing
    /// to build.
    pub stage: Stage,
    /// The book section that explains the behaviour.
    pub section: Section,
    /// What to try, gentlest first. The runner reveals one more each time
    /// the learner asks.
    pub hints: &'static [&'static str],
    /// What the check needs beyond an address.
    pub needs: Needs,
    /// The body.
    pub body: Body,
}

impl Check {
    /// The name `cargo test` lists: `s1_listing::empty_board_lists_no_tasks`.
    pub fn test_name(&self) -> String {
        format!("s{}_{}::{}", self.stage.number, self.stage.slug, self.name)
    }
}

/// Declares a check next to its body: the `async fn` its `name` names.
///
/// Written just above that function, so the hints sit next to the code they
/// explain. The check's name is the function's (`stringify!`), so the two
/// cannot drift apart; the rest is a [`Check`]'s other fields.
///
/// ```ignore
/// check!(Check {
///     name: empty_board_lists_no_tasks,
///     stage: LISTING,
///     section: LISTING_SECTION,
///     hints: &["A board nobody has written to has no tasks: `[]`."],
///     needs: Needs::Address,
/// });
/// async fn empty_board_lists_no_tasks(t: Target) -> Judgement { … }
/// ```
///
/// It expands to a module named after the function that holds the check as
/// `CHECK`; the chapter's registry lists
/// `listing::empty_board_lists_no_tasks::CHECK` in stage order. A check left
/// out of the registry is dead code, which the build refuses.
macro_rules! check {
    (Check { name: $name:ident, $($field:ident: $value:expr),* $(,)? }) => {
        pub(crate) mod $name {
            use super::*;

            /// The registry's entry for the check of the same name.
            pub(crate) const CHECK: $crate::Check = $crate::Check {
                name: stringify!($name),
                body: |t| Box::pin(super::$name(t)),
                $($field: $value),*
            };
        }
    };
}
pub(crate) use check;

/// A step of a chapter's exercise, in the order the book builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub number: u8,
    /// One word, used in test names.
    pub slug: &'static str,
    pub title: &'static str,
}

/// A section of the book: a page and a heading's anchor on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// The page's source, relative to `book/src`, e.g. `ch01-http.md`.
    pub page: &'static str,
    /// The heading's anchor, as mdBook makes it from the heading text.
    pub anchor: &'static str,
    /// The heading as the reader sees it.
    pub title: &'static str,
}

impl Section {
    /// Where the section's source lives in a clone of the course.
    pub fn source(&self) -> String {
        format!("book/src/{}#{}", self.page, self.anchor)
    }

    /// The section's address in the built book, relative to the book's root.
    pub fn html(&self) -> String {
        format!("{}.html#{}", self.page.trim_end_matches(".md"), self.anchor)
    }
}

/// What a check needs beyond the server's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any server at any address will do.
    Address,
    /// The short tunables of [`Chapter::tunables`] (e.g. a keep-alive every
    /// 200 ms). Against a server at a URL the check is skipped with this reason.
    Tunables(&'static str),
    /// Its own tunables instead of the chapter's (e.g. a keep-alive period
    /// far longer than the chapter's, to see that events do not wait for
    /// it). Against a server at a URL the check is skipped with the reason.
    OwnTunables(Tunables, &'static str),
    /// Calls a function of the learner's crate directly (a parser, a codec),
    /// handed over in [`crate::Locals`]. Against a server at a URL the check
    /// is skipped with this reason.
    Code(&'static str),
    /// Starts a private `redis-server` (chapter 8) and instances of the
    /// learner's server on it. Skipped, with the install command, when
    /// `redis-server` is missing and `CI` is unset; against a server at a
    /// URL, skipped too.
    Redis,
}

/// The knobs every server of the course takes (see the book's conventions).
/// Checks run in-process with short values so they finish quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunables {
    /// Milliseconds between SSE keep-alive comments.
    pub keepalive_ms: u64,
    /// SSE events kept per board for replay.
    pub replay_capacity: usize,
    /// Milliseconds between the server's WebSocket pings.
    pub heartbeat_ms: u64,
    /// Milliseconds without any frame after which a client is gone.
    pub idle_timeout_ms: u64,
    /// Milliseconds after which a typing indicator expires.
    pub typing_ttl_ms: u64,
    /// The largest message a server accepts, in bytes.
    pub max_message_bytes: usize,
}

impl Tunables {
    /// The production defaults every server's `Config::default()` holds.
    pub const PRODUCTION: Tunables = Tunables {
        keepalive_ms: 15_000,
        replay_capacity: 1000,
        heartbeat_ms: 10_000,
        idle_timeout_ms: 30_000,
        typing_ttl_ms: 5000,
        max_message_bytes: 65_536,
    };
}

/// A chapter's suite: its checks, in stage order.
#[derive(Debug)]
pub struct Chapter {
    pub number: u8,
    /// The folder slug: `exercises/01-http`, `solutions/01-http`.
    pub slug: &'static str,
    pub title: &'static str,
    /// The tunables the in-process checks start the server with.
    pub tunables: Tunables,
    pub checks: &'static [Check],
}

impl Chapter {
    /// The exercise's package, e.g. `ex01-http`.
    pub fn exercise_package(&self) -> String {
        format!("ex{}", self.slug)
    }

    /// The solution's package, e.g. `sol01-http`.
    pub fn solution_package(&self) -> String {
        format!("sol{}", self.slug)
    }

    /// The checks in the order they run and are listed.
    pub fn checks_in_order(&self) -> Vec<&'static Check> {
        let mut checks: Vec<_> = self.checks.iter().collect();
        checks.sort_by_key(|c| c.stage.number);
        checks
    }
}
