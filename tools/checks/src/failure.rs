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

/// A block of a failure (`sent`, `expected`, `got`) shows at most this many
/// lines; a longer one is cut, and the whole transcript is saved to a file.
pub const BLOCK_LINES: usize = 20;

impl Failure {
    /// The blocks in the order a learner reads them: sent, expected, got.
    fn blocks(&self) -> [(&'static str, Option<&String>); 3] {
        [("sent", self.sent.as_ref()), ("expected", self.expected.as_ref()), ("got", self.got.as_ref())]
    }

    /// Whether some block is longer than [`BLOCK_LINES`], so the learner is
    /// shown a [`summary`](Self::summary) and the whole is saved to a file.
    pub fn is_long(&self) -> bool {
        self.blocks().iter().any(|(_, text)| text.is_some_and(|t| block_lines(t).count() > BLOCK_LINES))
    }

    /// The failure as the learner reads it: the headline, then sent,
    /// expected and got, each cut to its [`BLOCK_LINES`] most relevant lines
    /// (the first lines of what was expected, the last lines of what was sent
    /// and what came back: the ones just before it went wrong). `full` names
    /// the file that holds the whole transcript.
    pub fn summary(&self, full: &str) -> String {
        let mut out = format!("{}\n", self.headline);
        for (title, text) in self.blocks() {
            let Some(text) = text else { continue };
            let lines: Vec<&str> = block_lines(text).collect();
            out.push('\n');
            if lines.len() <= BLOCK_LINES {
                let _ = write_block(&mut out, title, text);
                continue;
            }
            let hidden = lines.len() - BLOCK_LINES;
            let shown = if title == "expected" {
                let mut shown = lines[..BLOCK_LINES].join("\n");
                shown += &format!("\n… ({hidden} more lines in {full})");
                shown
            } else {
                format!("… ({hidden} earlier lines in {full})\n{}", lines[hidden..].join("\n"))
            };
            let _ = write_block(&mut out, title, &shown);
        }
        out
    }
}

fn block_lines(text: &str) -> std::str::Lines<'_> {
    text.trim_end_matches('\n').lines()
}

/// The whole transcript, every line of it.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline)?;
        for (title, text) in self.blocks() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(from: usize, to: usize) -> String {
        (from..=to).map(|n| format!("line {n}")).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_short_failure_is_shown_whole() {
        let failure = Failure::new("the task is missing").sent("> GET /").expected("200").got("< 404");
        assert!(!failure.is_long());
        assert_eq!(failure.summary("unused"), failure.to_string());
    }

    #[test]
    fn a_long_failure_leads_with_sent_expected_got_and_keeps_the_last_lines() {
        let failure = Failure::new("the client was not told it lagged")
            .sent(numbered(1, 500))
            .expected(numbered(1, 30))
            .got(numbered(1, 12_947));
        assert!(failure.is_long());
        let summary = failure.summary("/tmp/full.txt");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines[0], "the client was not told it lagged");
        let (sent, expected, got) = (
            summary.find("  sent:").expect("sent"),
            summary.find("  expected:").expect("expected"),
            summary.find("  got:").expect("got"),
        );
        assert!(sent < expected && expected < got, "{summary}");
        assert!(summary.contains("… (480 earlier lines in /tmp/full.txt)"), "{summary}");
        assert!(summary.contains("    line 500\n"), "the last line sent is kept:\n{summary}");
        assert!(!summary.contains("    line 480\n"), "{summary}");
        assert!(summary.contains("    line 1\n") && summary.contains("10 more lines"), "{summary}");
        assert!(summary.contains("    line 12947\n") && !summary.contains("    line 12927\n"), "{summary}");
        assert!(lines.len() < 80, "{} lines:\n{summary}", lines.len());
        assert!(failure.to_string().contains("    line 12927\n"), "the full transcript has every line");
    }
}
