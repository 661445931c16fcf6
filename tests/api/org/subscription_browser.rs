//! The Subscription tab and the provider keys in a real browser, with JavaScript and without:
//! a member reads them with no controls; an owner adds and rotates a key and changes plan.
//! Every state a person sees is audited with axe-core.

use super::acme;
use crate::support::browser::Browser;
use crate::support::{TestApp, TestUser, spawn_app};

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

const WITH_JS: &str = "with JavaScript";

async fn browsers() -> [(&'static str, Browser); 2] {
    [
        (WITH_JS, Browser::start().await),
        ("without JavaScript", Browser::without_javascript().await),
    ]
}

/// axe-core runs in the page, so only with JavaScript; the pages are the same without it.
async fn assert_accessible(browser: &Browser, mode: &str) {
    if mode == WITH_JS {
        browser.assert_accessible().await;
    }
}

#[tokio::test]
async fn a_member_reads_the_subscription_and_the_available_providers_without_any_control() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let owner = app.another_visitor();
    owner.login(&acme.owner).await;
    owner.get("/settings/org/keys").await;
    let added = owner
        .post_form(
            "/settings/org/keys",
            &[
                ("provider", "anthropic"),
                ("label", "Claude production"),
                ("secret", "sk-ant-a-long-enough-secret"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);

    for (mode, browser) in browsers().await {
        sign_in(&browser, &app, &acme.member).await;
        browser
            .click(".sidebar a[href='/settings/org/subscription']")
            .await;
        browser.wait_for("#plan-heading").await;
        let facts = browser.wait_for(".facts").await;
        assert!(facts.contains("Standard"), "{mode}: {facts}");
        assert!(facts.contains("$20.00"), "{mode}: {facts}");
        assert_eq!(
            browser.eval("return document.querySelectorAll('form#change-plan, form#seat-form, a[href$=\"/cancel\"]').length;").await,
            0,
            "{mode}: no controls for a member"
        );
        assert_accessible(&browser, mode).await;

        browser.click(".sidebar a[href='/settings/org/keys']").await;
        browser.wait_for("#available-providers").await;
        assert_eq!(
            browser.texts("#available-providers li").await,
            vec!["Anthropic"],
            "{mode}"
        );
        let main = browser.text_of("main").await;
        assert!(
            !main
                .as_str()
                .unwrap_or_default()
                .contains("Claude production"),
            "{mode}: the label stays with owners and admins"
        );
        assert_eq!(
            browser
                .eval("return document.querySelectorAll('#provider-keys-section form').length;")
                .await,
            0,
            "{mode}: no provider key controls for a member (only their own API keys)"
        );
        assert_accessible(&browser, mode).await;
        browser.close().await;
    }
}

#[tokio::test]
async fn an_owner_adds_and_rotates_a_key_and_moves_to_another_plan() {
    for (mode, browser) in browsers().await {
        let app = spawn_app().await;
        let acme = acme(&app).await;
        let team_plan = app.number("SELECT id FROM plans WHERE name = 'Team'").await;
        sign_in(&browser, &app, &acme.owner).await;
        browser.goto(&app.url("/settings/org/keys")).await;
        browser.wait_for(".empty-state").await;
        assert_accessible(&browser, mode).await;

        // A key without its value is refused with the error on the field.
        browser.choose("#add-key-provider", "openai").await;
        browser.fill("#add-key-label", "Production").await;
        browser.click("#add-key button[type=submit]").await;
        let error = browser.wait_for("#add-key-secret-error").await;
        assert_eq!(error, "Paste the key.", "{mode}");
        assert_accessible(&browser, mode).await;

        browser
            .fill("#add-key-secret", "sk-proj-first-value-aaaa")
            .await;
        browser.click("#add-key button[type=submit]").await;
        browser.wait_for("#provider-keys").await;
        let row = browser.wait_for("#provider-keys tbody tr").await;
        assert!(row.contains("…aaaa"), "{mode}: {row}");
        assert!(!row.contains("sk-proj-first"), "{mode}: never the value");
        assert_accessible(&browser, mode).await;

        browser.click("#provider-keys a[href$='/rotate']").await;
        browser.wait_for("#rotate-key-secret").await;
        assert_accessible(&browser, mode).await;
        browser
            .fill("#rotate-key-secret", "sk-proj-second-value-bbbb")
            .await;
        browser.click("#rotate-key button[type=submit]").await;
        browser.wait_for("#provider-keys").await;
        let row = browser.wait_for("#provider-keys tbody tr").await;
        assert!(row.contains("…bbbb"), "{mode}: {row}");
        assert!(row.contains("by owner@acme.test"), "{mode}: {row}");
        let alert = browser.wait_for(".alerts .alert").await;
        assert!(
            alert.contains("everyone uses the new value"),
            "{mode}: {alert}"
        );

        browser
            .click(".sidebar a[href='/settings/org/subscription']")
            .await;
        browser.wait_for("#change-plan").await;
        assert_accessible(&browser, mode).await;
        browser.click(&format!("#plan-{team_plan}")).await;
        browser.click("#change-plan button[type=submit]").await;
        browser
            .wait_until(
                "const a = document.querySelector('.alerts .alert'); return !!a && a.textContent.includes('now on Team');",
                "the plan change is confirmed",
            )
            .await;
        let facts = browser.wait_for(".facts").await;
        assert!(facts.contains("$99.00"), "{mode}: {facts}");
        assert_accessible(&browser, mode).await;
        assert_eq!(
            app.number(&format!(
                "SELECT plan_id FROM organizations WHERE id = {}",
                acme.org
            ))
            .await,
            team_plan,
            "{mode}"
        );
        browser.close().await;
    }
}
