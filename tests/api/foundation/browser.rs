//! What a person does in a real browser: sign in, use htmx forms, sign out. Each page visited is
//! audited with axe-core.

use crate::support::OrgRole;

use crate::support::browser::Browser;
use crate::support::spawn_app;

#[tokio::test]
async fn a_member_signs_in_and_out_in_a_browser() {
    let app = spawn_app().await;
    let org = app.org("Acme Robotics").create().await;
    let member = app
        .user("member@acme.test")
        .member_of(org, OrgRole::Member)
        .create()
        .await;
    let browser = Browser::start().await;

    browser.goto(&app.url("/")).await;
    assert_eq!(browser.current_path().await, "/login");
    browser.assert_accessible().await;

    browser.fill("#email", &member.email).await;
    browser.fill("#password", "wrong password").await;
    browser.click("form button[type=submit]").await;
    assert_eq!(
        browser.wait_for("#login-error").await,
        "The email or password is not correct."
    );
    browser.assert_accessible().await;

    browser.fill("#password", &member.password).await;
    browser.click("form button[type=submit]").await;
    // The top bar is only on the pages behind sign-in: the sign-in page has a `main h1` too.
    browser.wait_for("header.topbar").await;
    assert_eq!(browser.wait_for("main h1").await, "Acme Robotics");
    assert_eq!(browser.current_path().await, "/settings/org");
    browser.assert_accessible().await;

    browser.click(".account-menu summary").await;
    browser.click("#sign-out").await;
    assert_eq!(
        browser.wait_for(".alert-success").await,
        "You have signed out."
    );
    browser.goto(&app.url("/settings/org")).await;
    assert_eq!(browser.current_path().await, "/login");
    browser.close().await;
}

#[tokio::test]
async fn htmx_forms_carry_the_csrf_token_and_swap_in_place() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", &user.email).await;
    browser.fill("#password", &user.password).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#profile").await;
    browser.assert_accessible().await;
    // Mark the page: a full reload would lose this, an htmx swap keeps it.
    browser
        .eval("document.body.dataset.marker = 'still here'; return true;")
        .await;

    browser.fill("#profile-first_name", "").await;
    browser.click("#profile button[type=submit]").await;
    assert_eq!(
        browser.wait_for("#profile-first_name-error").await,
        "Enter a name."
    );
    // Focus moves to the field to fix (our script does it right after the swap).
    browser
        .wait_until(
            "return document.activeElement.id === 'profile-first_name';",
            "focus moves to the field to fix",
        )
        .await;
    browser.assert_accessible().await;

    browser.fill("#profile-first_name", "Ada").await;
    browser.fill("#profile-last_name", "Lovelace").await;
    browser.click("#profile button[type=submit]").await;
    assert_eq!(
        browser.wait_for("#profile .alert-success").await,
        "Your profile was saved."
    );
    assert_eq!(
        browser.eval("return document.body.dataset.marker;").await,
        "still here"
    );

    let stored = app.stored_user(user.id).await;
    assert_eq!(
        (stored.first_name.as_str(), stored.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    browser.close().await;
}

#[tokio::test]
async fn an_htmx_request_refused_by_the_server_shows_an_alert() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", &user.email).await;
    browser.fill("#password", &user.password).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#profile").await;

    // The session ends elsewhere (signed out on another device, say) while the page is open.
    app.sql("DELETE FROM sessions").await;
    browser.click("#profile button[type=submit]").await;
    // The server refuses the stale request; htmx shows its answer in the alert region.
    let alert = browser.wait_for("#alerts .alert-error").await;
    assert!(alert.contains("This form has expired"), "{alert}");
    browser.close().await;
}
