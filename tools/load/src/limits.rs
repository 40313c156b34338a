//! The open-files limit. Every connection is a file descriptor on both
//! ends; shells often start at 1,024 (macOS at 256), far below the 10,000
//! connections the idle and fan-out modes hold.

/// The open-files limit before and after [`raise_open_files_limit`].
#[derive(Debug, Clone, Copy)]
pub struct OpenFiles {
    pub before: u64,
    pub after: u64,
}

/// Raises this process's soft limit on open files as far as the hard limit
/// allows. Servers the tool starts inherit it.
pub fn raise_open_files_limit() -> std::io::Result<OpenFiles> {
    let (before, _hard) = rlimit::Resource::NOFILE.get()?;
    let after = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(OpenFiles { before, after })
}

impl std::fmt::Display for OpenFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.after > self.before {
            write!(f, "open-files limit: {} (raised from {})", self.after, self.before)
        } else {
            write!(f, "open-files limit: {}", self.after)
        }
    }
}
