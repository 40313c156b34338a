//! The browser wrapper against pages served on loopback. Needs Debian's
//! `chromium` and `chromium-driver` (`.ci/check-book` installs them).

use anyhow::Result;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use course_browser::Browser;
use tokio::net::TcpListener;

const THROWS: &str = "<!doctype html><title>throws</title>
<script>window.addEventListener('load', () => { throw new Error('thrown on load'); });</script>
<p>a page with a bug</p>";

const LATE: &str = "<!doctype html><title>late</title>
<input id=name>
<script>setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'here at last';
  document.body.append(p);
}, 300);
document.getElementById('name').addEventListener('input', (e) => { document.title = e.target.value; });
</script>";

async fn serve() -> Result<String> {
    let app = Router::new()
        .route("/throws", get(|| async { Html(THROWS) }))
        .route("/late", get(|| async { Html(LATE) }));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

#[tokio::test]
async fn an_error_thrown_while_loading_is_collected_once() -> Result<()> {
    let base = serve().await?;
    let browser = Browser::start().await?;
    browser.open(&format!("{base}/throws")).await?;
    let errors = browser.errors().await?;
    let again = browser.errors().await?;
    browser.close().await?;
    assert!(
        errors.iter().any(|e| e.source == "javascript" && e.message.contains("thrown on load")),
        "expected the uncaught error in {errors:?}"
    );
    assert!(again.is_empty(), "the log is handed over once, but got {again:?} again");
    Ok(())
}

#[tokio::test]
async fn waits_for_what_appears_later_types_and_screenshots() -> Result<()> {
    let base = serve().await?;
    let browser = Browser::start().await?;
    browser.open(&format!("{base}/late")).await?;
    let late = browser.wait_for("#late").await?;
    assert_eq!(late.text().await?, "here at last");
    browser.type_into("#name", "Alice").await?;
    let title =
        browser.wait_until("the title to follow the input", "return document.title === 'Alice';").await;
    let shot = std::env::temp_dir().join(format!("course-browser-test-{}.png", std::process::id()));
    browser.screenshot(&shot).await?;
    let errors = browser.errors().await?;
    browser.close().await?;
    title?;
    let png = std::fs::read(&shot)?;
    std::fs::remove_file(&shot)?;
    assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
    assert!(errors.is_empty(), "no errors expected, got {errors:?}");
    Ok(())
}
