//! The runner's own tests: they run the `course` binary as a learner would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the course's root")
}

fn course(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_course"));
    command.args(args).current_dir(root()).env("NO_COLOR", "1");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("running course")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Tests that read the shipped stub only make sense while it is unchanged
/// (in CI, a fresh clone); a learner halfway through chapter 1 skips them.
fn stub_is_pristine() -> bool {
    let status = Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--", "exercises/01-http"])
        .current_dir(root())
        .status()
        .expect("running git");
    if !status.success() {
        eprintln!("skipped: exercises/01-http has changes, so it is not the shipped stub");
    }
    status.success()
}

/// How many checks chapter 1 has (`remote`: those that run against a server
/// at a URL; the others need the course's tunables or call Rust code).
fn checks_of_chapter_1(remote: bool) -> usize {
    let chapter = course_checks::chapter("1").expect("chapter 1");
    chapter.checks.iter().filter(|c| !remote || c.needs == course_checks::Needs::Address).count()
}

/// Serves `app` on a free port in a background runtime; returns its URL.
fn serve(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("serving");
        });
    });
    url
}

#[test]
fn checking_a_solved_chapter_reports_done() {
    let output = course(&["--solutions", "check", "1"], &[]);
    let out = text(&output);
    assert!(output.status.success(), "expected success:\n{out}");
    let all = format!("{n}/{n}", n = checks_of_chapter_1(false));
    assert!(out.contains("done") && out.contains(&all), "expected `done` and {all}:\n{out}");
}

#[test]
fn checking_the_stub_reports_how_many_checks_fail() {
    if !stub_is_pristine() {
        return;
    }
    let output = course(&["check", "1"], &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "checks fail on the stub:\n{out}");
    let none = format!("0/{}", checks_of_chapter_1(false));
    assert!(out.contains("not started") && out.contains(&none), "expected `not started` {none}:\n{out}");
    assert!(out.contains("empty_board_lists_no_tasks") && out.contains("not yet implemented"), "{out}");
    assert!(out.contains("Next: chapter 1, stage 1"), "expected the next step:\n{out}");
}

#[test]
fn checking_a_url_serving_the_solution_passes() {
    let url = serve(sol01_http::app(sol01_http::Config::default()));
    let output = course(&["check", "1", "--url", &url], &[]);
    let out = text(&output);
    assert!(output.status.success(), "the solution passes at {url}:\n{out}");
    let all = format!("{n}/{n}", n = checks_of_chapter_1(true));
    assert!(out.contains(&all), "expected {all}:\n{out}");
}

#[test]
fn checking_a_url_serving_a_wrong_server_fails_with_a_transcript() {
    // Answers every request with 200 and an empty list: right for stage 1 only.
    let app = axum::Router::new().fallback(|| async { axum::Json(Vec::<String>::new()) });
    let url = serve(app);
    let output = course(&["check", "1", "--url", &url], &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "a wrong server fails:\n{out}");
    let one = format!("1 of {} checks pass", checks_of_chapter_1(true));
    assert!(out.contains(&one), "only the empty list is right, expected {one:?}:\n{out}");
    for part in ["sent:", "> POST /boards/board-1", "expected:", "got:", "< HTTP/1.1 200 OK", "read:", "hint"]
    {
        assert!(out.contains(part), "the transcript shows {part:?}:\n{out}");
    }
}

#[test]
fn html_draws_the_failure_as_a_page_and_says_where() {
    let app = axum::Router::new().fallback(|| async { axum::Json(Vec::<String>::new()) });
    let url = serve(app);
    let state = std::env::temp_dir().join(format!("course-html-test-{}", std::process::id()));
    let output = course(&["check", "1", "--url", &url, "--html"], &[("COURSE_STATE_DIR", &state)]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "a wrong server fails:\n{out}");
    let line = out.lines().find(|l| l.starts_with("drawn as a sequence diagram: ")).unwrap_or_else(|| {
        panic!("expected the page's path:\n{out}");
    });
    let path = PathBuf::from(line.trim_start_matches("drawn as a sequence diagram: "));
    assert!(path.starts_with(&state), "the page is in the state folder: {}", path.display());
    let page = std::fs::read_to_string(&path).expect("the page was written");
    let _ = std::fs::remove_dir_all(&state);
    for part in
        ["<svg", "class=\"sent\"", "class=\"received\"", "class=\"expected\"", "&gt; POST /boards/board-1"]
    {
        assert!(page.contains(part), "the page has {part:?}:\n{page}");
    }
}

/// The failure shows hint 1 already, so `hint` starts at hint 2; once every
/// hint is out it recaps them all, in order.
#[test]
fn hints_start_after_the_one_the_failure_shows_and_come_one_at_a_time() {
    if !stub_is_pristine() {
        return;
    }
    let state = tempfile::tempdir().expect("a temp dir");
    let envs = [("COURSE_STATE_DIR", state.path())];
    let failure = text(&course(&["check", "1"], &envs));
    assert!(failure.contains("hint 1 of 2") && !failure.contains("hint 2 of 2"), "{failure}");
    let first = text(&course(&["hint", "1"], &envs));
    assert!(first.contains("Hint 2 of 2") && !first.contains("Hint 1 of 2"), "the next hint only:\n{first}");
    assert!(first.contains("That's every hint"), "{first}");
    let second = text(&course(&["hint", "1"], &envs));
    let (one, two) = (second.find("Hint 1 of 2"), second.find("Hint 2 of 2"));
    assert!(one.is_some() && two.is_some() && one < two, "then all of them, in order:\n{second}");
}

#[test]
fn reset_restores_the_stub_byte_for_byte_and_touches_nothing_else() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let course_root = scratch.path();
    let exercise = course_root.join("exercises/01-http");
    copy_dir(&root().join("exercises/01-http"), &exercise);
    std::fs::write(course_root.join("Cargo.toml"), "[workspace]\n").expect("writing Cargo.toml");
    std::fs::write(course_root.join("notes.txt"), "mine\n").expect("writing notes");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(course_root)
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "--quiet"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "the course"]);

    let api = exercise.join("src/api.rs");
    let shipped = std::fs::read(&api).expect("reading api.rs");
    std::fs::write(&api, b"// my half-done work\n").expect("editing api.rs");
    std::fs::write(exercise.join("src/extra.rs"), b"// a file I added\n").expect("adding a file");
    std::fs::write(course_root.join("notes.txt"), "mine, edited\n").expect("editing notes");

    let output = course(&["reset", "1", "--yes"], &[("COURSE_ROOT", course_root)]);
    assert!(output.status.success(), "reset succeeds:\n{}", text(&output));
    assert_eq!(std::fs::read(&api).expect("reading api.rs"), shipped, "api.rs is the shipped stub again");
    assert!(!exercise.join("src/extra.rs").exists(), "the added file is gone");
    assert_eq!(std::fs::read_to_string(course_root.join("notes.txt")).expect("notes"), "mine, edited\n");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a folder");
    for entry in std::fs::read_dir(from).expect("reading a folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

/// `diff` shows code: no doc comments, no `// ANCHOR` markers; `--all`
/// shows every line.
#[test]
fn diff_shows_code_without_comment_or_anchor_noise() {
    let output = course(&["diff", "1"], &[]);
    let code = text(&output);
    assert!(output.status.success(), "{code}");
    assert!(
        code.contains("diff --git a/exercises/01-http/src/api.rs b/solutions/01-http/src/api.rs"),
        "{code}"
    );
    let noise: Vec<&str> = code
        .lines()
        .filter(|l| l.contains("ANCHOR") || l.get(1..).is_some_and(|l| l.trim_start().starts_with("//")))
        .collect();
    assert!(noise.is_empty(), "comment lines in the code diff: {noise:#?}");
    let all = text(&course(&["diff", "1", "--all"], &[]));
    assert!(all.contains("ANCHOR") && all.contains("///"), "--all shows every line:\n{all}");
    assert!(code.lines().count() * 3 < all.lines().count() * 2, "the code diff is much shorter");
}

/// `watch` re-runs the checks only when a file is saved. Running them makes
/// cargo open every file of the exercise; that must not count as a save.
/// The window is a few seconds of watching with nothing saved: exactly one
/// run must happen in it.
#[test]
fn watch_does_not_rerun_without_a_save() {
    use std::io::BufRead as _;
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_course"))
        .arg("watch")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting course watch");
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let started = Instant::now();
    let first = loop {
        match lines.recv_timeout(Duration::from_secs(600).saturating_sub(started.elapsed())) {
            Ok(line) if line.starts_with("Watching") => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    if first.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        // Every chapter done (a learner's finished checkout): watch exits.
        assert!(seen.iter().any(|l| l.contains("Every chapter")), "watch never started watching:\n{seen:#?}");
        return;
    }
    // Nothing is saved in this window; a second run would print a second
    // report and a second "Watching".
    let window_end = Instant::now() + Duration::from_secs(6);
    let mut after = Vec::new();
    while let Some(left) = window_end.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => after.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let runs = seen.iter().filter(|l| l.starts_with("Chapter ")).count();
    assert_eq!(runs, 1, "one run before watching:\n{seen:#?}");
    assert!(after.is_empty(), "watch re-ran without a save:\n{after:#?}");
}

/// The catalogue gate, on fixture variants of chapter 1 (tests/catalogue):
/// one caught as declared, and one of each way a variant can be wrong.
#[test]
fn the_catalogue_gate_proves_each_variant_and_says_what_is_wrong() {
    let solution = root().join("solutions/01-http/src/api.rs");
    let before = std::fs::read(&solution).expect("reading the solution");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalogue");
    let fixtures = fixtures.to_str().expect("a UTF-8 path");
    let output = course(&["dev", "catalogue", "1", "--catalogue", fixtures], &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "three fixtures are wrong on purpose:\n{out}");
    for expected in [
        "✓ created_answers_200: caught by s2_creating::creating_a_task_answers_201_with_the_task",
        "✗ declares_a_later_check: a different check failed first: \
         s2_creating::creating_a_task_answers_201_with_the_task, saying \"POST /boards/board-1/tasks",
        "✗ only_a_comment_changes: no check failed",
        "✗ stale_context: the patch does not apply to the solution (stale)",
        "catalogue: 3 of 4 variant(s) not caught as declared",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
    let after = std::fs::read(&solution).expect("reading the solution");
    assert!(before == after, "the gate works on a scratch copy: the solution is untouched");
}
