//! `/admin/users`: filter by organization, search, disable and enable accounts.

use crate::support::html::{Html, volatile_parts};
use crate::support::{OrgRole, Role, spawn_app};

/// The Email column of the users table, top to bottom.
fn emails_in(html: &Html) -> Vec<String> {
    html.texts("#users tbody td:nth-child(3)")
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

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

    let all = app.get("/admin/users").await.html();
    assert_eq!(
        sorted(emails_in(&all)),
        [
            "grace@acme.test",
            "outsider@else.test",
            "owner@acme.test",
            "root@platform.test"
        ]
    );
    let members = app.get_html(&format!("/admin/users?org={org}")).await;
    let html = Html::parse(&members);
    assert!(members.contains("Members of <strong>Acme</strong>"));
    assert!(html.text(".filter-note").starts_with("Members of Acme"));
    assert_eq!(
        sorted(emails_in(&html)),
        ["grace@acme.test", "owner@acme.test"]
    );
    let grace = html
        .rows("#users")
        .into_iter()
        .find(|row| row[2] == "grace@acme.test")
        .expect("Grace's row");
    assert_eq!(
        (grace[1].as_str(), grace[3].as_str()),
        ("Grace Hopper", "Acme Admin")
    );
    assert!(members.contains("Acme <span class=\"badge badge-admin\">Admin</span>"));
    for search in ["hop", "GRACE", "grace+hop", "grace%40acme"] {
        let found = app
            .get(&format!("/admin/users?org={org}&q={search}"))
            .await
            .html();
        assert_eq!(emails_in(&found), ["grace@acme.test"], "{search}");
    }
    // A broad search counts a few pages ahead, not every match.
    for i in 0..30 {
        app.user(&format!("hopper{i:02}@many.test"))
            .named("Test", "Hopper")
            .create()
            .await;
    }
    let broad = app.get("/admin/users?q=hopper").await.html();
    assert_eq!(
        broad.text(".pager-status"),
        "Showing 1–25 of 31 · page 1 of 2"
    );
    assert_eq!(emails_in(&broad).len(), 25);
    let second = app.get("/admin/users?q=hopper&page=2").await.html();
    assert_eq!(emails_in(&second).len(), 6);
    let none = app.get("/admin/users?q=zzz").await.html();
    assert_eq!(
        none.text("#user-table .empty-state"),
        "No user matches “zzz”."
    );
    assert!(!none.has("#users"));
    assert_eq!(app.get("/admin/users?org=987654").await.status(), 404);
}

#[tokio::test]
async fn the_user_table_fragment_shows_roles_status_and_actions() {
    let app = spawn_app().await;
    let org = app.org("Acme").create().await;
    app.user("grace@acme.test")
        .named("Grace", "Hopper")
        .member_of(org, OrgRole::Admin)
        .create()
        .await;
    app.user("mallory@acme.test")
        .named("Mallory", "Jones")
        .disabled()
        .member_of(org, OrgRole::Member)
        .create()
        .await;
    let root = app.signed_in_as(Role::SuperAdmin).await;

    let response = root.get_htmx("/admin/users").await;
    assert_eq!(response.status(), 200);
    let fragment = response.text();
    assert!(fragment.starts_with("<div id=\"user-table\""), "{fragment}");
    // Name, email, organizations, status, last sign-in, action; newest first.
    let mut rows: Vec<Vec<String>> = response
        .html()
        .rows("#users")
        .into_iter()
        .map(|row| row[1..].to_vec())
        .collect();
    let signed_in_on = std::mem::take(&mut rows[0][4]);
    assert!(
        chrono::NaiveDate::parse_from_str(&signed_in_on, "%Y-%m-%d").is_ok(),
        "the super admin's sign-in date: {signed_in_on}"
    );
    let expected = [
        [
            "Test User Super admin",
            "root1@platform.test",
            "",
            "Active",
            "",
            "You",
        ],
        [
            "Mallory Jones",
            "mallory@acme.test",
            "Acme Member",
            "Disabled",
            "never",
            "Enable mallory@acme.test",
        ],
        [
            "Grace Hopper",
            "grace@acme.test",
            "Acme Admin",
            "Active",
            "never",
            "Disable grace@acme.test",
        ],
        [
            "Test User",
            "owner@acme.test",
            "Acme Owner",
            "Active",
            "never",
            "Disable owner@acme.test",
        ],
    ];
    assert_eq!(rows, expected);
    let mut filters = volatile_parts();
    filters.push((
        r#"<td class="numeric">\d+</td>"#,
        r#"<td class="numeric">[id]</td>"#,
    ));
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("user_table_fragment", fragment);
    });
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
    let list = root.get("/admin/users?q=owner").await.html();
    assert_eq!(
        list.texts("#alerts .alert"),
        ["owner@org-1.test was disabled and signed out everywhere."]
    );
    let row = list
        .rows("#users")
        .into_iter()
        .find(|row| row[2] == "owner@org-1.test")
        .expect("the owner's row");
    assert_eq!(
        (row[4].as_str(), row[6].as_str()),
        ("Disabled", "Enable owner@org-1.test")
    );
    assert_eq!(owner.get("/settings/org").await.location(), "/login");
    assert_eq!(owner.login(&owner.user).await.status(), 403);

    // A return address off this site is refused before anything changes.
    let path = format!("/admin/users/{}/status", owner.user.id);
    let elsewhere = root
        .post_form(
            &path,
            &[("status", "active"), ("back", "https://evil.test/")],
        )
        .await;
    assert_eq!(elsewhere.status(), 400);
    assert_eq!(owner.login(&owner.user).await.status(), 403);
    root.post_form(&path, &[("status", "active"), ("back", "/admin/users")])
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
