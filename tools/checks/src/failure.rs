//! What a failing check hands back: a transcript a learner can act on.

use std::fmt;

/// Why a check failed, as a transcript: what was sent, what was expected,
/// what came back.
///
/// The harness adds what it knows besides: the server's panics, the book
/// section, the hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line saying what went wrong.
    pub headline: String,
    /// What the check sent, as `curl -v` shows a request.
    pub sent: Option<String>,
    /// What a server that follows the book does.
    pub expected: Option<String>,
    /// What came back.
    pub got: Option<String>,
    /// True when the server gave no answer at all (connection refused or
    /// closed, nothing within the time limit). Such a failure only points at
    /// what is missing when the server's panic message comes with it.
    pub no_answer: bool,
}

impl Failure {
    /// A failure with a headline and nothing else yet.
    pub fn new(headline: impl Into<String>) -> Self {
        Failure { headline: headline.into(), sent: None, expected: None, got: None, no_answer: false }
    }

    /// A failure where the server gave no answer.
    pub fn no_answer(headline: impl Into<String>) -> Self {
        Failure { no_answer: true, ..Failure::new(headline) }
    }

    pub fn sent(mut self, sent: impl Into<String>) -> Self {
        self.sent = Some(sent.into());
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn got(mut self, got: impl Into<String>) -> Self {
        self.got = Some(got.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline)?;
        for (title, text) in [("sent", &self.sent), ("expected", &self.expected), ("got", &self.got)] {
            if let Some(text) = text {
                writeln!(f)?;
                write_block(f, title, text)?;
            }
        }
        Ok(())
    }
}

/// Writes a titled block of text, indented so it stands out in `cargo test`
/// output.
pub(crate) fn write_block(f: &mut impl fmt::Write, title: &str, text: &str) -> fmt::Result {
    writeln!(f, "  {title}:")?;
    for line in text.trim_end_matches('\n').lines() {
        writeln!(f, "    {line}")?;
    }
    Ok(())
}
