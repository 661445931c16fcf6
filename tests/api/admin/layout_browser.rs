//! The admin console's layout on a laptop screen (1280×800) and its script's robustness, in a
//! real browser: no page scrolls sideways (wide tables scroll inside their own box), the
//! organization form's fields stay in their grid cells, and going back through the history
//! raises no script error.

use guildhall::domain::OrgId;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, TestUser, spawn_app};

/// Organizations whose names, emails and domains make the table wider than any window.
async fn create_wide_orgs(app: &TestApp, count: usize) -> Vec<OrgId> {
    let mut ids = Vec::new();
    for n in 1..=count {
        let owner = app.user(&format!("owner-{n}@owners.test")).create().await;
        let name = format!("Northwind Robotics and Automation Consulting Group {n:02}");
        ids.push(app.org(&name).owned_by(&owner).create().await);
    }
    ids
}

async fn sign_in(browser: &Browser, app: &TestApp, user: &TestUser) {
    let login = app.url("/login");
    browser
        .sign_in(&login, &user.email, &user.password, "#org-search")
        .await;
}

/// The page's widths: the window, the part the page may use (without a vertical scroll bar)
/// and what the page needs; and, to explain a failure, the outermost elements that stick out.
async fn widths(browser: &Browser) -> Value {
    browser
        .eval(
            "const root = document.documentElement;
             const visible = root.clientWidth;
             const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.classList.length ? '.' + [...e.classList].join('.') : '');
             const sticking = [...document.body.querySelectorAll('*')].filter((e) =>
                 e.getBoundingClientRect().right > visible + 0.5
                 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > visible + 0.5));
             return { window: window.innerWidth, visible, page: root.scrollWidth,
                      sticking_out: sticking.slice(0, 5).map((e) =>
                          name(e) + ' ' + Math.round(e.getBoundingClientRect().right) + 'px') };",
        )
        .await
}

async fn assert_no_sideways_scrolling(browser: &Browser, page: &str) {
    let widths = widths(browser).await;
    assert_eq!(widths["window"], 1280, "the window of {page}: {widths}");
    assert!(
        widths["page"].as_i64() <= widths["visible"].as_i64(),
        "{page} is wider than the window and scrolls sideways: {widths}"
    );
}

/// The Country select stays inside its grid cell and clear of the Domain field beside it.
async fn assert_country_fits(browser: &Browser, form_id: &str, page: &str) {
    let boxes = browser
        .eval(&format!(
            "const box = (e) => {{ const r = e.getBoundingClientRect();
                 return {{ left: r.left, right: r.right, top: r.top, bottom: r.bottom }}; }};
             const country = document.getElementById('{form_id}-country');
             const domain = document.getElementById('{form_id}-domain');
             return {{ country: box(country), cell: box(country.closest('.field')),
                       domain: box(domain) }};"
        ))
        .await;
    let edge = |what: &str, side: &str| boxes[what][side].as_f64().expect("a number");
    assert!(
        edge("country", "right") <= edge("cell", "right") + 0.5,
        "on {page} the Country select sticks out of its cell: {boxes}"
    );
    let overlaps = edge("country", "left") < edge("domain", "right")
        && edge("domain", "left") < edge("country", "right")
        && edge("country", "top") < edge("domain", "bottom")
        && edge("domain", "top") < edge("country", "bottom");
    assert!(
        !overlaps,
        "on {page} the Country select covers the Domain field: {boxes}"
    );
}

#[tokio::test]
async fn no_admin_page_scrolls_sideways_at_1280_by_800() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let orgs = create_wide_orgs(&app, 3).await;
    let org = orgs[0];
    app.sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    // A purchase, so the purchases page shows its tables.
    app.login(&admin).await;
    let recorded = app
        .post_form(
            &format!("/admin/organizations/{org}/purchases"),
            &[
                ("kind", "inference"),
                ("tokens", "1,000,000,000"),
                ("amount", "1,250,000.00"),
                ("currency", "EUR"),
                ("purchased_on", "2026-11-02"),
                (
                    "reference",
                    "INV-2026-NORTHWIND-ROBOTICS-AND-AUTOMATION-CONSULTING-GROUP-000042",
                ),
            ],
        )
        .await;
    assert!(
        recorded.status().is_redirection() || recorded.status().is_success(),
        "recording a purchase: {}",
        recorded.status()
    );

    let browser = Browser::start().await;
    browser
        .client
        .set_window_size(1280, 800)
        .await
        .expect("window size");
    sign_in(&browser, &app, &admin).await;

    // The wide table scrolls inside its own box, and the page's own buttons stay on screen.
    assert_no_sideways_scrolling(&browser, "/admin/organizations").await;
    let table = browser
        .eval(
            "const box = document.querySelector('#org-table .table-scroll');
             const add = document.getElementById('add-organization').getBoundingClientRect();
             return { scrolls: box.scrollWidth > box.clientWidth,
                      add_visible: add.right <= document.documentElement.clientWidth };",
        )
        .await;
    assert_eq!(
        table,
        json!({ "scrolls": true, "add_visible": true }),
        "the organizations table scrolls in its box; Add organization is on screen"
    );

    // The same form in the dialogs over the table.
    browser.click("#add-organization").await;
    browser.wait_for("#modal-root dialog[open] #new-org").await;
    assert_country_fits(&browser, "new-org", "the Add organization dialog").await;
    assert_no_sideways_scrolling(&browser, "the Add organization dialog").await;
    browser.goto(&app.url("/admin/organizations")).await;
    browser
        .click(&format!(
            "#organizations a[href='/admin/organizations/{org}/manage']"
        ))
        .await;
    browser
        .wait_for("#modal-root dialog[open] #manage-body #org-details")
        .await;
    assert_country_fits(&browser, "org-details", "the Manage dialog").await;
    assert_no_sideways_scrolling(&browser, "the Manage dialog").await;

    let pages = [
        "/admin/organizations/new".to_owned(),
        format!("/admin/organizations/{org}/manage"),
        format!("/admin/organizations/{org}/manage?tab=details"),
        format!("/admin/organizations/{org}/manage?tab=users"),
        format!("/admin/organizations/{org}/manage?tab=models"),
        format!("/admin/organizations/{org}/purchases"),
        format!("/admin/organizations/{org}/oauth"),
        "/admin/users".to_owned(),
        format!("/admin/users?org={org}"),
        "/admin/sales-import".to_owned(),
        "/admin/settings".to_owned(),
    ];
    for page in &pages {
        browser.goto(&app.url(page)).await;
        browser.wait_for("main h1").await;
        assert_eq!(
            &browser
                .client
                .current_url()
                .await
                .expect("url")
                .path()
                .to_owned(),
            page.split('?').next().expect("path"),
            "{page} was shown"
        );
        assert_no_sideways_scrolling(&browser, page).await;
    }
    for (page, form_id) in [
        ("/admin/organizations/new".to_owned(), "new-org"),
        (format!("/admin/organizations/{org}/manage"), "org-details"),
    ] {
        browser.goto(&app.url(&page)).await;
        browser.wait_for("main h1").await;
        assert_country_fits(&browser, form_id, &page).await;
    }
    browser.close().await;
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
    browser
        .wait_until(
            "const s = document.querySelector('.pager-status');
         return !!s && s.textContent.includes('page 2 of 2');",
            "the second page shows",
        )
        .await;
    browser.eval("history.back(); return true;").await;
    browser
        .wait_until(
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
