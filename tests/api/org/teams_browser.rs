//! Teams in a real browser, with JavaScript and without: Create Team, adding a member by search,
//! the role dropdown, transferring ownership, deactivating and reactivating. Each state a person
//! sees is audited with axe-core.

use super::acme;
use crate::support::browser::Browser;
use crate::support::{OrgId, TeamId, TestApp, TestUser, spawn_app};

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

async fn team_named(app: &TestApp, org: OrgId, name: &str) -> TeamId {
    TeamId(
        app.number(&format!(
            "SELECT id FROM teams WHERE org_id = {org} AND name = '{name}'"
        ))
        .await,
    )
}

async fn team_role(app: &TestApp, team: TeamId, user: &TestUser) -> String {
    let found = app
        .number(&format!(
            "SELECT array_position(ARRAY['viewer','member','moderator','admin','owner'], role) \
             FROM team_members WHERE team_id = {team} AND user_id = {}",
            user.id
        ))
        .await;
    ["viewer", "member", "moderator", "admin", "owner"]
        [usize::try_from(found - 1).expect("a team role")]
    .to_owned()
}

/// Waits until the stored team role is `expected` (a request the page sent is answered).
async fn wait_for_role(app: &TestApp, team: TeamId, user: &TestUser, expected: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while team_role(app, team, user).await != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never became {expected}",
            user.email
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn status_of(app: &TestApp, team: TeamId) -> i64 {
    app.number(&format!(
        "SELECT (status = 'active')::int FROM teams WHERE id = {team}"
    ))
    .await
}

#[tokio::test]
async fn an_admin_creates_a_team_adds_a_member_by_search_promotes_and_hands_it_over() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &acme.admin).await;
    browser.goto(&app.url("/settings/org/teams")).await;
    assert!(
        browser
            .wait_for(".empty-state")
            .await
            .contains("no teams yet")
    );
    browser.assert_accessible().await;

    // Create Team opens a dialog; an empty name is refused in place, focus on the field.
    browser.mark_page().await;
    browser.click(".page-header a.button").await;
    browser.wait_for("dialog[open] #new-team-name").await;
    browser.assert_accessible().await;
    browser.click("#new-team button[type=submit]").await;
    browser
        .wait_for_text("#new-team-name-error", "This field is required.")
        .await;
    browser
        .wait_until(
            "return document.activeElement.id === 'new-team-name';",
            "focus moves to the invalid name",
        )
        .await;
    browser.assert_not_reloaded().await;
    browser.fill("#new-team-name", "Platform").await;
    browser
        .fill("#new-team-description", "Keeps the lights on")
        .await;
    browser.click("#new-team button[type=submit]").await;
    browser.wait_for_text("main h1", "Platform").await;
    browser
        .wait_for_containing(".alert-success", "you are its owner")
        .await;
    let team = team_named(&app, acme.org, "Platform").await;
    assert_eq!(team_role(&app, team, &acme.admin).await, "owner");
    browser.assert_accessible().await;

    // Add a member by searching as you type.
    browser.mark_page().await;
    browser.fill("#add-search", "mi").await;
    browser
        .wait_for_texts(".candidate-list li > span", &["Mia Acme member@acme.test"])
        .await;
    browser.assert_accessible().await;
    browser.click(".candidate-list button[type=submit]").await;
    browser
        .wait_for_text(
            "#team-candidates .alert-success",
            "Mia Acme joined the team as a member.",
        )
        .await;
    let mia_row = format!("#team-member-{}", acme.member.id);
    // The member table refreshes itself on the server's event.
    browser.wait_for(&mia_row).await;
    browser.assert_not_reloaded().await;
    assert_eq!(team_role(&app, team, &acme.member).await, "member");
    browser.assert_accessible().await;

    // The owner offers every role below owner; the dropdown swaps its row.
    assert_eq!(
        browser
            .texts(&format!("#team-role-{} option", acme.member.id))
            .await,
        vec!["Admin", "Moderator", "Member", "Viewer"]
    );
    browser
        .choose(&format!("#team-role-{}", acme.member.id), "admin")
        .await;
    // (The select shows the choice at once; the server's answer swaps the row after it.)
    wait_for_role(&app, team, &acme.member, "admin").await;
    browser
        .wait_for_text(&format!("{mia_row} select option:checked"), "Admin")
        .await;
    browser.assert_not_reloaded().await;

    // Add Max too, then remove him in place: his row goes and the news is announced.
    browser.fill("#add-search", "max").await;
    browser
        .wait_for_texts(
            ".candidate-list li > span",
            &["Max Acme other-member@acme.test"],
        )
        .await;
    browser.click(".candidate-list button[type=submit]").await;
    let max_remove = format!(
        "#team-member-{} form[action$='/remove'] button",
        acme.other_member.id
    );
    browser.wait_for(&max_remove).await;
    browser.click(&max_remove).await;
    browser
        .wait_for_text(
            "#alerts .alert-success",
            "Max Acme was removed from the team.",
        )
        .await;
    browser
        .wait_until(
            &format!(
                "return document.querySelector('#team-member-{}') === null;",
                acme.other_member.id
            ),
            "Max's row is gone",
        )
        .await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM team_members WHERE team_id = {team} AND user_id = {}",
            acme.other_member.id
        ))
        .await,
        0
    );
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;

    // Transfer ownership: pick Mia, confirm in the dialog.
    browser
        .click(&format!("{mia_row} a[href*='transfer']"))
        .await;
    browser.wait_for("dialog[open] #transfer-title").await;
    browser.assert_accessible().await;
    browser.click("dialog[open] button.primary").await;
    browser
        .wait_for_containing(".alert-success", "Mia Acme now owns the team")
        .await;
    assert_eq!(team_role(&app, team, &acme.member).await, "owner");
    assert_eq!(team_role(&app, team, &acme.admin).await, "admin");
    browser.assert_accessible().await;

    // Deactivate from the heading (Ada is an organization admin), with the preview first.
    browser.click(".team-heading-actions a.danger").await;
    assert!(
        browser
            .wait_for("dialog[open] .name-list")
            .await
            .contains("Mia Acme")
    );
    browser.assert_accessible().await;
    browser.click("dialog[open] button.danger").await;
    browser
        .wait_for_text(".team-card-inactive .team-card-name", "Platform")
        .await;
    assert_eq!(status_of(&app, team).await, 0);
    browser.assert_accessible().await;

    // Reactivate from the card's menu.
    browser
        .click(".team-card-inactive .card-menu summary")
        .await;
    browser.click(".team-card-inactive .card-menu button").await;
    browser
        .wait_for_containing(".alert-success", "reactivated")
        .await;
    assert_eq!(status_of(&app, team).await, 1);
    browser.assert_accessible().await;

    // The cards narrow as you type, the search kept in the address.
    browser.mark_page().await;
    browser.fill("#team-search", "zzz").await;
    browser
        .wait_for_text("#team-grid .empty-state", "No team's name contains “zzz”.")
        .await;
    browser.fill("#team-search", "PLAT").await;
    browser
        .wait_for_texts(".team-card-name", &["Platform"])
        .await;
    browser
        .wait_until(
            "return new URLSearchParams(location.search).get('q') === 'PLAT';",
            "the search is in the address",
        )
        .await;
    browser.assert_not_reloaded().await;
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn without_javascript_teams_work_as_plain_pages() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let browser = Browser::without_javascript().await;
    sign_in(&browser, &app, &acme.admin).await;

    // Create Team is a page of its own.
    browser.goto(&app.url("/settings/org/teams")).await;
    browser.click(".page-header a.button").await;
    browser.wait_for("#new-team-name").await;
    browser.fill("#new-team-name", "Platform").await;
    browser.click("#new-team button[type=submit]").await;
    browser
        .wait_for_containing(".alert-success", "you are its owner")
        .await;
    let team = team_named(&app, acme.org, "Platform").await;

    // The member search is a GET of the team's page; Add a plain POST.
    browser.fill("#add-search", "mia").await;
    browser
        .click("form[aria-label='Members to add'] button[type=submit]")
        .await;
    browser.wait_for(".candidate-list").await;
    browser.click(".candidate-list button[type=submit]").await;
    browser
        .wait_for_containing(".alert-success", "Mia Acme joined the team")
        .await;
    assert_eq!(team_role(&app, team, &acme.member).await, "member");

    // Add Max, then remove him with the row's Remove button.
    browser.fill("#add-search", "max").await;
    browser
        .click("form[aria-label='Members to add'] button[type=submit]")
        .await;
    browser.wait_for(".candidate-list").await;
    browser.click(".candidate-list button[type=submit]").await;
    let max_remove = format!(
        "#team-member-{} form[action$='/remove'] button",
        acme.other_member.id
    );
    browser.wait_for(&max_remove).await;
    browser.click(&max_remove).await;
    browser
        .wait_for_containing(".alert-success", "Max Acme was removed from the team")
        .await;

    // A role: choose, then the row's Change button.
    let mia_row = format!("#team-member-{}", acme.member.id);
    browser
        .click(&format!(
            "#team-role-{} option[value=moderator]",
            acme.member.id
        ))
        .await;
    browser.click(&format!("{mia_row} .role-form button")).await;
    browser
        .wait_for_containing(".alert-success", "is now a team moderator")
        .await;
    assert_eq!(team_role(&app, team, &acme.member).await, "moderator");

    // Transfer: a confirmation page, then a POST.
    browser
        .click(&format!("{mia_row} a[href*='transfer']"))
        .await;
    browser.wait_for("main .card button.primary").await;
    browser.click("main .card button.primary").await;
    browser
        .wait_for_containing(".alert-success", "now owns the team")
        .await;
    assert_eq!(team_role(&app, team, &acme.member).await, "owner");

    // Deactivate: the preview is a page; reactivate from the card menu (a <details>).
    browser.click(".team-heading-actions a.danger").await;
    browser.wait_for("main .name-list").await;
    browser.click("main .card button.danger").await;
    browser.wait_for(".team-card-inactive").await;
    assert_eq!(status_of(&app, team).await, 0);
    browser
        .click(".team-card-inactive .card-menu summary")
        .await;
    browser.click(".team-card-inactive .card-menu button").await;
    browser
        .wait_for_containing(".alert-success", "reactivated")
        .await;
    assert_eq!(status_of(&app, team).await, 1);
    browser.close().await;
}
