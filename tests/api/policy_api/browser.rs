//! The policy pages in a real browser, with JavaScript and without: a member creates a key
//! and sees it once; an admin adds an IP entry and an endpoint restriction, tests a call and
//! reads why it was denied; the Usage page. Every page a person sees is audited with axe-core.

use super::{authorize, open_for_calls, verdict};
use crate::org::acme;
use crate::support::browser::Browser;
use crate::support::{TestApp, TestUser, spawn_app};

const WITH_JS: &str = "with JavaScript";

async fn browsers() -> [(&'static str, Browser); 2] {
    [
        (WITH_JS, Browser::start().await),
        ("without JavaScript", Browser::without_javascript().await),
    ]
}

async fn sign_in(browser: &Browser, app: &TestApp, user: &TestUser) {
    browser
        .sign_in(
            &app.url("/login"),
            &user.email,
            &user.password,
            "header.topbar",
        )
        .await;
}

/// axe-core runs in the page, so only with JavaScript; the pages are the same without it.
async fn assert_accessible(browser: &Browser, mode: &str) {
    if mode == WITH_JS {
        browser.assert_accessible().await;
    }
}

/// The key on the page that shows it once.
async fn shown_key(browser: &Browser) -> String {
    browser.wait_for("#new-key-value").await;
    browser
        .eval("return document.getElementById('new-key-value').value;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_member_creates_a_key_and_sees_it_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    for (mode, browser) in browsers().await {
        sign_in(&browser, &app, &acme.member).await;
        browser.click(".sidebar a[href='/settings/org/keys']").await;
        browser.wait_for("#new-api-key").await;
        assert_accessible(&browser, mode).await;
        let name = format!("CI {mode}");
        browser.fill("#new-api-key-name", &name).await;
        browser.choose("#new-api-key-lifetime", "90d").await;
        browser.click("#new-api-key button[type=submit]").await;
        let key = shown_key(&browser).await;
        assert!(key.starts_with("ghk_"), "{mode}: {key}");
        let copy_shown = browser
            .eval("return !document.querySelector('[data-copy-from]').hidden;")
            .await;
        assert_eq!(
            copy_shown,
            serde_json::json!(mode == WITH_JS),
            "{mode}: the copy button needs JavaScript"
        );
        assert_accessible(&browser, mode).await;
        assert_eq!(
            verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
            "allow"
        );

        // Back on the list: the name and prefix, never the key.
        browser
            .click("main a.button[href='/settings/org/keys']")
            .await;
        browser.wait_for("#api-key-list").await;
        let listed = browser.text_of("#api-key-list").await;
        let listed = listed.as_str().unwrap_or_default();
        assert!(
            listed.contains(&name) && listed.contains(&key[..16]),
            "{mode}: {listed}"
        );
        assert!(
            !listed.contains(&key[17..]),
            "{mode}: the key is shown again"
        );
        browser.close().await;
    }
}

#[tokio::test]
async fn an_admin_allows_an_office_and_one_endpoint_then_reads_why_a_call_was_denied() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = super::signed_in(&app, &acme.member).await;
    let key = super::create_key(&mia, super::ORG_KEYS, "CI", "none").await;
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "allow"
    );

    for (mode, browser) in browsers().await {
        app.sql("DELETE FROM ip_allow_entries").await;
        app.sql("DELETE FROM endpoint_restrictions").await;
        sign_in(&browser, &app, &acme.admin).await;
        browser
            .click(".sidebar a[href='/settings/org/security']")
            .await;
        browser.wait_for("#add-ip").await;
        assert_accessible(&browser, mode).await;

        // A mistake first: the error sits by its field, the label is kept.
        browser.fill("#add-ip-network", "203.0.113.1/24").await;
        browser.fill("#add-ip-label", "Office").await;
        browser.click("#add-ip button[type=submit]").await;
        let error = browser.wait_for("#add-ip-network-error").await;
        assert!(
            error.contains("did you mean 203.0.113.0/24?"),
            "{mode}: {error}"
        );
        assert_accessible(&browser, mode).await;
        browser.fill("#add-ip-network", "203.0.113.0/24").await;
        browser.click("#add-ip button[type=submit]").await;
        // Mia's key was used from 127.0.0.1: the console names it before saving.
        let named = browser.wait_for("#would-be-denied").await;
        assert!(named.contains("member@acme.test"), "{mode}: {named}");
        assert_accessible(&browser, mode).await;
        browser.click("main form button.danger").await;
        browser.wait_for("#ip-entries").await;

        browser.click("#restrict-endpoint-embeddings").await;
        browser.click("#restrict button[type=submit]").await;
        browser.wait_for("#restrictions").await;
        assert_accessible(&browser, mode).await;

        browser.fill("#explain-form-key", &key[..16]).await;
        browser
            .fill("#explain-form-endpoint", "chat_completions")
            .await;
        browser.fill("#explain-form-model", "gpt-4o").await;
        browser.fill("#explain-form-ip", "203.0.113.5").await;
        browser.click("#explain-form button[type=submit]").await;
        let heading = browser.wait_for("#explain-result h3").await;
        assert!(
            heading.starts_with("Denied: endpoint_not_allowed"),
            "{mode}: {heading}"
        );
        assert_eq!(
            browser.texts(".trace-failed .trace-check").await,
            ["Endpoint restrictions"],
            "{mode}"
        );
        assert_accessible(&browser, mode).await;
        // The API says the same.
        assert_eq!(
            verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
            "ip_not_allowed",
            "the real call comes from 127.0.0.1, outside the office"
        );
        browser.close().await;
    }
}

#[tokio::test]
async fn the_usage_page_draws_its_chart_without_javascript_too() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    for (mode, browser) in browsers().await {
        sign_in(&browser, &app, &acme.owner).await;
        browser
            .click(".sidebar a[href='/settings/org/usage']")
            .await;
        browser.wait_for("svg[role=img]").await;
        let summary = browser.text_of(".usage-chart figcaption").await;
        assert!(
            summary
                .as_str()
                .unwrap_or_default()
                .contains("No tokens were used"),
            "{mode}"
        );
        assert_accessible(&browser, mode).await;
        browser.click(".sidebar a[href='/settings/account']").await;
        browser.wait_for("#own-usage-heading").await;
        assert_accessible(&browser, mode).await;
        browser.close().await;
    }
}

#[tokio::test]
async fn an_admin_creates_a_service_account_and_its_first_key() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    for (mode, browser) in browsers().await {
        sign_in(&browser, &app, &acme.admin).await;
        browser
            .click(".sidebar a[href='/settings/org/service-accounts']")
            .await;
        browser.wait_for("#new-service-account").await;
        assert_accessible(&browser, mode).await;
        // A name left out: the error beside the field, the role kept.
        browser
            .click("#new-service-account button[type=submit]")
            .await;
        browser.wait_for("#new-service-account-name-error").await;
        assert_accessible(&browser, mode).await;
        let name = format!("Billing sync {mode}");
        browser.fill("#new-service-account-name", &name).await;
        browser.choose("#new-service-account-role", "member").await;
        browser
            .click("#new-service-account button[type=submit]")
            .await;
        // On to the Keys page with the account chosen as the holder.
        browser.wait_for("#new-api-key-holder").await;
        assert_accessible(&browser, mode).await;
        let holder = browser
            .eval(
                "const s = document.getElementById('new-api-key-holder'); \
                 return s.options[s.selectedIndex].text;",
            )
            .await;
        assert_eq!(
            holder.as_str().unwrap_or_default(),
            format!("{name} (service account)"),
            "{mode}"
        );
        browser.fill("#new-api-key-name", "Nightly").await;
        browser.choose("#new-api-key-lifetime", "none").await;
        browser.click("#new-api-key button[type=submit]").await;
        let key = shown_key(&browser).await;
        let answer = authorize(&app, &key, "chat_completions", "gpt-4o").await;
        assert_eq!(verdict(&answer), "allow", "{mode}");
        assert_eq!(
            answer["user_id"],
            serde_json::json!(
                app.number(&format!("SELECT id FROM users WHERE first_name = '{name}'"))
                    .await
            ),
            "{mode}: the key is the service account's"
        );
        browser.close().await;
    }
}
