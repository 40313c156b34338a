//! `course dev catalogue`: the wrong-answer catalogue, proved.
//!
//! Each file `tools/catalogue/NN-slug/<mistake>.patch` is a plausible mistake
//! a learner makes, kept as a patch against the chapter's solution:
//!
//! ```text
//! # mistake: the path is compared together with its query string, so /ws?x=1 gets 404
//! # caught-by: s5_routing::the_path_is_matched_without_its_query
//! # says: ws?x=1
//! diff --git a/solutions/03-handshake/src/handshake.rs b/solutions/03-handshake/src/handshake.rs
//! …
//! ```
//!
//! For each one the gate applies the patch to a scratch copy of the
//! workspace, runs that solution's checks, and proves that the first check to
//! fail, in stage order, is `caught-by`, and that its failure's first line
//! contains `says` (the first line names the behaviour that is wrong).
//!
//! The scratch copy lives in `<target>/catalogue/workspace`. Two checkouts
//! of one workspace sharing a target folder would make cargo reuse the other
//! checkout's artifacts (it names a crate of the workspace by its path
//! relative to the workspace's root), so the copy's own crates get another
//! version (`0.1.0-catalogue`): then they are compiled as crates of their
//! own, while its dependencies (tokio, axum, reqwest… unchanged) are the very
//! ones the course already compiled. Cargo's build folder
//! (`CARGO_BUILD_BUILD_DIR`) is the course's target folder, which holds those;
//! the copy's finished binaries go to `<target>/catalogue/target`, so that
//! they never replace the course's own. The copy is kept between runs, and
//! only files that changed are copied, so each variant rebuilds just the
//! solution crate and its checks.
//! The checks run with `COURSE_FAIL_FAST`, so a run stops at the first
//! failure instead of waiting for every later check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use course_checks::harness::{FAIL_FAST_ENV, TRANSCRIPTS_ENV};
use course_checks::report::{REPORT_ENV, read_reports};
use course_checks::{Chapter, CheckReport};

use crate::term::{BAD, BOLD, DIM, GOOD, paint};
use crate::workspace::Workspace;

/// The catalogue's folder, relative to the course's root.
pub const CATALOGUE_DIR: &str = "tools/catalogue";

/// One wrong answer, as its patch file declares it.
#[derive(Debug, Clone)]
pub struct Variant {
    pub chapter: &'static Chapter,
    /// The file's name without `.patch`: the mistake, in snake case.
    pub name: String,
    pub path: PathBuf,
    /// What the learner got wrong, in a sentence.
    pub mistake: String,
    /// The test name (`s5_routing::…`) of the check that must fail first.
    pub caught_by: String,
    /// What the first line of that check's failure must contain.
    pub says: String,
    /// The files the patch touches, relative to the root.
    pub files: BTreeSet<String>,
}

impl Variant {
    /// Reads a patch file: `# key: value` lines, then a `git diff`.
    pub fn parse(chapter: &'static Chapter, path: &Path, text: &str) -> Result<Variant> {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_owned();
        let (mut mistake, mut caught_by, mut says) = (None, None, None);
        let mut files = BTreeSet::new();
        let mut in_header = true;
        for line in text.lines() {
            let field = if in_header { line.strip_prefix('#') } else { None };
            if let Some(field) = field {
                let Some((key, value)) = field.split_once(':') else {
                    bail!("{}: header line {line:?} is not `# key: value`", path.display())
                };
                let value = Some(value.trim().to_owned());
                match key.trim() {
                    "mistake" => mistake = value,
                    "caught-by" => caught_by = value,
                    "says" => says = value,
                    other => bail!("{}: unknown header `{other}` (mistake, caught-by, says)", path.display()),
                }
                continue;
            }
            in_header = false;
            if let Some(paths) = line.strip_prefix("diff --git ") {
                for side in paths.split(' ') {
                    let file = side.strip_prefix("a/").or_else(|| side.strip_prefix("b/")).unwrap_or(side);
                    files.insert(file.to_owned());
                }
            }
        }
        let missing = |what: &str| anyhow::anyhow!("{}: no `# {what}:` line in the header", path.display());
        let caught_by = caught_by.ok_or_else(|| missing("caught-by"))?;
        let variant = Variant {
            chapter,
            name,
            path: path.to_path_buf(),
            mistake: mistake.ok_or_else(|| missing("mistake"))?,
            says: says.filter(|s| !s.is_empty()).ok_or_else(|| missing("says"))?,
            caught_by: canonical_test_name(chapter, &caught_by)
                .with_context(|| path.display().to_string())?,
            files,
        };
        if variant.files.is_empty() {
            bail!("{}: no `diff --git` in the patch", path.display());
        }
        let solution = format!("solutions/{}/", chapter.slug);
        if let Some(outside) = variant.files.iter().find(|f| !f.starts_with(&solution)) {
            bail!("{}: the patch changes {outside}, outside {solution}", path.display());
        }
        Ok(variant)
    }
}

/// `caught-by` as the test name the harness reports, checked against the
/// chapter's registry (a bare check name is accepted too).
fn canonical_test_name(chapter: &Chapter, caught_by: &str) -> Result<String> {
    let found = chapter.checks.iter().find(|c| c.test_name() == caught_by || c.name == caught_by);
    match found {
        Some(check) => Ok(check.test_name()),
        None => bail!("caught-by `{caught_by}` is not a check of chapter {}", chapter.number),
    }
}

/// Every variant in `dir` (`NN-slug/*.patch`) for the chapters asked for
/// (all when none), chapter by chapter, by name.
pub fn load(dir: &Path, chapters: &[&'static Chapter]) -> Result<Vec<Variant>> {
    let mut variants = Vec::new();
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    folders.sort();
    for folder in folders {
        let slug = folder.file_name().and_then(|s| s.to_str()).unwrap_or_default();
        let Some(chapter) = course_checks::chapter(slug).filter(|c| c.slug == slug) else {
            bail!("{}: no chapter has the slug {slug:?}", folder.display());
        };
        if !chapters.is_empty() && !chapters.iter().any(|c| c.number == chapter.number) {
            continue;
        }
        let mut patches: Vec<PathBuf> = std::fs::read_dir(&folder)
            .with_context(|| format!("reading {}", folder.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "patch"))
            .collect();
        patches.sort();
        for path in patches {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            variants.push(Variant::parse(chapter, &path, &text)?);
        }
    }
    Ok(variants)
}

/// What happened to one variant.
#[derive(Debug)]
pub enum Verdict {
    /// The declared check failed first, saying what it should.
    Caught,
    /// The patch no longer applies to the solution: the variant is stale.
    Stale(String),
    /// The patched solution does not compile, or its checks did not start.
    DoesNotBuild(String),
    /// Every check passed (or was skipped): nothing catches the mistake.
    NotCaught,
    /// Another check failed first.
    OtherCheckFirst { test: String, headline: String },
    /// The declared check failed first, but its first line does not say it.
    SaysSomethingElse { headline: String },
}

impl Verdict {
    pub fn is_caught(&self) -> bool {
        matches!(self, Verdict::Caught)
    }

    /// The verdict as a line (or a few) for the gate's output.
    pub fn describe(&self, variant: &Variant) -> String {
        match self {
            Verdict::Caught => format!("caught by {}", variant.caught_by),
            Verdict::Stale(why) => format!("the patch does not apply to the solution (stale):\n{why}"),
            Verdict::DoesNotBuild(errors) => format!("the patched solution does not build:\n{errors}"),
            Verdict::NotCaught => format!(
                "no check failed: nothing catches this mistake (expected {} to fail)",
                variant.caught_by
            ),
            Verdict::OtherCheckFirst { test, headline } => format!(
                "a different check failed first: {test}, saying {headline:?} (expected {})",
                variant.caught_by
            ),
            Verdict::SaysSomethingElse { headline } => format!(
                "{} failed first, but its first line does not contain {:?}: it says {headline:?}",
                variant.caught_by, variant.says
            ),
        }
    }
}

/// Judges a run's reports against what the variant declares.
pub fn judge(variant: &Variant, reports: &[CheckReport]) -> Verdict {
    let first_failure = variant
        .chapter
        .checks_in_order()
        .into_iter()
        .find_map(|check| reports.iter().find(|r| r.check == check.name && r.failed()));
    match first_failure {
        None => Verdict::NotCaught,
        Some(report) if report.test != variant.caught_by => {
            Verdict::OtherCheckFirst { test: report.test.clone(), headline: report.headline().to_owned() }
        }
        Some(report) if !report.headline().contains(&variant.says) => {
            Verdict::SaysSomethingElse { headline: report.headline().to_owned() }
        }
        Some(_) => Verdict::Caught,
    }
}

/// The scratch copy of the workspace, with its own target folder.
#[derive(Debug)]
pub struct Scratch {
    /// The copy of the course: `<target>/catalogue/workspace`.
    pub root: PathBuf,
    /// Its own target folder, for the finished binaries: `<target>/catalogue/target`.
    pub target: PathBuf,
    /// Cargo's build folder: the course's target folder, whose compiled
    /// dependencies the copy reuses.
    build_dir: PathBuf,
    /// Check reports and full transcripts of the variant being run.
    reports: PathBuf,
    /// The real course, to restore files from.
    source: PathBuf,
    /// Held while the gate uses the scratch copy: one gate at a time.
    _lock: Lock,
}

impl Scratch {
    /// Brings the scratch copy up to date with the working tree of `source`
    /// (tracked and untracked files, not ignored ones), copying only files
    /// whose content changed so cargo's build stays incremental.
    pub fn prepare(source: &Path) -> Result<Scratch> {
        let base = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => source.join(dir),
            None => source.join("target"),
        };
        let dir = base.join("catalogue");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let lock = Lock::take(dir.join("lock"))?;
        let scratch = Scratch {
            root: dir.join("workspace"),
            target: dir.join("target"),
            build_dir: base,
            reports: dir.join("reports"),
            source: source.to_path_buf(),
            _lock: lock,
        };
        let files = working_tree_files(source)?;
        for file in &files {
            scratch.restore(file)?;
        }
        remove_others(&scratch.root, &scratch.root, &files)?;
        if !scratch.root.join(".git").exists() {
            // `git apply` then treats the copy as a repository of its own
            // instead of finding the real one above it.
            git(&scratch.root, &["init", "--quiet"])?;
        }
        Ok(scratch)
    }

    /// Makes `file` (relative to the root) in the copy what it is in the
    /// source: same content (written only if it differs), or absent.
    fn restore(&self, file: &str) -> Result<()> {
        let (from, to) = (self.source.join(file), self.root.join(file));
        match std::fs::read(&from) {
            Ok(content) => {
                let content = if file.ends_with("Cargo.toml") { another_version(content) } else { content };
                if std::fs::read(&to).ok().as_deref() != Some(&content[..]) {
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&to, content).with_context(|| format!("writing {}", to.display()))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&to);
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", from.display())),
        }
        Ok(())
    }

    /// Applies `variant`, runs its solution's checks, restores the files it
    /// touched, and judges the run.
    pub fn run(&self, variant: &Variant) -> Result<Verdict> {
        let patch = variant.path.canonicalize().with_context(|| variant.path.display().to_string())?;
        let patch = patch.to_string_lossy();
        if let Err(why) = git(&self.root, &["apply", "--check", "--whitespace=nowarn", &patch]) {
            return Ok(Verdict::Stale(why.to_string()));
        }
        git(&self.root, &["apply", "--whitespace=nowarn", &patch])?;
        let result = self.run_checks(variant);
        for file in &variant.files {
            self.restore(file)?;
        }
        result
    }

    fn run_checks(&self, variant: &Variant) -> Result<Verdict> {
        let _ = std::fs::remove_dir_all(&self.reports);
        std::fs::create_dir_all(&self.reports)?;
        let report = self.reports.join("report.jsonl");
        let package = variant.chapter.solution_package();
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["test", "--quiet", "--package", &package, "--test", "checks"])
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target)
            .env(
                "CARGO_BUILD_BUILD_DIR",
                std::env::var_os("CARGO_BUILD_BUILD_DIR").unwrap_or_else(|| self.build_dir.clone().into()),
            )
            .env(REPORT_ENV, &report)
            .env(FAIL_FAST_ENV, "1")
            .env(TRANSCRIPTS_ENV, self.reports.join("transcripts"))
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running cargo test for {package}"))?;
        let reports = read_reports(&report).context("reading the check report")?;
        if reports.is_empty() {
            return Ok(Verdict::DoesNotBuild(last_lines(&String::from_utf8_lossy(&output.stderr), 30)));
        }
        Ok(judge(variant, &reports))
    }
}

/// The version the copy's crates get instead of their own, so that cargo
/// compiles them apart from the course's (see the module's documentation).
const COPY_VERSION_SUFFIX: &str = "-catalogue";

/// A crate's manifest with `-catalogue` added to its `[package]` version
/// (`version = "0.1.0"` becomes `version = "0.1.0-catalogue"`). The root
/// manifest and manifests without a version line are returned as they are.
fn another_version(manifest: Vec<u8>) -> Vec<u8> {
    let Ok(text) = String::from_utf8(manifest.clone()) else { return manifest };
    let mut in_package = false;
    let mut changed = false;
    let mut out = String::with_capacity(text.len() + COPY_VERSION_SUFFIX.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_package = trimmed == "[package]";
        }
        if in_package && !changed && trimmed.starts_with("version = \"") && trimmed.ends_with('"') {
            let version = &trimmed["version = \"".len()..trimmed.len() - 1];
            out.push_str(&format!("version = \"{version}{COPY_VERSION_SUFFIX}\"\n"));
            changed = true;
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// A lock file holding the process id of the gate using the scratch copy.
/// Another run waits for it; a lock left by a run that died (its process is
/// gone, or the lock is over an hour old) is taken over.
#[derive(Debug)]
struct Lock(PathBuf);

impl Lock {
    fn take(path: PathBuf) -> Result<Lock> {
        let mut said = false;
        loop {
            let created = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
            match created {
                Ok(mut file) => {
                    use std::io::Write as _;
                    write!(file, "{}", std::process::id()).context("writing the lock file")?;
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Lock::is_stale(&path) {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if !said {
                        println!("catalogue: waiting for another run to finish ({})", path.display());
                        said = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }

    fn is_stale(path: &Path) -> bool {
        let age = std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let older_than = |secs| age.is_some_and(|age| age > Duration::from_secs(secs));
        let pid = std::fs::read_to_string(path).unwrap_or_default();
        let pid = pid.trim();
        let proc = Path::new("/proc");
        // No process id after a few seconds: its writer died before writing it.
        let unclaimed = pid.is_empty() && older_than(5);
        let gone = proc.is_dir() && !pid.is_empty() && !proc.join(pid).exists();
        unclaimed || gone || older_than(3600)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Files of the working tree as git sees them: tracked, and untracked but
/// not ignored (so `target/` and the book's build stay out).
fn working_tree_files(root: &Path) -> Result<BTreeSet<String>> {
    let listed = git(root, &["ls-files", "-z", "--cached", "--others", "--exclude-standard"])?;
    Ok(listed.split('\0').filter(|f| !f.is_empty()).map(str::to_owned).collect())
}

/// Removes files under `dir` that are not in `keep` (files deleted from the
/// working tree since the last run), leaving the copy's `.git` alone.
fn remove_others(root: &Path, dir: &Path, keep: &BTreeSet<String>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if relative == ".git" {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_others(root, &path, keep)?;
        } else if !keep.contains(&relative) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim_end());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.iter().position(|l| l.starts_with("error")).unwrap_or(lines.len().saturating_sub(n));
    lines[from..].iter().take(n).copied().collect::<Vec<_>>().join("\n")
}

/// `course dev catalogue [chapter…]`: proves every variant is caught.
pub fn run(keys: &[String], dir: Option<&Path>) -> Result<ExitCode> {
    let workspace = Workspace::find(false)?;
    let chapters = crate::verify::select(keys)?;
    let dir = dir.map_or_else(|| workspace.root.join(CATALOGUE_DIR), Path::to_path_buf);
    let selected = if keys.is_empty() { Vec::new() } else { chapters };
    let variants = load(&dir, &selected)?;
    if variants.is_empty() {
        println!("catalogue: no variants in {}", workspace.show(&dir));
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let scratch = Scratch::prepare(&workspace.root)?;
    println!(
        "catalogue: {} variant(s) from {}, built in {} (target {})",
        variants.len(),
        workspace.show(&dir),
        workspace.show(&scratch.root),
        workspace.show(&scratch.target)
    );
    let mut problems = 0;
    let mut chapter = 0;
    for variant in &variants {
        if variant.chapter.number != chapter {
            chapter = variant.chapter.number;
            anstream::println!("{}", paint(BOLD, format!("chapter {chapter} ({})", variant.chapter.slug)));
        }
        let begun = Instant::now();
        let verdict = scratch.run(variant)?;
        let took = paint(DIM, format!("({})", seconds(begun.elapsed())));
        let text = verdict.describe(variant);
        if verdict.is_caught() {
            anstream::println!("  {} {}: {text} {took}", paint(GOOD, "✓"), variant.name);
        } else {
            problems += 1;
            anstream::println!("  {} {}: {text} {took}", paint(BAD, "✗"), variant.name);
            anstream::println!("    {}", paint(DIM, format!("mistake: {}", variant.mistake)));
            anstream::println!("    {}", paint(DIM, format!("patch: {}", workspace.show(&variant.path))));
        }
    }
    let took = seconds(started.elapsed());
    if problems == 0 {
        println!("catalogue: all {} variant(s) caught by the check they name, in {took}", variants.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("catalogue: {problems} of {} variant(s) not caught as declared, in {took}", variants.len());
        Ok(ExitCode::FAILURE)
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_checks::Outcome;

    const PATCH: &str = "# mistake: the listing answers 500\n\
        # caught-by: s1_listing::empty_board_lists_no_tasks\n\
        # says: 500\n\
        diff --git a/solutions/01-http/src/api.rs b/solutions/01-http/src/api.rs\n\
        --- a/solutions/01-http/src/api.rs\n\
        +++ b/solutions/01-http/src/api.rs\n";

    fn chapter1() -> &'static Chapter {
        course_checks::chapter("1").expect("chapter 1")
    }

    fn report(check: &str, outcome: Outcome, message: &str) -> CheckReport {
        let found = chapter1().checks.iter().find(|c| c.name == check).expect("a check of chapter 1");
        CheckReport {
            chapter: 1,
            check: check.to_owned(),
            test: found.test_name(),
            stage: found.stage.number,
            outcome,
            informative: true,
            message: message.to_owned(),
        }
    }

    fn first_check_name() -> &'static str {
        chapter1().checks_in_order()[0].name
    }

    #[test]
    fn the_copy_s_crates_get_another_version_and_nothing_else_changes() {
        let manifest = "[package]\nname = \"sol01-http\"\nversion = \"0.1.0\"\nedition.workspace = true\n\n\
            [dependencies]\nhttparse = { version = \"1.10\" }\n";
        let copied = String::from_utf8(another_version(manifest.as_bytes().to_vec())).expect("UTF-8");
        assert_eq!(copied, manifest.replace("version = \"0.1.0\"", "version = \"0.1.0-catalogue\""));
        let root = "[workspace]\nmembers = [\"a\"]\n\n[workspace.package]\nversion = \"0.1.0\"\n";
        assert_eq!(another_version(root.as_bytes().to_vec()), root.as_bytes());
    }

    #[test]
    fn a_patch_header_is_read() {
        let first = chapter1().checks_in_order()[0];
        let text = PATCH.replace("s1_listing::empty_board_lists_no_tasks", &first.test_name());
        let variant = Variant::parse(chapter1(), Path::new("x/listing_500.patch"), &text).expect("parses");
        assert_eq!(variant.name, "listing_500");
        assert_eq!(variant.caught_by, first.test_name());
        assert_eq!(variant.says, "500");
        assert_eq!(variant.files.iter().collect::<Vec<_>>(), ["solutions/01-http/src/api.rs"]);
    }

    #[test]
    fn a_check_that_does_not_exist_is_refused() {
        let text = PATCH.replace("empty_board_lists_no_tasks", "no_such_check");
        let error = Variant::parse(chapter1(), Path::new("x.patch"), &text).expect_err("refused");
        assert!(format!("{error:#}").contains("no_such_check"), "{error:#}");
    }

    #[test]
    fn a_patch_outside_the_solution_is_refused() {
        let text = PATCH.replace("solutions/01-http", "exercises/01-http");
        let first = chapter1().checks_in_order()[0];
        let text = text.replace("s1_listing::empty_board_lists_no_tasks", &first.test_name());
        let error = Variant::parse(chapter1(), Path::new("x.patch"), &text).expect_err("refused");
        assert!(format!("{error:#}").contains("outside solutions/01-http/"), "{error:#}");
    }

    #[test]
    fn the_first_failure_in_stage_order_is_judged() {
        let checks = chapter1().checks_in_order();
        let (first, second) = (checks[0], checks[1]);
        let variant = Variant {
            chapter: chapter1(),
            name: "v".into(),
            path: "v.patch".into(),
            mistake: "m".into(),
            caught_by: second.test_name(),
            says: "wrong".into(),
            files: BTreeSet::new(),
        };
        // Reported out of order, as parallel checks may finish.
        let caught = [
            report(second.name, Outcome::Failed, "it is wrong\nmore"),
            report(first.name, Outcome::Passed, ""),
        ];
        assert!(judge(&variant, &caught).is_caught());
        let other = [
            report(second.name, Outcome::Failed, "it is wrong"),
            report(first_check_name(), Outcome::Failed, "something else broke"),
        ];
        let verdict = judge(&variant, &other);
        let text = verdict.describe(&variant);
        assert!(text.contains(&first.test_name()) && text.contains("something else broke"), "{text}");
        let quiet = [report(second.name, Outcome::Failed, "a different headline")];
        assert!(matches!(judge(&variant, &quiet), Verdict::SaysSomethingElse { .. }));
        let passed = [report(second.name, Outcome::Passed, ""), report(first.name, Outcome::Skipped, "")];
        assert!(matches!(judge(&variant, &passed), Verdict::NotCaught));
    }
}
