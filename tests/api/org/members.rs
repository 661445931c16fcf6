//! The Members page: the list and its counters for every role, the detail panel, role changes
//! and name edits, removal with its preview, leaving and transferring ownership — each rule of
//! SPEC §3 tried with the wrong role, another organization's ids and forged fields.

use super::acme;
use crate::support::{Membership, OrgRole, Role, TeamRole, TestApp, TestUser, spawn_app};

async fn role_of(app: &TestApp, org: crate::support::OrgId, user: &TestUser) -> Option<String> {
    app.stored_membership(org, user.id)
        .await
        .map(|m| m.role.as_str().to_owned())
}

#[tokio::test]
async fn every_member_sees_the_counters_and_the_list_but_only_managers_get_controls() {
    let app = spawn_app().await;
    let acme = acme(&app).await;

    let member = app.another_visitor();
    member.login(&acme.member).await;
    let page = member.get("/settings/org/users").await;
    assert_eq!(page.status(), 200);
    let html = page.html();
    assert_eq!(html.text("#count-members"), "5");
    assert_eq!(html.text("#count-admins"), "3");
    assert_eq!(html.count("#members tbody tr"), 5);
    assert_eq!(
        html.count("#members select"),
        0,
        "members get no role dropdowns"
    );
    assert!(!html.has("#bulk-remove") && !html.has("#invite-form"));

    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    let html = admin.get("/settings/org/users").await.html();
    // The admin may act on the two members only; the owner and the other admin are locked with
    // the reason access.rs gives.
    assert!(html.has(&format!("#role-{}", acme.member.id)));
    assert!(!html.has(&format!("#role-{}", acme.other_admin.id)));
    assert!(
        html.text(&format!("#member-{} .locked", acme.other_admin.id))
            .contains("below their own role")
    );
    assert!(
        html.text(&format!("#member-{} .locked", acme.owner.id))
            .contains("transfer")
    );
    // Admins offer only roles below their own.
    let offered = html.texts(&format!("#role-{} option", acme.member.id));
    assert_eq!(offered, vec!["Member"]);
    assert!(html.has(&format!("#pick-{}[disabled]", acme.owner.id)));
}

#[tokio::test]
async fn searching_narrows_the_list_in_place_and_keeps_the_state_in_the_url() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;

    let fragment = app.get_htmx("/settings/org/users?q=ma").await;
    // An htmx request for the table region gets only the table back.
    assert_eq!(fragment.status(), 200);
    let html = fragment.html();
    assert_eq!(
        html.texts("#members tbody tr td:nth-child(3)"),
        vec!["other-member@acme.test"]
    );

    let page = app.get("/settings/org/users?q=nobody").await.html();
    assert!(
        page.text("#member-table .empty-state")
            .contains("No member matches")
    );
    assert_eq!(
        page.attr("#member-search", "value").as_deref(),
        Some("nobody")
    );
}

#[tokio::test]
async fn another_organizations_member_is_not_found_anywhere_and_nothing_changes() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let outsider = app.signed_in_as(Role::OrgMember).await;
    app.login(&acme.owner).await;

    let id = outsider.user.id;
    assert_eq!(
        app.get(&format!("/settings/org/users/{id}")).await.status(),
        404
    );
    let role = app
        .post_form(
            &format!("/settings/org/users/{id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(role.status(), 404);
    let details = app
        .post_form(
            &format!("/settings/org/users/{id}/details"),
            &[("first_name", "Hacked"), ("last_name", "Name")],
        )
        .await;
    assert_eq!(details.status(), 404);
    let removal = app
        .post_form("/settings/org/removal", &[("user", &id.to_string())])
        .await;
    assert_eq!(removal.status(), 404);
    assert_eq!(
        role_of(&app, outsider.org.expect("org"), &outsider.user)
            .await
            .as_deref(),
        Some("member")
    );
    assert_eq!(app.stored_user(id).await.first_name, "Test");
}

#[tokio::test]
async fn the_owner_changes_a_role_in_place_and_the_audit_log_keeps_before_and_after() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;

    let row = app
        .post_htmx(
            &format!("/settings/org/users/{}/role", acme.member.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(row.status(), 200);
    assert!(
        row.text()
            .starts_with(&format!("<tr id=\"member-{}\"", acme.member.id))
    );
    // The dropdown shows the new role (the owner may still change it).
    assert_eq!(row.html().text("select option[selected]"), "Admin");
    assert_eq!(
        role_of(&app, acme.org, &acme.member).await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'member.role_changed' \
             AND before->>'role' = 'member' AND after->>'role' = 'admin' AND actor_role = 'owner'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn roles_above_or_equal_to_ones_own_are_refused_whatever_the_form_says() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    admin.get("/settings/org/users").await;

    // An admin forging "admin" for a member, acting on another admin, or on the owner.
    let cases = [
        (&acme.member, "admin"),
        (&acme.other_admin, "member"),
        (&acme.owner, "member"),
        (&acme.member, "owner"),
    ];
    for (target, role) in cases {
        let response = admin
            .post_form(
                &format!("/settings/org/users/{}/role", target.id),
                &[("role", role)],
            )
            .await;
        assert_eq!(response.status(), 403, "{} to {role}", target.email);
    }
    // A member may change nobody.
    let member = app.another_visitor();
    member.login(&acme.member).await;
    member.get("/settings/org/users").await;
    let response = member
        .post_form(
            &format!("/settings/org/users/{}/role", acme.other_member.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(response.status(), 403);
    // The owner cannot demote themselves.
    app.login(&acme.owner).await;
    let response = app
        .post_form(
            &format!("/settings/org/users/{}/role", acme.owner.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 403);

    assert_eq!(
        role_of(&app, acme.org, &acme.owner).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        role_of(&app, acme.org, &acme.other_admin).await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        role_of(&app, acme.org, &acme.member).await.as_deref(),
        Some("member")
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action LIKE 'member.%'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_role_change_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    let response = app
        .send(
            app.client
                .post(app.url(&format!("/settings/org/users/{}/role", acme.member.id)))
                .form(&[("role", "admin")]),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        role_of(&app, acme.org, &acme.member).await.as_deref(),
        Some("member")
    );
}

#[tokio::test]
async fn the_detail_panel_edits_names_and_refuses_a_forged_subscriber_field() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    let panel = app
        .get_htmx(&format!("/settings/org/users/{}", acme.member.id))
        .await;
    assert_eq!(panel.status(), 200);
    let html = panel.html();
    assert!(html.text("#detail-heading").contains("Mia Acme"));
    assert!(html.text(".details").contains("member@acme.test"));
    assert!(html.text(".details").contains("Subscriber"));

    let path = format!("/settings/org/users/{}/details", acme.member.id);
    let forged = app
        .post_form(
            &path,
            &[
                ("first_name", "Mia"),
                ("last_name", "Acme"),
                ("subscriber", "true"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert!(
        !app.stored_membership(acme.org, acme.member.id)
            .await
            .expect("member")
            .subscriber
    );

    let blank = app
        .post_htmx(&path, &[("first_name", ""), ("last_name", "Acme")])
        .await;
    assert_eq!(blank.status(), 422);
    assert!(
        blank
            .html()
            .has("#edit-details-first_name[aria-invalid=true]")
    );

    let saved = app
        .post_htmx(&path, &[("first_name", "Mira"), ("last_name", "Acme")])
        .await;
    assert_eq!(saved.status(), 200);
    assert_eq!(app.stored_user(acme.member.id).await.first_name, "Mira");
    assert_eq!(saved.header("hx-trigger"), "members-changed");
}

#[tokio::test]
async fn removal_previews_what_it_takes_then_removes_at_once_and_bites_on_the_next_request() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    // The member owns a team the other member is in; an admin is in it too.
    let research = app
        .team(acme.org, "Research")
        .owned_by(&acme.member)
        .with(&acme.other_member, TeamRole::Member)
        .with(&acme.admin, TeamRole::Admin)
        .create()
        .await;
    let removed = app.another_visitor();
    removed.login(&acme.member).await;
    assert_eq!(removed.get("/settings/org/users").await.status(), 200);

    app.login(&acme.owner).await;
    let preview = app
        .get_htmx(&format!(
            "/settings/org/removal?user={}&user={}",
            acme.member.id, acme.other_member.id
        ))
        .await;
    assert_eq!(preview.status(), 200);
    let text = preview.html().text(".removal-list");
    assert!(text.contains("Teams they leave: Research"), "{text}");
    assert!(
        text.contains("Teams they own, which pass to the organization's owner: Research"),
        "{text}"
    );
    // The preview changed nothing.
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        5
    );

    let receipt = app
        .post_htmx(
            "/settings/org/removal",
            &[
                ("user", &acme.member.id.to_string()),
                ("user", &acme.other_member.id.to_string()),
            ],
        )
        .await;
    assert_eq!(receipt.status(), 200);
    assert!(
        receipt
            .html()
            .text("#receipt-heading")
            .contains("Removed 2 members")
    );
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        3
    );
    // Their team rows went with them; the team they owned passed to the organization's owner,
    // so it still has exactly one owner, and its count is right.
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM team_members WHERE team_id = {research} AND user_id IN ({}, {})",
            acme.member.id, acme.other_member.id
        ))
        .await,
        0
    );
    assert_eq!(
        app.number(&format!(
            "SELECT user_id FROM team_members WHERE team_id = {research} AND role = 'owner'"
        ))
        .await,
        acme.owner.id.0
    );
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM teams WHERE id = {research}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'member.removed'")
            .await,
        2
    );
    // The removed member's open session no longer reaches the organization.
    let next = removed.get("/settings/org/users").await;
    assert_eq!(next.status(), 303);
    assert_eq!(next.location(), "/settings/account");
}

#[tokio::test]
async fn a_batch_with_someone_the_actor_may_not_remove_removes_nobody_and_says_why() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    admin.get("/settings/org/users").await;
    let ids = [acme.member.id, acme.other_admin.id, acme.owner.id];
    let fields: Vec<(&str, String)> = ids.iter().map(|id| ("user", id.to_string())).collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let receipt = admin.post_htmx("/settings/org/removal", &fields).await;
    assert_eq!(receipt.status(), 409);
    let html = receipt.html();
    assert!(
        html.text("#receipt-heading")
            .contains("Nothing was removed")
    );
    let text = html.text(".removal-list");
    assert!(
        text.contains("below their own role") && text.contains("transfer"),
        "{text}"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        5
    );
}

#[tokio::test]
async fn the_owner_cannot_leave_and_a_member_can() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    let page = app.get("/settings/org").await.html();
    assert!(
        page.text("#leave-reason")
            .contains("transfer ownership first")
    );
    assert_eq!(
        app.post_form("/settings/org/leave", &[]).await.status(),
        403
    );

    let member = app.another_visitor();
    member.login(&acme.member).await;
    member.get("/settings/org").await;
    let left = member.post_form("/settings/org/leave", &[]).await;
    assert_eq!(left.status(), 303);
    assert_eq!(role_of(&app, acme.org, &acme.member).await, None);
    assert_eq!(
        role_of(&app, acme.org, &acme.owner).await.as_deref(),
        Some("owner")
    );
}

#[tokio::test]
async fn ownership_moves_only_by_transfer_and_the_old_owner_becomes_admin() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    admin.get("/settings/org").await;
    let refused = admin
        .post_form("/settings/org/transfer", &[("email", "member@acme.test")])
        .await;
    assert_eq!(refused.status(), 403);

    app.login(&acme.owner).await;
    app.get("/settings/org").await;
    let unknown = app
        .post_form("/settings/org/transfer", &[("email", "nobody@acme.test")])
        .await;
    assert_eq!(unknown.status(), 422);
    assert!(
        unknown
            .html()
            .text("#transfer-email-error")
            .contains("No member")
    );

    let moved = app
        .post_form("/settings/org/transfer", &[("email", "member@acme.test")])
        .await;
    assert_eq!(moved.status(), 303);
    assert_eq!(
        role_of(&app, acme.org, &acme.member).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        role_of(&app, acme.org, &acme.owner).await.as_deref(),
        Some("admin")
    );
}

/// 20 transfers to 20 different members at once: exactly one wins, one owner afterwards.
#[tokio::test]
async fn concurrent_transfers_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mut emails = Vec::new();
    for n in 0..20 {
        let email = format!("heir{n}@acme.test");
        app.user(&email)
            .joins(Membership::new(acme.org, OrgRole::Member))
            .create()
            .await;
        emails.push(email);
    }
    app.login(&acme.owner).await;
    app.get("/settings/org").await;
    let visitor = &app.visitor;
    let requests = emails.iter().map(|email| async move {
        visitor
            .post_form("/settings/org/transfer", &[("email", email)])
            .await
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 403),
        "{statuses:?}"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {} AND role = 'owner'",
            acme.org
        ))
        .await,
        1
    );
}

/// An admin removes a member while the owner promotes that member to admin, 20 pairs at once:
/// afterwards no admin was removed by an admin.
#[tokio::test]
async fn an_admin_never_removes_someone_promoted_to_admin_meanwhile() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mut targets = Vec::new();
    for n in 0..10 {
        targets.push(
            app.user(&format!("target{n}@acme.test"))
                .joins(Membership::new(acme.org, OrgRole::Member))
                .create()
                .await,
        );
    }
    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    admin.get("/settings/org/users").await;
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    let mut requests = Vec::new();
    let app = &app;
    for target in &targets {
        let id = target.id.to_string();
        let promote_path = format!("/settings/org/users/{id}/role");
        requests.push(Box::pin(async move {
            app.post_htmx(&promote_path, &[("role", "admin")])
                .await
                .status()
                .as_u16()
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>>);
        let admin = &admin;
        requests.push(Box::pin(async move {
            admin
                .post_htmx("/settings/org/removal", &[("user", &id)])
                .await
                .status()
                .as_u16()
        }));
    }
    futures_util::future::join_all(requests).await;
    // Whoever is gone was removed while still a member; whoever stayed is an admin. The audit
    // log says every removal was of a member.
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'member.removed' AND before->>'role' <> 'member'").await,
        0
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log a JOIN audit_log b ON a.target = b.target \
                    WHERE a.action = 'member.removed' AND b.action = 'member.role_changed' AND b.at <= a.at AND b.id < a.id").await,
        0,
        "nobody was removed after being promoted"
    );
}

#[tokio::test]
async fn a_user_of_the_organizations_domain_joins_it_as_a_member_on_first_sign_in() {
    let app = spawn_app().await;
    let owner = app.user("boss@elsewhere.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    let newcomer = app.user("newcomer@acme.test").create().await;
    let outsider = app.user("someone@acme.test.evil.test").create().await;

    app.login(&newcomer).await;
    assert_eq!(
        role_of(&app, org, &newcomer).await.as_deref(),
        Some("member")
    );
    let other = app.another_visitor();
    other.login(&outsider).await;
    assert_eq!(
        role_of(&app, org, &outsider).await,
        None,
        "no suffix matches"
    );
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'member.joined_by_domain' \
             AND ip = '127.0.0.1' AND request_id IS NOT NULL"
        )
        .await,
        1,
        "joined on the first sign-in, from its address"
    );
}

#[tokio::test]
async fn someone_the_single_organization_policy_keeps_out_of_their_domains_organization_is_told() {
    let app = spawn_app().await;
    let owner = app.user("boss@elsewhere.test").create().await;
    let acme = app.org("Acme").owned_by(&owner).create().await;
    let other_owner = app.user("chief@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&other_owner).create().await;
    let newcomer = app
        .user("newcomer@acme.test")
        .joins(Membership::new(globex, OrgRole::Member))
        .create()
        .await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;

    let visitor = app.another_visitor();
    visitor.get("/login").await;
    let signed_in = visitor
        .post_form(
            "/login",
            &[("email", &newcomer.email), ("password", &newcomer.password)],
        )
        .await;
    assert_eq!(signed_in.status(), 303);
    let mut page = visitor.get(signed_in.location()).await;
    while page.status() == 303 {
        page = visitor.get(page.location()).await;
    }
    let notice = page.html().text("p.alert-info");
    assert!(
        notice.contains("Acme's domain, but you were not added")
            && notice.contains("one organization per person"),
        "{notice}"
    );
    assert_eq!(role_of(&app, acme, &newcomer).await, None, "kept out");
}

/// Thirty members with the same name: the search's two pages hold each of them exactly once,
/// in a stable order (name, then id).
#[tokio::test]
async fn a_search_pages_through_namesakes_without_losing_or_repeating_anyone() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    for n in 0..30 {
        app.user(&format!("namesake{n:02}@acme.test"))
            .named("Zoe", "Same")
            .joins(Membership::new(acme.org, OrgRole::Member))
            .create()
            .await;
    }
    app.login(&acme.owner).await;
    let mut seen = Vec::new();
    for page in [1, 2] {
        let html = app
            .get(&format!("/settings/org/users?q=zoe&page={page}"))
            .await
            .html();
        seen.extend(html.texts("#members tbody tr td:nth-child(3)"));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (30, 30), "{seen:?}");
}

#[tokio::test]
async fn anyone_creates_an_organization_from_their_account_and_owns_it() {
    let app = spawn_app().await;
    let user = app.signed_in_as(Role::PlainUser).await;
    user.get("/settings/account").await;

    let blank = user
        .post_form(
            "/settings/account/organizations",
            &[("name", " "), ("country", "XX")],
        )
        .await;
    assert_eq!(blank.status(), 422);
    let html = blank.html();
    assert!(html.has("#new-org-name[aria-invalid=true]") && html.has("#new-org-country-error"));

    let created = user
        .post_form(
            "/settings/account/organizations",
            &[("name", "Lovelace Labs"), ("country", "gb")],
        )
        .await;
    assert_eq!(
        (created.status().as_u16(), created.location()),
        (303, "/settings/org")
    );
    let overview = user.get("/settings/org").await.html();
    assert!(overview.text("h1").contains("Lovelace Labs"));
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = {} AND m.role = 'owner' AND o.name = 'Lovelace Labs' AND o.country = 'GB'",
            user.user.id
        ))
        .await,
        1
    );

    // With one organization per account, a second is refused with the policy's name.
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    user.get("/settings/account").await;
    let refused = user
        .post_form(
            "/settings/account/organizations",
            &[("name", "Second Labs"), ("country", "GB")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .html()
            .text("#new-org-name-error")
            .contains("single-organization")
    );
    assert_eq!(
        app.number("SELECT count(*) FROM organizations WHERE name = 'Second Labs'")
            .await,
        0
    );
}

/// The owner hands over to ten members while an admin tries to remove those same members and
/// the owner, twenty requests at once: one owner afterwards, who is a member, and the old owner
/// was never removed.
#[tokio::test]
async fn transfers_racing_removals_keep_exactly_one_owner_who_is_a_member() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mut heirs = Vec::new();
    for n in 0..10 {
        heirs.push(
            app.user(&format!("heir{n}@acme.test"))
                .joins(Membership::new(acme.org, OrgRole::Member))
                .create()
                .await,
        );
    }
    let admin = app.another_visitor();
    admin.login(&acme.admin).await;
    admin.get("/settings/org/users").await;
    app.login(&acme.owner).await;
    app.get("/settings/org").await;
    let visitor = &app.visitor;
    let admin = &admin;
    let owner_id = acme.owner.id.to_string();
    let mut requests: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>>> =
        Vec::new();
    for heir in &heirs {
        let email = heir.email.clone();
        let id = heir.id.to_string();
        let owner_id = owner_id.clone();
        requests.push(Box::pin(async move {
            visitor
                .post_form("/settings/org/transfer", &[("email", &email)])
                .await
                .status()
                .as_u16()
        }));
        requests.push(Box::pin(async move {
            admin
                .post_htmx(
                    "/settings/org/removal",
                    &[("user", &id), ("user", &owner_id)],
                )
                .await
                .status()
                .as_u16()
        }));
    }
    futures_util::future::join_all(requests).await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {} AND role = 'owner'",
            acme.org
        ))
        .await,
        1
    );
    assert!(
        role_of(&app, acme.org, &acme.owner).await.is_some(),
        "the old owner stays"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'member.removed'")
            .await,
        0,
        "a batch with the owner (or an admin) in it removes nobody"
    );
}

#[tokio::test]
async fn hostile_input_gets_a_clear_answer_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    // A NUL byte in a search, a name or a role.
    assert_eq!(app.get("/settings/org/users?q=ada%00").await.status(), 422);
    let path = format!("/settings/org/users/{}/details", acme.member.id);
    let nul = app
        .post_form(&path, &[("first_name", "Mia\0"), ("last_name", "Acme")])
        .await;
    assert_eq!(nul.status(), 422);
    assert!(
        nul.html()
            .text("#edit-details-first_name-error")
            .contains("control characters")
    );
    let role = app
        .post_form(
            &format!("/settings/org/users/{}/role", acme.member.id),
            &[("role", "admin\0")],
        )
        .await;
    assert_eq!(role.status(), 400);
    // Ids that are not numbers, or too many members at once.
    assert_eq!(app.get("/settings/org/users/abc").await.status(), 404);
    let many: Vec<(&str, String)> = (0..101).map(|n| ("user", n.to_string())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.post_form("/settings/org/removal", &many).await.status(),
        422
    );
    assert_eq!(app.stored_user(acme.member.id).await.first_name, "Mia");
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        5
    );
}
