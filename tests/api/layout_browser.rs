//! The admin console in a real browser: going back through the history raises no script error.

use std::time::{Duration, Instant};

use guildhall::domain::{OrgId, PlatformRole};
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{TestApp, TestUser, spawn_app};

const PATIENCE: Duration = Duration::from_secs(10);

/// Organizations whose names, emails and domains make the table wider than any window.
async fn create_wide_orgs(app: &TestApp, count: usize) -> Vec<OrgId> {
    let mut ids = Vec::new();
    for n in 1..=count {
        let owner = app
            .create_user(&format!("owner-{n}@owners.test"), PlatformRole::User)
            .await;
        let name = format!("Northwind Robotics and Automation Consulting Group {n:02}");
        ids.push(app.create_org(&name, &owner).await);
    }
    ids
}

async fn sign_in(browser: &Browser, app: &TestApp, user: &TestUser) {
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", &user.email).await;
    browser.fill("#password", &user.password).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#org-search").await;
}

/// Waits until `script` (a function body that `return`s a boolean) is true.
async fn wait_until(browser: &Browser, script: &str, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if browser.eval(script).await == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn going_back_after_next_page_raises_no_script_error() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    create_wide_orgs(&app, 30).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;

    // Collect script errors from here on; the page is never reloaded (checked below), so the
    // collector stays installed through htmx's swaps and history restores.
    browser
        .eval(
            "window.scriptErrors = [];
             window.addEventListener('error', (e) => scriptErrors.push(String(e.message)));
             window.addEventListener('unhandledrejection', (e) => scriptErrors.push(String(e.reason)));
             window.historyRestored = false;
             document.addEventListener('htmx:historyRestore', () => { window.historyRestored = true; });
             return true;",
        )
        .await;

    browser.click(".pager a[rel=next]").await;
    wait_until(
        &browser,
        "const s = document.querySelector('.pager-status');
         return !!s && s.textContent.includes('page 2 of 2');",
        "the second page shows",
    )
    .await;
    browser.eval("history.back(); return true;").await;
    wait_until(
        &browser,
        "const s = document.querySelector('.pager-status');
         return window.historyRestored === true && !!s && s.textContent.includes('page 1 of 2');",
        "going back restores the first page",
    )
    .await;
    // Whatever htmx does after the restore has run once the browser is idle again.
    browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => setTimeout(() => done(true), 0));",
            vec![],
        )
        .await
        .expect("an idle frame");

    let state = browser
        .eval(
            "return { collector: Array.isArray(window.scriptErrors), errors: window.scriptErrors || [] };",
        )
        .await;
    assert_eq!(
        state,
        json!({ "collector": true, "errors": [] }),
        "script errors after Next page and Back"
    );
    browser.close().await;
}
