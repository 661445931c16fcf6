//! The super administrator's Organizations console in a real browser: sorting and paging in
//! place, search as you type, the Add Organization dialog and the Manage dialog's tabs. Each
//! state a person sees is audited with axe-core.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{OrgId, OrgRole, TestApp, TestUser, spawn_app};

/// How long any expected change may take to show.
const PATIENCE: Duration = Duration::from_secs(10);

/// Signs in through the real login form and lands on the Organizations console.
async fn sign_in(browser: &Browser, app: &TestApp, user: &TestUser) {
    let login = app.url("/login");
    browser
        .sign_in(&login, &user.email, &user.password, "#org-search")
        .await;
    assert_eq!(browser.current_path().await, "/admin/organizations");
    assert_eq!(browser.wait_for("main h1").await, "Organizations");
}

/// The organization names of the table's rows, top to bottom.
async fn org_names(browser: &Browser) -> Vec<String> {
    let names = browser
        .eval(
            "return Array.from(document.querySelectorAll('#organizations tbody tr td:nth-child(3)'),
                td => td.textContent.trim());",
        )
        .await;
    serde_json::from_value(names).expect("a list of names")
}

/// Waits until the table shows exactly these organizations, in this order.
async fn wait_for_names(browser: &Browser, expected: &[String]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let names = org_names(browser).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the table shows {names:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn query_string(browser: &Browser) -> String {
    let url = browser.client.current_url().await.expect("url");
    url.query().unwrap_or_default().to_owned()
}

async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(fantoccini::Locator::Css(css))
        .await
        .expect(css)
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

async fn focused_id(browser: &Browser) -> serde_json::Value {
    browser.eval("return document.activeElement.id;").await
}

/// Organizations with one owner each (`owner@<slug>.test`).
async fn create_orgs(app: &TestApp, names: &[String]) -> Vec<OrgId> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(app.org(name).create().await);
    }
    ids
}

fn names(range: impl Iterator<Item = usize>) -> Vec<String> {
    range.map(|n| format!("Guild {n:02}")).collect()
}

#[tokio::test]
async fn sorting_and_paging_swap_the_table_in_place_and_keep_history() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    create_orgs(&app, &names(1..=30)).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;

    // A to Z by name, 25 rows a page.
    wait_for_names(&browser, &names(1..=25)).await;
    assert_eq!(
        browser.wait_for(".pager-status").await,
        "Showing 1–25 of 30 · page 1 of 2"
    );
    browser.assert_accessible().await;
    browser.mark_page().await;

    let header = "#organizations th[data-col=name] a";
    assert!(
        browser.wait_for(header).await.starts_with("Organization"),
        "the name column's header link"
    );
    browser.click(header).await;
    wait_for_names(&browser, &names((6..=30).rev())).await;
    let query = query_string(&browser).await;
    assert!(query.contains("sort=name&dir=desc"), "{query}");
    assert_eq!(
        browser
            .eval("return document.querySelector('#organizations th[data-col=name]').getAttribute('aria-sort');")
            .await,
        "descending"
    );
    browser.assert_not_reloaded().await;
    // The search form's hidden sort fields follow (out of band), for the next search.
    assert_eq!(
        value_of(&browser, "#org-list-state input[name=dir]").await,
        "desc"
    );

    browser.click(".pager a[rel=next]").await;
    browser
        .wait_for_text(".pager-status", "Showing 26–30 of 30 · page 2 of 2")
        .await;
    wait_for_names(&browser, &names((1..=5).rev())).await;
    let query = query_string(&browser).await;
    assert!(
        query.contains("sort=name&dir=desc") && query.contains("page=2"),
        "{query}"
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // Back: the first page of the same order again, inside the whole console.
    browser.client.back().await.expect("back");
    browser
        .wait_for_text(".pager-status", "Showing 1–25 of 30 · page 1 of 2")
        .await;
    wait_for_names(&browser, &names((6..=30).rev())).await;
    let query = query_string(&browser).await;
    assert!(
        query.contains("sort=name&dir=desc") && !query.contains("page=2"),
        "{query}"
    );
    // The whole console is still there, not only the table. On a history miss htmx 2 asks the
    // server again with `HX-Request: true` and `HX-History-Restore-Request: true` and puts the
    // answer in place of the whole <body>; answering that with the table fragment (as
    // `htmx::is_htmx` did at commit da6e99d) loses the heading, search form and sidebar.
    let chrome = browser
        .eval(
            "return [document.querySelector('main h1')?.textContent.trim() ?? null,
                     !!document.getElementById('org-search'),
                     !!document.querySelector('nav.sidebar')];",
        )
        .await;
    assert_eq!(
        chrome,
        json!(["Organizations", true, true]),
        "after going back: [heading, search box, sidebar]"
    );
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn searching_as_you_type_narrows_the_table() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let all: Vec<String> = ["Acme Robotics", "Borealis Labs", "Cobalt Systems"]
        .map(str::to_owned)
        .to_vec();
    create_orgs(&app, &all).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;
    wait_for_names(&browser, &all).await;
    browser.mark_page().await;

    browser.click("#org-search").await;
    let search = browser
        .client
        .find(fantoccini::Locator::Css("#org-search"))
        .await
        .expect("search box");
    search.send_keys("borea").await.expect("type");
    wait_for_names(&browser, &["Borealis Labs".to_owned()]).await;
    assert_eq!(
        browser.wait_for(".pager-status").await,
        "Showing 1–1 of 1 · page 1 of 1"
    );
    let query = query_string(&browser).await;
    assert!(query.contains("q=borea"), "{query}");
    browser.assert_not_reloaded().await;
    // Typing goes on where it was: the box keeps its text and the focus.
    assert_eq!(value_of(&browser, "#org-search").await, "borea");
    assert_eq!(focused_id(&browser).await, "org-search");
    browser.assert_accessible().await;

    search.send_keys("zzz").await.expect("type");
    browser
        .wait_for_text(
            "#org-table .empty-state",
            "No organization matches “boreazzz”.",
        )
        .await;
    assert!(org_names(&browser).await.is_empty());
    browser.assert_not_reloaded().await;
    browser.close().await;
}

#[tokio::test]
async fn add_organization_shows_field_errors_then_creates_it_in_place() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    create_orgs(&app, &["Acme Robotics".to_owned()]).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;
    browser.mark_page().await;
    let history_before = browser.eval("return history.length;").await;

    browser.click("#add-organization").await;
    browser.wait_for("#modal-root dialog[open] #new-org").await;
    assert_eq!(
        browser.wait_for("#modal-root dialog h2").await,
        "Add organization"
    );
    assert_eq!(focused_id(&browser).await, "new-org-name");
    browser.assert_accessible().await;

    browser.fill("#new-org-contact_name", "Grace Hopper").await;
    browser.fill("#new-org-email", "not-an-email").await;
    browser.fill("#new-org-phone", "+49 30 1234567").await;
    browser
        .client
        .find(fantoccini::Locator::Css("#new-org-country"))
        .await
        .expect("country")
        .select_by_value("DE")
        .await
        .expect("choose DE");
    browser
        .fill("#new-org-owner_email", "owner@newco.test")
        .await;
    browser.click("#new-org button[type=submit]").await;

    assert_eq!(
        browser.wait_for("#new-org-name-error").await,
        "This field is required."
    );
    assert_eq!(
        browser.wait_for("#new-org-email-error").await,
        "Enter an email address like name@example.com."
    );
    // Each error sits beside its field and is tied to it.
    for field in ["name", "email"] {
        let tied = browser
            .eval(&format!(
                "const f = document.getElementById('new-org-{field}');
                 return f.getAttribute('aria-invalid') === 'true'
                   && f.getAttribute('aria-describedby') === 'new-org-{field}-error'
                   && f.closest('.field').contains(document.getElementById('new-org-{field}-error'));"
            ))
            .await;
        assert_eq!(tied, true, "the error of {field}");
    }
    // Only the two wrong fields are flagged.
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('#new-org [aria-invalid=true]').length;")
            .await,
        2
    );
    // What was typed is kept.
    assert_eq!(
        value_of(&browser, "#new-org-contact_name").await,
        "Grace Hopper"
    );
    assert_eq!(value_of(&browser, "#new-org-email").await, "not-an-email");
    assert_eq!(value_of(&browser, "#new-org-phone").await, "+49 30 1234567");
    assert_eq!(value_of(&browser, "#new-org-country").await, "DE");
    assert_eq!(
        value_of(&browser, "#new-org-owner_email").await,
        "owner@newco.test"
    );
    browser
        .wait_until(
            "return document.activeElement.id === 'new-org-name';",
            "focus moves to the first field to fix",
        )
        .await;
    browser.wait_for("#modal-root dialog[open] #new-org").await;
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    browser.fill("#new-org-name", "Newco Industries").await;
    browser.fill("#new-org-email", "hello@newco.test").await;
    browser.click("#new-org button[type=submit]").await;
    browser
        .wait_until(
            "return document.querySelector('#modal-root dialog') === null;",
            "the dialog closes",
        )
        .await;
    assert_eq!(
        browser.wait_for("#alerts .alert-success").await,
        "Newco Industries was created."
    );
    wait_for_names(
        &browser,
        &["Acme Robotics".to_owned(), "Newco Industries".to_owned()],
    )
    .await;
    browser.assert_not_reloaded().await;
    assert_eq!(
        focused_id(&browser).await,
        "add-organization",
        "focus goes back to the button that opened the dialog"
    );
    assert_eq!(
        browser.eval("return history.length;").await,
        history_before,
        "the table's refresh adds no history entry"
    );
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn the_manage_dialog_switches_tabs_in_place() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let org = create_orgs(&app, &["Acme Robotics".to_owned()]).await[0];
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;
    browser.mark_page().await;
    let page_url = browser.client.current_url().await.expect("url");

    browser
        .click(&format!(
            "#organizations a[href='/admin/organizations/{org}/manage']"
        ))
        .await;
    browser
        .wait_for("#modal-root dialog[open] #manage-body #org-details")
        .await;
    assert_eq!(
        browser.wait_for("#modal-root dialog h2").await,
        "Manage Acme Robotics"
    );
    let current_tab = "#manage-body nav.tabs a[aria-current=page]";
    assert_eq!(browser.wait_for(current_tab).await, "Details");
    assert_eq!(
        value_of(&browser, "#org-details-name").await,
        "Acme Robotics"
    );
    assert_eq!(value_of(&browser, "#org-details-country").await, "DE");
    browser.assert_accessible().await;

    browser
        .click("#manage-body nav.tabs a[href$='?tab=users']")
        .await;
    browser
        .wait_for("#modal-root dialog[open] #manage-body #assign-users-emails")
        .await;
    assert_eq!(browser.wait_for(current_tab).await, "Assign users");
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("#org-details"))
            .await
            .is_err(),
        "the Details form was replaced"
    );
    browser.assert_accessible().await;

    browser
        .click("#manage-body nav.tabs a[href$='?tab=models']")
        .await;
    browser
        .wait_for("#modal-root dialog[open] #manage-body #org-models")
        .await;
    assert_eq!(browser.wait_for(current_tab).await, "Models");
    let models = browser
        .eval("return Array.from(document.querySelectorAll('#org-models label'), l => l.textContent.trim());")
        .await;
    assert!(
        models.to_string().contains("openai / gpt-4o"),
        "the catalogue is listed: {models}"
    );
    browser.assert_accessible().await;

    browser
        .click("#manage-body nav.tabs a[href$='?tab=details']")
        .await;
    browser
        .wait_for("#modal-root dialog[open] #manage-body #org-details")
        .await;
    assert_eq!(browser.wait_for(current_tab).await, "Details");
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('#modal-root dialog').length;")
            .await,
        1,
        "one dialog, its body swapped"
    );
    assert_eq!(
        browser.client.current_url().await.expect("url"),
        page_url,
        "switching tabs inside the dialog leaves the address alone"
    );
    browser.assert_not_reloaded().await;
    browser.close().await;
}

#[tokio::test]
async fn assign_users_adds_registered_users_and_lists_the_others() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let org = create_orgs(&app, &["Acme Robotics".to_owned()]).await[0];
    let grace = app.user("grace@navy.test").create().await;
    let ada = app.user("ada@engines.test").create().await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &admin).await;
    let users_cell = "#organizations tbody tr td:nth-child(4)";
    assert_eq!(browser.wait_for(users_cell).await, "1");
    browser.mark_page().await;

    browser
        .click(&format!(
            "#organizations a[href='/admin/organizations/{org}/manage']"
        ))
        .await;
    browser
        .wait_for("#modal-root dialog[open] #org-details")
        .await;
    browser
        .click("#manage-body nav.tabs a[href$='?tab=users']")
        .await;
    browser.wait_for("#assign-users-emails").await;

    browser
        .fill(
            "#assign-users-emails",
            "grace@navy.test\nnobody@nowhere.test",
        )
        .await;
    // Check first: every line says what it would do, nothing changes.
    browser.click("#assign-users button[value=check]").await;
    let planned = browser.wait_for("#assign-summary").await;
    assert!(
        planned.contains("Check: 1 would be assigned, 0 already members, 1 without an account."),
        "{planned}"
    );
    assert!(app.stored_membership(org, grace.id).await.is_none());
    browser.assert_accessible().await;
    browser.click("#assign-users button[value=assign]").await;
    browser
        .wait_for_text(
            "#assign-summary",
            "1 assigned, 0 already members, 1 without an account.",
        )
        .await;
    let lines = browser.wait_for("#assign-report tbody").await;
    assert!(
        lines.contains("grace@navy.test") && lines.contains("Assigned"),
        "{lines}"
    );
    assert!(
        lines.contains("No account with this email: skipped"),
        "{lines}"
    );
    browser.assert_accessible().await;
    let membership = app
        .stored_membership(org, grace.id)
        .await
        .expect("Grace is a member now");
    assert_eq!(membership.role, OrgRole::Member);
    // The table behind the dialog counts her.
    browser.wait_for_text(users_cell, "2").await;

    // One malformed line: the whole batch is refused and the text kept to correct it.
    let batch = "ada@engines.test\nnot an email";
    browser.fill("#assign-users-emails", batch).await;
    browser.click("#assign-users button[value=assign]").await;
    browser.wait_for_text("#assign-summary",
        "Nothing was assigned: correct the lines marked below and submit again. The other lines show what they would do.",
    )
    .await;
    // Every line is reported: the wrong one with its reason, the others with what they
    // would have done.
    let lines = browser.wait_for("#assign-report tbody").await;
    assert!(
        lines.contains("not an email")
            && lines.contains("Enter an email address like name@example.com."),
        "{lines}"
    );
    assert!(
        lines.contains("ada@engines.test") && lines.contains("Would be assigned"),
        "{lines}"
    );
    assert_eq!(value_of(&browser, "#assign-users-emails").await, batch);
    browser.assert_accessible().await;
    assert!(
        app.stored_membership(org, ada.id).await.is_none(),
        "Ada was not assigned"
    );
    assert_eq!(browser.wait_for(users_cell).await, "2");
    browser.assert_not_reloaded().await;
    browser.close().await;
}
