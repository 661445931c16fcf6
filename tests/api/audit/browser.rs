//! Both audit log pages in a real browser: filtering in place, the pages either side and
//! Verify, with axe reporting nothing; and the same without JavaScript.

use super::write_entries;
use crate::org::acme;
use crate::support::browser::Browser;
use crate::support::{Role, spawn_app};

#[tokio::test]
async fn an_owner_filters_pages_and_verifies_the_log_in_place() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 60, "member.role_changed", "ada@acme.test").await;
    write_entries(&app, acme.org, 2, "team.created", "olive@acme.test").await;
    let browser = Browser::start().await;
    browser
        .sign_in(
            &app.url("/login"),
            "owner@acme.test",
            &acme.owner.password,
            "header.topbar",
        )
        .await;
    browser.goto(&app.url("/settings/org/audit")).await;
    browser.wait_for("#audit-log").await;
    browser.assert_accessible().await;
    browser.mark_page().await;

    browser
        .choose("#audit-filters-action", "team.created")
        .await;
    browser.click("#audit-filters button[type=submit]").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#audit-log tbody tr').length === 2",
            "two team entries",
        )
        .await;
    let query = browser.eval("return location.search").await;
    assert!(
        query
            .as_str()
            .is_some_and(|q| q.contains("action=team.created")),
        "{query}"
    );
    browser.assert_not_reloaded().await;

    browser.click(".page-header button[type=submit]").await;
    browser
        .wait_for_containing(
            "#audit-verdict",
            "The audit log is intact: 62 entries checked",
        )
        .await;
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn without_javascript_the_super_admins_page_filters_pages_and_verifies() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 55, "member.role_changed", "ada@acme.test").await;
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let browser = Browser::without_javascript().await;
    browser
        .sign_in(
            &app.url("/login"),
            &root.user.email,
            &root.user.password,
            "header.topbar",
        )
        .await;
    browser.goto(&app.url("/admin/audit")).await;
    browser.wait_for("#audit-log").await;
    browser.click("a[rel=next]").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#audit-log tbody tr').length === 5",
            "the second page",
        )
        .await;
    browser
        .fill("#audit-filters-org", &acme.org.0.to_string())
        .await;
    browser.click("#audit-filters button[type=submit]").await;
    browser
        .wait_until(
            "return location.search.includes('org=') && document.querySelectorAll('#audit-log tbody tr').length === 50",
            "the organization's newest page",
        )
        .await;
    browser.click(".page-header button[type=submit]").await;
    browser
        .wait_for_containing("#audit-verdict", "intact: 55 entries checked")
        .await;
    browser.close().await;
}

/// A long walk in a real browser: the region polls while the walk runs, the progress passes
/// axe, the verdict replaces it when the walk ends, and polling stops (not repeating an error
/// every second) when a poll is refused.
#[tokio::test]
async fn a_running_walk_polls_to_its_verdict_and_stops_on_a_refused_poll() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = acme.org.0;
    // Walks the test moves along itself, as a long walk's background task would.
    let running = |checked: i64| {
        format!(
            "INSERT INTO audit_verifications (org_id, started_at, total, checked, beat_at) \
             VALUES ({org}, now(), 5000, {checked}, now() + interval '1 hour')"
        )
    };
    app.sql(&running(1000)).await;
    let walk = app.number("SELECT max(id) FROM audit_verifications").await;
    let browser = Browser::start().await;
    browser
        .sign_in(
            &app.url("/login"),
            "owner@acme.test",
            &acme.owner.password,
            "header.topbar",
        )
        .await;
    browser
        .goto(&app.url(&format!("/settings/org/audit?verification={walk}")))
        .await;
    browser.wait_for("#audit-progress").await;
    browser.assert_accessible().await;
    browser.mark_page().await;

    app.sql(&format!(
        "UPDATE audit_verifications SET checked = 3000 WHERE id = {walk}"
    ))
    .await;
    browser
        .wait_for_containing("#audit-verdict", "3,000 of 5,000 entries checked so far")
        .await;
    app.sql(&format!(
        "UPDATE audit_verifications SET checked = 5000, finished_at = now() WHERE id = {walk}"
    ))
    .await;
    browser
        .wait_for_containing("#audit-verdict", "The audit log is intact: 5,000 entries")
        .await;
    browser
        .wait_for_containing(
            "#audit-verdict-status",
            "Verification finished: the audit log is intact.",
        )
        .await;
    assert_eq!(
        browser
            .eval("return document.getElementById('audit-verdict').hasAttribute('hx-trigger')")
            .await,
        serde_json::json!(false),
        "a finished walk is not polled"
    );
    browser.assert_not_reloaded().await;

    // Another running walk whose row goes away: the poll is refused (404) and polling stops.
    app.sql(&running(2000)).await;
    let gone = app.number("SELECT max(id) FROM audit_verifications").await;
    browser
        .goto(&app.url(&format!("/settings/org/audit?verification={gone}")))
        .await;
    browser.wait_for("#audit-progress").await;
    app.sql(&format!(
        "DELETE FROM audit_verifications WHERE id = {gone}"
    ))
    .await;
    browser
        .wait_until(
            "return !document.getElementById('audit-verdict').hasAttribute('hx-trigger')",
            "polling stopped after a refused poll",
        )
        .await;
    assert!(
        browser
            .text_of("#audit-verdict")
            .await
            .as_str()
            .is_some_and(|text| text.contains("2,000 of 5,000")),
        "the last progress stays"
    );
    browser.close().await;
}
