//! Who may open the console: the super administrator, and nobody else on any /admin route.

use crate::support::{OrgRole, Role, TestApp, spawn_app};

/// (method, path, form fields) of one request.
type Route = (&'static str, String, Vec<(&'static str, &'static str)>);

/// Every page and action of the console.
fn admin_routes(org: i64, user: i64) -> Vec<Route> {
    vec![
        ("GET", "/admin/organizations".into(), vec![]),
        ("GET", "/admin/organizations.csv".into(), vec![]),
        ("GET", "/admin/organizations/new".into(), vec![]),
        (
            "POST",
            "/admin/organizations".into(),
            vec![
                ("name", "Evil"),
                ("contact_name", "E"),
                ("country", "DE"),
                ("email", "e@evil.test"),
                ("owner_email", "e@evil.test"),
            ],
        ),
        ("GET", format!("/admin/organizations/{org}/manage"), vec![]),
        (
            "POST",
            format!("/admin/organizations/{org}/details"),
            vec![
                ("name", "Renamed"),
                ("contact_name", "E"),
                ("country", "DE"),
                ("email", "e@evil.test"),
            ],
        ),
        (
            "POST",
            format!("/admin/organizations/{org}/assign"),
            vec![("emails", "someone@acme.test")],
        ),
        (
            "POST",
            format!("/admin/organizations/{org}/models"),
            vec![("model", "1")],
        ),
        ("GET", format!("/admin/organizations/{org}/oauth"), vec![]),
        (
            "POST",
            format!("/admin/organizations/{org}/oauth"),
            vec![
                ("issuer_url", "https://evil.test"),
                ("client_id", "x"),
                ("client_secret", "y"),
            ],
        ),
        (
            "GET",
            format!("/admin/organizations/{org}/purchases"),
            vec![],
        ),
        (
            "POST",
            format!("/admin/organizations/{org}/purchases"),
            vec![
                ("kind", "inference"),
                ("tokens", "1000"),
                ("amount", "1"),
                ("currency", "EUR"),
                ("purchased_on", "2026-01-01"),
                ("reference", "EVIL-1"),
            ],
        ),
        (
            "POST",
            format!("/admin/organizations/{org}/assignments"),
            vec![
                ("member_email", "owner@acme.test"),
                ("kind", "inference"),
                ("tokens", "1"),
            ],
        ),
        ("GET", "/admin/sales-import".into(), vec![]),
        ("POST", "/admin/sales-import".into(), vec![]),
        ("GET", "/admin/users".into(), vec![]),
        ("GET", format!("/admin/users?org={org}"), vec![]),
        (
            "POST",
            format!("/admin/users/{user}/status"),
            vec![("status", "disabled")],
        ),
        ("GET", "/admin/settings".into(), vec![]),
        (
            "POST",
            "/admin/settings".into(),
            vec![
                ("single_org_per_account", "on"),
                ("invitation_ttl_days", "30"),
            ],
        ),
        (
            "POST",
            "/admin/settings/plans".into(),
            vec![
                ("name", "Evil"),
                ("monthly_price", "0"),
                ("included_seats", "999"),
            ],
        ),
        (
            "POST",
            "/admin/settings/models".into(),
            vec![
                ("provider", "evil"),
                ("model_name", "m"),
                ("kind", "inference"),
            ],
        ),
    ]
}

async fn state_fingerprint(app: &TestApp) -> Vec<i64> {
    let mut fingerprint = Vec::new();
    for query in [
        "SELECT count(*) FROM organizations",
        "SELECT count(*) FROM organizations WHERE name = 'Renamed'",
        "SELECT count(*) FROM memberships",
        "SELECT count(*) FROM org_models",
        "SELECT count(*) FROM org_oauth_settings",
        "SELECT count(*) FROM token_purchases",
        "SELECT count(*) FROM token_assignments",
        "SELECT count(*) FROM users WHERE status = 'disabled'",
        "SELECT count(*) FROM platform_settings WHERE single_org_per_account",
        "SELECT count(*) FROM plans",
        "SELECT count(*) FROM models",
        "SELECT count(*) FROM audit_log",
    ] {
        fingerprint.push(app.number(query).await);
    }
    fingerprint
}

#[tokio::test]
async fn organization_owners_admins_and_members_get_403_on_every_admin_route_and_change_nothing() {
    let app = spawn_app().await;
    let mut people = Vec::new();
    for role in [Role::OrgOwner, Role::OrgAdmin, Role::OrgMember] {
        people.push(app.signed_in_as(role).await);
    }
    app.sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    let before = state_fingerprint(&app).await;

    for person in &people {
        // Each tries the console on their own organization and its owner.
        let org = person.org.expect("an organization");
        let owner = app
            .number(&format!(
                "SELECT user_id FROM memberships WHERE org_id = {org} AND role = 'owner'"
            ))
            .await;
        for (method, path, form) in admin_routes(org.0, owner) {
            let response = match method {
                "GET" => person.get(&path).await,
                _ => person.post_form(&path, &form).await,
            };
            let who = &person.user.email;
            assert_eq!(response.status(), 403, "{who} {method} {path}");
        }
    }
    assert_eq!(state_fingerprint(&app).await, before, "nothing changed");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    for (method, path, _) in admin_routes(1, 1) {
        if method == "GET" {
            let response = app.get(&path).await;
            assert_eq!(response.location(), "/login", "{path}");
        }
    }
}

#[tokio::test]
async fn admin_actions_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    app.login(&root).await;
    let before = state_fingerprint(&app).await;
    for (method, path, form) in admin_routes(org.0, owner.id.0) {
        if method == "POST" {
            let response = app.send(app.client.post(app.url(&path)).form(&form)).await;
            assert_eq!(response.status(), 403, "{path}");
        }
    }
    assert_eq!(state_fingerprint(&app).await, before);
}

#[tokio::test]
async fn a_super_admin_sees_the_organizations() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    app.org("Acme Robotics").create().await;
    app.login(&admin).await;

    let response = app.get("/admin/organizations").await;
    assert_eq!(response.status(), 200);
    let html = response.html();
    assert_eq!(
        html.texts("#organizations tbody td:nth-child(3)"),
        ["Acme Robotics"]
    );
    assert_eq!(
        html.text("nav.sidebar a[aria-current=page]"),
        "Organizations"
    );
}

#[tokio::test]
async fn nobody_else_may_open_the_organizations_page() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app.org("Acme Robotics").owned_by(&owner).create().await;
    let admin = app
        .user("admin@acme.test")
        .member_of(org, OrgRole::Admin)
        .create()
        .await;

    assert_eq!(app.get("/admin/organizations").await.location(), "/login");
    for user in [&owner, &admin] {
        app.login(user).await;
        let response = app.get("/admin/organizations").await;
        assert_eq!(response.status(), 403, "{}", user.email);
        let html = response.text();
        assert_eq!(
            response.html().text("main h1 + p"),
            "Only super administrators can open this page."
        );
        assert!(!html.contains("Acme Robotics"));
        app.logout().await;
    }
}
