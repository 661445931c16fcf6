//! `/admin/users`: filter by organization, search, disable and enable accounts.

use crate::support::{OrgRole, Role, spawn_app};

#[tokio::test]
async fn the_list_filters_by_organization_and_searches_by_name_or_email() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    app.user("outsider@else.test").create().await;
    let org = app.org("Acme").create().await;
    app.user("grace@acme.test")
        .named("Grace", "Hopper")
        .member_of(org, OrgRole::Admin)
        .create()
        .await;
    app.login(&root).await;

    let all = app.get_html("/admin/users").await;
    assert!(all.contains("outsider@else.test") && all.contains("grace@acme.test"));
    let members = app.get_html(&format!("/admin/users?org={org}")).await;
    assert!(members.contains("Members of <strong>Acme</strong>"));
    assert!(members.contains("grace@acme.test") && !members.contains("outsider@else.test"));
    assert!(members.contains("Acme <span class=\"badge badge-admin\">Admin</span>"));
    for search in ["hop", "GRACE", "grace+hop", "grace%40acme"] {
        let found = app
            .get_html(&format!("/admin/users?org={org}&q={search}"))
            .await;
        assert!(
            found.contains("grace@acme.test") && !found.contains("owner@acme.test"),
            "{search}"
        );
    }
    // A broad search counts a few pages ahead, not every match.
    for i in 0..30 {
        app.user(&format!("hopper{i:02}@many.test"))
            .named("Test", "Hopper")
            .create()
            .await;
    }
    let broad = app.get_html("/admin/users?q=hopper").await;
    assert!(broad.contains("Showing 1–31 of 31"), "{broad}");
    let none = app.get_html("/admin/users?q=zzz").await;
    assert!(none.contains("No user matches “zzz”."));
    assert_eq!(app.get("/admin/users?org=987654").await.status(), 404);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(Role::OrgOwner).await;
    assert_eq!(owner.get("/settings/org").await.status(), 200);
    let root = app.signed_in_as(Role::SuperAdmin).await;

    let response = root
        .post_form(
            &format!("/admin/users/{}/status", owner.user.id),
            &[("status", "disabled"), ("back", "/admin/users?q=owner")],
        )
        .await;
    assert_eq!(response.location(), "/admin/users?q=owner");
    assert!(
        root.get_html("/admin/users?q=owner")
            .await
            .contains("owner@org-1.test was disabled and signed out everywhere.")
    );
    assert_eq!(owner.get("/settings/org").await.location(), "/login");
    assert_eq!(owner.login(&owner.user).await.status(), 403);

    root.post_form(
        &format!("/admin/users/{}/status", owner.user.id),
        &[("status", "active"), ("back", "https://evil.test/")],
    )
    .await;
    assert_eq!(owner.login(&owner.user).await.status(), 303);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action IN ('user.disabled', 'user.enabled')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_super_admin_cannot_disable_themselves() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    app.login(&root).await;
    let response = app
        .post_form(
            &format!("/admin/users/{}/status", root.id),
            &[("status", "disabled")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.get("/admin/users").await.status(), 200);
}
