//! The organization pages in a real browser: the Members page (search as you type, the detail
//! panel, the role dropdown, removal with its preview and receipt), inviting people, accepting
//! an invitation from its email, and the header's organization switcher. Each state a person
//! sees is audited with axe-core.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::smtp::SmtpSink;
use crate::support::{Membership, OrgId, OrgRole, TestApp, TestUser, spawn_app, spawn_app_with};

/// How long any expected change may take to show.
const PATIENCE: Duration = Duration::from_secs(10);

/// An organization "Acme" with its owner, an admin and two members.
struct Acme {
    org: OrgId,
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    other_member: TestUser,
}

async fn acme(app: &TestApp) -> Acme {
    let owner = app
        .user("owner@acme.test")
        .named("Olive", "Owner")
        .create()
        .await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    let with = |email: &'static str, first: &'static str, role| {
        app.user(email)
            .named(first, "Acme")
            .joins(Membership::new(org, role))
            .create()
    };
    Acme {
        admin: with("admin@acme.test", "Ada", OrgRole::Admin).await,
        member: with("member@acme.test", "Mia", OrgRole::Member).await,
        other_member: with("other-member@acme.test", "Max", OrgRole::Member).await,
        owner,
        org,
    }
}

/// Signs in through the real login form; people with an organization land on its overview
/// (the app layout's top bar is what the sign-in page lacks).
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

/// Signs in and opens the Members page.
async fn open_members(browser: &Browser, app: &TestApp, user: &TestUser) {
    sign_in(browser, app, user).await;
    browser.goto(&app.url("/settings/org/users")).await;
    browser.wait_for("#members").await;
}

/// The member names in the table, top to bottom.
async fn member_names(browser: &Browser) -> Vec<String> {
    let mut names = browser.texts("#members tbody tr td:nth-child(2) a").await;
    names.sort();
    names
}

/// Waits until the table lists exactly these members (in any order).
async fn wait_for_members(browser: &Browser, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|name| (*name).to_owned()).collect();
    expected.sort();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let names = member_names(browser).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the table lists {names:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn role_of(app: &TestApp, org: OrgId, user: &TestUser) -> Option<String> {
    app.stored_membership(org, user.id)
        .await
        .map(|m| m.role.as_str().to_owned())
}

#[tokio::test]
async fn the_owner_searches_changes_a_role_and_removes_two_members_in_place() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let browser = Browser::start().await;
    open_members(&browser, &app, &acme.owner).await;
    assert_eq!(browser.wait_for("main h1").await, "Members of Acme");
    assert_eq!(browser.wait_for("#count-members").await, "4");
    wait_for_members(
        &browser,
        &["Olive Owner", "Ada Acme", "Mia Acme", "Max Acme"],
    )
    .await;
    browser.assert_accessible().await;
    browser.mark_page().await;

    // Search as you type: "ma" starts only Max's first name.
    browser.fill("#member-search", "ma").await;
    wait_for_members(&browser, &["Max Acme"]).await;
    let mia_row = format!("#member-{}", acme.member.id);
    assert_eq!(
        browser
            .eval(&format!(
                "return document.querySelector({}) === null;",
                json!(mia_row)
            ))
            .await,
        true,
        "Mia's row is gone"
    );
    browser
        .wait_until(
            "return new URLSearchParams(location.search).get('q') === 'ma';",
            "the search is in the URL",
        )
        .await;
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // The detail panel.
    let max_row = format!("#member-{}", acme.other_member.id);
    browser.click(&format!("{max_row} td a")).await;
    browser
        .wait_for_text("#member-panel #detail-heading", "Max Acme")
        .await;
    assert!(
        browser
            .text_of("#member-panel dl.details")
            .await
            .as_str()
            .is_some_and(|details| details.contains("other-member@acme.test")),
        "the panel shows the email"
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // The role dropdown swaps its row.
    assert_eq!(
        browser
            .texts(&format!("#role-{} option", acme.other_member.id))
            .await,
        vec!["Admin", "Member"]
    );
    browser
        .choose(&format!("#role-{}", acme.other_member.id), "admin")
        .await;
    browser
        .wait_for_text(&format!("{max_row} select option:checked"), "Admin")
        .await;
    // The row's answer carries the counters too: one more admin.
    browser.wait_for_text("#count-admins", "3").await;
    assert_eq!(
        role_of(&app, acme.org, &acme.other_member).await.as_deref(),
        Some("admin")
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // Back to everyone: clear the search.
    browser.fill("#member-search", "").await;
    browser.click("form[role=search] button[type=submit]").await;
    wait_for_members(
        &browser,
        &["Olive Owner", "Ada Acme", "Mia Acme", "Max Acme"],
    )
    .await;

    // Pick Mia and Max, preview the removal, confirm.
    browser.click(&format!("#pick-{}", acme.member.id)).await;
    browser
        .click(&format!("#pick-{}", acme.other_member.id))
        .await;
    browser.click("#bulk-remove button[type=submit]").await;
    browser
        .wait_for_text("#member-panel #removal-heading", "Remove 2 members?")
        .await;
    let listed = browser
        .texts("#member-panel .removal-list > li > strong")
        .await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&"Mia Acme".to_owned()) && listed.contains(&"Max Acme".to_owned()));
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {}",
            acme.org
        ))
        .await,
        4,
        "the preview removes nobody"
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    browser
        .click("#member-panel form button[type=submit].danger")
        .await;
    browser
        .wait_for_text("#member-panel #receipt-heading", "Removed 2 members")
        .await;
    // The table refreshes itself on the server's `members-changed` event.
    wait_for_members(&browser, &["Olive Owner", "Ada Acme"]).await;
    browser.assert_not_reloaded().await;
    assert_eq!(role_of(&app, acme.org, &acme.member).await, None);
    assert_eq!(role_of(&app, acme.org, &acme.other_member).await, None);
    assert_eq!(
        role_of(&app, acme.org, &acme.admin).await.as_deref(),
        Some("admin")
    );
    browser.assert_accessible().await;

    // The refreshed table carries the counters out of band.
    browser.wait_for_text("#count-members", "2").await;
    browser.wait_for_text("#count-admins", "2").await;
    browser.assert_not_reloaded().await;
    browser.close().await;
}

#[tokio::test]
async fn the_owner_checks_then_sends_invitations_and_cancels_one() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let browser = Browser::start().await;
    open_members(&browser, &app, &acme.owner).await;
    browser.wait_for("#invite-form").await;
    assert_eq!(
        browser.wait_for("#invitation-list .empty-state").await,
        "No invitations yet. Invite people with the form above."
    );
    browser.assert_accessible().await;
    browser.mark_page().await;

    browser
        .fill("#invite-emails", "grace@acme.test\nlin@acme.test")
        .await;
    browser.choose("#invite-role", "member").await;
    browser
        .click("#invite-form button[name=intent][value=check]")
        .await;
    browser
        .wait_for_text(
            "#invite-form .invite-report h3",
            "Check: 2 of 2 will be invited",
        )
        .await;
    assert_eq!(
        browser.texts(".invite-report tbody td:nth-child(2)").await,
        vec!["grace@acme.test", "lin@acme.test"]
    );
    assert_eq!(
        browser.texts(".invite-report tbody td:nth-child(3)").await,
        vec!["Will be invited", "Will be invited"]
    );
    assert_eq!(app.number("SELECT count(*) FROM invitations").await, 0);
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // The form keeps what was typed; send it.
    browser
        .click("#invite-form button[name=intent][value=send]")
        .await;
    browser
        .wait_for_text("#invite-form .invite-report h3", "Sent: 2 invitations")
        .await;
    // The list refreshes on the server's `invitations-changed` event.
    browser
        .wait_for_texts(
            "#invitation-table tbody td:nth-child(1)",
            &["lin@acme.test", "grace@acme.test"],
        )
        .await;
    assert_eq!(
        browser.texts("#invitation-table tbody .status").await,
        vec!["Invited", "Invited"]
    );
    assert_eq!(
        app.number("SELECT count(*) FROM invitations WHERE status = 'pending'")
            .await,
        2
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // Cancel Lin's invitation.
    let lin = app
        .number("SELECT id FROM invitations WHERE email = 'lin@acme.test'")
        .await;
    let row = format!("#invitation-{lin}");
    browser
        .click(&format!(
            "{row} form[action$='/cancel'] button[type=submit]"
        ))
        .await;
    browser
        .wait_for_text(&format!("{row} .status"), "Cancelled")
        .await;
    assert_eq!(
        browser
            .eval(&format!(
                "return document.querySelectorAll({}).length;",
                json!(format!("{row} button"))
            ))
            .await,
        0,
        "a cancelled invitation offers no actions"
    );
    // Pending invitations come first.
    assert_eq!(
        browser.texts("#invitation-table tbody .status").await,
        vec!["Invited", "Cancelled"]
    );
    assert_eq!(
        app.number("SELECT count(*) FROM invitations WHERE status = 'cancelled'")
            .await,
        1
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn a_new_person_follows_the_emailed_link_and_joins_with_a_new_account() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    let sent = app
        .post_htmx(
            "/settings/org/invitations",
            &[
                ("emails", "grace@acme.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let link = sink.wait_for(1).await[0].invitation_link();

    let browser = Browser::start().await;
    browser.goto(&app.url(&link)).await;
    assert_eq!(browser.wait_for("main h1").await, "Join Acme");
    assert!(
        browser
            .wait_for("main")
            .await
            .contains("Olive Owner invited grace@acme.test to join as member."),
        "who invited whom"
    );
    browser.wait_for("#register").await;
    browser.assert_accessible().await;

    browser.fill("#register-first_name", "Grace").await;
    browser.fill("#register-last_name", "Hopper").await;
    browser
        .fill("#register-password", "correct horse battery staple")
        .await;
    browser
        .fill("#register-confirm_password", "correct horse battery staple")
        .await;
    browser.click("#register button[type=submit]").await;
    assert_eq!(
        browser.wait_for("#alerts .alert-success").await,
        "Welcome to Acme."
    );
    assert_eq!(browser.current_path().await, "/settings/org");
    assert_eq!(browser.wait_for("main h1").await, "Acme");
    browser.assert_accessible().await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = {} AND u.email = 'grace@acme.test' AND m.role = 'member'",
            acme.org
        ))
        .await,
        1
    );
    browser.close().await;
}

#[tokio::test]
async fn someone_in_two_organizations_switches_between_them_and_to_the_personal_account() {
    let app = spawn_app().await;
    let acme = app.org("Acme").create().await;
    let beacon = app.org("Beacon").create().await;
    let ivy = app
        .user("ivy@example.test")
        .named("Ivy", "Both")
        .joins(Membership::new(acme, OrgRole::Member))
        .joins(Membership::new(beacon, OrgRole::Admin))
        .create()
        .await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &ivy).await;
    assert_eq!(browser.current_path().await, "/settings/org");
    let first = browser.wait_for("main h1").await;
    let (other, other_id) = match first.as_str() {
        "Acme" => ("Beacon", beacon),
        "Beacon" => ("Acme", acme),
        heading => panic!("landed on {heading:?}"),
    };
    browser
        .wait_for("form.org-switcher select#switch-org")
        .await;
    browser.assert_accessible().await;

    browser.choose("#switch-org", &other_id.to_string()).await;
    browser.click("form.org-switcher button[type=submit]").await;
    browser.wait_for_text("main h1", other).await;
    assert_eq!(browser.current_path().await, "/settings/org");
    assert_eq!(
        browser
            .eval("return document.querySelector('#switch-org').value;")
            .await,
        json!(other_id.to_string()),
        "the switcher shows where one acts now"
    );
    browser.assert_accessible().await;

    browser.choose("#switch-org", "personal").await;
    browser.click("form.org-switcher button[type=submit]").await;
    browser
        .wait_until(
            "return location.pathname === '/settings/account';",
            "the personal account opens",
        )
        .await;
    browser.wait_for("#profile").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#switch-org').value;")
            .await,
        "personal"
    );
    browser.assert_accessible().await;
    browser.close().await;
}

/// With JavaScript off, the same page works as plain links, GET forms and POSTs that answer
/// with whole pages: search, the detail panel, a role change, the removal preview and its
/// receipt, and the invitation dry run.
#[tokio::test]
async fn without_javascript_the_members_page_works_as_plain_pages() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let browser = Browser::without_javascript().await;
    sign_in(&browser, &app, &acme.owner).await;

    // Search: the GET form reloads the page with the state in the URL.
    browser.goto(&app.url("/settings/org/users")).await;
    browser.fill("#member-search", "max").await;
    browser.click("form[role=search] button[type=submit]").await;
    browser
        .wait_for(&format!("#member-{} td:nth-child(3)", acme.other_member.id))
        .await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .expect("url")
            .as_str()
            .ends_with("?q=max")
    );

    // The detail panel is a page of its own.
    browser
        .click(&format!("#member-{} a", acme.other_member.id))
        .await;
    assert!(
        browser
            .wait_for("#detail-heading")
            .await
            .contains("Max Acme")
    );

    // A role change: choose, then the row's Change button; the page comes back with a notice.
    browser.goto(&app.url("/settings/org/users")).await;
    browser
        .click(&format!("#role-{} option[value=admin]", acme.member.id))
        .await;
    browser
        .click(&format!("#member-{} .role-form button", acme.member.id))
        .await;
    browser
        .wait_for_containing(".alert-success", "member@acme.test is now Admin")
        .await;
    assert_eq!(
        app.stored_membership(acme.org, acme.member.id)
            .await
            .map(|m| m.role),
        Some(OrgRole::Admin)
    );

    // Removal: tick, preview (a GET), confirm (a POST), receipt.
    browser
        .click(&format!("#pick-{}", acme.other_member.id))
        .await;
    browser.click("#bulk-remove button[type=submit]").await;
    assert_eq!(
        browser.wait_for("#removal-heading").await,
        "Remove 1 member?"
    );
    browser.click("#member-panel form button.danger").await;
    assert_eq!(
        browser.wait_for("#receipt-heading").await,
        "Removed 1 member"
    );
    assert!(
        app.stored_membership(acme.org, acme.other_member.id)
            .await
            .is_none()
    );

    // The invitation dry run answers with the whole page, the report under the form.
    browser.goto(&app.url("/settings/org/users")).await;
    browser
        .fill("#invite-emails", "one@acme.test, not-an-email")
        .await;
    browser.click("#invite-form button[value=check]").await;
    let report = browser.wait_for(".invite-report").await;
    assert!(
        report.contains("Would be invited") || report.contains("Will be invited"),
        "{report}"
    );
    assert_eq!(app.number("SELECT count(*) FROM invitations").await, 0);
    browser.close().await;
}
