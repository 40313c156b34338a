//! `cargo course check --html`'s page for a real failure: chapter 1's first
//! check against a stub that answers 404 to everything, drawn by
//! `course_checks::picture` and opened in headless Chromium, which must show
//! the diagram (the request, the 404, the answer that did not come) with no
//! errors. Without Chromium it passes with a note, unless `CI=true`.

use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::http::StatusCode;
use course_browser::{Browser, Options};
use course_checks::harness::{self, Verdict};
use serde_json::json;
use tokio::net::TcpListener;

/// Whether Chromium is here; without it, fails under CI and skips otherwise.
fn chromium_or_skip() -> bool {
    let options = Options::default();
    if options.chromium.exists() && options.chromedriver.exists() {
        return true;
    }
    let install = "apt-get install -y chromium chromium-driver";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "Chromium or chromedriver is missing ({install})");
    eprintln!("skipped: Chromium or chromedriver is missing ({install})");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_checks_transcript_is_drawn_as_a_sequence_diagram_without_errors() -> Result<()> {
    if !chromium_or_skip() {
        return Ok(());
    }
    let stub = Router::new().fallback(|| async { (StatusCode::NOT_FOUND, "a stub: nothing here") });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, stub).await });

    let chapter = course_checks::chapter("1").context("chapter 1")?;
    let check = chapter.checks_in_order()[0];
    let report = tokio::task::spawn_blocking(move || {
        let verdict = harness::run_check(chapter, check, &harness::remote_server(addr), 0);
        assert!(matches!(verdict, Verdict::Failed(_)), "{} passed against a stub", check.name);
        verdict.to_report(chapter, check, 1)
    })
    .await?;
    let page = course_checks::picture::html(check.name, &report.message);
    let path = std::env::temp_dir().join(format!("course-picture-{}.html", std::process::id()));
    std::fs::write(&path, &page)?;

    let browser = Browser::start().await?;
    let outcome = async {
        browser.open(&format!("file://{}", path.display())).await?;
        browser.wait_for("svg.sequence").await?;
        let drawn = browser
            .eval(
                "const svg = document.querySelector('svg.sequence'); const box = svg.getBoundingClientRect();
                 return { sent: svg.querySelectorAll('g.sent').length, received: svg.querySelectorAll('g.received').length,
                          expected: svg.querySelectorAll('g.expected').length, width: box.width, height: box.height,
                          first: svg.querySelector('g.sent text').textContent,
                          text: document.querySelector('pre.transcript').textContent.includes(arguments[0]) };",
                vec![json!(report.message.lines().next().unwrap_or_default())],
            )
            .await?;
        ensure!(
            drawn["sent"].as_u64() >= Some(1)
                && drawn["received"].as_u64() >= Some(1)
                && drawn["expected"] == json!(1)
                && drawn["width"].as_f64() > Some(100.0)
                && drawn["height"].as_f64() > Some(100.0)
                && drawn["text"] == json!(true),
            "the page draws {drawn} for:\n{}",
            report.message
        );
        let errors = browser.errors().await?;
        ensure!(errors.is_empty(), "errors on the page: {errors:?}");
        let shot = std::env::temp_dir().join(format!("course-picture-{}.png", std::process::id()));
        browser.screenshot(&shot).await?;
        println!("the diagram: {drawn}; screenshot {}", shot.display());
        Ok(())
    }
    .await;
    browser.close().await?;
    std::fs::remove_file(&path)?;
    outcome
}
