//! Where things are: the course's root, each chapter's exercise and solution.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use course_checks::Chapter;

/// Environment variable: the course's root folder, when not found by walking
/// up from the current directory (the runner's own tests use it).
pub const ROOT_ENV: &str = "COURSE_ROOT";

/// Environment variable: where the runner keeps its memory (default
/// `target/course`).
pub const STATE_ENV: &str = "COURSE_STATE_DIR";

/// The course checkout the runner works on.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// Check the solutions instead of the exercises (for instructors, and to
    /// see what "done" looks like).
    pub solutions: bool,
}

impl Workspace {
    /// Finds the course's root: `COURSE_ROOT`, or the nearest folder up from
    /// here that has an `exercises/` folder beside a `Cargo.toml`.
    pub fn find(solutions: bool) -> Result<Self> {
        if let Some(root) = std::env::var_os(ROOT_ENV) {
            return Ok(Workspace { root: PathBuf::from(root), solutions });
        }
        let here = std::env::current_dir().context("reading the current directory")?;
        for dir in here.ancestors() {
            if dir.join("Cargo.toml").is_file() && dir.join("exercises").is_dir() {
                return Ok(Workspace { root: dir.to_path_buf(), solutions });
            }
        }
        bail!(
            "this is not inside the course: no folder with `exercises/` and `Cargo.toml` above {}",
            here.display()
        )
    }

    /// The chapters that have an exercise in this checkout, in book order.
    pub fn chapters(&self) -> Vec<&'static Chapter> {
        course_checks::CHAPTERS.iter().copied().filter(|c| self.exercise_dir(c).is_dir()).collect()
    }

    /// A chapter by number (`1`) or slug (`01-http`).
    pub fn chapter(&self, key: &str) -> Result<&'static Chapter> {
        match course_checks::chapter(key) {
            Some(chapter) if self.exercise_dir(chapter).is_dir() => Ok(chapter),
            Some(chapter) => bail!("chapter {} has no exercise in this checkout yet", chapter.number),
            None => {
                let known: Vec<String> = self.chapters().iter().map(|c| c.number.to_string()).collect();
                bail!("no chapter {key:?}; chapters with exercises: {}", known.join(", "))
            }
        }
    }

    /// The folder the learner works in (or the solution, with `--solutions`).
    pub fn exercise_dir(&self, chapter: &Chapter) -> PathBuf {
        let folder = if self.solutions { "solutions" } else { "exercises" };
        self.root.join(folder).join(chapter.slug)
    }

    /// The reference solution's folder.
    pub fn solution_dir(&self, chapter: &Chapter) -> PathBuf {
        self.root.join("solutions").join(chapter.slug)
    }

    /// The package whose checks count: the exercise (or the solution).
    pub fn package(&self, chapter: &Chapter) -> String {
        if self.solutions { chapter.solution_package() } else { chapter.exercise_package() }
    }

    /// Where the runner keeps what it must remember (how many hints it gave).
    pub fn state_dir(&self) -> PathBuf {
        match std::env::var_os(STATE_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => self.root.join("target").join("course"),
        }
    }

    /// A path relative to the root, for messages.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }
}
